"""Semantic hashing (Salakhutdinov & Hinton 2009): binary codes for search."""

import keras
import numpy as np
from keras import ops

from keras_ae.models.arguments import defeated_argument, is_activation
from keras_ae.models.base import Autoencoder
from keras_ae.training.inference import run_on_numpy
from keras_ae.training.inputs import build_from_batch_shape
from keras_ae.utils import rng
from keras_ae.utils.validation import (
    check_choice,
    check_number,
    check_positive_int,
    check_seed,
    numpy_side,
)

BINARIZATIONS = ("noise", "straight_through")


def pack_bits(bits):
    """Packs a `(batch, n_bits)` 0/1 tensor into `(batch, ceil(n_bits / 8))` uint8.

    Bit order matches `numpy.packbits` (first bit is the most significant).
    Written in `keras.ops` so it exports into SavedModel and TFLite graphs.
    """
    bits = ops.cast(bits, "int32")
    n_bits = bits.shape[-1]
    pad = (-n_bits) % 8
    if pad:
        bits = ops.pad(bits, [[0, 0], [0, pad]])
    groups = ops.reshape(bits, (-1, (n_bits + pad) // 8, 8))
    weights = ops.convert_to_tensor(np.array([128, 64, 32, 16, 8, 4, 2, 1], dtype="int32"))
    return ops.cast(ops.sum(groups * weights, axis=-1), "uint8")


def itq_rotation(v, iterations=50, seed=0):
    """The orthogonal rotation of iterative quantization (Gong & Lazebnik 2011).

    Finds `R` (`(d, d)`, orthogonal) that makes `sign(v @ R)` lose as little
    as possible of `v @ R`: alternately sets the codes `B = sign(v @ R)` and
    solves the orthogonal Procrustes problem `min ||B - v R||` by an SVD.

    Args:
        v: `(n, d)` zero-centred float array (projections, code logits).
        iterations: rounds of the alternation.
        seed: seed of the random orthogonal starting rotation.

    Returns:
        `R` as a float64 `(d, d)` array.
    """
    v = np.asarray(v, dtype="float64")
    check_positive_int("iterations", iterations)
    if v.ndim != 2 or len(v) < 2:
        raise ValueError(
            f"itq_rotation needs an (n, d) array with n >= 2 rows, got shape {v.shape}"
        )
    if not np.all(np.isfinite(v)):
        raise ValueError("itq_rotation got NaN or infinite values")
    d = v.shape[1]
    r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))[0]
    for _ in range(iterations):
        codes = np.where(v @ r > 0, 1.0, -1.0)
        u, _, wt = np.linalg.svd(v.T @ codes)
        r = u @ wt
    return r


