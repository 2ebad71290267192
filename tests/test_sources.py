"""make_dataset/load from every source: image folders, CIFAR-10 (JPEG), CSV tables
made from satimage, ECG5000 sequences, tfds (mocked and reading local files), and
the bad input each must name before training starts."""

import io
import tarfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import data_dir

from keras_ae import datasets, models
from keras_ae.datasets import _paths, cifar
from keras_ae.datasets.table import FeatureScaler

tfds = pytest.importorskip("tensorflow_datasets")


def _png(path, img):
    tf.io.write_file(str(path), tf.io.encode_png(img))


def _jpeg(path, img):
    tf.io.write_file(str(path), tf.io.encode_jpeg(img, quality=100))


def _bmp(path, img):
    """24-bit BMP: bottom-up BGR rows padded to 4 bytes."""
    h, w, _ = img.shape
    row = (3 * w + 3) // 4 * 4
    pixels = np.zeros((h, row), np.uint8)
    pixels[:, : 3 * w] = img[::-1, :, ::-1].reshape(h, -1)
    le = lambda v, n: int(v).to_bytes(n, "little")  # noqa: E731
    header = (
        b"BM"
        + le(54 + pixels.size, 4)
        + bytes(4)
        + le(54, 4)
        + le(40, 4)
        + le(w, 4)
        + le(h, 4)
        + le(1, 2)
        + le(24, 2)
        + bytes(24)
    )
    path.write_bytes(header + pixels.tobytes())


def _gif(path, img):
    from PIL import Image  # Pillow comes with matplotlib

    Image.fromarray(img[..., 0], "L").save(path, format="GIF")


def _images(rng, n, h=8, w=6, grey=False):
    img = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    if grey:
        img[..., 1] = img[..., 2] = img[..., 0]
    return img


