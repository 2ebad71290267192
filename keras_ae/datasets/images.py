"""MNIST and Fashion-MNIST from the publishers' IDX ``.gz`` files."""

import gzip
import os
import zlib

import numpy as np

from keras_ae.datasets._paths import DatasetError, DatasetNotFoundError, locate

_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def read_idx(path, ndim=None):
    """Parses a gzip-compressed IDX file of unsigned bytes.

    Args:
        path: Path of a ``*-idx?-ubyte.gz`` file.
        ndim: Expected number of dimensions (3 for images, 1 for labels);
            `None` accepts any.

    Returns:
        A uint8 numpy array of the shape stored in the header.

    Raises:
        DatasetError: On a bad gzip stream, bad magic number, wrong number of
            dimensions or a payload whose length does not match the header.
        DatasetNotFoundError: When there is no such file.
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise ValueError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None
    if ndim is not None and (isinstance(ndim, bool) or not isinstance(ndim, int) or ndim < 1):
        raise ValueError(f"ndim must be None or a positive int, got {ndim!r}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError as e:  # missing, not corrupt
        raise DatasetNotFoundError(f"{path}: no such file") from e
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"{path}: not a valid gzip stream (truncated or corrupt): {e}") from e
    if len(raw) < 4:
        raise DatasetError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    zero, dtype_code, nd = raw[0] << 8 | raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise DatasetError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()}: expected 0x000008NN "
            "(unsigned byte data)"
        )
    if ndim is not None and nd != ndim:
        raise DatasetError(f"{path}: expected {ndim} IDX dimensions, header says {nd}")
    header = 4 + 4 * nd
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=nd, offset=4))
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path}: IDX payload has {len(raw) - header} bytes, header {dims} "
            f"needs {expected} (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _load_idx_family(sub, data_dir, download):
    paths = locate([f"{sub}/{name}" for name in _FILES], data_dir, download)
    x_train, y_train, x_test, y_test = (read_idx(p, 3 if "images" in p.name else 1) for p in paths)
    for x, y, p in ((x_train, y_train, paths[0]), (x_test, y_test, paths[2])):
        if len(x) != len(y):
            raise DatasetError(f"{p}: {len(x)} images but {len(y)} labels")
    return (x_train, y_train), (x_test, y_test)


def load_mnist(data_dir=None, download=True):
    """Loads MNIST from the four IDX files in ``<data_dir>/mnist/``.

    Args:
        data_dir: Directory holding ``mnist/``, the only one read when given
            (see `keras_ae.datasets` for the search order when `None`).
        download: Whether missing files may be fetched when online.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shape
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_mnist("../shared/data")
    """
    return _load_idx_family("mnist", data_dir, download)


def load_fashion_mnist(data_dir=None, download=True):
    """Loads Fashion-MNIST from the four IDX files in ``<data_dir>/fashion_mnist/``.

    Args:
        data_dir: Directory holding ``fashion_mnist/``.
        download: Whether missing files may be fetched when online.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as for `load_mnist`.
    """
    return _load_idx_family("fashion_mnist", data_dir, download)


#: The 28x28 image datasets by name: the one table the CLI, the zoo and the
#: scripts choose a loader from.
IMAGE_LOADERS = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist}


def load_images(name, data_dir=None, download=True):
    """Loads the image dataset `name` ("mnist" or "fashion_mnist").

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as for `load_mnist`.

    Example:
        >>> (x_train, _), _ = load_images("fashion_mnist", "../shared/data")
    """
    if name not in IMAGE_LOADERS:
        raise ValueError(f"image dataset must be one of {sorted(IMAGE_LOADERS)}, got {name!r}")
    return IMAGE_LOADERS[name](data_dir, download)
