"""Every variant goes through the same checks: config, fit on real MNIST,
gradients, `.keras` round trip, and one step on 1 vs 2 replicas."""

import json

import numpy as np
import keras
import pytest
import tensorflow as tf

from keras_ae import models


class _NoNoiseVAE(models.VAE):
    """A VAE whose reparameterisation noise is switched off (eps = 0)."""

    def draw_noise(self, shape):
        return keras.ops.zeros(shape)


# name -> (factory(input_shape) for the shared checks, sample shape, noise-free factory)
CASES = {
    "Autoencoder": lambda: models.Autoencoder(input_shape=(784,), latent_dim=16),
    "TiedAutoencoder": lambda: models.TiedAutoencoder(input_shape=(784,), latent_dim=16),
    "DeepAutoencoder": lambda: models.DeepAutoencoder(
        input_shape=(784,), latent_dim=16, hidden_units=(64, 32)),
    "ConvAutoencoder": lambda: models.ConvAutoencoder(
        input_shape=(28, 28, 1), latent_dim=16, filters=(8, 16)),
    # Fully convolutional: a stride-1 layer, then a 14x14x2 spatial code.
    "ConvAutoencoder_spatial": lambda: models.ConvAutoencoder(
        input_shape=(28, 28, 1), latent_dim=14 * 14 * 2, filters=(8, 8), strides=(1, 2),
        code_layer="conv"),
    "SparseAutoencoder_l1": lambda: models.SparseAutoencoder(
        input_shape=(784,), latent_dim=64, mode="l1"),
    "SparseAutoencoder_kl": lambda: models.SparseAutoencoder(
        input_shape=(784,), latent_dim=64, mode="kl", rho=0.1),
    "DenoisingAutoencoder": lambda: models.DenoisingAutoencoder(
        input_shape=(784,), latent_dim=16, noise="dropout", noise_params={"rate": 0.5}),
    "ContractiveAutoencoder": lambda: models.ContractiveAutoencoder(
        input_shape=(784,), latent_dim=16, contractive_weight=1.0),
    "VAE": lambda: models.VAE(input_shape=(784,), latent_dim=8, hidden_units=(64,)),
    "SemanticHashingAE": lambda: models.SemanticHashingAE(
        input_shape=(784,), latent_dim=16, hidden_units=(64,)),
}
NAMES = list(CASES)


def _data(model, x):
    return x.reshape((-1,) + model.input_shape_)


def test_every_variant_is_covered():
    covered = {type(CASES[name]()).__name__ for name in NAMES}
    assert covered == set(models.VARIANTS)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    model = CASES[name]()
    config = model.get_config()
    json.dumps(config)  # plain JSON, nothing pickled
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()


@pytest.mark.parametrize("name", NAMES)
def test_fit_on_real_mnist_lowers_the_loss(name, mnist_small):
    keras.utils.set_random_seed(0)
    model = CASES[name]()
    x_train, x_test = (_data(model, x) for x in mnist_small)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = model.evaluate(x_test, verbose=0, return_dict=True)
    history = model.fit(x_train, epochs=3, batch_size=64, verbose=0, validation_data=(x_test,))
    after = model.evaluate(x_test, verbose=0, return_dict=True)
    assert set(history.history) == set(model.loss_names) | {f"val_{n}" for n in model.loss_names}
    assert set(after) == set(model.loss_names)
    assert all(np.isfinite(v) for v in after.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert after["reconstruction_loss"] < before["reconstruction_loss"]


@pytest.mark.parametrize("name", NAMES)
def test_every_trainable_variable_gets_a_gradient(name, mnist_small):
    model = CASES[name]()
    x = tf.constant(_data(model, mnist_small[0][:64]))
    with tf.GradientTape() as tape:
        loss = model.compute_losses(x, training=True)["loss"]
    grads = tape.gradient(loss, model.trainable_variables)
    assert model.trainable_variables
    for var, grad in zip(model.trainable_variables, grads, strict=True):
        assert grad is not None, f"{var.path} gets no gradient"
        assert np.any(np.asarray(grad) != 0), f"{var.path} gets an all-zero gradient"


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip_gives_equal_outputs(name, mnist_small, tmp_path):
    model = CASES[name]()
    model.compile(optimizer="adam")
    x = _data(model, mnist_small[1][:64])
    model.fit(x, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))


