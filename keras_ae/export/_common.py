"""What every export format shares: argument checks, target handling, the result.

This module owns the checks run before anything is written (the model, the
part and quantization, sample arrays, the target path and what it may
replace), turning a full disk into an OSError that names the target, the
float32 twin of a mixed-precision model, and `ExportResult`, what an export
returns. It imports no other export module.
"""

import contextlib
import dataclasses
import errno
import os
import re
from pathlib import Path

import keras
import numpy as np

from keras_ae import keras_compat
from keras_ae.utils.validation import cast_finite, check_array, refuse_integers

#: What `export_tflite(part=...)` accepts: the whole model, or one half.
PARTS = ("full", "encoder", "decoder")
#: What `export_tflite(quantize=...)` accepts.
QUANTIZATIONS = (None, "float16", "dynamic", "int8")


@dataclasses.dataclass(frozen=True)
class ModelShapes:
    """Shapes of one sample at the model's input and at its code, and the
    code's dtype (int32 for a VQVAE's code maps)."""

    input: tuple
    code: tuple
    code_dtype: str = "float32"


@dataclasses.dataclass
class ExportResult:
    """What an export wrote, and its verification report (None when unverified).

    Usable as a path: `os.fspath(result)` is the written file or directory.
    """

    path: Path
    format: str
    report: object = None

    def __fspath__(self):
        return str(self.path)

    __str__ = __fspath__


def check_model(model):
    """Checks that `model` is a built keras_ae autoencoder; returns its shapes.

    Raises:
        ValueError: for anything else, or a model whose input shape is unknown.
    """
    from keras_ae.models import Autoencoder

    if not isinstance(model, Autoencoder):
        raise ValueError(  # noqa: TRY004 (the API promises ValueError)
            "expected a keras_ae Autoencoder (any variant), got "
            f"{type(model).__module__}.{type(model).__name__}"
        )
    if not model.built or model.input_shape_ is None:
        raise ValueError(
            f"the {type(model).__name__} was never built, so its input shape is unknown: "
            "give it input_shape=..., or call it once on a batch, before exporting"
        )
    input_shape = tuple(int(d) for d in model.input_shape_)
    if hasattr(model, "code_spec"):  # codes other than float vectors (a VQVAE's code maps)
        shape, dtype = model.code_spec()
        return ModelShapes(input_shape, tuple(shape), dtype)
    if model.latent_dim is not None:
        code_shape = (int(model.latent_dim),)
    else:
        code = model.encode(keras.KerasTensor((None,) + input_shape))
        code_shape = tuple(int(d) for d in code.shape[1:])
    return ModelShapes(input_shape, code_shape)


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_samples(name, data, shapes, allow_codes=False):
    """Checks `data`, a batch of model inputs, as the Keras model checks what
    it reads (`keras_ae.utils.validation.check_model_input`): numeric,
    non-empty, not integer images (uint8 pixels calibrated or verified on
    0-255), finite as float32. Returns it as float32.

    With `allow_codes`, a batch of codes (shape `(n,) + shapes.code`) is
    accepted too; integer codes are values, as `decode` takes them.
    """
    array = check_array(data, None, name)
    accepted = [shapes.input] + ([shapes.code] if allow_codes else [])
    if tuple(array.shape[1:]) not in accepted:
        expected = " or ".join(f"(n, {', '.join(map(str, s))})" for s in accepted)
        raise ValueError(
            f"{name} must have shape {expected} with n >= 1 to match the model, "
            f"got shape {array.shape}"
        )
    if tuple(array.shape[1:]) == shapes.input:
        refuse_integers(array, name)
    return cast_finite(array, "float32", name)


def check_batch(name, x, sample_shape, what, codes=False, keep_dtype=None):
    """A runner's input, checked as the Keras model's `encode`/`decode` check
    theirs, so an export and its model refuse the same data: numeric,
    non-empty, of `sample_shape` (a None dimension takes any size), finite
    as float32 (1e300 in float64 too), integer images refused (integer codes
    are values). An array of `keep_dtype` (an int8 file's own input type,
    already quantized) is returned as it is. `what` names the entry point.
    """
    array = check_array(x, None, name)
    want = tuple(sample_shape)
    if array.ndim != len(want) + 1 or any(
        w is not None and w != g for w, g in zip(want, array.shape[1:], strict=True)
    ):
        shape = ", ".join("?" if w is None else str(w) for w in want)
        raise ValueError(f"{what} takes batches of shape (n, {shape}), got {array.shape}")
    if keep_dtype is not None and array.dtype == keep_dtype:
        return array
    if not codes:
        refuse_integers(array, name)
    return cast_finite(array, "float32", name)


