"""Finding, verifying and loading the entries of the pretrained zoo.

An entry is a directory `<zoo>/<name>/` holding `config.json` (the model,
serialized with `keras.saving.serialize_keras_object`), `model.weights.h5`,
`metadata.json` (provenance, the sha256 of every other file and the metrics
measured on the test split) and a `README.md` model card with its figures.
"""

import difflib
import fnmatch
import hashlib
import json
import os
from pathlib import Path

import keras

METADATA = "metadata.json"
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
ENV_ZOO_DIR = "KERAS_AE_ZOO_DIR"


class ZooError(ValueError):
    """An unknown or malformed zoo name, or an entry that fails verification."""


class ChecksumError(ZooError):
    """A file of a zoo entry is missing or its sha256 differs from metadata.json."""


def _has_entries(path):
    path = Path(path)
    return path.is_dir() and any((p / METADATA).is_file() for p in path.iterdir() if p.is_dir())


def zoo_dir():
    """The directory holding the zoo's entries.

    In order: the `KERAS_AE_ZOO_DIR` environment variable, the repository's
    top-level `zoo/` when running from a clone, and the `keras_ae/_zoo_files`
    package data of an installed copy.

    Returns:
        A `pathlib.Path` (which may hold no entries when none ship).
    """
    env = os.environ.get(ENV_ZOO_DIR)
    if env:
        return Path(env)
    import keras_ae

    package = Path(keras_ae.__file__).resolve().parent
    clone = package.parent / "zoo"
    if _has_entries(clone):
        return clone
    installed = package / "_zoo_files"
    if installed.is_dir():
        return installed
    try:  # a zip or other non-file install
        from importlib import resources

        return Path(str(resources.files("keras_ae._zoo_files")))
    except (ModuleNotFoundError, TypeError):
        return clone


def list_models(pattern="*"):
    """Names of the zoo's entries matching a shell-style pattern, sorted.

    Args:
        pattern: an `fnmatch` pattern, e.g. `"vae*"` or `"*_mnist"`.

    Returns:
        A sorted list of entry names.

    Example:
        >>> from keras_ae import zoo
        >>> zoo.list_models("vae*")  # doctest: +SKIP
        ['vae2_mnist', 'vae50_mnist']
    """
    if not isinstance(pattern, str):
        raise ValueError(f"pattern must be a string such as 'vae*', got {pattern!r}")
    root = zoo_dir()
    if not root.is_dir():
        return []
    # Dot-folders are the training script's work in progress.
    names = [p.name for p in root.iterdir()
             if p.is_dir() and not p.name.startswith(".") and (p / METADATA).is_file()]
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def _check_name(name):
    if not isinstance(name, str) or not name:
        raise ZooError(f"a zoo name must be a non-empty string, got {name!r}")
    if "/" in name or "\\" in name or ".." in name or name.startswith(".") or os.sep in name:
        raise ZooError(
            f"a zoo name is a plain entry name such as 'vae50_mnist' (no path "
            f"separators or '..'), got {name!r}; to load a directory use "
            "keras_ae.zoo.load_entry(path)"
        )


def entry_dir(name):
    """The directory of entry `name`, checking the name first.

    Raises:
        ZooError: for a name with path separators or `..`, or an unknown
            name (the message lists the closest names).
    """
    _check_name(name)
    path = zoo_dir() / name
    if not (path / METADATA).is_file():
        known = list_models()
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ZooError(
            f"unknown zoo model {name!r}{hint} (known: {', '.join(known) or 'none'}; "
            "see keras_ae.zoo.list_models())"
        )
    return path


