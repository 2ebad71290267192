"""Numeric tables from CSV files, per-feature scaling, and sequence windows."""

import csv
import json
import os
from pathlib import Path

import numpy as np

from keras_ae.datasets._paths import DatasetError, DatasetNotFoundError
from keras_ae.utils.files import atomic_output

SCALERS = ("minmax", "standard")


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_csv(path, label_column=None, header=None, delimiter=","):
    """Reads a numeric table; returns ``(x float64 (rows, features), labels or None,
    feature names)``.

    Args:
        path: The CSV file.
        label_column: A column name (needs a header) or index (negative counts
            from the end) that holds labels, or `None`. Labels are numbers when
            every one is, else strings.
        header: Whether the first row holds names; `None` infers it (a first row
            with a non-numeric cell above a numeric one is a header).
        delimiter: One character; `None` splits on runs of whitespace.

    Raises:
        DatasetNotFoundError: When there is no such file.
        DatasetError: Naming the row and column of a missing or non-numeric
            cell, or a row of the wrong length; naming the columns there are when
            `label_column` is not one of them.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetNotFoundError(f"csv: {str(path)!r} is no file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        if delimiter is None:
            rows = [line.split() for line in f]
        else:
            rows = list(csv.reader(f, delimiter=delimiter))
    rows = [r for r in rows if r and any(c.strip() for c in r)]  # blank lines
    if not rows:
        raise DatasetError(f"csv: {path} holds no rows")
    if header is None:
        header = len(rows) > 1 and any(
            not _is_number(a) and _is_number(b) for a, b in zip(rows[0], rows[1], strict=False)
        )
    names = [c.strip() for c in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    first_line = 2 if header else 1  # rows are named by their line in the file
    if not body:
        raise DatasetError(f"csv: {path} has a header but no data rows")
    width = len(names)
    for i, r in enumerate(body):
        if len(r) != width:
            raise DatasetError(
                f"csv: {path} line {i + first_line} has {len(r)} cells, expected {width} "
                f"(the {'header' if header else 'first row'}'s count)"
            )
    label_index = None
    if label_column is not None:
        if isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
            if not -width <= label_column < width:
                raise DatasetError(
                    f"csv: label_column={label_column} is out of range: {path} has {width} "
                    f"columns (0..{width - 1}): {', '.join(names)}"
                )
            label_index = int(label_column) % width
        elif label_column in names:
            label_index = names.index(label_column)
        else:
            raise DatasetError(
                f"csv: label_column={label_column!r} is not a column of {path}; its columns "
                f"are {', '.join(names) if header else f'unnamed (no header): 0..{width - 1}'}"
            )
    cells = np.array(body, dtype=str)
    keep = [j for j in range(width) if j != label_index]
    if not keep:
        raise DatasetError(f"csv: {path} has no feature column besides the label column")
    labels = None
    if label_index is not None:
        col = np.char.strip(cells[:, label_index])
        labels = col
        if all(_is_number(c) for c in col):
            labels = col.astype(np.float64)
            if np.all(labels == np.round(labels)) and np.isfinite(labels).all():
                labels = labels.astype(np.int64)
    x = _numeric(cells[:, keep], [names[j] for j in keep], path, first_line)
    return x, labels, [names[j] for j in keep]


def _numeric(cells, names, path, first_line):
    """Float64 table, else a DatasetError naming the first bad cell's line and column."""
    try:
        x = cells.astype(np.float64)
        bad = ~np.isfinite(x)
    except ValueError:
        x, bad = None, None
    if x is not None and not bad.any():
        return x
    for j in range(cells.shape[1]):  # one column at a time: only a failing one is walked
        try:
            col = cells[:, j].astype(np.float64)
            wrong = np.flatnonzero(~np.isfinite(col))
        except ValueError:
            wrong = [i for i, c in enumerate(cells[:, j]) if not _is_number(c)]
        if len(wrong):
            i = wrong[0]
            cell = cells[i, j].strip()
            what = "is missing (empty)" if not cell else f"holds {cell!r}, not a finite number"
            raise DatasetError(
                f"csv: {path} line {i + first_line}, column {names[j]!r} (index {j}) {what}; "
                "every feature cell must be a number (fill or drop such rows first)"
            )
    raise AssertionError("unreachable")


