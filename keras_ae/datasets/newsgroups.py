"""20 Newsgroups, "bydate" split, read straight from ``20news-bydate.tar.gz``."""

import re
import tarfile

import numpy as np

from keras_ae.datasets._paths import DatasetError, check_flag, locate

_MEMBER = re.compile(r"^(?:\./)?20news-bydate-(train|test)/([^/]+)/(\d+)$")


def strip_newsgroup_header(text):
    """Drops the mail header (everything before the first blank line).

    Args:
        text: One raw newsgroup message.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str (one message), got {type(text).__name__}")
    _, sep, body = text.partition("\n\n")
    return body if sep else text


def load_20newsgroups(data_dir=None, strip_headers=False, download=True):
    """Loads 20 Newsgroups (bydate) from ``20newsgroups/20news-bydate.tar.gz``.

    The archive is read in place with `tarfile`; nothing is extracted to disk.
    Documents are ordered by group name, then by message id.

    Args:
        data_dir: Directory holding ``20newsgroups/``.
        strip_headers: Drop each message's mail header (``From:``,
            ``Subject:``, ``Newsgroups:`` ... up to the first blank line), which
            otherwise leaks the label through the ``Newsgroups:`` line.
        download: Whether a missing archive may be fetched when online.

    Returns:
        ``(docs_train, y_train), (docs_test, y_test), group_names``: lists of
        str (decoded latin-1) with 11,314 and 7,532 documents, int32 label
        arrays indexing ``group_names``, the 20 sorted group names.

    Example:
        >>> (docs, y), (docs_test, y_test), names = load_20newsgroups()
    """
    strip_headers = check_flag("strip_headers", strip_headers)
    (path,) = locate(["20newsgroups/20news-bydate.tar.gz"], data_dir, download)
    found = {"train": [], "test": []}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                m = _MEMBER.match(member.name)
                if not m or not member.isfile():
                    continue
                text = tar.extractfile(member).read().decode("latin-1")
                found[m.group(1)].append((m.group(2), int(m.group(3)), text))
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DatasetError(f"{path}: unreadable tar.gz archive: {e}") from e
    names = sorted({g for split in found.values() for g, _, _ in split})
    if len(names) != 20 or not found["train"] or not found["test"]:
        raise DatasetError(
            f"{path}: expected 20news-bydate-train/ and -test/ with 20 groups, "
            f"found {len(names)} groups"
        )
    index = {g: i for i, g in enumerate(names)}
    out = []
    for split in ("train", "test"):
        items = sorted(found[split], key=lambda t: (t[0], t[1]))
        docs = [strip_newsgroup_header(t) if strip_headers else t for _, _, t in items]
        labels = np.array([index[g] for g, _, _ in items], dtype=np.int32)
        out.append((docs, labels))
    return out[0], out[1], names
