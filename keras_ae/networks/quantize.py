"""`VectorQuantizer`: nearest-codebook quantisation of a grid of vectors.

Each vector `z` of the encoder's `(batch, h, w, D)` grid is replaced by the
nearest of `num_codes` codebook vectors `e_k`; the gradient passes straight
through (`z + stop_gradient(e_k - z)`). The codebook learns by gradient (the
codebook loss `||sg(z) - e||^2`) or, with `update="ema"`, by exponential
moving averages of the assigned vectors (Razavi et al. 2019), which needs no
gradient. Codes no vector picked for `restart_after` training steps are
re-initialised from encoder outputs of the batch (dead-code restarts), and
the first training step restarts them all (a codebook drawn from the data).

Under a `tf.distribute` strategy the code counts and sums are all-reduced
and restarts draw from the gathered global batch, so the codebook and its
EMA statistics stay identical on every replica (and equal one device's).

References:
    van den Oord et al., "Neural Discrete Representation Learning" (2017);
    Razavi et al., "Generating Diverse High-Fidelity Images with VQ-VAE-2" (2019).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

UPDATES = ("gradient", "ema")


def _all_reduce_sum(value):
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return value
    return ctx.all_reduce("sum", value)


def _all_gather(value):
    """The replicas' `value`s concatenated along axis 0, in replica order
    (the order of the global batch), on every replica."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return value
    return ctx.all_gather(value, axis=0)