def _smooth(h, w):
    """A colour gradient: what JPEG keeps nearly exactly (noise it does not)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([yy * 255 // h, xx * 255 // w, (yy + xx) * 255 // (h + w)], -1).astype(np.uint8)


def _listing(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# ----------------------------------------------------------------- image folders


def test_flat_folder_of_every_format_decodes_to_unit_floats(tmp_path, rng):
    img = _images(rng, 4, grey=True)  # grey pixels: GIF's palette keeps them
    img[1] = _smooth(8, 6)
    for writer, name, im in (
        (_png, "a.png", img[0]),
        (_jpeg, "b.JPG", img[1]),
        (_bmp, "c.bmp", img[2]),
        (_gif, "d.gif", img[3]),
    ):
        writer(tmp_path / name, im)
    (tmp_path / "notes.txt").write_text("not an image")  # ignored: not an image name
    x = datasets.load(f"images:{tmp_path}")
    assert x.shape == (4, 8, 6, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[[0, 2, 3]], img[[0, 2, 3]] / np.float32(255))  # lossless
    assert np.abs(x[1] - img[1] / 255).mean() < 0.03  # JPEG, quality 100
    grey = datasets.load(f"images:{tmp_path}", color_mode="grayscale")
    assert grey.shape == (4, 8, 6, 1)
    np.testing.assert_allclose(grey[0, ..., 0], img[0, ..., 0] / 255, atol=1 / 255)


def test_class_folders_give_labels_resize_and_stream_into_training(tmp_path, rng):
    img = _images(rng, 24, 12, 20)
    for i, c in enumerate(["cat", "ant", "bee"]):
        (tmp_path / c).mkdir()
        for j in range(8):
            _png(tmp_path / c / f"{j}.png", img[8 * i + j])
    x, y = datasets.load(
        f"images:{tmp_path}", with_labels=True, image_size=(10, 10), crop_to_aspect_ratio=True
    )
    assert x.shape == (24, 10, 10, 3) and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(y, [0] * 8 + [1] * 8 + [2] * 8)  # ant, bee, cat
    # the crop keeps the centre: a 12x12 centre crop resized is what was resized
    centre = (
        tf.image.resize(img[8:9, :, 4:16].astype("float32"), (10, 10), antialias=True).numpy() / 255
    )
    np.testing.assert_allclose(x[:1], centre, atol=1e-5)
    ds = datasets.make_dataset(f"images:{tmp_path}", batch_size=8, seed=0, image_size=(8, 8))
    assert ds.class_names == ["ant", "bee", "cat"]
    keras.utils.set_random_seed(0)
    model = models.ConvAutoencoder(input_shape=(8, 8, 3), latent_dim=8, filters=(8,))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    loss = model.fit(ds, epochs=6, verbose=0, shuffle=False).history["loss"]
    assert loss[-1] < loss[0]


def test_validation_split_is_disjoint_and_repeatable(tmp_path, rng):
    for i, im in enumerate(_images(rng, 20)):
        _png(tmp_path / f"{i:02d}.png", im)
    src = f"images:{tmp_path}"
    train = datasets.load(src, validation_split=0.25)
    val = datasets.load(src, split="validation", validation_split=0.25)
    assert len(train) == 15 and len(val) == 5
    every = datasets.load(src)
    rows = {r.tobytes() for r in every}
    assert {r.tobytes() for r in train} | {r.tobytes() for r in val} == rows
    assert not {r.tobytes() for r in train} & {r.tobytes() for r in val}
    np.testing.assert_array_equal(
        val, datasets.load(src, split="validation", validation_split=0.25)
    )
    with pytest.raises(ValueError, match="validation_split"):
        datasets.load(src, split="validation")
    with pytest.raises(ValueError, match="no train/ and test/"):
        datasets.load(src, split="test")


def test_split_folders(tmp_path, rng):
    for split, n in (("train", 6), ("test", 2)):
        (tmp_path / split / "a").mkdir(parents=True)
        for i in range(n):
            _png(tmp_path / split / "a" / f"{i}.png", _images(rng, 1)[0])
    assert len(datasets.load(f"images:{tmp_path}")) == 6
    assert len(datasets.load(f"images:{tmp_path}", split="test")) == 2


def test_class_folder_named_train_is_a_class(tmp_path, rng):
    img = _images(rng, 12)
    for i, c in enumerate(["bus", "car", "train"]):
        (tmp_path / c).mkdir()
        for j in range(4):
            _png(tmp_path / c / f"{j}.png", img[4 * i + j])
    x, y = datasets.load(f"images:{tmp_path}", with_labels=True)
    assert x.shape[0] == 12
    np.testing.assert_array_equal(y, [0] * 4 + [1] * 4 + [2] * 4)  # bus, car, train


def test_test_split_labels_are_numbered_by_train_classes(tmp_path, rng):
    for split, classes in (("train", "abc"), ("test", "ac")):
        for c in classes:
            (tmp_path / split / c).mkdir(parents=True)
            _png(tmp_path / split / c / "0.png", _images(rng, 1)[0])
    src = f"images:{tmp_path}"
    _, y = datasets.load(src, split="test", with_labels=True)
    np.testing.assert_array_equal(y, [0, 2])  # a, c as numbered in train/
    assert datasets.make_dataset(src, split="test").class_names == ["a", "b", "c"]
    (tmp_path / "test" / "d").mkdir()
    _png(tmp_path / "test" / "d" / "0.png", _images(rng, 1)[0])
    with pytest.raises(ValueError, match=r"\['d'\] that .*train lacks"):
        datasets.load(src, split="test", with_labels=True)


# ----------------------------------------------------------------- bad images


def test_empty_folder_and_one_without_images(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(datasets.DatasetError, match="holds no image files"):
        datasets.make_dataset(f"images:{tmp_path / 'empty'}")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    with pytest.raises(datasets.DatasetError, match="holds no image files"):
        datasets.make_dataset(f"images:{tmp_path / 'docs'}")
    with pytest.raises(datasets.DatasetNotFoundError, match="is not a directory"):
        datasets.make_dataset(f"images:{tmp_path / 'missing'}")


def test_unreadable_and_truncated_images_are_named_or_skipped(tmp_path, rng, capsys):
    img = _images(rng, 5)
    for i in range(3):
        _png(tmp_path / f"{i}.png", img[i])
    jpeg = tf.io.encode_jpeg(img[3]).numpy()
    (tmp_path / "3.jpg").write_bytes(jpeg[: len(jpeg) // 2])  # truncated
    (tmp_path / "4.png").write_text("<html>not found</html>")  # not an image at all
    before = _listing(tmp_path)
    with pytest.raises(
        datasets.DatasetError,
        match=r"3\.jpg is not a readable image.*2 of 5"
        r".*on_bad_image=\"skip\"",
    ):
        datasets.make_dataset(f"images:{tmp_path}")
    x = datasets.load(f"images:{tmp_path}", on_bad_image="skip")
    np.testing.assert_array_equal(x, img[:3] / np.float32(255))
    assert "skipped 2 unreadable file(s) of 5" in capsys.readouterr().err
    with pytest.raises(ValueError, match="on_bad_image"):
        datasets.make_dataset(f"images:{tmp_path}", on_bad_image="ignore")
    assert _listing(tmp_path) == before  # nothing written


def test_mixed_sizes_need_image_size(tmp_path, rng):
    _png(tmp_path / "a.png", _images(rng, 1, 8, 6)[0])
    _png(tmp_path / "b.png", _images(rng, 1, 30, 45)[0])
    with pytest.raises(datasets.DatasetError, match=r"a\.png is 8x6.*b\.png is 30x45.*image_size"):
        datasets.make_dataset(f"images:{tmp_path}")
    assert datasets.load(f"images:{tmp_path}", image_size=(16, 16)).shape == (2, 16, 16, 3)


def test_bad_source_strings_and_options(tmp_path):
    with pytest.raises(ValueError, match="csv:data.csv"):
        datasets.make_dataset("data.csv")
    with pytest.raises(ValueError, match=f"images:{tmp_path}"):
        datasets.make_dataset(str(tmp_path))
    with pytest.raises(ValueError, match="vectorize"):
        datasets.make_dataset("20newsgroups")
    with pytest.raises(ValueError, match="label_column do not apply to a images source"):
        datasets.make_dataset(f"images:{tmp_path}", label_column=0)
    with pytest.raises(ValueError, match="image_size do not apply to an array"):
        datasets.make_dataset(np.zeros((2, 4, 4), np.uint8), image_size=(2, 2))
    with pytest.raises(ValueError, match="FeatureScaler"):
        datasets.make_dataset(np.zeros((2, 4)), scale="standard")


# ----------------------------------------------------------------- CIFAR-10 (JPEG)


def _fake_cifar_tarball(tmp_path, monkeypatch, members):
    """A small tarball under the real file's name, its sha256 made the expected one."""
    folder = tmp_path / "data" / "cifar10_jpeg"
    folder.mkdir(parents=True)
    path = folder / "cifar-10-images.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setitem(_paths.CHECKSUMS, cifar.KEY, _paths.sha256_file(path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "data"


