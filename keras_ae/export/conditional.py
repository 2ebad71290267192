"""Export of a `ConditionalVAE`, whose every entry point also takes the condition.

The SavedModel has the signatures `reconstruct(x, labels)` (also
`serving_default`), `encode(x, labels)`, `decode(z, labels)` and
`sample(labels, seed)`: one image per label, a stateless draw (the same
labels and int64 `[2]` seed give the same images); a model of class ids also
`num_classes()`, which the LiteRT file carries too, so that the runners
refuse ids the model does not know. `labels` are int32
class ids `(batch,)` or float32 vectors `(batch, condition_dim)`; images
and codes are float32; the batch is dynamic. LiteRT gets the conditional
decoder, `decode(z, labels)`, the part that generates on a device.

Both are written beside their target and renamed into place when complete,
and, given `verify_data=(x, labels)`, compared with the Keras model first
(max abs error within `verify.FLOAT_TOLERANCE`, scaled by the output's
magnitude above 1), as the other exports are.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_ae.export import _common
from keras_ae.export._common import ExportResult
from keras_ae.export.runners import TFLiteModel
from keras_ae.export.verify import FLOAT_TOLERANCE, ExportVerificationError, VerificationReport
from keras_ae.utils.files import atomic_output


def _specs(model):
    shapes = _common.check_model(model)
    dtype = tf.int32 if model.num_classes else tf.float32
    return (
        tf.TensorSpec((None,) + shapes.input, tf.float32, name="x"),
        tf.TensorSpec((None, model.latent_dim), tf.float32, name="z"),
        tf.TensorSpec((None,) + model.label_shape(), dtype, name="labels"),
    )


def endpoints(model):
    """`name -> (fn, input_signature)` of a conditional model's signatures."""
    x_spec, z_spec, label_spec = _specs(model)

    def reconstruct(x, labels):
        return {"reconstruction": tf.cast(model((x, labels)), tf.float32)}

    def encode(x, labels):
        return {"code": tf.cast(model.encode(x, labels), tf.float32)}

    def decode(z, labels):
        return {"reconstruction": tf.cast(model.decode(z, labels), tf.float32)}

    def sample(labels, seed):
        # Equals decode(tf.random.stateless_normal((len(labels), latent_dim), seed), labels).
        z = tf.random.stateless_normal([tf.shape(labels)[0], model.latent_dim], seed)
        return {"samples": tf.cast(model.decode(z, labels), tf.float32)}

    seed_spec = tf.TensorSpec((2,), tf.int64, name="seed")
    found = {
        "reconstruct": (reconstruct, [x_spec, label_spec]),
        "encode": (encode, [x_spec, label_spec]),
        "decode": (decode, [z_spec, label_spec]),
        "sample": (sample, [label_spec, seed_spec]),
    }
    if model.num_classes:
        # The runners refuse class ids past it, as the Keras model does (the
        # graph one-hot encodes an id >= num_classes as no class at all).
        def num_classes():
            return {"num_classes": tf.constant(model.num_classes, tf.int32)}

        found["num_classes"] = (num_classes, [])
    return found


def _archive(model, names=None):
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, signature) in endpoints(model).items():
        if names is None or name in names:
            archive.add_endpoint(name, fn, input_signature=signature)
    return archive


def _check_data(model, data):
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(
            f"verify_data of a ConditionalVAE is the pair (x, labels), got {type(data).__name__}"
        )
    x = _common.check_samples("verify_data", data[0], _common.check_model(model))
    return x, model.check_labels(data[1], len(x), "verify_data labels")


#: The `VerificationReport` part of each compared entry point.
_PARTS = {"reconstruct": "full", "encode": "encoder", "decode": "decoder"}


