"""Presets from anywhere: what `zoo.load` and `Cls.from_preset` accept.

A preset is one of
- a zoo name (`keras_ae.zoo.list_models()`), checked against the zoo's
  manifest as well as its own sha256s;
- an entry folder of one's own (`keras_ae.zoo.save_preset`, `keras-ae zoo
  pack`), checked against its own `metadata.json`;
- an `http(s)://` URL of such a folder, or `hf://owner/repo[@revision]`,
  fetched, verified and cached by `keras_ae.zoo.remote`.

Every form ends as a verified folder read by `keras_ae.zoo.entry`
(`safe_mode=True`: no code from the files runs).
"""

import os
import re
from pathlib import Path

import keras

from keras_ae.zoo import registry, remote
from keras_ae.zoo.entry import METADATA, ZooError, check_name, read_metadata, short

FORMS = (
    "a zoo name (keras_ae.zoo.list_models()), an entry folder, an http(s):// URL of an "
    "entry folder, or hf://owner/repo[@revision]"
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def _plain(name):
    return not any(c in name for c in "/\\~") and not name.startswith(".")


def _folder(path):
    try:
        found, entry = path.is_dir(), (path / METADATA).is_file()
    except OSError as e:  # a name too long, ...
        raise ZooError(f"{short(str(path))}: not a folder ({e.strerror or e})") from None
    if not found:
        raise ZooError(f"{path}: no such folder; a preset is {FORMS}")
    if not entry:
        hint = (
            f"; it is a keras-ae train run: make it an entry with keras-ae zoo pack {path} "
            "--out FOLDER"
            if (path / "run.json").is_file()
            else ""
        )
        raise ZooError(f"{path}: not a zoo entry (no {METADATA}){hint}")
    return path, None


def locate(preset):
    """`(entry folder, pinned sha256 of its metadata.json or None)` of `preset`.

    A remote preset is fetched into the cache first. A plain name is a zoo
    entry when the zoo has it, else a folder of that name in the working
    directory; anything with a path separator is a folder.

    Raises:
        ZooError: a preset of none of the forms (an unknown name lists the
            closest ones), an unsupported URL scheme, a folder that is no
            entry, or a remote entry that fails verification.
    """
    if isinstance(preset, os.PathLike):
        return _folder(Path(preset))
    if not isinstance(preset, str) or not preset.strip():
        raise ZooError(f"a preset is {FORMS}; got {preset!r}")
    scheme = _SCHEME.match(preset)
    if scheme:
        kind = scheme[1].lower()
        if kind in ("http", "https"):
            return remote.fetch_url(preset), None
        if kind == "hf":
            return remote.fetch_hf(preset), None
        raise ZooError(f"{short(preset)}: {kind}:// is not a supported scheme; a preset is {FORMS}")
    path = Path(preset).expanduser()
    if _plain(preset):
        check_name(preset)
        in_zoo = (registry.zoo_dir() / preset / METADATA).is_file()
        if in_zoo or not path.is_dir():
            return registry.locate(preset)  # an unknown name: the error lists close ones
    return _folder(path)


def load(preset, compile=False):
    """Loads a preset: a zoo name, an entry folder, an http(s) URL or hf://.

    Args:
        preset: see `keras_ae.zoo.presets` (e.g. `"vae50_mnist"`,
            `"runs/my_entry"`, `"https://host/zoo/my_entry"`,
            `"hf://owner/repo"`).
        compile: compile the model with Adam so it can be fine-tuned.

    Returns:
        The model (a `keras_ae.models` class) with its weights, every file's
        sha256 checked before it was read.

    Example:
        >>> from keras_ae import zoo
        >>> vae = zoo.load("vae50_mnist")  # doctest: +SKIP
        >>> mine = zoo.load("https://example.org/zoo/my_vae")  # doctest: +SKIP
    """
    return registry.load_located(*locate(preset), compile)


def info(preset):
    """The metadata of a preset (provenance, files, card figures) as a dict."""
    return read_metadata(*locate(preset))


def presets_of(cls):
    """The bundled zoo entries whose model is a `cls`: name -> metadata."""
    found = {}
    for name in registry.list_models():
        meta = registry.info(name)
        klass = keras.saving.get_registered_object(f"keras_ae>{meta.get('variant')}")
        if isinstance(klass, type) and issubclass(klass, cls):
            found[name] = meta
    return found


class ClassPresets:
    """`Cls.presets`: the bundled zoo entries whose model is a `Cls`, name ->
    metadata (as KerasHub's `presets` class property; read on each access)."""

    def __get__(self, obj, cls):
        return presets_of(cls)
