"""The base `Autoencoder`, what every variant computes: its arguments, its
encoder and decoder, `encode` / `decode` / `reconstruct`, the loss terms
(`compute_losses`, `regularization_losses`, `total_loss`) and its config.
How it trains, compiles, checks its input and saves is `keras_ae.training`'s
`Trainer`, which it derives from."""

import keras
import numpy as np
from keras import ops

from keras_ae import losses
from keras_ae.models.arguments import (
    custom_networks,
    defeated_argument,
    dtype_policy,
    freeze_layers,
    frozen_layers,
    is_activation,
    layer_activation,
    loading_saved_model,
    output_activation_of,
    settle_network_arguments,
)
from keras_ae.networks import CONV_NETWORKS, build_decoder, build_encoder
from keras_ae.training import Trainer
from keras_ae.training.inference import run_on_numpy, traced_once  # noqa: F401 (re-exported)
from keras_ae.utils.validation import (
    check_model_input,
    check_positive_int,
    check_seed,
    check_shape,
    numpy_side,
)
from keras_ae.zoo.presets import ClassPresets


@keras.saving.register_keras_serializable(package="keras_ae")
class Autoencoder(Trainer):
    """An autoencoder `x -> h = encoder(x) -> x_hat = decoder(h)`.

    With the defaults it is the lecture's one-layer model
    `h = f(W_h x + b_h)`, `x_hat = g(W_x h + b_x)`, under-complete when
    `latent_dim` is below the input size and over-complete above it. Give
    `hidden_units` for a deep MLP, `network="conv"` for a convolutional one,
    or pass any Keras layers as `encoder` and `decoder`.

    Training runs through the model's own `train_step` / `test_step`, which
    report every loss term by name (`loss`, `reconstruction_loss`, and the
    variant's own terms) in `fit` and `evaluate`. Each loss term is a sum over
    the features of a sample, averaged over the batch. `y` defaults to `x`;
    give `(x, y)` pairs to learn a mapping such as noisy -> clean.

    Args:
        input_shape: shape of one sample, e.g. `(784,)` or `(28, 28, 1)`.
        latent_dim: width of the code `h`.
        encoder: optional Keras layer/model used instead of the built one.
        decoder: optional Keras layer/model used instead of the built one,
            as it is: its own last activation (e.g. a sigmoid) is the
            reconstruction's, checked against `reconstruction_loss` when the
            model is built (`check_user_decoder`). The arguments that build
            networks (`network`, `hidden_units`, ...) are then refused.
        network: `"mlp"` or `"conv"`, the builder used when no encoder is given.
        hidden_units: dense widths between input and code (mirrored in the decoder).
        filters: convolution widths for `network="conv"`.
        strides: the stride (1 or 2) of each convolution for `network="conv"`;
            default 2 for every one.
        code_layer: for `network="conv"`, `"dense"` (a Dense code of
            `latent_dim` units) or `"conv"` (a fully convolutional network
            whose code is a 1x1 convolution at the last resolution, flattened:
            `latent_dim` = grid cells x channels, e.g. 14 * 14 * 4 = 784 for
            28x28 images with `strides=(1, 2)`).
        activation: activation of hidden layers.
        latent_activation: activation `f` of the code layer (`"linear"` for none).
        output_activation: activation `g` of the reconstruction.
        reconstruction_loss: `"mse"` (squared error), `"bce"` (binary
            cross-entropy), `"mae"` (absolute error) or `"huber"` (squared
            below 1, absolute above), each summed over a sample's features.
        seed: seed of the model's random generator (noise, sampling).

    Example:
        >>> model = Autoencoder(input_shape=(784,), latent_dim=30)
        >>> model.compile(optimizer="adam")
        >>> history = model.fit(x_train, epochs=1)  # doctest: +SKIP
        >>> z = model.encode(x_train[:8])  # doctest: +SKIP
    """

    #: Loss terms that `fit` and `evaluate` report, in order.
    loss_names = ("loss", "reconstruction_loss")
    #: Defaults a variant may change; an argument left as None takes these.
    defaults = dict(
        network="mlp",
        hidden_units=(),
        filters=(32, 64),
        strides=None,
        code_layer="dense",
        activation="relu",
        latent_activation="linear",
        output_activation="sigmoid",
        reconstruction_loss="mse",
    )

    def __init__(
        self,
        input_shape=None,
        latent_dim=None,
        *,
        encoder=None,
        decoder=None,
        network=None,
        hidden_units=None,
        filters=None,
        strides=None,
        code_layer=None,
        activation=None,
        latent_activation=None,
        output_activation=None,
        reconstruction_loss=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        given = dict(
            network=network,
            hidden_units=hidden_units,
            filters=filters,
            strides=strides,
            code_layer=code_layer,
            activation=activation,
            latent_activation=latent_activation,
            output_activation=output_activation,
            reconstruction_loss=reconstruction_loss,
        )
        settle_network_arguments(self, given, encoder)
        self.seed = seed = check_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.latent_dim = (
            None if latent_dim is None else check_positive_int("latent_dim", latent_dim)
        )
        self.input_shape_ = None if input_shape is None else check_shape("input_shape", input_shape)

        networks = custom_networks(encoder, decoder)
        self._custom_networks = networks is not None
        if self._custom_networks:
            self.encoder, self.decoder = networks
            self.check_user_decoder(*output_activation_of(self.decoder))
            if self.input_shape_ is None and getattr(self.encoder, "built", False):
                try:
                    self.input_shape_ = tuple(self.encoder.input_shape[1:])
                except (AttributeError, ValueError):
                    pass
        else:
            if self.input_shape_ is None or self.latent_dim is None:
                raise ValueError(
                    "give input_shape and latent_dim (e.g. input_shape=(784,), "
                    "latent_dim=32), or an encoder and a decoder; got "
                    f"input_shape={input_shape!r}, latent_dim={latent_dim!r}"
                )
            with dtype_policy(self.dtype_policy):
                self.encoder, self.decoder = self.build_networks()

        if self.input_shape_ is not None:
            self.build((None,) + self.input_shape_)

    # ------------------------------------------------------------------ building
    def code_units(self):
        """Width of the encoder's output (a VAE needs mean and log-variance)."""
        return self.latent_dim

    def build_networks(self):
        """Builds `(encoder, decoder)` from the constructor's arguments."""
        filters = self.filters if self.network in CONV_NETWORKS else ()
        common = dict(
            hidden_units=self.hidden_units,
            filters=filters,
            strides=self.strides,
            code_layer=self.code_layer,
            activation=self.activation,
        )
        encoder = build_encoder(
            self.network,
            self.input_shape_,
            self.code_units(),
            code_activation=layer_activation(self.latent_activation),
            **common,
        )
        decoder = build_decoder(
            self.network,
            self.latent_dim,
            self.input_shape_,
            output_activation=self.decoder_output_activation(),
            **common,
        )
        return encoder, decoder

    def decoder_output_activation(self):
        return layer_activation(self.output_activation)

    def check_user_decoder(self, activation, layer):
        """Checks a user's decoder, whose last activation is `activation`
        (applied by `layer`; both None when it cannot be told), against the
        reconstruction loss: cross-entropy needs probabilities, which an
        unbounded or tanh output is not. A sigmoid decoder is used as it is,
        never activated twice; a variant whose likelihood reads the decoder's
        output otherwise (the VAE's logits) overrides this."""
        if self.reconstruction_loss != "bce" or activation in (None, "sigmoid", "softmax"):
            return
        defeated_argument(
            f"reconstruction_loss='bce' needs reconstructions in (0, 1), but the decoder's "
            f"last layer {layer.name!r} has activation {activation!r}: give it "
            "activation='sigmoid', or use reconstruction_loss='mse' (or 'mae', 'huber')"
        )

    def compile_profile(self):
        """The row of `keras_ae.training.defaults.AUTO_COMPILE` that sets this
        model's "auto" compile settings: its network, or "custom"."""
        return "custom" if self._custom_networks else self.network

    def build(self, input_shape):
        if self.input_shape_ is None:
            self.input_shape_ = tuple(input_shape[1:])
        # A symbolic forward pass builds user-supplied layers that are not built yet.
        code = self._encode(keras.KerasTensor((None,) + tuple(self.input_shape_)))
        self._decode(code)
        # The shape of one code: (latent_dim,), or a user encoder's own (e.g. a
        # spatial (7, 7, 8) code), which `decode` takes.
        self.code_shape_ = tuple(code.shape[1:])
        if self.latent_dim is None:  # user-supplied networks: the code width they give
            self.latent_dim = int(code.shape[-1])
        elif code.shape[-1] is not None and int(code.shape[-1]) != self.latent_dim:
            raise ValueError(
                f"latent_dim={self.latent_dim} was given, but the encoder's code has "
                f"{int(code.shape[-1])} values per sample: leave latent_dim out with a "
                "user-supplied encoder, or give the one it makes"
            )
        self.built = True

    # ------------------------------------------------------------- forward pass
    def encode(self, x, training=False):
        """The code of `x` (deterministic). Numpy in gives numpy out, in batches;
        a tensor in gives a tensor out, so that `encode` also runs inside a
        graph (a train step, an exported signature)."""
        if numpy_side(x):
            return run_on_numpy(self, "encode", x, self.input_shape_)
        return self._encode(x, training=training)

    def decode(self, z, training=False):
        """The reconstruction decoded from codes `z`: numpy for numpy (in
        batches), a tensor for a tensor, as `encode`."""
        if numpy_side(z):
            shape = getattr(self, "code_shape_", None) or (self.latent_dim,)
            return run_on_numpy(self, "decode", z, shape)
        return self._decode(z, training=training)

    def export(
        self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs
    ):
        """Keras's `Model.export`, whose input signature defaults to this
        model's own inputs with a batch of any size (Keras infers it from a
        first call, which a model only fit or loaded has not had).
        `keras_ae.export` writes the encode/decode signatures and verifies."""
        if input_signature is None and self.built:
            input_signature = self._export_input_signature()
        if verbose is not None:  # (Keras's own default differs between versions)
            kwargs["verbose"] = verbose
        return super().export(filepath, format=format, input_signature=input_signature, **kwargs)

    def _export_input_signature(self):
        return [keras.InputSpec(shape=(None, *self.input_shape_), dtype="float32")]

    def reconstruct(self, x):
        """Deterministic reconstruction of `x`, as numpy, computed in batches."""
        return run_on_numpy(self, "call", x, self.input_shape_)

    def call(self, x, training=False):
        return self._decode(self._encode(x, training=training), training=training)

    def _encode(self, x, training=False):
        return self.encoder(x, training=training)

    def _decode(self, z, training=False):
        return self.decoder(z, training=training)

    def forward(self, x, training=False):
        """One forward pass returning its intermediates by name.

        Returns a dict of tensors (the step's graph uses them) with at least
        `code` and `reconstruction`; variants add what their losses need.
        """
        code = self._encode(x, training=training)
        return {"code": code, "reconstruction": self._decode(code, training=training)}

    def output_link(self):
        """The activation between the decoder's last layer and the reconstruction."""
        return self.output_activation

    def target_range(self):
        """The interval the training targets must lie in, and why; None for any values.

        Binary cross-entropy (and so a VAE's Bernoulli likelihood) is defined
        for targets in [0, 1] only; a built decoder ending in a sigmoid (tanh)
        can only reconstruct [0, 1] ([-1, 1]). A user-supplied decoder decides
        its own range, so only the loss bounds it.

        Returns:
            `(low, high, reason, strict)`, `strict` when values outside make the
            loss itself meaningless (cross-entropy), or None.
        """
        if self.reconstruction_loss == "bce":
            return 0.0, 1.0, "reconstruction_loss='bce' needs targets in [0, 1]", True
        if self._custom_networks:
            return None
        link = self.output_link()
        for name, low in (("sigmoid", 0.0), ("tanh", -1.0)):
            if link is not None and is_activation(link, name):
                return low, 1.0, f"output_activation={name!r} reconstructs [{low:g}, 1] only", False
        return None

    #: How to build the model for targets of any range (ends the range error).
    unbounded_hint = "output_activation='linear' and reconstruction_loss='mse'"

    def init_output_bias(self, x):
        """Starts the decoder's output bias at the mean of `x` (a data-dependent init).

        A one-layer autoencoder with sigmoid codes, trained from a zero output
        bias, spends its first steps moving every code unit the same way to
        darken its grey output, and Adam saturates the sigmoids before the bias
        catches up: the model then predicts the mean image. Starting the bias
        at the (inverse-activated) mean image avoids that. Call it once,
        before `fit`, with the training targets.

        Args:
            x: training targets, shape `(n,) + input_shape`.

        Returns:
            True if the bias was set; False for decoders without a built-in
            output layer (user-supplied ones).

        Example:
            >>> model.init_output_bias(x_train)  # doctest: +SKIP
            >>> model.fit(x_train, epochs=10)  # doctest: +SKIP
        """
        x = check_model_input(x, self.input_shape_, "x").astype("float64")
        names = [layer.name for layer in getattr(self.decoder, "layers", [])]
        name = next((n for n in ("output", "tied_output") if n in names), None)
        if self._custom_networks or name is None:
            return False
        bias = self.decoder.get_layer(name).bias
        mean = x.mean(axis=0).reshape(-1)
        if mean.size != bias.shape[0]:  # conv: one bias per channel
            mean = x.reshape(-1, bias.shape[0]).mean(axis=0)
        link = self.output_link()
        if link == "sigmoid":
            mean = np.clip(mean, 1e-3, 1 - 1e-3)
            value = np.log(mean / (1 - mean))
        elif link == "tanh":
            value = np.arctanh(np.clip(mean, -1 + 1e-3, 1 - 1e-3))
        elif link in (None, "linear"):
            value = mean
        else:
            return False
        bias.assign(value.astype(bias.dtype))
        return True

    # ------------------------------------------------------------------- losses
    def compute_losses(self, x, y=None, training=False):
        """Every loss term of a batch, by name, as float32 scalars.

        Unlike Keras's `compute_loss(x, y, y_pred, sample_weight)`, which
        scores a prediction made beforehand with the losses given to
        `compile()`, this runs the model's own forward pass (a VAE samples
        its code, a denoiser corrupts its input) and returns each named term,
        so that `train_step` and `test_step` report them all alike. A variant
        adds terms in `regularization_losses` or overrides this method.

        Args:
            x: the input batch.
            y: the target; None means "reconstruct x".
            training: whether layers run in training mode.

        Returns:
            A dict with `loss` (what is minimised) and each named term, as
            scalar tensors: it runs inside the compiled train step.
        """
        target = x if y is None else y
        out = self.forward(x, training=training)
        terms = {
            "reconstruction_loss": ops.mean(
                losses.reconstruction_loss(self.reconstruction_loss, target, out["reconstruction"])
            )
        }
        terms.update(self.regularization_losses(x, out, training=training))
        return {"loss": self.total_loss(terms), **terms}

    def regularization_losses(self, x, out, training=False):
        """A variant's extra (already weighted) loss terms, as scalar tensors
        (they are part of the train step's graph); none for the base."""
        return {}

    def total_loss(self, terms):
        """The sum of the weighted `terms` and the layers' own regularizers (a
        scalar tensor: the train step differentiates it)."""
        total = sum(terms.values())
        for penalty in self.losses:  # layer regularizers (kernel_regularizer=...)
            total = total + ops.cast(penalty, "float32")
        return total

    # ------------------------------------------------------------ serialization
    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "input_shape": self.input_shape_,
            "latent_dim": self.latent_dim,
            "network": self.network,
            "hidden_units": self.hidden_units,
            "filters": self.filters,
            "strides": self.strides,
            "code_layer": self.code_layer,
            "activation": self.activation,
            "latent_activation": self.latent_activation,
            "output_activation": self.output_activation,
            "reconstruction_loss": self.reconstruction_loss,
            "seed": self.seed,
        }
        if self._custom_networks:
            config["encoder"] = keras.saving.serialize_keras_object(self.encoder)
            config["decoder"] = keras.saving.serialize_keras_object(self.decoder)
        frozen = frozen_layers(self)
        if frozen:
            config["frozen_layers"] = frozen
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "dtype" in config and isinstance(config["dtype"], dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        frozen = config.pop("frozen_layers", {})
        with loading_saved_model():  # see `defeated_argument`
            model = cls(**config)
        freeze_layers(model, frozen)
        return model

    presets = ClassPresets()  # the bundled zoo entries of this class, name -> metadata

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Loads a preset, checking it is a `cls`: a zoo name, an entry folder,
        an http(s):// URL of one or hf://owner/repo (see `keras_ae.zoo.load`)."""
        from keras_ae import zoo

        model = zoo.load(preset, **kwargs)
        if not isinstance(model, cls):
            raise ValueError(
                f"preset {preset!r} is a {type(model).__name__}, not a {cls.__name__}; "
                f"load it with keras_ae.zoo.load({preset!r}) or {type(model).__name__}.from_preset"
            )
        return model
