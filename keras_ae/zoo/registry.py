"""Finding, verifying and loading the entries of the pretrained zoo.

An entry is a directory `<zoo>/<name>/` holding `config.json` (the model,
serialized with `keras.saving.serialize_keras_object`), `model.weights.h5`,
`metadata.json` (provenance, the sha256 of every other file and the metrics
measured on the test split) and a `README.md` model card with its figures.

The zoo's `MANIFEST.json` pins each entry: name -> sha256 of its
`metadata.json`. Since that metadata holds the sha256 of every other file, an
entry loaded by name is exactly the one that shipped: a changed file whose
hash was recomputed in `metadata.json` is refused. The zoo that ships with the
package must have a manifest; a zoo of one's own (`KERAS_AE_ZOO_DIR`) is
pinned when it has one. A folder loaded by path (`load_entry`) is checked
against its own `metadata.json` only: it is trusted as what it is, never as a
bundled entry of the same name.
"""

import difflib
import fcntl
import fnmatch
import hashlib
import json
import os
import re
from pathlib import Path

import keras

from keras_ae.utils.files import atomic_output

METADATA = "metadata.json"
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
MANIFEST = "MANIFEST.json"
ENV_ZOO_DIR = "KERAS_AE_ZOO_DIR"
MAX_NAME = 100  # characters of an entry name
MAX_JSON_BYTES = 1 << 24  # metadata.json, config.json, MANIFEST.json: a few KB in practice
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ZooError(ValueError):
    """An unknown or malformed zoo name, or an entry that fails verification."""


class ChecksumError(ZooError):
    """A file of a zoo entry is missing or its sha256 differs from metadata.json."""


def _has_entries(path):
    path = Path(path)
    return path.is_dir() and any((p / METADATA).is_file() for p in path.iterdir() if p.is_dir())


def bundled_dir():
    """The zoo that ships with the package, whatever `KERAS_AE_ZOO_DIR` says.

    The repository's top-level `zoo/` when running from a clone, else the
    `keras_ae/_zoo_files` package data of an installed copy.
    """
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


def zoo_dir():
    """The directory holding the zoo's entries.

    The `KERAS_AE_ZOO_DIR` environment variable when set (it must name a
    directory), else the zoo that ships with the package (`bundled_dir`).

    Returns:
        A `pathlib.Path` (which may hold no entries when none ship).
    """
    env = os.environ.get(ENV_ZOO_DIR)
    if env:
        if not Path(env).is_dir():
            raise ZooError(f"{ENV_ZOO_DIR}={env!r}: no such directory (a zoo is a directory "
                           "of entries; unset it to use the zoo that ships with keras_ae)")
        return Path(env)
    return bundled_dir()


