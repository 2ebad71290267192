"""Input corruption: noise and masks for denoising, inpainting and imputation.

Every function takes a float batch of shape (N, ...) (numpy or tensor), is
written with `keras.ops` and `keras_ae.utils.rng`, and so runs eagerly, inside a
`tf.function` / `train_step`, and inside a `tf.data` ``map`` over batches.
Each draws its randomness in a single call, so ``seed`` may be:

- an int: the same int gives the same output (stateless draw);
- a `keras.random.SeedGenerator`: fresh noise on every call (a layer owns
  one, so each training batch gets new noise, repeatable from its seed);
- `None`: Keras' global seed generator (fresh noise, not repeatable).

In a `tf.data` ``map`` an int seed gives every batch the same noise pattern;
pass a `SeedGenerator` (created outside the map) for fresh noise per batch.

Example:
    >>> from keras_ae import corruption
    >>> noisy = corruption.corrupt(x, "salt_and_pepper", seed=0, rate=0.2)
    >>> inpainted_input, mask = corruption.block_mask(x, 8, seed=0, return_mask=True)
"""

import inspect
import math
import numbers

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_ae.utils import rng
from keras_ae.utils.validation import check_seed, check_shape

CORRUPTIONS = ("dropout", "gaussian", "salt_and_pepper", "block")

DEFAULTS = {
    "dropout": {"rate": 0.5},
    "gaussian": {"stddev": 0.3},
    "salt_and_pepper": {"rate": 0.1},
    "block": {"size": 8, "value": 0.5},
}


def _float(x, scaled=None):
    """`x` as a float tensor; integer input becomes float32.

    `scaled` names a corruption whose values assume float intensities (noise
    of a given std, a salt value of 1): integer input, uint8 pixels on the
    0-255 scale, is refused there instead of being corrupted meaninglessly."""
    x = ops.convert_to_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    if not (dtype.startswith(("float", "int", "uint", "bfloat")) or dtype == "bool"):
        raise ValueError(
            f"x must be a batch of real numbers, got dtype {dtype}"
            + (
                ": pass x.real or abs(x) if that is what you mean"
                if dtype.startswith("complex")
                else ""
            )
        )
    if "float" not in dtype:
        if scaled:
            raise ValueError(
                f"{scaled} takes float batches (images in [0, 1]); got dtype "
                f"{keras.backend.standardize_dtype(x.dtype)}: "
                "divide uint8 pixels by 255 first (keras_ae.datasets.preprocess does)"
            )
        x = ops.cast(x, "float32")
    return x


def _check_rate(rate, name="rate"):
    if (
        isinstance(rate, bool)
        or not isinstance(rate, numbers.Number)
        and not (hasattr(rate, "dtype"))
    ):  # (a tensor may come from a traced step)
        raise ValueError(f"{name} must be a number in [0, 1), got {rate!r}")
    if isinstance(rate, numbers.Number) and not 0.0 <= rate < 1.0:  # NaN fails too
        raise ValueError(f"{name} must be in [0, 1), got {rate!r}")


def _seed(seed):
    """`seed` checked: None, a SeedGenerator, or an int (numpy ones too) that Keras takes."""
    return check_seed("seed", seed, generator=True)