def test_cifar_tarball_extracts_once_and_atomically(tmp_path, monkeypatch, rng):
    img = np.stack([_smooth(32, 32), 255 - _smooth(32, 32)])
    jpg = [tf.io.encode_jpeg(i).numpy() for i in img]
    data = _fake_cifar_tarball(
        tmp_path,
        monkeypatch,
        [
            (f"cifar-10-images/{s}/{c}/0000.jpg", jpg[s == "test"])
            for s in ("train", "test")
            for c in cifar.CIFAR10_CLASSES
        ],
    )
    (x, y), (xt, yt) = datasets.load_cifar10_jpeg(data)
    assert x.shape == xt.shape == (10, 32, 32, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(y, np.arange(10))
    assert np.abs(x[0].astype(int) - img[0]).mean() < 3  # JPEG of the same pixels
    assert np.abs(xt[0].astype(int) - img[1]).mean() < 3
    cache = tmp_path / "keras" / "datasets" / "cifar10_jpeg"
    assert [p.name for p in cache.iterdir()] == [f"extracted-{_paths.CHECKSUMS[cifar.KEY][:12]}"]
    mtime = cache.stat().st_mtime_ns
    assert len(datasets.load("cifar10_jpeg", data_dir=data, split="test")) == 10
    assert cache.stat().st_mtime_ns == mtime  # not extracted again


def test_cifar_tarball_escaping_its_folder_is_refused(tmp_path, monkeypatch):
    data = _fake_cifar_tarball(
        tmp_path,
        monkeypatch,
        [("cifar-10-images/train/a/0.jpg", b"x"), ("cifar-10-images/../../evil.txt", b"x")],
    )
    with pytest.raises(datasets.DatasetError, match="unexpected member.*evil"):
        datasets.load_cifar10_jpeg(data)
    assert not (tmp_path / "evil.txt").exists() and not list(tmp_path.rglob("evil.txt"))
    assert list((tmp_path / "keras" / "datasets" / "cifar10_jpeg").iterdir()) == []  # no staging


@pytest.fixture(scope="module")
def cifar_folder():
    """The real tarball, extracted once into the Keras cache (a one-off ~10 s)."""
    path = data_dir() / "cifar10_jpeg" / "cifar-10-images.tar.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found (set KERAS_AE_DATA_DIR)")
    return cifar.extracted_cifar10_jpeg(data_dir())


