"""Parity checks: does an exported model still compute what the Keras one does?

This module owns the comparison of an export with its Keras model on real
data: the tolerances (max abs error for float32, the task metric for
quantized files, hash bits near 0 for hashing models), `verify_export`, its
`VerificationReport` and `ExportVerificationError`. It runs exports through
`runners` and is imported by the writers (`saved_model`, `tflite`), never
the other way round.
"""

import dataclasses
import math
import weakref

import numpy as np
import tensorflow as tf

from keras_ae.export import _common
from keras_ae.export.runners import load
from keras_ae.tasks.metrics import psnr_of_mse
from keras_ae.training.inference import traced_once
from keras_ae.utils.validation import check_number

#: Max abs error allowed for float32 exports (relative to the output's scale
#: when that exceeds 1, e.g. unbounded codes). LiteRT's float32 kernels sum in
#: another order than TensorFlow's: the zoo's Conv 32-64 model differs by up
#: to 1.1e-5 on [0, 1] pixels. 1e-4 is 40x below one 8-bit grey level; a
#: wrong export (a layer dropped, weights mixed up) is off by 1e-2 or more.
FLOAT_TOLERANCE = 1e-4
#: Relative loss of the task metric allowed for quantized exports: 0.05 means
#: the reconstruction MSE may grow by at most 5% (PSNR may drop by
#: 10*log10(1.05) = 0.21 dB).
QUANTIZED_TOLERANCE = 0.05
#: The task metrics `verify_export` reports; both judge reconstructions.
METRICS = ("mse", "psnr")
#: A hash bit may flip only where the model's `hash_projection` (the value
#: whose sign is the bit; the code logit before `fit_rotation`) is this close
#: to 0: 4e-3 in logit units is a code within 1e-3 of 0.5.
HASH_MARGIN = 4e-3


class ExportVerificationError(ValueError):
    """An export's outputs differ from the Keras model's past the tolerance.

    The `report` attribute holds the `VerificationReport`.
    """

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


@dataclasses.dataclass
class VerificationReport:
    """What `verify_export` measured, export next to Keras model.

    Attributes:
        format: `"saved_model"` or `"tflite"`.
        parts: the parts compared (`"full"`, `"encoder"`, `"decoder"`).
        quantization: the export's quantization (None for float32).
        num_samples: how many samples were compared.
        max_abs_error: the largest absolute difference over every part.
        errors: that difference per part.
        metric: the task metric's name.
        keras_metric: the metric of the Keras model's reconstructions.
        export_metric: the metric of the export's reconstructions.
        check: `"max_abs"` (float32) or `"metric"` (quantized).
        tolerance: the tolerance of that check.
        passed: whether the check passed.
        hash_mismatches: packed-hash bits that differ (hashing SavedModels).
        code_agreement: the share of integer codes equal to the Keras
            model's (a VQVAE's encoder), or None.
    """

    format: str
    parts: tuple
    quantization: object
    num_samples: int
    max_abs_error: float
    errors: dict
    metric: str
    keras_metric: float
    export_metric: float
    check: str
    tolerance: float
    passed: bool
    hash_mismatches: object = None
    code_agreement: object = None

    def as_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        kind = f"{self.format} ({self.quantization or 'float32'}, {'+'.join(self.parts)})"
        line = (
            f"{kind} on {self.num_samples} samples: max abs error {self.max_abs_error:.3g}; "
            f"{self.metric} keras {self.keras_metric:.6g}, export {self.export_metric:.6g}"
        )
        if self.hash_mismatches is not None:
            line += f"; hash bits differing {self.hash_mismatches}"
        if self.code_agreement is not None:
            line += f"; codes agreeing {self.code_agreement:.2%}"
        verdict = "passed" if self.passed else "FAILED"
        return f"{line} -> {verdict} ({self.check}, tolerance {self.tolerance:g})"