def _verify(model, outputs, x, labels, fmt):
    """The `VerificationReport` of `outputs[name](x, labels)` against the Keras
    model's (max abs error within `FLOAT_TOLERANCE`, scaled by the output's
    magnitude above 1); raises `ExportVerificationError` holding it otherwise.
    Its metric is the reconstruction MSE: of `reconstruct` where that was
    exported, else of the decoder given the Keras encoder's codes."""
    codes = model.encode(x, labels)
    reference = {
        "reconstruct": (model.reconstruct(x, labels), x),
        "encode": (codes, x),
        "decode": (model.decode(codes, labels), codes),
    }
    errors, passed, got = {}, True, {}
    for name, run in outputs.items():
        ref, first = reference[name]
        got[name] = np.asarray(run(first, labels), "float64")
        error = float(np.max(np.abs(got[name] - ref)))
        errors[_PARTS[name]] = error
        passed = passed and error <= FLOAT_TOLERANCE * max(1.0, float(np.max(np.abs(ref))))
    images = "reconstruct" if "reconstruct" in got else "decode"
    report = VerificationReport(
        format=fmt,
        parts=tuple(errors),
        quantization=None,
        num_samples=len(x),
        max_abs_error=max(errors.values()),
        errors=errors,
        metric="mse",
        keras_metric=float(np.mean(np.square(reference[images][0] - x))),
        export_metric=float(np.mean(np.square(got[images] - x))),
        check="max_abs",
        tolerance=FLOAT_TOLERANCE,
        passed=passed,
    )
    if not passed:
        raise ExportVerificationError(f"export verification failed: {report}", report)
    return report


def export_saved_model(model, path, verify_data=None):
    """Writes a `ConditionalVAE` as a SavedModel (signatures in the module doc).

    Args:
        model: a built `ConditionalVAE`.
        path: the directory to write (an existing one only if it holds a
            SavedModel's files alone, or nothing).
        verify_data: optional `(x, labels)` the export is compared on.

    Returns:
        An `ExportResult`; its `report` is a `VerificationReport` when verified.
    """
    if verify_data is not None:
        verify_data = _check_data(model, verify_data)
    path = _common.check_target(path, want_dir=True)
    archive = _archive(model)
    report = None
    with _common.disk_errors(path), atomic_output(path) as staged:
        archive.write_out(str(staged), verbose=False)
        if verify_data is not None:
            loaded = tf.saved_model.load(str(staged))
            outputs = {
                name: _signature(loaded.signatures[name], key)
                for name, key in (("reconstruct", "reconstruction"), ("encode", "code"))
            }
            outputs["decode"] = _signature(loaded.signatures["decode"], "reconstruction", "z")
            report = _verify(model, outputs, *verify_data, "saved_model")
        _common.check_target(path, want_dir=True)
    return ExportResult(path, "saved_model", report)


def _signature(fn, key, first="x"):
    def run(a, labels):
        return fn(**{first: tf.constant(a), "labels": tf.constant(labels)})[key].numpy()

    return run


def export_decoder_tflite(model, path, verify_data=None):
    """Writes a `ConditionalVAE`'s decoder, `decode(z, labels)`, as a float32
    `.tflite` file (signature `decode`, outputs `reconstruction`).

    Args:
        model: a built `ConditionalVAE`.
        path: the `.tflite` file to write.
        verify_data: optional `(x, labels)`: the file decodes the Keras
            model's codes of `x` as the Keras decoder does.

    Returns:
        An `ExportResult`; its `report` is a `VerificationReport` when verified.
    """
    if verify_data is not None:
        verify_data = _check_data(model, verify_data)
    path = _common.check_target(path, want_dir=False)
    keys = ["decode", "num_classes"] if model.num_classes else ["decode"]
    archive = _archive(_common.float32_twin(model), keys)
    report = None
    with _common.disk_errors(path), atomic_output(path) as staged:
        saved_model_dir = staged.parent / (staged.name + ".saved_model")
        archive.write_out(str(saved_model_dir), verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            str(saved_model_dir), signature_keys=keys
        )
        staged.write_bytes(converter.convert())
        if verify_data is not None:
            runner = TFLiteModel(staged).decode
            report = _verify(model, {"decode": runner}, *verify_data, "tflite")
        _common.check_target(path, want_dir=False)
    return ExportResult(path, "tflite", report)
