"""The zoo's file format, read and written here and nowhere else.

An entry is a folder `<zoo>/<name>/` holding
- `config.json`: the model, `keras.saving.serialize_keras_object` without
  compile settings (a loaded zoo model is not compiled unless asked);
- `model.weights.h5`: its weights without optimizer state, float32 arrays
  optionally stored as float16 (`weights_dtype` in the metadata);
- `README.md`, the model card, and its figures (`*.png`);
- `metadata.json`: the fields of `METADATA_FIELDS`, among them the sha256
  of every other file (`files`) and the card's figures (`metrics`, each
  re-measured by `keras_ae.zoo.protocols`).

The zoo's `MANIFEST.json` maps each entry's name to the sha256 of its
`metadata.json`; `write_entry` stages an entry in a hidden folder, checks it,
moves it into place in one rename and pins it there (`pin_entry`).
"""

import fcntl
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import keras
import numpy as np

from keras_ae.utils.files import atomic_output, sha256

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
METADATA = "metadata.json"
CARD = "README.md"
MANIFEST = "MANIFEST.json"
MAX_NAME = 100  # characters of an entry name
MAX_JSON_BYTES = 1 << 24  # metadata.json, config.json, MANIFEST.json: a few KB in practice
MAX_ENTRY_BYTES = 5 * 1024 * 1024  # one entry, every file
MAX_ZOO_BYTES = 40 * 1024 * 1024  # the zoo that ships with the package
WEIGHTS_DTYPES = ("float32", "float16")
_SHA256 = re.compile(r"[0-9a-f]{64}")

#: metadata.json's fields and their JSON types. `write_entry` writes every
#: one and no other; a folder of one's own needs only `files` to load, and
#: `dataset`, `preprocessing` and `metrics` to be re-measured.
METADATA_FIELDS = {
    "name": str,
    "variant": str,
    "description": str,
    "dataset": str,
    "split": dict,
    "preprocessing": dict,
    "input_shape": list,
    "latent_dim": int,
    "parameters": int,
    "weights_dtype": str,
    "training": dict,
    "versions": dict,
    "created": str,
    "metrics": list,
    "files": dict,
}
_JSON_TYPES = {str: "string", dict: "object", list: "array", int: "integer"}


class ZooError(ValueError):
    """An unknown or malformed zoo name, or an entry that fails verification."""


class ChecksumError(ZooError):
    """A file of a zoo entry is missing or its sha256 differs from metadata.json."""


# ------------------------------------------------------------------ reading
def short(name):
    """`name` as an error message quotes it (long names abridged)."""
    return repr(name) if len(name) <= 60 else f"{name[:40]!r}... ({len(name)} characters)"


