"""CIFAR-10 (JPEG): CIFAR-10 re-encoded as JPEG files, read as an image folder.

The tarball ``cifar10_jpeg/cifar-10-images.tar.gz`` holds
``cifar-10-images/{train,test}/<class>/NNNN.jpg`` (32x32 RGB, 5,000 + 1,000 a
class). It is a lossy re-encoding, not the official pixels: figures on it are
"CIFAR-10 (JPEG)" figures. It is extracted once into the Keras cache and read
from there by the image-folder code.
"""

import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np

from keras_ae.datasets._paths import (
    CHECKSUMS,
    DatasetError,
    check_flag,
    keras_cache_dir,
    locate,
)
from keras_ae.datasets.folder import read_image_folder

KEY = "cifar10_jpeg/cifar-10-images.tar.gz"
ROOT = "cifar-10-images"
#: Label order: sorted folder names, which is also the official CIFAR-10 order.
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def _safe_members(tar, path):
    """The tar's members, each checked: a regular file or folder under ``ROOT/``,
    no absolute path, no ``..``, no link or device (a crafted tarball must not
    write outside the cache folder)."""
    members = tar.getmembers()
    for m in members:
        parts = PurePosixPath(m.name).parts
        if (
            m.name.startswith("/")
            or ".." in parts
            or not parts
            or parts[0] != ROOT
            or not (m.isfile() or m.isdir())
        ):
            raise DatasetError(
                f"{path}: unexpected member {m.name!r} (type {m.type!r}); expected only files "
                f"and folders under {ROOT}/. The file is not the CIFAR-10 (JPEG) tarball."
            )
    return members


def extracted_cifar10_jpeg(data_dir=None):
    """The folder ``.../cifar-10-images`` holding ``train/`` and ``test/``, extracting
    the (sha256-checked) tarball into the Keras cache on first use.

    Extraction goes to a staging folder beside the target, renamed into place
    when complete, so a killed extraction leaves no half folder that a later call
    would read; two processes extracting at once both succeed (the loser drops
    its copy). The folder is named by the tarball's checksum.
    """
    (tarball,) = locate([KEY], data_dir, download=False)  # no publisher to fetch from
    parent = keras_cache_dir() / "cifar10_jpeg"
    final = parent / f"extracted-{CHECKSUMS[KEY][:12]}"
    if not (final / ROOT / "train").is_dir():
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extract.", suffix=".partial", dir=parent))
        try:
            try:  # the tarball passed its sha256 check: a failure here is the disk's
                with tarfile.open(tarball, "r:gz") as tar:
                    tar.extractall(staging, members=_safe_members(tar, tarball), filter="data")
            except (tarfile.TarError, EOFError) as e:
                raise DatasetError(f"{tarball}: not a readable tar.gz ({e})") from e
            try:
                os.rename(staging, final)
            except OSError:  # another process finished first: use its copy
                if not (final / ROOT / "train").is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return final / ROOT


def load_cifar10_jpeg(data_dir=None, download=False):
    """Loads CIFAR-10 (JPEG) from ``<data_dir>/cifar10_jpeg/cifar-10-images.tar.gz``.

    Args:
        data_dir: Directory holding ``cifar10_jpeg/`` (see `keras_ae.datasets`
            for the search order when `None`).
        download: Must stay False: the tarball has no publisher URL to fetch it
            from (the argument exists for the loaders' common signature).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (50000, 32, 32, 3)
        and (10000, 32, 32, 3), uint8 labels indexing `CIFAR10_CLASSES`, ordered
        by class then file number.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_cifar10_jpeg("../shared/data")
    """
    if check_flag("download", download):
        raise ValueError(
            "download=True: CIFAR-10 (JPEG) has no publisher URL; place "
            f"{KEY} in data_dir or KERAS_AE_DATA_DIR"
        )
    root = extracted_cifar10_jpeg(data_dir)
    out = []
    for split in ("train", "test"):
        x, y, names = read_image_folder(root / split, color_mode="rgb")
        if tuple(names) != CIFAR10_CLASSES or x.shape[1:] != (32, 32, 3):
            raise DatasetError(
                f"{root / split}: classes {names}, images {x.shape[1:]}; expected "
                f"{CIFAR10_CLASSES} of 32x32x3"
            )
        out.append((x, y.astype(np.uint8)))
    return tuple(out)
