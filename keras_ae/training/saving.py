"""Atomic saving: `save` and `save_weights` to a local path write a staging
file beside it and rename it into place when complete, so an interrupted save
(Ctrl-C, a full disk, a killed job) leaves the previous file intact;
`ModelCheckpoint` and `BackupAndRestore` save through these too."""

import os

from keras_ae.utils.files import atomic_output

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
WEIGHTS_SUFFIX = ".weights.h5"


def stageable(filepath, overwrite, suffixes):
    """Whether a save to `filepath` can go through a staging file: a local
    path (not a file object or a remote URL) with a name Keras accepts (so
    Keras's own errors name the user's path, not the staging one), and no
    overwrite prompt due."""
    if not isinstance(filepath, (str, os.PathLike)):
        return False
    name = os.fspath(filepath)
    if "://" in name or not name.endswith(suffixes):
        return False
    return overwrite or not os.path.exists(name)


def save_atomically(save, filepath, **kwargs):
    """Calls `save(path, overwrite=True, **kwargs)` on a staging path beside
    `filepath`, then renames the complete file into place."""
    with atomic_output(filepath) as staged:
        save(str(staged), overwrite=True, **kwargs)
