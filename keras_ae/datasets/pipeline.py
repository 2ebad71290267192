"""tf.data input pipelines and eager preprocessing for image arrays."""

import numpy as np
import tensorflow as tf

from keras_ae.utils.validation import check_positive_int

SCALES = ("unit", "symmetric", None)
BINARIZE = (None, "static", "dynamic")


def _check(scale, binarize, flatten, channels):
    if scale not in SCALES:
        raise ValueError(
            f'scale must be one of "unit", "symmetric" or None, got {scale!r}'
        )
    if binarize not in BINARIZE:
        raise ValueError(
            f'binarize must be None, "static" or "dynamic", got {binarize!r}'
        )
    if flatten and channels:
        raise ValueError("flatten=True and channels=True exclude each other; got both")


def _check_values(x, scale, binarize, fn):
    """Float images must be finite, and in [0, 1] wherever they are read as intensities
    (every setting but scale=None without binarize): a float copy of uint8 pixels
    (0-255) would otherwise pass through unscaled, and binarize to all ones."""
    if not np.issubdtype(x.dtype, np.floating) or not x.size:
        return
    low, high = float(np.min(x)), float(np.max(x))  # NaN and infinities show in both
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{fn}: x contains NaN or infinite values; expected finite values")
    if (scale is not None or binarize is not None) and (low < -1e-6 or high > 1 + 1e-6):
        raise ValueError(
            f"{fn}: x is a float array with values in [{low:g}, {high:g}], but float images "
            "are read as intensities in [0, 1] (integer images are divided by 255): divide "
            "it by 255 or pass the uint8 array itself; for other values (TF-IDF, "
            "standardized features) use scale=None without binarize, which keeps them as "
            "they are"
        )


def _unit(x, integer):
    """Casts to float32 in [0, 1] for integer input (divides by 255)."""
    x = tf.cast(x, tf.float32)
    return x / 255.0 if integer else x


def _finish(x, scale, flatten, channels, sample_rank):
    """Applies scale/flatten/channels to a [0, 1] float batch (or raw values for scale=None)."""
    if scale == "symmetric":
        x = 2.0 * x - 1.0
    if flatten:
        x = tf.reshape(x, [tf.shape(x)[0], -1])
    elif channels and sample_rank == 2:
        x = x[..., tf.newaxis]
    return x


def preprocess(
    x, scale="unit", flatten=False, channels=False, binarize=None, threshold=0.5
):
    """Applies `make_dataset`'s transforms eagerly to a numpy batch.

    Args:
        x: Array of shape (N, H, W) or (N, H, W, C); integer arrays (uint8
            images) are divided by 255, float arrays are taken as in [0, 1].
        scale: ``"unit"`` for [0, 1], ``"symmetric"`` for [-1, 1], `None`
            for the raw values as float32.
        flatten: Reshape each sample to a vector, e.g. (N, 784).
        channels: Add a channel axis to (N, H, W) input, giving (N, H, W, 1).
        binarize: `None` or ``"static"`` (intensity > `threshold` gives 1).
            ``"dynamic"`` is only meaningful in a pipeline.
        threshold: Static binarization threshold on the [0, 1] intensity.

    Returns:
        A float32 numpy array.

    Example:
        >>> x = preprocess(x_test, flatten=True)  # (10000, 784) in [0, 1]
    """
    _check(scale, binarize, flatten, channels)
    if binarize == "dynamic":
        raise ValueError(
            'binarize="dynamic" needs make_dataset; preprocess accepts None or "static"'
        )
    x = np.asarray(x)
    _check_values(x, scale, binarize, "preprocess")
    integer = np.issubdtype(x.dtype, np.integer)
    if scale is None and binarize is None:
        out = x.astype(np.float32)
    else:
        out = x.astype(np.float32) / 255.0 if integer else x.astype(np.float32)
        if binarize == "static":
            out = (out > threshold).astype(np.float32)
        if scale == "symmetric":
            out = 2.0 * out - 1.0
    if flatten:
        out = out.reshape(len(out), -1)
    elif channels and out.ndim == 3:
        out = out[..., None]
    return out