def check_labels(labels, n, spec_dtype, label_shape, what, num_classes=None):
    """A conditional export's `labels` beside a batch of `n`: class ids
    `(n,)` for an integer `spec_dtype` (in `[0, num_classes)` where the export
    records it), else condition vectors `(n,) + label_shape`, as the
    `ConditionalVAE` takes them; cast to `spec_dtype`."""
    ids = np.dtype(spec_dtype).kind in "iu"
    wanted = (
        "class ids of shape (n,)" if ids else f"condition vectors of shape (n, {label_shape[0]})"
    )
    if labels is None:
        raise ValueError(
            f"{what} belongs to a conditional model's export: pass labels=, {wanted}, "
            "one per sample"
        )
    array = check_array(labels, None, "labels")
    want = (n,) if ids else (n, *label_shape)
    if array.shape != want:
        raise ValueError(f"{what}: labels must be {wanted} with n={n}, got shape {array.shape}")
    if ids:
        if not np.issubdtype(array.dtype, np.integer) and not np.array_equal(
            array, np.round(array)
        ):
            raise ValueError(f"{what}: labels must be whole class ids, got fractional values")
        high = np.iinfo(np.int32).max if num_classes is None else num_classes
        outside = (array < 0) | (array >= high)
        if outside.any():
            bound = "" if num_classes is None else f", {num_classes}"
            raise ValueError(
                f"{what}: labels must be class ids in [0{bound}); got {int(outside.sum())} "
                f"outside it, e.g. {array[outside][0]:g}"
            )
        return array.astype(spec_dtype)
    return cast_finite(array, spec_dtype, "labels")


def integer_codes(name, x, dtype):
    """`x` as integer codes of `dtype` (a VQVAE's code maps), refusing values
    that are not whole numbers rather than truncating them."""
    if not np.issubdtype(x.dtype, np.integer) and not np.array_equal(x, np.round(x)):
        raise ValueError(f"{name} must hold integer code indices, got fractional values")
    return x.astype(dtype)


def check_target(path, want_dir):
    """Refuses a target that the export could not replace without loss, before
    anything is written.

    An export replaces its target whole, so it may stand only where nothing
    but an earlier export would be lost: a new path, an empty directory or a
    directory holding exactly a SavedModel's files (`want_dir`), a new path,
    an empty file or a `.tflite` model (a file). A stray `saved_model.pb`
    beside the user's own files used to get them all deleted.
    """
    path, raw = as_path(path), os.fspath(path)  # (raw keeps a trailing separator)
    if path.name in ("", ".", ".."):
        raise ValueError(f"the export path must name a file or directory, got {raw!r}")
    if path.is_symlink():
        raise ValueError(
            f"{path} is a symbolic link (to {os.readlink(path)}); the export would replace "
            "the link, not write through it: give the path it points to, or a new path"
        )
    if not want_dir and raw.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep)):
        # Path() drops the trailing separator: "new/" wrote a file named "new".
        raise ValueError(
            f"the .tflite path {raw!r} ends in a separator, so it names a directory; give "
            f"the file to write, e.g. {os.path.join(raw, 'model.tflite')!r}"
        )
    if path.exists() and path.is_dir() != want_dir:
        kind = "directory" if path.is_dir() else "file"
        raise ValueError(
            f"{path} exists as a {kind}; expected "
            f"{'a directory (a SavedModel)' if want_dir else 'a file'} or a new path"
        )
    if want_dir and path.is_dir():
        check_replaceable_saved_model(path)
    elif path.is_file() and not _is_tflite_or_empty(path):
        raise ValueError(
            f"{path} exists and is not a .tflite model; the export replaces its target "
            "and never deletes a file it did not write: give a new path, or move the file"
        )
    return path


#: The files of a SavedModel as `export_saved_model` writes them.
_SAVED_MODEL_FILES = ("saved_model.pb", "fingerprint.pb")
_VARIABLE_FILE = re.compile(r"variables\.(index|data-\d{5}-of-\d{5})")