def _read_json(path, what):
    """`path` parsed as JSON, or a ZooError naming the file and what is wrong."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ZooError(f"{path}: {path.stat().st_size} bytes, not a {what} "
                           f"(at most {MAX_JSON_BYTES})")
        data = path.read_bytes()
    except OSError as e:
        raise ZooError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    return data, _parse_json(data, path, what)


def _parse_json(data, path, what):
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ZooError(f"{path}: not a {what}: not UTF-8 text ({e.reason} at byte "
                       f"{e.start})") from None
    except json.JSONDecodeError as e:
        raise ZooError(f"{path}: not a {what}: invalid JSON ({e})") from None


def read_manifest(root=None):
    """The manifest of a zoo (name -> sha256 of the entry's metadata.json).

    Returns:
        The dict, or None for a zoo of one's own without a `MANIFEST.json`.

    Raises:
        ZooError: the bundled zoo has entries but no manifest, or the
            manifest is unreadable or malformed.
    """
    root = Path(root) if root is not None else zoo_dir()
    path = root / MANIFEST
    if not path.is_file():
        bundled = root.resolve() == bundled_dir().resolve()
        if bundled and root.is_dir() and _has_entries(root):
            raise ZooError(f"{path}: missing; the zoo that ships with keras_ae pins every "
                           "entry there (reinstall keras_ae)")
        return None
    _, pins = _read_json(path, "zoo manifest")
    if not isinstance(pins, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _SHA256.fullmatch(v)
            for k, v in pins.items()):
        raise ZooError(f"{path}: expected a JSON object of entry name -> sha256 of its "
                       f"{METADATA}")
    return pins


def _short(name):
    return repr(name) if len(name) <= 60 else f"{name[:40]!r}... ({len(name)} characters)"


def _check_name(name):
    if not isinstance(name, str) or not name:
        raise ZooError(f"a zoo name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME:
        raise ZooError(f"a zoo name is at most {MAX_NAME} characters, got {_short(name)}")
    if not name.isprintable():
        raise ZooError(f"a zoo name is printable text, got {name!r}")
    if "/" in name or "\\" in name or ".." in name or name.startswith(".") or os.sep in name:
        raise ZooError(
            f"a zoo name is a plain entry name such as 'vae50_mnist' (no path "
            f"separators or '..'), got {name!r}; to load a directory use "
            "keras_ae.zoo.load_entry(path)"
        )


def list_models(pattern="*"):
    """Names of the zoo's entries matching a shell-style pattern, sorted.

    In a zoo with a manifest (the one that ships does), the entries it pins.

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
    pins = read_manifest(root)
    # Dot-folders are the training script's work in progress.
    names = [p.name for p in root.iterdir()
             if p.is_dir() and not p.name.startswith(".") and (p / METADATA).is_file()
             and (pins is None or p.name in pins)]
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def _locate(name):
    """`(entry directory, pinned sha256 of its metadata or None)` for entry `name`."""
    _check_name(name)
    root = zoo_dir()
    pins = read_manifest(root)
    path = root / name
    try:
        exists = (path / METADATA).is_file()
        linked = path.is_symlink() or (exists and path.resolve().parent != root.resolve())
    except OSError as e:
        raise ZooError(f"zoo model {_short(name)}: cannot look it up ({e.strerror or e})") from None
    if linked:
        raise ZooError(f"{path}: a symbolic link; an entry of the zoo is a folder inside it "
                       "(to load a folder elsewhere use keras_ae.zoo.load_entry(path))")
    if exists and pins is not None and name not in pins:
        raise ZooError(f"{path}: not an entry of this zoo ({root / MANIFEST} does not pin "
                       "it); to load a folder of your own use keras_ae.zoo.load_entry(path)")
    if not exists:
        known = list_models()
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ZooError(
            f"unknown zoo model {_short(name)}{hint} (known: {', '.join(known) or 'none'}; "
            "see keras_ae.zoo.list_models())"
        )
    return path, None if pins is None else pins[name]


def entry_dir(name):
    """The directory of entry `name`, checking the name first.

    Raises:
        ZooError: for a name with path separators or `..`, an unknown name
            (the message lists the closest names), a folder that is a
            symbolic link or one the zoo's manifest does not pin.
    """
    return _locate(name)[0]


def read_metadata(path, pin=None):
    """An entry directory's metadata.json as a dict (a ZooError when unreadable).

    Args:
        path: the entry directory.
        pin: the sha256 that the zoo's manifest records for this metadata.json,
            or None for a folder trusted as what it is.
    """
    meta_path = Path(path) / METADATA
    data, meta = _read_json(meta_path, "JSON metadata file")
    if pin is not None and hashlib.sha256(data).hexdigest() != pin:
        raise ChecksumError(
            f"{meta_path}: sha256 {hashlib.sha256(data).hexdigest()} does not match {pin} "
            f"pinned in the zoo's {MANIFEST}: the entry was changed after it shipped "
            "(reinstall keras_ae; a copy of your own loads with keras_ae.zoo.load_entry(path))"
        )
    files = meta.get("files") if isinstance(meta, dict) else None
    if not isinstance(files, dict):
        raise ZooError(f"{meta_path}: expected a JSON object with a 'files' table of sha256")
    for rel, digest in files.items():
        if not rel or "\0" in rel or not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ZooError(f"{meta_path}: 'files' maps a file name to the 64 hex digits of its "
                           f"sha256, got {_short(rel)}: {str(digest)[:80]!r}")
    return meta


def sha256(path, chunk=1 << 20):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_entry(path, pin=None):
    """Checks every file listed in an entry's metadata against its sha256.

    Args:
        path: the entry directory.
        pin: the sha256 of its metadata.json that the zoo's manifest records
            (None: the metadata is trusted as what it is).

    Returns:
        The metadata dict.

    Raises:
        ChecksumError: naming the first file that is missing or differs.
        ZooError: for a file the metadata does not list, a symbolic link or
            a file that cannot be read.
    """
    path = Path(path)
    try:
        return _verify(path, pin)
    except OSError as e:
        raise ZooError(f"{path}: cannot read the entry ({e})") from None


def _verify(path, pin):
    if (path / METADATA).is_symlink():
        raise ZooError(f"{path / METADATA}: a symbolic link; an entry holds its own files")
    meta = read_metadata(path, pin)
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
    and must name a `keras_ae` model class. The folder is checked against
    its own `metadata.json` only: this is how to load an entry of one's own.

    Args:
        path: the entry directory.
        compile: compile the model with Adam so it can be fine-tuned.

    Returns:
        The model, with its weights.
    """
    return _load(Path(path), None, compile)


def _load(path, pin, compile):
    try:
        is_entry = (path / METADATA).is_file()
    except OSError as e:
        raise ZooError(f"{path}: not a zoo entry ({e.strerror or e})") from None
    if not is_entry:
        raise ZooError(f"{path}: not a zoo entry (no {METADATA})")
    verify_entry(path, pin)
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
    _, config = _read_json(path / CONFIG, "JSON config")
    registered = config.get("registered_name", "") if isinstance(config, dict) else ""
    if (not isinstance(registered, str) or registered.split(">")[-1] not in VARIANTS
            or not registered.startswith("keras_ae>")):
        raise ZooError(
            f"{path / CONFIG}: expected a keras_ae model (one of {sorted(VARIANTS)}), "
            f"got registered_name={registered!r}"
        )
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except (ValueError, TypeError) as e:  # unknown arguments, safe mode's refusals, ...
        raise ZooError(f"{path / CONFIG}: cannot build the {registered!r} it names: "
                       f"{' '.join(str(e).split())}") from None
    try:
        model.load_weights(str(path / WEIGHTS))
    except (ValueError, OSError) as e:  # not HDF5, or weights of another model
        raise ZooError(f"{path / WEIGHTS}: cannot load the weights of the {registered!r} that "
                       f"{CONFIG} names: {' '.join(str(e).split())[:300]}") from None
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
            path in it, an entry that differs from what the zoo's manifest
            pins, or a file whose sha256 fails (the file is named).

    Example:
        >>> from keras_ae import zoo
        >>> vae = zoo.load("vae50_mnist")  # doctest: +SKIP
        >>> images = vae.sample(16)  # doctest: +SKIP
    """
    return _load(*_locate(name), compile)


def info(name):
    """The metadata of entry `name` (provenance, files, metrics) as a dict,
    checked against the zoo's manifest.

    Example:
        >>> from keras_ae import zoo
        >>> zoo.info("deep_ae30_mnist")["metrics"][0]["value"]  # doctest: +SKIP
    """
    return read_metadata(*_locate(name))


def pin_entry(root, name):
    """Records entry `name`'s metadata.json in the zoo's MANIFEST.json.

    The one writer of the manifest: `scripts/train_zoo.py` calls it after it
    moves a finished entry into the zoo. Only that entry's pin changes (a
    retrain never blesses another entry that changed on disk); pins of
    entries whose folder is gone are dropped. The write is atomic, and
    serialized across processes by a lock on the zoo directory.
    """
    root = Path(root)
    _check_name(name)
    meta = root / name / METADATA
    digest = sha256(meta)
    read_metadata(root / name, digest)  # a readable entry, or a ZooError before any write
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = root / MANIFEST
        pins = read_manifest(root) if path.is_file() else {}
        pins = {n: d for n, d in pins.items() if (root / n / METADATA).is_file()}
        pins[name] = digest
        with atomic_output(path) as staged:
            staged.write_text(json.dumps(dict(sorted(pins.items())), indent=1) + "\n",
                              encoding="utf-8")
    finally:
        os.close(fd)  # releases the lock
    return digest
