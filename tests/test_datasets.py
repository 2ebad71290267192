"""Loaders against the real files in ../shared/data, plus pipelines and errors."""

import gzip
import os
import time
from pathlib import Path

import numpy as np
import pytest

from keras_ae import datasets
from keras_ae.datasets import _paths

DATA_DIR = Path(
    os.environ.get("KERAS_AE_DATA_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
).resolve()
needs_data = pytest.mark.skipif(
    not DATA_DIR.is_dir(),
    reason=f"dataset directory {DATA_DIR} not found (set KERAS_AE_DATA_DIR)",
)
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


_real_download = _paths._download


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # Tests never touch the network.
    monkeypatch.setenv("KERAS_AE_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("tests must not touch the network")

    monkeypatch.setattr(_paths, "_online", no_network)
    monkeypatch.setattr(_paths, "_download", no_network)


@pytest.fixture(scope="module")
def mnist_test():
    return datasets.load_mnist(DATA_DIR)[1]


@pytest.fixture(scope="module")
def newsgroups():
    return datasets.load_20newsgroups(DATA_DIR)


# ---------------------------------------------------------------- loaders


@needs_data
@pytest.mark.parametrize("loader", [datasets.load_mnist, datasets.load_fashion_mnist])
def test_idx_datasets(loader):
    (x, y), (xt, yt) = loader(DATA_DIR)
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert y.shape == (60000,) and yt.shape == (10000,)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    assert set(np.unique(y)) == set(np.unique(yt)) == set(range(10))
    assert x.max() == 255 and x.min() == 0


@needs_data
def test_repeated_load_is_not_rehashed(monkeypatch):
    datasets.load_mnist(DATA_DIR)
    calls = []
    monkeypatch.setattr(_paths, "sha256_file", lambda p: calls.append(p))
    datasets.load_mnist(DATA_DIR)
    assert calls == []


@needs_data
def test_satimage():
    (x, y), (xt, yt) = datasets.load_satimage(DATA_DIR)
    assert x.shape == (4435, 36) and xt.shape == (2000, 36)
    assert x.dtype == np.float32 and y.dtype == np.uint8
    assert set(np.unique(y)) == set(np.unique(yt)) == {1, 2, 3, 4, 5, 7}
    assert x.min() >= 27 and x.max() <= 157


@needs_data
def test_ecg5000():
    x, y = datasets.load_ecg5000(DATA_DIR)
    assert x.shape == (4998, 140) and x.dtype == np.float32
    assert (y == 1).sum() == 2919 and (y == 0).sum() == 2079
    (a, b), (c, d) = datasets.load_ecg5000(DATA_DIR, split="tutorial")
    assert a.shape == (3998, 140) and c.shape == (1000, 140)
    assert len(b) == 3998 and len(d) == 1000
    # The tutorial split is a permutation of the rows.
    np.testing.assert_allclose(np.sort(np.concatenate([a, c]).sum(1)), np.sort(x.sum(1)), rtol=1e-5)
    (a2, _), _ = datasets.load_ecg5000(DATA_DIR, split="tutorial")
    np.testing.assert_array_equal(a, a2)
    with pytest.raises(ValueError, match="tutorial"):
        datasets.load_ecg5000(DATA_DIR, split="random")


@needs_data
def test_20newsgroups(newsgroups):
    (docs, y), (docs_t, yt), names = newsgroups
    assert len(docs) == len(y) == 11314 and len(docs_t) == len(yt) == 7532
    assert len(names) == 20 and names == sorted(names) and "sci.space" in names
    assert set(np.unique(y)) == set(range(20)) and y.dtype == np.int32
    assert all(isinstance(d, str) for d in docs[:50])
    assert docs[0].startswith("From:")
    stripped = datasets.strip_newsgroup_header(docs[0])
    assert "From:" not in stripped.split("\n", 1)[0] and len(stripped) < len(docs[0])


@needs_data
def test_reuters21578():
    (docs, topics), (docs_t, topics_t), names = datasets.load_reuters21578(DATA_DIR)
    assert len(docs) == len(topics) == 9603 and len(docs_t) == len(topics_t) == 3299
    assert docs[0].startswith("BAHIA COCOA REVIEW") and topics[0] == ["cocoa"]
    assert "&lt;" not in "".join(docs[:200])
    assert sum(1 for t in topics if not t) == 1828
    y = datasets.multi_hot(topics, names)
    assert y.shape == (9603, len(names)) and y.dtype == np.float32
    assert y[0, names.index("cocoa")] == 1 and y[0].sum() == 1
    (docs2, topics2), (docs2_t, _), _ = datasets.load_reuters21578(DATA_DIR, drop_empty=True)
    assert len(docs2) == 7775 and len(docs2_t) == 3019 and all(topics2)
    with pytest.raises(ValueError, match="not one of"):
        datasets.multi_hot([["nope"]], names)


# ---------------------------------------------------------- errors


def _mnist_copy(tmp_path, corrupt_name, corrupt):
    """A mnist/ folder of symlinks to the real files, one replaced by a corrupt copy."""
    d = tmp_path / "mnist"
    d.mkdir()
    for name in MNIST_FILES:
        src = DATA_DIR / "mnist" / name
        if name == corrupt_name:
            (d / name).write_bytes(corrupt(src.read_bytes()))
        else:
            (d / name).symlink_to(src)
    return d / corrupt_name


def _flip(b):
    b = bytearray(b)
    b[len(b) // 2] ^= 0xFF
    return bytes(b)


@needs_data
@pytest.mark.parametrize(
    "corrupt", [lambda b: b[: len(b) // 2], _flip], ids=["truncated", "flipped_byte"]
)
def test_corrupt_file_is_named(tmp_path, corrupt):
    bad = _mnist_copy(tmp_path, "t10k-labels-idx1-ubyte.gz", corrupt)
    with pytest.raises(datasets.DatasetError) as err:
        datasets.load_mnist(tmp_path)
    msg = str(err.value)
    assert str(bad) in msg and "checksum mismatch" in msg
    assert _paths.CHECKSUMS["mnist/t10k-labels-idx1-ubyte.gz"] in msg
    assert isinstance(err.value, ValueError)


@needs_data
def test_another_datasets_file_of_the_same_name_is_named_not_called_corrupt():
    # MNIST and Fashion-MNIST files share their names; a file verified as
    # Fashion-MNIST's must not pass as MNIST's later in the process
    datasets.load_fashion_mnist(DATA_DIR)
    with pytest.raises(
        datasets.DatasetError,
        match=r"is the file fashion_mnist/\S+ \(its sha256 matches\), not mnist/",
    ):
        datasets.load_mnist(DATA_DIR / "fashion_mnist")


@needs_data
def test_read_idx_validates_structure(tmp_path):
    src = (DATA_DIR / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    raw = gzip.decompress(src)
    cases = {
        "short.gz": (gzip.compress(raw[:-10]), "truncated"),
        "magic.gz": (gzip.compress(b"\x01\x02" + raw[2:]), "magic"),
        "notgz.gz": (src[: len(src) // 2], "gzip"),
    }
    for name, (content, what) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(datasets.DatasetError, match=what) as err:
            datasets.read_idx(tmp_path / name, ndim=1)
        assert name in str(err.value)
    with pytest.raises(datasets.DatasetError, match="dimensions"):
        (tmp_path / "ok.gz").write_bytes(src)
        datasets.read_idx(tmp_path / "ok.gz", ndim=3)
    # a missing file is missing, not "not a valid gzip stream"; arguments are named
    with pytest.raises(datasets.DatasetNotFoundError, match="nothing.gz: no such file"):
        datasets.read_idx(tmp_path / "nothing.gz")
    with pytest.raises(ValueError, match="path must be a str or os.PathLike, got int"):
        datasets.read_idx(5)
    with pytest.raises(ValueError, match="ndim must be None or a positive int, got 'x'"):
        datasets.read_idx(tmp_path / "ok.gz", ndim="x")


def test_missing_files_error_lists_files_and_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("KERAS_AE_DATA_DIR", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(datasets.DatasetNotFoundError) as err:
        datasets.load_mnist(empty)
    msg = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    for name in MNIST_FILES:
        assert str(empty / "mnist" / name) in msg
    assert "only folder read" in msg and "KERAS_AE_DATA_DIR" in msg
    with pytest.raises(datasets.DatasetNotFoundError, match="20news-bydate.tar.gz"):
        datasets.load_20newsgroups(empty)
    # without data_dir: the variable's folder and the Keras cache, both named
    monkeypatch.setenv("KERAS_AE_DATA_DIR", str(empty))
    with pytest.raises(datasets.DatasetNotFoundError) as err:
        datasets.load_mnist()
    msg = str(err.value)
    assert all(f"mnist/{name}" in msg for name in MNIST_FILES)
    assert str(empty) in msg and str(tmp_path / "home" / ".keras" / "datasets") in msg
    assert "KERAS_AE_DATA_DIR" in msg and "data_dir" in msg


LOADERS = {
    "load_mnist": "mnist/train-images-idx3-ubyte.gz",
    "load_fashion_mnist": "fashion_mnist/train-images-idx3-ubyte.gz",
    "load_satimage": "satimage/sat.trn",
    "load_ecg5000": "ecg5000/ecg.csv",
    "load_20newsgroups": "20newsgroups/20news-bydate.tar.gz",
    "load_reuters21578": "reuters21578/reuters21578.tar.gz",
}


@needs_data
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_an_explicit_data_dir_is_the_only_folder_read(loader, tmp_path, monkeypatch):
    """A data_dir lacking the dataset's folder used to fall back quietly to
    KERAS_AE_DATA_DIR (or the cache), which here holds every file."""
    monkeypatch.setenv("KERAS_AE_DATA_DIR", str(DATA_DIR))
    monkeypatch.setattr(_paths, "_online", lambda url: True)  # and no download either
    (tmp_path / "mnist").mkdir()  # some other dataset's folder is there
    expected = str(tmp_path / LOADERS[loader])
    with pytest.raises(
        datasets.DatasetNotFoundError, match=rf"data_dir '{tmp_path}' lacks .*\n  {expected}\n"
    ) as err:
        getattr(datasets, loader)(tmp_path)
    assert str(DATA_DIR) not in str(err.value)


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_loader_arguments_of_the_wrong_kind_are_named(loader, tmp_path):
    """load_mnist(5) raised Path's TypeError, naming no argument; "" meant the
    current folder; download="no" was true."""
    fn = getattr(datasets, loader)
    with pytest.raises(
        ValueError, match=r"data_dir must be a path \(str or os.PathLike\).*got int 5"
    ):
        fn(5)
    with pytest.raises(ValueError, match='data_dir must name a folder, got ""'):
        fn("")
    with pytest.raises(ValueError, match="download must be True or False, got 'no'"):
        fn(tmp_path, download="no")


def test_other_loader_arguments_are_checked():
    with pytest.raises(ValueError, match="strip_headers must be True or False, got 'yes'"):
        datasets.load_20newsgroups(strip_headers="yes")
    with pytest.raises(ValueError, match="drop_empty must be True or False, got 1"):
        datasets.load_reuters21578(drop_empty=1)
    with pytest.raises(ValueError, match="text must be a str"):
        datasets.strip_newsgroup_header(b"From: a\n\nbody")
    with pytest.raises(ValueError, match=r"label_lists\[0\] must be a list of labels, got the str"):
        datasets.multi_hot(["cocoa"], ["cocoa", "c"])  # read as the labels c, o, c, o, a
    with pytest.raises(ValueError, match="classes must be distinct names, got a more than once"):
        datasets.multi_hot([["a"], ["b"]], ["a", "b", "a"])  # column 0 stayed all zeros


def test_a_mistyped_keras_ae_data_dir_is_named(tmp_path, monkeypatch):
    """A KERAS_AE_DATA_DIR naming no folder used to be skipped for the cache."""
    monkeypatch.setenv("KERAS_AE_DATA_DIR", str(tmp_path / "nothing"))
    with pytest.raises(
        datasets.DatasetNotFoundError, match=r"KERAS_AE_DATA_DIR='.*nothing' is not a directory"
    ):
        datasets.load_satimage()


@needs_data
def test_download_into_keras_cache(tmp_path, monkeypatch):
    # The download path, served from file:// so no network is used.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("KERAS_AE_DATA_DIR", raising=False)
    monkeypatch.setitem(_paths.URLS, "satimage/", (DATA_DIR / "satimage").as_uri() + "/")
    monkeypatch.setattr(_paths, "_online", lambda url: url.startswith("file:"))
    monkeypatch.setattr(_paths, "_download", _real_download)
    with pytest.raises(datasets.DatasetNotFoundError):
        datasets.load_satimage()  # KERAS_AE_OFFLINE=1 still set
    monkeypatch.delenv("KERAS_AE_OFFLINE")
    with pytest.raises(datasets.DatasetNotFoundError):
        datasets.load_satimage(download=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(datasets.DatasetNotFoundError, match="lacks dataset files"):
        datasets.load_satimage(empty)  # an explicit folder is read, never filled
    # a publisher that answers with an error: the file and the remedy are named
    # and no partial download is left in the cache
    monkeypatch.setitem(_paths.URLS, "satimage/", (tmp_path / "gone").as_uri() + "/")
    with pytest.raises(
        datasets.DatasetNotFoundError,
        match=r"satimage/sat.trn: downloading file:.*gone/sat.trn failed.*"
        r"KERAS_AE_DATA_DIR",
    ):
        datasets.load_satimage()
    assert not list((tmp_path / ".keras").rglob("*.part"))
    monkeypatch.setitem(_paths.URLS, "satimage/", (DATA_DIR / "satimage").as_uri() + "/")
    (x, _), (xt, _) = datasets.load_satimage()
    assert x.shape == (4435, 36) and xt.shape == (2000, 36)
    cache = tmp_path / ".keras" / "datasets" / "satimage"
    assert sorted(f.name for f in cache.iterdir()) == ["sat.trn", "sat.tst"]
    assert (cache / "sat.trn").stat().st_mode & 0o777 == 0o644


def _serve(directory, barrier):
    """An HTTP server on 127.0.0.1 serving `directory`; each response stops
    halfway until `barrier` has as many requests waiting, so downloads overlap."""
    import functools
    import http.server
    import threading

    class Handler(http.server.SimpleHTTPRequestHandler):
        def copyfile(self, source, outputfile):
            data = source.read()
            outputfile.write(data[: len(data) // 2])
            outputfile.flush()
            try:
                barrier.wait(timeout=20)
            except threading.BrokenBarrierError:
                pass
            outputfile.write(data[len(data) // 2 :])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_concurrent_downloads_of_one_file_both_succeed(tmp_path, monkeypatch):
    """Two downloads of one file into one cache shared `<file>.part`: one failed
    (FileNotFoundError, or a checksum mismatch) and could leave no file."""
    import hashlib
    import threading

    payload = np.random.default_rng(0).bytes(200_000)
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "blob.bin").write_bytes(payload)
    n = 3
    server = _serve(tmp_path / "www", threading.Barrier(n))
    try:
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
        monkeypatch.delenv("KERAS_AE_DATA_DIR", raising=False)
        monkeypatch.delenv("KERAS_AE_OFFLINE")
        monkeypatch.setitem(_paths.CHECKSUMS, "tiny/blob.bin", hashlib.sha256(payload).hexdigest())
        monkeypatch.setitem(_paths.URLS, "tiny/", f"http://127.0.0.1:{server.server_port}/")
        monkeypatch.setattr(_paths, "_online", lambda url: url.startswith("http://127.0.0.1:"))
        monkeypatch.setattr(_paths, "_download", _real_download)
        results, errors = [], []

        def fetch():
            try:
                results.append(_paths.locate(["tiny/blob.bin"]))
            except Exception as e:  # noqa: BLE001 (any error is reported below)
                errors.append(e)

        threads = [threading.Thread(target=fetch) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        server.shutdown()
        server.server_close()
    assert errors == [] and len(results) == n
    dest = tmp_path / "kh" / "datasets" / "tiny" / "blob.bin"
    assert all(r == [dest] for r in results)
    assert dest.read_bytes() == payload
    assert [f.name for f in dest.parent.iterdir()] == ["blob.bin"]  # no temporary file left


def test_a_killed_downloads_leftover_is_removed_and_nothing_else(tmp_path, monkeypatch):
    """A download killed mid-way left its temporary file in the cache for good."""
    import hashlib

    www, cache = tmp_path / "www", tmp_path / "cache" / "tiny"
    www.mkdir()
    cache.mkdir(parents=True)
    (www / "blob.bin").write_bytes(b"payload")
    monkeypatch.setitem(_paths.CHECKSUMS, "tiny/blob.bin", hashlib.sha256(b"payload").hexdigest())
    monkeypatch.setitem(_paths.URLS, "tiny/", www.as_uri() + "/")
    old = time.time() - 2 * _paths.STALE_PART_SECONDS
    names = {
        "stale": ".blob.bin.k3j_9xq2.part",
        "stale_old_style": "blob.bin.part",
        "live": ".blob.bin.a1b2c3d4.part",
        "users": ".blob.bin.notes.part",
        "other_file": ".other.bin.k3j_9xq2.part",
    }
    for what, name in names.items():
        (cache / name).write_bytes(b"x")
        if what != "live":
            os.utime(cache / name, (old, old))
    assert _real_download("tiny/blob.bin", cache / "blob.bin") == cache / "blob.bin"
    left = {f.name for f in cache.iterdir()}
    assert left == {"blob.bin", names["live"], names["users"], names["other_file"]}


def test_a_download_finished_by_another_process_is_used(tmp_path, monkeypatch):
    """The file another process completed between the search and the download is
    verified and used, not fetched again."""
    import hashlib

    dest = tmp_path / "tiny" / "blob.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"done")
    monkeypatch.setitem(_paths.CHECKSUMS, "tiny/blob.bin", hashlib.sha256(b"done").hexdigest())
    monkeypatch.setitem(_paths.URLS, "tiny/", "http://127.0.0.1:9/")  # never asked
    assert _real_download("tiny/blob.bin", dest) == dest
    dest.write_bytes(b"bad!")  # neither replaced nor deleted: named
    with pytest.raises(datasets.DatasetError, match="checksum mismatch"):
        _real_download("tiny/blob.bin", dest)
    assert dest.read_bytes() == b"bad!"


def test_a_changed_file_is_verified_again(tmp_path, monkeypatch):
    """A verified file rewritten in place with its size and mtime kept passed as
    verified for the rest of the process."""
    import hashlib

    f = tmp_path / "tiny" / "blob.bin"
    f.parent.mkdir()
    f.write_bytes(b"good data")
    monkeypatch.setitem(_paths.CHECKSUMS, "tiny/blob.bin", hashlib.sha256(b"good data").hexdigest())
    _paths.verify(f, "tiny/blob.bin")
    _paths.verify(f, "tiny/blob.bin")  # unchanged: no second hash needed
    before = f.stat()
    probe = tmp_path / "probe"  # wait for the filesystem clock's next tick
    probe.touch()
    while probe.stat().st_ctime_ns <= before.st_ctime_ns:
        probe.touch()
    with open(f, "r+b") as fh:  # same size, same inode
        fh.write(b"evil")
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = f.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    with pytest.raises(datasets.DatasetError, match="checksum mismatch"):
        _paths.verify(f, "tiny/blob.bin")


def test_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_AE_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    (tmp_path / "arg").mkdir()
    (tmp_path / "env").mkdir()
    assert datasets.search_dirs(tmp_path / "arg") == [tmp_path / "arg"]
    assert datasets.search_dirs() == [tmp_path / "env", tmp_path / "kh" / "datasets"]


# ---------------------------------------------------------- text


@needs_data
def test_vectorize_text_train_only(newsgroups):
    (docs, _), (docs_t, _), _ = newsgroups
    train, test = docs[:500:2], list(docs_t[:200:2]) + ["zzqxonlyintest zzqxonlyintest"]
    for mode in ("tf_idf", "count", "multi_hot"):
        x, xt, vocab = datasets.vectorize_text(train, test, vocab_size=1000, mode=mode)
        assert x.shape == (250, 1000) and xt.shape == (101, 1000)
        assert x.dtype == xt.dtype == np.float32
        assert "zzqxonlyintest" not in vocab and len(vocab) == 1000
        assert "the" in vocab and vocab[0] == "[UNK]" and all(v == v.lower() for v in vocab[1:])
        if mode == "multi_hot":
            assert set(np.unique(x)) <= {0.0, 1.0}
        if mode == "count":
            assert xt[-1, 0] == 2  # both tokens land in the OOV column
    with pytest.raises(ValueError, match="mode"):
        datasets.vectorize_text(train, mode="binary")


# ---------------------------------------------------------- pipelines


def _batches(ds):
    return [np.asarray(b[0] if isinstance(b, tuple) else b) for b in ds]


@needs_data
@pytest.mark.parametrize(
    "kwargs,shape,lo,hi",
    [
        ({"scale": "unit"}, (128, 28, 28), 0.0, 1.0),
        ({"scale": "symmetric", "flatten": True}, (128, 784), -1.0, 1.0),
        ({"scale": "unit", "channels": True}, (128, 28, 28, 1), 0.0, 1.0),
        ({"scale": None}, (128, 28, 28), 0.0, 255.0),
    ],
)
def test_make_dataset_scale_and_shape(mnist_test, kwargs, shape, lo, hi):
    x, y = mnist_test[0][:1000], mnist_test[1][:1000]
    b = _batches(datasets.make_dataset(x, batch_size=128, seed=0, **kwargs))
    assert len(b) == 8 and b[0].shape == shape and b[-1].shape[0] == 1000 - 7 * 128
    assert b[0].dtype == np.float32
    allx = np.concatenate(b)
    assert allx.min() == lo and allx.max() == hi
    # Same transform as preprocess, without shuffling.
    unshuffled = datasets.make_dataset(x, batch_size=1000, shuffle=False, **kwargs)
    np.testing.assert_allclose(_batches(unshuffled)[0], datasets.preprocess(x, **kwargs), atol=1e-6)
    xb, yb = next(iter(datasets.make_dataset(x, y, batch_size=64, shuffle=False, **kwargs)))
    np.testing.assert_array_equal(yb, y[:64])
    assert xb.shape == (64, *shape[1:])


@needs_data
def test_make_dataset_shuffle_seed_and_drop_remainder(mnist_test):
    x = mnist_test[0][:1000]
    a = _batches(datasets.make_dataset(x, batch_size=300, seed=3, drop_remainder=True))
    b = _batches(datasets.make_dataset(x, batch_size=300, seed=3, drop_remainder=True))
    assert len(a) == 3
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], datasets.preprocess(x[:300]))
    ds = datasets.make_dataset(x, batch_size=300, seed=3, repeat=True)
    assert len(list(ds.take(7))) == 7


@needs_data
def test_binarization(mnist_test):
    x = mnist_test[0][:512]
    static = _batches(datasets.make_dataset(x, batch_size=512, shuffle=False, binarize="static"))[0]
    np.testing.assert_array_equal(static, (x / 255.0 > 0.5).astype(np.float32))

    def epochs(seed, n=2):
        ds = datasets.make_dataset(x, batch_size=256, shuffle=False, binarize="dynamic", seed=seed)
        return [np.concatenate(_batches(ds)) for _ in range(n)]

    e1, e2 = epochs(4)
    assert set(np.unique(e1)) == {0.0, 1.0}
    assert not np.array_equal(e1, e2)  # fresh draw every epoch
    r1, r2 = epochs(4)
    np.testing.assert_array_equal(e1, r1)  # repeatable with the seed
    np.testing.assert_array_equal(e2, r2)
    # Bernoulli with the intensity as probability: mean matches, zeros stay zero.
    assert abs(e1.mean() - (x / 255.0).mean()) < 0.01
    assert np.all(e1[x == 0] == 0)


@needs_data
def test_fixed_binarization_is_one_bernoulli_draw_kept(mnist_test):
    """binarize="fixed" is the papers' statically binarized data: one Bernoulli
    draw (dim pixels are sometimes on, unlike "static"'s threshold), the same on
    every pass and for a given seed; it refuses an order that changes."""
    from keras_ae.zoo import protocols as zp

    x = mnist_test[0][:512]
    unit = (x / 255.0).astype(np.float32)

    def passes(seed, n=2):
        ds = datasets.make_dataset(x, batch_size=200, shuffle=False, binarize="fixed", seed=seed)
        return [np.concatenate(_batches(ds)) for _ in range(n)]

    f1, f2 = passes(4)
    np.testing.assert_array_equal(f1, f2)  # kept across epochs
    np.testing.assert_array_equal(f1, passes(4, 1)[0])  # and for the seed
    assert not np.array_equal(f1, passes(5, 1)[0])
    assert abs(f1.mean() - unit.mean()) < 0.01
    assert f1.reshape(unit.shape)[(unit > 0.1) & (unit <= 0.5)].mean() > 0.1  # not a threshold
    assert np.all(f1[x == 0] == 0)
    # preprocess draws the numpy copy the zoo's cards measure on
    fixed = datasets.preprocess(x, binarize="fixed", seed=123)
    np.testing.assert_array_equal(fixed, zp.static_binarize(unit, 123))
    assert abs(fixed.mean() - unit.mean()) < 0.01
    for kwargs in ({}, {"shuffle": False, "repeat": True}):
        with pytest.raises(ValueError, match="fixed order: shuffle=False and repeat=False"):
            datasets.make_dataset(x, binarize="fixed", **kwargs)


def test_bad_pipeline_arguments():
    x = np.zeros((10, 28, 28), np.uint8)
    with pytest.raises(ValueError, match="scale"):
        datasets.make_dataset(x, scale="minmax")
    with pytest.raises(ValueError, match="binarize"):
        datasets.make_dataset(x, binarize="yes")
    with pytest.raises(ValueError, match="batch_size"):
        datasets.make_dataset(x, batch_size=0)
    # a numpy integer is a batch size like any other
    batch = next(iter(datasets.make_dataset(x, batch_size=np.int64(4), shuffle=False)))
    assert batch.shape[0] == 4
    train, test, vocab = datasets.vectorize_text(["a b c", "b c"], ["c d"], vocab_size=np.int64(4))
    assert train.shape == (2, 4) and test.shape == (1, 4) and len(vocab) == 4
    # one column per token of the vocabulary, which holds fewer than vocab_size here
    assert datasets.vectorize_text(["a b"], [], vocab_size=5)[1].shape == (0, 3)
    with pytest.raises(ValueError, match="test_docs must be a list of str, got one str"):
        datasets.vectorize_text(["a b", "c"], "a b", vocab_size=5)
    with pytest.raises(ValueError, match="hold no words"):
        datasets.vectorize_text(["", ""], vocab_size=5)
    with pytest.raises(ValueError, match="same length"):
        datasets.make_dataset(x, np.zeros(3))
    with pytest.raises(ValueError, match="dynamic"):
        datasets.preprocess(x, binarize="dynamic")


def test_vectorize_text_columns_are_its_vocabulary_and_the_oov_column_can_go():
    """The output was vocab_size wide whatever the vocabulary (vocab_size=10**9 would
    allocate 4 GB a document); non-str documents reached TensorFlow's own errors."""
    docs, test = ["the cat sat", "the dog ran", "the the cat"], ["the zebra"]
    x, xt, vocab = datasets.vectorize_text(docs, test, vocab_size=10**9, mode="count")
    assert vocab == ["[UNK]", "the", "cat", "sat", "ran", "dog"] and x.shape == (3, 6)
    np.testing.assert_array_equal(xt, [[1, 1, 0, 0, 0, 0]])  # zebra: out of vocabulary
    x2, xt2, vocab2 = datasets.vectorize_text(
        docs, test, vocab_size=10**9, mode="count", oov_column=False
    )
    assert vocab2 == vocab[1:]
    np.testing.assert_array_equal(x2, x[:, 1:])
    np.testing.assert_array_equal(xt2, xt[:, 1:])
    gen = (d for d in docs)  # any iterable of str
    np.testing.assert_array_equal(datasets.vectorize_text(gen, mode="count")[0], x)
    for bad, message in [
        ([1, 2], "train_docs must be a list of str; item 0 is of type int"),
        (["a b", None], "item 1 is of type NoneType"),
        (5, "train_docs must be a list of str, got int"),
    ]:
        with pytest.raises(ValueError, match=message):
            datasets.vectorize_text(bad)
    with pytest.raises(ValueError, match="test_docs must be a list of str; item 0"):
        datasets.vectorize_text(docs, [3.5])
    for bad in (0, 2.5):  # TF's BatchDataset and EagerTensor errors named no argument
        with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {bad}"):
            datasets.vectorize_text(docs, batch_size=bad)
    with pytest.raises(ValueError, match="oov_column must be True or False, got 'no'"):
        datasets.vectorize_text(docs, oov_column="no")


def test_a_data_dir_that_is_no_directory_is_named(monkeypatch, tmp_path):
    """A mistyped data_dir used to fall back to KERAS_AE_DATA_DIR unnoticed."""
    from conftest import data_dir

    monkeypatch.setenv("KERAS_AE_DATA_DIR", str(data_dir()))
    with pytest.raises(datasets.DatasetNotFoundError, match=r"data_dir '.*nothing' is not a dir"):
        datasets.load_ecg5000(tmp_path / "nothing")


@pytest.mark.parametrize("call", ["preprocess", "make_dataset"])
def test_integer_images_are_scaled_by_their_dtypes_range_or_refused(call):
    """uint16 65535 became 257.0 (divided by 255) and int16 -300 became -1.18."""

    def run(x, **kwargs):
        if call == "preprocess":
            return datasets.preprocess(x, **kwargs)
        return np.concatenate(_batches(datasets.make_dataset(x, shuffle=False, **kwargs)))

    for dtype in ("uint8", "uint16", "uint32", "uint64"):
        top = np.iinfo(dtype).max
        x = np.array([[0, top // 4 * 3, top]], dtype)
        unit = x / float(top)  # 0, 0.75, 1
        np.testing.assert_allclose(run(x), unit, atol=1e-6, err_msg=dtype)
        np.testing.assert_array_equal(run(x, binarize="static"), [[0, 1, 1]])
        np.testing.assert_allclose(run(x, scale="symmetric"), 2 * unit - 1, atol=1e-6)
    np.testing.assert_array_equal(run(np.array([[False, True]])), [[0, 1]])
    for dtype in ("int8", "int16", "int32", "int64"):
        x = np.array([[-300, 255] if dtype != "int8" else [-3, 100]], dtype)
        for kwargs in ({}, {"scale": "symmetric"}, {"binarize": "static"}):
            with pytest.raises(
                ValueError,
                match=rf"{call}: x has the signed integer dtype "
                rf"{dtype}, which has no intensity range",
            ):
                run(x, **kwargs)
        raw = run(x, scale=None)  # raw values asked for: kept as they are
        assert raw.dtype == np.float32
        np.testing.assert_array_equal(raw, x.astype(np.float32))


@pytest.mark.parametrize("call", ["preprocess", "make_dataset"])
def test_values_beyond_float32_are_refused_not_made_infinite(call):
    """The finiteness check ran before the cast: float64 1e300 became inf."""
    fn = getattr(datasets, call)
    for value in (1e300, -1e39):
        with pytest.raises(ValueError, match=rf"{call}: x has values in .*beyond float32's range"):
            fn(np.full((2, 12), value), scale=None)
    big = float(np.finfo(np.float32).max)  # the largest float32 itself still fits
    assert np.isfinite(datasets.preprocess(np.full((2, 12), big), scale=None)).all()


@pytest.mark.parametrize("call", ["preprocess", "make_dataset"])
def test_threshold_must_lie_inside_the_intensity_range(call):
    """threshold=nan or 2.0 binarized every image to zeros."""
    fn = getattr(datasets, call)
    x = np.full((2, 3, 3), 200, np.uint8)
    for bad in (float("nan"), 2.0, 1.0, -0.1, float("inf"), "0.5", None):
        with pytest.raises(ValueError, match=r"threshold must be a (finite )?number"):
            fn(x, binarize="static", threshold=bad)
    assert datasets.preprocess(x, binarize="static", threshold=0.0).min() == 1


def test_make_dataset_arguments_give_errors_naming_them():
    """An empty array reached TF's ShuffleDatasetV3 error, seed=2**70 was taken
    as it came, a batch_size above len(x) with drop_remainder gave no batch."""
    x = np.zeros((10, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"make_dataset: x is empty \(shape \(0, 4, 4\)\)"):
        datasets.make_dataset(x[:0])
    for seed in (2**70, -(2**64), 3.0, True, "1"):
        with pytest.raises(
            ValueError, match=r"seed must be (an int, None|an integer in \[-2\*\*63)"
        ):
            datasets.make_dataset(x, seed=seed)
    np.testing.assert_array_equal(  # numpy and negative int64 seeds are seeds
        _batches(datasets.make_dataset(x, seed=np.int64(-5))),
        _batches(datasets.make_dataset(x, seed=-5)),
    )
    with pytest.raises(ValueError, match=r"drop_remainder=True with batch_size=16 > len\(x\)=10"):
        datasets.make_dataset(x, batch_size=16, drop_remainder=True)
    for flag in ("shuffle", "drop_remainder", "prefetch", "cache", "repeat", "flatten", "channels"):
        with pytest.raises(ValueError, match=rf"{flag} must be True or False, got 'no'"):
            datasets.make_dataset(x, **{flag: "no"})
    with pytest.raises(ValueError, match="flatten must be True or False"):
        datasets.preprocess(x, flatten=1)
    with pytest.raises(ValueError, match="y must hold one target per sample"):
        datasets.make_dataset(x, y=3)
    with pytest.raises(ValueError, match="y contains NaN or infinite values"):
        datasets.make_dataset(x, y=np.full((10, 2), np.nan))  # was trained on as it came
    for call in ("preprocess", "make_dataset"):
        fn = getattr(datasets, call)
        with pytest.raises(ValueError, match=rf"{call}: x is complex .*imaginary part"):
            fn(np.ones((2, 3), np.complex64))
        with pytest.raises(
            ValueError, match=rf"{call}: x must have a bool, integer or float dtype"
        ):
            fn(np.array([["1", "2"]]))
        with pytest.raises(ValueError, match=rf"{call}: x must be a batch of samples"):
            fn(np.float32(0.5))
    # an empty batch through preprocess is an empty batch, flattened or not
    assert datasets.preprocess(x[:0], flatten=True).shape == (0, 16)


@needs_data
def test_a_dynamically_binarized_run_validates_on_one_fixed_draw(shared_data):
    """keras-ae train of a VAE on mnist binarizes the training images afresh
    each epoch; its validation images were thresholded at 0.5 (a different
    data set: val_loss below the training loss, figures unlike the papers').
    They are now one Bernoulli draw, kept across epochs."""
    from keras_ae.datasets import records
    from keras_ae.models import VAE

    settings = {"dataset": "mnist", "scale": None, "validation_split": None}
    record, _, _, val = records.prepare(
        settings, VAE, "mlp", shared_data, 256, 0, 1024, binarize="dynamic"
    )
    assert record["splits"]["validation"] == "test"
    first, again = (np.concatenate(_batches(val)) for _ in range(2))
    np.testing.assert_array_equal(first, again)
    unit = datasets.load("mnist", split="test", data_dir=shared_data)[: len(first)]
    unit = unit.reshape(first.shape)
    assert np.isin(first, (0, 1)).all() and np.all(first[unit == 0] == 0)
    assert first[(unit > 0.1) & (unit <= 0.5)].mean() > 0.1  # drawn, not thresholded