@keras.saving.register_keras_serializable(package="keras_ae")
class VectorQuantizer(keras.layers.Layer):
    """Maps `(..., D)` vectors to their nearest of `num_codes` codebook vectors.

    `call(z, training)` returns a dict: `quantized` (straight-through),
    `codes` (int32 indices), `counts` (how often each code was picked in the
    batch, all replicas together). Training calls (`training=True`) update
    the EMA codebook and restart dead codes.

    Args:
        num_codes: K, the codebook size.
        embedding_dim: D, the width of each vector.
        update: `"gradient"` (the codebook loss trains it) or `"ema"`.
        decay: EMA decay (gamma) for `update="ema"`.
        epsilon: Laplace smoothing of the EMA counts.
        restart_after: steps a code may go unused before it is restarted
            from an encoder output; 0 for never (nor at the first step).
        seed: seed of the restart draws.
    """

    def __init__(
        self,
        num_codes,
        embedding_dim,
        update="ema",
        decay=0.99,
        epsilon=1e-5,
        restart_after=100,
        seed=0,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")  # distances in float32, also under mixed precision
        super().__init__(**kwargs)
        self.num_codes, self.embedding_dim = int(num_codes), int(embedding_dim)
        self.update, self.decay, self.epsilon = update, float(decay), float(epsilon)
        self.restart_after, self.seed = int(restart_after), int(seed)
        ema = update == "ema"
        keep = dict(trainable=False, aggregation="only_first_replica")
        self.codebook = self.add_weight(
            shape=(self.num_codes, self.embedding_dim),
            initializer=keras.initializers.RandomUniform(-1.0, 1.0, seed=self.seed),
            name="codebook",
            autocast=False,  # float32 also when a mixed-precision model reads it
            **(keep if ema else {}),
        )
        if ema:
            self.ema_count = self.add_weight(
                shape=(self.num_codes,), initializer="ones", name="ema_count", **keep
            )
            shape = (self.num_codes, self.embedding_dim)
            self.ema_sum = self.add_weight(shape=shape, initializer="zeros", name="ema_sum", **keep)
            self.ema_sum.assign(self.codebook)
        self.unused_steps = self.add_weight(
            shape=(self.num_codes,), initializer="zeros", name="unused_steps", **keep
        )
        self.steps = self.add_weight(shape=(), initializer="zeros", name="steps", **keep)
        self.built = True

    def nearest(self, z):
        """int32 indices of the codebook vectors nearest each of `z`'s vectors."""
        flat = ops.reshape(ops.cast(z, "float32"), (-1, self.embedding_dim))
        e = ops.convert_to_tensor(self.codebook)
        # ||z - e||^2 less ||z||^2, the same for every code of a vector.
        distance = ops.sum(ops.square(e), axis=-1) - 2.0 * ops.matmul(flat, ops.transpose(e))
        # (tf.argmin: keras.ops.argmin adds a BitwiseAnd that LiteRT has no kernel for)
        codes = tf.argmin(distance, axis=-1, output_type="int32")
        return ops.reshape(codes, ops.shape(z)[:-1])

    def lookup(self, codes):
        """The codebook vectors of int `codes`, shape `codes.shape + (D,)`."""
        return ops.take(self.codebook, ops.cast(codes, "int32"), axis=0)

    def call(self, z, training=False):
        z = ops.cast(z, "float32")
        codes = self.nearest(z)
        flat_codes = ops.reshape(codes, (-1,))
        one_hot = ops.one_hot(flat_codes, self.num_codes, dtype="float32")
        counts = _all_reduce_sum(ops.sum(one_hot, axis=0))
        # The vectors the codes were chosen among: read before this step's
        # EMA update and restarts change the codebook.
        quantized = self.lookup(codes)
        if training:
            flat = ops.reshape(z, (-1, self.embedding_dim))
            if self.update == "ema":
                self._ema_update(counts, _all_reduce_sum(ops.matmul(ops.transpose(one_hot), flat)))
            if self.restart_after > 0:
                self._restart_dead(counts, flat)
            self.steps.assign(self.steps + 1.0)
        return {
            "quantized": z + ops.stop_gradient(quantized - z),
            "codebook_vectors": quantized,
            "codes": codes,
            "counts": counts,
        }

    def _ema_update(self, counts, sums):
        d = self.decay
        count = d * self.ema_count + (1.0 - d) * counts
        total = d * self.ema_sum + (1.0 - d) * sums
        n = ops.sum(count)
        smoothed = (count + self.epsilon) / (n + self.num_codes * self.epsilon) * n
        self.ema_count.assign(count)
        self.ema_sum.assign(total)
        self.codebook.assign(total / smoothed[:, None])

    def _restart_dead(self, counts, flat):
        # The first training step restarts every code: a codebook drawn from
        # the encoder's outputs, not from an initializer of another scale.
        unused = ops.where(counts > 0, 0.0, self.unused_steps + 1.0)
        dead = ops.logical_or(unused >= self.restart_after, self.steps == 0)
        flat = _all_gather(flat)  # the global batch: the same picks on every replica
        seed = ops.stack([ops.cast(self.seed, "int32"), ops.cast(self.steps, "int32")])
        n = ops.shape(flat)[0]
        pick = tf.random.stateless_uniform(
            (self.num_codes,), seed, minval=0, maxval=n, dtype="int32", alg="philox"
        )
        fresh = ops.take(flat, pick, axis=0)
        mask = dead[:, None]
        self.codebook.assign(ops.where(mask, fresh, self.codebook))
        if self.update == "ema":
            self.ema_sum.assign(ops.where(mask, fresh, self.ema_sum))
            self.ema_count.assign(ops.where(dead, 1.0, self.ema_count))
        self.unused_steps.assign(ops.where(dead, 0.0, unused))

    def compute_output_spec(self, z, training=False):
        shape = tuple(z.shape)
        return {
            "quantized": keras.KerasTensor(shape, "float32"),
            "codebook_vectors": keras.KerasTensor(shape, "float32"),
            "codes": keras.KerasTensor(shape[:-1], "int32"),
            "counts": keras.KerasTensor((self.num_codes,), "float32"),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "num_codes": self.num_codes,
            "embedding_dim": self.embedding_dim,
            "update": self.update,
            "decay": self.decay,
            "epsilon": self.epsilon,
            "restart_after": self.restart_after,
            "seed": self.seed,
        }


def code_usage(codes, num_codes):
    """`(perplexity, share of codes used)` of int `codes` (any shape), numpy.

    Perplexity is `exp(entropy)` of the codes' frequencies: `num_codes`
    when all are used equally, 1 when one code takes everything.
    """
    counts = np.bincount(np.asarray(codes).reshape(-1), minlength=num_codes)
    p = counts / max(1, counts.sum())
    entropy = -np.sum(p[p > 0] * np.log(p[p > 0]))
    return float(np.exp(entropy)), float(np.mean(counts > 0))
