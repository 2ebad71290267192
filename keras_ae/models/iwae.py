"""Importance-weighted training of VAEs (Burda et al. 2016), with the plain
and the doubly reparameterized (DReG, Tucker et al. 2019) gradient estimators."""

import keras
import tensorflow as tf
from keras import ops

from keras_ae import losses
from keras_ae.models.vae import VAE
from keras_ae.utils.validation import check_choice, check_positive_int

ESTIMATORS = ("plain", "dreg")


def iwae_bound(log_w):
    """The IWAE-k bound per sample from log weights of shape `(k, batch)`:
    `logsumexp_k log w_k - log k` (the ELBO's single-sample estimate at k=1)."""
    k = ops.cast(ops.shape(log_w)[0], log_w.dtype)
    return ops.logsumexp(log_w, axis=0) - ops.log(k)


def scale_gradient(x, scale):
    """`x` in value; its gradient multiplied by `scale` (broadcast against x)."""
    fixed = ops.stop_gradient(x)
    return fixed + scale * (x - fixed)


@keras.saving.register_keras_serializable(package="keras_ae")
class IWAE(VAE):
    """A VAE trained on the importance-weighted bound with k samples.

    Training minimises `-L_k`, `L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)]`
    with `z_i ~ q(z|x)`, a bound that rises with k towards `log p(x)` (at
    k=1 it is the ELBO). `loss` is `-L_k`; `reconstruction_loss` and
    `kl_loss` are the means over the k samples of `-log p(x|z_i)` and of
    `log q(z_i|x) - log p(z_i)` (Monte Carlo), so at k=1 they sum to `loss`.
    `evaluate` reports the same terms. `log_likelihood` is the VAE's.

    Gradient estimators: `"plain"` differentiates `L_k` through the
    reparameterized samples. Its encoder gradient's signal-to-noise ratio
    falls as k grows; `"dreg"` replaces the encoder's part by the doubly
    reparameterized one, `sum_i w~_i^2 d log w_i / d z_i dz_i / dphi` with
    q's parameters held fixed inside `log q` (with a KL weight beta:
    `w~_i ((1 - beta) + beta w~_i)`), which is unbiased for the same
    bound and whose SNR does not fall with k (the decoder's gradient is the
    plain one). It costs one extra forward pass of the samples (to know the
    normalised weights `w~` before the gradient pass).

    Args:
        num_importance_samples: k, samples per input in the training bound.
        gradient_estimator: `"plain"` or `"dreg"`.
        **kwargs: the `VAE` arguments (`kl_warmup_steps` anneals the weight
            of `log p(z) - log q(z|x)` inside each log weight).

    Example:
        >>> model = IWAE(input_shape=(784,), latent_dim=50, num_importance_samples=5)
        >>> model.compile(optimizer="adam")
        >>> model.fit(x_binary, epochs=1)  # doctest: +SKIP

    References:
        Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders",
        ICLR 2016; Tucker, Lawson, Gu & Maddison, "Doubly Reparameterized
        Gradient Estimators for Monte Carlo Objectives", ICLR 2019.
    """

    def __init__(
        self,
        input_shape=None,
        latent_dim=None,
        *,
        num_importance_samples=5,
        gradient_estimator="plain",
        **kwargs,
    ):
        self.num_importance_samples = check_positive_int(
            "num_importance_samples", num_importance_samples
        )
        self.gradient_estimator = check_choice("gradient_estimator", gradient_estimator, ESTIMATORS)
        super().__init__(input_shape, latent_dim, **kwargs)

    # ----------------------------------------------------------- log weights
    def draw_importance_noise(self, k, batch):
        """The standard normal noise of k samples per input (tests may fix it)."""
        return self.draw_noise((k, batch, self.latent_dim))

    def importance_terms(self, x, target, noise, training=False, stop_q=False, path_scale=None):
        """`(log p(target|z), log p(z) - log q(z|x))`, each `(k, batch)`.

        Args:
            noise: `draw_importance_noise`'s draw.
            stop_q: evaluate `log q` with q's parameters held fixed (DReG).
            path_scale: `(k, batch)` factors multiplying the gradient that
                reaches the encoder through each sample (DReG), or None.
        """
        mean, log_var = self.encode_distribution(x, training=training)
        z = mean[None] + ops.exp(0.5 * log_var)[None] * noise
        if path_scale is not None:
            z = scale_gradient(z, path_scale[..., None])
        if stop_q:
            mean, log_var = ops.stop_gradient(mean), ops.stop_gradient(log_var)
        log_ratio = losses.gaussian_log_prob(z, 0.0, 0.0) - losses.gaussian_log_prob(
            z, mean[None], log_var[None]
        )
        return self.decoder_log_prob(target, z, training), log_ratio

    def decoder_log_prob(self, target, z, training=False):
        """`log p(target | z)` for codes `z` of shape `(k, batch, dim)`."""
        k, batch = ops.shape(z)[0], ops.shape(z)[1]
        raw = self.decoder(ops.reshape(z, (k * batch, ops.shape(z)[-1])), training=training)
        tiled = ops.reshape(
            ops.broadcast_to(target[None], (k,) + tuple(ops.shape(target))),
            (k * batch,) + tuple(ops.shape(target)[1:]),
        )
        return -ops.reshape(self.negative_log_likelihood(tiled, raw), (k, batch))

    def _log_weights(self, x, k):
        # log_likelihood's importance weights p(x, z) / q(z|x): no KL weight.
        noise = self.draw_importance_noise(k, tf.shape(x)[0])
        log_px, log_ratio = self.importance_terms(x, x, noise)
        return log_px + log_ratio

    # ------------------------------------------------------------------ loss
    def compute_losses(self, x, y=None, training=False):
        target = x if y is None else y
        noise = self.draw_importance_noise(self.num_importance_samples, ops.shape(x)[0])
        weight = self.kl_weight() if training else self.beta
        if training and self.gradient_estimator == "dreg":
            first = self.importance_terms(x, target, noise, training, stop_q=True)
            first = first[0] + weight * first[1]
            w = ops.stop_gradient(ops.exp(first - ops.logsumexp(first, axis=0)))
            # The score term's share of log w_i is `weight`: its reparameterised
            # form scales the path by w~_i, the rest of log w_i keeps 1.
            log_px, log_ratio = self.importance_terms(
                x, target, noise, training, stop_q=True, path_scale=(1.0 - weight) + weight * w
            )
            log_w = log_px + weight * log_ratio
            # Decoder: sum_i w~_i grad log w_i (plain); encoder: the path
            # gradient scaled once more, so weighted by w~_i ((1 - beta) + beta w~_i)
            # (w~_i^2 at beta = 1).
            surrogate = ops.mean(-ops.sum(w * log_w, axis=0))
            bound = ops.mean(iwae_bound(ops.stop_gradient(log_w)))
            objective = -bound + surrogate - ops.stop_gradient(surrogate)
        else:
            log_px, log_ratio = self.importance_terms(x, target, noise, training)
            objective = -ops.mean(iwae_bound(log_px + weight * log_ratio))
        return {
            "loss": self.total_loss({"negative_bound": objective}),
            "reconstruction_loss": -ops.mean(log_px),
            "kl_loss": -ops.mean(log_ratio),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            num_importance_samples=self.num_importance_samples,
            gradient_estimator=self.gradient_estimator,
        )
        return config
