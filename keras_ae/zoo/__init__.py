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

A preset (`load`, `info`, `evaluate`, `Cls.from_preset`) is a zoo name, an
entry folder, an http(s):// URL of one or `hf://owner/repo[@revision]`
(`presets`, `remote`); `save_preset` and `pack_run` write one's own entry
(`pack`), `push` uploads it to the Hugging Face Hub.
"""

from keras_ae.zoo.entry import (
    ChecksumError,
    ZooError,
    read_entry,
    read_metadata,
    verify_entry,
    write_entry,
)
from keras_ae.zoo.pack import evaluate_preset, pack_run, save_preset
from keras_ae.zoo.presets import info, load, locate, presets_of
from keras_ae.zoo.registry import (
    bundled_dir,
    entry_dir,
    list_models,
    load_entry,
    load_located,
    zoo_dir,
)
from keras_ae.zoo.remote import cache_dir, push


def evaluate(preset, quick=False, data_dir=None):
    """Loads a preset and re-measures its card's figures.

    A zoo entry is measured on its dataset's test split; an entry of one's
    own (`save_preset`, `keras-ae zoo pack`) on the data its metadata records.

    Args:
        preset: a zoo name, an entry folder, an http(s):// URL or hf://.
        quick: only the metrics CI re-measures (cheap subsets of the
            expensive protocols).
        data_dir: where the datasets are (default: `KERAS_AE_DATA_DIR`).

    Returns:
        A list of `{name, card, measured, tolerance, ok, quick}` dicts.
    """
    folder, pin = locate(preset)
    model, meta = load_located(folder, pin), read_metadata(folder, pin)
    return evaluate_preset(model, meta, folder, quick=quick, data_dir=data_dir)


__all__ = [
    "ChecksumError",
    "ZooError",
    "bundled_dir",
    "cache_dir",
    "entry_dir",
    "evaluate",
    "info",
    "list_models",
    "load",
    "load_entry",
    "locate",
    "pack_run",
    "presets_of",
    "push",
    "read_entry",
    "read_metadata",
    "save_preset",
    "verify_entry",
    "write_entry",
    "zoo_dir",
]