def check_name(name):
    """A ZooError unless `name` is a plain entry name (no path, printable, short)."""
    if not isinstance(name, str) or not name:
        raise ZooError(f"a zoo name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME:
        raise ZooError(f"a zoo name is at most {MAX_NAME} characters, got {short(name)}")
    if not name.isprintable():
        raise ZooError(f"a zoo name is printable text, got {name!r}")
    if "/" in name or "\\" in name or ".." in name or name.startswith(".") or os.sep in name:
        raise ZooError(
            f"a zoo name is a plain entry name such as 'vae50_mnist' (no path "
            f"separators or '..'), got {name!r}; to load a directory use "
            "keras_ae.zoo.load_entry(path)"
        )


def read_json(path, what):
    """`(bytes, parsed)` of the JSON file `path`, or a ZooError naming it and the fault."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ZooError(
                f"{path}: {path.stat().st_size} bytes, not a {what} (at most {MAX_JSON_BYTES})"
            )
        data = path.read_bytes()
    except OSError as e:
        raise ZooError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    try:
        return data, json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ZooError(
            f"{path}: not a {what}: not UTF-8 text ({e.reason} at byte {e.start})"
        ) from None
    except json.JSONDecodeError as e:
        raise ZooError(f"{path}: not a {what}: invalid JSON ({e})") from None


def read_pins(path):
    """The manifest at `path` (name -> sha256 of the entry's metadata.json)."""
    _, pins = read_json(path, "zoo manifest")
    if not isinstance(pins, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _SHA256.fullmatch(v) for k, v in pins.items()
    ):
        raise ZooError(f"{path}: expected a JSON object of entry name -> sha256 of its {METADATA}")
    return pins


def check_metadata(meta, where, writing=False):
    """A ZooError naming the first field of `meta` that breaks `METADATA_FIELDS`.

    Reading needs only `files`; writing needs every field and no other.
    """
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
        raise ZooError(f"{where}: expected a JSON object with a 'files' table of sha256")
    if writing and set(meta) != set(METADATA_FIELDS):
        raise ZooError(
            f"{where}: the metadata lacks {sorted(set(METADATA_FIELDS) - set(meta))} "
            f"and has unknown fields {sorted(set(meta) - set(METADATA_FIELDS))}; "
            f"an entry's fields are {list(METADATA_FIELDS)}"
        )
    for field, kind in METADATA_FIELDS.items():
        if field in meta and (not isinstance(meta[field], kind) or isinstance(meta[field], bool)):
            raise ZooError(
                f"{where}: metadata field {field!r} must be a JSON "
                f"{_JSON_TYPES[kind]}, got {str(meta[field])[:80]!r}"
            )
    if meta.get("weights_dtype", "float32") not in WEIGHTS_DTYPES:
        raise ZooError(
            f"{where}: weights_dtype must be one of {WEIGHTS_DTYPES}, got {meta['weights_dtype']!r}"
        )
    for rel, digest in meta["files"].items():
        if not rel or "\0" in rel or not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ZooError(
                f"{where}: 'files' maps a file name to the 64 hex digits of its "
                f"sha256, got {short(rel)}: {str(digest)[:80]!r}"
            )
    return meta


def read_metadata(path, pin=None):
    """An entry folder's metadata.json as a dict, checked against `METADATA_FIELDS`.

    Args:
        path: the entry directory.
        pin: the sha256 that the zoo's manifest records for this metadata.json,
            or None for a folder trusted as what it is.
    """
    meta_path = Path(path) / METADATA
    data, meta = read_json(meta_path, "JSON metadata file")
    digest = hashlib.sha256(data).hexdigest()
    if pin is not None and digest != pin:
        raise ChecksumError(
            f"{meta_path}: sha256 {digest} does not match {pin} "
            f"pinned in the zoo's {MANIFEST}: the entry was changed after it shipped "
            "(reinstall keras_ae; a copy of your own loads with keras_ae.zoo.load_entry(path))"
        )
    return check_metadata(meta, meta_path)


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
            raise ZooError(
                f"{file}: a symbolic link; an entry holds its own files, "
                "each listed with its sha256 in metadata.json"
            )
        if file.is_file() and rel not in listed:
            raise ZooError(
                f"{file}: not listed in {METADATA}; an entry holds exactly the "
                "files its metadata lists (remove it, or list it with its sha256)"
            )
    for required in (CONFIG, WEIGHTS):
        if required not in meta["files"]:
            raise ZooError(f"{path / METADATA}: lists no sha256 for {required}")
    for rel, expected in sorted(meta["files"].items()):
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts:
            raise ZooError(f"{path / METADATA}: file name {rel!r} points outside the entry")
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


def _model_classes():
    """Name -> class of every keras_ae model registered with Keras (importing
    `keras_ae` registers them; the zoo needs no import of `keras_ae.models`)."""
    return {
        name.split(">", 1)[1]: cls
        for name, cls in keras.saving.get_custom_objects().items()
        if name.startswith("keras_ae>")
        and isinstance(cls, type)
        and issubclass(cls, keras.Model)
        and hasattr(cls, "reconstruct")
    }


def load_files(path):
    """Builds the model from an entry's `config.json` and weights, unverified.

    `read_entry` calls this after checking every sha256; `round_trip` calls it
    on files it has just written, so that a card's figures are measured on
    the model exactly as users will load it. The config is deserialized with
    `safe_mode=True` and must name a keras_ae model class.
    """
    path = Path(path)
    _, config = read_json(path / CONFIG, "JSON config")
    registered = config.get("registered_name", "") if isinstance(config, dict) else ""
    known = _model_classes()
    if (
        not isinstance(registered, str)
        or not registered.startswith("keras_ae>")
        or registered.split(">")[-1] not in known
    ):
        raise ZooError(
            f"{path / CONFIG}: expected a keras_ae model (one of {sorted(known)}), "
            f"got registered_name={registered!r}"
        )
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except (ValueError, TypeError) as e:  # unknown arguments, safe mode's refusals, ...
        raise ZooError(
            f"{path / CONFIG}: cannot build the {registered!r} it names: {' '.join(str(e).split())}"
        ) from None
    try:
        model.load_weights(str(path / WEIGHTS))
    except (ValueError, OSError) as e:  # not HDF5, or weights of another model
        raise ZooError(
            f"{path / WEIGHTS}: cannot load the weights of the {registered!r} that "
            f"{CONFIG} names: {' '.join(str(e).split())[:300]}"
        ) from None
    return model


def read_entry(folder, pin=None):
    """Verifies an entry folder and loads it.

    Every sha256 is checked before anything is read; no code from the files
    ever runs. `pin` is the sha256 of its metadata.json that the zoo's
    manifest records (None: the folder is trusted as what it is).

    Returns:
        `(model, metadata)`.
    """
    folder = Path(folder)
    try:
        is_entry = (folder / METADATA).is_file()
    except OSError as e:
        raise ZooError(f"{folder}: not a zoo entry ({e.strerror or e})") from None
    if not is_entry:
        raise ZooError(f"{folder}: not a zoo entry (no {METADATA})")
    meta = verify_entry(folder, pin)
    return load_files(folder), meta


def entry_bytes(folder):
    """The size in bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


# ------------------------------------------------------------------ writing
def write_model_files(model, folder, weights_dtype="float32"):
    """Writes `model`'s `config.json` and `model.weights.h5` into `folder`.

    The config has no compile settings and the weights no optimizer state
    (users load the model, not the training run); with `weights_dtype=
    "float16"` every float32 array is stored as float16.
    """
    if weights_dtype not in WEIGHTS_DTYPES:
        raise ValueError(f"weights_dtype must be one of {WEIGHTS_DTYPES}, got {weights_dtype!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    (folder / CONFIG).write_text(json.dumps(config, indent=1), encoding="utf-8")
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        saved = Path(tmp) / WEIGHTS
        model.save_weights(str(saved))
        _copy_weights(saved, folder / WEIGHTS, float16=weights_dtype == "float16")


def _copy_weights(src_path, dst_path, float16):
    """Copies a Keras weights file without its optimizer group, float32 arrays
    optionally as float16 (HDF5 does not shrink in place)."""
    import h5py

    def copy(src, dst):
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for key, item in src.items():
            if isinstance(item, h5py.Group):
                if src.name == "/" and key == "optimizer":
                    continue
                copy(item, dst.create_group(key))
            else:
                data = item[()]
                if float16 and getattr(data, "dtype", None) == np.float32:
                    data = data.astype(np.float16)
                dst.create_dataset(key, data=data)
                for k, v in item.attrs.items():
                    dst[key].attrs[k] = v

    with h5py.File(src_path, "r") as src, h5py.File(dst_path, "w") as dst:
        copy(src, dst)


def round_trip(model, weights_dtype="float32"):
    """`model` written in the entry format and loaded back: the model exactly
    as users will load it (float16 weights included), to measure a card on."""
    with tempfile.TemporaryDirectory() as tmp:
        write_model_files(model, tmp, weights_dtype)
        return load_files(tmp)


def write_entry(model, folder, metadata, files=None, bundled=True):
    """Writes a complete entry atomically and pins it in its zoo's manifest.

    The folder is staged beside `folder` (hidden: no listing sees it), filled
    with `model`'s files (`write_model_files`, in `metadata["weights_dtype"]`),
    `files` and `metadata.json` (`metadata` plus the sha256 of every other
    file), checked (`METADATA_FIELDS`, `MAX_ENTRY_BYTES`, every sha256), moved
    to `folder` in one rename, replacing an entry there, and pinned in the
    zoo's `MANIFEST.json` (the zoo is `folder`'s parent).

    Args:
        model: the model whose figures the metadata holds (`round_trip` gives
            the model as it will load, to measure them on).
        folder: `<zoo>/<name>`, with `metadata["name"] == name`.
        metadata: every field of `METADATA_FIELDS` but `files`.
        files: `{file name: text (str) or path of a file to copy}`: the card
            (`README.md`) and its figures.
        bundled: an entry of a zoo: pinned in its manifest and at most
            `MAX_ENTRY_BYTES`. False for a preset of one's own
            (`keras_ae.zoo.save_preset`): no manifest is written beside it.

    Returns:
        The metadata as written.
    """
    folder = Path(folder)
    check_name(folder.name)
    meta = {**metadata, "files": {}}
    check_metadata(meta, f"{folder} (writing)", writing=True)
    if meta["name"] != folder.name:
        raise ZooError(
            f"{folder}: the metadata names {meta['name']!r}; an entry's folder is its name"
        )
    files = files or {}
    for rel in files:
        if rel in (CONFIG, WEIGHTS, METADATA) or Path(rel).name != rel or rel.startswith("."):
            raise ZooError(
                f"{folder}: files holds the card and its figures by plain file name "
                f"({CONFIG}, {WEIGHTS} and {METADATA} are written here), got {rel!r}"
            )
    check_replaceable(folder)
    with atomic_output(folder) as staged:
        write_model_files(model, staged, meta["weights_dtype"])
        for rel, content in files.items():
            data = (
                content.encode("utf-8") if isinstance(content, str) else Path(content).read_bytes()
            )
            (staged / rel).write_bytes(data)
        meta["files"] = {p.name: sha256(p) for p in sorted(staged.iterdir()) if p.is_file()}
        (staged / METADATA).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        size = entry_bytes(staged)
        if bundled and size > MAX_ENTRY_BYTES:
            raise ZooError(
                f"{folder.name}: the entry is {size / 2**20:.2f} MiB, over the "
                f"{MAX_ENTRY_BYTES / 2**20:.0f} MiB limit of one entry "
                "(store its weights as float16)"
            )
        verify_entry(staged)
        check_replaceable(folder)  # again: files may have come while it was written
    if bundled:
        pin_entry(folder.parent, folder.name)
    return meta


def check_replaceable(folder):
    """Refuses a target `write_entry` could not replace without loss: it replaces
    the folder whole, so only a new path, an empty folder or an entry (its
    model files and the files its metadata lists) may stand there."""
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ZooError(
            f"{folder} exists and is not an entry folder; write_entry replaces its target "
            "whole and never deletes what it did not write: give a new path, or move it"
        )
    if not folder.is_dir():
        return
    ours = {CONFIG, WEIGHTS, METADATA}
    try:
        listed = json.loads((folder / METADATA).read_text(encoding="utf-8")).get("files", {})
        ours |= set(listed) if isinstance(listed, dict) else set()
    except (OSError, ValueError, AttributeError):
        pass  # no readable metadata: only the model files count as an entry's
    others = sorted(
        p.name + "/" * p.is_dir() for p in folder.iterdir() if p.name not in ours or not p.is_file()
    )
    if others:
        raise ZooError(
            f"{folder} holds files that are not an entry's ({', '.join(others[:5])}); "
            "write_entry replaces the folder whole and never deletes what it did not "
            "write: give a new path, or move them"
        )


def pin_entry(root, name):
    """Records entry `name`'s metadata.json in the zoo's MANIFEST.json.

    The one writer of the manifest (`write_entry` calls it for each entry it
    writes). Only that entry's pin changes (a retrain never blesses another
    entry that changed on disk); pins of entries whose folder is gone are
    dropped. The write is atomic, and serialized across processes by a lock
    on the zoo directory.
    """
    root = Path(root)
    check_name(name)
    digest = sha256(root / name / METADATA)
    read_metadata(root / name, digest)  # a readable entry, or a ZooError before any write
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = root / MANIFEST
        pins = read_pins(path) if path.is_file() else {}
        pins = {n: d for n, d in pins.items() if (root / n / METADATA).is_file()}
        pins[name] = digest
        with atomic_output(path) as staged:
            staged.write_text(
                json.dumps(dict(sorted(pins.items())), indent=1) + "\n", encoding="utf-8"
            )
    finally:
        os.close(fd)  # releases the lock
    return digest
