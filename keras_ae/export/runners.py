"""Reading exports back: numpy runners for SavedModels and `.tflite` files.

This module owns running an export on numpy arrays: `SavedModelRunner` calls
a SavedModel's named signatures, `TFLiteModel` runs a LiteRT file (quantizing
int8 inputs and dequantizing outputs with the file's own scales), and `load`
picks the runner for a path. Both check their inputs as the Keras model checks
its own. It imports none of the writers, so `verify` (which runs exports) and
`saved_model` / `tflite` (which verify what they wrote) depend on it one way.
"""

import contextlib
import os

import numpy as np
import tensorflow as tf

from keras_ae import keras_compat
from keras_ae.export import _common
from keras_ae.export.signatures import PART_SIGNATURES
from keras_ae.training.finite import check_output
from keras_ae.utils.validation import SEED_RANGE, check_positive_int, other_scale


def load(exported):
    """A numpy runner for an export: a `SavedModelRunner` or a `TFLiteModel`.

    Args:
        exported: a SavedModel directory, a `.tflite` file, an object that
            `tf.saved_model.load` returned, or a runner (returned as is).
    """
    if isinstance(exported, (SavedModelRunner, TFLiteModel)):
        return exported
    if hasattr(exported, "signatures"):
        return SavedModelRunner(exported)
    if isinstance(exported, (str, os.PathLike)):
        path = _common.as_path(exported)
        if path.is_dir():
            return SavedModelRunner(path)
        if path.is_file():
            return TFLiteModel(path)
        raise ValueError(f"no exported model at {path}")
    raise ValueError(
        "exported must be a SavedModel directory, a .tflite file or a loaded export, "
        f"got {type(exported).__name__}"
    )


