"""The base `Autoencoder`: every variant inherits its training loop from here."""

import contextlib
import contextvars
import math
import os
import warnings

import numpy as np
import keras
import tensorflow as tf
from keras import ops

from keras_ae import keras_compat, losses
from keras_ae.models.finite import FiniteGuard, NonFiniteError, check_output
from keras_ae.networks import (
    CONV_NETWORKS,
    DEFAULT_ACTIVATION,
    NETWORK_NAMES,
    NETWORKS,
    build_decoder,
    build_encoder,
)
from keras_ae.utils.files import atomic_output
from keras_ae.utils.validation import (
    cast_finite,
    check_array,
    check_choice,
    check_model_input,
    check_positive_int,
    check_seed,
    check_shape,
    is_low_precision_float,
    range_violation,
    refuse_integers,
)

_serialize = keras.saving.serialize_keras_object

#: After this many models trained with XLA in one process, warn once that
#: their compiled programs are never freed (see `default_jit_compile`).
XLA_SWEEP_WARNING = 50
_xla_models = 0


def _stageable(filepath, overwrite, suffixes):
    """Whether a save to `filepath` can go through a staging file: a local
    path (not a file object or a remote URL) with a name Keras accepts (so
    Keras's own errors name the user's path, not the staging one), and no
    overwrite prompt due."""
    if not isinstance(filepath, (str, os.PathLike)):
        return False
    name = os.fspath(filepath)
    if "://" in name or not name.endswith(suffixes):
        return False
    return overwrite or not os.path.exists(name)


def _count_xla_model():
    global _xla_models
    _xla_models += 1
    if _xla_models == XLA_SWEEP_WARNING:
        warnings.warn(
            f"{XLA_SWEEP_WARNING} keras_ae models in this process were trained with XLA "
            "(the default for MLP networks); TensorFlow keeps every compiled XLA program until the process exits "
            "(about 25 MB each, tensorflow/tensorflow#64170). For a sweep over many models, "
            "pass jit_compile=False to compile() or train each model in its own process.",
            RuntimeWarning,
            stacklevel=2,
        )

_deserialize = keras.saving.deserialize_keras_object


