"""Finding entries of the pretrained zoo by name, and loading them.

The zoo is a folder of entries (`keras_ae.zoo.entry` holds their format):
the repository's top-level `zoo/`, the package data of an installed copy,
or `KERAS_AE_ZOO_DIR`. Its `MANIFEST.json` pins each entry: name -> sha256
of its `metadata.json`. Since that metadata holds the sha256 of every other
file, an entry loaded by name is exactly the one that shipped: a changed file
whose hash was recomputed in `metadata.json` is refused. The zoo that ships
with the package must have a manifest; a zoo of one's own is pinned when it
has one. A folder loaded by path (`load_entry`) is checked against its own
`metadata.json` only: it is trusted as what it is, never as a bundled entry
of the same name.
"""

import difflib
import fnmatch
import os
from pathlib import Path

from keras_ae.zoo.entry import (
    MANIFEST,
    METADATA,
    ZooError,
    check_name,
    read_entry,
    read_metadata,
    read_pins,
    short,
)

ENV_ZOO_DIR = "KERAS_AE_ZOO_DIR"


def _has_entries(path):
    path = Path(path)
    return path.is_dir() and any((p / METADATA).is_file() for p in path.iterdir() if p.is_dir())


def bundled_dir():
    """The zoo that ships with the package, whatever `KERAS_AE_ZOO_DIR` says.

    The repository's top-level `zoo/` when running from a clone, else the
    `keras_ae/_zoo_files` package data of an installed copy.
    """
    package = Path(__file__).resolve().parents[1]  # keras_ae/, not `import keras_ae`: a cycle
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
            raise ZooError(
                f"{ENV_ZOO_DIR}={env!r}: no such directory (a zoo is a directory "
                "of entries; unset it to use the zoo that ships with keras_ae)"
            )
        return Path(env)
    return bundled_dir()


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
            raise ZooError(
                f"{path}: missing; the zoo that ships with keras_ae pins every "
                "entry there (reinstall keras_ae)"
            )
        return None
    return read_pins(path)


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
    names = [
        p.name
        for p in root.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and (p / METADATA).is_file()
        and (pins is None or p.name in pins)
    ]
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def locate(name):
    """`(entry directory, pinned sha256 of its metadata or None)` for entry `name`.

    Raises:
        ZooError: see `entry_dir`.
    """
    check_name(name)
    root = zoo_dir()
    pins = read_manifest(root)
    path = root / name
    try:
        exists = (path / METADATA).is_file()
        linked = path.is_symlink() or (exists and path.resolve().parent != root.resolve())
    except OSError as e:
        raise ZooError(f"zoo model {short(name)}: cannot look it up ({e.strerror or e})") from None
    if linked:
        raise ZooError(
            f"{path}: a symbolic link; an entry of the zoo is a folder inside it "
            "(to load a folder elsewhere use keras_ae.zoo.load_entry(path))"
        )
    if exists and pins is not None and name not in pins:
        raise ZooError(
            f"{path}: not an entry of this zoo ({root / MANIFEST} does not pin "
            "it); to load a folder of your own use keras_ae.zoo.load_entry(path)"
        )
    if not exists:
        known = list_models()
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ZooError(
            f"unknown zoo model {short(name)}{hint} (known: {', '.join(known) or 'none'}; "
            "see keras_ae.zoo.list_models()); a preset may also be an entry folder, "
            "an http(s):// URL of one or hf://owner/repo"
        )
    return path, None if pins is None else pins[name]


def entry_dir(name):
    """The directory of entry `name`, checking the name first.

    Raises:
        ZooError: for a name with path separators or `..`, an unknown name
            (the message lists the closest names), a folder that is a
            symbolic link or one the zoo's manifest does not pin.
    """
    return locate(name)[0]


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
    return load_located(Path(path), None, compile)


def load_located(path, pin, compile=False):
    """The model of the entry folder `path`, verified (against `pin`, the sha256
    of its metadata.json that a manifest records, when not None)."""
    model, _ = read_entry(path, pin)
    if compile:
        model.compile(optimizer="adam")
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
    return load_located(*locate(name), compile)


def info(name):
    """The metadata of entry `name` (provenance, files, metrics) as a dict,
    checked against the zoo's manifest.

    Example:
        >>> from keras_ae import zoo
        >>> zoo.info("deep_ae30_mnist")["metrics"][0]["value"]  # doctest: +SKIP
    """
    return read_metadata(*locate(name))