def _noise_free(name):
    """The variant with its randomness switched off, and how to feed it."""
    if name == "VAE":
        return lambda: _NoNoiseVAE(input_shape=(784,), latent_dim=8, hidden_units=(64,)), False
    if name == "SemanticHashingAE":
        return lambda: models.SemanticHashingAE(
            input_shape=(784,), latent_dim=16, hidden_units=(64,), noise_std=0.0), False
    if name == "DenoisingAutoencoder":  # noise supplied: (noisy, clean) pairs
        return CASES[name], True
    return CASES[name], False


def _one_step(factory, strategy, weights, x, y):
    with strategy.scope():
        model = factory()
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01))
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


@pytest.fixture(scope="module")
def strategies():
    """One strategy of each kind for the whole module: TensorFlow's collective
    keys clash between several MirroredStrategy objects in one process."""
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    assert len(devices) == 2
    return tf.distribute.OneDeviceStrategy(devices[0]), tf.distribute.MirroredStrategy(devices)


@pytest.mark.parametrize("name", NAMES)
def test_two_replicas_take_the_same_step_as_one(name, mnist_small, strategies):
    factory, pairs = _noise_free(name)
    base = factory()
    x = _data(base, mnist_small[0][:64])
    y = None
    if pairs:
        y = x
        x = x * (np.random.default_rng(0).random(x.shape) > 0.5)
    weights = base.get_weights()
    one = _one_step(factory, strategies[0], weights, x, y)
    two = _one_step(factory, strategies[1], weights, x, y)
    moved = max(float(np.abs(a - w).max()) for a, w in zip(one, weights, strict=True))
    assert moved > 1e-4, "the step did not change the weights"
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


def test_a_replica_without_samples_does_not_turn_the_reported_loss_to_nan(strategies):
    # 65 = 32 + 32, then 1 + 0: the second replica gets no sample of the last batch.
    x = np.random.default_rng(0).random((65, 20)).astype("float32")
    logs = {}
    for strategy in strategies:
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = models.Autoencoder(input_shape=(20,), latent_dim=4, hidden_units=(8,))
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))
        history = model.fit(x, batch_size=64, shuffle=False, verbose=0).history
        logs[strategy] = (history["loss"][0],
                          model.evaluate(x, batch_size=64, verbose=0, return_dict=True)["loss"])
    one, two = logs.values()
    assert np.isfinite(two).all(), two
    np.testing.assert_allclose(two, one, rtol=1e-5)


def test_replicas_draw_different_training_noise(strategies):
    with strategies[1].scope():
        dae = models.DenoisingAutoencoder(input_shape=(64,), latent_dim=2, noise="dropout")
        vae = models.VAE(input_shape=(64,), latent_dim=8)
    for draw in (lambda: dae.corrupt(tf.ones((4, 64))), lambda: vae.draw_noise((4, 8))):
        draw = tf.function(draw)
        now, then = ([t.numpy() for t in strategies[1].experimental_local_results(
            strategies[1].run(draw))] for _ in range(2))
        assert not np.array_equal(now[0], now[1]), "both replicas drew the same noise"
        # nor is one replica's stream the other's, a draw later
        assert not np.array_equal(now[1], then[0]), "replica 1 drew replica 0's next noise"


def test_vae_with_noise_on_takes_a_step_of_the_same_size_on_two_replicas(mnist_small, strategies):
    factory = CASES["VAE"]
    base = factory()
    x = mnist_small[0][:128]
    weights = base.get_weights()
    one = _one_step(factory, strategies[0], weights, x, None)
    two = _one_step(factory, strategies[1], weights, x, None)

    def size(ws):
        return np.sqrt(sum(float(np.sum((a - w) ** 2)) for a, w in zip(ws, weights, strict=True)))

    ratio = size(two) / size(one)
    assert 0.8 < ratio < 1.25, f"2-replica step is {ratio:.2f}x the 1-replica step"


