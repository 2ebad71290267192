"""A VAE with two stochastic layers, the architecture of Burda et al. (2016)."""

import math

import keras
import numpy as np
from keras import ops

from keras_ae import losses
from keras_ae.models.iwae import IWAE, scale_gradient
from keras_ae.utils.validation import check_model_input, check_positive_int


def _mlp(name, inputs, hidden, outputs, activation):
    """A Sequential of Dense layers: `hidden` widths, then a linear `outputs` one."""
    layers = [keras.Input((inputs,))]
    layers += [
        keras.layers.Dense(u, activation=activation, name=f"{name}_hidden_{i}")
        for i, u in enumerate(hidden)
    ]
    # float32 heads: densities and outputs in float32 under a mixed precision policy
    head = "output" if name == "p_x" else f"{name}_out"
    layers.append(keras.layers.Dense(outputs, name=head, dtype="float32"))
    return keras.Sequential(layers, name=name)


def _apply_fixed(net, h):
    """`net(h)` with its weights held fixed: gradients reach `h` only."""
    for layer in net.layers:
        kernel = ops.cast(ops.stop_gradient(layer.kernel), h.dtype)
        bias = ops.cast(ops.stop_gradient(layer.bias), h.dtype)
        h = layer.activation(ops.matmul(h, kernel) + bias)
    return h


def _split(stats):
    mean, log_var = ops.split(ops.cast(stats, "float32"), 2, axis=-1)
    return mean, log_var


