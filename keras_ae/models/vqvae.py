"""The vector-quantised VAE (van den Oord et al. 2017): discrete code maps."""

import math

import keras
import numpy as np
from keras import ops

from keras_ae import losses
from keras_ae.models.base import Autoencoder
from keras_ae.networks import build_decoder, build_encoder
from keras_ae.networks.conv import code_grid, conv_layout
from keras_ae.networks.quantize import UPDATES, VectorQuantizer, code_usage
from keras_ae.training.inference import run_on_numpy
from keras_ae.utils.validation import check_array, check_choice, check_number, check_positive_int


@keras.saving.register_keras_serializable(package="keras_ae")
class VQVAE(Autoencoder):
    """A conv autoencoder whose code is a grid of indices into a learned codebook.

    The encoder maps an image to an `(h, w, latent_dim)` grid (a fully
    convolutional network, `code_layer="conv"`); each vector is replaced by
    its nearest of `num_codes` codebook vectors (`keras_ae.networks.quantize`),
    with the straight-through gradient, and the decoder reconstructs from
    those. The loss is `reconstruction_loss + codebook_loss +
    commitment_loss`, each a sum over the grid averaged over the batch, with
    `commitment_loss = beta * ||z - sg(e)||^2`; with `codebook_update="ema"`
    the codebook follows moving averages instead, and `codebook_loss` (the
    same distance) is reported but not minimised. `fit` also reports the
    batch's codebook `perplexity` and `codes_used` (share of codes picked).

    `encode(x)` gives int32 code maps `(batch, h, w)` and `decode(codes)`
    takes them back; `embed(x)` is the encoder's continuous grid and
    `quantized(x)` its nearest codebook vectors. One image costs
    `bits_per_image = h * w * log2(num_codes)` bits.

    Args:
        latent_dim: D, the width of each codebook vector.
        num_codes: K, the codebook size.
        beta: weight of the commitment loss.
        codebook_update: `"ema"` (Razavi et al. 2019) or `"gradient"`.
        decay: the EMA's decay.
        epsilon: the EMA counts' Laplace smoothing.
        restart_after: training steps a code may go unused before it is
            re-initialised from an encoder output of the batch (0: never).
        **kwargs: the `Autoencoder` arguments for a conv network (`filters`,
            `strides`, `activation`, `output_activation`, ...).

    Example:
        >>> model = VQVAE(input_shape=(28, 28, 1), latent_dim=16, num_codes=64)
        >>> model.compile(optimizer="adam")
        >>> history = model.fit(x_train, epochs=1)  # doctest: +SKIP
        >>> codes = model.encode(x_test)  # (n, 7, 7) int32  # doctest: +SKIP
        >>> images = model.decode(codes)  # doctest: +SKIP

    References:
        van den Oord, Vinyals & Kavukcuoglu, "Neural Discrete Representation
        Learning", NeurIPS 2017; Razavi, van den Oord & Vinyals, "Generating
        Diverse High-Fidelity Images with VQ-VAE-2", NeurIPS 2019.
    """

    loss_names = (
        "loss",
        "reconstruction_loss",
        "codebook_loss",
        "commitment_loss",
        "perplexity",
        "codes_used",
    )
    higher_is_better = ("perplexity", "codes_used")  # EarlyStopping needs no mode
    defaults = {**Autoencoder.defaults, "network": "conv", "code_layer": "conv"}

    #: LiteRT ops an int8 export of the encoder (or full model) keeps in
    #: float32: the nearest-code search (distances to the codebook, argmin),
    #: fed the int8 encoder's grid through a DEQUANTIZE: on the zoo's VQ-VAEs
    #: 98.3-98.5% of test codes agree with Keras, test MSE +0.1-0.5%. Searched
    #: on 8-bit distances, vectors near a tie took other codes (64-73% agreed,
    #: test MSE +5.0-12.6%, over the 5% int8 tolerance): docs/results/vqvae.md.
    INT8_FLOAT_OPS = ("FULLY_CONNECTED", "BATCH_MATMUL", "SUB", "ARG_MIN")

    def __init__(
        self,
        input_shape=None,
        latent_dim=None,
        *,
        num_codes=64,
        beta=0.25,
        codebook_update="ema",
        decay=0.99,
        epsilon=1e-5,
        restart_after=100,
        **kwargs,
    ):
        self.num_codes = check_positive_int("num_codes", num_codes)
        if self.num_codes < 2:
            raise ValueError(f"num_codes must be at least 2, got {num_codes}")
        self.beta = check_number("beta", beta)
        self.codebook_update = check_choice("codebook_update", codebook_update, UPDATES)
        self.decay = check_number("decay", decay, 0.0, 1.0)
        self.epsilon = check_number("epsilon", epsilon)
        self.restart_after = int(check_number("restart_after", restart_after))
        for name in ("encoder", "decoder"):
            if kwargs.get(name) is not None:
                raise ValueError(
                    f"VQVAE builds its own conv networks around the quantizer; got {name}="
                    f"{kwargs[name]!r} (set filters, strides and activation instead)"
                )
        for name, want in (("network", "conv"), ("code_layer", "conv")):
            if kwargs.get(name) not in (None, want):
                raise ValueError(
                    f"VQVAE quantizes a spatial grid of vectors, so {name} must be {want!r}, "
                    f"got {kwargs[name]!r}"
                )
        if input_shape is None or latent_dim is None:
            raise ValueError(
                "VQVAE needs input_shape (an image, (H, W) or (H, W, C)) and latent_dim "
                f"(the codebook vectors' width); got input_shape={input_shape!r}, "
                f"latent_dim={latent_dim!r}"
            )
        super().__init__(input_shape, latent_dim, **kwargs)

    # ------------------------------------------------------------------ building
    @property
    def grid(self):
        """`(h, w)`, the code map's shape."""
        return code_grid(self.input_shape_[:2], conv_layout(self.filters, self.strides).strides)

    @property
    def bits_per_image(self):
        """Bits of one image's code: `h * w * log2(num_codes)`."""
        return math.prod(self.grid) * math.log2(self.num_codes)

    def code_spec(self):
        """`(shape, dtype)` of one sample's code, for export."""
        return self.grid, "int32"

    def build_networks(self):
        common = dict(
            filters=self.filters,
            strides=self.strides,
            code_layer="conv",
            activation=self.activation,
        )
        units = math.prod(self.grid) * self.latent_dim
        encoder = build_encoder("conv", self.input_shape_, units, **common)
        decoder = build_decoder(
            "conv",
            units,
            self.input_shape_,
            output_activation=self.decoder_output_activation(),
            **common,
        )
        self.quantizer = VectorQuantizer(
            self.num_codes,
            self.latent_dim,
            update=self.codebook_update,
            decay=self.decay,
            epsilon=self.epsilon,
            restart_after=self.restart_after,
            seed=self.seed or 0,
            name="quantizer",
        )
        return encoder, decoder

    def build(self, input_shape):
        self.built = True

    # ------------------------------------------------------------- forward pass
    def _embed(self, x, training=False):
        z = self.encoder(x, training=training)
        return ops.reshape(z, (-1,) + self.grid + (self.latent_dim,))

    def _vectors_to_image(self, vectors, training=False):
        flat = ops.reshape(vectors, (-1, math.prod(self.grid) * self.latent_dim))
        return self.decoder(flat, training=training)

    def _encode(self, x, training=False):
        return self.quantizer.nearest(self._embed(x, training=training))

    def _decode(self, codes, training=False):
        return self._vectors_to_image(self.quantizer.lookup(codes), training=training)

    def _quantize(self, x, training=False):
        return self.quantizer.lookup(self._encode(x, training=training))

    def call(self, x, training=False):
        return self._decode(self._encode(x, training=training), training=training)

    def forward(self, x, training=False):
        z = self._embed(x, training=training)
        q = self.quantizer(z, training=training)
        return {
            "embedding": z,
            **q,
            "code": q["codes"],
            "reconstruction": self._vectors_to_image(q["quantized"], training=training),
        }

    def embed(self, x):
        """The encoder's continuous grid `(batch, h, w, latent_dim)`, numpy."""
        return run_on_numpy(self, "_embed", x, self.input_shape_)

    def quantized(self, x):
        """The codebook vectors of `x`'s codes, `(batch, h, w, latent_dim)`, numpy.

        (Not `quantize`: Keras's `Model.quantize(mode)` quantizes weights.)"""
        return run_on_numpy(self, "_quantize", x, self.input_shape_)

    def decode(self, codes, training=False):
        """Images from code maps: int `codes` of shape `(batch, h, w)` in `[0, num_codes)`.

        A numpy (or list) argument is checked: its dtype must be integer, its
        shape the model's grid, every index a code of the codebook.
        """
        if isinstance(codes, (np.ndarray, list, tuple)):
            return run_on_numpy(self, "decode", self.check_codes(codes), self.grid)
        return self._decode(codes, training=training)

    def check_codes(self, codes, name="codes"):
        """`codes` as an int32 array, or a ValueError naming what is wrong."""
        arr = check_array(codes, None, name)
        grid = ", ".join(map(str, self.grid))
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"{name} must be integer code indices (int32), shape (batch, {grid}); got "
                f"dtype {arr.dtype}"
            )
        if arr.shape[1:] != self.grid:
            raise ValueError(
                f"{name} must have shape (batch, {grid}), the model's code grid, got {arr.shape}"
            )
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= self.num_codes:
            raise ValueError(
                f"{name} must index the codebook, in [0, {self.num_codes}) (num_codes="
                f"{self.num_codes}), got values in [{low}, {high}]"
            )
        return arr.astype("int32")

    def code_usage(self, x):
        """`(perplexity, share of codes used)` over all of `x`'s code maps."""
        return code_usage(self.encode(x), self.num_codes)

    # ------------------------------------------------------------------- losses
    def compute_losses(self, x, y=None, training=False):
        target = x if y is None else y
        out = self.forward(x, training=training)
        z, e = ops.cast(out["embedding"], "float32"), out["codebook_vectors"]

        def distance(a, b):
            return ops.mean(ops.sum(ops.reshape(ops.square(a - b), (ops.shape(a)[0], -1)), -1))

        terms = {
            "reconstruction_loss": ops.mean(
                losses.reconstruction_loss(self.reconstruction_loss, target, out["reconstruction"])
            ),
            "codebook_loss": distance(ops.stop_gradient(z), e),
            "commitment_loss": self.beta * distance(z, ops.stop_gradient(e)),
        }
        trained = dict(terms)
        if self.codebook_update == "ema":
            trained.pop("codebook_loss")
        p = out["counts"] / ops.maximum(ops.sum(out["counts"]), 1.0)
        entropy = -ops.sum(ops.where(p > 0, p * ops.log(ops.maximum(p, 1e-12)), 0.0))
        usage = {
            "perplexity": ops.exp(entropy),
            "codes_used": ops.mean(ops.cast(out["counts"] > 0, "float32")),
        }
        return {"loss": self.total_loss(trained), **terms, **usage}

    # ------------------------------------------------------------ serialization
    def get_config(self):
        return {
            **super().get_config(),
            "num_codes": self.num_codes,
            "beta": self.beta,
            "codebook_update": self.codebook_update,
            "decay": self.decay,
            "epsilon": self.epsilon,
            "restart_after": self.restart_after,
        }
