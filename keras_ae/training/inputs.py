"""Checks of what `fit`, `evaluate` and `predict` are given, made in Python
before Keras traces a step with it (inside a traced step, dimensions Keras has
relaxed to None pass any check): dtypes, sample shapes, finite values, the
target range the model's loss and output allow, and the per-sample weights
keras_ae's losses have no use for. A first input also builds a model whose
user-supplied networks came without an input shape."""

import warnings

import numpy as np
import tensorflow as tf

from keras_ae.utils.validation import cast_finite, check_model_input, range_violation


def check_batch_spec(model, x, name):
    """Refuses integer, complex or wrongly shaped batches `x` (a tensor or a
    `tf.TensorSpec`) for a model whose input shape is known."""
    if model.input_shape_ is None:
        return
    if x.dtype.is_integer:
        raise ValueError(
            f"{name} has integer dtype {x.dtype.name}; keras_ae models read floats: "
            "divide uint8 images by 255 in the pipeline (keras_ae.datasets.make_dataset "
            "does), or cast to float32 if the integers are the values you mean"
        )
    if not x.dtype.is_floating and not x.dtype.is_bool:
        raise ValueError(f"{name} must be numeric (real), got dtype {x.dtype.name}")
    expected = model.input_shape_
    got = tuple(x.shape[1:])
    if len(got) != len(expected) or any(
        g is not None and g != e for g, e in zip(got, expected, strict=True)
    ):
        raise ValueError(
            f"{name} batches must have shape (batch, {', '.join(map(str, expected))})"
            f" to match input_shape={expected}, got {tuple(x.shape)}"
        )


def check_input(model, x, name, targets=True, required=False):
    """Checks numpy or dataset input of `fit`, `evaluate` or `predict`; an
    `x` builds a model that is not built yet (`build_from_batch_shape`).

    Array-likes (numpy, lists, numpy scalars) come back as float32 numpy:
    integer arrays refused, values checked finite after the cast (and within
    float16's range for a mixed-float16 model's input). A dataset's element
    spec is checked: `x`, and with `targets` the `y` of `(x, y)` elements."""
    if x is None:
        if required:
            raise ValueError(
                f"{name} must be a numpy array or a tf.data.Dataset of batches, got None"
            )
        return x
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        x = check_model_input(x, model.input_shape_, name)
        if name == "x" and model.compute_dtype == "float16":  # mixed_float16
            cast_finite(x, model.compute_dtype, name)
        specs = (x,)
    elif isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        specs = spec[: 1 + targets] if isinstance(spec, tuple) else (spec,)  # (x, y)
        labels = (
            f"{name} (dataset elements)",
            f"the targets y of {name}'s (x, y) dataset elements (an autoencoder's "
            "dataset yields x alone, or (input, target) pairs, never class labels)",
        )
        for part, label in zip(specs, labels, strict=False):
            if isinstance(part, tf.TensorSpec):
                check_batch_spec(model, part, label)
    else:
        return x
    if name == "x":
        build_from_batch_shape(model, getattr(specs[0], "shape", None))
    return x


def build_from_batch_shape(model, shape):
    """Builds a model that is not built yet (user-supplied networks that came
    without an input shape) for batches of `shape`, when all but the batch
    dimension are known: Keras's own symbolic build inside `fit` builds the
    networks but not the model, which would leave `input_shape_` and
    `latent_dim` unset."""
    if not model.built and shape is not None and len(shape) > 1 and None not in tuple(shape[1:]):
        with model.distribute_strategy.scope():  # where Keras would create the variables
            model.build((None,) + tuple(shape[1:]))


def check_target_range(model, target, name):
    """Refuses (cross-entropy) or warns of (a bounded output) numpy targets
    outside `model.target_range()`: uint8 pixels fed as they are, not divided
    by 255, gave a loss of 5.6e6 (MSE) or NaN (a VAE) and no word why."""
    bounds = model.target_range() if isinstance(target, np.ndarray) else None
    bad = bounds and range_violation(target, bounds[0], bounds[1])
    if not bad:
        return
    low, high, why, strict = bounds
    message = (
        f"{name} holds values in [{bad[0]:g}, {bad[1]:g}], but {why}: scale the targets "
        f"to [{low:g}, {high:g}] (uint8 images: divide by 255), or build the model with "
        f"{model.unbounded_hint} for unbounded data"
    )
    if strict:
        raise ValueError(message)
    warnings.warn(message, UserWarning, stacklevel=3)


def refuse_weights(kwargs, *names):
    """Per-sample or per-class weights have no meaning for keras_ae's losses
    (each term is a mean over the batch); Keras would drop or misapply them."""
    for name in names:
        if kwargs.get(name) is not None:
            raise ValueError(
                f"{name} is not supported by keras_ae models (each loss term is a mean "
                f"over the batch); got {name}={type(kwargs[name]).__name__}"
            )
