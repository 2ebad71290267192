"""The pretrained model zoo: list, inspect, load and re-measure entries.

`registry` finds entries by name, `entry` owns their file format (read and
written), `protocols` re-measures the figures of their cards.

Entries live in the repository's top-level `zoo/` folder, which ships inside
the package as `keras_ae/_zoo_files`. Loading verifies the sha256 of every
file first and never runs code from the files (`safe_mode=True`); loading by
name also checks the entry's `metadata.json` against the zoo's `MANIFEST.json`,
so a shipped entry cannot be changed on disk, even with its hashes recomputed.

Example:
    >>> from keras_ae import zoo
    >>> zoo.list_models("vae*")  # doctest: +SKIP
    >>> model = zoo.load("deep_ae30_mnist")  # doctest: +SKIP
    >>> zoo.info("deep_ae30_mnist")["metrics"]  # doctest: +SKIP
"""

from keras_ae.zoo.entry import ChecksumError, ZooError, read_entry, verify_entry, write_entry
from keras_ae.zoo.registry import (
    bundled_dir,
    entry_dir,
    info,
    list_models,
    load,
    load_entry,
    zoo_dir,
)


def evaluate(name, quick=False, data_dir=None):
    """Loads entry `name` and re-measures its card's metrics on the test split.

    Args:
        name: an entry name.
        quick: only the metrics CI re-measures (cheap subsets of the
            expensive protocols).
        data_dir: where the datasets are (default: `KERAS_AE_DATA_DIR`).

    Returns:
        A list of `{name, card, measured, tolerance, ok, quick}` dicts.
    """
    from keras_ae.zoo.protocols import evaluate_entry

    return evaluate_entry(load(name), info(name), quick=quick, data_dir=data_dir)


__all__ = [
    "ChecksumError",
    "ZooError",
    "bundled_dir",
    "entry_dir",
    "evaluate",
    "info",
    "list_models",
    "load",
    "load_entry",
    "read_entry",
    "verify_entry",
    "write_entry",
    "zoo_dir",
]
