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
        "" if high is None else f" and < {high:g}"
    )
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
    return dtype == np.float16 or (
        dtype.kind == "V" and dtype.name.startswith(("bfloat", "float8"))
    )


def numpy_side(x):
    """Whether a model method takes `x` its numpy way (checked, in batches,
    numpy out) rather than as a tensor in a graph: arrays and lists, and a
    `tf.data.Dataset`, which `check_array` then refuses by name."""
    return isinstance(x, (np.ndarray, list, tuple)) or _is_dataset(x)


def _is_dataset(x):
    return hasattr(x, "element_spec") and hasattr(x, "batch")


def check_array(x, sample_shape, name="x", dtype=None):
    """Checks a numpy-convertible batch: numeric, non-empty, finite, right shape.

    Args:
        x: array-like of shape `(batch,) + sample_shape`.
        sample_shape: the expected shape of one sample, or None to skip that check.
        name: how the error messages call the array.
        dtype: a float dtype to cast to; its values are checked finite after
            the cast, so that float64 values beyond float32's range (1e300)
            are refused rather than becoming infinities.

    Returns:
        `x` as a numpy array (of `dtype` when given).
    """
    if _is_dataset(x):
        raise ValueError(
            f"{name} must be an array of samples, got a {type(x).__name__}: pass arrays "
            "(a dataset goes to fit, evaluate and predict; or loop over its batches)"
        )
    try:
        arr = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name} must be a numeric array, could not convert it: {e}") from None
    if is_low_precision_float(arr.dtype) and not np.issubdtype(arr.dtype, np.number):
        arr = arr.astype(np.float32)  # bfloat16 (ml_dtypes), e.g. a mixed_bfloat16 model's codes
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(
            f"{name} must hold real numbers, got complex dtype {arr.dtype}: "
            f"pass {name}.real or np.abs({name}) if that is what you mean"
        )
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"{name} must have a numeric dtype, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(
            f"{name} must be a batch of samples, shaped (batch, ...), got the "
            f"single value {arr.item()!r} (shape ())"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): expected at least one sample")
    if sample_shape is not None and tuple(arr.shape[1:]) != tuple(sample_shape):
        raise ValueError(
            f"{name} must have shape (batch, {', '.join(map(str, sample_shape))}) "
            f"to match the model's input_shape={tuple(sample_shape)}, got shape {arr.shape}"
        )
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); expected finite values")
    if dtype is not None:
        arr = cast_finite(arr, dtype, name)
    return arr


def cast_finite(arr, dtype, name="x"):
    """`arr` (finite) cast to the float `dtype`, or a ValueError when a value
    lies beyond that dtype's range and would become an infinity."""
    with np.errstate(over="ignore"):
        out = arr.astype(dtype, copy=False)
    if out is not arr and not np.isfinite(out).all():
        limit = float(np.finfo(out.dtype).max)
        peak = float(np.max(np.abs(arr)))
        raise ValueError(
            f"{name} holds values up to {peak:g} in magnitude, beyond the range of {out.dtype} "
            f"(the model's compute dtype; at most {limit:g}): they would become infinite. "
            "Scale the data (or compute in float32 rather than mixed float16)"
        )
    return out


def refuse_integers(arr, name="x"):
    """The one rule for data a model reads: integer arrays (uint8 pixels,
    0-255) are refused, never read as floats on another scale; bool is 0/1."""
    if np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{name} has integer dtype {arr.dtype}; keras_ae models read floats. Divide "
            f"uint8 images by 255 (or use keras_ae.datasets.preprocess / make_dataset), or "
            f"pass {name}.astype('float32') if the integers are the values you mean"
        )
    return arr


def check_model_input(x, sample_shape, name="x", dtype="float32"):
    """`check_array` and `refuse_integers`, then the cast to the dtype the
    model computes in (checked finite after it): what every public method of
    a model applies to the data it reads."""
    arr = refuse_integers(check_array(x, sample_shape, name), name)
    return cast_finite(arr, dtype, name)


#: Seeds Keras takes: a SeedGenerator's state is an int64 pair.
SEED_RANGE = (-(2**63), 2**63 - 1)


def check_seed(name, seed, generator=False):
    """`seed` as a Python int in `SEED_RANGE` (None passes; with `generator`, a
    `keras.random.SeedGenerator` too), else a ValueError naming it: 2**70 used
    to fail in TensorFlow's tensor conversion, naming no argument."""
    if seed is None:
        return None
    if generator:
        import keras

        if isinstance(seed, keras.random.SeedGenerator):
            return seed
    kinds = "an int, None" + (" or a keras.random.SeedGenerator" if generator else "")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"{name} must be {kinds}, got {type(seed).__name__} {seed!r}")
    if not SEED_RANGE[0] <= int(seed) <= SEED_RANGE[1]:
        raise ValueError(f"{name} must be an integer in [-2**63, 2**63 - 1], got {seed}")
    return int(seed)


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
    """`(min, max)` of `x` when it lies far outside `[low, high]` (`SCALE_FACTOR`), else None."""
    width = (high - low) * SCALE_FACTOR
    return range_violation(x, low - width, high + width)
