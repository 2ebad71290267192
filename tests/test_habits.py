"""Keras habits keep working on keras_ae models (issue 26, items 1 and 2):
a user's encoder and decoder are used as they are (a sigmoid decoder is not
activated twice; keras.io's three-output encoder works), `compile(metrics=...)`
reports Keras metrics of the reconstruction, `reconstruction_loss="mae"` and
`"huber"` exist, Keras callbacks infer the direction of every loss term, public
methods return numpy, and an argument the network would ignore is refused."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers, ops

from keras_ae import losses, models


def keras_io_vae_networks(latent_dim=2, three_outputs=True):
    """keras.io's "Variational AutoEncoder" networks, as its example writes them."""

    class Sampling(layers.Layer):
        def call(self, inputs):
            z_mean, z_log_var = inputs
            eps = keras.random.normal(ops.shape(z_mean))
            return z_mean + ops.exp(0.5 * z_log_var) * eps

    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Dense(16, activation="relu")(layers.Flatten()(x))
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    outputs = [z_mean, z_log_var]
    if three_outputs:
        outputs.append(Sampling()([z_mean, z_log_var]))
    encoder = keras.Model(inputs, outputs, name="encoder")

    latent = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    out = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same", name="pixels")(x)
    return encoder, keras.Model(latent, out, name="decoder")


def dense_pair(code=4, latent=2, features=12, activation="sigmoid", name="out"):
    """A dense encoder of `code` outputs and a decoder from `latent` values
    (`latent=code` for an autoencoder, `code // 2` for a VAE)."""
    encoder = keras.Sequential([keras.Input((features,)), layers.Dense(code)])
    decoder = keras.Sequential([keras.Input((latent,)), layers.Dense(features, name=name)])
    decoder.layers[-1].activation = keras.activations.get(activation)
    return encoder, decoder


# ------------------------------------------------------------ 1. user networks
def test_a_sigmoid_decoder_is_not_activated_twice():
    """keras.io's decoder already ends in a sigmoid: `decode` returns its
    output as it is (it stayed in [0.5, 0.73] before)."""
    encoder, decoder = keras_io_vae_networks()
    vae = models.VAE(encoder=encoder, decoder=decoder)
    assert vae.decoder_gives_probabilities
    z = np.random.default_rng(0).normal(size=(5, 2)).astype("float32") * 3
    np.testing.assert_allclose(vae.decode(z), decoder.predict(z, verbose=0), atol=1e-6)


def test_a_sigmoid_decoder_trains_on_the_loss_of_its_logits():
    """The cross-entropy of a sigmoid decoder's probabilities, in the compiled
    step, equals that of the same decoder emitting logits, saturated pixels
    included (clipped probabilities would cap them at 16 nats, no gradient)."""
    encoder = keras.Sequential([keras.Input((12,)), layers.Dense(4)])
    logits = keras.Sequential([keras.Input((2,)), layers.Dense(12)])
    sigmoid = keras.Sequential([keras.Input((2,)), layers.Dense(12, activation="sigmoid")])
    rng = np.random.default_rng(0)
    encoder.set_weights([rng.normal(0, 1, (12, 4)).astype("float32"), np.zeros(4, "float32")])
    weights = [rng.normal(0, 40, (2, 12)).astype("float32"), np.zeros(12, "float32")]
    logits.set_weights(weights)
    sigmoid.set_weights(weights)
    x = (np.random.default_rng(0).random((16, 12)) > 0.5).astype("float32")
    got = {}
    for name, decoder in (("logits", logits), ("sigmoid", sigmoid)):
        vae = models.VAE(encoder=encoder, decoder=decoder, seed=3)
        step = tf.function(lambda t, vae=vae: vae.compute_losses(t)["reconstruction_loss"])
        got[name] = float(step(tf.constant(x)))
    assert got["logits"] > 100  # saturated: pixels far beyond a clipped 16 nats each
    assert got["sigmoid"] == pytest.approx(got["logits"], rel=1e-5)


