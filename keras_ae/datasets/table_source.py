"""The sources held in memory: ``"csv:PATH"`` tables and the built-in array datasets.

Owns which rows each split gets (a fixed hold-out for ``validation_split``; for
sliding windows the last rows, so that no window straddles train and
validation), the per-feature `FeatureScaler` a ``scale`` asks for, fitted on the
training rows only, and the reshape of rows into samples (``sample_shape``).
"""

import numpy as np

from keras_ae.datasets.images import IMAGE_LOADERS
from keras_ae.datasets.pipeline import SCALES, holdout
from keras_ae.datasets.table import SCALERS, FeatureScaler, read_csv, windows
from keras_ae.datasets.tabular import load_ecg5000, load_satimage
from keras_ae.utils.validation import check_positive_int


def table_rows(kind, value, split, validation_split, with_labels, opts):
    """(x, labels, training rows to fit a scaler on) of the `split` of a ``csv:``
    source or a built-in array dataset (`kind`); ``opts`` holds its options."""
    if kind == "csv":
        if opts["label_column"] is None and with_labels:
            raise ValueError("with_labels=True needs label_column= (the column holding them)")
        x, labels, _ = read_csv(value, opts["label_column"], opts["header"], opts["delimiter"])
        length = opts["sequence_length"]
        if length is not None:
            length = check_positive_int("sequence_length", length)
            stride = check_positive_int("sequence_stride", opts["sequence_stride"])
            # chronological: validation is the last rows, so no window straddles both
            cut = (
                len(x) if validation_split is None else int(round(len(x) * (1 - validation_split)))
            )
            if split == "validation" and validation_split is None:
                holdout(len(x), None, split, value)
            rows = {"test": slice(None), "train": slice(None, cut)}.get(split, slice(cut, None))
            part_y = None if labels is None else labels[rows]
            return (*windows(x[rows], part_y, length, stride), x[:cut])
        if split == "test":
            if validation_split is not None:
                raise ValueError(
                    "validation_split takes rows from the training data; it does "
                    "not apply to split='test' (the whole file)"
                )
            return x, labels, None
        train_idx = holdout(len(x), validation_split, "train", value)
        fit_rows = x[train_idx]
        idx = train_idx if split == "train" else holdout(len(x), validation_split, split, value)
        return x[idx], None if labels is None else labels[idx], fit_rows
    loader = {
        **IMAGE_LOADERS,
        "satimage": load_satimage,
        "ecg5000": lambda data_dir: load_ecg5000(data_dir, split="tutorial"),
    }[kind]
    (x, y), (xt, yt) = loader(opts["data_dir"])
    train_idx = holdout(len(x), validation_split, "train", kind)
    fit_rows = x[train_idx]
    if split == "test":
        if validation_split is not None:
            raise ValueError("validation_split does not apply to split='test'")
        return xt, yt, fit_rows
    idx = train_idx if split == "train" else holdout(len(x), validation_split, split, kind)
    return x[idx], y[idx], fit_rows


def resolve_scaler(scale, fit_rows, kind, split):
    """The FeatureScaler `scale` asks for (fitted on the training rows), or None."""
    if isinstance(scale, FeatureScaler):
        if not scale.fitted:
            raise ValueError("scale is an unfitted FeatureScaler; fit it on training data")
        return scale
    if scale in SCALERS:
        if fit_rows is None:
            raise ValueError(
                f"scale={scale!r} would be fitted on the {split!r} rows; a scaler is fitted on "
                "training data only: pass the training source's fitted scaler, "
                "scale=datasets.fit_scaler(train_source, ...) or FeatureScaler.load(path)"
            )
        return FeatureScaler(scale).fit(fit_rows)
    return None


def array_scaler(scale):
    """The fitted FeatureScaler `scale` gives for an array source, or None; a method
    name is refused (an array has no training rows to fit on apart from itself)."""
    if isinstance(scale, FeatureScaler):
        return resolve_scaler(scale, None, "array", "train")
    if scale in SCALERS:
        raise ValueError(
            f"scale={scale!r} for an array: fit the per-feature scaler on the training array "
            f"and pass it, scale=FeatureScaler({scale!r}).fit(x_train); scale takes "
            f'"unit", "symmetric" or None for images'
        )
    if scale != "auto" and scale not in SCALES:
        raise ValueError(
            f'scale must be one of "auto", "unit", "symmetric", None, '
            f'"minmax", "standard" or a FeatureScaler, got {scale!r}'
        )
    return None


def reshape_rows(x, sample_shape):
    """Each row of `x` reshaped to `sample_shape` (``sample_shape=`` of tables)."""
    try:
        shape = tuple(check_positive_int("sample_shape", d) for d in sample_shape)
    except TypeError:
        raise ValueError(
            f"sample_shape must be a tuple of positive ints, got {sample_shape!r}"
        ) from None
    if int(np.prod(shape)) != int(np.prod(x.shape[1:])):
        raise ValueError(
            f"sample_shape={shape} holds {int(np.prod(shape))} values; the rows "
            f"have {int(np.prod(x.shape[1:]))}"
        )
    return x.reshape((len(x), *shape))