def windows(x, labels, length, stride):
    """Sliding windows over rows: ``(n, length, features)``; a window's label is its
    last row's."""
    if len(x) < length:
        raise DatasetError(f"sequence_length={length} is longer than the {len(x)} rows there are")
    starts = np.arange(0, len(x) - length + 1, stride)
    out = np.lib.stride_tricks.sliding_window_view(x, length, axis=0)[starts]
    out = np.ascontiguousarray(np.moveaxis(out, -1, 1))
    return out, None if labels is None else labels[starts + length - 1]


class FeatureScaler:
    """Per-feature scaling fitted on training data, reused for everything else.

    ``"minmax"`` maps each feature's training range to [0, 1]; ``"standard"``
    subtracts its training mean and divides by its standard deviation. A
    constant feature is shifted only (its spread counts as 1). Features are
    the last axis, so (n, features) tables and (n, steps, features) sequences
    scale alike. Saved as a small JSON file with the run, so rows scored later
    are scaled as the training rows were.

    Example:
        >>> scaler = FeatureScaler("minmax").fit(x_train)
        >>> scaler.save("run/scaler.json")
        >>> x_new = FeatureScaler.load("run/scaler.json").transform(rows)
    """

    def __init__(self, method="minmax", offset=None, scale=None):
        if method not in SCALERS:
            raise ValueError(f"method must be one of {SCALERS}, got {method!r}")
        self.method = method
        self.offset = None if offset is None else np.asarray(offset, np.float64)
        self.scale = None if scale is None else np.asarray(scale, np.float64)
        if (self.offset is None) != (self.scale is None) or (
            self.offset is not None and self.offset.shape != self.scale.shape
        ):
            raise ValueError("offset and scale must both be given, of the same length")
        if self.scale is not None and not (
            np.isfinite(self.scale).all()
            and np.isfinite(self.offset).all()
            and (self.scale > 0).all()
        ):
            raise ValueError(
                "a FeatureScaler's scale must be finite and positive, its offset finite"
            )

    @property
    def fitted(self):
        return self.offset is not None

    def fit(self, x):
        """Fits on `x` (..., features), the training data only; returns self."""
        x = np.asarray(x, np.float64)
        flat = x.reshape(-1, x.shape[-1])
        if not len(flat):
            raise ValueError("FeatureScaler.fit: no rows to fit on")
        if self.method == "minmax":
            self.offset, spread = flat.min(axis=0), np.ptp(flat, axis=0)
        else:
            self.offset, spread = flat.mean(axis=0), flat.std(axis=0)
        self.scale = np.where(spread > 0, spread, 1.0)
        return self

    def transform(self, x):
        """`x` scaled, float32; its feature count must be the fitted one."""
        if not self.fitted:
            raise ValueError("FeatureScaler.transform before fit (fit it on the training data)")
        x = np.asarray(x)
        if x.shape[-1:] != self.offset.shape:
            raise ValueError(
                f"FeatureScaler was fitted on {len(self.offset)} features, got data with "
                f"{x.shape[-1] if x.ndim else 0} (shape {x.shape})"
            )
        return ((x - self.offset) / self.scale).astype(np.float32)

    def inverse_transform(self, x):
        """Back to the original units (float64)."""
        return np.asarray(x, np.float64) * self.scale + self.offset

    def get_config(self):
        return {
            "method": self.method,
            "offset": None if self.offset is None else self.offset.tolist(),
            "scale": None if self.scale is None else self.scale.tolist(),
        }

    to_config = get_config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def save(self, path):
        """Writes the JSON config atomically."""
        with atomic_output(path) as staged:
            Path(staged).write_text(json.dumps(self.get_config()))

    @classmethod
    def load(cls, path):
        try:
            return cls.from_config(json.loads(Path(os.fspath(path)).read_text()))
        except (OSError, ValueError, TypeError) as e:
            raise ValueError(f"{path}: not a FeatureScaler JSON file ({e})") from e

    def __repr__(self):
        n = "unfitted" if not self.fitted else f"{len(self.offset)} features"
        return f"FeatureScaler({self.method!r}, {n})"
