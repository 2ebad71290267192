"""The transform every source ends with, and the array pipeline.

Owns what a batch becomes (divide to [0, 1] intensities, binarize, scale,
flatten or add a channel axis: `check_transform` checks those arguments once,
`finish_batches` applies them per batch, vectorized, then prefetches), the
tf.data pipeline over an in-memory array (`array_batches`), its eager twin
`preprocess`, and the one rule every source holds validation samples out by
(`holdout`).
"""

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from keras_ae.datasets._paths import check_flag
from keras_ae.utils.validation import check_number, check_positive_int, check_seed

SCALES = ("unit", "symmetric", None)
BINARIZE = (None, "static", "fixed", "dynamic")
_F32_MAX = float(np.finfo(np.float32).max)


class Transform(NamedTuple):
    """What every batch becomes (see `make_dataset`), checked by `check_transform`."""

    scale: str | None
    binarize: str | None
    threshold: float
    flatten: bool
    channels: bool


def check_transform(scale, binarize, flatten, channels, threshold):
    """The `Transform` these arguments ask for, else a ValueError naming the bad one."""
    if scale not in SCALES:
        raise ValueError(f'scale must be one of "unit", "symmetric" or None, got {scale!r}')
    if binarize not in BINARIZE:
        raise ValueError(f'binarize must be None, "static", "fixed" or "dynamic", got {binarize!r}')
    flatten, channels = check_flag("flatten", flatten), check_flag("channels", channels)
    if flatten and channels:
        raise ValueError("flatten=True and channels=True exclude each other; got both")
    # An intensity threshold outside [0, 1) (or NaN) binarizes every image to zeros.
    threshold = check_number("threshold", threshold, low=0.0, high=1.0)
    return Transform(scale, binarize, threshold, flatten, channels)


def _images(x, fn):
    """`x` as a numpy batch of real numbers (bool, integer or float), rank >= 2."""
    try:
        x = np.asarray(x)
    except (ValueError, TypeError) as e:  # ragged lists and the like
        raise ValueError(f"{fn}: x must be a numeric array, could not convert it: {e}") from None
    if np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(
            f"{fn}: x is complex ({x.dtype}); images are real: pass x.real or np.abs(x) "
            "(casting would drop the imaginary part)"
        )
    if not (
        x.dtype == np.bool_
        or np.issubdtype(x.dtype, np.integer)
        or np.issubdtype(x.dtype, np.floating)
    ):
        raise ValueError(f"{fn}: x must have a bool, integer or float dtype, got {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{fn}: x must be a batch of samples (N, ...), got shape {x.shape}")
    return x


def _divisor(x, scale, binarize, fn):
    """What `x` is divided by to give [0, 1] intensities, or None for raw values.

    One rule for integer images: unsigned types are divided by their dtype's
    maximum (uint8 by 255, uint16 by 65535, ...), bool is 0/1, floats are taken
    as [0, 1] already. Signed types have no intensity range (int16 -300 would
    become a negative "intensity", an int64 array of 0-255 pixels would become
    nearly black), so they are refused unless raw values are asked for.
    """
    if scale is None and binarize is None:
        return None
    if np.issubdtype(x.dtype, np.signedinteger):
        raise ValueError(
            f"{fn}: x has the signed integer dtype {x.dtype}, which has no intensity range "
            "(unsigned integers are divided by their dtype's maximum, floats must lie in "
            "[0, 1]): pass x.astype('uint8') for 8-bit pixels, floats in [0, 1], or "
            "scale=None without binarize for the raw values"
        )
    if np.issubdtype(x.dtype, np.unsignedinteger):
        return float(np.iinfo(x.dtype).max)
    return 1.0


def _check_values(x, scale, binarize, fn):
    """Float images must be finite and fit float32, and lie in [0, 1] wherever they are
    read as intensities (every setting but scale=None without binarize): a float copy of
    uint8 pixels (0-255) would otherwise pass through unscaled, and binarize to all ones."""
    if not np.issubdtype(x.dtype, np.floating) or not x.size:
        return
    low, high = float(np.min(x)), float(np.max(x))  # NaN and infinities show in both
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{fn}: x contains NaN or infinite values; expected finite values")
    if (scale is not None or binarize is not None) and (low < -1e-6 or high > 1 + 1e-6):
        raise ValueError(
            f"{fn}: x is a float array with values in [{low:g}, {high:g}], but float images "
            "are read as intensities in [0, 1] (unsigned integer images are divided by "
            "their dtype's maximum, e.g. 255): divide it by 255 or pass the uint8 array "
            "itself; for other values (TF-IDF, standardized features) use scale=None "
            "without binarize, which keeps them as they are"
        )
    if max(-low, high) > _F32_MAX:  # the float32 cast would make them infinite
        raise ValueError(
            f"{fn}: x has values in [{low:g}, {high:g}], beyond float32's range "
            f"(+-{_F32_MAX:g}); the output is float32: rescale x first"
        )