@keras.saving.register_keras_serializable(package="keras_ae")
class SemanticHashingAE(Autoencoder):
    """An autoencoder whose `latent_dim`-unit sigmoid code is forced to be binary.

    Training makes the code binary in one of two ways:
    `binarization="noise"` adds Gaussian noise of std `noise_std` to the code
    layer's input before its sigmoid (the trick of Salakhutdinov & Hinton:
    only activations far from 0.5 survive the noise), and
    `"straight_through"` samples binary units (1 with probability
    `sigmoid(logits)`) in the forward pass and passes the gradient through
    unchanged. `hash(x)` thresholds the code at 0.5 and
    returns packed bits (`uint8`), for `keras_ae.tasks.HammingIndex`.

    `fit_rotation(x)` learns, after training, a centring and an ITQ rotation
    of the code logits (Gong & Lazebnik 2011): bits are then the signs of
    `(logits - code_offset) @ code_rotation`, which balances the bits and
    spreads the code's information over all of them. Both are non-trainable
    weights, so they are saved with the model and used by the exported
    `hash` signature; until `fit_rotation` is called they are zero and the
    identity, which is the plain threshold at 0.5.

    Args:
        binarization: `"noise"` or `"straight_through"`.
        noise_std: standard deviation of the noise for `"noise"`.
        **kwargs: the `Autoencoder` arguments (`latent_dim` is the bit count).

    Example:
        >>> model = SemanticHashingAE(input_shape=(10000,), latent_dim=64,
        ...                           hidden_units=(512,))

    References:
        Salakhutdinov & Hinton, "Semantic hashing", IJAR 50(7), 2009.
    """

    defaults = {**Autoencoder.defaults, "hidden_units": (512,), "latent_activation": "linear"}

    def __init__(
        self, input_shape=None, latent_dim=None, *, binarization="noise", noise_std=2.0, **kwargs
    ):
        self.binarization = check_choice("binarization", binarization, BINARIZATIONS)
        self.noise_std = check_number("noise_std", noise_std)
        if not is_activation(kwargs.get("latent_activation"), "linear"):
            defeated_argument(
                "SemanticHashingAE applies the sigmoid (and the binarization noise) to the "
                "encoder's logits itself: latent_activation must be 'linear', got "
                f"{kwargs['latent_activation']!r}"
            )
        super().__init__(input_shape, latent_dim, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)  # sets latent_dim for user-supplied networks
        if not hasattr(self, "code_rotation"):
            self.code_offset = self.add_weight(
                shape=(self.latent_dim,), initializer="zeros", trainable=False, name="code_offset"
            )
            self.code_rotation = self.add_weight(
                shape=(self.latent_dim, self.latent_dim),
                initializer="identity",
                trainable=False,
                name="code_rotation",
            )

    def load_own_variables(self, store):
        # A file saved before `fit_rotation` existed has none of the model's
        # own variables: keep zero and the identity, its hash exactly.
        if len(store.keys()) == 0:
            return
        super().load_own_variables(store)

    def code_logits(self, x, training=False):
        """The code layer's pre-sigmoid values."""
        return ops.cast(self.encoder(x, training=training), "float32")

    def _encode(self, x, training=False):
        # Deterministic code in [0, 1]; training noise lives in `forward`.
        return ops.sigmoid(self.code_logits(x, training=training))

    def binarize(self, logits):
        """The training-time code: noisy sigmoid, or straight-through rounding."""
        if self.binarization == "noise":
            if self.noise_std == 0:
                return ops.sigmoid(logits)
            noise = rng.normal(ops.shape(logits), self.seed_generator, stddev=self.noise_std)
            return ops.sigmoid(logits + noise)
        soft = ops.sigmoid(logits)
        # Stochastic binary units (bit = 1 with probability `soft`), with the
        # gradient passed straight through: deterministic rounding collapses
        # to a handful of codes, sampling keeps every bit informative.
        draw = rng.uniform(ops.shape(soft), self.seed_generator)
        bits = ops.cast(draw < soft, soft.dtype)
        return soft + ops.stop_gradient(bits - soft)

    def forward(self, x, training=False):
        logits = self.code_logits(x, training=training)
        code = self.binarize(logits) if training else ops.sigmoid(logits)
        return {"code": code, "reconstruction": self._decode(code, training=training)}

    def _hash_projection(self, x, training=False):
        offset = ops.cast(self.code_offset, "float32")
        rotation = ops.cast(self.code_rotation, "float32")
        return ops.matmul(self.code_logits(x, training=training) - offset, rotation)

    def hash_projection(self, x):
        """The real values whose signs are the hash bits, `(n, latent_dim)`.

        `code_logits(x)` before `fit_rotation`; centred and rotated after.
        """
        if numpy_side(x):
            return run_on_numpy(self, "_hash_projection", x, self.input_shape_)
        build_from_batch_shape(self, np.shape(x))  # creates code_offset and code_rotation
        return self._hash_projection(x)

    def hash_bits(self, x):
        """Packed binary codes as a tensor (the graph behind `hash`)."""
        build_from_batch_shape(self, np.shape(x))
        return pack_bits(self._hash_projection(x) > 0)

    def hash(self, x):
        """Packed binary codes of `x`: a uint8 numpy array `(n, ceil(latent_dim / 8))`."""
        return np.packbits(self.hash_projection(x) > 0, axis=-1)

    def fit_rotation(self, x, iterations=50, seed=0):
        """Learns the bits' centring and ITQ rotation from `x` (no labels).

        Call it after `fit`, on training data. It sets `code_offset` to the
        mean code logit and `code_rotation` to `itq_rotation` of the centred
        logits; `hash`, `hash_bits` and exports use both from then on.

        Args:
            x: training inputs, shaped like the model's input (at least 2 rows).
            iterations: ITQ iterations.
            seed: seed of ITQ's random starting rotation.

        Returns:
            The model.
        """
        check_positive_int("iterations", iterations)
        if check_seed("seed", seed) is None or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        logits = run_on_numpy(self, "code_logits", x, self.input_shape_).astype("float64")
        if len(logits) < 2:
            raise ValueError(f"fit_rotation needs at least 2 samples of x, got {len(logits)}")
        if not np.all(np.isfinite(logits)):
            raise ValueError("the model's code logits on x are not finite; was training stable?")
        mean = logits.mean(axis=0)
        self.code_offset.assign(mean.astype("float32"))
        self.code_rotation.assign(itq_rotation(logits - mean, iterations, seed).astype("float32"))
        return self

    def get_config(self):
        return {
            **super().get_config(),
            "binarization": self.binarization,
            "noise_std": self.noise_std,
        }