def test_a_keras_io_vae_learns_digits(mnist_small):
    """Passed as keras.io writes it, the VAE trains: its loss falls and its
    reconstructions leave [0.5, 1], where a second sigmoid kept them."""
    x = mnist_small[0][:256].reshape(-1, 28, 28, 1)
    encoder, decoder = keras_io_vae_networks()
    vae = models.VAE(encoder=encoder, decoder=decoder, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = vae.fit(x, epochs=2, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < history[0] - 50
    assert vae.reconstruct(x[:32]).min() < 0.1


@pytest.mark.parametrize("form", ["concat", "pair", "keras.io triple"])
def test_a_vae_encoder_may_return_any_of_the_three_forms(form):
    inputs = keras.Input((6,))
    stats = layers.Dense(4, name="stats")(inputs)
    mean, log_var = stats[:, :2], stats[:, 2:]
    outputs = {"concat": stats, "pair": [mean, log_var], "keras.io triple": [mean, log_var, mean]}
    encoder = keras.Model(inputs, outputs[form])
    decoder = keras.Sequential([keras.Input((2,)), layers.Dense(6)])
    vae = models.VAE(encoder=encoder, decoder=decoder, likelihood="gaussian")
    x = np.random.default_rng(0).random((3, 6)).astype("float32")
    got_mean, got_log_var = vae.encode_distribution(x)
    want = encoder.get_layer("stats")(x).numpy()
    np.testing.assert_allclose(got_mean, want[:, :2], rtol=1e-6)
    np.testing.assert_allclose(got_log_var, want[:, 2:], rtol=1e-6)
    assert vae.latent_dim == 2


def test_a_vae_encoder_of_the_wrong_form_is_refused_at_construction():
    decoder = keras.Sequential([keras.Input((2,)), layers.Dense(6)])
    inputs = keras.Input((6,))
    odd = keras.Model(inputs, layers.Dense(3)(inputs))
    with pytest.raises(ValueError, match="z_mean and z_log_var, concatenated .*width 3"):
        models.VAE(encoder=odd, decoder=decoder)
    h = layers.Dense(2)(inputs)
    four = keras.Model(inputs, [h, h, h, h])
    with pytest.raises(ValueError, match="got a list of 4 outputs"):
        models.VAE(encoder=four, decoder=decoder)


@pytest.mark.parametrize("activation", ["tanh", "softmax", "relu"])
def test_a_bernoulli_decoder_with_another_bounded_output_is_refused_naming_it(activation):
    encoder, decoder = dense_pair(activation=activation, name="last_dense")
    with pytest.raises(ValueError, match=f"'last_dense' has activation '{activation}'"):
        models.VAE(encoder=encoder, decoder=decoder)
    # The Gaussian likelihood takes the decoder's output as the mean, as it is.
    models.VAE(encoder=encoder, decoder=decoder, likelihood="gaussian")


def test_an_activation_behind_a_reshape_or_activation_layer_is_found():
    encoder = keras.Sequential([keras.Input((12,)), layers.Dense(4)])
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            layers.Dense(12),
            layers.Activation("tanh", name="squash"),
            layers.Reshape((3, 4)),
            layers.Reshape((12,)),
        ]
    )
    with pytest.raises(ValueError, match="'squash' has activation 'tanh'"):
        models.VAE(encoder=encoder, decoder=decoder)


def test_cross_entropy_on_an_unbounded_user_decoder_is_refused():
    encoder, decoder = dense_pair(4, 4, activation="linear", name="linear_out")
    with pytest.raises(ValueError, match="'bce' needs .*'linear_out' has activation 'linear'"):
        models.Autoencoder(encoder=encoder, decoder=decoder, reconstruction_loss="bce")
    encoder, decoder = dense_pair(4, 4, activation="sigmoid")
    models.Autoencoder(encoder=encoder, decoder=decoder, reconstruction_loss="bce")


