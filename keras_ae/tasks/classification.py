"""AEkNN: k-nearest-neighbour classification on autoencoder codes."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from keras_ae.tasks._common import check_k, check_labels, check_scale
from keras_ae.utils.validation import check_array, refuse_integers


class AEKNNClassifier(ClassifierMixin, BaseEstimator):
    """k-nearest neighbours in the code space of an autoencoder (AEkNN).

    The encoder maps every sample to its code; a kNN classifier (Euclidean
    distance, majority vote) is fitted on the codes of the training set.

    Args:
        model: a keras_ae `Autoencoder` (its `encode` is used), any Keras
            model or callable mapping a batch to codes (an encoder), or None
            for plain kNN on the (flattened) inputs.
        k: number of neighbours (at most the number of training samples).
        weights: `"uniform"` or `"distance"` vote, as in scikit-learn.

    It is a scikit-learn classifier: `cross_val_score`, `GridSearchCV` (over
    `k` or `weights`) and pipelines take it. A clone shares the encoder, which
    `fit` never trains, and refits only the kNN.

    Example:
        >>> clf = AEKNNClassifier(model, k=5).fit(x_train, y_train)  # doctest: +SKIP
        >>> clf.score(x_test, y_test)  # doctest: +SKIP
        0.91

    References:
        Pulgar, Charte, Rivera & del Jesus, "AEkNN: An AutoEncoder kNN-based
        classifier with built-in dimensionality reduction", IJCIS 12(1), 2019.
    """

    def __init__(self, model=None, k=5, weights="uniform"):
        self.model = model
        self.k = k
        self.weights = weights
        self._check_params()
        self._knn = None

    def _check_params(self):
        # Checked when built and again in fit, since set_params (GridSearchCV) skips __init__.
        model, k, weights = self.model, self.k, self.weights
        if model is not None and (
            isinstance(model, (str, bytes)) or not (hasattr(model, "encode") or callable(model))
        ):
            raise ValueError(
                f"model must be a keras_ae Autoencoder, an encoder (callable) or None, "
                f"got {type(model).__name__}"
            )
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if weights not in ("uniform", "distance"):
            raise ValueError(f"weights must be 'uniform' or 'distance', got {weights!r}")

    def __sklearn_clone__(self):
        # scikit-learn's clone would deep-copy the Keras encoder; fit never changes it.
        return type(self)(**self.get_params(deep=False))

    def transform(self, x):
        """The codes of `x`, flattened to `(N, code_size)` float32."""
        x = check_array(x, None, "x")
        if self.model is not None:  # integer images go to no model as floats
            refuse_integers(x, "x")
        if self.model is None:
            codes = x
        elif hasattr(self.model, "encode"):
            check_scale(self.model, x)
            shape = getattr(self.model, "input_shape_", None)
            if shape is not None and int(np.prod(x.shape[1:])) == int(np.prod(shape)):
                x = x.reshape((len(x),) + tuple(shape))
            codes = self.model.encode(x.astype("float32"))
        elif hasattr(self.model, "predict"):
            try:  # a Keras encoder's input layout, e.g. (N, 784) for (N, 28, 28) images
                shape = tuple(self.model.input_shape[1:])
            except (AttributeError, ValueError, TypeError):
                shape = ()
            if shape and None not in shape and x.shape[1:] != shape:
                if int(np.prod(x.shape[1:])) != int(np.prod(shape)):
                    raise ValueError(
                        f"x must have samples of {int(np.prod(shape))} values for an "
                        f"encoder with input shape {shape}; got shape {x.shape}"
                    )
                x = x.reshape((len(x),) + shape)
            codes = self.model.predict(x.astype("float32"), verbose=0)
        else:
            codes = self.model(x.astype("float32"))
        codes = np.asarray(codes, dtype="float32")
        return codes.reshape(len(codes), -1)

    def fit(self, x, y):
        """Encodes the training set and stores its codes and labels.

        Args:
            x: training samples.
            y: their labels, shape `(N,)`.

        Returns:
            self.
        """
        from sklearn.neighbors import KNeighborsClassifier

        self._check_params()
        y = check_labels(y, "y")
        codes = self.transform(x)
        if y.ndim != 1 or len(y) != len(codes):
            raise ValueError(
                f"y must be a 1-D array with one label per sample ({len(codes)}), "
                f"got shape {y.shape}"
            )
        check_k(int(self.k), len(codes), "k", "the training set")
        self._knn = KNeighborsClassifier(n_neighbors=int(self.k), weights=self.weights)
        self._knn.fit(codes, y)
        self.classes_ = self._knn.classes_
        return self

    def _check_fitted(self):
        if self._knn is None:
            raise ValueError("this AEKNNClassifier is not fitted: call fit(x, y) first")

    def predict(self, x):
        """The majority label among the k nearest training codes of each sample."""
        self._check_fitted()
        return self._knn.predict(self.transform(x))

    def predict_proba(self, x):
        """Each class's share of the (weighted) vote, columns in `classes_` order."""
        self._check_fitted()
        return self._knn.predict_proba(self.transform(x))

    def score(self, x, y):
        """Accuracy of `predict(x)` against `y`."""
        y = np.asarray(y)
        pred = self.predict(x)
        if y.shape != pred.shape:
            raise ValueError(
                f"y must have shape {pred.shape} (one label per sample), got {y.shape}"
            )
        return float(np.mean(pred == y))
