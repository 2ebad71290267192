"""Reuters-21578 (Distribution 1.0), ModApte split, from ``reuters21578.tar.gz``.

Split rule (Lewis' README, section VIII.A, "Modified Apte"): a document is in
the training set when ``LEWISSPLIT="TRAIN"`` and ``TOPICS="YES"``, in the test
set when ``LEWISSPLIT="TEST"`` and ``TOPICS="YES"``. That gives 9,603 / 3,299
documents, the counts the README quotes; among them 1,828 train and 280 test
documents carry an empty ``<TOPICS>`` list (``TOPICS="YES"`` only says the
story was *considered* for topics). ``drop_empty=True`` removes those, giving
7,775 / 3,019 (the often quoted 7,769 / 3,019 further keeps only the 90
topics that occur in both splits).
"""

import html
import re
import tarfile

import numpy as np

from keras_ae.datasets._paths import DatasetError, check_flag, locate

_DOC = re.compile(r"<REUTERS([^>]*)>(.*?)</REUTERS>", re.DOTALL)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.DOTALL)
_D = re.compile(r"<D>(.*?)</D>", re.DOTALL)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.DOTALL)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.DOTALL)
_TEXT = re.compile(r"<TEXT[^>]*>(.*?)</TEXT>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def _clean(s):
    return _CTRL.sub("", html.unescape(s)).strip()


def _doc_text(inner):
    title, body = _TITLE.search(inner), _BODY.search(inner)
    if title or body:
        parts = [m.group(1) for m in (title, body) if m]
        return "\n".join(_clean(p) for p in parts)
    text = _TEXT.search(inner)  # TYPE="UNPROC": no TITLE/BODY markup
    return _clean(_TAG.sub(" ", text.group(1))) if text else ""


def load_reuters21578(data_dir=None, drop_empty=False, download=True):
    """Loads Reuters-21578 with the ModApte split and multi-label topics.

    Text is ``TITLE + "\\n" + BODY`` with SGML entities decoded (documents
    without that markup use the whole ``<TEXT>``).

    Args:
        data_dir: Directory holding ``reuters21578/``.
        drop_empty: Drop documents whose topic list is empty
            (9,603/3,299 -> 7,775/3,019); see the module docstring.
        download: Whether a missing archive may be fetched when online.

    Returns:
        ``(docs_train, topics_train), (docs_test, topics_test), topic_names``:
        lists of str, lists of topic-name lists (possibly empty), and the
        sorted names of every topic present in either split. Use `multi_hot`
        to turn topic lists into a (N, len(topic_names)) array.

    Example:
        >>> (docs, topics), (docs_t, topics_t), names = load_reuters21578()
        >>> y = multi_hot(topics, names)
    """
    drop_empty = check_flag("drop_empty", drop_empty)
    (path,) = locate(["reuters21578/reuters21578.tar.gz"], data_dir, download)
    splits = {"TRAIN": ([], []), "TEST": ([], [])}
    n_files = 0
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if not re.search(r"reut2-\d{3}\.sgm$", member.name):
                    continue
                n_files += 1
                raw = tar.extractfile(member).read().decode("latin-1")
                for m in _DOC.finditer(raw):
                    attrs = dict(_ATTR.findall(m.group(1)))
                    split = attrs.get("LEWISSPLIT")
                    if split not in splits or attrs.get("TOPICS") != "YES":
                        continue
                    inner = m.group(2)
                    t = _TOPICS.search(inner)
                    topics = _D.findall(t.group(1)) if t else []
                    if drop_empty and not topics:
                        continue
                    splits[split][0].append(_doc_text(inner))
                    splits[split][1].append(topics)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DatasetError(f"{path}: unreadable tar.gz archive: {e}") from e
    if n_files != 22:
        raise DatasetError(
            f"{path}: expected reut2-000.sgm .. reut2-021.sgm, found {n_files} files"
        )
    names = sorted({t for _, tops in splits.values() for ts in tops for t in ts})
    return splits["TRAIN"], splits["TEST"], names


def multi_hot(label_lists, classes, dtype="float32"):
    """Turns lists of labels into a multi-hot matrix.

    Args:
        label_lists: One iterable of labels per sample.
        classes: The ordered class names; column ``j`` is ``classes[j]``.
        dtype: Output dtype.

    Returns:
        A (len(label_lists), len(classes)) array with 1 where a sample has a class.

    Raises:
        ValueError: When a label is not in `classes`, or `classes` repeats a name.
    """
    index = {c: j for j, c in enumerate(classes)}
    if len(index) != len(classes):  # a repeated name's first column stayed all zeros
        repeated = sorted({str(c) for c in classes if list(classes).count(c) > 1})
        raise ValueError(
            f"classes must be distinct names, got {', '.join(repeated)} more than once"
        )
    out = np.zeros((len(label_lists), len(classes)), dtype=dtype)
    for i, labels in enumerate(label_lists):
        if isinstance(labels, str):  # would be read as one label per character
            raise ValueError(f"label_lists[{i}] must be a list of labels, got the str {labels!r}")
        for lab in labels:
            if lab not in index:
                raise ValueError(
                    f"label {lab!r} of sample {i} is not one of the {len(classes)} classes"
                )
            out[i, index[lab]] = 1
    return out
