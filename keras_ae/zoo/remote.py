"""Entries fetched from an `http(s)://` URL or `hf://owner/repo`, verified, cached.

A remote entry is the folder format of `keras_ae.zoo.entry`: its
`metadata.json` is read first, each file it lists is fetched and its sha256
checked, and only a complete, verified copy enters the cache, under the Keras
cache folder (`$KERAS_HOME`, else `~/.keras`) in `keras_ae/presets/`. One
copy per URL and content: the cache folder's name holds the sha256 of the
metadata, so an entry changed on the server is a new folder, and a cached
one is never rewritten. Downloads are staged in a hidden folder and renamed
into place under a lock file, so processes loading the same URL at once
fetch it once, and an interrupted or refused download leaves nothing behind.
Each load reads the URL's `metadata.json` again; when the server cannot be
reached, the newest verified copy of that URL is loaded, with a warning.

`hf://owner/repo[@revision]` reads through `huggingface_hub` (the optional
extra `keras_ae[hub]`), which honours `HF_ENDPOINT`, `HF_HUB_CACHE` and the
token of `hf auth login`; its files are then checked and cached as above.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

from keras_ae.utils.files import sha256
from keras_ae.zoo.entry import (
    MAX_JSON_BYTES,
    METADATA,
    ChecksumError,
    ZooError,
    check_metadata,
    verify_entry,
)

MAX_REMOTE_BYTES = 1 << 30  # one remote entry, every file
MAX_FILES = 100
TIMEOUT = 60  # seconds without a byte before a download is given up
HUB_EXTRA = "huggingface_hub is not installed; pip install 'keras_ae[hub]' (or huggingface_hub)"
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_REPO = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


def cache_dir():
    """Where fetched entries are kept: `<KERAS_HOME or ~/.keras>/keras_ae/presets`.

    As Keras does for its own downloads, `/tmp/.keras` stands in for a home
    folder that cannot be written.
    """
    home = Path(os.environ.get("KERAS_HOME") or Path("~/.keras").expanduser())
    probe = home if home.exists() else home.parent
    if not os.access(probe, os.W_OK):
        home = Path(tempfile.gettempdir()) / ".keras"
    return home / "keras_ae" / "presets"


def check_paths(meta, where):
    """A ZooError unless every file `meta` lists is a plain path inside the entry
    (checked before anything is written: a remote `../x` must never land)."""
    files = meta["files"]
    if len(files) > MAX_FILES:
        raise ZooError(f"{where}: lists {len(files)} files; an entry holds at most {MAX_FILES}")
    for rel in files:
        parts = rel.split("/")
        if rel == METADATA or not all(_PART.fullmatch(p) and p != ".." for p in parts):
            raise ZooError(
                f"{where}: lists the file {rel[:100]!r}, a path outside the entry or not a "
                "plain one (each part letters, digits, '.', '_' or '-', no '..', no "
                "leading '.' or '/'); nothing was downloaded"
            )


# ------------------------------------------------------------------ http(s)
class Unreachable(ZooError):
    """The server could not be reached or the connection broke."""


def _download(url, dst, limit):
    """Streams `url` into the file `dst`; a ZooError for an HTTP error, a
    body over `limit` bytes or one shorter than its Content-Length."""
    request = urllib.request.Request(url, headers={"User-Agent": "keras_ae"})
    got = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as r, open(dst, "wb") as f:
            length = r.headers.get("Content-Length")
            while block := r.read(1 << 20):
                got += len(block)
                if got > limit:
                    raise ZooError(f"{url}: more than {limit} bytes, not a zoo entry's file")
                f.write(block)
    except urllib.error.HTTPError as e:
        raise ZooError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:  # refused, reset, timed out, ...
        reason = getattr(e, "reason", None) or e
        raise Unreachable(f"{url}: the download failed ({reason}); nothing was cached") from None
    if length is not None and length.isdigit() and got != int(length):
        raise ZooError(
            f"{url}: the download was cut short ({got} of {length} bytes); nothing was cached"
        )


def fetch_url(url):
    """The cached, verified copy of the entry folder at `url`, fetched if needed.

    Args:
        url: `http(s)://host/path/to/entry` (its `metadata.json` and files lie
            under it; a URL ending in `/metadata.json` is taken as its folder).

    Returns:
        The `pathlib.Path` of the cached entry folder.
    """
    base = url.rstrip("/")
    base = base[: -len(METADATA) - 1] if base.endswith("/" + METADATA) else base
    if not urllib.parse.urlsplit(base).netloc:
        raise ZooError(f"{url!r}: an entry URL names a host, e.g. https://host/zoo/my_entry")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            _download(f"{base}/{METADATA}", Path(tmp) / METADATA, MAX_JSON_BYTES)
        except Unreachable as e:  # offline: the newest verified copy, if any
            copies = sorted(cache_dir().glob(f"{_prefix(base)}*"), key=lambda p: p.stat().st_mtime)
            for copy in reversed(copies):
                if _verified(copy, base):
                    warnings.warn(f"{e}; loading the copy cached in {copy}", stacklevel=3)
                    return copy
            raise
        meta_bytes = (Path(tmp) / METADATA).read_bytes()

    def get(rel, dst):
        _download(f"{base}/{urllib.parse.quote(rel)}", dst, MAX_REMOTE_BYTES)

    return _install(base, meta_bytes, get)


# ---------------------------------------------------------------- hf://
def hub():
    """`huggingface_hub`, or a ZooError naming the extra that installs it."""
    try:
        import huggingface_hub
    except ImportError:
        raise ZooError(HUB_EXTRA) from None
    return huggingface_hub


def parse_hf(uri):
    """`(repo_id, revision or None)` of `hf://owner/repo[@revision]`."""
    spec = uri[len("hf://") :] if uri.startswith("hf://") else uri
    repo, at, revision = spec.partition("@")
    repo = repo.rstrip("/")
    if not _REPO.fullmatch(repo) or (at and not revision):
        raise ZooError(
            f"{uri!r}: expected hf://owner/repo or hf://owner/repo@revision "
            "(a Hugging Face model repository holding one entry's files)"
        )
    return repo, revision or None


def _hub_errors():
    errors = hub().errors
    return (errors.HfHubHTTPError, errors.LocalEntryNotFoundError, errors.HFValidationError)


def fetch_hf(uri):
    """The cached, verified copy of the entry in the Hub repository `uri`.

    `metadata.json` is read at the revision asked for (default `main`), then
    every file it lists at the commit that metadata came from.
    """
    repo, revision = parse_hf(uri)
    lib = hub()
    options = dict(endpoint=os.environ.get("HF_ENDPOINT"), cache_dir=os.environ.get("HF_HUB_CACHE"))
    try:
        meta_path = Path(lib.hf_hub_download(repo, METADATA, revision=revision, **options))
    except _hub_errors() as e:
        raise ZooError(f"{uri}: cannot read its {METADATA} ({' '.join(str(e).split())})") from None
    commit = meta_path.parent.name  # the hub's cache: snapshots/<commit>/metadata.json
    at = commit if re.fullmatch(r"[0-9a-f]{40}", commit) else revision
    if meta_path.stat().st_size > MAX_JSON_BYTES:
        raise ZooError(f"{uri}: {METADATA} is over {MAX_JSON_BYTES} bytes")

    def get(rel, dst):
        try:
            shutil.copyfile(lib.hf_hub_download(repo, rel, revision=at, **options), dst)
        except _hub_errors() as e:
            raise ZooError(f"{uri}: cannot download {rel} ({' '.join(str(e).split())})") from None

    return _install(f"hf://{repo}@{at or 'main'}", meta_path.read_bytes(), get)


def push(folder, uri, message=None):
    """Uploads the entry folder `folder` to the Hub repository `uri`
    (`hf://owner/repo[@branch]`), creating the repository when it is new.

    The folder is verified first (every sha256, a card with figures).

    Returns:
        The URL of the commit.
    """
    repo, revision = parse_hf(uri)
    meta = verify_entry(folder)
    if not meta.get("metrics"):
        raise ZooError(f"{folder}: its metadata holds no figures; pack it with keras-ae zoo pack")
    api = hub().HfApi(endpoint=os.environ.get("HF_ENDPOINT"))
    try:
        api.create_repo(repo, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo,
            folder_path=str(folder),
            revision=revision,
            commit_message=message or f"keras_ae entry {meta.get('name', Path(folder).name)}",
        )
    except _hub_errors() as e:
        raise ZooError(f"{uri}: the upload failed ({' '.join(str(e).split())})") from None
    return str(getattr(info, "commit_url", info))


# ---------------------------------------------------------------- the cache
@contextlib.contextmanager
def _locked(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _digest(source, meta_bytes):
    """What a cache folder's name ends with: the hash of its source and metadata."""
    return hashlib.sha256(source.encode() + b"\0" + meta_bytes).hexdigest()[:16]