def make_dataset(
    x,
    y=None,
    batch_size=128,
    shuffle=True,
    seed=None,
    scale="unit",
    flatten=False,
    channels=False,
    binarize=None,
    threshold=0.5,
    drop_remainder=False,
    prefetch=True,
    cache=True,
    repeat=False,
):
    """Builds a batched `tf.data.Dataset` over an image array.

    The pipeline is ``from_tensor_slices -> cache -> shuffle -> repeat ->
    batch -> map(transform) -> prefetch``: every transform runs once per
    batch, vectorized, with no per-sample Python work. The raw (uint8) array
    is what gets cached, so memory stays at one byte per pixel.

    Args:
        x: Images (N, H, W) or (N, H, W, C), usually uint8; integer arrays are
            divided by 255, float arrays are taken as already in [0, 1].
        y: Optional targets/labels, passed through unchanged. When `None` the
            dataset yields ``x`` batches only (autoencoders use ``y = x``).
        batch_size: Samples per batch.
        shuffle: Shuffle the whole array, afresh every epoch.
        seed: Int seed for shuffling and dynamic binarization; the same seed
            gives the same sequence of epochs.
        scale: ``"unit"`` for [0, 1], ``"symmetric"`` for [-1, 1], `None`
            for raw values as float32.
        flatten: Yield (batch, H*W*C) vectors.
        channels: Yield (batch, H, W, 1) for (N, H, W) input.
        binarize: `None`; ``"static"`` thresholds the intensity once
            (> `threshold`); ``"dynamic"`` draws a fresh Bernoulli sample with
            the intensity as probability every epoch (Salakhutdinov & Murray,
            2008). Binary output is {0, 1} ({-1, 1} with ``scale="symmetric"``).
        threshold: Static binarization threshold on the [0, 1] intensity.
        drop_remainder: Drop the last partial batch.
        prefetch: Prefetch with `tf.data.AUTOTUNE`.
        cache: Cache the raw array in memory after the first epoch.
        repeat: Repeat forever (then pass ``steps_per_epoch`` to ``fit``).

    Returns:
        A `tf.data.Dataset` yielding float32 ``x`` batches, or ``(x, y)``.

    Example:
        >>> ds = make_dataset(x_train, batch_size=256, flatten=True, seed=0)
        >>> model.fit(ds, epochs=10)
    """
    _check(scale, binarize, flatten, channels)
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must be a batch of samples (N, ...), got shape {x.shape}")
    batch_size = check_positive_int("batch_size", batch_size)  # numpy integers too
    _check_values(x, scale, binarize, "make_dataset")
    if y is not None and len(y) != len(x):
        raise ValueError(
            f"x and y must have the same length, got {len(x)} and {len(y)}"
        )
    integer = np.issubdtype(x.dtype, np.integer)
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

    def transform(xb, noise_seed=None):
        if scale is None and binarize is None:
            xb = tf.cast(xb, tf.float32)
        else:
            xb = _unit(xb, integer)
            if binarize == "static":
                xb = tf.cast(xb > threshold, tf.float32)
            elif binarize == "dynamic":
                u = tf.random.stateless_uniform(tf.shape(xb), seed=noise_seed)
                xb = tf.cast(u < xb, tf.float32)
        return _finish(xb, scale, flatten, channels, sample_rank)

    if binarize == "dynamic":
        # One int64 pair per batch; rerandomize_each_iteration gives every
        # epoch fresh draws, repeatable for a given seed.
        seeds = tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True
        ).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds))
        if has_y:
            ds = ds.map(
                lambda b, s: (transform(b[0], s), b[1]),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        else:
            ds = ds.map(
                lambda b, s: transform(b, s), num_parallel_calls=tf.data.AUTOTUNE
            )
    elif has_y:
        ds = ds.map(
            lambda xb, yb: (transform(xb), yb), num_parallel_calls=tf.data.AUTOTUNE
        )
    else:
        ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds
