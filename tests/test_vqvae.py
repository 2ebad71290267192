"""VQVAE: integer code maps, the codebook's nearest-vector rule, its EMA
update, dead-code restarts, replicas, bad code maps, and LiteRT export of
encoder and decoder (float and int8, the encoder's code search in float32).
The registry-wide checks (config, fit, XLA, gradients, reload, mixed
precision, 1 vs 2 replicas, SavedModel) run in tests/test_registry.py."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ae import export
from keras_ae.models import VQVAE

SMALL = dict(input_shape=(28, 28, 1), latent_dim=8, num_codes=16, filters=(8, 16))


def arr(variable):
    return keras.ops.convert_to_numpy(variable)


def images(x):
    return x.reshape(-1, 28, 28, 1)


@pytest.fixture(scope="module")
def trained(mnist_small):
    keras.utils.set_random_seed(0)
    model = VQVAE(**SMALL)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = model.fit(images(mnist_small[0][:512]), epochs=2, batch_size=64, verbose=0)
    return model, history


def test_codes_are_int_maps_of_the_nearest_codebook_vectors(trained, mnist_small):
    model, _ = trained
    x = images(mnist_small[1][:32])
    codes = model.encode(x)
    assert codes.dtype == np.int32 and codes.shape == (32, 7, 7) == (32,) + model.grid
    assert codes.min() >= 0 and codes.max() < model.num_codes
    z = model.embed(x)
    book = keras.ops.convert_to_numpy(model.quantizer.codebook)
    distances = ((z[..., None, :] - book) ** 2).sum(-1)
    np.testing.assert_array_equal(codes, distances.argmin(-1))
    np.testing.assert_allclose(model.quantized(x), book[codes], atol=1e-6)
    np.testing.assert_allclose(model.decode(codes), model.reconstruct(x), atol=1e-6)
    assert model.bits_per_image == 49 * 4


def test_fit_reports_each_term_and_the_codebook_usage(trained):
    model, history = trained
    logs = history.history
    assert set(logs) == set(model.loss_names)
    assert logs["reconstruction_loss"][-1] < logs["reconstruction_loss"][0]
    assert logs["commitment_loss"][-1] > 0 and logs["codebook_loss"][-1] > 0
    # The commitment term is beta times the codebook term's distance.
    assert logs["commitment_loss"][-1] == pytest.approx(0.25 * logs["codebook_loss"][-1], rel=1e-4)
    assert 1.0 < logs["perplexity"][-1] <= model.num_codes
    assert 0.0 < logs["codes_used"][-1] <= 1.0


def test_ema_update_moves_codes_to_the_mean_of_their_vectors(mnist_small):
    model = VQVAE(**SMALL, decay=0.5, restart_after=0)
    q = model.quantizer
    x = images(mnist_small[0][:64])
    z = model.embed(x).reshape(-1, 8)
    codes = model.encode(x).reshape(-1)
    count, total = arr(q.ema_count), arr(q.ema_sum)
    q(tf.constant(model.embed(x)), training=True)
    n = np.bincount(codes, minlength=16)
    sums = np.stack([z[codes == k].sum(0) for k in range(16)])
    count, total = 0.5 * count + 0.5 * n, 0.5 * total + 0.5 * sums
    smoothed = (count + 1e-5) / (count.sum() + 16 * 1e-5) * count.sum()
    np.testing.assert_allclose(arr(q.codebook), total / smoothed[:, None], rtol=1e-4, atol=1e-5)


def test_gradient_codebook_learns_from_the_codebook_loss(mnist_small):
    model = VQVAE(**SMALL, codebook_update="gradient", restart_after=0)
    assert any(v is model.quantizer.codebook for v in model.trainable_variables)
    x = tf.constant(images(mnist_small[0][:64]))
    with tf.GradientTape() as tape:
        terms = model.compute_losses(x, training=True)
    grads = tape.gradient(terms["loss"], model.trainable_variables)
    assert all(g is not None and np.any(np.asarray(g) != 0) for g in grads)
    # EMA mode: the codebook is not trained by gradient, and its loss is not minimised.
    ema = VQVAE(**SMALL)
    assert all(v is not ema.quantizer.codebook for v in ema.trainable_variables)
    terms = ema.compute_losses(x)
    assert float(terms["loss"]) == pytest.approx(
        float(terms["reconstruction_loss"] + terms["commitment_loss"]), rel=1e-6
    )


def test_dead_codes_restart_from_encoder_outputs(mnist_small):
    model = VQVAE(**{**SMALL, "num_codes": 64}, restart_after=1)
    q = model.quantizer
    z = model.embed(images(mnist_small[0][:64]))
    flat = z.reshape(-1, 8)

    def batch_vectors(book):
        return [np.min(np.abs(flat - v).max(-1)) < 1e-6 for v in book]

    q(tf.constant(z), training=True)  # the first step draws every code from the batch
    assert all(batch_vectors(arr(q.codebook)))
    book = arr(q.codebook)
    book[32:] = 1e3  # far from every vector: unused in the next step
    q.codebook.assign(book)
    q(tf.constant(z), training=True)
    book = arr(q.codebook)
    assert all(batch_vectors(book[32:])) and np.all(arr(q.ema_count)[32:] == 1)
    assert np.all(arr(q.unused_steps)[32:] == 0)


def test_replicas_keep_one_codebook_through_restarts(mnist_small, strategies):
    x = images(mnist_small[0][:64])
    with strategies[1].scope():
        model = VQVAE(**{**SMALL, "num_codes": 64}, restart_after=1)
        model.compile(optimizer=keras.optimizers.SGD(0.01))
    model.fit(x, batch_size=64, epochs=1, shuffle=False, verbose=0)  # restarts at step 1
    q = model.quantizer
    for var in (q.codebook, q.ema_count, q.ema_sum, q.unused_steps):
        copies = [np.asarray(v) for v in var.value.values]
        assert len(copies) == 2
        np.testing.assert_array_equal(copies[0], copies[1])


@pytest.mark.parametrize(
    "codes, match",
    [
        (np.full((2, 7, 7), 16), r"codes must index the codebook, in \[0, 16\).*\[16, 16\]"),
        (np.full((2, 7, 7), -1), r"codes must index the codebook.*\[-1, -1\]"),
        (np.zeros((2, 4, 4), "int32"), r"codes must have shape \(batch, 7, 7\).*\(2, 4, 4\)"),
        (np.zeros((2, 7, 7), "float32"), r"codes must be integer code indices.*float32"),
    ],
)
def test_bad_code_maps_are_refused_naming_codes(codes, match):
    with pytest.raises(ValueError, match=match):
        VQVAE(**SMALL).decode(codes)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"network": "mlp"}, "network must be 'conv'"),
        ({"code_layer": "dense"}, "code_layer must be 'conv'"),
        ({"codebook_update": "adam"}, "codebook_update must be one of"),
        ({"num_codes": 1}, "num_codes must be at least 2"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VQVAE(**{**SMALL, **kwargs})


def test_litert_exports_verify_float_and_int8(trained, mnist_small, tmp_path):
    model, _ = trained
    x = images(mnist_small[1][:128])
    codes = model.encode(x)
    enc = export.export_tflite(model, tmp_path / "enc.tflite", part="encoder", verify_data=x)
    got = export.TFLiteModel(enc).encode(x)
    assert got.dtype == np.int32 and got.shape == (128, 7, 7)
    np.testing.assert_array_equal(got, codes)
    assert enc.report.code_agreement == 1.0
    kw = dict(quantize="int8", representative_data=images(mnist_small[0][:256]), verify_data=x)
    # int8: each part's reconstruction MSE within 5% of the Keras model's.
    for part in ("decoder", "encoder", "full"):
        result = export.export_tflite(model, tmp_path / f"{part}_int8.tflite", part=part, **kw)
        # (the decoder, int32 codes in, has no QUANTIZE op: it read as "dynamic")
        assert result.report.passed and result.report.quantization == "int8", str(result.report)
    out = export.TFLiteModel(tmp_path / "decoder_int8.tflite").decode(codes[:5].astype("int64"))
    assert out.shape == (5, 28, 28, 1) and out.dtype == np.float32


def test_int8_encoder_searches_codes_in_float32(trained, mnist_small, tmp_path):
    """The conv encoder runs in int8, the nearest-code search in float32 on its
    dequantized grid: int32 codes in range, most equal to the Keras model's.
    Searched on 8-bit distances (the converter's default), codes near a tie
    flipped (the zoo's VQ-VAEs lost 6-13% test MSE)."""
    from ai_edge_litert.interpreter import Interpreter

    from keras_ae import keras_compat

    model, _ = trained
    x = images(mnist_small[1][:256])
    result = export.export_tflite(
        model,
        tmp_path / "encoder_int8.tflite",
        part="encoder",
        quantize="int8",
        representative_data=images(mnist_small[0][:256]),
        verify_data=x,
    )
    runner = export.TFLiteModel(result)  # ai_edge_litert's interpreter
    got = runner.encode(x)
    assert got.dtype == np.int32 and got.shape == (256,) + model.grid
    assert got.min() >= 0 and got.max() < model.num_codes
    agreement = float(np.mean(got == model.encode(x)))
    assert agreement >= 0.9 and result.report.code_agreement == pytest.approx(agreement)
    assert result.report.export_metric <= 1.05 * result.report.keras_metric

    interpreter = Interpreter(model_path=str(result))
    tensors = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    ops = {op["op_name"]: op for op in keras_compat.ops_details(interpreter)}
    assert "CONV_2D" in ops and "DEQUANTIZE" in ops
    conv, argmin = ops["CONV_2D"], ops["ARG_MIN"]
    assert tensors[conv["outputs"][0]] == np.int8  # the encoder: int8
    assert tensors[argmin["inputs"][0]] == np.float32  # the search: float32


def test_int8_io_encoder_takes_int8_images_and_gives_int32_codes(trained, mnist_small, tmp_path):
    model, _ = trained
    x = images(mnist_small[1][:64])
    result = export.export_tflite(
        model,
        tmp_path / "encoder_int8_io.tflite",
        part="encoder",
        quantize="int8",
        int8_io=True,
        representative_data=x,
        verify_data=x,
    )
    runner = export.TFLiteModel(result)
    assert runner.input_dtype == np.int8 and runner.output_dtype == np.int32
    assert result.report.passed and result.report.code_agreement >= 0.9


def test_early_stopping_keeps_the_highest_perplexity_without_a_mode(mnist_small):
    """perplexity and codes_used improve as they rise: callbacks read that
    from the trackers (they used to minimise them, as every loss term)."""
    keras.utils.set_random_seed(0)
    model = VQVAE(**SMALL)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    stops = {
        m: keras.callbacks.EarlyStopping(monitor=m, patience=9)
        for m in ("perplexity", "codes_used", "reconstruction_loss")
    }
    history = model.fit(
        images(mnist_small[0][:256]),
        epochs=3,
        batch_size=64,
        verbose=0,
        callbacks=list(stops.values()),
    ).history
    assert stops["perplexity"].best == pytest.approx(max(history["perplexity"]))
    assert stops["codes_used"].best == pytest.approx(max(history["codes_used"]))
    assert stops["reconstruction_loss"].best == pytest.approx(min(history["reconstruction_loss"]))


def test_a_training_step_quantizes_with_the_codebook_it_chose_codes_in():
    """The EMA update and restarts change the codebook within the step; the
    vectors handed on are those the codes were nearest to, not the updated ones."""
    from keras_ae.networks.quantize import VectorQuantizer

    layer = VectorQuantizer(num_codes=4, embedding_dim=2, restart_after=0)
    z = np.array([[[0.9, 0.1], [-1.0, 0.2]]], "float32")
    layer(z)
    before = arr(layer.codebook).copy()
    out = layer(z, training=True)
    assert not np.allclose(arr(layer.codebook), before)  # the step did update it
    np.testing.assert_allclose(arr(out["codebook_vectors"]), before[arr(out["codes"])], atol=1e-6)