def test_real_cifar_jpeg_folder(cifar_folder):
    train = cifar_folder / "train"
    assert sorted(p.name for p in train.iterdir()) == list(cifar.CIFAR10_CLASSES)
    assert sum(1 for _ in (cifar_folder / "test").rglob("*.jpg")) == 10_000
    # a few hundred real files through the image-folder code: one class's first 300
    subset = cifar_folder / "test" / "cat"
    ds = datasets.make_dataset(f"images:{subset}", batch_size=100, shuffle=False)
    x = np.concatenate(list(ds.take(3).as_numpy_iterator()))
    assert x.shape == (300, 32, 32, 3) and 0 <= x.min() < 0.1 and 0.9 < x.max() <= 1
    assert 0.3 < x.mean() < 0.6
    ds = datasets.make_dataset(
        "cifar10_jpeg", data_dir=data_dir(), split="test", batch_size=50, with_labels=True
    )
    xb, yb = next(iter(ds))
    assert xb.shape == (50, 32, 32, 3) and ds.class_names == list(cifar.CIFAR10_CLASSES)
    assert set(yb.numpy()) <= set(range(10)) and len(set(yb.numpy())) > 3  # shuffled


# ----------------------------------------------------------------- CSV tables


@pytest.fixture
def satimage_csv(tmp_path):
    folder = data_dir() / "satimage"
    if not (folder / "sat.trn").is_file():
        pytest.skip("satimage not found (set KERAS_AE_DATA_DIR)")
    (x, y), (xt, yt) = datasets.load_satimage(data_dir())
    names = ",".join([f"b{i}" for i in range(36)] + ["class"])
    paths = []
    for name, a, b in (("train", x, y), ("test", xt, yt)):
        path = tmp_path / f"sat_{name}.csv"
        rows = np.column_stack([a.astype(int), b])
        np.savetxt(path, rows, fmt="%d", delimiter=",", header=names, comments="")
        paths.append(path)
    return paths, (x, y), (xt, yt)


