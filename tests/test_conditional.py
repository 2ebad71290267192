"""ConditionalVAE: the condition is used (the true label explains an image
better than a wrong one), condition vectors work, and bad labels are refused
naming the argument. The shared checks (config, fit, XLA, gradients, saving,
mixed precision, replicas, export) are tests/test_registry.py's."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ae.models import VAE, ConditionalVAE

SMALL = {"input_shape": (784,), "latent_dim": 8, "hidden_units": (128,)}


@pytest.fixture(scope="module")
def trained(mnist):
    """An MLP ConditionalVAE after 3 epochs on 4,096 MNIST digits with their labels."""
    (x_train, y_train), _ = mnist
    keras.utils.set_random_seed(0)
    model = ConditionalVAE(**SMALL, num_classes=10, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = model.fit(x_train[:4096], y_train[:4096], epochs=3, batch_size=64, verbose=0)
    return model, history


def test_fit_on_labelled_digits_lowers_the_negative_elbo(trained):
    _, history = trained
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0] - 20


def test_the_true_label_explains_a_digit_better_than_a_wrong_one(trained, mnist):
    model, _ = trained
    _, (x_test, y_test) = mnist
    x = (x_test[:200] > 0.5).astype("float32")
    right = model.log_likelihood(x, y_test[:200], num_samples=50)
    wrong = model.log_likelihood(x, (y_test[:200] + 5) % 10, num_samples=50)
    assert right.mean() > wrong.mean() + 5  # nats per image
    assert (right > wrong).mean() > 0.8


def test_samples_follow_their_label_and_repeat_with_a_seed(trained):
    model, _ = trained
    labels = np.repeat(np.arange(10), 20)
    drawn = model.sample(labels=labels, seed=1)
    assert drawn.shape == (200, 784) and drawn.dtype == np.float32
    np.testing.assert_array_equal(drawn, model.sample(labels=labels, seed=1))
    means = drawn.reshape(10, 20, 784).mean(axis=1)
    # Each class's mean sample is nearest its own class mean, not another's.
    gaps = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert np.all(gaps[~np.eye(10, dtype=bool)] > 1.0)
    codes = model.encode(drawn[:5], labels[:5])
    assert model.decode(codes, labels[:5]).shape == (5, 784)
    assert model.reconstruct(drawn[:5], labels[:5]).shape == (5, 784)


def test_a_dataset_of_pairs_trains_and_evaluates(trained, mnist):
    model, _ = trained
    (x_train, y_train), _ = mnist
    ds = tf.data.Dataset.from_tensor_slices((x_train[:256], y_train[:256])).batch(64)
    before = model.evaluate(ds, verbose=0, return_dict=True)
    after = model.evaluate(x_train[:256], y_train[:256], verbose=0, return_dict=True)
    assert before["loss"] == pytest.approx(after["loss"], rel=0.05)  # one random draw each
    with pytest.raises(ValueError, match="the second element of .* is never a target"):
        model.fit(ds.map(lambda x, y: (x, x)), epochs=1, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes=10"):
        model.evaluate(ds.map(lambda x, y: (x, y + 10)), verbose=0)


def test_condition_vectors_train_and_round_trip(rng, tmp_path):
    model = ConditionalVAE(**SMALL, condition_dim=3)
    model.compile(optimizer="adam")
    x = rng.random((256, 784)).astype("float32")
    c = rng.random((256, 3)).astype("float32")
    history = model.fit(x, c, epochs=3, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.sample(labels=c[:4], seed=0).shape == (4, 784)
    model.save(tmp_path / "cvae.keras")
    loaded = keras.models.load_model(tmp_path / "cvae.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.encode(x[:8], c[:8]), model.encode(x[:8], c[:8]))
    with pytest.raises(ValueError, match=r"labels must have shape \(4, 3\)"):
        model.sample(labels=c[:4, :2])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, x: m.sample(), "sample.*labels="),
        (lambda m, x: m.sample(labels=[3, 10]), r"labels must be class ids in \[0, 10\).*10"),
        (lambda m, x: m.sample(labels=[-1]), r"class ids in \[0, 10\).*-1"),
        (lambda m, x: m.sample(labels=np.array([1.0, 2.0])), "labels must be class ids.*float64"),
        (lambda m, x: m.encode(x, [1, 2]), r"labels must have shape \(4,\).*got shape \(2,\)"),
        (lambda m, x: m.log_likelihood(x, None), "needs labels"),
        (lambda m, x: m.fit(x, epochs=1, verbose=0), "pass the labels with x"),
        (lambda m, x: m.fit(x, np.zeros((4, 10), "int64"), verbose=0), r"shape \(4,\)"),
        (lambda m, x: m.evaluate(x, [0, 1, 2, 3.5], verbose=0), "dtype float64"),
    ],
)
def test_bad_labels_are_refused_naming_the_argument(call, match):
    model = ConditionalVAE(**SMALL, num_classes=10)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=match):
        call(model, np.zeros((4, 784), "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one of num_classes"),
        ({"num_classes": 10, "condition_dim": 3}, "exactly one of num_classes"),
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 10, "network": "lstm"}, "'mlp' or 'conv'"),
    ],
)
def test_bad_construction_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConditionalVAE(**SMALL, **kwargs)


def test_encode_distribution_is_numpy_for_numpy_and_checks_labels(trained, mnist):
    model = trained[0]
    x = mnist[1][0][:5]
    mean, log_var = model.encode_distribution(x, np.arange(5))
    assert isinstance(mean, np.ndarray) and isinstance(log_var, np.ndarray)
    np.testing.assert_allclose(mean, model.encode(x, np.arange(5)), atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        model.encode_distribution(x, np.array([0, 1, 2, 3, 10]))


def test_compile_metrics_and_preset_figures_without_labels_are_refused(tmp_path):
    from keras_ae import zoo

    model = ConditionalVAE(num_classes=3, **SMALL)
    with pytest.raises(ValueError, match=r"metrics=.*not supported by a ConditionalVAE"):
        model.compile(optimizer="adam", metrics=["mse"])
    model({"x": np.zeros((2, 784), "float32"), "labels": np.zeros((2,), "int32")})
    with pytest.raises(zoo.ZooError, match=r"needs \(x, labels\)"):
        zoo.save_preset(model, tmp_path / "cvae", data="mnist")
    assert not (tmp_path / "cvae").exists()


def test_an_export_that_fails_verification_raises_its_report_and_writes_nothing(
    trained, mnist, tmp_path, monkeypatch
):
    """A conditional export reports like every other (a VerificationReport, once
    a bare float that `keras-ae export` printed alone); beyond the tolerance
    it raises with that report and leaves no file behind."""
    from keras_ae import export
    from keras_ae.export import conditional

    model, _ = trained
    (x, y), _ = mnist
    data = (x[:16], y[:16].astype("int32"))
    monkeypatch.setattr(conditional, "FLOAT_TOLERANCE", -1.0)  # no difference passes
    with pytest.raises(export.ExportVerificationError, match=r"saved_model \(float32") as err:
        export.export_saved_model(model, tmp_path / "saved", verify_data=data)
    report = err.value.report
    assert (
        not report.passed
        and report.num_samples == 16
        and set(report.errors)
        == {
            "full",
            "encoder",
            "decoder",
        }
    )
    assert list(tmp_path.iterdir()) == []


def test_exports_run_with_labels_in_keras_aes_own_runners(trained, mnist, tmp_path, rng):
    """`export.load` of a conditional export takes labels as the Keras model
    does, and matches it: the SavedModel's reconstruct, encode, decode and
    sample, the LiteRT decoder's decode. Without labels, with too few, or
    with class ids the model does not know, each runner refuses naming
    labels (an id past num_classes was one-hot encoded as no class at all);
    runners of other exports refuse labels."""
    from keras_ae import export

    model, _ = trained
    (x, y), _ = mnist
    x, y = x[:40], y[:40].astype("int32")
    export.export_saved_model(model, tmp_path / "saved", verify_data=(x, y))
    export.export_tflite(model, tmp_path / "d.tflite", part="decoder", verify_data=(x, y))
    saved, lite = export.load(tmp_path / "saved"), export.load(tmp_path / "d.tflite")
    assert saved.conditional and lite.conditional and saved.num_classes == lite.num_classes == 10
    z = model.encode(x, y)
    np.testing.assert_allclose(saved.reconstruct(x, y), model.reconstruct(x, y), atol=1e-5)
    np.testing.assert_allclose(saved.encode(x, y), z, atol=1e-5)
    np.testing.assert_allclose(saved.decode(z, y), model.decode(z, y), atol=1e-5)
    np.testing.assert_allclose(lite.decode(z, y), model.decode(z, y), atol=1e-5)
    draws = saved.sample(labels=[3, 3, 7], seed=(0, 1))
    assert draws.shape == (3, 784)
    np.testing.assert_array_equal(draws, saved.sample(3, seed=(0, 1), labels=[3, 3, 7]))
    for run in (lambda: saved.reconstruct(x), lambda: lite.decode(z)):
        with pytest.raises(ValueError, match="conditional model's export: pass labels="):
            run()
    with pytest.raises(ValueError, match=r"class ids of shape \(n,\) with n=40, got shape \(3,\)"):
        saved.encode(x, y[:3])
    for run in (lambda: saved.decode(z, np.full(40, 10)), lambda: lite.decode(z, y - 1)):
        with pytest.raises(ValueError, match=r"labels must be class ids in \[0, 10\)"):
            run()
    with pytest.raises(ValueError, match="n=2 but 3 labels"):
        saved.sample(2, labels=[1, 2, 3])

    plain = VAE(input_shape=(784,), latent_dim=4, hidden_units=(16,))
    plain.compile(optimizer="adam")
    plain.fit(x, epochs=1, batch_size=20, verbose=0)
    export.export_saved_model(plain, tmp_path / "plain")
    with pytest.raises(ValueError, match="takes no labels"):
        export.load(tmp_path / "plain").reconstruct(x, y)


def test_exports_of_condition_vectors_take_vectors(rng, tmp_path):
    """A model built on condition vectors exports signatures of float
    vectors, and its runner checks their width."""
    from keras_ae import export

    x = rng.random((32, 784)).astype("float32")
    c = rng.random((32, 3)).astype("float32")
    model = ConditionalVAE(**SMALL, condition_dim=3, seed=0)
    model.compile(optimizer="adam")
    model.fit(x, c, epochs=1, batch_size=16, verbose=0)
    export.export_saved_model(model, tmp_path / "saved", verify_data=(x, c))
    runner = export.load(tmp_path / "saved")
    assert runner.conditional and runner.num_classes is None
    np.testing.assert_allclose(runner.reconstruct(x, c), model.reconstruct(x, c), atol=1e-5)
    with pytest.raises(ValueError, match=r"condition vectors of shape \(n, 3\)"):
        runner.reconstruct(x, c[:, :2])
