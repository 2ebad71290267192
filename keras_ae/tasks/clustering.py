"""Clustering scores: accuracy under the best cluster-to-class matching, and NMI."""

import numpy as np

from keras_ae.tasks._common import check_labels


def _labels(y, pred):
    y, pred = check_labels(y, "y"), check_labels(pred, "pred")
    for name, a in (("y", y), ("pred", pred)):
        # None gave 1.0, and a 2-D array was flattened into other labels
        if a.ndim != 1 or a.dtype == object:
            raise ValueError(
                f"{name} must be a 1-D array of labels, got "
                f"{a.dtype if a.dtype == object else 'shape'} "
                f"{'' if a.dtype == object else a.shape}".rstrip()
            )
    if len(y) != len(pred) or len(y) == 0:
        raise ValueError(
            f"y and pred must be non-empty and of equal length, got {len(y)} and {len(pred)}"
        )
    return y, pred


def _contingency(y, pred):
    classes, y_idx = np.unique(y, return_inverse=True)
    clusters, p_idx = np.unique(pred, return_inverse=True)
    table = np.zeros((len(clusters), len(classes)), dtype=np.int64)
    np.add.at(table, (p_idx, y_idx), 1)
    return table


def cluster_accuracy(y, pred):
    """Accuracy after matching each cluster to one class (Hungarian algorithm).

    The one-to-one assignment of cluster ids to class labels that maximises
    the number of agreements is found with
    `scipy.optimize.linear_sum_assignment`; clusters left unmatched (more
    clusters than classes) count as errors.

    Args:
        y: true labels, shape `(N,)`.
        pred: cluster ids, shape `(N,)`.

    Returns:
        float in [0, 1].

    Example:
        >>> cluster_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
        1.0
    """
    from scipy.optimize import linear_sum_assignment

    y, pred = _labels(y, pred)
    table = _contingency(y, pred)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(y))


def nmi(y, pred):
    """Normalized mutual information (arithmetic-mean normalization).

    Equals scikit-learn's `normalized_mutual_info_score` with its default.

    Args:
        y: true labels, shape `(N,)`.
        pred: cluster ids, shape `(N,)`.

    Returns:
        float in [0, 1]; 1.0 when both labelings have a single value.

    Example:
        >>> round(nmi([0, 0, 1, 1], [1, 1, 0, 0]), 6)
        1.0
    """
    y, pred = _labels(y, pred)
    table = _contingency(y, pred).astype(np.float64)
    n = table.sum()
    p = table / n
    pc, py = p.sum(axis=1), p.sum(axis=0)
    nz = p > 0
    mi = float(np.sum(p[nz] * np.log(p[nz] / np.outer(pc, py)[nz])))
    h_c = -float(np.sum(pc * np.log(pc)))
    h_y = -float(np.sum(py * np.log(py)))
    if h_c == 0 and h_y == 0:
        return 1.0
    denom = (h_c + h_y) / 2
    return max(0.0, mi / denom) if denom > 0 else 0.0