def test_a_latent_dim_the_user_encoder_does_not_make_is_refused():
    encoder, decoder = dense_pair(4, 4)
    with pytest.raises(ValueError, match="latent_dim=3 was given, but the encoder's code has 4"):
        models.Autoencoder(encoder=encoder, decoder=decoder, latent_dim=3)


def test_a_user_network_model_round_trips_without_warnings(tmp_path):
    encoder, decoder = dense_pair(4, 4, activation="sigmoid")
    model = models.Autoencoder(encoder=encoder, decoder=decoder, reconstruction_loss="bce")
    x = np.random.default_rng(0).random((5, 12)).astype("float32")
    model.save(tmp_path / "m.keras")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.reconstruct(x), model.reconstruct(x), atol=1e-6)


# --------------------------------------------------------- 2. Keras's own knobs
@pytest.fixture
def small():
    x = np.random.default_rng(0).random((96, 12)).astype("float32")
    model = models.Autoencoder(input_shape=(12,), latent_dim=3, seed=0)
    return model, x


def test_compile_metrics_report_keras_metrics_of_the_reconstruction(small):
    model, x = small
    model.compile(
        optimizer="adam", metrics=["mse", "binary_crossentropy", keras.metrics.MeanAbsoluteError()]
    )
    history = model.fit(x, epochs=2, batch_size=32, validation_data=(x,), verbose=0).history
    for name in ("mse", "binary_crossentropy", "mean_absolute_error"):
        assert len(history[name]) == len(history["val_" + name]) == 2
    result = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    recon = model.reconstruct(x)
    assert result["mse"] == pytest.approx(float(((recon - x) ** 2).mean()), rel=1e-4)
    assert result["mean_absolute_error"] == pytest.approx(float(abs(recon - x).mean()), rel=1e-4)
    bce = keras.losses.binary_crossentropy(x, recon).numpy().mean()
    assert result["binary_crossentropy"] == pytest.approx(float(bce), rel=1e-4)
    # Per element, like Keras: the summed reconstruction_loss is 12 times larger.
    assert result["reconstruction_loss"] == pytest.approx(12 * result["mse"], rel=1e-4)
    # The list form keeps the loss terms first, then the metrics.
    values = model.evaluate(x, batch_size=32, verbose=0)
    assert values[1] == pytest.approx(result["reconstruction_loss"], rel=1e-6)
    assert values[2] == pytest.approx(result["mse"], rel=1e-6)


