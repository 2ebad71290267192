"""The denoising autoencoder: corrupt the input, reconstruct the clean one."""

import warnings

import keras
import numpy as np

from keras_ae.models.base import Autoencoder


@keras.saving.register_keras_serializable(package="keras_ae")
class DenoisingAutoencoder(Autoencoder):
    """Learns to undo a corruption drawn afresh for every training batch.

    In `train_step` each batch `x` is corrupted with `noise` (seeded by the
    model's generator, so every batch and epoch sees new noise) and the model
    is trained to reconstruct the clean `x`. Nothing is corrupted at
    inference or in `evaluate` (which then measures plain reconstruction),
    and `(noisy, clean)` pairs given to `fit`/`evaluate` are used as they are.

    Args:
        noise: one of `keras_ae.corruption.CORRUPTIONS`: `"dropout"` (the
            lecture's mask `x * bernoulli(1 - rate)`), `"gaussian"`,
            `"salt_and_pepper"` or `"block"`.
        noise_params: keyword arguments of that corruption, e.g.
            `{"rate": 0.5}` or `{"stddev": 0.3}`; defaults per kind.
        **kwargs: the `Autoencoder` arguments.

    Example:
        >>> model = DenoisingAutoencoder(input_shape=(784,), latent_dim=500,
        ...                              noise="dropout", noise_params={"rate": 0.5})

    References:
        Vincent et al., "Extracting and composing robust features with
        denoising autoencoders", ICML 2008.
    """

    def __init__(
        self, input_shape=None, latent_dim=None, *, noise="dropout", noise_params=None, **kwargs
    ):
        from keras_ae import corruption

        if noise not in corruption.CORRUPTIONS:
            raise ValueError(f"noise must be one of {corruption.CORRUPTIONS}, got {noise!r}")
        self.noise = noise
        self.noise_params = dict(noise_params or {})
        if self.noise == "block" and input_shape is not None and len(input_shape) == 1:
            side = int(round(input_shape[0] ** 0.5))
            if side * side == input_shape[0]:  # flat square images, e.g. 784 = 28 x 28
                self.noise_params.setdefault("image_shape", (side, side))
        super().__init__(input_shape, latent_dim, **kwargs)
        if self.input_shape_:  # fails now, not in the first train_step, when a parameter is wrong
            try:
                corruption.corrupt(
                    keras.ops.zeros((1,) + self.input_shape_),
                    self.noise,
                    seed=0,
                    **self.noise_params,
                )
            except ValueError as err:
                raise ValueError(
                    f"noise={noise!r}, noise_params={noise_params!r} for "
                    f"input_shape={self.input_shape_}: {err}"
                ) from None

    def fit(self, x=None, y=None, *args, **kwargs):
        # The plain-Keras idiom for an autoencoder, fit(x, x) or fit(x, x.copy()):
        # pairs whose input is the clean target itself.
        same = y is not None and (
            y is x
            or (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and np.array_equal(x, y))
        )
        if same:
            warnings.warn(
                "fit(x, x) gives (input, target) pairs, which a DenoisingAutoencoder uses as "
                "they are: no noise is drawn and it trains as a plain autoencoder. Call "
                "fit(x) to train on fresh corruption, or fit(noisy, clean).",
                UserWarning,
                stacklevel=2,
            )
        return super().fit(x, y, *args, **kwargs)

    def corrupt(self, x):
        """Applies the model's corruption to a batch, with fresh noise."""
        from keras_ae import corruption

        if self.input_shape_ is not None:
            # A pipeline may leave the sample shape unknown (make_dataset's
            # flattened batches are (None, None)); the block mask needs it.
            x = keras.ops.reshape(x, (-1,) + tuple(self.input_shape_))
        return corruption.corrupt(x, self.noise, seed=self.seed_generator, **self.noise_params)

    def compute_losses(self, x, y=None, training=False):
        if training and y is None:
            return super().compute_losses(self.corrupt(x), x, training=True)
        return super().compute_losses(x, y, training=training)

    def get_config(self):
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.noise_params.items()}
        return {**super().get_config(), "noise": self.noise, "noise_params": params}