def _unit(x, divisor):
    """Casts to float32, divided by `divisor` (see `_divisor`) unless it is 1."""
    x = tf.cast(x, tf.float32)
    return x if divisor in (None, 1.0) else x / divisor


def _finish(x, scale, flatten, channels, sample_rank):
    """Applies scale/flatten/channels to a [0, 1] float batch (or raw values for scale=None)."""
    if scale == "symmetric":
        x = 2.0 * x - 1.0
    if flatten:
        x = tf.reshape(x, [tf.shape(x)[0], -1])
    elif channels and sample_rank == 2:
        x = x[..., tf.newaxis]
    return x


def bernoulli_draw(x, seed):
    """One Bernoulli draw per value of `x` (intensities in [0, 1]): `u < x` with
    `u` from numpy's `default_rng(seed)` (PCG64) over the whole array in C order,
    so a seed names one binary copy of an array (the papers' statically
    binarized MNIST is such a copy)."""
    u = np.random.default_rng(seed).random(np.shape(x), dtype=np.float32)
    return (u < x).astype(np.float32)


def preprocess(
    x, scale="unit", flatten=False, channels=False, binarize=None, threshold=0.5, seed=0
):
    """Applies `make_dataset`'s transforms eagerly to a numpy batch.

    Args:
        x: Array of shape (N, H, W) or (N, H, W, C). Read as intensities,
            unsigned integer arrays are divided by their dtype's maximum (uint8
            by 255, uint16 by 65535), bool is 0/1, float arrays must lie in
            [0, 1], and signed integer or complex arrays are refused.
        scale: ``"unit"`` for [0, 1], ``"symmetric"`` for [-1, 1], `None`
            for the raw values as float32 (any real dtype, within float32's range).
        flatten: Reshape each sample to a vector, e.g. (N, 784).
        channels: Add a channel axis to (N, H, W) input, giving (N, H, W, 1).
        binarize: `None`; ``"static"``: intensity > `threshold` gives 1 (a
            threshold, not the papers' "statically binarized MNIST", which is
            ``"fixed"``); ``"fixed"``: one Bernoulli draw per pixel with the
            intensity as probability (`bernoulli_draw(x, seed)`). ``"dynamic"``
            (a fresh draw every epoch) is only meaningful in a pipeline.
        threshold: Static binarization threshold on the [0, 1] intensity, in [0, 1).
        seed: The ``"fixed"`` draw's seed (an int; the same seed, the same copy).

    Returns:
        A float32 numpy array, finite.

    Raises:
        ValueError: For an argument out of its range, or values the rule for
            `x` refuses (NaN, infinities, floats outside [0, 1] read as
            intensities, signed integers read as intensities, complex).

    Example:
        >>> x = preprocess(x_test, flatten=True)  # (10000, 784) in [0, 1]
    """
    threshold = check_transform(scale, binarize, flatten, channels, threshold).threshold
    if binarize == "dynamic":
        raise ValueError(
            'binarize="dynamic" needs make_dataset; preprocess accepts None, "static" or "fixed"'
        )
    seed = check_seed("seed", seed)
    x = _images(x, "preprocess")
    divisor = _divisor(x, scale, binarize, "preprocess")
    _check_values(x, scale, binarize, "preprocess")
    out = x.astype(np.float32)
    if divisor is not None:
        if divisor != 1.0:
            out /= np.float32(divisor)
        if binarize == "static":
            out = (out > threshold).astype(np.float32)
        elif binarize == "fixed":
            out = bernoulli_draw(out, 0 if seed is None else seed)
        if scale == "symmetric":
            out = 2.0 * out - 1.0
    if flatten:
        out = out.reshape(out.shape[0], int(np.prod(out.shape[1:])))
    elif channels and out.ndim == 3:
        out = out[..., None]
    return out


