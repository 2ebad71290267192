"""`keras-ae train / export / zoo evaluate` on a user's data: image folders,
CSV tables (scaled, with a label column), sequences, a held-out validation
split, and bad data arguments refused before anything is written."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ae import cli, datasets


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """64 RGB PNGs of 20x30 in two class folders: smooth gradients, so an AE
    can learn something in one epoch."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:20, 0:30] / 30.0
    for c, name in enumerate(("cats", "dogs")):
        (root / name).mkdir()
        for i in range(32):
            a, b = rng.random(2)
            image = np.stack([a * rows, b * cols, (rows + cols) / 2 if c else 1 - rows], -1)
            pixels = tf.constant(np.round(255 * np.clip(image, 0, 1)).astype(np.uint8))
            tf.io.write_file(str(root / name / f"{i:02d}.png"), tf.io.encode_png(pixels))
    return root


@pytest.fixture(scope="module")
def satimage_csv(tmp_path_factory, shared_data):
    """The first 400 satimage training rows as a CSV with a header, the class last."""
    rows = np.loadtxt(shared_data / "satimage" / "sat.trn", dtype=np.int64)[:400]
    path = tmp_path_factory.mktemp("tables") / "sat.csv"
    header = ",".join([f"band{i}" for i in range(36)] + ["class"])
    np.savetxt(path, rows, fmt="%d", delimiter=",", header=header, comments="")
    return path


def test_image_folder_run_exports_on_its_own_images(tmp_path, image_folder, capsys):
    out = tmp_path / "run"
    code, printed, err = run(
        capsys,
        "train",
        "ConvAutoencoder",
        "--dataset",
        f"images:{image_folder}",
        "--image-size",
        "16x16",
        "--network",
        "conv",
        "--latent-dim",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--limit",
        "48",
        "--validation-split",
        "0.25",
        "--out",
        out,
        "--verbose",
        "0",
    )
    assert code == 0, err
    record = json.loads((out / "run.json").read_text())
    assert record["dataset"] == f"images:{image_folder.resolve()}"
    data = record["data"]
    assert data["input_shape"] == [16, 16, 3] and data["layout"] == "image"
    assert data["splits"] == {"train": "train", "validation": "validation"}
    assert data["options"] == {"image_size": [16, 16]} and data["validation_split"] == 0.25
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 3 and "val_loss" in history[0]  # validated on the held-out images
    model = keras.saving.load_model(out / "model.keras")
    assert model.input_shape_ == (16, 16, 3)

    # export verifies on the 16 held-out images of the folder (64 * 0.25), from run.json
    held = datasets.load(
        f"images:{image_folder}", "validation", validation_split=0.25, image_size=(16, 16)
    )
    assert held.shape == (16, 16, 16, 3)
    mse = float(np.mean((model.reconstruct(held) - held) ** 2))
    code, printed, err = run(
        capsys,
        "export",
        out / "model.keras",
        "--format",
        "tflite",
        "--quantize",
        "int8",
        "--out",
        tmp_path / "exported",
    )
    assert code == 0, err
    assert (
        f"verified on 16 validation images of images:{image_folder.resolve()} ({out / 'run.json'})"
    ) in printed, printed
    assert "int8 calibrated on 48 training images of images:" in printed, printed
    code, printed, err = run(
        capsys, "export", out / "model.keras", "--format", "tflite", "--out", tmp_path / "exported"
    )
    assert code == 0 and f"mse keras {mse:.6g}" in printed, printed

    # zoo evaluate on the run folder measures the same images
    code, printed, err = run(capsys, "zoo", "evaluate", out)
    assert code == 0, err
    assert f"measured {mse:12.6f}" in printed.splitlines()[0], printed
    assert f"measured on 16 validation samples of images:{image_folder.resolve()}" in printed

    # resuming with other data settings is refused; the same ones continue
    base = [
        "train",
        "ConvAutoencoder",
        "--dataset",
        f"images:{image_folder}",
        "--network",
        "conv",
        "--latent-dim",
        "8",
        "--batch-size",
        "16",
        "--limit",
        "48",
        "--out",
        out,
        "--verbose",
        "0",
        "--resume",
        "--epochs",
        "3",
    ]
    code, _, err = run(capsys, *base, "--image-size", "12,12", "--validation-split", "0.25")
    assert code == 2 and "image_size" in err, err
    code, _, err = run(capsys, *base, "--image-size", "16,16")
    assert code == 2 and "validation_split" in err, err
    code, _, err = run(capsys, *base, "--image-size", "16,16", "--validation-split", "0.25")
    assert code == 0, err
    assert len((out / "history.csv").read_text().splitlines()) == 4


