"""TFLite / LiteRT export, and a numpy wrapper around LiteRT's interpreter."""

import warnings

import numpy as np
import tensorflow as tf

from keras_ae import keras_compat
from keras_ae.export import _common
from keras_ae.export.saved_model import ExportResult
from keras_ae.export.signatures import PART_SIGNATURES, build_archive
from keras_ae.models.finite import check_output
from keras_ae.utils.files import atomic_output
from keras_ae.utils.validation import check_positive_int, other_scale

#: Calibration uses at most this many representative samples.
MAX_CALIBRATION_SAMPLES = 1000


def export_tflite(model, path, part="full", quantize=None, representative_data=None,
                  int8_io=False, verify_data=None, per_channel_dense="auto"):
    """Converts `model` (or one half of it) to a `.tflite` file for LiteRT.

    The file holds one signature named after the part, `reconstruct`
    (`x` -> `reconstruction`), `encode` (`x` -> `code`) or `decode`
    (`z` -> `reconstruction`), with a dynamic batch size. It is converted with
    `tf.lite.TFLiteConverter` from a SavedModel of that signature (written
    beside `path` and removed), then moved into place only when complete
    (and verified). A `mixed_float16` model is converted from a float32 copy
    with the same weights (LiteRT computes in float32 or int8; use
    `quantize="float16"` for half-size weights).

    Quantization:
        - `None`: float32 weights and compute.
        - `"float16"`: float16 weights (half the file), dequantized to float32 on CPU.
        - `"dynamic"`: int8 weights, float activations (dynamic range). For
          convolutional models it runs far slower than float32 on CPU (40-55x
          the time at batch 256 for the zoo's conv models,
          `docs/benchmarks/export.md`): prefer `"int8"` or `"float16"` there.
        - `"int8"`: full-integer weights and activations, calibrated on
          `representative_data`; inputs and outputs stay float32 (a quantize
          op at each end) unless `int8_io=True` makes them int8.

    Args:
        model: a built keras_ae autoencoder.
        path: the `.tflite` file to write. An existing file is replaced only
            if it is a `.tflite` model (or empty); a path ending in a
            separator or naming a directory is refused.
        part: `"full"`, `"encoder"` or `"decoder"`.
        quantize: `None`, `"float16"`, `"dynamic"` or `"int8"`.
        representative_data: real inputs, shape `(n,) + model.input_shape_`,
            required for `"int8"` (a few hundred suffice; at most 1,000 are
            used). For `part="decoder"` give inputs (they are encoded by the
            model) or codes of shape `(n, latent_dim)`.
        int8_io: int8 instead of float32 input and output (`"int8"` only).
        per_channel_dense: `"int8"` scales per output unit of each dense
            layer (True, LiteRT's default), one per layer (False), or
            `"auto"` (default): one per layer when per-unit scales would add
            over 5% to the int8 weights, else per unit. Per-unit scales keep
            a well-trained deep MLP's MSE within 2% of Keras where one scale
            per layer loses 5%, but each unit costs 12 bytes (a float scale
            and an int64 zero point): a conv decoder projecting a 32-unit
            code to 1,568 units makes int8 files 0.36x the float32 one
            instead of about 0.27x. With `verify_data`, an `"auto"` export
            that picked one scale per layer and fails verification is
            converted again per unit. Convolutions are always per channel.
        verify_data: optional real inputs; when given, `verify_export`
            compares the file with the Keras model and the export fails past
            its tolerance (`verify.FLOAT_TOLERANCE`, 1e-4 max abs error, for float32; the
            reconstruction MSE within 5% when quantized).

    Returns:
        An `ExportResult` (path-like) with the verification report.

    Raises:
        ValueError: for an unbuilt model, an unknown part or quantization,
            `"int8"` without representative data, or data of the wrong
            shape, or a target that is not a `.tflite` file, before anything
            is written.
        OSError: when the disk fills up (or a quota or file size limit is
            met) while writing; nothing is left behind.
        ExportVerificationError: when the file does not match the model.

    Example:
        >>> model = Autoencoder(input_shape=(784,), latent_dim=32)
        >>> export_tflite(model, "/tmp/encoder.tflite", part="encoder",
        ...               quantize="int8", representative_data=x_test[:500])  # doctest: +SKIP
        >>> TFLiteModel("/tmp/encoder.tflite").encode(x_test).shape  # doctest: +SKIP
        (10000, 32)
    """
    from keras_ae.export.verify import ExportVerificationError, verify_export

    shapes = _common.check_model(model)
    _common.check_choice("part", part, _common.PARTS)
    _common.check_choice("quantize", quantize, _common.QUANTIZATIONS)
    if per_channel_dense not in (True, False, "auto"):
        raise ValueError(
            f"per_channel_dense must be True, False or 'auto', got {per_channel_dense!r}"
        )
    if int8_io and quantize != "int8":
        raise ValueError(f"int8_io=True needs quantize='int8', got quantize={quantize!r}")
    if quantize == "int8" and representative_data is None:
        raise ValueError(
            "quantize='int8' calibrates on real data: give representative_data, a few "
            f"hundred samples of shape (n, {', '.join(map(str, shapes.input))}); got None"
        )
    if quantize == "dynamic" and any("Conv" in type(layer).__name__
                                     for layer in keras_compat.flatten_layers(model)):
        warnings.warn(
            f"quantize='dynamic' runs convolutions 40-55x slower than float32 on CPU "
            f"(docs/benchmarks/export.md); for this {type(model).__name__}, quantize='int8' "
            "(with representative_data) or 'float16' keeps them fast", UserWarning, stacklevel=2)
    calibration = None
    if representative_data is not None:
        calibration = _common.check_samples("representative_data", representative_data,
                                            shapes, allow_codes=part == "decoder")
        calibration = calibration[:MAX_CALIBRATION_SAMPLES]
        if part == "decoder" and calibration.shape[1:] == shapes.input:
            calibration = model.encode(calibration).astype("float32")
    if verify_data is not None:
        verify_data = _common.check_samples("verify_data", verify_data, shapes)
    path = _common.check_target(path, want_dir=False)
    signature = PART_SIGNATURES[part]
    twin = _common.float32_twin(model)
    archive = build_archive(twin, [signature])
    report = None
    if per_channel_dense == "auto":
        # One scale per dense layer first when per-unit scales would cost
        # over 5% of the int8 weights; per unit again if that loses accuracy.
        choices = [False, True] if _per_unit_overhead(twin) > 0.05 else [True]
    else:
        choices = [per_channel_dense]
    if quantize != "int8":
        choices = choices[-1:]
    with _common.disk_errors(path), atomic_output(path) as staged:
        # Beside the staged file under a name it cannot have (a target named
        # "saved_model" would otherwise be that directory).
        saved_model_dir = staged.parent / (staged.name + ".saved_model")
        archive.write_out(str(saved_model_dir), verbose=False)
        for attempt, per_channel in enumerate(choices, start=1):
            converter = tf.lite.TFLiteConverter.from_saved_model(
                str(saved_model_dir), signature_keys=[signature]
            )
            _configure(converter, quantize, calibration, int8_io, per_channel)
            staged.write_bytes(converter.convert())
            if verify_data is None:
                break
            try:
                exported = TFLiteModel(staged)
                report = verify_export(twin, exported, verify_data,
                                       quantized=quantize is not None)
                if twin is not model:
                    # The float32 twin matches the file exactly; the mixed
                    # model itself (float16 rounding) must keep its metric.
                    verify_export(model, exported, verify_data, quantized=True)
                break
            except ExportVerificationError:
                if attempt == len(choices):
                    raise
        _common.check_target(path, want_dir=False)  # again: a file put there meanwhile is kept
    return ExportResult(path, "tflite", report)


