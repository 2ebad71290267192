"""Sparse autoencoders: an L1 or KL(rho || rho_hat) penalty on the code."""

import keras

from keras_ae import losses
from keras_ae.models.arguments import defeated_argument, is_activation
from keras_ae.models.base import Autoencoder
from keras_ae.utils.validation import check_choice, check_number

SPARSITY_MODES = ("l1", "kl")


@keras.saving.register_keras_serializable(package="keras_ae")
class SparseAutoencoder(Autoencoder):
    """An autoencoder whose code activations are pushed towards sparsity.

    `mode="l1"` adds `sparsity_weight * sum_j |h_j|` per sample; `mode="kl"`
    adds `sparsity_weight * sum_j KL(rho || rho_hat_j)`, where `rho_hat_j`
    is unit j's mean activation over the batch (the code is a sigmoid).

    Args:
        mode: `"l1"` or `"kl"`.
        sparsity_weight: the penalty's weight (lambda for L1, beta for KL).
        rho: target mean activation for `mode="kl"`, in (0, 1).
        **kwargs: the `Autoencoder` arguments.

    Example:
        >>> model = SparseAutoencoder(input_shape=(784,), latent_dim=1024, mode="kl")

    References:
        Ng, "Sparse autoencoder", CS294A lecture notes (2011).
    """

    loss_names = ("loss", "reconstruction_loss", "sparsity_loss")
    defaults = {**Autoencoder.defaults, "latent_activation": "sigmoid"}

    def __init__(
        self,
        input_shape=None,
        latent_dim=None,
        *,
        mode="kl",
        sparsity_weight=None,
        rho=0.05,
        **kwargs,
    ):
        self.mode = check_choice("mode", mode, SPARSITY_MODES)
        self.rho = check_number("rho", rho, 0.0, 1.0, open_low=True)
        if sparsity_weight is None:
            sparsity_weight = 1e-3 if mode == "l1" else 1.0
        self.sparsity_weight = check_number("sparsity_weight", sparsity_weight)
        code = kwargs.get("latent_activation") or self.defaults["latent_activation"]
        if mode == "kl" and kwargs.get("encoder") is None and not is_activation(code, "sigmoid"):
            # Outside (0, 1) the clipped mean has no gradient: a penalty that does nothing.
            defeated_argument(
                "mode='kl' compares each code unit's mean activation with rho, so the code "
                f"must lie in (0, 1): latent_activation must be 'sigmoid', got {code!r} "
                "(mode='l1' takes any code)"
            )
        super().__init__(input_shape, latent_dim, **kwargs)

    def regularization_losses(self, x, out, training=False):
        h = out["code"]
        if self.mode == "l1":
            penalty = keras.ops.mean(losses.l1_activity(h))
        else:
            penalty = losses.kl_sparsity(h, self.rho)
        return {"sparsity_loss": self.sparsity_weight * penalty}

    def get_config(self):
        return {
            **super().get_config(),
            "mode": self.mode,
            "sparsity_weight": self.sparsity_weight,
            "rho": self.rho,
        }