def test_csv_run_saves_its_scaler_and_export_reuses_it(tmp_path, satimage_csv, capsys):
    out = tmp_path / "sat"
    standard = ["--dataset", f"csv:{satimage_csv}", "--label-column", "class"]
    standard += ["--scale", "standard", "--out", out]
    # a sigmoid output cannot reconstruct standardized values below 0 or above 1
    code, printed, err = run(capsys, "train", "Autoencoder", *standard)
    assert code == 2 and "--scale standard gives values outside [0, 1]" in err, err
    assert "--param \"output_activation='linear'\"" in err and not out.exists()
    code, printed, err = run(capsys, "train", "VAE", *standard)
    assert code == 2 and "--param \"likelihood='gaussian'\"" in err and not out.exists(), err
    code, printed, err = run(
        capsys,
        "train",
        "Autoencoder",
        "--param",
        "output_activation='linear'",
        "--dataset",
        f"csv:{satimage_csv}",
        "--label-column",
        "class",
        "--scale",
        "standard",
        "--validation-split",
        "0.2",
        "--latent-dim",
        "4",
        "--epochs",
        "3",
        "--out",
        out,
        "--verbose",
        "0",
    )
    assert code == 0, err
    assert "scaler scaler.json" in printed
    history = np.genfromtxt(out / "history.csv", delimiter=",", names=True)
    assert history["loss"][-1] < history["loss"][0]
    # fitted on the 320 training rows only, 36 features (the class column dropped)
    rows = np.loadtxt(satimage_csv, delimiter=",", skiprows=1)
    train_rows = np.sort(np.random.default_rng(0).permutation(400)[80:])
    scaler = datasets.FeatureScaler.load(out / "scaler.json")
    assert scaler.method == "standard" and scaler.offset.shape == (36,)
    np.testing.assert_allclose(scaler.offset, rows[train_rows, :36].mean(0))
    assert json.loads((out / "run.json").read_text())["data"]["input_shape"] == [36]

    # export scales the 80 held-out rows with the saved scaler: a different
    # scaler.json gives different verification data, which shows it is read
    model = keras.saving.load_model(out / "model.keras")
    held = scaler.transform(rows[np.setdiff1d(np.arange(400), train_rows), :36])
    mse = float(np.mean((model.reconstruct(held) - held) ** 2))
    args = ["export", out / "model.keras", "--format", "tflite", "--out", tmp_path / "e"]
    code, printed, err = run(capsys, *args)
    assert code == 0, err
    assert f"verified on 80 validation samples of csv:{satimage_csv.resolve()}" in printed
    assert f"mse keras {mse:.6g}" in printed, printed
    # named after the run's folder (every run's file is model.keras), so two
    # runs exported into one folder do not replace each other's files
    assert [p.name for p in (tmp_path / "e").iterdir()] == [f"{out.name}.tflite"]
    datasets.FeatureScaler("minmax").fit(rows[:, :36]).save(out / "scaler.json")
    code, printed, err = run(capsys, *args)  # the same export again: refused
    assert code == 2 and f"{out.name}.tflite already exists: pass --overwrite" in err, err
    code, printed, err = run(capsys, *args, "--overwrite")
    assert code == 0 and f"mse keras {mse:.6g}" not in printed, printed