def test_satimage_csv_scaled_on_train_only_and_reused(satimage_csv, tmp_path):
    (train_csv, test_csv), (x, y), (xt, yt) = satimage_csv
    src = f"csv:{train_csv}"
    xs, ys = datasets.load(src, label_column="class", with_labels=True, validation_split=0.2)
    xv, yv = datasets.load(
        src, split="validation", label_column="class", with_labels=True, validation_split=0.2
    )
    assert len(xs) + len(xv) == len(x) == 4435 and xs.shape[1] == 36
    assert set(ys) | set(yv) == set(datasets.tabular.SATIMAGE_CLASSES)
    # minmax fitted on the training rows only: they span [0, 1] exactly
    assert xs.min() == 0 and xs.max() == 1
    scaler = datasets.fit_scaler(src, "minmax", label_column="class", validation_split=0.2)
    perm = np.random.default_rng(0).permutation(len(x))  # the documented hold-out
    np.testing.assert_allclose(scaler.offset, x[np.sort(perm[887:])].min(axis=0))
    np.testing.assert_allclose(xv, scaler.transform(x[np.sort(perm[:887])]), rtol=1e-6)
    # saved with the run, loaded later, it scales new rows as the training rows were
    scaler.save(tmp_path / "run" / "scaler.json")
    again = FeatureScaler.load(tmp_path / "run" / "scaler.json")
    test = datasets.load(f"csv:{test_csv}", split="test", label_column="class", scale=again)
    np.testing.assert_allclose(test, (xt - scaler.offset) / scaler.scale, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="fitted on training data only"):
        datasets.load(f"csv:{test_csv}", split="test", label_column="class", scale="minmax")
    standard = datasets.load(src, label_column=-1, scale="standard")
    np.testing.assert_allclose(standard.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(standard.std(axis=0), 1, atol=1e-4)


def test_csv_bad_cells_and_columns_are_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,0\n3,x,1\n")
    with pytest.raises(datasets.DatasetError, match=r"line 3, column 'b' \(index 1\) holds 'x'"):
        datasets.load(f"csv:{path}", label_column="label")
    path.write_text("a,b,label\n1,2,0\n3,,1\n")
    with pytest.raises(datasets.DatasetError, match=r"line 3, column 'b'.*missing"):
        datasets.load(f"csv:{path}", label_column="label")
    path.write_text("a,b,label\n1,2,0\n3,nan,1\n")
    with pytest.raises(datasets.DatasetError, match=r"line 3, column 'b'.*'nan'"):
        datasets.load(f"csv:{path}", label_column="label")
    path.write_text("a,b,label\n1,2,0\n3,4\n")
    with pytest.raises(datasets.DatasetError, match="line 3 has 2 cells, expected 3"):
        datasets.load(f"csv:{path}")
    path.write_text("a,b,label\n1,2,0\n3,4,1\n")
    with pytest.raises(datasets.DatasetError, match="'class' is not a column.*a, b, label"):
        datasets.load(f"csv:{path}", label_column="class")
    with pytest.raises(datasets.DatasetError, match="out of range"):
        datasets.load(f"csv:{path}", label_column=5)
    with pytest.raises(ValueError, match="label_column"):
        datasets.load(f"csv:{path}", with_labels=True)
    with pytest.raises(datasets.DatasetNotFoundError, match="no file"):
        datasets.load(f"csv:{tmp_path / 'nope.csv'}")
    x, y = datasets.load(f"csv:{path}", label_column="label", with_labels=True, scale=None)
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, [0, 1])


def test_feature_scaler_config_round_trip_and_checks():
    s = FeatureScaler("standard").fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    assert s.scale.tolist() == [1.0, 1.0]  # a constant feature's spread counts as 1
    again = FeatureScaler.from_config(s.to_config())
    np.testing.assert_array_equal(again.transform([[1.0, 5.0]]), [[0.0, 0.0]])
    with pytest.raises(ValueError, match="fitted on 2 features"):
        s.transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="method"):
        FeatureScaler("robust")


# ----------------------------------------------------------------- sequences


@pytest.fixture(scope="module")
def ecg():
    if not (data_dir() / "ecg5000" / "ecg.csv").is_file():
        pytest.skip("ecg5000 not found (set KERAS_AE_DATA_DIR)")
    return datasets.load_ecg5000(data_dir())


def test_ecg_rows_as_sequences_and_windows(ecg, tmp_path):
    x, y = ecg
    src = f"csv:{data_dir() / 'ecg5000' / 'ecg.csv'}"
    seq, labels = datasets.load(
        src, label_column=140, sample_shape=(140, 1), scale=None, with_labels=True
    )
    assert seq.shape == (4998, 140, 1)
    np.testing.assert_allclose(seq[..., 0], x, rtol=1e-6)
    np.testing.assert_array_equal(labels, y)
    # one long signal of three beats, a row per time step: windows give the beats back
    long = tmp_path / "signal.csv"
    np.savetxt(
        long,
        np.column_stack([x[:3].reshape(-1), np.repeat(y[:3], 140)]),
        delimiter=",",
        header="ecg,label",
        comments="",
        fmt="%.9g",
    )
    w, wy = datasets.load(
        f"csv:{long}",
        label_column="label",
        sequence_length=140,
        sequence_stride=140,
        scale=None,
        with_labels=True,
    )
    np.testing.assert_allclose(w[..., 0], x[:3], rtol=1e-6)
    np.testing.assert_array_equal(wy, y[:3])
    assert datasets.load(f"csv:{long}", label_column="label", sequence_length=140).shape == (
        420 - 140 + 1,
        140,
        1,
    )
    # validation is the end of the signal: no window straddles train and validation
    val = datasets.load(
        f"csv:{long}",
        label_column="label",
        sequence_length=140,
        sequence_stride=140,
        split="validation",
        validation_split=1 / 3,
    )
    assert val.shape == (1, 140, 1)
    with pytest.raises(datasets.DatasetError, match="longer than the 420 rows"):
        datasets.load(f"csv:{long}", label_column="label", sequence_length=500)