def test_compiled_metrics_survive_save_and_load(small, tmp_path):
    model, x = small
    model.compile(optimizer="adam", metrics=["mae"])
    model.fit(x, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert "mae" in loaded.fit(x, epochs=1, verbose=0).history


@pytest.mark.parametrize(
    "metrics, match",
    [
        ("mse", "metrics must be a list"),
        (["no_such_metric"], "'no_such_metric' is not a Keras metric"),
        (["mse", "mse"], r"names of their own.*\['mse'\]"),
        ([keras.metrics.Mean(name="kl_loss")], None),
        ([keras.metrics.Mean(name="reconstruction_loss")], "reconstruction_loss"),
    ],
)
def test_bad_metrics_are_refused(small, metrics, match):
    model, _ = small
    if match is None:  # a name that is a loss term of another variant only
        model.compile(optimizer="adam", metrics=metrics)
        return
    with pytest.raises(ValueError, match=match):
        model.compile(optimizer="adam", metrics=metrics)


def test_weighted_metrics_are_still_refused(small):
    model, _ = small
    with pytest.raises(ValueError, match="compile\\(\\) takes no weighted_metrics"):
        model.compile(optimizer="adam", weighted_metrics=["mse"])


@pytest.mark.parametrize("name", ["mae", "huber"])
def test_mae_and_huber_reconstruction_losses(name, small):
    _, x = small
    model = models.Autoencoder(
        input_shape=(12,), latent_dim=3, output_activation="linear", reconstruction_loss=name
    )
    terms = model.compute_losses(ops.convert_to_tensor(x))
    d = np.abs(model.reconstruct(x) - x)
    per_element = d if name == "mae" else np.where(d <= 1.0, 0.5 * d**2, d - 0.5)
    assert float(terms["reconstruction_loss"]) == pytest.approx(per_element.sum(1).mean(), rel=1e-4)
    model.compile(optimizer="adam")
    history = model.fit(x, epochs=5, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < history[0]


def test_huber_is_squared_below_delta_and_linear_above():
    y = np.zeros((1, 3), "float32")
    pred = np.array([[0.5, 2.0, -3.0]], "float32")
    assert float(losses.huber_error(y, pred)[0]) == pytest.approx(0.125 + 1.5 + 2.5)


def test_callbacks_need_no_mode_for_any_loss_term(tmp_path):
    x = np.random.default_rng(0).random((64, 12)).astype("float32")
    vae = models.VAE(input_shape=(12,), latent_dim=2, hidden_units=(8,), seed=0)
    vae.compile(optimizer="adam", metrics=["mse"], jit_compile=False)
    monitors = ("val_reconstruction_loss", "val_kl_loss", "kl_loss", "mse")
    stops = [keras.callbacks.EarlyStopping(monitor=m, patience=5) for m in monitors]
    checkpoint = keras.callbacks.ModelCheckpoint(
        tmp_path / "best.keras", monitor="val_kl_loss", save_best_only=True
    )
    history = vae.fit(
        x, epochs=3, validation_data=(x[:16],), callbacks=[*stops, checkpoint], verbose=0
    ).history
    for monitor, stop in zip(monitors, stops, strict=True):
        assert stop.best == pytest.approx(min(history[monitor])), monitor
    assert (tmp_path / "best.keras").is_file()


def test_encode_distribution_returns_numpy_for_numpy():
    vae = models.VAE(input_shape=(12,), latent_dim=2, hidden_units=(8,))
    x = np.random.default_rng(0).random((5, 12)).astype("float32")
    mean, log_var = vae.encode_distribution(x)
    assert isinstance(mean, np.ndarray) and isinstance(log_var, np.ndarray)
    assert mean.shape == log_var.shape == (5, 2)
    np.testing.assert_allclose(mean, vae.encode(x), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(filters=(32, 64)), r"apply to network='conv'.*filters=\(32, 64\)"),
        (dict(strides=(2,)), r"apply to network='conv'.*strides=\(2,\)"),
        (dict(code_layer="conv"), r"apply to network='conv'.*code_layer='conv'"),
    ],
)
def test_an_argument_the_network_ignores_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.Autoencoder(input_shape=(28, 28, 1), latent_dim=16, **kwargs)


def test_a_user_encoder_takes_no_network_arguments():
    encoder, decoder = dense_pair(4, 4)
    with pytest.raises(ValueError, match="used as they are.*hidden_units=\\(64,\\)"):
        models.Autoencoder(encoder=encoder, decoder=decoder, hidden_units=(64,))


def test_a_saved_mlp_config_still_loads():
    """A saved config lists every argument, filters included: not an error."""
    model = models.Autoencoder(input_shape=(12,), latent_dim=3)
    config = model.get_config()
    assert config["filters"] == (32, 64)
    clone = models.Autoencoder.from_config(config)
    assert clone.count_params() == model.count_params()


def test_fit_on_a_dataset_does_not_warn_of_a_shuffle_nobody_passed():
    """Keras's fit defaults to shuffle=True and then warns, on every fit with a
    tf.data.Dataset, that "shuffle=True was passed"; keras_ae's fit leaves the
    default out for datasets. A shuffle the user does pass still reaches
    Keras (and its warning with it)."""
    x = np.random.default_rng(0).random((32, 16)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(8)
    model = models.Autoencoder(input_shape=(16,), latent_dim=2, hidden_units=(8,))
    model.compile(optimizer="adam")

    def shuffle_warnings(**kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(ds, epochs=1, verbose=0, **kwargs)
        return [w for w in caught if "shuffle" in str(w.message)]

    assert shuffle_warnings() == []
    assert shuffle_warnings(shuffle=True)