def read_metadata(path):
    """An entry directory's metadata.json as a dict (a ZooError when unreadable)."""
    meta_path = Path(path) / METADATA
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ZooError(f"{meta_path}: not a readable JSON metadata file ({e})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
        raise ZooError(f"{meta_path}: expected a JSON object with a 'files' table of sha256")
    return meta


def sha256(path, chunk=1 << 20):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_entry(path):
    """Checks every file listed in an entry's metadata against its sha256.

    Args:
        path: the entry directory.

    Returns:
        The metadata dict.

    Raises:
        ChecksumError: naming the first file that is missing or differs.
        ZooError: for a file the metadata does not list, or a symbolic link.
    """
    path = Path(path)
    if (path / METADATA).is_symlink():
        raise ZooError(f"{path / METADATA}: a symbolic link; an entry holds its own files")
    meta = read_metadata(path)
    listed = set(meta["files"]) | {METADATA}
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path).as_posix()
        if file.is_symlink():
            raise ZooError(f"{file}: a symbolic link; an entry holds its own files, "
                           "each listed with its sha256 in metadata.json")
        if file.is_file() and rel not in listed:
            raise ZooError(f"{file}: not listed in {METADATA}; an entry holds exactly the "
                           "files its metadata lists (remove it, or list it with its sha256)")
    for required in (CONFIG, WEIGHTS):
        if required not in meta["files"]:
            raise ZooError(f"{path / METADATA}: lists no sha256 for {required}")
    for rel, expected in sorted(meta["files"].items()):
        _check_name_parts(rel, path)
        file = path / rel
        if not file.is_file():
            raise ChecksumError(f"{file}: missing (metadata.json lists it)")
        got = sha256(file)
        if got != expected:
            raise ChecksumError(
                f"{file}: sha256 {got} does not match {expected} in metadata.json "
                "(the file is corrupt or was changed)"
            )
    return meta


def _check_name_parts(rel, path):
    parts = Path(rel).parts
    if Path(rel).is_absolute() or ".." in parts:
        raise ZooError(f"{path / METADATA}: file name {rel!r} points outside the entry")


def load_entry(path, compile=False):
    """Loads the model stored in an entry directory, after verifying it.

    Every sha256 is checked before anything is read; the config is
    deserialized with `safe_mode=True` (no code from the files ever runs)
    and must name a `keras_ae` model class.

    Args:
        path: the entry directory.
        compile: compile the model with Adam so it can be fine-tuned.

    Returns:
        The model, with its weights.
    """
    path = Path(path)
    if not (path / METADATA).is_file():
        raise ZooError(f"{path}: not a zoo entry (no {METADATA})")
    verify_entry(path)
    model = load_files(path)
    if compile:
        model.compile(optimizer="adam")
    return model


def load_files(path):
    """Builds the model from an entry's `config.json` and weights, unverified.

    `load_entry` calls this after checking every sha256; the training script
    calls it on an entry it has just written, so that every figure of the card
    is measured on the model exactly as users will load it.
    """
    from keras_ae.models import VARIANTS

    path = Path(path)
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ZooError(f"{path / CONFIG}: not a readable JSON config ({e})") from None
    registered = config.get("registered_name", "") if isinstance(config, dict) else ""
    if registered.split(">")[-1] not in VARIANTS or not registered.startswith("keras_ae>"):
        raise ZooError(
            f"{path / CONFIG}: expected a keras_ae model (one of {sorted(VARIANTS)}), "
            f"got registered_name={registered!r}"
        )
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except (ValueError, TypeError) as e:  # unknown arguments, safe mode's refusals, ...
        raise ZooError(f"{path / CONFIG}: cannot build the {registered!r} it names: "
                       f"{' '.join(str(e).split())}") from None
    model.load_weights(str(path / WEIGHTS))
    return model


def load(name, compile=False):
    """Loads the pretrained zoo model `name`.

    Args:
        name: an entry name from `list_models()`.
        compile: compile the model with Adam so it can be fine-tuned.

    Returns:
        The model (a `keras_ae.models` class) with its trained weights.

    Raises:
        ZooError: unknown name (the closest names are listed), a name with a
            path in it, or a file whose sha256 fails (the file is named).

    Example:
        >>> from keras_ae import zoo
        >>> vae = zoo.load("vae50_mnist")  # doctest: +SKIP
        >>> images = vae.sample(16)  # doctest: +SKIP
    """
    return load_entry(entry_dir(name), compile=compile)


def info(name):
    """The metadata of entry `name` (provenance, files, metrics) as a dict.

    Example:
        >>> from keras_ae import zoo
        >>> zoo.info("deep_ae30_mnist")["metrics"][0]["value"]  # doctest: +SKIP
    """
    return read_metadata(entry_dir(name))
