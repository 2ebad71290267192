"""Image restoration with a trained autoencoder: denoising, inpainting, super-resolution."""

import math

import numpy as np

from keras_ae.tasks._common import (
    as_model_input,
    check_mask,
    check_scale,
    model_input_shape,
    reconstruct,
)
from keras_ae.utils.validation import (
    check_array,
    check_choice,
    check_positive_int,
    refuse_integers,
)

RESIZE_METHODS = ("bicubic", "bilinear", "nearest")


def denoise(model, x):
    """The model's reconstruction of noisy `x`, in `x`'s layout.

    Meant for a model trained to map corrupted inputs to clean ones, e.g. a
    `DenoisingAutoencoder`; any autoencoder works.

    Args:
        model: a trained keras_ae `Autoencoder`.
        x: noisy batch; each sample has the model's number of values (images
            `(N, 28, 28)` are accepted by a `(784,)` model and vice versa).

    Returns:
        float32 numpy array of `x`'s shape.

    Example:
        >>> clean = denoise(model, noisy_images)  # doctest: +SKIP
    """
    x_model, shape = as_model_input(model, x)
    return reconstruct(model, x_model).reshape(shape).astype("float32")


def fill_missing(model, x, mask, fill=None, iterations=1):
    """Replaces the entries where `mask` is 1 by the model's reconstruction.

    Observed entries (mask 0) are returned unchanged: bit for bit for float32
    input, rounded to float32 otherwise. With
    `iterations > 1` the filled batch is reconstructed again and only the
    missing entries are updated each time (iterative refinement).

    Args:
        model: a trained keras_ae `Autoencoder`.
        x: batch with the model's number of values per sample. With a `fill`,
            missing entries may hold anything, NaN and infinities included.
        mask: array of `x`'s shape, 1 (or True) where a value is missing.
        fill: what missing entries hold before the first pass: None keeps the
            values in `x`, a number sets them all, an array of one sample's
            shape sets them per feature, `"mean"` uses each feature's mean over
            the observed entries of the batch.
        iterations: number of reconstruct-and-fill passes (>= 1).

    Returns:
        float32 numpy array of `x`'s shape.
    """
    iterations = check_positive_int("iterations", iterations)
    if fill is not None:  # missing entries are overwritten: only observed ones must be finite
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError):
            arr = None  # (as_model_input says what is wrong with x)
        if arr is not None and np.issubdtype(arr.dtype, np.floating):
            x = np.where(check_mask(mask, arr), 0, arr)
    x_model, shape = as_model_input(model, x)
    mask = check_mask(mask, check_array(x, None, "x")).reshape(x_model.shape)
    current = x_model.copy()
    if fill is not None:
        current[mask] = _fill_values(current, mask, fill)[mask]
    for _ in range(iterations):
        rec = reconstruct(model, current)
        current[mask] = rec[mask]
    return current.reshape(shape)


def _fill_values(x, mask, fill):
    """A batch-shaped array holding the initial value of every entry."""
    if isinstance(fill, str):
        check_choice("fill", fill, ("mean",))
        observed = np.where(mask, 0.0, x)
        counts = (~mask).sum(axis=0)
        overall = float(x[~mask].mean()) if (~mask).any() else 0.0
        means = np.where(counts > 0, observed.sum(axis=0) / np.maximum(counts, 1), overall)
        return np.broadcast_to(means.astype("float32"), x.shape)
    values = np.asarray(fill, dtype="float32")
    if values.ndim == 0:
        return np.full(x.shape, values, dtype="float32")
    if values.size != int(np.prod(x.shape[1:])):
        raise ValueError(
            f"fill must be None, 'mean', a number or one value per feature "
            f"({int(np.prod(x.shape[1:]))}), got an array of shape {values.shape}"
        )
    return np.broadcast_to(values.reshape(x.shape[1:]), x.shape)


def inpaint(model, x, mask, fill=None, iterations=1):
    """Fills the masked pixels of `x` from the model; the other pixels are kept.

    Args:
        model: a trained keras_ae `Autoencoder` (best one trained on the same
            kind of corruption, e.g. `DenoisingAutoencoder(noise="block")`).
        x: corrupted images, e.g. from `corruption.block_mask`.
        mask: array of `x`'s shape, 1 where a pixel is missing (the mask that
            `corruption.block_mask(..., return_mask=True)` returns).
        fill: value the masked pixels hold before the first pass; None keeps
            those of `x` (as the model saw them in training). See `fill_missing`.
        iterations: reconstruct-and-fill passes.

    Returns:
        float32 numpy array of `x`'s shape.

    Example:
        >>> x_bad, mask = corruption.block_mask(x, 8, value=0.5, image_shape=(28, 28),
        ...                                     return_mask=True)  # doctest: +SKIP
        >>> restored = inpaint(model, np.asarray(x_bad), np.asarray(mask))  # doctest: +SKIP
    """
    if mask is None:
        raise ValueError(
            "inpaint needs a mask of x's shape, 1 where a pixel is missing; got None "
            "(impute takes NaN as the missing entries instead)"
        )
    return fill_missing(model, x, mask, fill=fill, iterations=iterations)