def _value(name, value, dtype=None, nan=False):
    """A fill value: a finite real number (NaN too with `nan`), within `dtype`'s range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if hasattr(value, "dtype") and not isinstance(value, np.ndarray):
            return value  # a tensor, from a traced step
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value) and nan:
        return value
    try:
        limit = float(np.finfo(dtype or "float32").max)
    except (TypeError, ValueError):  # an integer dtype (cast to float32 after) or bfloat16
        limit = float(np.finfo("float32").max)
    if not abs(value) <= limit or math.isinf(value):
        allowed = " (or NaN)" if nan else ""
        raise ValueError(
            f"{name} must be a finite number{allowed} that {dtype or 'float32'} "
            f"holds, got {value!r}"
        )
    return value


def _eager(x):
    return tf.executing_eagerly() and not isinstance(x, keras.KerasTensor)


def _uniform(x, seed):
    return rng.uniform(ops.shape(x), _seed(seed), dtype=x.dtype)


def dropout_mask(x, rate, seed=None):
    """Zeros each value independently with probability `rate`.

    Unlike `keras.layers.Dropout` the survivors are NOT rescaled by
    ``1 / (1 - rate)``: corrupted pixels become black, as in the denoising
    autoencoder's masking noise.

    Args:
        x: Float batch (N, ...).
        rate: Probability in [0, 1) that a value is zeroed.
        seed: Int, `None` or `keras.random.SeedGenerator`.

    Returns:
        ``x * bernoulli(1 - rate)``, same shape and dtype as `x` (float32 for
        integer input).

    References:
        Vincent et al., "Extracting and composing robust features with
        denoising autoencoders", ICML 2008.
    """
    _check_rate(rate)
    x = _float(x)
    keep = ops.cast(_uniform(x, seed) >= rate, x.dtype)
    return x * keep


def gaussian_noise(x, stddev, seed=None, clip=None):
    """Adds isotropic Gaussian noise.

    Args:
        x: Float batch (N, ...).
        stddev: Standard deviation (>= 0) of the noise.
        seed: Int, `None` or `keras.random.SeedGenerator`.
        clip: Optional ``(lo, hi)`` to clip the result to, e.g. ``(0, 1)``.

    Returns:
        ``x + stddev * N(0, 1)``, optionally clipped.
    """
    if isinstance(stddev, (numbers.Real, str, type(None))) and not isinstance(stddev, bool):
        if isinstance(stddev, (str, type(None))) or not 0 <= stddev < math.inf:  # NaN fails too
            raise ValueError(f"stddev must be a finite number >= 0, got {stddev!r}")
    elif not hasattr(stddev, "dtype") or isinstance(stddev, np.ndarray):  # (a traced tensor)
        raise ValueError(f"stddev must be a finite number >= 0, got {stddev!r}")
    if clip is not None:
        ok = (
            hasattr(clip, "__len__")
            and len(clip) == 2
            and all(isinstance(c, numbers.Real) and not isinstance(c, bool) for c in clip)
        )
        if not ok or not clip[0] <= clip[1]:
            raise ValueError(f"clip must be None or (lo, hi) numbers with lo <= hi, got {clip!r}")
    seed = _seed(seed)
    x = _float(x, scaled="gaussian_noise")
    y = x + stddev * rng.normal(ops.shape(x), seed, dtype=x.dtype)
    if clip is not None:
        y = ops.clip(y, clip[0], clip[1])
    if _eager(x) and not bool(ops.all(ops.isfinite(y))) and bool(ops.all(ops.isfinite(x))):
        raise ValueError(
            f"gaussian_noise overflowed {x.dtype.name}: x plus noise of "
            f"stddev={stddev!r} holds values beyond its range"
        )
    return y


def salt_and_pepper(x, rate, seed=None, low=0.0, high=1.0):
    """Sets each value with probability `rate` to `low` or `high` (half each).

    Args:
        x: Float batch (N, ...).
        rate: Probability in [0, 1) that a value is replaced.
        seed: Int, `None` or `keras.random.SeedGenerator`.
        low: The "pepper" value.
        high: The "salt" value.

    Returns:
        The corrupted batch, same shape and dtype as `x`.
    """
    _check_rate(rate)
    x = _float(x, scaled="salt_and_pepper")
    low = _value("low", low, x.dtype.name)
    high = _value("high", high, x.dtype.name)
    u = _uniform(x, seed)
    lo = ops.cast(low, x.dtype)
    hi = ops.cast(high, x.dtype)
    return ops.where(u < rate / 2.0, lo, ops.where(u < rate, hi, x))


def random_missing(x, rate, seed=None, fill=0.0):
    """Marks each value missing with probability `rate` (for imputation).

    Args:
        x: Float batch (N, ...).
        rate: Probability in [0, 1) that a value is missing.
        seed: Int, `None` or `keras.random.SeedGenerator`.
        fill: Value written where data are missing (NaN marks them for
            `keras_ae.tasks.impute`).

    Returns:
        ``(x_filled, mask)``: `x` with missing values set to `fill`, and a
        float mask of the same shape, 1 where missing.
    """
    _check_rate(rate)
    x = _float(x)
    fill = _value("fill", fill, x.dtype.name, nan=True)
    mask = ops.cast(_uniform(x, seed) < rate, x.dtype)
    return ops.where(mask > 0, ops.cast(fill, x.dtype), x), mask


def _as_images(x, image_shape, fn):
    """Returns x reshaped to (N, H, W, C) and the original shape."""
    rank = len(x.shape)
    if image_shape is not None:
        image_shape = check_shape("image_shape", image_shape)
        if len(image_shape) not in (2, 3):
            raise ValueError(f"image_shape must be (H, W) or (H, W, C), got {image_shape}")
        d = 1
        for dim in x.shape[1:]:
            d *= dim
        hw = image_shape[0] * image_shape[1]
        c = image_shape[2] if len(image_shape) == 3 else d // hw
        if d != hw * c:
            raise ValueError(
                f"image_shape {image_shape} does not match samples of shape {tuple(x.shape[1:])}"
            )
        return ops.reshape(x, (-1, image_shape[0], image_shape[1], c))
    if rank == 3:
        return ops.expand_dims(x, -1)
    if rank == 4:
        return x
    raise ValueError(
        f"{fn} needs images (N, H, W) or (N, H, W, C), or flat (N, D) input with "
        f"image_shape=(H, W); got shape {tuple(x.shape)} and image_shape=None"
    )


def block_mask(
    x,
    size,
    seed=None,
    value=0.0,
    num_blocks=1,
    image_shape=None,
    return_mask=False,
):
    """Replaces square block(s) at a random place in every image by `value`.

    Masks are built without a loop over samples: per-sample random offsets
    are compared against row and column index grids by broadcasting.

    Args:
        x: Float batch: images (N, H, W) or (N, H, W, C), or flat (N, D)
            with `image_shape`.
        size: Side of each square block in pixels, 1 <= size <= min(H, W).
        seed: Int, `None` or `keras.random.SeedGenerator`.
        value: Fill value of the block (0 black, 0.5 grey).
        num_blocks: Blocks per image (they may overlap).
        image_shape: ``(H, W)`` or ``(H, W, C)`` for flat input, e.g. (28, 28).
        return_mask: Also return the mask.

    Returns:
        The corrupted batch in the shape of `x`; with ``return_mask=True``,
        ``(x_corrupted, mask)`` where mask (same shape, float) is 1 where a
        pixel was replaced (for OpenCV inpainting use
        ``mask.reshape(N, H, W, -1)[..., 0].astype("uint8")``).
    """
    for name, count in (("size", size), ("num_blocks", num_blocks)):
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
            raise ValueError(f"{name} must be a positive int, got {count!r}")
    seed = _seed(seed)
    x = _float(x)
    value = _value("value", value, x.dtype.name)
    orig_shape = ops.shape(x)
    imgs = _as_images(x, image_shape, "block_mask")
    h, w = imgs.shape[1], imgs.shape[2]
    if size > min(h, w):
        raise ValueError(f"size must be <= min(H, W) = {min(h, w)}, got {size}")
    n = ops.shape(imgs)[0]
    u = rng.uniform((n, num_blocks, 2), seed)
    # Top-left corners uniform over the h - size + 1 (w - size + 1) positions.
    top = ops.cast(ops.floor(u[..., 0] * (h - size + 1)), "int32")[..., None]
    left = ops.cast(ops.floor(u[..., 1] * (w - size + 1)), "int32")[..., None]
    rows = ops.arange(h, dtype="int32")[None, None, :]
    cols = ops.arange(w, dtype="int32")[None, None, :]
    in_rows = ops.logical_and(rows >= top, rows < top + size)  # (N, B, H)
    in_cols = ops.logical_and(cols >= left, cols < left + size)  # (N, B, W)
    hit = ops.logical_and(in_rows[:, :, :, None], in_cols[:, :, None, :])  # (N, B, H, W)
    mask = ops.cast(ops.any(hit, axis=1), x.dtype)[..., None]  # (N, H, W, 1)
    mask = mask * ops.ones_like(imgs)
    out = ops.where(mask > 0, ops.cast(value, x.dtype), imgs)
    out = ops.reshape(out, orig_shape)
    if return_mask:
        return out, ops.reshape(mask, orig_shape)
    return out


def downsample(x, factor, image_shape=None):
    """Average-pools images by an integer `factor` (e.g. 2 or 4).

    Args:
        x: Float batch (N, H, W) or (N, H, W, C), or flat (N, D) with `image_shape`.
        factor: Positive int dividing H and W.
        image_shape: ``(H, W)`` or ``(H, W, C)`` for flat input.

    Returns:
        (N, H/f, W/f) or (N, H/f, W/f, C) (flat (N, D/f^2) for flat input);
        the per-image mean is preserved.
    """
    if isinstance(factor, bool) or not isinstance(factor, numbers.Integral) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    x = _float(x)
    rank = len(x.shape)
    imgs = _as_images(x, image_shape, "downsample")
    h, w = imgs.shape[1], imgs.shape[2]
    if h % factor or w % factor:
        raise ValueError(f"factor must divide H and W = ({h}, {w}), got {factor}")
    out = ops.average_pool(imgs, pool_size=factor, strides=factor, padding="valid")
    if image_shape is not None:
        return ops.reshape(out, (ops.shape(out)[0], -1))
    if rank == 3:
        return ops.squeeze(out, -1)
    return out


def corrupt(x, kind, seed=None, **params):
    """Applies the corruption named `kind` with its default parameters.

    Defaults: dropout ``rate=0.5``, gaussian ``stddev=0.3``, salt_and_pepper
    ``rate=0.1``, block ``size=8, value=0.5``; `params` override them.

    Args:
        x: Float batch (N, ...).
        kind: One of `CORRUPTIONS`.
        seed: Int, `None` or `keras.random.SeedGenerator`.
        **params: Keyword arguments of the underlying function.

    Returns:
        The corrupted batch.

    Example:
        >>> x_noisy = corrupt(x, "block", seed=1, size=10, image_shape=(28, 28))
    """
    if kind not in CORRUPTIONS:
        raise ValueError(f"kind must be one of {CORRUPTIONS}, got {kind!r}")
    fn = {
        "dropout": dropout_mask,
        "gaussian": gaussian_noise,
        "salt_and_pepper": salt_and_pepper,
        "block": block_mask,
    }[kind]
    accepted = [name for name in inspect.signature(fn).parameters if name not in ("x", "seed")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"the {kind!r} corruption takes the parameters {accepted}; got "
            f"unknown parameter(s) {unknown}"
        )
    return fn(x, seed=seed, **{**DEFAULTS[kind], **params})