@keras.saving.register_keras_serializable(package="keras_ae")
class Autoencoder(keras.Model):
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
        decoder: optional Keras layer/model used instead of the built one.
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
        reconstruction_loss: `"mse"` (squared error) or `"bce"` (binary cross-entropy).
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

    #: Whether `compile(jit_compile="auto")` uses XLA on a machine without a
    #: GPU (where Keras itself turns XLA off) for the built MLP networks; on
    #: GPU, Keras's own "auto" already uses XLA. Decided by
    #: `scripts/bench_train.py` on a quiet machine (docs/benchmarks/train.md):
    #: XLA fuses the elementwise and Adam work around the matmuls: 1.33x /
    #: 1.17x the samples/s of the same dense AE without it at batch 128 / 256
    #: (contractive 1.06x / 1.18x; VAE 1.26x / 1.20x and semantic hashing
    #: 1.30x / 1.18x once their noise drew Philox by name, `keras_ae.utils.rng`).
    #: Convolutional networks stay off (0.83x / 0.67x with XLA), as do
    #: user-supplied networks. Across sizes (`scripts/bench_xla_size.py`,
    #: docs/benchmarks/xla_size.md, in one process): MNIST 784-128-16 and
    #: 784-512-256-30 run 1.18-1.48x faster with XLA; the small tabular
    #: networks (satimage 36-64-8, 36-256-128-8; ECG5000 140-64-32-8) run at
    #: 0.95-1.03x, neither faster nor slower, so one rule serves both.
    #: TensorFlow never frees a compiled XLA program (its compilation cache has
    #: no eviction, tensorflow/tensorflow#64170): every new model compiled
    #: with XLA keeps ~25 MB and ~170 memory maps until the process exits, so
    #: a sweep over hundreds of models in one process should pass
    #: `jit_compile=False` (a warning says so after `XLA_SWEEP_WARNING` models).
    default_jit_compile = True
    #: Batches run per compiled call by `fit`, `evaluate` and `predict` when
    #: `compile(steps_per_execution="auto")` (keras_ae's default; Keras's is
    #: 1) for the built MLP networks. Each call of Keras's train function
    #: costs ~2 ms outside the compiled step (iterator, callbacks, the call
    #: itself), a fifth of a dense AE's 10 ms step at batch 128; 8 steps per
    #: call pay it once per 8 batches (measured in docs/benchmarks/train.md
    #: and fit_inprocess.md). The price: batch-level callbacks
    #: (`on_train_batch_end`, a progress bar's updates) run every 8 batches.
    #: Convolutional networks keep 1 (their ~100 ms steps hide the call's
    #: cost), as do user-supplied networks (not measured), a model under a
    #: distribution strategy and `run_eagerly=True`.
    default_steps_per_execution = 8

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
        for key, value in given.items():
            setattr(self, key, self.defaults[key] if value is None else value)
        if hidden_units is None and self.code_layer == "conv":
            self.hidden_units = ()  # a spatial code takes none: not the class default
        self.hidden_units = tuple(self.hidden_units)
        self.filters = tuple(self.filters)
        if activation is None and self.network in DEFAULT_ACTIVATION:
            self.activation = DEFAULT_ACTIVATION[self.network]
        if (self.network not in CONV_NETWORKS
                and self.filters != tuple(self.defaults["filters"])):
            defeated_argument(f"filters apply to network='conv' or 'conv1d'; "
                              f"{NETWORK_NAMES.get(self.network, self.network)} got "
                              f"filters={self.filters} (its layers are hidden_units)")
        self.strides = None if self.strides is None else tuple(self.strides)
        check_choice("network", self.network, NETWORKS)
        losses.validate_reconstruction_loss(self.reconstruction_loss)
        for role in ("activation", "latent_activation", "output_activation"):
            value = getattr(self, role)
            if value is not None and not callable(value):
                try:  # a network with no hidden layer never looked its activation up
                    keras.activations.get(_activation(value))
                except (ValueError, TypeError):
                    raise ValueError(f"{role} must be a Keras activation (e.g. 'relu', "
                                     f"'sigmoid', 'linear'), got {value!r}") from None
        link = _activation(self.output_link())
        if (self.reconstruction_loss == "bce" and encoder is None
                and not any(is_activation(link, name) for name in ("sigmoid", "softmax"))):
            # The cross-entropy of outputs outside (0, 1) is clipped: no gradient there.
            defeated_argument(
                "reconstruction_loss='bce' needs reconstructions in (0, 1), so "
                "output_activation='sigmoid' (or 'softmax'); got output_activation="
                f"{self.output_activation!r}")
        for units in self.hidden_units:
            check_positive_int("each of hidden_units", units)
        for f in self.filters:
            check_positive_int("each of filters", f)
        self.seed = seed = check_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.latent_dim = None if latent_dim is None else check_positive_int("latent_dim", latent_dim)
        self.input_shape_ = None if input_shape is None else check_shape("input_shape", input_shape)

        if (encoder is None) != (decoder is None):
            raise ValueError(
                "pass both encoder and decoder, or neither (then input_shape and "
                f"latent_dim build them); got encoder={encoder!r}, decoder={decoder!r}"
            )
        self._custom_networks = encoder is not None
        if self._custom_networks:
            if isinstance(encoder, dict):
                encoder = _deserialize(encoder)
                decoder = _deserialize(decoder)
            for role, layer in (("encoder", encoder), ("decoder", decoder)):
                if not callable(layer):
                    raise ValueError(f"{role} must be a Keras layer or model, got {layer!r}")
            self.encoder, self.decoder = encoder, decoder
            if self.input_shape_ is None and getattr(encoder, "built", False):
                try:
                    self.input_shape_ = tuple(encoder.input_shape[1:])
                except (AttributeError, ValueError):
                    pass
        else:
            if self.input_shape_ is None or self.latent_dim is None:
                raise ValueError(
                    "give input_shape and latent_dim (e.g. input_shape=(784,), "
                    "latent_dim=32), or an encoder and a decoder; got "
                    f"input_shape={input_shape!r}, latent_dim={latent_dim!r}"
                )
            # The layers compute in the model's dtype policy (dtype=..., or the
            # one a saved model was saved with), not the global one of the moment.
            with _dtype_policy(self.dtype_policy):
                self.encoder, self.decoder = self.build_networks()

        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        if self.input_shape_ is not None:
            self.build((None,) + self.input_shape_)

    # ------------------------------------------------------------------ building
    def code_units(self):
        """Width of the encoder's output (a VAE needs mean and log-variance)."""
        return self.latent_dim

    def build_networks(self):
        """Builds `(encoder, decoder)` from the constructor's arguments."""
        filters = self.filters if self.network in CONV_NETWORKS else ()
        common = dict(hidden_units=self.hidden_units, filters=filters,
                      strides=self.strides, code_layer=self.code_layer,
                      activation=self.activation)
        encoder = build_encoder(self.network, self.input_shape_, self.code_units(),
                                code_activation=_activation(self.latent_activation), **common)
        decoder = build_decoder(self.network, self.latent_dim, self.input_shape_,
                                output_activation=self.decoder_output_activation(), **common)
        return encoder, decoder

    def decoder_output_activation(self):
        return _activation(self.output_activation)

    def build(self, input_shape):
        if self.input_shape_ is None:
            self.input_shape_ = tuple(input_shape[1:])
        # A symbolic forward pass builds user-supplied layers that are not built yet.
        code = self._encode(keras.KerasTensor((None,) + tuple(self.input_shape_)))
        self._decode(code)
        if self.latent_dim is None:  # user-supplied networks: the code width they give
            self.latent_dim = int(code.shape[-1])
        self.built = True

    # ------------------------------------------------------------- forward pass
    def encode(self, x, training=False):
        """The code of `x` (deterministic). Numpy in gives numpy out, in batches."""
        if isinstance(x, np.ndarray) or isinstance(x, (list, tuple)):
            return self._run_batched("encode", x, self.input_shape_)
        return self._encode(x, training=training)

    def decode(self, z, training=False):
        """The reconstruction decoded from codes `z`."""
        if isinstance(z, np.ndarray) or isinstance(z, (list, tuple)):
            return self._run_batched("decode", z, (self.latent_dim,))
        return self._decode(z, training=training)

    def reconstruct(self, x):
        """Deterministic reconstruction of `x`, as numpy, computed in batches."""
        return self._run_batched("call", x, self.input_shape_)

    def call(self, x, training=False):
        return self._decode(self._encode(x, training=training), training=training)

    def _encode(self, x, training=False):
        return self.encoder(x, training=training)

    def _decode(self, z, training=False):
        return self.decoder(z, training=training)

    def forward(self, x, training=False):
        """One forward pass returning its intermediates by name.

        Returns a dict with at least `code` and `reconstruction`; variants add
        what their losses need.
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

    def _check_target_range(self, target, name):
        """Refuses (cross-entropy) or warns of (a bounded output) numpy targets
        outside `target_range()`: uint8 pixels fed as they are, not divided by
        255, gave a loss of 5.6e6 (MSE) or NaN (a VAE) and no word why."""
        bounds = self.target_range() if isinstance(target, np.ndarray) else None
        bad = bounds and range_violation(target, bounds[0], bounds[1])
        if not bad:
            return
        low, high, why, strict = bounds
        message = (
            f"{name} holds values in [{bad[0]:g}, {bad[1]:g}], but {why}: scale the targets "
            f"to [{low:g}, {high:g}] (uint8 images: divide by 255), or build the model with "
            f"{self.unbounded_hint} for unbounded data"
        )
        if strict:
            raise ValueError(message)
        warnings.warn(message, UserWarning, stacklevel=3)

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

        Args:
            x: the input batch.
            y: the target; None means "reconstruct x".
            training: whether layers run in training mode.

        Returns:
            A dict with `loss` (what is minimised) and each named term.
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
        """A variant's extra (already weighted) loss terms; none for the base."""
        return {}

    def total_loss(self, terms):
        total = sum(terms.values())
        for penalty in self.losses:  # layer regularizers (kernel_regularizer=...)
            total = total + ops.cast(penalty, "float32")
        return total

    # --------------------------------------------------------------- train/test
    @property
    def metrics(self):
        return list(self._trackers.values())

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not supported by keras_ae models; got a "
                f"sample_weight of shape {sample_weight.shape}"
            )
        self._check_symbolic(x, "x")
        if y is not None:
            self._check_symbolic(y, "y")
        return x, y

    def _check_symbolic(self, x, name):
        if self.input_shape_ is None:
            return
        if x.dtype.is_integer:
            raise ValueError(
                f"{name} has integer dtype {x.dtype.name}; keras_ae models read floats: "
                "divide uint8 images by 255 in the pipeline (keras_ae.datasets.make_dataset "
                "does), or cast to float32 if the integers are the values you mean")
        if not x.dtype.is_floating and not x.dtype.is_bool:
            raise ValueError(f"{name} must be numeric (real), got dtype {x.dtype.name}")
        got = tuple(x.shape[1:])
        if len(got) != len(self.input_shape_) or any(
            g is not None and g != e for g, e in zip(got, self.input_shape_, strict=True)
        ):
            raise ValueError(
                f"{name} batches must have shape (batch, {', '.join(map(str, self.input_shape_))})"
                f" to match input_shape={self.input_shape_}, got {tuple(x.shape)}"
            )

    def _record(self, terms, x):
        # Each term is a mean over the batch: weighting it by the batch's size
        # makes an epoch's figure the mean over samples (what Keras's own loss
        # tracker reports), whatever the size of the last, partial batch. Under
        # a distribution strategy a replica can get no samples of that batch:
        # its NaN mean of nothing must count as nothing.
        batch_size = ops.cast(ops.shape(x)[0], "float32")
        for name, tracker in self._trackers.items():
            value = ops.where(batch_size > 0, terms[name], ops.zeros_like(terms[name]))
            tracker.update_state(value, sample_weight=batch_size)
        logs = {name: tracker.result() for name, tracker in self._trackers.items()}
        if _multi_worker(tf.distribute.get_strategy()):
            # Keras 3.15 reduces logs across workers with reduce(MEAN, axis=0),
            # which fails on scalars: hand it vectors of one element.
            logs = {name: ops.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a distribution strategy Keras 3.15 builds the model on the
        # replicas' first batch averaged elementwise, which fails for a batch
        # that does not split evenly (a batch size of 33 on 2 replicas, or 57
        # samples at 64: "AddN must have the same size and shape",
        # keras-team/keras#19246). A keras_ae model is built before fit (its
        # input_shape, or its first x) and compiles no loss or metrics of
        # Keras's, so the optimizer is all that is left to build: no batch needed.
        done = (keras_compat.creation_strategy(self) is not None
                and not keras_compat.compiles_keras_losses(self)
                and all(layer.built for layer in keras_compat.flatten_layers(self)))
        if not done:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        with self.distribute_strategy.scope():
            keras_compat.symbolic_build(self)

    def _replica_share(self, loss, x):
        """This replica's part of the global batch's mean loss.

        Keras sums the gradients of the replicas, and each replica's loss is
        a mean over its own samples: weighting it by its share of the global
        batch makes the sum the global per-sample mean, so 2 replicas take the
        step 1 device takes, also when the last batch splits unevenly (33 + 32
        samples, or 1 + 0, where an equal weight of 1/2 gave the single sample
        half the step). A replica with no samples (a mean of nothing, NaN)
        contributes nothing."""
        strategy = tf.distribute.get_strategy()
        if strategy.num_replicas_in_sync == 1:
            return loss
        local = ops.cast(ops.shape(x)[0], "float32")
        total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, local)
        return ops.where(local > 0, loss, ops.zeros_like(loss)) * (local / total)

    def train_step(self, data):
        x, y = self._unpack(data)
        with tf.GradientTape() as tape:
            terms = self.compute_losses(x, y, training=True)
            loss = self.optimizer.scale_loss(self._replica_share(terms["loss"], x))
        variables = self.trainable_variables
        if variables:
            gradients = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        else:  # a frozen model (trainable=False): evaluate as fit goes, as Keras does
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        return self._record(terms, x)

    def test_step(self, data):
        x, y = self._unpack(data)
        return self._record(self.compute_losses(x, y, training=False), x)

    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution="auto",
        jit_compile="auto",
        auto_scale_loss=True,
    ):
        """`keras.Model.compile`, except that `steps_per_execution` defaults to
        `"auto"`: `default_steps_per_execution` batches per compiled call for
        the built MLP networks, 1 otherwise (see `default_steps_per_execution`).
        Pass `steps_per_execution=1` for batch-level callbacks on every batch.

        The model trains on its own loss terms, chosen when it is built
        (`reconstruction_loss` and each variant's penalty), and `fit` reports
        each of them: `loss`, `loss_weights` and `metrics` are refused rather
        than silently ignored."""
        given = dict(loss=loss, loss_weights=loss_weights, metrics=metrics,
                     weighted_metrics=weighted_metrics)
        for name, value in given.items():
            if value is not None:
                raise ValueError(
                    f"keras_ae models train on their own loss terms (reconstruction_loss="
                    f"{self.reconstruction_loss!r} and the variant's penalty, set when the model "
                    f"is built) and report each of them; compile() takes no {name}, got "
                    f"{name}={value!r}. Measure other quantities on model.reconstruct(x).")
        auto = steps_per_execution == "auto"
        if auto:
            steps_per_execution = self._resolve_auto_steps_per_execution(run_eagerly)
        else:
            steps_per_execution = check_positive_int("steps_per_execution", steps_per_execution)
        super().compile(
            optimizer=optimizer,
            loss=loss,
            loss_weights=loss_weights,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            auto_scale_loss=auto_scale_loss,
        )
        if auto:
            # Saved with the model, so that a loaded model resolves it again;
            # also what `_steps_per_execution_for` reads.
            keras_compat.compile_config(self)["steps_per_execution"] = "auto"

    def compile_from_config(self, config):
        # Keras skips a custom `compile()` when loading a model; this one only
        # changes a default, so load_model compiles through it.
        config = dict(keras.saving.deserialize_keras_object(config))
        # A model saved before compile() refused these kept them in its file;
        # they never took part in training, so loading drops them and says so.
        dropped = {k: config.pop(k) for k in _NOT_COMPILED if config.get(k) is not None}
        if dropped:
            warnings.warn(f"{type(self).__name__} was saved with compile arguments keras_ae "
                          f"models never use, now dropped: {dropped}", UserWarning, stacklevel=2)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _resolve_auto_steps_per_execution(self, run_eagerly):
        if (run_eagerly or self.network != "mlp" or self._custom_networks
                or keras_compat.creation_strategy(self) or tf.distribute.has_strategy()):
            return 1
        return self.default_steps_per_execution

    @contextlib.contextmanager
    def _steps_per_execution_for(self, *step_counts, batches=None):
        """With the "auto" default, runs a call that names its step counts
        (`steps_per_epoch`, `validation_steps`, `steps`) with a number of steps
        per execution that divides them: Keras runs whole executions, so 8 per
        call would turn `steps_per_epoch=10` into 16 steps. `fit` on an array of
        fewer `batches` than that runs them all in one execution (its progress
        bar showed "8/4" for 4 batches). A call made while `fit` runs (from a
        callback) gets its own setting for its duration, and `fit`'s setting
        and compiled functions are put back after it."""
        config = keras_compat.compile_config(self)
        wanted = self.steps_per_execution
        if config is not None and config.get("steps_per_execution") == "auto":
            wanted = self._resolve_auto_steps_per_execution(self.run_eagerly)
            for steps in step_counts:
                if steps is not None and steps != -1:
                    wanted = math.gcd(wanted, int(steps))
            if batches:
                wanted = min(wanted, batches)
        if wanted == self.steps_per_execution:
            yield
            return
        saved = (self.steps_per_execution, self.train_function, self.test_function,
                 self.predict_function)
        self.steps_per_execution = wanted
        self.train_function = self.test_function = self.predict_function = None
        try:
            yield
        finally:
            if self.__dict__.get("_fitting"):
                (self.steps_per_execution, self.train_function, self.test_function,
                 self.predict_function) = saved

    def _resolve_auto_jit_compile(self):
        """What `jit_compile="auto"` means: Keras's choice (no XLA on a CPU-only
        machine or under a distribution strategy), except that a variant with
        `default_jit_compile` uses XLA on CPU too for its built MLP networks.
        Overriding this hook rather than `compile()` keeps
        `keras.models.load_model` compiling the model from its saved config
        (Keras skips that for a custom `compile()`)."""
        if (self.default_jit_compile and self.network == "mlp" and not self._custom_networks
                and not keras_compat.creation_strategy(self) and not tf.distribute.has_strategy()
                and self._xla_measured_faster()):
            return True
        return super()._resolve_auto_jit_compile()

    def make_train_function(self, force=False):
        if self.jit_compile and not self.__dict__.get("_xla_counted"):
            object.__setattr__(self, "_xla_counted", True)
            _count_xla_model()
        return super().make_train_function(force=force)

    def _xla_measured_faster(self):
        """Hook: False where a variant's built MLP step was not measured
        faster with XLA (the base: always True)."""
        return True

    # -------------------------------------------- numpy entry points, validated
    def fit(self, x=None, y=None, *args, validation_data=None, callbacks=None, **kwargs):
        """`keras.Model.fit`, with its input checked first (see `_check_eager`)
        and a `FiniteGuard` ahead of `callbacks`: a NaN or infinite loss (or
        weights) stops training with a `NonFiniteError` before any callback
        saves that state."""
        _refuse_weights(kwargs, "sample_weight", "class_weight")
        x = self._check_eager(x, "x", required=True)
        y = self._check_eager(y, "y")
        self._check_target_range(x if y is None else y, "x" if y is None else "y")
        if isinstance(validation_data, (tuple, list)):
            validation_data = type(validation_data)(
                self._check_eager(part, f"validation_data[{i}]") if i < 2 else part
                for i, part in enumerate(validation_data))
            i = min(len(validation_data), 2) - 1
            if i >= 0:
                self._check_target_range(validation_data[i], f"validation_data[{i}]")
        else:
            validation_data = self._check_eager(validation_data, "validation_data")
            self._check_target_range(validation_data, "validation_data")
        if isinstance(callbacks, keras.callbacks.Callback):
            callbacks = [callbacks]
        if not isinstance(callbacks, keras.callbacks.CallbackList):
            callbacks = [FiniteGuard()] + list(callbacks or [])
        with self._steps_per_execution_for(kwargs.get("steps_per_epoch"),
                                           kwargs.get("validation_steps"),
                                           batches=_batches(x, args, kwargs)):
            object.__setattr__(self, "_fitting", True)
            try:
                return super().fit(x, y, *args, validation_data=validation_data,
                                   callbacks=callbacks, **kwargs)
            finally:
                object.__setattr__(self, "_fitting", False)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, with its input checked, and a `NonFiniteError`
        for a NaN or infinite loss rather than returning it."""
        # (Keras drops the weights of an x-only call before test_step sees them.)
        _refuse_weights(kwargs, "sample_weight")
        x = self._check_eager(x, "x", required=True)
        y = self._check_eager(y, "y")
        self._check_target_range(x if y is None else y, "x" if y is None else "y")
        if keras_compat.is_fit_validation(kwargs):  # fit's own validation: fit's setting holds
            return super().evaluate(x, y, *args, **kwargs)  # (FiniteGuard checks its logs)
        with self._steps_per_execution_for(kwargs.get("steps")):
            result = super().evaluate(x, y, *args, **kwargs)
        values = (result if isinstance(result, dict)
                  else dict(zip(self.loss_names, np.atleast_1d(result), strict=False)))
        bad = [f"{k}={float(v):g}" for k, v in values.items() if not np.isfinite(v)]
        if bad:
            checked = "" if isinstance(x, np.ndarray) else "the data holding NaN, "
            raise NonFiniteError(
                f"evaluate gave {', '.join(bad)}: the model's weights are not finite (a "
                f"training run that diverged), {checked}or its values overflowed float16 "
                "under mixed precision")
        return result

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`, with its input checked, and a `NonFiniteError`
        rather than NaN or infinite outputs."""
        x = self._check_eager(x, "x", targets=False, required=True)  # (x, labels) datasets
        with self._steps_per_execution_for(kwargs.get("steps")):
            out = super().predict(x, *args, **kwargs)
        if isinstance(out, np.ndarray):
            check_output(out, "predict", input_checked=isinstance(x, np.ndarray))
        return out

    def _check_eager(self, x, name, targets=True, required=False):
        """Checks numpy or dataset input before Keras traces a step with it
        (in a traced step, dimensions Keras has relaxed to None pass any
        check); an `x` builds a model that is not built yet (`_build_from`).

        Array-likes (numpy, lists, numpy scalars) come back as float32 numpy:
        integer arrays refused, values checked finite after the cast (and
        within float16's range for a mixed-float16 model's input)."""
        if x is None:
            if required:
                raise ValueError(f"{name} must be a numpy array or a tf.data.Dataset of "
                                 f"batches, got None")
            return x
        if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
            x = check_model_input(x, self.input_shape_, name)
            if name == "x" and self.compute_dtype == "float16":  # mixed_float16
                cast_finite(x, self.compute_dtype, name)
            specs = (x,)
        elif isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            specs = spec[:1 + targets] if isinstance(spec, tuple) else (spec,)  # (x, y)
            labels = (f"{name} (dataset elements)",
                      f"the targets y of {name}'s (x, y) dataset elements (an autoencoder's "
                      "dataset yields x alone, or (input, target) pairs, never class labels)")
            for part, label in zip(specs, labels, strict=False):
                if isinstance(part, tf.TensorSpec):
                    self._check_symbolic(part, label)
        else:
            return x
        if name == "x":
            self._build_from(getattr(specs[0], "shape", None))
        return x

    def _build_from(self, shape):
        """Builds a model whose user-supplied networks came without an input
        shape from the batch shape of its first input: Keras's own symbolic
        build inside `fit` builds the networks but not the model, which would
        leave `input_shape_` and `latent_dim` unset."""
        if (not self.built and shape is not None and len(shape) > 1
                and None not in tuple(shape[1:])):
            with self.distribute_strategy.scope():  # where Keras would create the variables
                self.build((None,) + tuple(shape[1:]))

    def _run_batched(self, method, x, sample_shape, batch_size=1024):
        if not self.built and method == "decode":
            raise ValueError("decode needs a built model: give input_shape, or call the model "
                             "(fit, encode, reconstruct) on input first")
        name = "x" if method != "decode" else "z"
        x = check_array(x, sample_shape, name)
        if method != "decode":  # (integer codes are codes; integer images are refused)
            refuse_integers(x, name)
        self._build_from(x.shape)
        x = cast_finite(x, self.compute_dtype, name)
        cache = self.__dict__.setdefault("_compiled_fns", {})
        key = (method, x.shape[1:], x.dtype.name)
        if key not in cache:
            named = {"encode": self._encode, "decode": self._decode, "call": self.call}
            fn = named[method] if method in named else getattr(self, method)

            def inference(t, fn=fn):
                return fn(t, training=False)

            # One trace per method and sample shape: the batch dimension is left
            # open, so the last, smaller batch reuses the graph. No AutoGraph: the
            # graph has no Python control flow to convert.
            cache[key] = traced_once(inference, tf.TensorSpec((None,) + x.shape[1:], x.dtype))
        parts = [
            keras.ops.convert_to_numpy(cache[key](x[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ]
        out = check_output(np.concatenate(parts, axis=0), method.strip("_").replace(
            "call", "reconstruct"))
        # A mixed-precision model's codes come out float32, as its reconstructions
        # do (numpy has no bfloat16 of its own: such arrays confuse numpy code).
        return out.astype(np.float32) if is_low_precision_float(out.dtype) else out

    # ------------------------------------------------------------ serialization
    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """`keras.Model.save`, written atomically to a local path.

        A `.keras` or `.h5` file is written beside `filepath` and renamed
        into place when complete, so an interrupted save (Ctrl-C, a full disk,
        a killed job) leaves the previous file intact.
        `keras.callbacks.ModelCheckpoint` saves through this method too. Other
        targets (``zipped=False``, file objects, remote URLs) go to Keras as
        they are.
        """
        if zipped is False or not _stageable(filepath, overwrite, (".keras", ".h5", ".hdf5")):
            return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)
        with atomic_output(filepath) as staged:
            super().save(str(staged), overwrite=True, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """`keras.Model.save_weights`, written atomically like `save` (what
        `keras.callbacks.BackupAndRestore` checkpoints through); sharded
        weights (several files) are written as Keras writes them."""
        if max_shard_size is not None or not _stageable(filepath, overwrite, ".weights.h5"):
            return super().save_weights(filepath, overwrite=overwrite,
                                        max_shard_size=max_shard_size)
        with atomic_output(filepath) as staged:
            super().save_weights(str(staged), overwrite=True)

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
            config["encoder"] = _serialize(self.encoder)
            config["decoder"] = _serialize(self.decoder)
        frozen = self._frozen_layers()
        if frozen:
            config["frozen_layers"] = frozen
        return config

    def _network_layers(self, role):
        """`role`'s network and every layer inside it, in a fixed order (the
        same for a network rebuilt from the same config)."""
        network = getattr(self, role)
        return keras_compat.flatten_layers(network)

    def _frozen_layers(self):
        """Which layers of the networks are frozen (`trainable = False`), by
        position: the built networks are rebuilt from the constructor's
        arguments on load and clone, which would train them all again."""
        frozen = {}
        for role in ("encoder", "decoder"):
            indices = [i for i, layer in enumerate(self._network_layers(role))
                       if not layer.trainable]
            if indices:
                frozen[role] = indices
        return frozen

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "dtype" in config and isinstance(config["dtype"], dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        frozen = config.pop("frozen_layers", {})
        token = _LOADING.set(True)  # see `defeated_argument`
        try:
            model = cls(**config)
        finally:
            _LOADING.reset(token)
        for role, indices in frozen.items():
            layers = model._network_layers(role)
            for i in indices:
                layers[i].trainable = False
        return model

    @classmethod
    def from_preset(cls, name, **kwargs):
        """Loads the pretrained zoo model `name`, checking it is a `cls`."""
        from keras_ae import zoo

        model = zoo.load(name, **kwargs)
        if not isinstance(model, cls):
            raise ValueError(
                f"zoo model {name!r} is a {type(model).__name__}, not a {cls.__name__}; "
                f"load it with keras_ae.zoo.load({name!r}) or {type(model).__name__}.from_preset"
            )
        return model


_NOT_COMPILED = ("loss", "loss_weights", "metrics", "weighted_metrics")
_LOADING = contextvars.ContextVar("keras_ae_loading", default=False)


def _batches(x, args, kwargs):
    """How many batches `fit` makes of `x` per epoch: a numpy array's, or a
    dataset's known cardinality; None when not known here (a repeated or
    filtered dataset, a batch size given by position)."""
    if isinstance(x, tf.data.Dataset):
        batches = int(x.cardinality())
        return batches if batches > 0 else None
    if not isinstance(x, np.ndarray) or args or len(x) == 0:
        return None
    rows = len(x)
    if kwargs.get("validation_split"):
        rows = int(rows * (1.0 - kwargs["validation_split"]))
    return max(1, math.ceil(rows / (kwargs.get("batch_size") or 32)))  # 32: Keras's default


def traced_once(fn, spec):
    """`fn` as a graph function of one tensor of `spec` (batch left open), traced once.

    Each model keeps its own (in `_compiled_fns`), so a loop over models
    traces the same code once per model; TensorFlow counts traces by code,
    not by function, and from the fifth model on would warn of "retracing"
    that is not happening, so that warning is turned off for these."""
    function = tf.function(fn, input_signature=[spec], autograph=False)
    return keras_compat.quiet_retracing(function)


def defeated_argument(message):
    """An argument a variant would silently defeat: a ValueError when a model
    is built, a warning when a model saved before the check is loaded (it
    then behaves as it always did)."""
    if _LOADING.get():
        warnings.warn(f"{message}; loading the saved model as it was", UserWarning,
                      stacklevel=3)
    else:
        raise ValueError(message)


def is_activation(value, name):
    """Whether `value` (a name, a function or None) is Keras's activation `name`."""
    return keras.activations.get(value) is keras.activations.get(name)


def _refuse_weights(kwargs, *names):
    """Per-sample or per-class weights have no meaning for keras_ae's losses
    (each term is a mean over the batch); Keras would drop or misapply them."""
    for name in names:
        if kwargs.get(name) is not None:
            raise ValueError(
                f"{name} is not supported by keras_ae models (each loss term is a mean "
                f"over the batch); got {name}={type(kwargs[name]).__name__}"
            )


@contextlib.contextmanager
def _dtype_policy(policy):
    """Makes `policy` the global dtype policy while layers are created."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _multi_worker(strategy):
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and keras_compat.in_multi_worker_mode(strategy))


def _activation(name):
    """`"linear"` and None both mean no activation."""
    return None if name in (None, "linear") else name