@keras.saving.register_keras_serializable(package="keras_ae")
class HierarchicalVAE(IWAE):
    """A VAE with two stochastic layers, `x -> z1 -> z2` (Burda et al. 2016).

    q(z1|x) and q(z2|z1) are diagonal Gaussians from MLPs, the generative
    model is `p(z2) = N(0, I)`, a Gaussian `p(z1|z2)` and `p(x|z1)` (Bernoulli
    by default), with decoder MLPs mirroring the encoder's: by default
    784-100-100-z1(100)-50-50-z2(50), tanh. Trained on the ELBO
    (`num_importance_samples=1`, the default) or the IWAE-k bound (see
    `IWAE`, whose loss terms it reports: `kl_loss` sums both layers' terms).

    `encode` gives the mean of q(z2|z1) at z1 = the mean of q(z1|x);
    `decode(z2)` decodes through the mean of p(z1|z2) (so the exported
    `decode` and `sample` signatures are deterministic given z2); `sample`
    draws z1 from p(z1|z2) as the model does. `log_likelihood` samples z1 and
    z2 jointly from q: `log p(x) ~ logsumexp_k log p(x, z1, z2) / q(z1, z2|x) - log k`.

    Args:
        input_shape: shape of one sample, e.g. `(784,)`.
        latent_dim: width of the top layer z2 (the code).
        intermediate_dim: width of z1.
        hidden_units: widths of the MLPs between x and z1 (mirrored in p(x|z1)).
        top_hidden_units: widths of the MLPs between z1 and z2 (mirrored in p(z1|z2)).
        activation: of every hidden layer.
        **kwargs: the `IWAE` and `VAE` arguments (MLP networks only).

    Example:
        >>> model = HierarchicalVAE(input_shape=(784,), num_importance_samples=5)
        >>> model.compile(optimizer="adam")
        >>> images = model.sample(16)  # doctest: +SKIP

    References:
        Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders",
        ICLR 2016 (section 5, the two-stochastic-layer architecture).
    """

    defaults = {**IWAE.defaults, "hidden_units": (100, 100), "activation": "tanh"}

    def __init__(
        self,
        input_shape=None,
        latent_dim=50,
        *,
        intermediate_dim=100,
        top_hidden_units=(50, 50),
        num_importance_samples=1,
        **kwargs,
    ):
        for name in ("encoder", "decoder"):
            if kwargs.get(name) is not None:
                raise ValueError(
                    f"a HierarchicalVAE builds its own four networks; {name}= is not taken"
                )
        if kwargs.get("network") not in (None, "mlp"):
            raise ValueError(
                f"a HierarchicalVAE is built of MLPs: network must be 'mlp', got "
                f"{kwargs['network']!r}"
            )
        self.intermediate_dim = check_positive_int("intermediate_dim", intermediate_dim)
        if isinstance(top_hidden_units, int) or not all(
            isinstance(u, (int, np.integer)) and u > 0 for u in top_hidden_units
        ):
            raise ValueError(
                f"top_hidden_units must be a list of positive ints, got {top_hidden_units!r}"
            )
        self.top_hidden_units = tuple(int(u) for u in top_hidden_units)
        super().__init__(
            input_shape, latent_dim, num_importance_samples=num_importance_samples, **kwargs
        )

    # ------------------------------------------------------------- networks
    def build_networks(self):
        size, z1, z2 = math.prod(self.input_shape_), self.intermediate_dim, self.latent_dim
        hidden, top, act = tuple(self.hidden_units), self.top_hidden_units, self.activation
        q1 = _mlp("q_z1", size, hidden, 2 * z1, act)
        q2 = _mlp("q_z2", z1, top, 2 * z2, act)
        p1 = _mlp("p_z1", z2, top[::-1], 2 * z1, act)
        px = _mlp("p_x", z1, hidden[::-1], size, act)
        # encoder: x -> q(z2 | z1 = mean of q(z1|x)); decoder: z2 -> p(x | mean of p(z1|z2))
        x = keras.Input(self.input_shape_)
        m1 = ops.split(q1(keras.layers.Flatten()(x)), 2, axis=-1)[0]
        encoder = keras.Model(x, q2(m1), name="encoder")
        z = keras.Input((z2,))
        logits = keras.layers.Reshape(self.input_shape_, dtype="float32")(
            px(ops.split(p1(z), 2, axis=-1)[0])
        )
        decoder = keras.Model(z, logits, name="decoder")
        return encoder, decoder

    def subnetwork(self, name):
        """One of the four MLPs: "q_z1", "q_z2", "p_z1" or "p_x"."""
        part = self.encoder if name.startswith("q") else self.decoder
        return part.get_layer(name)

    def init_output_bias(self, x):
        """Starts p(x|z1)'s output bias at the logit of the mean of `x` (see
        `Autoencoder.init_output_bias`)."""
        x = check_model_input(x, self.input_shape_, "x").astype("float64")
        if self.likelihood != "bernoulli":
            value = x.mean(axis=0).reshape(-1)
        else:
            mean = np.clip(x.mean(axis=0).reshape(-1), 1e-3, 1 - 1e-3)
            value = np.log(mean / (1 - mean))
        bias = self.subnetwork("p_x").get_layer("output").bias
        bias.assign(value.astype(bias.dtype))
        return True

    # --------------------------------------------------------------- forward
    def _decode_draw(self, z, seed):
        # Ancestral sampling: z1 ~ p(z1|z2), then the mean of p(x|z1).
        mean, log_var = _split(self.subnetwork("p_z1")(z))
        z1 = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=seed)
        out = ops.reshape(self.subnetwork("p_x")(z1), (-1,) + self.input_shape_)
        return ops.sigmoid(out) if self.likelihood == "bernoulli" else out

    def draw_importance_noise(self, k, batch):
        return (
            self.draw_noise((k, batch, self.intermediate_dim)),
            self.draw_noise((k, batch, self.latent_dim)),
        )

    def importance_terms(self, x, target, noise, training=False, stop_q=False, path_scale=None):
        eps1, eps2 = noise
        k, batch = ops.shape(eps1)[0], ops.shape(eps1)[1]
        q1, q2 = self.subnetwork("q_z1"), self.subnetwork("q_z2")
        mean1, log_var1 = _split(q1(ops.reshape(x, (batch, -1)), training=training))
        z1 = ops.reshape(mean1[None] + ops.exp(0.5 * log_var1)[None] * eps1, (k * batch, -1))
        mean2, log_var2 = _split(q2(z1, training=training))
        z2 = mean2 + ops.exp(0.5 * log_var2) * ops.reshape(eps2, (k * batch, -1))
        if path_scale is not None:  # DReG: each sample's path gradient, scaled once
            scale = ops.reshape(path_scale, (k * batch, 1))
            z1, z2 = scale_gradient(z1, scale), scale_gradient(z2, scale)
        if stop_q:  # q's parameters fixed in log q; the samples stay live
            mean1, log_var1 = ops.stop_gradient(mean1), ops.stop_gradient(log_var1)
            mean2, log_var2 = _split(_apply_fixed(q2, z1))
        log_q = losses.gaussian_log_prob(
            ops.reshape(z1, (k, batch, -1)), mean1[None], log_var1[None]
        ) + ops.reshape(losses.gaussian_log_prob(z2, mean2, log_var2), (k, batch))
        p_mean1, p_log_var1 = _split(self.subnetwork("p_z1")(z2, training=training))
        log_p = losses.gaussian_log_prob(z2, 0.0, 0.0) + losses.gaussian_log_prob(
            z1, p_mean1, p_log_var1
        )
        raw = ops.reshape(
            self.subnetwork("p_x")(z1, training=training), (k * batch,) + self.input_shape_
        )
        tiled = ops.reshape(
            ops.broadcast_to(target[None], (k, batch) + self.input_shape_),
            (k * batch,) + self.input_shape_,
        )
        log_px = -ops.reshape(self.negative_log_likelihood(tiled, raw), (k, batch))
        return log_px, ops.reshape(log_p, (k, batch)) - log_q

    def posterior_means(self, x, num_samples=100, batch_size=500):
        """`(E_q[z1|x], E_q[z2|x])` as numpy arrays; the second averages the mean
        of q(z2|z1) over `num_samples` draws of z1 from the model's generator.

        Burda et al. count a unit u active when `Cov_x(E_q[u])` exceeds 1e-2.
        """
        x = check_model_input(x, self.input_shape_, "x")
        num_samples = check_positive_int("num_samples", num_samples)
        q1, q2 = self.subnetwork("q_z1"), self.subnetwork("q_z2")
        out1, out2 = [], []
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size]
            mean1, log_var1 = _split(q1(ops.reshape(xb, (len(xb), -1))))
            eps = keras.random.normal((num_samples,) + tuple(mean1.shape), seed=self.seed_generator)
            z1 = mean1[None] + ops.exp(0.5 * log_var1)[None] * eps
            mean2 = _split(q2(ops.reshape(z1, (-1, self.intermediate_dim))))[0]
            mean2 = ops.mean(ops.reshape(mean2, (num_samples, len(xb), -1)), axis=0)
            out1.append(ops.convert_to_numpy(mean1))
            out2.append(ops.convert_to_numpy(mean2))
        return np.concatenate(out1), np.concatenate(out2)

    def _log_weights(self, x, k):
        batch = ops.shape(x)[0]
        noise = (
            keras.random.normal((k, batch, self.intermediate_dim), seed=self.seed_generator),
            keras.random.normal((k, batch, self.latent_dim), seed=self.seed_generator),
        )
        log_px, log_ratio = self.importance_terms(x, x, noise)
        return log_px + log_ratio  # p(x, z1, z2) / q: no KL weight

    def get_config(self):
        config = super().get_config()
        config.update(
            intermediate_dim=self.intermediate_dim, top_hidden_units=list(self.top_hidden_units)
        )
        return config
