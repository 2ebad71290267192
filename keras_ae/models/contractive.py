"""The contractive autoencoder: penalise the Jacobian of the code."""

import keras
from keras import ops

from keras_ae import losses
from keras_ae.models.base import Autoencoder
from keras_ae.utils.validation import check_number


@keras.saving.register_keras_serializable(package="keras_ae")
class ContractiveAutoencoder(Autoencoder):
    """Reconstruction plus `contractive_weight * ||dh/dx||_F^2`.

    For a one-layer dense encoder `h = f(W x + b)` the penalty is computed in
    closed form, `sum_j f'(a_j)^2 ||W_j||^2` (for a sigmoid `f' = h (1 - h)`),
    at the cost of one extra matrix-vector product. Any other encoder falls
    back to the exact per-sample Jacobian from `GradientTape.batch_jacobian`.

    Args:
        contractive_weight: lambda, the weight of the Jacobian penalty.
        **kwargs: the `Autoencoder` arguments.

    Example:
        >>> model = ContractiveAutoencoder(input_shape=(784,), latent_dim=16)

    References:
        Rifai et al., "Contractive auto-encoders: explicit invariance during
        feature extraction", ICML 2011.
    """

    loss_names = ("loss", "reconstruction_loss", "contractive_loss")
    defaults = {**Autoencoder.defaults, "latent_activation": "sigmoid"}

    def __init__(self, input_shape=None, latent_dim=None, *, contractive_weight=0.1, **kwargs):
        self.contractive_weight = check_number("contractive_weight", contractive_weight)
        super().__init__(input_shape, latent_dim, **kwargs)

    def _closed_form_layer(self):
        """The encoder's single Dense layer if the closed form applies, else None."""
        return losses.closed_form_dense(self.encoder)

    def compile_profile(self):
        # The batched Jacobian has a row of its own: XLA was measured faster
        # for the closed form only (docs/benchmarks/xla_memory.md says why not).
        profile = super().compile_profile()
        if profile == "mlp" and self._closed_form_layer() is None:
            return "mlp_batch_jacobian"
        return profile

    def jacobian_norm(self, x, h=None):
        """Per-sample squared Frobenius norm of the Jacobian dh/dx, shape (batch,)
        (`keras_ae.losses.squared_jacobian_norm`)."""
        return losses.squared_jacobian_norm(
            lambda t: self._encode(t, training=False), x, self._closed_form_layer(), h
        )

    def regularization_losses(self, x, out, training=False):
        norm = self.jacobian_norm(x, out["code"])
        return {"contractive_loss": self.contractive_weight * ops.mean(norm)}

    def get_config(self):
        return {**super().get_config(), "contractive_weight": self.contractive_weight}
