"""Model behaviour beyond the shared per-variant checks (those are in
tests/test_registry.py): replicas that get no sample or an uneven share, noise
on replicas, a spatial code, and the Conv2D layer."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import CASES, one_step

from keras_ae import models


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
        logs[strategy] = (
            history["loss"][0],
            model.evaluate(x, batch_size=64, verbose=0, return_dict=True)["loss"],
        )
    one, two = logs.values()
    assert np.isfinite(two).all(), two
    np.testing.assert_allclose(two, one, rtol=1e-5)


def test_replicas_draw_different_training_noise(strategies):
    with strategies[1].scope():
        dae = models.DenoisingAutoencoder(input_shape=(64,), latent_dim=2, noise="dropout")
        vae = models.VAE(input_shape=(64,), latent_dim=8)
    for draw in (lambda: dae.corrupt(tf.ones((4, 64))), lambda: vae.draw_noise((4, 8))):
        draw = tf.function(draw)
        now, then = (
            [t.numpy() for t in strategies[1].experimental_local_results(strategies[1].run(draw))]
            for _ in range(2)
        )
        assert not np.array_equal(now[0], now[1]), "both replicas drew the same noise"
        # nor is one replica's stream the other's, a draw later
        assert not np.array_equal(now[1], then[0]), "replica 1 drew replica 0's next noise"


def test_vae_with_noise_on_takes_a_step_of_the_same_size_on_two_replicas(mnist_small, strategies):
    cls, kwargs = CASES["VAE"]
    base = cls(**kwargs)
    x = mnist_small[0][:128]
    weights = base.get_weights()
    one = one_step(cls, kwargs, strategies[0], weights, x, None)
    two = one_step(cls, kwargs, strategies[1], weights, x, None)

    def size(ws):
        return np.sqrt(sum(float(np.sum((a - w) ** 2)) for a, w in zip(ws, weights, strict=True)))

    ratio = size(two) / size(one)
    assert 0.8 < ratio < 1.25, f"2-replica step is {ratio:.2f}x the 1-replica step"


def test_a_spatial_code_sees_only_its_neighbourhood():
    """code_layer="conv": each code cell depends on a small patch of the image,
    unlike a dense code, where every code unit sees every pixel."""
    keras.utils.set_random_seed(0)
    spatial = models.ConvAutoencoder(
        input_shape=(28, 28, 1),
        latent_dim=14 * 14 * 2,
        filters=(8, 8),
        strides=(1, 2),
        code_layer="conv",
    )
    dense = models.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16, filters=(8, 8))
    assert tuple(spatial.encoder.get_layer("code").output.shape) == (None, 14, 14, 2)
    x = np.random.default_rng(0).random((1, 28, 28, 1)).astype("float32")
    poked = x.copy()
    poked[0, 27, 27, 0] += 1.0  # bottom-right pixel
    changed = np.abs(spatial.encode(poked) - spatial.encode(x)).reshape(14, 14, 2).max(-1) > 0
    assert changed[13, 13] and changed.sum() <= 4  # only cells next to that corner
    assert (np.abs(dense.encode(poked) - dense.encode(x)) > 0).all()


@pytest.mark.parametrize(
    "cin, cout, kernel, strides, fast",
    [
        (32, 1, 3, 1, True),  # a decoder's output layer
        (8, 3, 5, 1, True),
        (4, 2, 1, 1, True),  # a 1x1 spatial code layer
        (3, 8, 3, 1, False),  # more channels out than in: Keras's own path is faster
        (8, 4, 3, 2, False),  # strided
    ],
)
def test_conv2d_matches_keras_conv2d_with_its_gradients(cin, cout, kernel, strides, fast, tmp_path):
    from keras_ae.networks.layers import Conv2D

    x = tf.constant(np.random.default_rng(0).normal(size=(4, 9, 7, cin)).astype("float32"))
    ours = Conv2D(cout, kernel, strides=strides, padding="same", activation="sigmoid")
    ref = keras.layers.Conv2D(cout, kernel, strides=strides, padding="same", activation="sigmoid")
    ours.build(x.shape)
    ref.build(x.shape)
    ours.set_weights(
        [
            np.random.default_rng(1).normal(size=w.shape).astype("float32")
            for w in ours.get_weights()
        ]
    )
    ref.set_weights(ours.get_weights())
    assert ours._transposed_form(x, ours.kernel) is fast
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y_ours, y_ref = ours(x), ref(x)
        loss_ours, loss_ref = tf.reduce_sum(y_ours**2), tf.reduce_sum(y_ref**2)
    np.testing.assert_allclose(y_ours, y_ref, atol=1e-5)
    for g_ours, g_ref in zip(
        tape.gradient(loss_ours, [x, *ours.trainable_variables]),
        tape.gradient(loss_ref, [x, *ref.trainable_variables]),
        strict=True,
    ):
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
