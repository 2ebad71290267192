"""Export: SavedModel signatures, LiteRT files, parity on real data, atomic writes.

Models are trained for one epoch on 1,024 real MNIST images and shared at
module scope (exports are the slow part). When `keras_ae.zoo` has entries,
every entry is also exported to a SavedModel and to LiteRT float32, float16
and int8 files, each checked on 256 images of its own real test split.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ae import export
from keras_ae.export import signatures as signatures_module
from keras_ae.export import verify as verify_module
from keras_ae.models import (
    VAE,
    Autoencoder,
    ConvAutoencoder,
    SemanticHashingAE,
    TiedAutoencoder,
)


def _train(model, x, epochs=1):
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    model.fit(x, epochs=epochs, batch_size=128, verbose=0)
    return model


def _images(x):
    return x.reshape((-1, 28, 28, 1))


@pytest.fixture(scope="module")
def models(mnist_small):
    """Small trained models of several variants, and their input data."""
    x_train, x_test = mnist_small
    keras.utils.set_random_seed(0)
    built = {
        # 784*128*2 + ... > 100k parameters, so int8 must shrink the file.
        "dense": Autoencoder(input_shape=(784,), latent_dim=16, hidden_units=(128,), seed=0),
        "vae": VAE(input_shape=(784,), latent_dim=8, hidden_units=(64,), seed=0),
        "hashing": SemanticHashingAE(input_shape=(784,), latent_dim=12, hidden_units=(64,), seed=0),
        "tied": TiedAutoencoder(input_shape=(784,), latent_dim=16, seed=0),
        "conv": ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=8, filters=(8, 16), seed=0),
    }
    out = {}
    for name, model in built.items():
        train, test = (_images(x_train), _images(x_test)) if name == "conv" else (x_train, x_test)
        out[name] = (_train(model, train), test)
    out["hashing"][0].fit_rotation(x_train)  # exports must carry the learned rotation
    return out


@pytest.fixture(scope="module")
def mixed_model(mnist_small):
    """A dense autoencoder built and trained under the mixed_float16 policy."""
    x_train, x_test = mnist_small
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = _train(
            Autoencoder(input_shape=(784,), latent_dim=16, hidden_units=(64,), seed=0), x_train
        )
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.encoder.get_layer("hidden_0").compute_dtype == "float16"
    return model, x_test


@pytest.fixture(scope="module")
def saved_models(models, tmp_path_factory):
    """Each small model exported (and verified) as a SavedModel."""
    root = tmp_path_factory.mktemp("saved_models")
    out = {}
    for name, (model, x) in models.items():
        result = export.export_saved_model(model, root / name, verify_data=x)
        # (signatures and parity of every variant: tests/test_registry.py)
        assert result.report.passed and result.report.max_abs_error <= 1e-5
        out[name] = (result, tf.saved_model.load(str(root / name)))
    return out


def _mse(a, b):
    return float(np.mean((a.astype("float64") - b) ** 2))


def _listing(directory):
    return sorted(p.name for p in Path(directory).iterdir())


# ---------------------------------------------------------------- SavedModel
def test_custom_networks_export_with_the_code_shape_they_produce(mnist_small, tmp_path):
    _, x = mnist_small
    encoder = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    decoder = keras.Sequential([keras.Input((10,)), keras.layers.Dense(784, "sigmoid")])
    model = Autoencoder(encoder=encoder, decoder=decoder)
    assert model.latent_dim == 10  # the code width the encoder gives
    export.export_saved_model(model, tmp_path / "custom", verify_data=x)
    decode = tf.saved_model.load(str(tmp_path / "custom")).signatures["decode"]
    assert tuple(decode.structured_input_signature[1]["z"].shape) == (None, 10)
    result = export.export_tflite(model, tmp_path / "dec.tflite", part="decoder", verify_data=x)
    assert export.TFLiteModel(result.path).input_shape == (10,)


def test_saved_model_cli_lists_every_signature(saved_models):
    path = os.fspath(saved_models["vae"][0])
    cli = Path(sys.executable).with_name("saved_model_cli")
    if not cli.exists():
        pytest.skip("saved_model_cli is not installed beside this Python")
    out = subprocess.run(
        [str(cli), "show", "--dir", path, "--all"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for name in (
        "reconstruct",
        "encode",
        "decode",
        "sample",
        "encode_distribution",
        "serving_default",
    ):
        assert f"signature_def['{name}']" in out
    assert "DT_FLOAT" in out and "(-1, 784)" in out


def test_vae_sample_signature_is_a_seeded_prior_draw(models, saved_models):
    model, _ = models["vae"]
    sample = saved_models["vae"][1].signatures["sample"]
    seed = tf.constant([3, 4], tf.int64)
    images = sample(n=tf.constant(5), seed=seed)["samples"].numpy()
    assert images.shape == (5, 784) and images.dtype == np.float32
    z = tf.random.stateless_normal((5, model.latent_dim), seed).numpy()
    np.testing.assert_allclose(images, model.decode(z), atol=1e-5)
    again = sample(n=tf.constant(5), seed=seed)["samples"].numpy()
    other = sample(n=tf.constant(5), seed=tf.constant([5, 6], tf.int64))["samples"].numpy()
    np.testing.assert_array_equal(images, again)
    assert np.abs(images - other).max() > 1e-3
    x4 = tf.constant(models["vae"][1][:4])
    _, log_var = model.encode_distribution(x4)
    out = saved_models["vae"][1].signatures["encode_distribution"](x=x4)
    np.testing.assert_allclose(out["z_log_var"].numpy(), np.asarray(log_var), atol=1e-5)


def test_hash_signature_packs_bits_like_model_hash(models, saved_models):
    model, x = models["hashing"]
    out = saved_models["hashing"][1].signatures["hash"](x=tf.constant(x))["hash"]
    assert out.dtype == tf.uint8 and out.shape == (len(x), 2)  # 12 bits -> 2 bytes
    expected = model.hash(x)
    assert np.any(model.code_offset.numpy() != 0)  # a rotated hash
    projection = model.hash_projection(x)
    near = np.abs(projection) < verify_module.HASH_MARGIN  # may flip either way
    got_bits = np.unpackbits(out.numpy(), axis=-1)[:, :12]
    want_bits = np.unpackbits(expected, axis=-1)[:, :12]
    assert np.all((got_bits == want_bits) | near)
    assert np.mean(np.all(out.numpy() == expected, axis=1)) > 0.99


def test_mixed_float16_model_exports_float32_signatures(mixed_model, tmp_path):
    model, x = mixed_model
    result = export.export_saved_model(model, tmp_path / "mixed", verify_data=x)
    assert result.report.passed
    loaded = tf.saved_model.load(str(tmp_path / "mixed"))
    for key in ("reconstruct", "encode", "decode"):
        sig = loaded.signatures[key]
        (spec,) = sig.structured_input_signature[1].values()
        assert spec.dtype == tf.float32
        assert all(out.dtype == tf.float32 for out in sig.structured_outputs.values())
    rec = loaded.signatures["reconstruct"](x=tf.constant(x[:9]))["reconstruction"].numpy()
    np.testing.assert_allclose(rec, model.reconstruct(x[:9]), atol=1e-5)

    # LiteRT computes in float32: converted from a float32 twin of the model.
    lite = export.export_tflite(model, tmp_path / "mixed.tflite", verify_data=x)
    assert lite.report.passed and lite.report.max_abs_error <= 1e-5
    runner = export.TFLiteModel(tmp_path / "mixed.tflite")
    assert runner.input_dtype == runner.output_dtype == np.float32
    rec = runner.reconstruct(x)
    assert _mse(rec, x) <= 1.05 * _mse(model.reconstruct(x), x)


def test_saved_model_runner_batches_and_pins_a_device(models, saved_models):
    model, x = models["conv"]
    runner = export.SavedModelRunner(saved_models["conv"][0].path, batch_size=100, device="/CPU:0")
    assert runner.input_shape == (28, 28, 1)
    np.testing.assert_allclose(runner.reconstruct(x), model.reconstruct(x), atol=1e-5)
    codes = runner.encode(x)
    assert codes.shape == (len(x), 8)
    np.testing.assert_allclose(runner.decode(codes), model.decode(codes), atol=1e-5)
    # A flat batch given to the conv graph is refused here: TensorFlow's CPU
    # convolution would abort the process on it.
    with pytest.raises(
        ValueError,
        match=r"'reconstruct' signature takes batches of shape "
        r"\(n, 28, 28, 1\), got \(3, 784\)",
    ):
        runner.reconstruct(np.zeros((3, 784), "float32"))
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0, 28, 28, 1\)\)"):
        runner.encode(np.zeros((0, 28, 28, 1), "float32"))  # refused, as by the Keras model
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        export.SavedModelRunner(saved_models["conv"][0].path, batch_size=0)


def test_saved_model_runs_on_gpu(models, saved_models):
    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("no GPU on this machine")
    model, x = models["conv"]
    loaded = saved_models["conv"][1]
    with tf.device("/GPU:0"):
        out = loaded.signatures["reconstruct"](x=tf.constant(x))["reconstruction"]
    assert "GPU" in out.device
    # TF32 matmuls on recent GPUs round more than the CPU's float32.
    np.testing.assert_allclose(out.numpy(), model.reconstruct(x), atol=2e-3)
    runner = export.SavedModelRunner(saved_models["conv"][0].path, device="/GPU:0")
    np.testing.assert_allclose(runner.encode(x), model.encode(x), atol=2e-2, rtol=2e-3)


# -------------------------------------------------------------------- LiteRT
TFLITE_CASES = [
    ("dense", "full", None),
    ("dense", "full", "float16"),
    ("dense", "full", "dynamic"),
    ("dense", "full", "int8"),
    ("dense", "encoder", "int8"),
    ("dense", "decoder", "int8"),
    ("vae", "full", None),
    ("vae", "decoder", "int8"),
    ("hashing", "encoder", None),
    ("tied", "full", "int8"),
    ("conv", "full", None),
    ("conv", "full", "int8"),
]


@pytest.fixture(scope="module")
def tflite_files(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("tflite")
    out = {}
    for name, part, quantize in TFLITE_CASES:
        model, x = models[name]
        path = root / f"{name}_{part}_{quantize}.tflite"
        result = export.export_tflite(
            model, path, part=part, quantize=quantize, representative_data=x, verify_data=x
        )
        out[name, part, quantize] = result
    return out


@pytest.mark.parametrize("case", TFLITE_CASES, ids=["-".join(map(str, c)) for c in TFLITE_CASES])
def test_tflite_parity_on_real_data(models, tflite_files, case):
    name, part, quantize = case
    model, x = models[name]
    result = tflite_files[case]
    assert result.report.passed
    runner = export.TFLiteModel(result.path)
    assert runner.part == part and runner.quantization == quantize
    if part == "full":
        got, want = runner.reconstruct(x), model.reconstruct(x)
        mse, keras_mse = _mse(got, x), _mse(want, x)
    elif part == "encoder":
        got, want = runner.encode(x), model.encode(x)
        mse, keras_mse = _mse(model.decode(got), x), _mse(model.reconstruct(x), x)
    else:
        codes = model.encode(x)
        got, want = runner.decode(codes), model.decode(codes)
        mse, keras_mse = _mse(got, x), _mse(want, x)
    assert got.shape == want.shape and got.dtype == np.float32
    if quantize is None:
        assert np.max(np.abs(got - want)) <= 1e-5 * max(1.0, np.abs(want).max())
    else:
        assert mse <= 1.05 * keras_mse
        assert np.max(np.abs(got - want)) > 0  # it really is quantized


def test_int8_shrinks_files_over_100k_parameters(models, tflite_files):
    model, _ = models["dense"]
    assert model.count_params() > 100_000
    sizes = {
        q: tflite_files["dense", "full", q].path.stat().st_size
        for q in (None, "float16", "dynamic", "int8")
    }
    assert sizes["int8"] <= 0.3 * sizes[None]
    assert sizes["dynamic"] <= 0.3 * sizes[None]
    assert 0.4 * sizes[None] <= sizes["float16"] <= 0.6 * sizes[None]


def test_one_scale_per_dense_layer_makes_smaller_int8_files(models, tflite_files, tmp_path):
    model, x = models["conv"]
    sizes = {}
    for per_channel in (True, False):
        result = export.export_tflite(
            model,
            tmp_path / f"{per_channel}.tflite",
            quantize="int8",
            representative_data=x,
            verify_data=x,
            per_channel_dense=per_channel,
        )
        assert result.report.passed
        sizes[per_channel] = result.path.stat().st_size
    # The 8-unit code projects to 7*7*16 = 784 units: 12 bytes each saved.
    assert sizes[True] - sizes[False] >= 12 * 784
    # "auto" (the default) takes one scale per layer here: per-unit scales
    # would add more than 5% to this small model's weights.
    assert export.tflite._per_unit_overhead(model) > 0.05
    assert tflite_files["conv", "full", "int8"].path.stat().st_size == sizes[False]


def test_int8_io_quantizes_inputs_and_outputs(models, tmp_path):
    model, x = models["dense"]
    path = tmp_path / "io.tflite"
    result = export.export_tflite(
        model, path, quantize="int8", representative_data=x, int8_io=True, verify_data=x
    )
    runner = export.TFLiteModel(path)
    assert runner.input_dtype == runner.output_dtype == np.int8
    assert runner.quantization == "int8" and result.report.passed
    rec = runner.reconstruct(x)  # float in, float out: the wrapper (de)quantizes
    assert rec.dtype == np.float32 and rec.min() >= -0.01 and rec.max() <= 1.01
    assert _mse(rec, x) <= 1.05 * _mse(model.reconstruct(x), x)
    # Already-quantized int8 input is passed through untouched.
    scale, zero = runner._input["quantization"]
    q = np.clip(np.round(x / scale) + zero, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(runner.reconstruct(q), rec)
    # Integers of any other type are refused, as by the Keras model; bool is 0/1.
    binary = x > 0.5
    with pytest.raises(ValueError, match="x has integer dtype int64"):
        runner.reconstruct(binary.astype(np.int64))
    np.testing.assert_array_equal(
        runner.reconstruct(binary), runner.reconstruct(binary.astype(np.float32))
    )
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        export.TFLiteModel(path, batch_size=0)


def test_a_tflite_target_named_saved_model_is_written(models, tmp_path):
    model, x = models["dense"]
    path = tmp_path / "saved_model"  # the name of the converter's own staging directory
    export.export_tflite(model, path, verify_data=x[:32])
    assert path.is_file()
    np.testing.assert_allclose(
        export.TFLiteModel(path).reconstruct(x[:4]), model.reconstruct(x[:4]), atol=1e-5
    )


@pytest.mark.parametrize("batch", [1, 3, 257, 600])
def test_tflite_model_takes_any_batch_size(models, tflite_files, batch):
    model, x = models["dense"]
    x = np.concatenate([x, x, x])[:batch]
    runner = export.TFLiteModel(tflite_files["dense", "full", None].path, batch_size=256)
    out = runner.reconstruct(x)
    assert out.shape == (batch, 784)
    np.testing.assert_allclose(out, model.reconstruct(x), atol=1e-5)
    np.testing.assert_allclose(runner(x[:1]), out[:1], atol=1e-6)  # shrinks back


def test_tflite_model_offers_only_its_part(tflite_files, models):
    _, x = models["dense"]
    encoder = export.TFLiteModel(tflite_files["dense", "encoder", "int8"].path)
    assert encoder.encode(x[:4]).shape == (4, 16)
    with pytest.raises(ValueError, match="holds the encoder part; use .encode"):
        encoder.reconstruct(x[:4])
    with pytest.raises(ValueError, match=r"takes batches of shape \(n, 784\), got \(4, 10\)"):
        encoder.encode(np.zeros((4, 10), "float32"))
    decoder = export.TFLiteModel(tflite_files["dense", "decoder", "int8"].path)
    assert decoder.input_shape == (16,) and decoder.output_shape == (784,)
    with pytest.raises(ValueError, match="holds the decoder part"):
        decoder.encode(x[:4])


# ------------------------------------------------------------- verification
def test_verify_export_reports_and_fails_loudly(models, saved_models, tflite_files, tmp_path):
    model, x = models["dense"]
    report = export.verify_export(model, saved_models["dense"][0].path, x, metric="psnr")
    per_image = np.mean((model.reconstruct(x).astype("float64") - x) ** 2, axis=1)
    peak = float(x.max() - x.min())
    assert report.keras_metric == pytest.approx(np.mean(10 * np.log10(peak**2 / per_image)))
    assert report.export_metric == pytest.approx(report.keras_metric, abs=1e-4)
    assert "psnr" in str(report) and "passed" in str(report)

    # The same export judged against a model whose weights moved: it must fail.
    changed = Autoencoder.from_config(model.get_config())
    changed.set_weights([w + 0.05 for w in model.get_weights()])
    with pytest.raises(export.ExportVerificationError, match="max abs error") as err:
        export.verify_export(changed, saved_models["dense"][0].path, x)
    assert not err.value.report.passed and err.value.report.max_abs_error > 1e-3
    assert isinstance(err.value, ValueError)
    # An int8 file of the changed model is judged on its metric: far worse.
    export.export_tflite(
        changed, tmp_path / "changed.tflite", quantize="int8", representative_data=x
    )
    with pytest.raises(export.ExportVerificationError, match="metric"):
        export.verify_export(model, tmp_path / "changed.tflite", x)
    # A float32 export compared with a strict-enough tolerance fails too.
    with pytest.raises(export.ExportVerificationError):
        export.verify_export(
            model, tflite_files["dense", "full", "float16"].path, x, quantized=False
        )


def test_verify_export_bad_arguments(models, saved_models, tmp_path):
    model, x = models["dense"]
    path = saved_models["dense"][0].path
    with pytest.raises(ValueError, match="metric must be one of"):
        export.verify_export(model, path, x, metric="auc")
    with pytest.raises(ValueError, match=r"data must have shape \(n, 784\)"):
        export.verify_export(model, path, x.reshape(-1, 28, 28))
    with pytest.raises(ValueError, match="no exported model at"):
        export.verify_export(model, tmp_path / "missing", x)
    with pytest.raises(ValueError, match="tolerance must be a finite number >= 0, got -1"):
        export.verify_export(model, path, x, tolerance=-1)


# --------------------------------------------------------------- bad input
def _unbuilt():
    return Autoencoder(
        encoder=keras.Sequential([keras.layers.Dense(4)]),
        decoder=keras.Sequential([keras.layers.Dense(784)]),
    )


BAD_CALLS = {
    "unbuilt saved_model": (
        lambda m, x, p: export.export_saved_model(_unbuilt(), p),
        "never built",
    ),
    "unbuilt tflite": (lambda m, x, p: export.export_tflite(_unbuilt(), p), "never built"),
    "not a model": (
        lambda m, x, p: export.export_tflite(keras.Sequential(), p),
        "expected a keras_ae Autoencoder",
    ),
    "unknown part": (
        lambda m, x, p: export.export_tflite(m, p, part="middle"),
        r"part must be one of \('full', 'encoder', 'decoder'\), got 'middle'",
    ),
    "unknown quantization": (
        lambda m, x, p: export.export_tflite(m, p, quantize="int4"),
        "quantize must be one of .* got 'int4'",
    ),
    "int8 without data": (
        lambda m, x, p: export.export_tflite(m, p, quantize="int8"),
        "give representative_data",
    ),
    "wrong representative shape": (
        lambda m, x, p: export.export_tflite(m, p, quantize="int8", representative_data=x[:, :700]),
        r"representative_data must have shape \(n, 784\) .* got shape \(256, 700\)",
    ),
    "codes for the full model": (
        lambda m, x, p: export.export_tflite(
            m, p, quantize="int8", representative_data=m.encode(x)
        ),
        r"must have shape \(n, 784\) with",
    ),
    "empty representative data": (
        lambda m, x, p: export.export_tflite(m, p, quantize="int8", representative_data=x[:0]),
        r"representative_data is empty \(shape \(0, 784\)\)",
    ),
    "non-finite representative data": (
        lambda m, x, p: export.export_tflite(
            m, p, quantize="int8", representative_data=np.full_like(x, np.nan)
        ),
        "representative_data contains 200704 NaN or infinite value",
    ),
    "int8_io without int8": (
        lambda m, x, p: export.export_tflite(m, p, int8_io=True),
        "int8_io=True needs quantize='int8'",
    ),
    "per_channel_dense not a bool": (
        lambda m, x, p: export.export_tflite(m, p, per_channel_dense="yes"),
        "per_channel_dense must be True, False or 'auto'",
    ),
    "wrong verify_data": (
        lambda m, x, p: export.export_saved_model(m, p, verify_data=x[:, 1:]),
        r"verify_data must have shape \(n, 784\)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises_before_writing(models, tmp_path, case):
    call, message = BAD_CALLS[case]
    model, x = models["dense"]
    target = tmp_path / "out" / "model"
    with pytest.raises(ValueError, match=message):
        call(model, x, target)
    assert not target.exists()
    assert not (tmp_path / "out").exists() or _listing(tmp_path / "out") == []


def test_decoder_int8_calibrates_on_codes_or_inputs(models, tmp_path):
    model, x = models["dense"]
    for data, name in ((x, "from_inputs"), (model.encode(x), "from_codes")):
        result = export.export_tflite(
            model,
            tmp_path / f"{name}.tflite",
            part="decoder",
            quantize="int8",
            representative_data=data,
            verify_data=x,
        )
        assert result.report.passed and result.report.parts == ("decoder",)


# --------------------------------------------------------------- atomicity
def test_interrupted_saved_model_export_leaves_nothing(models, tmp_path, monkeypatch):
    model, x = models["dense"]
    target = tmp_path / "model"
    # (At the archive the export writes through: a patch of tf.saved_model.save
    # was not seen by Keras in every process.)
    archive_cls = type(signatures_module.build_archive(model))
    real_save = archive_cls.write_out

    def crash(archive, export_dir, *args, **kwargs):
        Path(export_dir).mkdir(parents=True, exist_ok=True)
        (Path(export_dir) / "saved_model.pb").write_bytes(b"half")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of writing

    monkeypatch.setattr(archive_cls, "write_out", crash)
    with pytest.raises(KeyboardInterrupt):
        export.export_saved_model(model, target)
    assert _listing(tmp_path) == []

    # An existing export survives a failed re-export untouched.
    monkeypatch.setattr(archive_cls, "write_out", real_save)
    export.export_saved_model(model, target)
    before = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    monkeypatch.setattr(archive_cls, "write_out", crash)
    with pytest.raises(KeyboardInterrupt):
        export.export_saved_model(model, target)
    assert _listing(tmp_path) == ["model"]
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == before
    monkeypatch.setattr(archive_cls, "write_out", real_save)
    loaded = tf.saved_model.load(str(target))
    out = loaded.signatures["reconstruct"](x=tf.constant(x[:3]))["reconstruction"].numpy()
    np.testing.assert_allclose(out, model.reconstruct(x[:3]), atol=1e-5)


def test_interrupted_tflite_export_leaves_nothing(models, tmp_path, monkeypatch):
    model, _ = models["dense"]
    target = tmp_path / "model.tflite"

    class CrashingConverter:
        def convert(self):
            raise RuntimeError("converter crashed")

    # The SavedModel that the converter reads is already staged when it fails.
    monkeypatch.setattr(
        tf.lite.TFLiteConverter, "from_saved_model", lambda *args, **kwargs: CrashingConverter()
    )
    with pytest.raises(RuntimeError, match="converter crashed"):
        export.export_tflite(model, target)
    assert _listing(tmp_path) == []


def test_failed_verification_writes_nothing(models, tmp_path, monkeypatch):
    model, x = models["dense"]
    # An exported graph that computes something else than the model.
    monkeypatch.setattr(signatures_module, "_float32", lambda t: tf.cast(t, tf.float32) + 0.01)
    with pytest.raises(export.ExportVerificationError):
        export.export_saved_model(model, tmp_path / "model", verify_data=x)
    with pytest.raises(export.ExportVerificationError):
        export.export_tflite(model, tmp_path / "model.tflite", verify_data=x)
    assert _listing(tmp_path) == []


def test_reexport_replaces_the_old_model(models, tmp_path):
    dense, vae = models["dense"][0], models["vae"][0]
    target = tmp_path / "model"
    export.export_saved_model(vae, target)
    result = export.export_saved_model(dense, target)
    assert os.fspath(result) == str(target) and result.report is None  # no verify_data
    runner = export.load(result)
    assert isinstance(runner, export.SavedModelRunner) and "sample" not in runner.signatures
    with pytest.raises(ValueError, match="has no 'sample' signature"):
        runner.sample(2)
    assert _listing(tmp_path) == ["model"]
    with pytest.raises(ValueError, match="exists as a directory"):
        export.export_tflite(dense, target)


# --------------------------------------------------------------------- zoo
def _zoo_names():
    try:
        from keras_ae import zoo
    except ImportError:
        return []
    try:
        return list(zoo.list_models())
    except (ValueError, OSError):  # an empty or half-built zoo: nothing to parametrize
        return []


ZOO = _zoo_names()


def _zoo_test_data(name, data_dir, n=256):
    """The first `n` test images of an entry's dataset, as its card measures
    them, and their labels."""
    from keras_ae import zoo
    from keras_ae.zoo import protocols

    meta = zoo.info(name)
    x_test, y_test = protocols.load_split(meta.get("dataset", "mnist"), "test", data_dir)
    return protocols.prepare(x_test[:n], meta.get("preprocessing") or {}), y_test[:n]


@pytest.mark.skipif(not ZOO, reason="keras_ae.zoo has no entries yet")
@pytest.mark.parametrize("name", ZOO)
def test_zoo_entry_exports_with_parity(name, shared_data, tmp_path):
    """Every bundled entry exports each way its class supports, verified on
    its own test images: SavedModel, LiteRT float32, float16 and int8 (a
    conditional model takes labels; a VQ-VAE's int8 encoder keeps its codes)."""
    from keras_ae import zoo

    model = zoo.load(name)
    x, labels = _zoo_test_data(name, shared_data)
    if hasattr(model, "condition_units"):  # a ConditionalVAE: (x, labels) everywhere
        saved = export.export_saved_model(model, tmp_path / "saved", verify_data=(x, labels))
        assert saved.report.passed and saved.report.errors["full"] <= verify_module.FLOAT_TOLERANCE
        result = export.export_tflite(
            model, tmp_path / "decoder.tflite", part="decoder", verify_data=(x, labels)
        )
        assert result.report.passed and result.report.parts == ("decoder",)
        return
    saved = export.export_saved_model(model, tmp_path / "saved", verify_data=x)
    assert saved.report.passed and saved.report.errors["full"] <= verify_module.FLOAT_TOLERANCE
    for quantize in (None, "float16", "int8"):
        path = tmp_path / f"{quantize}.tflite"
        result = export.export_tflite(
            model, path, quantize=quantize, representative_data=x, verify_data=x
        )
        report = result.report
        assert report.passed, str(report)
        if quantize is None:
            scale = max(1.0, float(np.abs(x).max()))
            assert report.max_abs_error <= verify_module.FLOAT_TOLERANCE * scale
        else:
            assert report.export_metric <= 1.05 * report.keras_metric
    if hasattr(model, "num_codes"):  # a VQ-VAE: its int8 encoder, codes compared
        result = export.export_tflite(
            model,
            tmp_path / "encoder_int8.tflite",
            part="encoder",
            quantize="int8",
            representative_data=x,
            verify_data=x,
        )
        assert result.report.passed and result.report.code_agreement >= 0.95, str(result.report)


# ----------------------------------------------------- reviewed edge cases
def test_saved_model_export_never_replaces_a_folder_of_other_files(models, tmp_path):
    """It used to delete the folder it was pointed at, whatever it held."""
    dense = models["dense"][0]
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    with pytest.raises(
        ValueError,
        match=r"exports is a directory of other files \(precious"
        r"\.txt\), not a SavedModel.*give a new path",
    ):
        export.export_saved_model(dense, folder)
    assert _listing(folder) == ["precious.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    export.export_saved_model(dense, empty)  # an empty folder, or an earlier SavedModel, is fine
    export.export_saved_model(dense, empty)
    assert "saved_model.pb" in _listing(empty)
    assert str(export.export_saved_model(dense, empty)) == str(empty)  # prints as its path


def test_saved_model_runner_checks_sample_arguments_and_reads_the_distribution(
    models, saved_models
):
    model, x = models["vae"]
    runner = export.SavedModelRunner(saved_models["vae"][0].path)
    for n in (0, -1, 2.7, "3"):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            runner.sample(n)
    for seed in (5, (1, 2, 3), (1.5, 2.0)):
        with pytest.raises(ValueError, match=r"seed must be two integers"):
            runner.sample(2, seed=seed)
    seed = np.array([3, 4])
    z = tf.random.stateless_normal((2, model.latent_dim), tf.constant(seed, tf.int64)).numpy()
    np.testing.assert_allclose(runner.sample(np.int64(2), seed=seed), model.decode(z), atol=1e-5)
    mean, log_var = runner.encode_distribution(x[:5])
    want_mean, want_log_var = (np.asarray(t) for t in model.encode_distribution(x[:5]))
    np.testing.assert_allclose(mean, want_mean, atol=1e-5)
    np.testing.assert_allclose(log_var, want_log_var, atol=1e-5)
    with pytest.raises(ValueError, match=r"x is empty"):
        runner.encode_distribution(x[:0])


def test_conv_tflite_files_know_their_output_shape_and_refuse_empty_batches(models, tflite_files):
    """A conv output's spatial size is open in the file: output_shape read
    (-1, -1, 1), and an empty batch failed with 'negative dimensions' (it is
    refused now, clearly, as the Keras model refuses it)."""
    model, x = models["conv"]
    runner = export.TFLiteModel(tflite_files["conv", "full", None].path)
    assert runner.output_shape == (28, 28, 1)
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0, 28, 28, 1\)\)"):
        runner.reconstruct(x[:0])
    np.testing.assert_allclose(runner.reconstruct(x[:3]), model.reconstruct(x[:3]), atol=1e-4)


