"""Semantic hashing (Salakhutdinov & Hinton 2009): binary codes for search."""

import numpy as np
import keras
from keras import ops

from keras_ae.models.base import Autoencoder
from keras_ae.utils import rng
from keras_ae.utils.validation import check_choice

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

    def __init__(self, input_shape=None, latent_dim=None, *, binarization="noise",
                 noise_std=2.0, **kwargs):
        self.binarization = check_choice("binarization", binarization, BINARIZATIONS)
        if float(noise_std) < 0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std!r}")
        self.noise_std = float(noise_std)
        super().__init__(input_shape, latent_dim, **kwargs)

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

    def hash_bits(self, x):
        """Packed binary codes as a tensor (the graph behind `hash`)."""
        return pack_bits(self._encode(x) > 0.5)

    def hash(self, x):
        """Packed binary codes of `x`: a uint8 numpy array `(n, ceil(latent_dim / 8))`."""
        codes = np.asarray(self.encode(x))  # encode validates array input
        return np.packbits(codes > 0.5, axis=-1)

    def get_config(self):
        return {**super().get_config(), "binarization": self.binarization,
                "noise_std": self.noise_std}
