"""TFLite / LiteRT export: one part of a model as a `.tflite` file.

This module owns converting a model (or its encoder or decoder) to LiteRT:
float32, float16, dynamic-range or full-integer int8 with calibration and the
choice of per-unit or per-layer dense scales, staged beside the target,
verified with `verify` when given data, and renamed into place. Running a
`.tflite` file back on numpy arrays is `runners.TFLiteModel`'s.
"""

import warnings

import tensorflow as tf

from keras_ae import keras_compat
from keras_ae.export import _common, conditional, verify
from keras_ae.export._common import ExportResult
from keras_ae.export.runners import TFLiteModel
from keras_ae.export.signatures import PART_SIGNATURES, build_archive
from keras_ae.utils.files import atomic_output

#: Calibration uses at most this many representative samples.
MAX_CALIBRATION_SAMPLES = 1000


def export_tflite(
    model,
    path,
    part="full",
    quantize=None,
    representative_data=None,
    int8_io=False,
    verify_data=None,
    per_channel_dense="auto",
):
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
          op at each end) unless `int8_io=True` makes them int8. The op types
          a class lists in `INT8_FLOAT_OPS` stay float32 in an encoder or
          full file, fed through a DEQUANTIZE: a `VQVAE`'s nearest-code search
          (8-bit distances flipped codes near ties: +5-13% test MSE).

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
    if hasattr(model, "condition_units"):  # a ConditionalVAE: its decoder takes labels
        if part != "decoder" or quantize is not None or representative_data is not None:
            raise ValueError(
                "a ConditionalVAE exports its conditional decoder to LiteRT, float32: pass "
                f"part='decoder' and no quantize; got part={part!r}, quantize={quantize!r}"
            )
        return conditional.export_decoder_tflite(model, path, verify_data)
    shapes = _common.check_model(model)
    _common.check_choice("part", part, _common.PARTS)
    _common.check_choice("quantize", quantize, _common.QUANTIZATIONS)
    # Ops a class keeps in float32 inside an int8 file (a VQVAE's nearest-code
    # search): they live on the encoding side, so the decoder converts as usual.
    float_ops = ()
    if quantize == "int8" and part != "decoder":
        float_ops = tuple(getattr(model, "INT8_FLOAT_OPS", ()))
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
    if quantize == "dynamic" and any(
        "Conv" in type(layer).__name__ for layer in keras_compat.flatten_layers(model)
    ):
        warnings.warn(
            f"quantize='dynamic' runs convolutions 40-55x slower than float32 on CPU "
            f"(docs/benchmarks/export.md); for this {type(model).__name__}, quantize='int8' "
            "(with representative_data) or 'float16' keeps them fast",
            UserWarning,
            stacklevel=2,
        )
    calibration = None
    if representative_data is not None:
        calibration = _common.check_samples(
            "representative_data", representative_data, shapes, allow_codes=part == "decoder"
        )
        calibration = calibration[:MAX_CALIBRATION_SAMPLES]
        if part == "decoder" and calibration.shape[1:] == shapes.input:
            calibration = model.encode(calibration).astype("float32")
        if part == "decoder":  # int32 for a VQVAE's code maps
            calibration = calibration.astype(shapes.code_dtype)
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
    if quantize != "int8" or float_ops:
        choices = choices[-1:]  # (selective quantization scales dense layers per unit)
    with _common.disk_errors(path), atomic_output(path) as staged:
        # Beside the staged file under a name it cannot have (a target named
        # "saved_model" would otherwise be that directory).
        saved_model_dir = staged.parent / (staged.name + ".saved_model")
        archive.write_out(str(saved_model_dir), verbose=False)
        for attempt, per_channel in enumerate(choices, start=1):
            converter = tf.lite.TFLiteConverter.from_saved_model(
                str(saved_model_dir), signature_keys=[signature]
            )
            _configure(converter, quantize, calibration, int8_io, per_channel, float_ops)
            try:
                if float_ops:
                    staged.write_bytes(_convert_keeping_float(converter, float_ops, int8_io))
                else:
                    staged.write_bytes(converter.convert())
            except Exception as err:
                # The converter's refusal is a ConverterError, a class TensorFlow keeps
                # private (tensorflow.lite.python.convert_phase): told apart by name.
                if type(err).__name__ != "ConverterError":
                    raise
                raise ValueError(
                    f"LiteRT cannot convert part={part!r} of this model "
                    f"({type(err).__name__}: {str(err).strip().splitlines()[0][:200]}); "
                    "recurrent layers (network='lstm') are one known case: export a "
                    "SavedModel instead (export_saved_model, keras-ae export --format "
                    "saved_model)"
                ) from err
            if verify_data is None:
                break
            try:
                exported = TFLiteModel(staged)
                report = verify.verify_export(
                    twin, exported, verify_data, quantized=quantize is not None
                )
                if twin is not model:
                    # The float32 twin matches the file exactly; the mixed
                    # model itself (float16 rounding) must keep its metric.
                    verify.verify_export(model, exported, verify_data, quantized=True)
                break
            except verify.ExportVerificationError:
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


def _convert_keeping_float(converter, float_ops, int8_io):
    """An int8 file in which the ops of the types `float_ops` compute in float32.

    TensorFlow's selective quantization (`tf.lite.experimental`'s
    `QuantizationDebugger` with `denylisted_ops`): the model is calibrated,
    then quantized except for those ops, which read their int8 inputs
    through a DEQUANTIZE. The file is checked to hold them in float32."""
    from ai_edge_litert.interpreter import Interpreter

    def samples():
        yield from converter.representative_dataset()

    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_ops=list(float_ops), fully_quantize=bool(int8_io)
    )
    with warnings.catch_warnings():
        # (the debugger opens its instrumented model with the deprecated tf.lite.Interpreter)
        warnings.simplefilter("ignore", UserWarning)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=samples, debug_options=options
        )
        content = debugger.get_nondebug_quantized_model()
    interpreter = Interpreter(model_content=content)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    for op in keras_compat.ops_details(interpreter):
        if op["op_name"] in float_ops:
            dtypes = {tensors[i]["dtype"].__name__ for i in op["inputs"] if i >= 0}
            if dtypes & {"int8", "uint8", "int16"}:  # (an axis or shape is int32)
                raise RuntimeError(
                    f"the int8 conversion left {op['op_name']} on {sorted(dtypes)} inputs; "
                    f"it was asked to keep {', '.join(float_ops)} in float32"
                )
    return content


def _configure(converter, quantize, calibration, int8_io, per_channel_dense=True, float_ops=()):
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
        if float_ops:  # float32 kernels for the ops kept out of int8
            converter.target_spec.supported_ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
        keras_compat.set_per_channel_dense(converter, per_channel_dense)
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
