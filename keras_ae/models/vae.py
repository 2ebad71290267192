"""The variational autoencoder (Kingma & Welling 2014)."""

import math
import os

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_ae import losses
from keras_ae.models.arguments import defeated_argument, is_activation
from keras_ae.models.base import Autoencoder
from keras_ae.training.finite import check_output
from keras_ae.training.inference import run_on_numpy
from keras_ae.training.inputs import check_target_range
from keras_ae.utils import rng
from keras_ae.utils.validation import (
    check_choice,
    check_model_input,
    check_number,
    check_positive_int,
    check_seed,
    numpy_side,
)

LIKELIHOODS = ("bernoulli", "gaussian")


@keras.saving.register_keras_serializable(package="keras_ae")
class VAE(Autoencoder):
    """A VAE with a diagonal Gaussian posterior and an N(0, I) prior.

    The encoder outputs `2 * latent_dim` values, `z_mean` and `z_log_var`;
    training samples `z = z_mean + exp(z_log_var / 2) * eps` with `eps` drawn
    from the model's seeded generator, and minimises
    `reconstruction_loss + beta * kl_loss`, the negative ELBO when `beta=1`.
    `call`, `encode` and `reconstruct` are deterministic (they use `z_mean`).

    With `likelihood="bernoulli"` the decoder emits logits and
    `reconstruction_loss` is the summed binary cross-entropy, i.e.
    `-log p(x|z)` for binary pixels. With `"gaussian"` it is the exact
    negative log density of `N(x_hat, observation_std^2 I)`.

    A user's `encoder` may return `concat([z_mean, z_log_var])`,
    `[z_mean, z_log_var]` or keras.io's `[z_mean, z_log_var, z]` (the sample
    `z` is ignored: the VAE draws its own from its seeded generator). A
    user's Bernoulli `decoder` may end in logits (no activation) or, as
    keras.io's does, in a sigmoid: then its probabilities are used as they
    are, scored as Keras scores them (`losses.probability_crossentropy`),
    and never activated twice; any other last activation (tanh, softmax, relu) is refused,
    naming the layer. See docs/porting.md.

    KL warm-up (Bowman et al. 2016; Sonderby et al. 2016): with
    `kl_warmup_steps=N` the KL weight of the training loss rises linearly
    from 0 to `beta` over the first N optimizer steps: step t (counted from
    0, `optimizer.iterations` before its update) weighs the KL by
    `beta * min(1, t / N)`, so the first step has 0 and step N on has `beta`.
    It is computed from
    `optimizer.iterations` inside the compiled step, so it adds no variable,
    needs no callback, survives `BackupAndRestore` and never retraces.
    Evaluation always weighs the KL term by `beta` (with `beta=1` its `loss`
    is the negative ELBO, whatever the warm-up).

    Args:
        beta: weight of the KL term (beta-VAE when > 1).
        kl_warmup_steps: optimizer steps over which the training KL weight
            ramps from 0 to `beta`; 0 (the default) means no warm-up.
        likelihood: `"bernoulli"` or `"gaussian"`.
        observation_std: the Gaussian likelihood's standard deviation.
        **kwargs: the `Autoencoder` arguments.

    Example:
        >>> vae = VAE(input_shape=(28, 28, 1), latent_dim=32)
        >>> vae.compile(optimizer="adam")
        >>> images = vae.sample(16)  # doctest: +SKIP

    References:
        Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014;
        Burda et al., "Importance Weighted Autoencoders", ICLR 2016 (the
        `log_likelihood` estimator).
    """

    loss_names = ("loss", "reconstruction_loss", "kl_loss")
    defaults = {**Autoencoder.defaults, "hidden_units": (512, 256)}

    def __init__(
        self,
        input_shape=None,
        latent_dim=None,
        *,
        beta=1.0,
        likelihood="bernoulli",
        observation_std=0.1,
        kl_warmup_steps=0,
        **kwargs,
    ):
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        beta = check_number("beta", beta)
        observation_std = check_number("observation_std", observation_std, open_low=True)
        steps_ok = isinstance(kl_warmup_steps, (int, np.integer)) and not isinstance(
            kl_warmup_steps, bool
        )
        if not steps_ok or kl_warmup_steps < 0:
            raise ValueError(f"kl_warmup_steps must be an integer >= 0, got {kl_warmup_steps!r}")
        self.beta = float(beta)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.observation_std = float(observation_std)
        # Whether a user's decoder ends in a sigmoid (see `check_user_decoder`).
        self.decoder_gives_probabilities = False
        # The likelihood sets the reconstruction term (and, Bernoulli, the sigmoid
        # that `decode` applies to the decoder's logits): refuse what would be ignored.
        implied = "bce" if likelihood == "bernoulli" else "mse"
        if kwargs.get("reconstruction_loss") is None:
            kwargs["reconstruction_loss"] = implied
        elif kwargs["reconstruction_loss"] != implied:
            defeated_argument(
                f"a VAE's reconstruction term is set by likelihood= ('bernoulli': bce, "
                f"'gaussian': mse); got reconstruction_loss={kwargs['reconstruction_loss']!r} "
                f"with likelihood={likelihood!r}"
            )
        if not is_activation(kwargs.get("latent_activation"), "linear"):
            defeated_argument(
                "a VAE's code layer outputs z_mean and z_log_var, which must be unbounded: "
                f"latent_activation must be 'linear', got {kwargs['latent_activation']!r}"
            )
        if (
            likelihood == "bernoulli"
            and kwargs.get("output_activation") is not None
            and not (is_activation(kwargs["output_activation"], "sigmoid"))
        ):
            defeated_argument(
                "with likelihood='bernoulli' the decoder outputs logits and decode applies the "
                "sigmoid; output_activation must be left unset, got "
                f"{kwargs['output_activation']!r} (likelihood='gaussian' takes one)"
            )
        if kwargs.get("code_layer") not in (None, "dense"):
            raise ValueError(
                "a VAE's encoder outputs z_mean and z_log_var from a dense code layer; "
                f"code_layer must be 'dense', got {kwargs['code_layer']!r}"
            )
        super().__init__(input_shape, latent_dim, **kwargs)

    unbounded_hint = "likelihood='gaussian' and output_activation='linear'"

    def target_range(self):
        bounds = super().target_range()
        if bounds and self.likelihood == "bernoulli":
            return bounds[:2] + ("likelihood='bernoulli' needs targets in [0, 1]", True)
        return bounds

    def code_units(self):
        return 2 * self.latent_dim

    def decoder_output_activation(self):
        # Bernoulli: the decoder gives logits; `decode` applies the sigmoid.
        return None if self.likelihood == "bernoulli" else super().decoder_output_activation()

    def output_link(self):
        return "sigmoid" if self.likelihood == "bernoulli" else super().output_link()

    def check_user_decoder(self, activation, layer):
        """A Bernoulli decoder ending in a sigmoid gives probabilities, used as
        they are; one ending in logits is activated by `decode`; any other
        bounded or one-sided activation is refused. A Gaussian decoder's output
        is the mean as it is, whatever its activation."""
        if self.likelihood != "bernoulli" or activation in (None, "linear"):
            return
        if activation == "sigmoid":
            self.decoder_gives_probabilities = True
            return
        defeated_argument(
            f"likelihood='bernoulli' needs the decoder to end in logits (no activation) or "
            f"a sigmoid, but its last layer {layer.name!r} has activation {activation!r}: "
            "change that layer's activation, or use likelihood='gaussian' (which takes "
            "the decoder's output as the mean, whatever its activation)"
        )

    # ----------------------------------------------------------------- forward
    def encode_distribution(self, x, training=False):
        """`(z_mean, z_log_var)` of q(z|x): numpy arrays for numpy `x` (in
        batches), tensors for a tensor (what the train step and the exported
        signature use).

        The encoder may return `concat([z_mean, z_log_var])`, `[z_mean,
        z_log_var]`, or keras.io's `[z_mean, z_log_var, z]`, whose sample `z`
        is ignored.
        """
        if numpy_side(x):
            stats = run_on_numpy(self, "_encode_stats", x, self.input_shape_)
            return tuple(np.split(stats, 2, axis=-1))
        stats = self.encoder(x, training=training)
        if isinstance(stats, (list, tuple)):
            if len(stats) not in (2, 3):
                raise ValueError(
                    "a VAE's encoder must return z_mean and z_log_var (one tensor of both, "
                    "concatenated, or a list [z_mean, z_log_var] or [z_mean, z_log_var, z]); "
                    f"got a list of {len(stats)} outputs"
                )
            mean, log_var = stats[:2]
        else:
            width = stats.shape[-1]
            if width is not None and width % 2:
                raise ValueError(
                    "a VAE's encoder must return z_mean and z_log_var, concatenated (an even "
                    f"width: 2 * latent_dim) or as a list; got one output of width {width}"
                )
            mean, log_var = ops.split(stats, 2, axis=-1)
        if tuple(mean.shape[1:]) != tuple(log_var.shape[1:]):
            raise ValueError(
                "a VAE's encoder must return z_mean and z_log_var of the same shape, got "
                f"{tuple(mean.shape)} and {tuple(log_var.shape)}"
            )
        return ops.cast(mean, "float32"), ops.cast(log_var, "float32")

    def _encode_stats(self, x, training=False):
        return ops.concatenate(self.encode_distribution(x, training=training), axis=-1)

    def _encode(self, x, training=False):
        return self.encode_distribution(x, training=training)[0]

    def _decode(self, z, training=False):
        out = self.decoder(z, training=training)
        logits = self.likelihood == "bernoulli" and not self.decoder_gives_probabilities
        return ops.sigmoid(out) if logits else out

    def draw_noise(self, shape):
        """Standard normal noise from the model's generator (tests may override);
        a tensor, drawn inside the train step."""
        return rng.normal(shape, self.seed_generator)

    def reparameterize(self, mean, log_var):
        """`z = mean + exp(log_var / 2) * eps`, a tensor (the train step's sample)."""
        return mean + ops.exp(0.5 * log_var) * self.draw_noise(ops.shape(mean))

    def negative_log_likelihood(self, x, decoder_output):
        """Per-sample -log p(x | z) from the decoder's raw output, a tensor of
        shape `(batch,)`: a loss term, computed inside the train step."""
        if self.likelihood == "bernoulli" and self.decoder_gives_probabilities:
            return losses.probability_crossentropy(x, decoder_output)
        if self.likelihood == "bernoulli":
            return losses.binary_crossentropy(x, decoder_output, from_logits=True)
        size = math.prod(self.input_shape_)
        const = size * (math.log(self.observation_std) + 0.5 * math.log(2 * math.pi))
        return 0.5 * losses.squared_error(x, decoder_output) / self.observation_std**2 + const

    def compute_losses(self, x, y=None, training=False):
        target = x if y is None else y
        mean, log_var = self.encode_distribution(x, training=training)
        z = self.reparameterize(mean, log_var)
        raw = self.decoder(z, training=training)
        reconstruction = ops.mean(self.negative_log_likelihood(target, raw))
        kl = ops.mean(losses.gaussian_kl(mean, log_var))
        terms = {"reconstruction_loss": reconstruction, "kl_loss": kl}
        weight = self.kl_weight() if training else self.beta
        loss = self.total_loss({"reconstruction_loss": reconstruction, "kl_loss": weight * kl})
        return {"loss": loss, **terms}

    def kl_weight(self):
        """The KL weight of the training loss now: `beta`, ramped over
        `kl_warmup_steps` (a tensor read inside the compiled step, or a float)."""
        if not self.kl_warmup_steps or self.optimizer is None:
            return self.beta
        step = ops.cast(self.optimizer.iterations, "float32")
        return self.beta * ops.minimum(1.0, step / float(self.kl_warmup_steps))

    # -------------------------------------------------------------- generation
    def sample(self, n, seed=None, batch_size=1024):
        """Decodes `n` draws from the prior, as a numpy array of images.

        Args:
            n: how many samples; their array must fit in this machine's memory.
            seed: None (the model's generator: fresh draws each call), an int
                (the same draws for the same int and `batch_size`) or a
                `keras.random.SeedGenerator`.
            batch_size: draws decoded together.
        """
        n = check_positive_int("n", n)
        batch_size = check_positive_int("batch_size", batch_size)
        seed = check_seed("seed", seed, generator=True)
        size = n * math.prod(self.input_shape_) * 4  # float32 bytes
        memory = _physical_memory()
        if memory and size > memory:
            raise ValueError(
                f"sample(n={n}) would return {size / 2**30:.3g} GiB of images, more "
                f"than this machine's {memory / 2**30:.3g} GiB of memory: draw fewer "
                "(in a loop, with seed=None for fresh draws)"
            )
        # One generator for the whole call: an int seed's first draw is
        # keras.random's for that int, as before sampling was batched.
        if seed is None or isinstance(seed, keras.random.SeedGenerator):
            generator = self.seed_generator if seed is None else seed
        else:
            generator = keras.random.SeedGenerator(seed)
        out = np.empty((n,) + tuple(self.input_shape_), dtype="float32")
        for start in range(0, n, batch_size):
            k = min(batch_size, n - start)
            z = keras.random.normal((k, self.latent_dim), seed=generator)
            out[start : start + k] = keras.ops.convert_to_numpy(self._decode_draw(z, generator))
        return check_output(out, "sample")

    def _decode_draw(self, z, seed):
        """`sample`'s images for prior draws `z` (a deeper model samples its lower layers)."""
        return self._decode(z)

    def log_likelihood(self, x, num_samples=5000, batch_size=100, chunk=500, seed=None):
        """Importance-sampled estimate of log p(x) per sample, in nats.

        `log p(x) ~ logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K`
        with `z_k ~ q(z|x)`, the estimator of Burda et al. (K = 5000 there).

        It is a lower bound in expectation, tight as K grows only where
        q(z|x) covers the posterior. Where the posterior has a mode q misses
        it can be far low: on `vae2_mnist` (a 2-D code, so log p(x) can also
        be summed on a grid) 6 of the first 8 binarized test images agree with
        the grid within 0.12 nats at K = 1000, and 2 are 5.6 and 8.1 nats low
        (`tests/test_zoo.py`, the grid test).

        Args:
            x: a batch of float inputs (binary, or in [0, 1], for the Bernoulli
                likelihood; integer arrays are refused, as everywhere).
            num_samples: K, the number of importance samples per input.
            batch_size: inputs handled together.
            chunk: importance samples drawn together.
            seed: an int makes the estimate repeatable: the draws start from it
                and the model's own generator is left where it was. None draws
                from the model's generator (each call differs).

        Returns:
            A numpy array of shape `(len(x),)`.
        """
        x = check_model_input(x, self.input_shape_, "x")
        check_target_range(self, x, "x")  # Bernoulli: outside [0, 1] the density is NaN
        return self.importance_sampled((x,), num_samples, batch_size, chunk, seed)

    def importance_sampled(self, inputs, num_samples, batch_size, chunk, seed=None):
        """`log_likelihood`'s estimate for checked `inputs`, arrays of one row
        per sample handed together to `_log_weights(*rows, k)` (a conditional
        model's images and labels)."""
        num_samples = check_positive_int("num_samples", num_samples)
        batch_size = check_positive_int("batch_size", batch_size)
        chunk = min(check_positive_int("chunk", chunk), num_samples)
        seed = check_seed("seed", seed)
        if seed is None:
            return self._importance_sampled(inputs, num_samples, batch_size, chunk)
        # The draws of seed s are those of the generator at state [s, 0]
        # (what zoo.protocols.reseed sets); the model's stream is restored.
        state = self.seed_generator.state
        saved = keras.ops.convert_to_numpy(state.value)
        state.assign(np.array([seed, 0], dtype=saved.dtype))
        try:
            return self._importance_sampled(inputs, num_samples, batch_size, chunk)
        finally:
            state.assign(saved)

    def _importance_sampled(self, inputs, num_samples, batch_size, chunk):
        fn = self.__dict__.get("_log_weights_fn")
        if fn is None:
            fn = tf.function(self._log_weights, autograph=False, reduce_retracing=True)
            self.__dict__["_log_weights_fn"] = fn
        out = []
        try:
            for start in range(0, len(inputs[0]), batch_size):
                rows = [part[start : start + batch_size] for part in inputs]
                total, done = None, 0
                while done < num_samples:  # a running logsumexp: memory of one chunk
                    k = min(chunk, num_samples - done)
                    part = tf.reduce_logsumexp(fn(*rows, tf.constant(k)), axis=0)  # (batch,)
                    total = part if total is None else tf.experimental.numpy.logaddexp(total, part)
                    done += k
                out.append(total.numpy() - math.log(num_samples))
        except tf.errors.ResourceExhaustedError:
            raise ValueError(
                f"log_likelihood ran out of memory with batch_size={batch_size} and "
                f"chunk={chunk} ({batch_size * chunk} decoded samples at once): "
                "pass smaller ones"
            ) from None
        return check_output(np.concatenate(out), "log_likelihood")

    def _log_weights(self, x, k):
        mean, log_var = self.encode_distribution(x)
        batch = tf.shape(mean)[0]
        eps = keras.random.normal((k, batch, self.latent_dim), seed=self.seed_generator)
        z = mean[None] + tf.exp(0.5 * log_var)[None] * eps
        z_flat = tf.reshape(z, [-1, self.latent_dim])
        raw = self.decoder(z_flat, training=False)
        x_rep = tf.repeat(x[None], k, axis=0)
        x_rep = tf.reshape(x_rep, tf.concat([[-1], tf.shape(x)[1:]], axis=0))
        log_px_z = -tf.reshape(self.negative_log_likelihood(x_rep, raw), [k, batch])
        log_pz = losses.gaussian_log_prob(z, 0.0, tf.zeros_like(z))
        log_qz = losses.gaussian_log_prob(z, mean[None], log_var[None])
        return log_px_z + log_pz - log_qz

    def get_config(self):
        config = super().get_config()
        config.update(
            beta=self.beta,
            likelihood=self.likelihood,
            observation_std=self.observation_std,
            kl_warmup_steps=self.kl_warmup_steps,
        )
        return config


def _physical_memory():
    """This machine's memory in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
