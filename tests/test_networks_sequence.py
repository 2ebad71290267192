"""Sequence networks (`network="conv1d"` and `"lstm"`): shapes of any length,
training on real ECG beats, saving, and the arguments they refuse."""

import keras
import numpy as np
import pytest

from keras_ae import models
from keras_ae.networks import build_decoder, build_encoder

SEQUENCE_NETWORKS = ("conv1d", "lstm")


@pytest.mark.parametrize("network", SEQUENCE_NETWORKS)
@pytest.mark.parametrize("shape", [(140,), (45, 3), (7, 2)])
def test_networks_map_any_length_back_to_itself(network, shape):
    encoder = build_encoder(
        network,
        shape,
        6,
        hidden_units=(8,) if network == "lstm" else (),
        filters=(8, 4) if network == "conv1d" else (),
    )
    decoder = build_decoder(
        network,
        6,
        shape,
        hidden_units=(8,) if network == "lstm" else (),
        filters=(8, 4) if network == "conv1d" else (),
    )
    x = np.random.default_rng(0).random((3,) + shape).astype("float32")
    code = encoder(x)
    assert tuple(code.shape) == (3, 6)
    assert tuple(decoder(code).shape) == (3,) + shape


def test_conv1d_spatial_code_is_channels_times_steps():
    model = models.Autoencoder(
        input_shape=(140,), latent_dim=70, network="conv1d", code_layer="conv", filters=(16, 8)
    )
    assert model.encoder.output_shape == (None, 70)  # 2 channels x 35 steps
    with pytest.raises(ValueError, match="multiple of 35"):
        models.Autoencoder(
            input_shape=(140,), latent_dim=8, network="conv1d", code_layer="conv", filters=(16, 8)
        )


@pytest.fixture(scope="module")
def ecg_normal(shared_data):
    from keras_ae import datasets

    (x_train, y_train), _ = datasets.load_ecg5000(shared_data, split="tutorial")
    lo, hi = x_train.min(), x_train.max()
    return ((x_train[y_train == 1][:256] - lo) / (hi - lo)).astype("float32")


@pytest.mark.parametrize("network", SEQUENCE_NETWORKS)
def test_sequence_model_learns_real_ecg_beats_and_reloads(network, ecg_normal, tmp_path):
    x = ecg_normal[..., None]  # (n, 140, 1): one feature per step
    model = models.Autoencoder(
        input_shape=(140, 1),
        latent_dim=8,
        network=network,
        hidden_units=(16,) if network == "lstm" else (),
        filters=(8, 8) if network == "conv1d" else None,
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = model.evaluate(x, verbose=0, return_dict=True)["loss"]
    model.fit(x, epochs=4, batch_size=32, verbose=0)
    after = model.evaluate(x, verbose=0, return_dict=True)["loss"]
    assert after < 0.7 * before
    path = tmp_path / "seq.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.reconstruct(x[:8]), model.reconstruct(x[:8]), atol=1e-6)


def test_lstm_cells_default_to_tanh_and_refuse_filters():
    model = models.Autoencoder(input_shape=(20, 2), latent_dim=4, network="lstm")
    assert model.activation == "tanh"
    assert model.encoder.get_layer("lstm_0").activation is keras.activations.tanh
    with pytest.raises(ValueError, match=r"apply to network='conv' or 'conv1d'.*filters=\(8,\)"):
        models.Autoencoder(input_shape=(20, 2), latent_dim=4, network="lstm", filters=(8,))


@pytest.mark.parametrize("network", SEQUENCE_NETWORKS)
def test_sequence_networks_refuse_images(network):
    with pytest.raises(ValueError, match=r"samples of shape \(steps,\) or \(steps, features\)"):
        models.Autoencoder(input_shape=(28, 28, 1), latent_dim=4, network=network)


@pytest.mark.parametrize("variant", ["VAE", "DenoisingAutoencoder", "SparseAutoencoder"])
def test_variants_train_on_sequences(variant, ecg_normal):
    cls = models.VARIANTS[variant]
    model = cls(input_shape=(140,), latent_dim=4, network="conv1d", filters=(8,), seed=0)
    model.compile(optimizer="adam")
    history = model.fit(ecg_normal, epochs=2, batch_size=64, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert model.reconstruct(ecg_normal[:3]).shape == (3, 140)