class SavedModelRunner:
    """Runs an exported SavedModel's signatures on numpy arrays, in batches.

    Inputs are checked as the Keras model checks its own: the wrong shape,
    an empty batch, NaN or infinite values (also after the cast to float32)
    and integer images are refused with a `ValueError` (integer codes given
    to `decode` are values); a NaN or infinite output raises `NonFiniteError`.

    Args:
        path: a directory written by `export_saved_model` (or an object
            returned by `tf.saved_model.load`).
        batch_size: samples per call of a signature.
        device: optional TensorFlow device to run on, e.g. `"/GPU:0"`.

    Example:
        >>> runner = SavedModelRunner("/tmp/ae_savedmodel")  # doctest: +SKIP
        >>> codes = runner.encode(x_test)  # doctest: +SKIP
    """

    format = "saved_model"
    quantization = None

    def __init__(self, path, batch_size=1024, device=None):
        self.path = None if hasattr(path, "signatures") else _common.as_path(path)
        self.device = device
        with tf.device(device) if device else contextlib.nullcontext():
            self.loaded = path if self.path is None else _load(self.path)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.signatures = dict(self.loaded.signatures)
        if "reconstruct" in self.signatures:
            spec = self.signatures["reconstruct"].structured_input_signature[1]["x"]
            self.input_shape = tuple(spec.shape[1:])
        else:
            self.input_shape = None
        #: A `ConditionalVAE`'s export: every signature also takes `labels`.
        self.conditional = any(
            "labels" in fn.structured_input_signature[1] for fn in self.signatures.values()
        )
        #: The class ids a conditional export knows (None: condition vectors,
        #: or an export written before it recorded them).
        self.num_classes = (
            int(self.signatures["num_classes"]()["num_classes"])
            if "num_classes" in self.signatures
            else None
        )

    def _labels(self, fn, name, labels, n):
        """`labels` checked for signature `fn` (None where it takes none)."""
        spec = fn.structured_input_signature[1].get("labels")
        if spec is None:
            if labels is not None:
                raise ValueError(
                    f"the {name!r} signature takes no labels (this is not a conditional "
                    "model's export)"
                )
            return None
        return _common.check_labels(
            labels,
            n,
            spec.dtype.as_numpy_dtype,
            tuple(spec.shape[1:]),
            f"the {name!r} signature",
            self.num_classes,
        )

    def _run(self, name, key, x, labels=None):
        if name not in self.signatures:
            raise ValueError(
                f"this SavedModel has no {name!r} signature; it has {sorted(self.signatures)}"
            )
        fn = self.signatures[name]
        arg, spec = next(
            (k, v) for k, v in fn.structured_input_signature[1].items() if k != "labels"
        )
        # Checked here as the Keras model checks its input (a conv graph given
        # the wrong rank even aborts the process in TensorFlow's CPU kernels).
        x = _common.check_batch(arg, x, spec.shape[1:], f"the {name!r} signature", codes=arg == "z")
        if spec.dtype.is_integer:  # a VQVAE's code maps
            x = _common.integer_codes(arg, x, spec.dtype.as_numpy_dtype)
        feeds = {arg: x}
        labels = self._labels(fn, name, labels, len(x))
        if labels is not None:
            feeds["labels"] = labels
        keys = key if isinstance(key, tuple) else (key,)
        batches = []
        with tf.device(self.device) if self.device else contextlib.nullcontext():
            for start in range(0, len(x), self.batch_size):
                batch = {
                    k: tf.constant(v[start : start + self.batch_size]) for k, v in feeds.items()
                }
                out = fn(**batch)
                batches.append([out[k].numpy() for k in keys])
        outs = [
            check_output(np.concatenate(parts, axis=0), f"the SavedModel's {name!r}")
            for parts in zip(*batches, strict=True)
        ]
        return tuple(outs) if isinstance(key, tuple) else outs[0]

    def reconstruct(self, x, labels=None):
        """Reconstructions of `x` (the `reconstruct` signature); a conditional
        model's export also takes `labels`, one per sample."""
        return self._run("reconstruct", "reconstruction", x, labels)

    def encode(self, x, labels=None):
        """Codes of `x` (the `encode` signature; `labels` as in `reconstruct`)."""
        return self._run("encode", "code", x, labels)

    def decode(self, z, labels=None):
        """Reconstructions decoded from codes `z` (the `decode` signature;
        `labels` as in `reconstruct`)."""
        return self._run("decode", "reconstruction", z, labels)

    def hash(self, x):
        """Packed uint8 hash codes (the `hash` signature of hashing models)."""
        return self._run("hash", "hash", x)

    def encode_distribution(self, x):
        """A VAE's `(z_mean, z_log_var)` for `x` (the `encode_distribution` signature)."""
        return self._run("encode_distribution", ("z_mean", "z_log_var"), x)

    def sample(self, n=None, seed=(0, 0), labels=None):
        """`n` samples from a VAE's prior, decoded (the `sample` signature).

        Args:
            n: how many samples, a positive integer (a conditional model's
                export: one per label, so `n` may be left out).
            seed: two integers; the same `(n, seed)` gives the same samples,
                `decode(tf.random.stateless_normal((n, latent_dim), seed))`.
            labels: a conditional model's export only: the label of each sample.
        """
        if "sample" not in self.signatures:
            raise ValueError(
                f"this SavedModel has no 'sample' signature; it has {sorted(self.signatures)}"
            )
        fn = self.signatures["sample"]
        if "labels" in fn.structured_input_signature[1]:
            count = None if labels is None else np.atleast_1d(np.asarray(labels)).shape[0]
            if n is not None and count is not None and check_positive_int("n", n) != count:
                raise ValueError(f"sample: n={n} but {count} labels were given (one per sample)")
            labels = self._labels(fn, "sample", labels, count or n or 0)
            seed = self._seed(seed)
            with tf.device(self.device) if self.device else contextlib.nullcontext():
                out = fn(labels=tf.constant(labels), seed=tf.constant(seed, tf.int64))
            return check_output(out["samples"].numpy(), "the SavedModel's 'sample'")
        if labels is not None:
            raise ValueError("the 'sample' signature takes no labels (not a conditional export)")
        if n is None:
            raise ValueError("sample needs n, how many samples to draw")
        n = check_positive_int("n", n)
        if n > np.iinfo(np.int32).max:
            raise ValueError(f"n must be at most 2**31 - 1 (the signature takes an int32), got {n}")
        pair = self._seed(seed)
        try:
            out = self.signatures["sample"](
                n=tf.constant(n, tf.int32), seed=tf.constant(pair, tf.int64)
            )
        except tf.errors.ResourceExhaustedError:
            raise ValueError(
                f"sample(n={n}) needs more memory than the device has: draw fewer "
                "per call (in a loop, with a new seed each time)"
            ) from None
        return check_output(out["samples"].numpy(), "the SavedModel's 'sample'")

    @staticmethod
    def _seed(seed):
        """`seed` as the int64 pair the `sample` signature takes."""
        pair = np.asarray(seed)
        # (a uint64 2**63 wrapped around to -2**63 in the int64 tensor)
        if (
            pair.shape != (2,)
            or not np.issubdtype(pair.dtype, np.integer)
            or not all(SEED_RANGE[0] <= int(v) <= SEED_RANGE[1] for v in pair)
        ):
            raise ValueError(
                f"seed must be two integers in [-2**63, 2**63 - 1], e.g. (0, 1), got {seed!r}"
            )
        return pair