def array_batches(
    x, y, transform, batch_size, shuffle, seed, drop_remainder, prefetch, cache, repeat
):
    """The batched `tf.data.Dataset` over an array that `make_dataset` gives for one
    (its arguments, checked here, are described there).

    The pipeline is ``from_tensor_slices -> cache -> shuffle -> repeat ->
    batch -> map(transform) -> prefetch``: every transform runs once per
    batch, vectorized, with no per-sample Python work. The raw (uint8) array
    is what gets cached, so memory stays at one byte per pixel.
    """
    scale, binarize = transform.scale, transform.binarize
    shuffle, drop_remainder, prefetch, cache, repeat = (
        check_flag(name, value)
        for name, value in (
            ("shuffle", shuffle),
            ("drop_remainder", drop_remainder),
            ("prefetch", prefetch),
            ("cache", cache),
            ("repeat", repeat),
        )
    )
    seed = check_seed("seed", seed)  # 2**70 reached TF as it came
    x = _images(x, "make_dataset")
    if not len(x):
        raise ValueError(
            f"make_dataset: x is empty (shape {x.shape}); expected at least one sample"
        )
    batch_size = check_positive_int("batch_size", batch_size)  # numpy integers too
    if drop_remainder and batch_size > len(x):
        raise ValueError(
            f"drop_remainder=True with batch_size={batch_size} > len(x)={len(x)} would "
            "yield no batch at all"
        )
    divisor = _divisor(x, scale, binarize, "make_dataset")
    _check_values(x, scale, binarize, "make_dataset")
    if y is not None:
        if np.ndim(y) == 0:
            raise ValueError(f"y must hold one target per sample, got {y!r:.60}")
        if len(y) != len(x):
            raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
        try:
            y_arr = np.asarray(y)
        except ValueError:  # ragged label lists: TF judges them
            y_arr = np.zeros(0)
        if y_arr.dtype.kind in "fc" and not np.isfinite(y_arr).all():
            raise ValueError("y contains NaN or infinite values; expected finite targets")
    sample_rank = x.ndim - 1
    has_y = y is not None

    ds = tf.data.Dataset.from_tensor_slices((x, y) if has_y else x)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return finish_batches(ds, has_y, divisor, transform, sample_rank, seed, prefetch)


def holdout(n, validation_split, split, what):
    """Row indices of `split` ("train"/"validation") when a fraction of `n` is held
    out: a fixed permutation, so the train and validation calls agree."""
    if validation_split is None:
        if split == "validation":
            raise ValueError(
                f"split='validation': {what} has no validation data of its own; "
                "pass validation_split=0.1 (say) to hold out training rows"
            )
        return np.arange(n)
    n_val = int(round(n * validation_split))
    if not 0 < n_val < n:
        raise ValueError(
            f"validation_split={validation_split} of {n} samples leaves "
            f"{n_val} for validation and {n - n_val} for training; both need one"
        )
    perm = np.random.default_rng(0).permutation(n)
    return np.sort(perm[:n_val] if split == "validation" else perm[n_val:])


def finish_batches(ds, has_y, divisor, transform, sample_rank, seed, prefetch):
    """The shared tail of every pipeline: a vectorized per-batch transform
    (divide by `divisor`, binarize, scale, flatten/channels) on the ``x`` of
    ``x`` or ``(x, y)`` batches, then prefetch."""
    scale, binarize, threshold, flatten, channels = transform

    def transform(xb, noise_seed=None):
        xb = _unit(xb, divisor)
        if divisor is not None:
            if binarize == "static":
                xb = tf.cast(xb > threshold, tf.float32)
            elif binarize in ("dynamic", "fixed"):
                u = tf.random.stateless_uniform(tf.shape(xb), seed=noise_seed)
                xb = tf.cast(u < xb, tf.float32)
        return _finish(xb, scale, flatten, channels, sample_rank)

    if binarize in ("dynamic", "fixed"):
        # One int64 pair per batch; rerandomize_each_iteration gives every
        # epoch fresh draws, repeatable for a given seed ("dynamic"), or the
        # same draws every pass ("fixed": batch j always gets pair j).
        seeds = tf.data.Dataset.random(
            seed=0 if seed is None and binarize == "fixed" else seed,
            rerandomize_each_iteration=binarize == "dynamic",
        ).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds))
        if has_y:
            ds = ds.map(
                lambda b, s: (transform(b[0], s), b[1]),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        else:
            ds = ds.map(lambda b, s: transform(b, s), num_parallel_calls=tf.data.AUTOTUNE)
    elif has_y:
        ds = ds.map(lambda xb, yb: (transform(xb), yb), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds
