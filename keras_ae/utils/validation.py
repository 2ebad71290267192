"""Argument and input checks that raise errors naming what was expected."""

import numpy as np


def check_positive_int(name, value):
    """Returns `value` as int if it is a positive integer, else raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_number(name, value, low=0.0, high=None, open_low=False):
    """`value` as a finite float of at least `low` (above it with `open_low`) and
    below `high`, else a ValueError naming it: NaN passed `value < 0` checks, and
    a str reached float()'s own message, which names no argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    bound = (f"> {low:g}" if open_low else f">= {low:g}") + (
        "" if high is None else f" and < {high:g}")
    too_low = value <= low if open_low else value < low
    if not np.isfinite(value) or too_low or (high is not None and not value < high):
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def check_choice(name, value, choices):
    """Raises ValueError listing `choices` when `value` is not one of them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_shape(name, shape):
    """Returns `shape` as a tuple of positive ints, else raises ValueError."""
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"{name} must be a tuple of positive integers, got {shape!r}") from None
    if not shape or any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0 for d in shape
    ):
        raise ValueError(f"{name} must be a tuple of positive integers, got {shape!r}")
    return tuple(int(d) for d in shape)


def is_low_precision_float(dtype):
    """float16, or a float type numpy knows only through ml_dtypes (bfloat16, float8)."""
    dtype = np.dtype(dtype)
    return dtype == np.float16 or (dtype.kind == "V" and dtype.name.startswith(("bfloat", "float8")))


def check_array(x, sample_shape, name="x"):
    """Checks a numpy-convertible batch: numeric, non-empty, finite, right shape.

    Args:
        x: array-like of shape `(batch,) + sample_shape`.
        sample_shape: the expected shape of one sample, or None to skip that check.
        name: how the error messages call the array.

    Returns:
        `x` as a numpy array.
    """
    try:
        arr = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name} must be a numeric array, could not convert it: {e}") from None
    if is_low_precision_float(arr.dtype) and not np.issubdtype(arr.dtype, np.number):
        arr = arr.astype(np.float32)  # bfloat16 (ml_dtypes), e.g. a mixed_bfloat16 model's codes
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"{name} must have a numeric dtype, got dtype {arr.dtype}")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): expected at least one sample")
    if sample_shape is not None and tuple(arr.shape[1:]) != tuple(sample_shape):
        raise ValueError(
            f"{name} must have shape (batch, {', '.join(map(str, sample_shape))}) "
            f"to match the model's input_shape={tuple(sample_shape)}, got shape {arr.shape}"
        )
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); expected finite values")
    return arr


def range_violation(x, low, high, tol=1e-6):
    """`(min, max)` of `x` when a value lies outside `[low, high]` (NaN counts), else None."""
    x = np.asarray(x)
    if x.size == 0:
        return None
    lo, hi = float(np.min(x)), float(np.max(x))
    if np.isnan(lo) or np.isnan(hi) or lo < low - tol or hi > high + tol:
        return lo, hi
    return None


#: How far outside its range a value must lie to be read as data on another
#: scale (uint8 pixels, 0-255, for a model of [0, 1]): ten times the range's
#: width on either side, far past any noise a denoiser is given.
SCALE_FACTOR = 10


def other_scale(x, low, high):
    """`(min, max)` of `x` when it lies far outside `[low, high]` (see `SCALE_FACTOR`), else None."""
    width = (high - low) * SCALE_FACTOR
    return range_violation(x, low - width, high + width)
