"""Checks and file handling shared by every export format."""

import dataclasses
import os
from pathlib import Path

import keras
import numpy as np

#: What `export_tflite(part=...)` accepts: the whole model, or one half.
PARTS = ("full", "encoder", "decoder")
#: What `export_tflite(quantize=...)` accepts.
QUANTIZATIONS = (None, "float16", "dynamic", "int8")


@dataclasses.dataclass(frozen=True)
class ModelShapes:
    """Shapes of one sample at the model's input and at its code."""

    input: tuple
    code: tuple


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
    """Checks that `data` is a non-empty numeric batch of model inputs.

    With `allow_codes`, a batch of codes (shape `(n,) + shapes.code`) is
    accepted too. Returns a float32 numpy array.
    """
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of samples, got {type(data).__name__}") from err
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    accepted = [shapes.input] + ([shapes.code] if allow_codes else [])
    if array.ndim == 0 or tuple(array.shape[1:]) not in accepted or len(array) == 0:
        expected = " or ".join(f"(n, {', '.join(map(str, s))})" for s in accepted)
        raise ValueError(
            f"{name} must have shape {expected} with n >= 1 to match the model, "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got NaN or infinite values")
    return array.astype("float32", copy=False)


def check_target(path, want_dir):
    """Refuses a target of the wrong kind before anything is written."""
    path = Path(os.fspath(path))
    if path.exists() and path.is_dir() != want_dir:
        kind = "directory" if path.is_dir() else "file"
        raise ValueError(
            f"{path} exists as a {kind}; expected "
            f"{'a directory (a SavedModel)' if want_dir else 'a file'} or a new path"
        )
    if path.name in ("", ".", ".."):
        raise ValueError(f"the export path must name a file or directory, got {str(path)!r}")
    names = sorted(p.name for p in path.iterdir()) if want_dir and path.is_dir() else []
    if names and "saved_model.pb" not in names:
        # A SavedModel replaces its directory whole: only an earlier SavedModel
        # (or nothing) may stand there, never a folder of the user's files.
        raise ValueError(
            f"{path} is a directory of other files ({', '.join(names[:3])}"
            f"{', ...' if len(names) > 3 else ''}), not a SavedModel; the export replaces its "
            "target directory whole: give a new path, an empty directory or an earlier SavedModel"
        )
    return path


def as_path(path):
    return Path(os.fspath(path))


def is_mixed_precision(model):
    """Whether any layer of `model` computes in a dtype other than float32."""
    layers = [model] + list(model._flatten_layers(include_self=False, recursive=True))
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