def test_sequence_arrays_pass_through(rng):
    x = rng.normal(size=(32, 20, 3)).astype(np.float32)
    ds = datasets.make_dataset(x, batch_size=16, shuffle=False, scale=None)
    np.testing.assert_array_equal(np.concatenate(list(ds.as_numpy_iterator())), x)
    scaler = FeatureScaler("minmax").fit(x)
    out = np.concatenate(list(datasets.make_dataset(x, scale=scaler, shuffle=False)))
    assert out.shape == (32, 20, 3) and out.min() == 0 and out.max() == 1


# ----------------------------------------------------------------- tfds


def test_tfds_mock_data_by_name(tmp_path):
    with tfds.testing.mock_data(num_examples=20):
        ds = datasets.make_dataset("tfds:mnist", data_dir=tmp_path, batch_size=8, seed=0)
        x = next(iter(ds))
        assert x.shape == (8, 28, 28, 1) and x.dtype == tf.float32
        assert 0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1
        x, y = next(
            iter(
                datasets.make_dataset(
                    "tfds:mnist",
                    data_dir=tmp_path,
                    batch_size=8,
                    with_labels=True,
                    color_mode="rgb",
                    image_size=(14, 14),
                )
            )
        )
        assert x.shape == (8, 14, 14, 3) and y.shape == (8,)
        with pytest.raises(ValueError, match="no feature 'picture'.*image, label"):
            datasets.make_dataset("tfds:mnist", data_dir=tmp_path, feature="picture")


def test_tfds_unknown_or_unprepared_is_explained(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError, match="no dataset named 'mnistt'.*mnist"):
        datasets.make_dataset("tfds:mnistt", data_dir=tmp_path, download=False)
    with pytest.raises(datasets.DatasetNotFoundError, match="not prepared.*tfds build mnist"):
        datasets.make_dataset("tfds:mnist", data_dir=tmp_path, download=False)
    assert list(tmp_path.iterdir()) == [] or all(  # nothing written but tfds's empty folders
        not f.is_file() for f in tmp_path.rglob("*")
    )


def test_tfds_image_folder_builder_reads_local_files(tmp_path, rng):
    img = _images(rng, 6)
    for i, im in enumerate(img):
        split = "train" if i < 4 else "test"
        (tmp_path / split / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        _png(tmp_path / split / f"c{i % 2}" / f"{i}.png", im)
    builder = tfds.folder_dataset.ImageFolder(str(tmp_path), shape=(8, 6, 3))
    x, y = datasets.load(builder, split="train", with_labels=True)
    assert x.shape == (4, 8, 6, 3) and sorted(y.tolist()) == [0, 0, 1, 1]
    got = sorted(r.tobytes() for r in x)
    assert got == sorted(r.tobytes() for r in (img[:4] / np.float32(255)))
    assert datasets.load(builder, split="test").shape == (2, 8, 6, 3)
    # without a fixed shape the images may differ in size: image_size is required
    loose = tfds.folder_dataset.ImageFolder(str(tmp_path))
    with pytest.raises(ValueError, match="vary in size.*image_size"):
        datasets.make_dataset(loose, split="train")
    assert datasets.load(loose, split="train", image_size=(4, 4)).shape == (4, 4, 4, 3)
