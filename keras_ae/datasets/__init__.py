"""Loaders for the real datasets, in their publishers' file formats, and
`make_dataset`/`load`: one way in for arrays, built-in names, tensorflow-datasets
(``"tfds:NAME"``), image folders (``"images:DIR"``) and tables (``"csv:PATH"``).

Files are read from the ``data_dir`` argument when it is given (only there:
an explicit folder is authoritative), else from the ``KERAS_AE_DATA_DIR``
environment variable and then the Keras cache (``~/.keras/datasets``), under
the same sub-folders (``mnist/``, ``fashion_mnist/``, ``satimage/``,
``ecg5000/``, ``20newsgroups/``, ``reuters21578/``). Without ``data_dir``,
when online (and ``KERAS_AE_OFFLINE`` is unset) missing files are fetched
from their publisher into the Keras cache. Every file is checked against a
known sha256 (again whenever it may have changed); a corrupt or truncated
file raises `DatasetError` naming it.

Example:
    >>> from keras_ae import datasets
    >>> (x_train, _), (x_test, _) = datasets.load_mnist("../shared/data")
    >>> ds = datasets.make_dataset(x_train, batch_size=256, flatten=True, seed=0)
    >>> photos = datasets.make_dataset("images:~/photos", image_size=(64, 64))
"""

from keras_ae.datasets._paths import (
    DatasetError,
    DatasetNotFoundError,
    search_dirs,
)
from keras_ae.datasets.cifar import CIFAR10_CLASSES, load_cifar10_jpeg
from keras_ae.datasets.images import (
    IMAGE_LOADERS,
    load_fashion_mnist,
    load_images,
    load_mnist,
    read_idx,
)
from keras_ae.datasets.newsgroups import load_20newsgroups, strip_newsgroup_header
from keras_ae.datasets.pipeline import preprocess
from keras_ae.datasets.reuters import load_reuters21578, multi_hot
from keras_ae.datasets.sources import array_dataset, fit_scaler, load, make_dataset
from keras_ae.datasets.table import FeatureScaler
from keras_ae.datasets.tabular import load_ecg5000, load_satimage
from keras_ae.datasets.text import vectorize_text

__all__ = [
    "CIFAR10_CLASSES",
    "DatasetError",
    "DatasetNotFoundError",
    "FeatureScaler",
    "IMAGE_LOADERS",
    "array_dataset",
    "fit_scaler",
    "load",
    "load_20newsgroups",
    "load_cifar10_jpeg",
    "load_ecg5000",
    "load_fashion_mnist",
    "load_images",
    "load_mnist",
    "load_reuters21578",
    "load_satimage",
    "make_dataset",
    "multi_hot",
    "preprocess",
    "read_idx",
    "search_dirs",
    "strip_newsgroup_header",
    "vectorize_text",
]
