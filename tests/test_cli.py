"""The `keras-ae` command, run in-process through `keras_ae.cli.main`."""

import csv
import subprocess
import sys

import keras
import pytest

from keras_ae import cli, models, zoo


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_zoo_list_shows_every_entry(capsys):
    code, out, _ = run(capsys, "zoo", "list")
    assert code == 0
    names = zoo.list_models()
    assert names
    listed = [line.split()[0] for line in out.strip().splitlines()]
    assert listed == names


def test_zoo_list_pattern(capsys):
    code, out, _ = run(capsys, "zoo", "list", "vae*")
    assert code == 0
    listed = [line.split()[0] for line in out.strip().splitlines()]
    assert listed == zoo.list_models("vae*")
    assert all(name.startswith("vae") for name in listed)


def test_zoo_info_shows_card_figures(capsys):
    name = zoo.list_models()[0]
    code, out, _ = run(capsys, "zoo", "info", name)
    assert code == 0
    for m in zoo.info(name)["metrics"]:
        assert m["name"] in out


@pytest.mark.parametrize(
    "argv",
    [
        ["zoo", "info", "vae50_mnsit"],
        ["zoo", "info", "../x"],
        ["export", "../x", "--format", "tflite", "--out", "unused"],
        ["export", "no/such/model.keras", "--format", "saved_model", "--out", "unused"],
        ["train", "NoSuchVariant", "--out", "unused"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("keras-ae: error:")
    assert "Traceback" not in err


def test_unknown_name_suggests_close_ones(capsys):
    name = zoo.list_models()[-1]
    typo = name[:-2] + name[-1] + name[-2]  # last two letters swapped
    _, _, err = run(capsys, "zoo", "info", typo)
    assert f"did you mean '{name}'" in err


def test_console_entry_point_runs_as_module():
    result = subprocess.run(
        [sys.executable, "-m", "keras_ae.cli", "zoo", "info", "nope/.."],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def _epochs(run_dir):
    with open(run_dir / "history.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_train_then_resume_continues(tmp_path, shared_data, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "Autoencoder",
        "--dataset",
        "mnist",
        "--latent-dim",
        "8",
        "--limit",
        "512",
        "--batch-size",
        "128",
        "--out",
        str(out),
        "--data-dir",
        str(shared_data),
        "--verbose",
        "0",
    ]
    assert cli.main(args + ["--epochs", "1"]) == 0
    assert _epochs(out) == [0]
    assert (out / "model.keras").is_file() and (out / "logs").is_dir()
    first = keras.saving.load_model(out / "model.keras")

    # the same folder again without --resume is refused
    capsys.readouterr()
    assert cli.main(args + ["--epochs", "2"]) == 2
    assert "--resume" in capsys.readouterr().err

    assert cli.main(args + ["--epochs", "2", "--resume"]) == 0
    assert _epochs(out) == [0, 1]  # only the second epoch ran
    second = keras.saving.load_model(out / "model.keras")
    changed = [
        not (a == b).all() for a, b in zip(first.get_weights(), second.get_weights(), strict=True)
    ]
    assert any(changed)  # it went on training from the restored weights
    assert "import keras_ae" in capsys.readouterr().out  # how to load model.keras

    # a finished run resumed to no more epochs says so (it used to print nothing of it)
    assert cli.main(args + ["--epochs", "2", "--resume"]) == 0
    assert "nothing to do: the run in" in capsys.readouterr().out and _epochs(out) == [0, 1]

    # a resumed run must repeat the settings
    capsys.readouterr()
    changed_dim = [*args[:5], "16", *args[6:]]
    assert cli.main([*changed_dim, "--epochs", "3", "--resume"]) == 2
    assert "latent_dim" in capsys.readouterr().err


def test_train_passes_variant_params_and_resume_checks_them(tmp_path, shared_data, capsys):
    out = tmp_path / "vae"
    args = [
        "train",
        "VAE",
        "--latent-dim",
        "4",
        "--limit",
        "256",
        "--batch-size",
        "128",
        "--out",
        str(out),
        "--data-dir",
        str(shared_data),
        "--verbose",
        "0",
        "--param",
        "beta=2",
        "--param",
        "kl_warmup_steps=3",
        "--param",
        "hidden_units=(32,)",
    ]
    assert cli.main(args + ["--epochs", "1"]) == 0
    model = keras.saving.load_model(out / "model.keras")
    assert (model.beta, model.kl_warmup_steps, model.hidden_units) == (2.0, 3, (32,))
    # the tuple comes back from run.json as a list: still the same settings
    assert cli.main(args + ["--epochs", "2", "--resume"]) == 0
    assert _epochs(out) == [0, 1]
    capsys.readouterr()
    assert cli.main([*args[:-1], "hidden_units=(64,)", "--epochs", "3", "--resume"]) == 2
    assert "params" in capsys.readouterr().err

    for bad, message in [
        ("bta=2", "VAE takes no such argument; expected one of"),
        ("beta", "--param expects KEY=VALUE, got 'beta'"),
        ("beta=-1", "beta must be a finite number >= 0, got -1"),
        ("beta=nan", "beta must be a number, got 'nan'"),
        ("hidden_units=(128,", "hidden_units=(128, is not a Python literal"),
        ("hidden_units={64}", "hidden_units={64}: a set"),
    ]:
        code, _, err = run(
            capsys,
            "train",
            "VAE",
            "--out",
            str(tmp_path / bad),
            "--data-dir",
            str(shared_data),
            "--param",
            bad,
        )
        assert code == 2 and message in err, err
        # a run that never started leaves nothing that blocks its folder
        assert not (tmp_path / bad / "run.json").exists()
    code, _, err = run(
        capsys,
        "train",
        "VAE",
        "--out",
        str(tmp_path / "beta=-1"),
        "--limit",
        "64",
        "--epochs",
        "1",
        "--latent-dim",
        "2",
        "--data-dir",
        str(shared_data),
        "--verbose",
        "0",
        "--param",
        "beta=1",
    )
    assert code == 0, err


def test_export_of_a_keras_file_mnist_does_not_fit_says_what_to_do(tmp_path, shared_data, capsys):
    path = tmp_path / "small.keras"
    models.Autoencoder(input_shape=(16,), latent_dim=2).save(path)
    code, _, err = run(
        capsys,
        "export",
        str(path),
        "--format",
        "tflite",
        "--out",
        str(tmp_path / "out"),
        "--data-dir",
        str(shared_data),
    )
    assert code == 2, err
    assert "mnist test images, which do not fit this model's input_shape=(16,)" in err, err
    assert "verify_data=" in err and "--no-verify" in err, err


def test_demo_writes_figures(tmp_path, shared_data, capsys):
    out = tmp_path / "demo"
    code = cli.main(["demo", "--out", str(out), "--data-dir", str(shared_data), "--limit", "200"])
    printed = capsys.readouterr().out
    assert code == 0
    for figure in (
        "reconstructions.png",
        "denoising.png",
        "vae_samples.png",
        "vae_2d_manifold.png",
        "interpolation.png",
    ):
        assert (out / figure).stat().st_size > 1000, figure
    assert "PSNR" in printed and "MSE" in printed


def test_demo_without_data_still_samples(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KERAS_AE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_AE_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    out = tmp_path / "demo"
    code = cli.main(["demo", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert (out / "vae_samples.png").is_file() and (out / "vae_2d_manifold.png").is_file()
    assert not (out / "reconstructions.png").exists()
    assert "--data-dir" in printed


@pytest.mark.parametrize(
    "folder, message", [("nothing", "no such folder"), ("empty", "holds no MNIST")]
)
def test_demo_with_a_data_dir_lacking_mnist_fails_before_any_figure(
    tmp_path, monkeypatch, capsys, folder, message
):
    """A mistyped --data-dir used to exit 0 after 2 of the 6 figures."""
    monkeypatch.delenv("KERAS_AE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_AE_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    (tmp_path / "empty").mkdir()
    data_dir = tmp_path / folder
    code, _, err = run(capsys, "demo", "--out", str(tmp_path / "demo"), "--data-dir", str(data_dir))
    assert code == 2 and f"data_dir {data_dir}" in err and message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "nan"], "--lr must be a finite number > 0, got nan"),
        (["--lr", "inf"], "--lr must be a finite number > 0, got inf"),
        (["--lr", "-1"], "--lr must be a finite number > 0, got -1.0"),
        (["--lr", "0"], "--lr must be a finite number > 0, got 0.0"),
        (["--epochs", "0"], "--epochs must be a positive integer, got 0"),
        (["--batch-size", "0"], "--batch-size must be a positive integer, got 0"),
        (["--limit", "-5"], "--limit must be a positive integer, got -5"),
        (["--latent-dim", "0"], "--latent-dim must be a positive integer, got 0"),
        (["--seed", "-1"], "--seed must be an integer from 0 to 2**32 - 1, got -1"),
        (["--seed", str(2**70)], f"--seed must be an integer from 0 to 2**32 - 1, got {2**70}"),
    ],
)
def test_train_refuses_bad_numbers_before_anything_runs(tmp_path, capsys, argv, message):
    """--lr nan or -1 used to be accepted (nan trained on NaN and exited 0)."""
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "Autoencoder", "--out", str(out), *argv)
    assert code == 2 and err.strip() == f"keras-ae: error: {message}", err
    assert not out.exists()


def test_export_of_a_run_file_verifies_on_the_run_dataset_and_says_so(
    tmp_path, shared_data, capsys
):
    """A Fashion-MNIST run's model.keras used to be verified and int8-calibrated
    on MNIST digits without a word."""
    from keras_ae.zoo import protocols as zm

    run_dir = tmp_path / "fashion"
    assert (
        cli.main(
            [
                "train",
                "Autoencoder",
                "--dataset",
                "fashion_mnist",
                "--latent-dim",
                "2",
                "--limit",
                "64",
                "--epochs",
                "1",
                "--param",
                "hidden_units=(8,)",
                "--out",
                str(run_dir),
                "--data-dir",
                str(shared_data),
                "--verbose",
                "0",
            ]
        )
        == 0
    )
    model = keras.saving.load_model(run_dir / "model.keras")

    def mse_on(dataset):
        images = zm.prepare(
            zm.load_split(dataset, "test", shared_data)[0][:512],
            {"scale": "unit", "layout": "flat"},
        )
        return float(((model.reconstruct(images) - images) ** 2).mean())

    common = ["--format", "tflite", "--data-dir", str(shared_data)]
    code, printed, err = run(
        capsys,
        "export",
        str(run_dir / "model.keras"),
        *common,
        "--quantize",
        "int8",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 0, err
    assert f"verified on 512 test images of fashion_mnist ({run_dir / 'run.json'})" in printed
    assert "int8 calibrated on 200 training images of fashion_mnist" in printed, printed

    code, printed, err = run(
        capsys, "export", str(run_dir / "model.keras"), *common, "--out", str(tmp_path / "out")
    )
    assert code == 0, err
    assert f"mse keras {mse_on('fashion_mnist'):.6g}" in printed, printed
    code, _, err = run(
        capsys,
        "export",
        str(run_dir / "model.keras"),
        *common,
        "--dataset",
        "mnist",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 2 and "--dataset mnist: the model was trained on fashion_mnist" in err, err

    # the same file outside its run says what it was checked on, and takes --dataset
    bare = tmp_path / "bare.keras"
    bare.write_bytes((run_dir / "model.keras").read_bytes())
    code, printed, err = run(capsys, "export", str(bare), *common, "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert (
        "verified on 512 test images of mnist (a .keras file outside a keras-ae train run "
        "names no dataset" in printed
    ), printed
    assert f"mse keras {mse_on('mnist'):.6g}" in printed, printed
    code, printed, err = run(
        capsys,
        "export",
        str(bare),
        *common,
        "--dataset",
        "fashion_mnist",
        "--out",
        str(tmp_path / "out"),
        "--overwrite",  # bare.tflite, exported just above
    )
    assert code == 0, err
    assert f"mse keras {mse_on('fashion_mnist'):.6g}" in printed, printed


@pytest.mark.parametrize("fmt, quantize", [("saved_model", None), ("tflite", "int8")])
def test_export_verifies_on_real_test_images(fmt, quantize, tmp_path, shared_data, capsys):
    argv = [
        "export",
        "ae_sigmoid30_mnist",
        "--format",
        fmt,
        "--out",
        str(tmp_path / "out"),
        "--data-dir",
        str(shared_data),
    ]
    if quantize:
        argv += ["--quantize", quantize]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "exported:" in out
    assert "512 samples" in out and "max abs error" in out  # verify_export's report
    written = list((tmp_path / "out").rglob("*"))
    assert written, "nothing was written"
    if fmt == "tflite":
        # another part gets its own file, verified too (on the images' codes)
        code, out, err = run(capsys, *argv, "--part", "decoder")
        assert code == 0, err
        assert "max abs error" in out, out
        names = sorted(p.name for p in (tmp_path / "out").iterdir())
        assert names == [
            "ae_sigmoid30_mnist_decoder_int8.tflite",
            "ae_sigmoid30_mnist_int8.tflite",
        ], names


def test_cli_errors_and_interruptions_are_one_line(tmp_path, shared_data, capsys, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    code, _, err = run(
        capsys,
        "train",
        "Autoencoder",
        "--limit",
        "64",
        "--epochs",
        "1",
        "--data-dir",
        str(shared_data),
        "--out",
        str(a_file / "run"),
    )
    assert code == 2 and err.startswith("keras-ae: error:") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    code, _, err = run(
        capsys,
        "demo",
        "--limit",
        "1",
        "--out",
        str(tmp_path / "demo"),
        "--data-dir",
        str(shared_data),
    )
    assert code == 2 and "limit must be an integer >= 2" in err, err
    assert not (tmp_path / "demo").exists()  # refused before writing anything

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "fit", interrupted)
    code, _, err = run(
        capsys,
        "train",
        "Autoencoder",
        "--limit",
        "64",
        "--epochs",
        "1",
        "--data-dir",
        str(shared_data),
        "--out",
        str(tmp_path / "run"),
    )
    assert code == 130 and err.strip() == (
        "keras-ae: interrupted; the finished epochs are kept: continue with the same "
        "command and --resume"
    ), err


def test_export_of_an_entry_folder_verifies_on_its_own_dataset(tmp_path, shared_data, capsys):
    """An entry folder used to be verified (and calibrated) on MNIST digits
    whatever its data, and every folder exported to model*.tflite."""
    from keras_ae.zoo import protocols as zm
    from keras_ae.zoo.registry import entry_dir

    name = "deep_ae32_fashion"
    out = tmp_path / "out"
    code, printed, err = run(
        capsys,
        "export",
        str(entry_dir(name)),
        "--format",
        "tflite",
        "--out",
        str(out),
        "--data-dir",
        str(shared_data),
    )
    assert code == 0, err
    assert _listing_names(out) == [f"{name}.tflite"]
    meta = zoo.info(name)
    images = zm.prepare(
        zm.load_split("fashion_mnist", "test", shared_data)[0][:512], meta["preprocessing"]
    )
    model = zoo.load(name)
    mse = float(((model.reconstruct(images) - images) ** 2).mean())
    assert f"mse keras {mse:.6g}" in printed, printed


def test_saved_model_export_goes_into_out_and_takes_no_part(tmp_path, shared_data, capsys):
    """--out is a folder for both formats: a SavedModel used to replace it whole,
    deleting the .tflite files exported there; --part was silently ignored."""
    out = tmp_path / "exports"
    common = ["--out", str(out), "--data-dir", str(shared_data)]
    assert run(capsys, "export", "ae_sigmoid30_mnist", "--format", "tflite", *common)[0] == 0
    code, _, err = run(capsys, "export", "ae_sigmoid30_mnist", "--format", "saved_model", *common)
    assert code == 0, err
    assert _listing_names(out) == ["ae_sigmoid30_mnist.tflite", "ae_sigmoid30_mnist_saved_model"]
    code, _, err = run(
        capsys,
        "export",
        "ae_sigmoid30_mnist",
        "--format",
        "saved_model",
        "--part",
        "encoder",
        *common,
    )
    assert code == 2 and "--quantize and --part apply to --format tflite only" in err, err


def _listing_names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_zoo_evaluate_takes_an_entry_folder_and_uses_its_dataset(tmp_path, shared_data, capsys):
    """An entry folder of one's own is re-measured on the dataset its metadata names."""
    import shutil

    from keras_ae.zoo.registry import entry_dir

    mine = tmp_path / "mine"
    shutil.copytree(entry_dir("ae_sigmoid30_mnist"), mine)
    code, printed, err = run(
        capsys, "zoo", "evaluate", str(mine), "--quick", "--data-dir", str(shared_data)
    )
    assert code == 0, err
    assert "test_mse" in printed and "DIFFERS" not in printed, printed
    assert f"figure(s) on mnist, 0 differ from the card ({mine / 'metadata.json'})" in printed
    code, _, err = run(capsys, "zoo", "evaluate", str(tmp_path))
    assert (
        code == 2
        and "neither a zoo entry folder (metadata.json) nor a keras-ae train run folder (run.json)"
        in err
    ), err