def test_sequences_built_in_ecg_and_csv_windows(tmp_path, shared_data, capsys):
    out = tmp_path / "ecg"
    code, printed, err = run(
        capsys,
        "train",
        "Autoencoder",
        "--dataset",
        "ecg5000",
        "--network",
        "conv1d",
        "--latent-dim",
        "8",
        "--epochs",
        "1",
        "--limit",
        "256",
        "--data-dir",
        shared_data,
        "--out",
        out,
        "--verbose",
        "0",
    )
    assert code == 0, err
    data = json.loads((out / "run.json").read_text())["data"]
    assert (data["input_shape"], data["layout"], data["network"]) == (
        [140, 1],
        "sequence",
        "conv1d",
    )
    assert data["splits"]["validation"] == "test" and (out / "scaler.json").is_file()
    code, printed, err = run(
        capsys,
        "export",
        out / "model.keras",
        "--format",
        "saved_model",
        "--data-dir",
        shared_data,
        "--out",
        tmp_path / "e",
    )
    assert code == 0 and "verified on 512 test samples of ecg5000" in printed, printed

    table = tmp_path / "sensor.csv"
    t = np.arange(300)
    np.savetxt(
        table,
        np.stack([np.sin(t / 5), np.cos(t / 7)], 1),
        fmt="%.5f",
        delimiter=",",
        header="a,b",
        comments="",
    )
    out = tmp_path / "windows"
    code, printed, err = run(
        capsys,
        "train",
        "Autoencoder",
        "--dataset",
        f"csv:{table}",
        "--sequence-length",
        "16",
        "--network",
        "lstm",
        "--latent-dim",
        "4",
        "--epochs",
        "1",
        "--out",
        out,
        "--verbose",
        "0",
    )
    assert code == 0, err
    data = json.loads((out / "run.json").read_text())["data"]
    assert data["input_shape"] == [16, 2] and data["splits"]["validation"] is None
    assert "no validation data" in printed
    code, printed, err = run(capsys, "zoo", "evaluate", out)
    assert code == 0, err
    assert "measured on 285 training samples of csv:" in printed  # 300 - 16 + 1 windows
    assert "the run has no validation or test data" in printed


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--dataset", "photos"],
            "--dataset 'photos' is none of the forms: a built-in name "
            "(mnist, fashion_mnist, cifar10_jpeg, satimage, ecg5000), "
            "tfds:NAME[/CONFIG][:VERSION], images:DIR or csv:PATH",
        ),
        (["--dataset", "images:"], "is none of the forms"),
        (["--dataset", "images:{tmp}/missing"], "--dataset images:{tmp}/missing: no such folder"),
        (["--dataset", "csv:{tmp}/missing.csv"], "no such file '{tmp}/missing.csv'"),
        (
            ["--dataset", "images:{photos}", "--image-size", "16"],
            "--image-size expects H,W or HxW of positive integers (e.g. 64,64), got '16'",
        ),
        (["--dataset", "images:{photos}", "--image-size", "0,16"], "got '0,16'"),
        (["--dataset", "images:{photos}", "--image-size", "a,b"], "got 'a,b'"),
        (
            ["--dataset", "images:{photos}", "--validation-split", "1"],
            "--validation-split must be a fraction between 0 and 1 (exclusive), got 1.0",
        ),
        (["--dataset", "images:{photos}", "--validation-split", "0"], "got 0.0"),
        (["--dataset", "images:{photos}", "--validation-split", "nan"], "got nan"),
        (
            ["--dataset", "mnist", "--image-size", "16,16"],
            "--image-size applies to image sources (images:, tfds:, cifar10_jpeg), not to mnist",
        ),
        (
            ["--dataset", "images:{photos}", "--label-column", "class"],
            "--label-column applies to csv: sources",
        ),
        (
            ["--dataset", "csv:{sat}", "--label-column", "klass"],
            "label_column='klass' is not a column of",
        ),
        (["--dataset", "images:{photos}", "--network", "lstm"], "--network lstm is for sequences"),
        (
            ["--dataset", "csv:{sat}", "--label-column", "class", "--network", "conv"],
            "--network conv is for images",
        ),
        (["--dataset", "images:{empty}"], "holds no image files"),
    ],
)
def test_bad_data_arguments_are_refused_before_anything_is_written(
    tmp_path, image_folder, satimage_csv, capsys, argv, message
):
    (tmp_path / "empty").mkdir()
    subs = {
        "tmp": tmp_path,
        "photos": image_folder,
        "sat": satimage_csv,
        "empty": tmp_path / "empty",
    }
    argv = [a.format(**subs) for a in argv]
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "Autoencoder", *argv, "--epochs", "1", "--out", out)
    assert code == 2, err
    assert message.format(**subs) in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    if "klass" in message:  # the CSV's columns are named
        assert "band0" in err and "class" in err
    assert not out.exists()


def test_tfds_run_trains_and_exports_on_its_own_data(tmp_path, capsys):
    """`--dataset tfds:NAME` through the real tfds code path (tfds's mock data,
    no network): the run records the source and export verifies on its test split."""
    import tensorflow_datasets as tfds

    out = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=64):
        code, printed, err = run(
            capsys,
            "train",
            "Autoencoder",
            "--dataset",
            "tfds:mnist",
            "--latent-dim",
            "4",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--data-dir",
            tmp_path / "tfds",
            "--out",
            out,
            "--verbose",
            "0",
        )
        assert code == 0, err
        data = json.loads((out / "run.json").read_text())["data"]
        assert data["source"] == "tfds:mnist" and data["input_shape"] == [784]
        assert data["splits"]["validation"] == "test"
        history = (out / "history.csv").read_text().splitlines()
        assert len(history) == 2 and "val_loss" in history[0]
        code, printed, err = run(
            capsys,
            "export",
            out / "model.keras",
            "--format",
            "saved_model",
            "--data-dir",
            tmp_path / "tfds",
            "--out",
            tmp_path / "exported",
        )
    assert code == 0, err
    assert "tfds:mnist" in printed and "passed" in printed