def _verified(folder, source):
    """Whether a cached copy of `source` can be trusted: its metadata.json is
    the one its name was made from (a copy planted or edited in the cache is
    not) and every file it lists matches its sha256."""
    try:
        meta_bytes = (folder / METADATA).read_bytes()
        if not folder.name.endswith("-" + _digest(source, meta_bytes)):
            return False
        verify_entry(folder)
        return True
    except (ZooError, OSError):
        return False


def _prefix(source):
    """The start of the cache folder names of `source`'s copies: a readable
    tail of it and a hash of the whole."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", source.split("://", 1)[-1])[-50:].strip("._")
    return f"{slug}-{hashlib.sha256(source.encode()).hexdigest()[:8]}-"


def _install(source, meta_bytes, get):
    """The cache folder of `source`'s entry whose metadata is `meta_bytes`,
    filled by `get(rel, dst)` for each listed file unless a verified copy is
    there; staged, checked and renamed into place under a lock."""
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ZooError(f"{source}/{METADATA}: not JSON metadata ({e})") from None
    check_metadata(meta, f"{source}/{METADATA}")
    check_paths(meta, f"{source}/{METADATA}")
    digest = _digest(source, meta_bytes)
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    dest = root / f"{_prefix(source)}{digest}"
    if dest.is_dir() and _verified(dest, source):
        return dest
    with _locked(root / f".{dest.name}.lock"):
        if dest.is_dir() and _verified(dest, source):  # fetched meanwhile by another process
            return dest
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=root))
        try:
            staged = work / "entry"
            staged.mkdir()
            (staged / METADATA).write_bytes(meta_bytes)
            total = 0
            for rel, expected in sorted(meta["files"].items()):
                file = staged / rel
                file.parent.mkdir(parents=True, exist_ok=True)
                get(rel, file)
                total += file.stat().st_size
                if total > MAX_REMOTE_BYTES:
                    raise ZooError(f"{source}: over {MAX_REMOTE_BYTES} bytes, not a zoo entry")
                got = sha256(file)
                if got != expected:
                    raise ChecksumError(
                        f"{source}/{rel}: sha256 {got} does not match {expected} in its "
                        f"{METADATA} (the file on the server was changed or is corrupt); "
                        "nothing was cached"
                    )
            verify_entry(staged)
            if dest.exists():  # our own copy, found corrupt above: set it aside
                os.rename(dest, work / "corrupt")
            os.rename(staged, dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return dest
