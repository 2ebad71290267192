"""Anomaly detection by reconstruction error."""

import numpy as np

from keras_ae.tasks._common import as_model_input, reconstruct
from keras_ae.utils.validation import check_choice

ERRORS = ("mse", "mae")


class AnomalyDetector:
    """Flags samples an autoencoder trained on normal data reconstructs badly.

    `fit(x_normal)` computes the reconstruction error of every normal
    training sample and sets `threshold_ = mean + k * std` of those errors
    (training data only, as in TensorFlow's ECG5000 tutorial, where k = 1).
    `score(x)` is the per-sample error, `predict(x)` is 1 where the score is
    above the threshold (an anomaly) and 0 elsewhere.

    Args:
        model: a keras_ae `Autoencoder`, trained on normal data.
        k: how many standard deviations above the mean the threshold lies.
        error: `"mse"` (mean squared error per sample) or `"mae"` (mean
            absolute error, the tutorial's loss).

    Attributes:
        threshold_: the fitted threshold (after `fit`).
        train_scores_: the training errors it was computed from.

    Example:
        >>> detector = AnomalyDetector(model, k=1.0, error="mae")  # doctest: +SKIP
        >>> detector.fit(x_normal).predict(x_test)  # doctest: +SKIP
        array([0, 1, 0, ...])
    """

    def __init__(self, model, k=1.0, error="mse"):
        if not hasattr(model, "reconstruct"):
            raise ValueError(
                "model must be a keras_ae Autoencoder (with reconstruct()), got "
                f"{type(model).__name__}"
            )
        try:
            k = float(k)
        except (TypeError, ValueError):
            raise ValueError(f"k must be a number, got {k!r}") from None
        if not np.isfinite(k):
            raise ValueError(f"k must be finite, got {k!r}")
        self.model = model
        self.k = k
        self.error = check_choice("error", error, ERRORS)
        self.threshold_ = None
        self.train_scores_ = None

    def score(self, x):
        """Per-sample reconstruction error of `x` (higher = more anomalous).

        Args:
            x: batch with the model's number of values per sample.

        Returns:
            float64 numpy array of shape `(N,)`.
        """
        x_model, _ = as_model_input(self.model, x)
        diff = reconstruct(self.model, x_model).astype("float64") - x_model
        diff = diff.reshape(len(diff), -1)
        if self.error == "mse":
            return np.mean(diff**2, axis=1)
        return np.mean(np.abs(diff), axis=1)

    def fit(self, x_normal):
        """Sets the threshold from the errors of normal training samples.

        Args:
            x_normal: normal samples only (at least 2).

        Returns:
            self.
        """
        scores = self.score(x_normal)
        if len(scores) < 2:
            raise ValueError(
                f"fit needs at least 2 normal samples to estimate a spread, got {len(scores)}"
            )
        self.train_scores_ = scores
        self.threshold_ = float(scores.mean() + self.k * scores.std())
        return self

    def predict(self, x):
        """1 where `score(x)` is above the fitted threshold, else 0 (int array)."""
        if self.threshold_ is None:
            raise ValueError(
                "this AnomalyDetector is not fitted: call fit(x_normal) before predict"
            )
        return (self.score(x) > self.threshold_).astype("int64")
