"""Missing-value imputation with a trained autoencoder."""

import numpy as np

from keras_ae.tasks.restoration import fill_missing
from keras_ae.utils.validation import refuse_integers


def impute(model, x, mask=None, fill="mean", iterations=1):
    """Fills only the missing entries of `x` with the model's reconstruction.

    Missing entries are first set to `fill` (by default each feature's mean
    over the observed entries), then the batch is reconstructed and the
    missing entries replaced, `iterations` times. Observed entries are
    returned unchanged.

    Args:
        model: a trained keras_ae `Autoencoder` (for tabular data, trained on
            inputs scaled as `x` is; a denoiser trained with
            `noise="dropout"` suits missing values).
        x: batch with the model's number of values per sample. Missing entries
            may hold anything (e.g. the 0 that `corruption.random_missing`
            writes) or NaN.
        mask: array of `x`'s shape, 1 where missing (what
            `corruption.random_missing` returns); None means "where x is NaN".
        fill: initial value of missing entries: `"mean"`, a number, or one
            value per feature (e.g. the training means).
        iterations: reconstruct-and-fill passes (>= 1). More passes help a model
            trained on inputs filled like its own outputs; a denoiser trained on
            masked (zeroed) inputs does best with one (docs/results/imputation.md).

    Returns:
        float32 numpy array of `x`'s shape.

    Example:
        >>> x_missing, mask = corruption.random_missing(x, 0.3, seed=0)  # doctest: +SKIP
        >>> x_filled = impute(model, np.asarray(x_missing), np.asarray(mask))  # doctest: +SKIP
    """
    try:
        arr = np.asarray(x)
        if not np.issubdtype(arr.dtype, np.number):  # (bool, or a list of numbers as objects)
            arr = arr.astype("float32")
    except (TypeError, ValueError) as e:
        raise ValueError(f"x must be a numeric array, could not convert it: {e}") from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(
            f"x must hold real numbers, got complex dtype {arr.dtype}: pass x.real "
            "if that is what you mean"
        )
    refuse_integers(arr)  # (float64 stays: the cast to float32 is checked after the fill)
    nan = np.isnan(arr)
    if mask is None:
        if not nan.any():
            inf = int(np.isinf(arr).sum())
            raise ValueError(
                "give a mask (1 = missing), or mark missing entries of x as NaN; "
                "got no mask and no NaN in x"
                + (f" ({inf} infinite value(s): only NaN marks a missing entry)" if inf else "")
            )
        mask = nan
    elif nan.any() and np.shape(mask) == arr.shape and not np.asarray(mask, dtype=bool)[nan].all():
        raise ValueError("x has NaN entries that the mask marks as observed (0)")
    if fill is None:
        raise ValueError("fill must be 'mean', a number or per-feature values, got None")
    return fill_missing(model, arr, mask, fill=fill, iterations=iterations)
