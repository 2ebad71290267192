"""The conditional VAE (Sohn et al. 2015): a VAE whose encoder and decoder
both see a condition y, a class id or any vector."""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_ae import keras_compat, losses
from keras_ae.models.vae import VAE
from keras_ae.networks import build_decoder, build_encoder
from keras_ae.training.finite import check_output
from keras_ae.training.inputs import check_batch_spec, check_target_range
from keras_ae.utils.validation import check_model_input, check_positive_int, check_seed, numpy_side


@keras.saving.register_keras_serializable(package="keras_ae")
class ConditionalVAE(VAE):
    """A VAE with encoder q(z|x, y) and decoder p(x|z, y).

    `y` is a class id (`num_classes=K`: ids in `[0, K)`, fed one-hot) or any
    conditioning vector (`condition_dim=d`). The encoder reads `x` with `y`
    joined to it (appended to the flattened input of an MLP, or as `d`
    constant channels of a conv network's image); the decoder reads `z` with
    `y` appended. The loss is the VAE's negative ELBO of `x` given `y`.

    Training data are `(x, y)` pairs, and for this model the second element
    is always the condition, never a target: `fit(x, labels)` or a dataset
    of `(x, labels)` batches. Labels that do not fit (wrong length, dtype,
    shape or a class id out of range) are refused with an error saying so.

    Args:
        num_classes: the number of classes, for integer class ids.
        condition_dim: the width of a float conditioning vector (instead).
        **kwargs: the `VAE` arguments (`network` is `"mlp"` or `"conv"`).

    Example:
        >>> cvae = ConditionalVAE(input_shape=(784,), latent_dim=16, num_classes=10)
        >>> cvae.compile(optimizer="adam")
        >>> cvae.fit(x_train, y_train, epochs=10)  # doctest: +SKIP
        >>> sevens = cvae.sample(labels=[7] * 8, seed=0)  # doctest: +SKIP

    References:
        Sohn, Lee & Yan, "Learning Structured Output Representation using Deep
        Conditional Generative Models", NeurIPS 2015; Kingma et al.,
        "Semi-Supervised Learning with Deep Generative Models", NeurIPS 2014 (M2).
    """

    def __init__(
        self, input_shape=None, latent_dim=None, *, num_classes=None, condition_dim=None, **kwargs
    ):
        if (num_classes is None) == (condition_dim is None):
            raise ValueError(
                "a ConditionalVAE needs exactly one of num_classes= (integer class ids) or "
                f"condition_dim= (float vectors); got num_classes={num_classes!r}, "
                f"condition_dim={condition_dim!r}"
            )
        self.num_classes = (
            None if num_classes is None else check_positive_int("num_classes", num_classes)
        )
        self.condition_dim = (
            None if condition_dim is None else check_positive_int("condition_dim", condition_dim)
        )
        if kwargs.get("encoder") is not None or kwargs.get("decoder") is not None:
            raise ValueError(
                "a ConditionalVAE builds its own networks, which read the condition: "
                "pass network='mlp' or 'conv' and their arguments, not encoder=/decoder="
            )
        if kwargs.get("network", "mlp") not in ("mlp", "conv"):
            raise ValueError(
                f"a ConditionalVAE's network must be 'mlp' or 'conv', got {kwargs['network']!r}"
            )
        super().__init__(input_shape, latent_dim, **kwargs)

    @property
    def condition_units(self):
        """Width of the condition the networks read: K (one-hot) or `condition_dim`."""
        return self.num_classes or self.condition_dim

    def label_shape(self):
        """The shape of one sample's label: `()` for class ids, else `(condition_dim,)`."""
        return () if self.num_classes else (self.condition_dim,)

    def label_dtype(self):
        return "int32" if self.num_classes else "float32"

    def _export_input_signature(self):
        x = keras.InputSpec(shape=(None, *self.input_shape_), dtype="float32")
        labels = keras.InputSpec(shape=(None, *self.label_shape()), dtype=self.label_dtype())
        return [(x, labels)]

    # ------------------------------------------------------------------ building
    def _image_shape(self):
        shape = tuple(self.input_shape_)
        return shape + (1,) if len(shape) == 2 else shape

    def build_networks(self):
        c = self.condition_units
        if self.network == "conv":
            image = self._image_shape()
            encoder_input = image[:-1] + (image[-1] + c,)
        else:
            encoder_input = (math.prod(self.input_shape_) + c,)
        common = dict(
            hidden_units=self.hidden_units,
            filters=self.filters if self.network == "conv" else (),
            strides=self.strides,
            code_layer=self.code_layer,
            activation=self.activation,
        )
        encoder = build_encoder(self.network, encoder_input, 2 * self.latent_dim, **common)
        decoder = build_decoder(
            self.network,
            self.latent_dim + c,
            self.input_shape_,
            output_activation=self.decoder_output_activation(),
            **common,
        )
        return encoder, decoder

    def build(self, input_shape=None):
        x = keras.KerasTensor((None,) + tuple(self.input_shape_))
        labels = keras.KerasTensor((None,) + self.label_shape(), dtype=self.label_dtype())
        self._decode(self._encode(x, labels), labels)
        self.built = True

    @property
    def _default_save_signature(self):
        # Keras would trace a SavedModel `serving_default` calling the model on
        # one tensor of its build shape; this model's input is a pair, and its
        # export declares its own signatures (keras_ae.export.conditional).
        return None

    # ------------------------------------------------------------- forward pass
    def condition(self, labels, dtype):
        """The labels as the vectors the networks read (one-hot for class ids)."""
        if self.num_classes:
            return ops.one_hot(ops.cast(labels, "int32"), self.num_classes, dtype=dtype)
        return ops.cast(labels, dtype)

    def _join(self, x, labels):
        y = self.condition(labels, x.dtype)
        if self.network == "conv":
            image = self._image_shape()
            x = ops.reshape(x, (-1,) + image)
            y = ops.tile(y[:, None, None, :], (1, image[0], image[1], 1))
        else:
            x = ops.reshape(x, (-1, math.prod(self.input_shape_)))
        return ops.concatenate([x, y], axis=-1)

    def compile(self, *args, metrics=None, **kwargs):
        """`Trainer.compile`, without `metrics=`: a Keras metric compares the
        output of `model(x)` with a target, and this model needs `(x, labels)`."""
        if metrics:
            raise ValueError(
                "compile(metrics=...) is not supported by a ConditionalVAE (a Keras metric "
                "calls model(x) without the labels); its fit reports reconstruction_loss "
                f"and kl_loss, and reconstruct(x, labels) gives outputs to score; got {metrics!r}"
            )
        super().compile(*args, **kwargs)

    def encode_distribution(self, x, labels, training=False):
        """`(z_mean, z_log_var)` of q(z|x, y): numpy arrays for numpy `x` (labels
        checked), tensors for tensors (what the train step uses)."""
        if numpy_side(x):
            x = check_model_input(x, self.input_shape_, "x")
            mean = self._run("_encode", (x, self.check_labels(labels, len(x))))
            log_var = self._run("_encode_log_var", (x, self.check_labels(labels, len(x))))
            return mean, log_var
        return self._encode_stats(x, labels, training=training)

    def _encode_stats(self, x, labels, training=False):
        stats = self.encoder(self._join(x, labels), training=training)
        mean, log_var = ops.split(stats, 2, axis=-1)
        return ops.cast(mean, "float32"), ops.cast(log_var, "float32")

    def _encode(self, x, labels, training=False):
        return self._encode_stats(x, labels, training=training)[0]

    def _encode_log_var(self, x, labels, training=False):
        return self._encode_stats(x, labels, training=training)[1]

    def _decoder_output(self, z, labels, training=False):
        z = ops.cast(z, "float32")
        return self.decoder(
            ops.concatenate([z, self.condition(labels, z.dtype)], axis=-1), training=training
        )

    def _decode(self, z, labels, training=False):
        out = self._decoder_output(z, labels, training=training)
        return ops.sigmoid(out) if self.likelihood == "bernoulli" else out

    def call(self, inputs, training=False):
        """The mean reconstruction of `inputs`, `(x, labels)` or `{"x", "labels"}`."""
        x, labels = _split(inputs)
        return self._decode(self._encode(x, labels, training=training), labels, training=training)

    def compute_losses(self, x, y=None, training=False):
        """The negative ELBO of `x` given its condition `y` (required)."""
        if y is None:
            raise ValueError(
                "a ConditionalVAE's loss needs the labels: pass (x, labels) pairs, got x alone"
            )
        mean, log_var = self._encode_stats(x, y, training=training)
        raw = self._decoder_output(self.reparameterize(mean, log_var), y, training=training)
        reconstruction = ops.mean(self.negative_log_likelihood(x, raw))
        kl = ops.mean(losses.gaussian_kl(mean, log_var))
        weight = self.kl_weight() if training else self.beta
        loss = self.total_loss({"reconstruction_loss": reconstruction, "kl_loss": weight * kl})
        return {"loss": loss, "reconstruction_loss": reconstruction, "kl_loss": kl}

    # ----------------------------------------------------------------- checking
    def check_labels(self, labels, n=None, name="labels"):
        """`labels` as checked numpy: int32 ids in `[0, num_classes)` or finite
        float32 vectors of `condition_dim`, one per sample (`n` of them)."""
        what = (
            f"class ids in [0, {self.num_classes})"
            if self.num_classes
            else f"float vectors of condition_dim={self.condition_dim}"
        )
        if labels is None:
            raise ValueError(f"a ConditionalVAE needs {name}: one per sample, {what}; got None")
        arr = np.asarray(labels)
        if arr.ndim == 0 or len(arr) == 0:
            raise ValueError(
                f"{name} must be an array of {what}, one per sample, got {arr.tolist()!r}"
            )
        expected = (len(arr) if n is None else n,) + self.label_shape()
        if arr.shape != expected:
            raise ValueError(
                f"{name} must have shape {_shape_text(expected)}, one per sample ({what}), "
                f"got shape {arr.shape}"
            )
        if self.num_classes:
            if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
                raise ValueError(f"{name} must be {what}, got dtype {arr.dtype}")
            bad = (arr < 0) | (arr >= self.num_classes)
            if bad.any():
                raise ValueError(
                    f"{name} must be {what}; got {int(bad.sum())} outside it, "
                    f"e.g. {int(arr[bad][0])}"
                )
            return arr.astype("int32")
        return check_model_input(arr, self.label_shape(), name)

    def check_label_spec(self, spec, name):
        """Refuses a tensor (or spec) of labels of the wrong dtype or shape."""
        kind = "integer" if self.num_classes else "floating"
        ok_dtype = spec.dtype.is_integer if self.num_classes else spec.dtype.is_floating
        shape = tuple(spec.shape)
        ok_shape = len(shape) == 1 + len(self.label_shape()) and all(
            s is None or s == e for s, e in zip(shape[1:], self.label_shape(), strict=True)
        )
        if not (ok_dtype and ok_shape):
            raise ValueError(
                f"{name} is a ConditionalVAE's condition (the second element of (x, y) is "
                f"never a target): expected {kind} labels of shape "
                f"{_shape_text((None,) + self.label_shape())}, got {spec.dtype.name} of shape "
                f"{shape}"
            )

    def _pack(self, x, labels, name):
        """`fit`/`evaluate` data as the `{"x", "labels"}` input the model reads,
        checked: numpy `x` with numpy `labels`, or a dataset of `(x, labels)`."""
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            if not (isinstance(spec, tuple) and len(spec) == 2):
                raise ValueError(
                    f"{name} must be a dataset of (x, labels) batches for a ConditionalVAE, "
                    f"got elements {spec}"
                )
            check_batch_spec(self, spec[0], f"the x of {name}'s (x, labels) elements")
            self.check_label_spec(spec[1], f"the labels of {name}'s (x, labels) elements")
            return x.map(self._checked_batch, num_parallel_calls=tf.data.AUTOTUNE)
        if labels is None:
            raise ValueError(
                f"a ConditionalVAE trains on (x, labels): pass the labels with {name} "
                "(fit(x, labels), validation_data=(x_val, labels_val)), got none"
            )
        x = check_model_input(x, self.input_shape_, name)
        check_target_range(self, x, name)
        return {"x": x, "labels": self.check_labels(labels, len(x), "labels")}

    def _checked_batch(self, x, labels):
        if self.num_classes:  # ids out of range would one-hot to zeros: refuse them
            labels = tf.cast(labels, "int32")
            tf.debugging.assert_non_negative(labels, message="labels must be >= 0")
            tf.debugging.assert_less(
                labels, self.num_classes, message=f"labels must be < num_classes={self.num_classes}"
            )
        return {"x": x, "labels": labels}

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by keras_ae models")
        if isinstance(x, dict):
            x, y = x["x"], x["labels"]
        check_batch_spec(self, x, "x")
        if y is None:
            raise ValueError("a ConditionalVAE trains on (x, labels) batches, got x alone")
        self.check_label_spec(y, "y")
        return x, y

    # ------------------------------------------------ entry points, input checked
    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """`keras.Model.fit` on `(x, labels)`: `fit(x, labels)` or a dataset of pairs."""
        x = self._pack(x, y, "x")
        if isinstance(validation_data, (tuple, list)):
            validation_data = (
                self._pack(*validation_data[:2], "validation_data")
                if len(validation_data) >= 2
                else self._pack(validation_data[0], None, "validation_data")
            )
        elif validation_data is not None:
            validation_data = self._pack(validation_data, None, "validation_data")
        return super().fit(x, None, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate` on `(x, labels)`, as `fit` takes them."""
        if isinstance(x, dict):  # fit's validation data, packed already
            return super().evaluate(x, None, *args, **kwargs)
        return super().evaluate(self._pack(x, y, "x"), None, *args, **kwargs)

    def predict(self, x, labels=None, **kwargs):
        """Mean reconstructions of `x` given `labels`: `predict(x, labels)`,
        `predict((x, labels))` or a dataset of `(x, labels)` batches."""
        if isinstance(x, (tuple, list)) and labels is None and len(x) == 2:
            x, labels = x
        return super().predict(self._pack(x, labels, "x"), **kwargs)

    # -------------------------------------------------------------- numpy API
    def _run(self, method, arrays, batch_size=1024):
        """`method(*arrays)` in batches through one cached graph, as numpy."""
        cache = self.__dict__.setdefault("_compiled_fns", {})
        key = ("conditional", method) + tuple(a.shape[1:] for a in arrays)
        if key not in cache:
            fn = getattr(self, method)
            specs = [tf.TensorSpec((None,) + a.shape[1:], a.dtype) for a in arrays]
            cache[key] = keras_compat.quiet_retracing(
                tf.function(
                    lambda *t: fn(*t, training=False), input_signature=specs, autograph=False
                )
            )
        n = len(arrays[0])
        parts = [
            keras.ops.convert_to_numpy(cache[key](*(a[i : i + batch_size] for a in arrays)))
            for i in range(0, n, batch_size)
        ]
        return check_output(np.concatenate(parts).astype("float32"), method.strip("_"))

    def encode(self, x, labels, training=False):
        """The mean code of `x` given `labels` (numpy in, numpy out)."""
        if not numpy_side(x):
            return self._encode(x, labels, training=training)
        x = check_model_input(x, self.input_shape_, "x")
        return self._run("_encode", (x, self.check_labels(labels, len(x))))

    def decode(self, z, labels, training=False):
        """The images decoded from codes `z` given `labels`."""
        if not isinstance(z, (np.ndarray, list, tuple)):
            return self._decode(z, labels, training=training)
        z = check_model_input(z, (self.latent_dim,), "z")
        return self._run("_decode", (z, self.check_labels(labels, len(z))))

    def reconstruct(self, x, labels):
        """The mean reconstruction of `x` given `labels`, as numpy."""
        x = check_model_input(x, self.input_shape_, "x")
        return self._run("_reconstruct", (x, self.check_labels(labels, len(x))))

    def _reconstruct(self, x, labels, training=False):
        return self.call((x, labels), training=training)

    def sample(self, labels=None, seed=None, batch_size=1024):
        """One image drawn from p(x|z, y) for each label, with z from the prior.

        Args:
            labels: one class id (or condition vector) per image to draw.
            seed: None (fresh draws each call), an int (the same draws for the
                same int) or a `keras.random.SeedGenerator`.
            batch_size: draws decoded together.
        """
        if labels is None:
            raise ValueError(
                "a ConditionalVAE samples given labels: pass labels= with one class id "
                "(or condition vector) per image to draw, e.g. sample(labels=[3] * 8)"
            )
        labels = self.check_labels(labels)
        batch_size = check_positive_int("batch_size", batch_size)
        seed = check_seed("seed", seed, generator=True)
        if seed is None or isinstance(seed, keras.random.SeedGenerator):
            generator = self.seed_generator if seed is None else seed
        else:
            generator = keras.random.SeedGenerator(seed)
        z = keras.ops.convert_to_numpy(
            keras.random.normal((len(labels), self.latent_dim), seed=generator)
        )
        return self._run("_decode", (z, labels), batch_size)

    def log_likelihood(self, x, labels, num_samples=5000, batch_size=100, chunk=500, seed=None):
        """Importance-sampled log p(x | y) per sample, in nats (see `VAE.log_likelihood`).

        Args:
            x: a batch of float inputs.
            labels: their conditions, one per sample.
            num_samples: K, the importance samples per input.
            batch_size: inputs handled together.
            chunk: importance samples drawn together.
            seed: an int for a repeatable estimate (see `VAE.log_likelihood`).
        """
        x = check_model_input(x, self.input_shape_, "x")
        check_target_range(self, x, "x")
        labels = self.check_labels(labels, len(x))
        return self.importance_sampled((x, labels), num_samples, batch_size, chunk, seed)

    def _log_weights(self, x, labels, k):
        mean, log_var = self._encode_stats(x, labels)
        batch = tf.shape(mean)[0]
        eps = keras.random.normal((k, batch, self.latent_dim), seed=self.seed_generator)
        z = mean[None] + tf.exp(0.5 * log_var)[None] * eps

        def repeat(t):  # k copies of each row, flattened to (k * batch, ...)
            return tf.reshape(tf.repeat(t[None], k, axis=0), tf.concat([[-1], tf.shape(t)[1:]], 0))

        raw = self._decoder_output(tf.reshape(z, [-1, self.latent_dim]), repeat(labels))
        log_px_z = -tf.reshape(self.negative_log_likelihood(repeat(x), raw), [k, batch])
        log_pz = losses.gaussian_log_prob(z, 0.0, tf.zeros_like(z))
        log_qz = losses.gaussian_log_prob(z, mean[None], log_var[None])
        return log_px_z + log_pz - log_qz

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, condition_dim=self.condition_dim)
        return config


def _split(inputs):
    if isinstance(inputs, dict):
        return inputs["x"], inputs["labels"]
    if isinstance(inputs, (tuple, list)) and len(inputs) == 2:
        return inputs
    raise ValueError(
        "a ConditionalVAE's input is the pair (x, labels) (or {'x': ..., 'labels': ...}), "
        f"got {type(inputs).__name__}"
    )


def _shape_text(shape):
    text = ", ".join("batch" if s is None else str(s) for s in shape)
    return f"({text},)" if len(shape) == 1 else f"({text})"