def _per_unit_overhead(model):
    """Bytes of per-unit int8 scales of the dense layers over the weight count."""
    import keras

    layers = keras_compat.flatten_layers(model, include_self=False)
    units = sum(layer.units for layer in layers if isinstance(layer, keras.layers.Dense))
    return 12 * units / max(1, model.count_params())


def _configure(converter, quantize, calibration, int8_io, per_channel_dense=True):
    if quantize is None:
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":

        def representative_dataset():
            for sample in calibration:
                yield [sample[None]]

        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        keras_compat.set_per_channel_dense(converter, per_channel_dense)
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8


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
                f"expected a model with one input and one output, got {len(inputs)} and {len(outputs)}"
            )
        self._input, self._output = inputs[0], outputs[0]
        self.input_shape = tuple(int(d) for d in self._input["shape_signature"][1:])
        self.batch_size = check_positive_int("batch_size", batch_size)
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

    @property
    def quantized(self):
        return self.quantization is not None

    def __call__(self, x):
        """Runs the file's part on a batch of numpy inputs, checked as the
        Keras model checks its own (NaN, integer images, the wrong shape
        refused); a NaN or infinite output raises `NonFiniteError`."""
        codes = self.part == "decoder"
        x = _common.check_batch("z" if codes else "x", x, self.input_shape,
                                f"{self.path.name} ({self.part})", codes=codes,
                                keep_dtype=self.input_dtype)
        bad = (self.input_range and np.issubdtype(x.dtype, np.floating)  # (not int8 codes)
               and other_scale(x, *self.input_range))
        if bad:
            # int8 quantization clips them: all-saturated, finite garbage.
            low, high = self.input_range
            raise ValueError(
                f"{'z' if codes else 'x'} holds values in [{bad[0]:g}, {bad[1]:g}], far outside "
                f"[{low:.3g}, {high:.3g}], the range {self.path.name}'s int8 input was "
                "calibrated on: scale it as the calibration data was (uint8 pixels: divide "
                "by 255)")
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

    def decode(self, z):
        """Reconstructions from codes `z` (a decoder file)."""
        return self._only("decoder", z)


def _quantize(x, detail):
    dtype = np.dtype(detail["dtype"])
    if np.issubdtype(dtype, np.floating):
        return x.astype(dtype, copy=False)
    scale, zero_point = detail["quantization"]
    if x.dtype == dtype:
        return x  # already quantized by the caller, in the file's own type
    info = np.iinfo(dtype)
    q = np.round(x.astype("float32") / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def _dequantize(y, detail):
    if np.issubdtype(y.dtype, np.floating):
        return y.astype("float32", copy=False)
    scale, zero_point = detail["quantization"]
    return ((y.astype("float32") - zero_point) * scale).astype("float32")


def _input_range(interpreter, detail):
    """`(low, high)` that the int8 input can represent: the input's own
    quantization (int8 I/O), or that of the QUANTIZE op reading a float input;
    None for a file without one."""
    scale, zero_point = detail["quantization"]
    dtype = np.dtype(detail["dtype"])
    if not scale:
        tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
        op = next((op for op in keras_compat.ops_details(interpreter)
                   if op["op_name"] == "QUANTIZE" and detail["index"] in op["inputs"]), None)
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
    # Full-integer models quantize activations: their inputs are int8, or a
    # QUANTIZE op turns the float input into int8. Dynamic-range models keep
    # float activations and only store int8 weights.
    if any(np.dtype(d["dtype"]) in (np.dtype("int8"), np.dtype("uint8"))
           for d in interpreter.get_input_details()):
        return "int8"
    ops = keras_compat.op_names(interpreter)
    return "int8" if "QUANTIZE" in ops else "dynamic"