def foreign_entries(path):
    """Entries of directory `path` that are no part of a SavedModel export
    (directories end in `/`): the user's files, links, an `assets/` with content."""
    found = []
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        is_dir = entry.is_dir(follow_symlinks=False)
        if entry.name in _SAVED_MODEL_FILES and entry.is_file(follow_symlinks=False):
            continue
        if entry.name in ("variables", "assets") and is_dir:
            inner = sorted(os.scandir(entry.path), key=lambda e: e.name)
            found += [
                f"{entry.name}/{e.name}{'/' if e.is_dir(follow_symlinks=False) else ''}"
                for e in inner
                if entry.name == "assets"
                or e.is_symlink()
                or not e.is_file()
                or not _VARIABLE_FILE.fullmatch(e.name)
            ]
            continue
        found.append(entry.name + ("/" if is_dir else ""))
    return found


def check_replaceable_saved_model(path):
    """Raises ValueError unless directory `path` is empty or holds exactly a
    SavedModel's files (what an export may replace), naming the others."""
    names = sorted(os.listdir(path))
    if not names:
        return
    others = foreign_entries(path)
    shown = ", ".join(others[:4]) + (f", ... ({len(others)} in all)" if len(others) > 4 else "")
    if "saved_model.pb" not in names:
        raise ValueError(
            f"{path} is a directory of other files ({shown or ', '.join(names[:4])}), not a "
            "SavedModel; the export replaces its target directory whole: give a new path, an "
            "empty directory or an earlier SavedModel"
        )
    if others:
        raise ValueError(
            f"{path} holds a SavedModel and other files that an export does not write "
            f"({shown}); the export replaces its target directory whole and never deletes "
            "what it did not write: move those files out, or give a new path"
        )


def _is_tflite_or_empty(path):
    """Whether file `path` is empty or a TFLite flatbuffer ("TFL3" at bytes 4-8)."""
    with open(path, "rb") as f:
        head = f.read(8)
    return not head or head[4:8] == b"TFL3"


#: errno -> what it means for an export.
_DISK_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file grew past the size limit (ulimit -f)",
}
_DISK_MESSAGES = {
    "No space left on device": errno.ENOSPC,
    "Disk quota exceeded": errno.EDQUOT,
    "File too large": errno.EFBIG,
}


@contextlib.contextmanager
def disk_errors(path):
    """Turns a full disk met while writing the export to `path` into an OSError
    that names `path` and says so: TensorFlow raised ResourceExhausted or
    OutOfRange errors naming an op and the hidden staging file. Wrap it around
    `atomic_output`, which removes the partial export first."""
    import tensorflow as tf

    try:
        yield
    except (tf.errors.ResourceExhaustedError, tf.errors.OutOfRangeError, OSError) as err:
        text = str(err)
        code = getattr(err, "errno", None)
        code = (
            code
            if code in _DISK_ERRORS
            else next((c for message, c in _DISK_MESSAGES.items() if message in text), None)
        )
        if code is None:
            raise
        raise OSError(
            code,
            f"could not write the export to {path}: {_DISK_ERRORS[code]}; "
            "nothing was written: free some space, or export elsewhere",
        ) from None


def as_path(path):
    """`path` as a `Path`, or a ValueError naming what came (os.fspath's
    TypeError named no argument)."""
    if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
        raise ValueError(  # noqa: TRY004 (the API promises ValueError)
            f"path must be a str or os.PathLike naming a file or directory, got "
            f"{type(path).__name__} {path!r}"
        )
    return Path(os.fspath(path))


def is_mixed_precision(model):
    """Whether any layer of `model` computes in a dtype other than float32."""
    layers = keras_compat.flatten_layers(model)
    return any(layer.compute_dtype != "float32" for layer in layers)


def float32_twin(model):
    """`model` itself when it computes in float32, else a float32 copy of it.

    LiteRT has no float16 kernels for most ops, so a `mixed_float16` model is
    rebuilt from its config with every dtype policy set to float32 and given
    the same (float32) weights. Its outputs differ from the mixed model's
    only by the float16 rounding that the mixed model does.
    """
    if not is_mixed_precision(model):
        return model
    config = _float32_policies(model.get_config())
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        twin = type(model).from_config(config)
    finally:
        keras.config.set_dtype_policy(previous)
    twin.set_weights(model.get_weights())
    if is_mixed_precision(twin):
        raise ValueError(
            f"could not rebuild the {type(model).__name__} in float32 for LiteRT; build it "
            "under the float32 policy and load the weights into it before exporting"
        )
    return twin


def _float32_policies(config):
    """Replaces every mixed dtype policy in a (nested) config by float32."""
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
            name = config.get("config", {}).get("name", "")
            if name.startswith("mixed_"):
                return {**config, "config": {**config["config"], "name": "float32"}}
            return config
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    if isinstance(config, str) and config.startswith("mixed_"):
        return "float32"
    return config