def verify_export(model, exported, data, metric=None, tolerance=None, *, quantized=None):
    """Compares an export with its Keras model on real data; raises on a mismatch.

    Every part the export holds is run on `data` next to the Keras model:
    a full model's reconstructions, an encoder's codes (their task metric
    taken through the Keras decoder), a decoder's reconstructions from the
    Keras model's codes of `data`. A SavedModel has all three parts (and a
    hashing model's `hash` is compared bit by bit). Float32 exports must
    match to `tolerance` max abs error (default 1e-4, scaled by the output's
    magnitude above 1); quantized ones must keep the task metric within
    `tolerance` (default 0.05: MSE at most 1.05x the Keras model's).

    Args:
        model: the Keras model that was exported.
        exported: a path (a SavedModel directory or a `.tflite` file), a
            `SavedModelRunner`, a `TFLiteModel`, or a `tf.saved_model.load` result.
        data: real inputs, shape `(n,) + model.input_shape_`.
        metric: `"mse"` (default; per-value mean squared error against
            `data`) or `"psnr"` (mean per-sample PSNR in dB, peak = the
            data's range).
        tolerance: override of the default tolerance described above.
        quantized: whether to judge as a quantized export (default: read
            from the export).

    Returns:
        A `VerificationReport`.

    Raises:
        ExportVerificationError: past the tolerance (a `ValueError`).
        ValueError: for bad arguments.

    Example:
        >>> export_tflite(model, "/tmp/ae.tflite", quantize="float16")  # doctest: +SKIP
        >>> print(verify_export(model, "/tmp/ae.tflite", x_test[:512]))  # doctest: +SKIP
        tflite (float16, full) on 512 samples: max abs error 0.0011; mse keras 0.0102, ...
    """
    shapes = _common.check_model(model)
    metric = _common.check_choice("metric", "mse" if metric is None else metric, METRICS)
    data = _common.check_samples("data", data, shapes)
    runner = load(exported)
    if quantized is None:
        quantized = runner.quantization is not None
    if tolerance is None:
        tolerance = QUANTIZED_TOLERANCE if quantized else FLOAT_TOLERANCE
    # (an infinite tolerance passed every export unchecked; True read as 1)
    tolerance = check_number("tolerance", tolerance)

    parts = ("full", "encoder", "decoder") if runner.format == "saved_model" else (runner.part,)
    reference_codes = model.encode(data)
    reference = model.reconstruct(data)
    errors, within, exported_rec, agreement = {}, True, None, None
    for part in parts:
        if part == "full":
            ref, got = reference, runner.reconstruct(data)
            exported_rec = got
        elif part == "encoder":
            ref, got = reference_codes, runner.encode(data)
            if np.issubdtype(ref.dtype, np.integer) and ref.shape == got.shape:
                agreement = float(np.mean(got == ref))  # (a VQVAE's code maps)
            if exported_rec is None:
                exported_rec = _keras_decode(model, got)
        else:
            ref, got = _keras_decode(model, reference_codes), runner.decode(reference_codes)
            if exported_rec is None:
                exported_rec = got
        _check_shape(part, ref, got)
        errors[part] = float(np.max(np.abs(got.astype("float64") - ref)))
        scale = max(1.0, float(np.max(np.abs(ref))))
        within = within and errors[part] <= tolerance * scale

    mismatches = None
    if runner.format == "saved_model" and "hash" in runner.signatures:
        mismatches, confident = _hash_mismatches(model, runner, data)
        within = within and (quantized or confident == 0)

    keras_value = _metric(metric, data, reference)
    export_value = _metric(metric, data, exported_rec)
    if quantized:
        passed = _metric_within(metric, keras_value, export_value, tolerance)
        if mismatches is not None:
            passed = passed and within
    else:
        passed = within
    report = VerificationReport(
        format=runner.format,
        parts=parts,
        quantization=runner.quantization,
        num_samples=len(data),
        max_abs_error=max(errors.values()),
        errors=errors,
        metric=metric,
        keras_metric=keras_value,
        export_metric=export_value,
        check="metric" if quantized else "max_abs",
        tolerance=float(tolerance),
        passed=bool(passed),
        hash_mismatches=mismatches,
        code_agreement=agreement,
    )
    if not passed:
        raise ExportVerificationError(f"export verification failed: {report}", report)
    return report


#: The graph decoder of each model verified, by code shape (a weak key: the
#: entry goes with the model).
_DECODERS = weakref.WeakKeyDictionary()


def _keras_decode(model, codes, batch_size=1024):
    """`model.decode` on numpy codes, through tensors: `decode`'s numpy path
    checks codes against `(latent_dim,)`, unknown for custom networks.

    Run as a graph, like the export and `model.reconstruct`: a float16
    (mixed precision) decoder run op by op differs from its graph by a
    float16 rounding (~1e-3, seen on a CPU with native float16 arithmetic),
    ten times the float tolerance. One graph per model and code shape: a new
    tf.function per call retraced every time."""
    graphs = _DECODERS.setdefault(model, {})
    if codes.shape[1:] not in graphs:
        owner = weakref.ref(model)  # (a strong one would keep the model, the key, alive)
        graphs[codes.shape[1:]] = traced_once(
            lambda z: owner().decode(z), tf.TensorSpec((None,) + codes.shape[1:], "float32")
        )
    decode = graphs[codes.shape[1:]]
    parts = [
        np.asarray(decode(tf.constant(codes[i : i + batch_size], "float32")))
        for i in range(0, len(codes), batch_size)
    ]
    return np.concatenate(parts).astype("float32")


def _check_shape(part, ref, got):
    if ref.shape != got.shape:
        raise ExportVerificationError(
            f"the export's {part} output has shape {got.shape}, the Keras model's {ref.shape}",
            None,
        )


def _hash_mismatches(model, runner, data):
    """(differing bits, differing bits whose projection is not near 0)."""
    projection = model.hash_projection(data)
    got = np.unpackbits(runner.hash(data), axis=-1)[:, : projection.shape[-1]]
    want = projection > 0
    differ = got.astype(bool) != want
    confident = differ & (np.abs(projection) > HASH_MARGIN)
    return int(differ.sum()), int(confident.sum())


def _metric(metric, data, reconstruction):
    diff = reconstruction.astype("float64") - data.astype("float64")
    if metric == "mse":
        return float(np.mean(diff**2))
    per_sample = np.mean(diff.reshape(len(diff), -1) ** 2, axis=1)
    peak = float(data.max() - data.min()) or 1.0
    return float(np.mean(psnr_of_mse(np.maximum(per_sample, 1e-12), peak)))


def _metric_within(metric, keras_value, export_value, tolerance):
    if metric == "mse":
        return export_value <= keras_value * (1 + tolerance)
    return export_value >= keras_value - 10 * math.log10(1 + tolerance)