def test_a_spatial_code_sees_only_its_neighbourhood():
    """code_layer="conv": each code cell depends on a small patch of the image,
    unlike a dense code, where every code unit sees every pixel."""
    keras.utils.set_random_seed(0)
    spatial = models.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=14 * 14 * 2,
                                     filters=(8, 8), strides=(1, 2), code_layer="conv")
    dense = models.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16, filters=(8, 8))
    assert tuple(spatial.encoder.get_layer("code").output.shape) == (None, 14, 14, 2)
    x = np.random.default_rng(0).random((1, 28, 28, 1)).astype("float32")
    poked = x.copy()
    poked[0, 27, 27, 0] += 1.0  # bottom-right pixel
    changed = np.abs(spatial.encode(poked) - spatial.encode(x)).reshape(14, 14, 2).max(-1) > 0
    assert changed[13, 13] and changed.sum() <= 4  # only cells next to that corner
    assert (np.abs(dense.encode(poked) - dense.encode(x)) > 0).all()


@pytest.mark.parametrize("cin, cout, kernel, strides, fast", [
    (32, 1, 3, 1, True),    # a decoder's output layer
    (8, 3, 5, 1, True),
    (4, 2, 1, 1, True),     # a 1x1 spatial code layer
    (3, 8, 3, 1, False),    # more channels out than in: Keras's own path is faster
    (8, 4, 3, 2, False),    # strided
])
def test_conv2d_matches_keras_conv2d_with_its_gradients(cin, cout, kernel, strides, fast,
                                                        tmp_path):
    from keras_ae.networks.layers import Conv2D

    x = tf.constant(np.random.default_rng(0).normal(size=(4, 9, 7, cin)).astype("float32"))
    ours = Conv2D(cout, kernel, strides=strides, padding="same", activation="sigmoid")
    ref = keras.layers.Conv2D(cout, kernel, strides=strides, padding="same",
                              activation="sigmoid")
    ours.build(x.shape)
    ref.build(x.shape)
    ours.set_weights([np.random.default_rng(1).normal(size=w.shape).astype("float32")
                      for w in ours.get_weights()])
    ref.set_weights(ours.get_weights())
    assert ours._transposed_form(x, ours.kernel) is fast
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y_ours, y_ref = ours(x), ref(x)
        loss_ours, loss_ref = tf.reduce_sum(y_ours**2), tf.reduce_sum(y_ref**2)
    np.testing.assert_allclose(y_ours, y_ref, atol=1e-5)
    for g_ours, g_ref in zip(tape.gradient(loss_ours, [x, *ours.trainable_variables]),
                             tape.gradient(loss_ref, [x, *ref.trainable_variables]), strict=True):
        np.testing.assert_allclose(g_ours, g_ref, rtol=1e-4, atol=1e-4)
    # a user's own model holding it saves and loads with its weights
    net = keras.Sequential([keras.Input((9, 7, cin)), ours])
    net.save(tmp_path / "net.keras")
    loaded = keras.models.load_model(tmp_path / "net.keras", safe_mode=True)
    assert type(loaded.layers[0]) is Conv2D
    np.testing.assert_allclose(loaded(x), y_ours, atol=1e-6)


@pytest.mark.parametrize("n, batch_size", [(65, 64), (121, 64), (57, 64), (128, 33)])
def test_an_uneven_batch_takes_the_same_steps_on_two_replicas(n, batch_size, strategies):
    """65 = 64, then 1 + 0 on two replicas; 121 = 64, then 29 + 28. Each
    replica's mean used to count 1/2 whatever its share: the single sample
    took half its step. An uneven *first* batch (57 = 29 + 28, or any batch of
    33) failed inside Keras's symbolic build (keras-team/keras#19246)."""
    x = np.random.default_rng(0).random((n, 20)).astype("float32")
    weights = None
    trained, losses = [], []
    for strategy in strategies:
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = models.Autoencoder(input_shape=(20,), latent_dim=4, hidden_units=(8,))
            weights = weights or model.get_weights()
            model.set_weights(weights)
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5))
        model.fit(x, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
        trained.append(model.get_weights())
        losses.append(model.evaluate(x, batch_size=batch_size, verbose=0))
        assert model.predict(x, batch_size=batch_size, verbose=0).shape == x.shape
    moved = max(float(np.abs(a - w).max()) for a, w in zip(trained[0], weights, strict=True))
    assert moved > 1e-3, "training did not change the weights"
    for a, b in zip(*trained, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
