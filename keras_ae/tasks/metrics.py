"""Image quality: PSNR and SSIM, per image and averaged over a batch."""

import math

import numpy as np

from keras_ae.utils.validation import check_array, other_scale


def _pair(x, y):
    x = check_array(x, None, "x").astype("float64")
    y = check_array(y, None, "y").astype("float64")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.ndim < 2:
        raise ValueError(f"x and y must be batches (N, ...), got shape {x.shape}")
    return x, y


def _reduce(values, reduction):
    if reduction == "mean":
        return float(np.mean(values))
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def _check_range(data_range, *arrays):
    if (
        isinstance(data_range, bool)
        or not isinstance(data_range, (int, float, np.number))
        or not data_range > 0
    ):
        raise ValueError(
            f"data_range must be a number > 0 (1.0 for [0, 1], 255 for uint8), got {data_range!r}"
        )
    for name, a in zip("xy", arrays, strict=False):
        # uint8 pixels with the default data_range=1.0 gave PSNRs of -25 dB
        bad = other_scale(a, 0.0, float(data_range))
        if bad:
            raise ValueError(
                f"{name} holds values in [{bad[0]:g}, {bad[1]:g}], far outside "
                f"data_range={data_range!r}: pass data_range=255 for uint8 pixels, or scale "
                "both images to [0, data_range]"
            )


def psnr(x, y, data_range=1.0, reduction="mean"):
    """Peak signal-to-noise ratio `10 log10(data_range^2 / MSE)`: the package's one PSNR.

    A batch's PSNR is that of its pooled MSE; the zoo cards' `denoised_psnr`
    and `corrupted_psnr` are the mean of the per-image values
    (`reduction="none"`), as their protocol says.

    Args:
        x: reference batch (N, ...).
        y: batch to compare, same shape.
        data_range: the span of pixel values (1.0 for [0, 1], 255 for uint8).
        reduction: `"mean"` (a float: the PSNR of the MSE averaged over all
            images, so that one exactly restored image, e.g. an inpainted
            patch that fell on a blank background, cannot make the batch
            score infinite) or `"none"` (one PSNR per image).

    Returns:
        PSNR in dB; identical inputs give `inf`.

    Example:
        >>> x = np.zeros((1, 4))
        >>> round(psnr(x, x + 0.1), 3)
        20.0
    """
    x, y = _pair(x, y)
    _check_range(data_range, x, y)
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    mse = np.mean((x - y).reshape(len(x), -1) ** 2, axis=1)
    if reduction == "mean":
        return float(psnr_of_mse(np.mean(mse), data_range))
    return psnr_of_mse(mse, data_range)


def psnr_of_mse(mse, data_range):
    """`10 log10(data_range^2 / mse)` in dB, elementwise: the formula `psnr` uses,
    for callers that already hold mean squared errors (export verification)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(float(data_range) ** 2 / np.asarray(mse, dtype="float64"))


def _images(x):
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(
                f"flat images must be square (D = side^2), got {x.shape[1]} values per sample"
            )
        return x.reshape(len(x), side, side, 1)
    if x.ndim == 3:
        return x[..., None]
    if x.ndim == 4:
        return x
    raise ValueError(f"images must be (N, D), (N, H, W) or (N, H, W, C), got shape {x.shape}")


def ssim(x, y, data_range=1.0, reduction="mean"):
    """Structural similarity (Wang et al. 2004) of each image pair.

    Gaussian window of size 11 (smaller for images under 11 pixels) and
    sigma 1.5, constants K1 = 0.01, K2 = 0.03, computed by `tf.image.ssim`.

    Args:
        x: reference images `(N, H, W)`, `(N, H, W, C)` or flat square `(N, H*W)`.
        y: images to compare, same shape.
        data_range: the span of pixel values.
        reduction: `"mean"` or `"none"` (one value per image).

    Returns:
        SSIM in [-1, 1]; 1 for identical images.

    Example:
        >>> x = np.random.default_rng(0).random((2, 28, 28))
        >>> round(ssim(x, x), 4)
        1.0
    """
    import tensorflow as tf

    x, y = _pair(x, y)
    _check_range(data_range, x, y)
    a, b = _images(x), _images(y)
    size = min(11, a.shape[1], a.shape[2])
    values = (
        tf.image.ssim(
            tf.constant(a, tf.float32),
            tf.constant(b, tf.float32),
            max_val=float(data_range),
            filter_size=size,
        )
        .numpy()
        .astype("float64")
    )
    return _reduce(values, reduction)