def _image_layout(shape, channels=None, name="x"):
    """(H, W, C) of one sample of `shape` (flat samples must be square)."""
    if len(shape) == 1:
        c = channels or 1
        side = math.isqrt(shape[0] // c)
        if side * side * c != shape[0]:
            raise ValueError(
                f"{name} must hold square images when flat ({c} channel(s)); got samples of "
                f"{shape[0]} values (a single image needs a batch axis: x[None])"
            )
        return side, side, c
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) == 3:
        return tuple(shape)
    raise ValueError(f"{name} samples must be flat, (H, W) or (H, W, C); got shape {shape}")


def _check_clip(clip):
    """`clip` as a `(low, high)` pair of floats with low < high, or None."""
    if clip is None:
        return None
    try:
        low, high = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise ValueError(
            f"clip must be None or a (low, high) pair of numbers, got {clip!r}"
        ) from None
    if not low < high:
        raise ValueError(f"clip must have low < high, got {clip!r}")
    return low, high


def upsample(x_low, size, method="bicubic", clip=None):
    """Resizes a batch of images to `size` (the bicubic baseline).

    Args:
        x_low: images `(N, h, w)`, `(N, h, w, C)` or flat square `(N, h*w)`.
        size: `(H, W)` of the output, or one int for square.
        method: `"bicubic"`, `"bilinear"` or `"nearest"`.
        clip: optional `(low, high)` range the result is clipped to.

    Returns:
        float32 numpy array in `x_low`'s layout at the new size.

    Example:
        >>> up = upsample(np.zeros((2, 14, 14)), 28)
        >>> up.shape
        (2, 28, 28)
    """
    import tensorflow as tf

    check_choice("method", method, RESIZE_METHODS)
    x_low = check_array(x_low, None, "x_low")
    if x_low.ndim < 2:
        raise ValueError(f"x_low must be a batch of images, got shape {x_low.shape}")
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    if np.ndim(size) != 1:  # (H, W) as a tuple, list or array
        raise ValueError(f"size must be (H, W) or an int, got {size!r}")
    size = tuple(check_positive_int("each of size", s) for s in size)
    if len(size) != 2:
        raise ValueError(f"size must be (H, W) or an int, got {size!r}")
    clip = _check_clip(clip)
    h, w, c = _image_layout(x_low.shape[1:], name="x_low")
    imgs = x_low.reshape(len(x_low), h, w, c).astype("float32")
    out = tf.image.resize(imgs, size, method=method, antialias=False).numpy()
    if clip is not None:
        out = np.clip(out, clip[0], clip[1])
    if x_low.ndim == 2:
        return out.reshape(len(out), -1)
    if x_low.ndim == 3:
        return out[..., 0]
    return out


def upscale(model, x_low, method="bicubic", residual=False, clip=None):
    """Super-resolution: resizes `x_low` to the model's size, then reconstructs.

    The model reads full-size images. Train it on pairs
    `(upsample(downsampled), original)`, so that it learns to restore what
    resizing cannot; or, with `residual=True`, on pairs
    `(upsample(downsampled), original - upsample(downsampled))` with a linear
    output (`output_activation="linear"`), so that it learns only the detail
    resizing misses and the result is the resized image plus the model's
    output (residual learning, as in VDSR; docs/results/super_resolution.md
    compares it with the same network reconstructing whole images).

    Args:
        model: a trained keras_ae `Autoencoder` whose input is the high
            resolution (e.g. `(784,)` or `(28, 28, 1)`).
        x_low: low-resolution images `(N, h, w)`, `(N, h, w, C)` or flat square.
        method: how `x_low` is first resized (see `upsample`).
        residual: whether the model predicts the difference to the resized
            image (see above) instead of the image itself.
        clip: optional `(low, high)` range of valid intensities, e.g.
            `(0, 1)`. Both the resized image the model reads and the result
            are clipped to it: bicubic resizing overshoots near edges and a
            residual sum can too. Train on `upsample(..., clip=clip)` then,
            so that the model reads what it was trained on.

    Returns:
        float32 numpy array: the high-resolution images, flat for flat
        `x_low`, else `(N, H, W)` or `(N, H, W, C)` like `x_low`.

    Example:
        >>> x28 = upscale(model, x14)  # doctest: +SKIP
        >>> x28 = upscale(residual_model, x14, residual=True, clip=(0, 1))  # doctest: +SKIP
    """
    shape = model_input_shape(model)
    H, W, C = _image_layout(shape, name="the model's input")
    x_low = refuse_integers(check_array(x_low, None, "x_low"), "x_low")
    if x_low.ndim < 2:
        raise ValueError(f"x_low must be a batch of images, got shape {x_low.shape}")
    h, w, c = _image_layout(x_low.shape[1:], channels=C, name="x_low")
    if c != C or h > H or w > W:
        raise ValueError(
            f"x_low must be images of at most {H}x{W} with {C} channel(s) for a model "
            f"with input_shape={shape}; got shape {x_low.shape}"
        )
    clip = _check_clip(clip)
    check_scale(model, x_low, "x_low")
    up = upsample(x_low.reshape(len(x_low), h, w, c), (H, W), method=method, clip=clip)
    up = up.reshape((len(up),) + shape).astype("float32")
    out = reconstruct(model, up)
    if residual:
        out = up + out
    if clip is not None:
        out = np.clip(out, clip[0], clip[1])
    if x_low.ndim == 2:
        return out.reshape(len(out), -1)
    if x_low.ndim == 3:
        return out.reshape(len(out), H, W)
    return out.reshape(len(out), H, W, C)
