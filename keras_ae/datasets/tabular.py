"""Tabular and time-series datasets: Statlog Landsat (satimage) and ECG5000."""

import numpy as np

from keras_ae.datasets._paths import DatasetError, locate

SATIMAGE_CLASSES = (1, 2, 3, 4, 5, 7)


def _read_table(path, delimiter, ncols):
    try:
        data = np.loadtxt(path, delimiter=delimiter, dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise DatasetError(f"{path}: malformed table: {e}") from e
    if data.shape[1] != ncols:
        raise DatasetError(f"{path}: expected {ncols} columns, got {data.shape[1]}")
    return data


def load_satimage(data_dir=None, download=True):
    """Loads Statlog (Landsat Satellite) from ``satimage/sat.trn`` and ``sat.tst``.

    Each row is 3x3 pixels x 4 spectral bands (36 integer features, 27..157)
    and the class of the centre pixel, in {1, 2, 3, 4, 5, 7} (there is no 6).

    Args:
        data_dir: Directory holding ``satimage/``.
        download: Whether missing files may be fetched when online.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 features of shape
        (4435, 36) and (2000, 36), uint8 labels with the original class codes.
    """
    out = []
    for path in locate(["satimage/sat.trn", "satimage/sat.tst"], data_dir, download):
        data = _read_table(path, None, 37)
        x, y = data[:, :-1].astype(np.float32), data[:, -1].astype(np.uint8)
        bad = set(np.unique(y).tolist()) - set(SATIMAGE_CLASSES)
        if bad:
            raise DatasetError(f"{path}: unexpected class labels {sorted(bad)}")
        out.append((x, y))
    return tuple(out)


def load_ecg5000(data_dir=None, split=None, download=True):
    """Loads ECG5000 as used by TensorFlow's anomaly-detection tutorial.

    ``ecg5000/ecg.csv`` holds 4,998 heartbeats of 140 samples and a label
    (1 = normal, 2,919 rows; 0 = anomalous, 2,079 rows).

    Args:
        data_dir: Directory holding ``ecg5000/``.
        split: `None` returns all rows; ``"tutorial"`` returns the tutorial's
            ``train_test_split(data, labels, test_size=0.2, random_state=21)``.
        download: Whether missing files may be fetched when online.

    Returns:
        ``(x, y)`` for ``split=None``, else ``(x_train, y_train), (x_test, y_test)``;
        x is float32 of width 140 (not normalized; the tutorial min-max scales
        with the training split's min and max), y is uint8.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_ecg5000(split="tutorial")
    """
    if split not in (None, "tutorial"):
        raise ValueError(f'split must be None or "tutorial", got {split!r}')
    (path,) = locate(["ecg5000/ecg.csv"], data_dir, download)
    data = _read_table(path, ",", 141)
    x, labels = data[:, :-1], data[:, -1]
    if split is None:
        return x.astype(np.float32), labels.astype(np.uint8)
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(x, labels, test_size=0.2, random_state=21)
    return (x_train.astype(np.float32), y_train.astype(np.uint8)), (
        x_test.astype(np.float32),
        y_test.astype(np.uint8),
    )
