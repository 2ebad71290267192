"""Files: atomic writes and sha256 digests."""

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yields a staging path beside `path`; moves it into place on success.

    The staging path has `path`'s name (writers that check the extension
    accept it) and lies in a fresh hidden directory in the target's parent (so
    the final rename stays on one filesystem). If the body raises, the staging
    directory is removed and `path` is left as it was: an interrupted save or
    export never leaves a half-written file behind. An existing `path` is
    replaced only after the new one is complete.
    """
    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    staged = workdir / path.name
    try:
        yield staged
        if not staged.exists():
            raise RuntimeError(f"nothing was written to {staged}")
        if staged.is_dir() and path.exists():
            # A non-empty directory cannot be replaced in one rename: move the
            # old one aside, put the new one in place, then drop the old one.
            old = workdir / (path.name + ".old")
            os.rename(path, old)
            try:
                os.rename(staged, path)
            except BaseException:
                os.rename(old, path)
                raise
        else:
            os.replace(staged, path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def sha256(path, chunk=1 << 20):
    """The hex sha256 of the file at `path`, read in `chunk`-byte blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