def test_verifying_decoders_traces_once(models, tmp_path):
    """Each verification of a decoder made a new tf.function, retraced every time
    (TensorFlow's retracing warnings filled the log of a few exports)."""
    dense, x = models["dense"]
    for i in range(3):
        export.export_tflite(
            dense, tmp_path / f"decoder{i}.tflite", part="decoder", verify_data=x[: 64 + i]
        )
    traced = list(verify_module._DECODERS.get(dense, {}).values())
    assert len(traced) == 1 and traced[0].experimental_get_tracing_count() == 1


def test_dynamic_range_export_of_a_conv_model_warns_of_its_speed(models, tmp_path):
    conv, dense = models["conv"][0], models["dense"][0]
    with pytest.warns(UserWarning, match=r"quantize='dynamic' runs convolutions 40-55x slower"):
        export.export_tflite(conv, tmp_path / "conv_dynamic.tflite", quantize="dynamic")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export.export_tflite(dense, tmp_path / "dense_dynamic.tflite", quantize="dynamic")


def test_keras_model_export_works_on_a_model_only_fit_or_loaded(tmp_path, rng):
    """Keras's own `model.export` inferred its input signature from a first
    call, which keras_ae's fit (train_step calls encoder and decoder) and a
    load never make: it raised "The model provided has never called". The
    signature now defaults to the model's own inputs (with labels for a
    ConditionalVAE), and the artifact serves what the model reconstructs."""
    from keras_ae.models import Autoencoder, ConditionalVAE

    x = rng.random((40, 784)).astype("float32")
    y = rng.integers(0, 10, 40).astype("int32")
    model = Autoencoder(input_shape=(784,), latent_dim=4, hidden_units=(16,))
    model.compile(optimizer="adam")
    model.fit(x, epochs=1, batch_size=20, verbose=0)
    model.export(str(tmp_path / "fit"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "fit"))  # (held: its variables)
    served = loaded.serve(x[:7]).numpy()
    np.testing.assert_allclose(served, model.reconstruct(x[:7]), atol=1e-6)
    model.save(tmp_path / "m.keras")
    keras.saving.load_model(tmp_path / "m.keras").export(str(tmp_path / "loaded"), verbose=False)
    assert (tmp_path / "loaded" / "saved_model.pb").is_file()

    cvae = ConditionalVAE(input_shape=(784,), latent_dim=4, hidden_units=(16,), num_classes=10)
    cvae.compile(optimizer="adam")
    cvae.fit(x, y, epochs=1, batch_size=20, verbose=0)
    cvae.export(str(tmp_path / "cvae"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "cvae"))
    served = loaded.serve((x[:7], y[:7])).numpy()
    np.testing.assert_allclose(served, cvae.reconstruct(x[:7], y[:7]), atol=1e-6)
