"""Checks shared by the task functions."""

import numpy as np

from keras_ae.utils.validation import check_model_input, other_scale


def model_input_shape(model, role="model"):
    """The sample shape a model reads, or a ValueError if it has none."""
    shape = getattr(model, "input_shape_", None)
    if shape is None:
        raise ValueError(
            f"{role} must be a built keras_ae Autoencoder with an input_shape_ "
            f"(e.g. Autoencoder(input_shape=(784,), latent_dim=32)); got {model!r}"
        )
    return tuple(shape)


def as_model_input(model, x, name="x"):
    """Checks `x` and reshapes it to the model's sample shape.

    A batch whose samples have the model's number of values in another layout
    (images `(N, 28, 28)` for a `(784,)` model, or the reverse) is reshaped.

    Returns:
        `(x_model, original_shape)` with `x_model` float32.
    """
    shape = model_input_shape(model)
    x = check_model_input(x, None, name)
    size = int(np.prod(shape))
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != size:
        raise ValueError(
            f"{name} must be a batch of samples with {size} values each, shaped "
            f"(batch, {', '.join(map(str, shape))}) for a model with input_shape={shape}; "
            f"got shape {x.shape}"
        )
    check_scale(model, x, name)
    return x.reshape((len(x),) + shape), x.shape


def check_scale(model, x, name="x"):
    """Refuses input on another scale than the model's reconstructions: uint8
    pixels (0-255) given to a model of [0, 1] images used to be denoised,
    scored and classified as they were, silently wrong."""
    bounds = model.target_range() if hasattr(model, "target_range") else None
    bad = bounds and other_scale(x, bounds[0], bounds[1])
    if bad:
        raise ValueError(
            f"{name} holds values in [{bad[0]:g}, {bad[1]:g}], far outside [{bounds[0]:g}, "
            f"{bounds[1]:g}], the range of this model's data ({bounds[2]}): scale it as the "
            "training data was (uint8 pixels: divide by 255)"
        )


def reconstruct(model, x):
    """The model's deterministic reconstruction of a numpy batch."""
    if not hasattr(model, "reconstruct"):
        raise ValueError(
            f"model must be a keras_ae Autoencoder (with reconstruct()); got {type(model).__name__}"
        )
    return np.asarray(model.reconstruct(x))


def check_mask(mask, x, name="mask"):
    """A 0/1 mask of exactly `x`'s shape, as bool (True = missing)."""
    try:
        mask = np.asarray(mask)
    except (TypeError, ValueError) as e:  # ragged input
        raise ValueError(f"{name} must be an array of 0/1 values: {e}") from None
    if mask.shape != x.shape:
        raise ValueError(
            f"{name} must have the shape of x, {x.shape} (1 = missing), got shape {mask.shape}"
        )
    if mask.dtype != bool:
        if not np.issubdtype(mask.dtype, np.number):
            raise ValueError(f"{name} must hold 0/1 values, got dtype {mask.dtype}")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name} must hold only 0 and 1 (1 = missing), got other values")
    return mask.astype(bool)


def check_k(k, n, what="k", database="the fitted data"):
    """`k` as an int in [1, n]."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{what} must be a positive integer, got {k!r}")
    if k > n:
        raise ValueError(f"{what}={k} is larger than {database} ({n} samples)")
    return int(k)


def check_labels(labels, name):
    """`labels` as an array, or a ValueError for NaN or infinite float labels:
    each NaN is unequal to every other, so it counted as a class of its own
    (cluster_accuracy of all-NaN labels gave 0.5)."""
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real labels, got complex dtype {labels.dtype}")
    if np.issubdtype(labels.dtype, np.floating) and not np.isfinite(labels).all():
        bad = int(labels.size - np.count_nonzero(np.isfinite(labels)))
        raise ValueError(f"{name} holds {bad} NaN or infinite label(s); expected class labels")
    return labels