def _load(path):
    """`tf.saved_model.load(path)`, with errors that name the folder and what
    was expected (TensorFlow raised a bare OSError, IndexError or
    FileNotFoundError naming its own internal file)."""
    if not path.is_dir():
        raise ValueError(
            f"no SavedModel at {path}: expected a directory written by export_saved_model, "
            f"found {'a file' if path.exists() else 'nothing'}"
        )
    if not any((path / name).is_file() for name in ("saved_model.pb", "saved_model.pbtxt")):
        names = sorted(p.name for p in path.iterdir())
        raise ValueError(
            f"{path} is not a SavedModel: expected a directory holding saved_model.pb and "
            "variables/ (as export_saved_model writes), found "
            + (", ".join(names[:5]) + (", ..." if len(names) > 5 else "") if names else "it empty")
        )
    try:
        return tf.saved_model.load(str(path))
    except Exception as err:  # a corrupt file fails in many ways, each naming no folder
        raise ValueError(
            f"the SavedModel at {path} could not be loaded, it is damaged or incomplete: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        ) from err


class TFLiteModel:
    """A `.tflite` autoencoder (or half of one) with numpy in and numpy out.

    Runs the file with `ai_edge_litert.interpreter.Interpreter`. It offers
    the method of the part the file holds: `reconstruct` (full model),
    `encode` (encoder) or `decode` (decoder); calling the object runs it too.
    Any batch size works: inputs are run in chunks of `batch_size`, the
    interpreter's input resized when the chunk size changes. Inputs to an
    int8-I/O model are quantized, and its outputs dequantized, with the
    file's own scales; only an array already of the file's input type (int8)
    is taken as quantized and passed as it is. Other inputs are checked as
    the Keras model checks its own: NaN or infinite values (also after the
    cast to float32) and integer images are refused with a `ValueError`, an
    empty batch too; integer codes given to a decoder are values.

    Args:
        path: a file written by `export_tflite` (or any one-input, one-output
            `.tflite` model, whose part is then given by `part`).
        batch_size: samples per interpreter call.
        num_threads: interpreter threads (None: LiteRT's default).
        part: override the part read from the signature name.

    Example:
        >>> encoder = TFLiteModel("/tmp/encoder.tflite")  # doctest: +SKIP
        >>> encoder.encode(x_test[:5]).shape  # doctest: +SKIP
        (5, 32)
    """

    format = "tflite"

    def __init__(self, path, batch_size=256, num_threads=None, part=None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = _common.as_path(path)
        if not self.path.is_file():
            raise ValueError(f"no .tflite file at {self.path}")
        if num_threads is not None:  # (LiteRT's own errors would read as a bad file below)
            num_threads = check_positive_int("num_threads", num_threads)
        try:
            self.interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        except ValueError as err:  # LiteRT's message names no file
            raise ValueError(f"{self.path} is not a valid .tflite model: {err}") from err
        signatures = self.interpreter.get_signature_list()
        self.batch_size = check_positive_int("batch_size", batch_size)
        #: A `ConditionalVAE`'s decoder, `decode(z, labels)`.
        self.conditional = "labels" in signatures.get("decode", {}).get("inputs", ())
        if self.conditional:
            self._conditional_decoder()
            return
        self.num_classes = None
        names = {v: k for k, v in PART_SIGNATURES.items()}
        if part is None:
            found = [names[key] for key in signatures if key in names]
            if len(found) != 1:
                raise ValueError(
                    f"cannot tell which part {self.path.name} holds from its signatures "
                    f"{sorted(signatures)}; pass part='full', 'encoder' or 'decoder'"
                )
            part = found[0]
        self.part = _common.check_choice("part", part, _common.PARTS)
        inputs = self.interpreter.get_input_details()
        outputs = self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"expected a model with one input and one output, got {len(inputs)} and "
                f"{len(outputs)}"
            )
        self._input, self._output = inputs[0], outputs[0]
        self.input_shape = tuple(int(d) for d in self._input["shape_signature"][1:])
        self._batch = None
        self.output_shape = tuple(int(d) for d in self._output["shape_signature"][1:])
        if any(d < 0 for d in self.output_shape):
            # A conv output's spatial size is left open with the batch's, and
            # set when the graph runs: one run on a zero sample fixes it (and
            # the shape of an empty batch's result).
            self.output_shape = self._invoke(np.zeros((1,) + self.input_shape, "float32")).shape[1:]
        self.input_dtype = np.dtype(self._input["dtype"])
        self.output_dtype = np.dtype(self._output["dtype"])
        self.quantization = _detect_quantization(self.interpreter)
        #: The values the file's int8 input can hold, `(low, high)`, or None (float).
        self.input_range = _input_range(self.interpreter, self._input)

    def _conditional_decoder(self):
        """The file of `export_tflite(conditional_vae, part="decoder")`: float32,
        run through its `decode` signature (LiteRT resizes both inputs)."""
        self.part = "decoder"
        self._runner = self.interpreter.get_signature_runner("decode")
        inputs = self._runner.get_input_details()
        self._labels_detail = inputs["labels"]
        self.input_shape = tuple(int(d) for d in inputs["z"]["shape_signature"][1:])
        output = self._runner.get_output_details()["reconstruction"]
        self.output_shape = tuple(int(d) for d in output["shape_signature"][1:])
        self.input_dtype = self.output_dtype = np.dtype("float32")
        self.quantization = self.input_range = None
        signatures = self.interpreter.get_signature_list()
        self.num_classes = (  # (as SavedModelRunner.num_classes)
            int(self.interpreter.get_signature_runner("num_classes")()["num_classes"])
            if "num_classes" in signatures
            else None
        )

    def _decode_with_labels(self, z, labels):
        where = f"{self.path.name} (a conditional decoder)"
        z = _common.check_batch("z", z, self.input_shape, where, codes=True)
        detail = self._labels_detail
        shape = tuple(int(d) for d in detail["shape_signature"][1:])
        labels = _common.check_labels(
            labels, len(z), detail["dtype"], shape, where, self.num_classes
        )
        outs = [
            self._runner(z=z[i : i + self.batch_size], labels=labels[i : i + self.batch_size])[
                "reconstruction"
            ]
            for i in range(0, len(z), self.batch_size)
        ]
        return check_output(np.concatenate(outs, axis=0), where)

    @property
    def quantized(self):
        return self.quantization is not None

    def __call__(self, x, labels=None):
        """Runs the file's part on a batch of numpy inputs, checked as the
        Keras model checks its own (NaN, integer images, the wrong shape
        refused); a NaN or infinite output raises `NonFiniteError`. A
        conditional decoder's file also takes `labels`, one per code."""
        if self.conditional:
            return self._decode_with_labels(x, labels)
        if labels is not None:
            raise ValueError(
                f"{self.path.name} takes no labels (it is not a conditional model's decoder)"
            )
        codes = self.part == "decoder"
        x = _common.check_batch(
            "z" if codes else "x",
            x,
            self.input_shape,
            f"{self.path.name} ({self.part})",
            codes=codes,
            keep_dtype=self.input_dtype,
        )
        bad = (
            self.input_range
            and np.issubdtype(x.dtype, np.floating)  # (not int8 codes)
            and other_scale(x, *self.input_range)
        )
        if bad:
            # int8 quantization clips them: all-saturated, finite garbage.
            low, high = self.input_range
            raise ValueError(
                f"{'z' if codes else 'x'} holds values in [{bad[0]:g}, {bad[1]:g}], far outside "
                f"[{low:.3g}, {high:.3g}], the range {self.path.name}'s int8 input was "
                "calibrated on: scale it as the calibration data was (uint8 pixels: divide "
                "by 255)"
            )
        outs = [self._invoke(x[i : i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return check_output(np.concatenate(outs, axis=0), f"{self.path.name} ({self.part})")

    def _resize(self, n):
        self.interpreter.resize_tensor_input(self._input["index"], (n,) + self.input_shape)
        self.interpreter.allocate_tensors()
        self._batch = n

    def _invoke(self, batch):
        if len(batch) != self._batch:
            self._resize(len(batch))
        self.interpreter.set_tensor(self._input["index"], _quantize(batch, self._input))
        self.interpreter.invoke()
        return _dequantize(self.interpreter.get_tensor(self._output["index"]), self._output)

    def _only(self, part, x):
        if self.part != part:
            method = {"full": "reconstruct", "encoder": "encode", "decoder": "decode"}[self.part]
            raise ValueError(f"{self.path.name} holds the {self.part} part; use .{method}()")
        return self(x)

    def reconstruct(self, x):
        """Reconstructions of `x` (a full-model file)."""
        return self._only("full", x)

    def encode(self, x):
        """Codes of `x` (an encoder file)."""
        return self._only("encoder", x)

    def decode(self, z, labels=None):
        """Reconstructions from codes `z` (a decoder file; a conditional
        decoder's also takes `labels`, one per code)."""
        if self.part == "decoder":
            return self(z, labels)
        return self._only("decoder", z)


def _quantize(x, detail):
    dtype = np.dtype(detail["dtype"])
    if np.issubdtype(dtype, np.floating):
        return x.astype(dtype, copy=False)
    scale, zero_point = detail["quantization"]
    if x.dtype == dtype:
        return x  # already quantized by the caller, in the file's own type
    if not scale:  # integer values, not quantized ones (a VQVAE's code maps)
        return _common.integer_codes("z", x, dtype)
    info = np.iinfo(dtype)
    q = np.round(x.astype("float32") / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def _dequantize(y, detail):
    if np.issubdtype(y.dtype, np.floating):
        return y.astype("float32", copy=False)
    scale, zero_point = detail["quantization"]
    if not scale:  # integer values, not quantized ones (a VQVAE's code maps)
        return y
    return ((y.astype("float32") - zero_point) * scale).astype("float32")


def _input_range(interpreter, detail):
    """`(low, high)` that the int8 input can represent: the input's own
    quantization (int8 I/O), or that of the QUANTIZE op reading a float input;
    None for a file without one."""
    scale, zero_point = detail["quantization"]
    dtype = np.dtype(detail["dtype"])
    if not scale:
        tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
        op = next(
            (
                op
                for op in keras_compat.ops_details(interpreter)
                if op["op_name"] == "QUANTIZE" and detail["index"] in op["inputs"]
            ),
            None,
        )
        if op is None:
            return None
        quantized = tensors[int(op["outputs"][0])]
        (scale, zero_point), dtype = quantized["quantization"], np.dtype(quantized["dtype"])
    if not scale or not np.issubdtype(dtype, np.integer):
        return None
    info = np.iinfo(dtype)
    return float((info.min - zero_point) * scale), float((info.max - zero_point) * scale)


def _detect_quantization(interpreter):
    """`None`, `"float16"`, `"dynamic"` or `"int8"`, read from the tensor types."""
    dtypes = {np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    if np.dtype("float16") in dtypes:
        return "float16"
    if np.dtype("int8") not in dtypes:
        return None
    # Full-integer models quantize activations: their inputs are int8, or an
    # op computes int8 values (a QUANTIZE of the float input; the GATHER of a
    # VQVAE decoder's int32 codes from its int8 codebook). Dynamic-range
    # models keep float activations and only store int8 weights.
    if any(
        np.dtype(d["dtype"]) in (np.dtype("int8"), np.dtype("uint8"))
        for d in interpreter.get_input_details()
    ):
        return "int8"
    types = {t["index"]: np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    computed = {i for op in keras_compat.ops_details(interpreter) for i in op["outputs"]}
    return "int8" if any(types.get(i) == np.dtype("int8") for i in computed) else "dynamic"
