"""Colour data in the zoo: CIFAR-10 (JPEG) through the zoo's data path and the
metric kinds that colour cards use."""

import numpy as np
import pytest

from keras_ae import datasets, plotting
from keras_ae.models import VAE, Autoencoder
from keras_ae.zoo import protocols as zp


def test_measure_passes_the_test_labels_to_a_kind_that_takes_them(shared_data, monkeypatch):
    seen = {}

    def per_class_count(model, x, preprocessing, labels, digit=0):
        seen["n"] = len(x)
        return float(np.sum(labels == digit))

    monkeypatch.setitem(zp.KINDS, "per_class_count", per_class_count)
    model = Autoencoder(input_shape=(784,), latent_dim=2, seed=0)
    spec = {"kind": "per_class_count", "params": {"digit": 3}}
    value = zp.measure(model, spec, {"layout": "flat"}, shared_data)
    _, (_, y_test) = datasets.load_mnist(shared_data)
    assert value == np.sum(y_test == 3) and seen["n"] == len(y_test) == 10000


@pytest.fixture(scope="module")
def cifar(shared_data):
    if not (shared_data / "cifar10_jpeg").is_dir():
        pytest.skip("CIFAR-10 (JPEG) tarball not found")
    return zp.load_split("cifar10_jpeg", "test", shared_data)


def test_cifar_reaches_the_zoo_as_colour_arrays_with_labels(cifar, shared_data):
    x, y = cifar
    assert x.shape == (10000, 32, 32, 3) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [1000] * 10
    assert zp.load_split("cifar10_jpeg", "train", shared_data)[0].shape == (50000, 32, 32, 3)
    image = zp.prepare(x[:5], {"layout": "image"})
    assert image.shape == (5, 32, 32, 3) and np.allclose(image * 255, x[:5])
    assert zp.prepare(x[:5], {"layout": "flat"}).shape == (5, 3072)


def test_an_unknown_zoo_dataset_is_named():
    with pytest.raises(ValueError, match="zoo dataset must be one of .*cifar10_jpeg.*'svhn'"):
        zp.load_split("svhn")


def test_gaussian_noisy_is_a_fixed_clipped_8_bit_draw():
    x = np.full((200, 8, 8, 3), 0.5, np.float32)
    a, b = zp.gaussian_noisy(x, 0.1, seed=3), zp.gaussian_noisy(x, 0.1, seed=3)
    assert np.array_equal(a, b) and not np.array_equal(a, zp.gaussian_noisy(x, 0.1, seed=4))
    assert np.allclose(a * 255, np.round(a * 255), atol=1e-4)  # 8-bit levels
    assert abs(float(np.std(a - x)) - 0.1) < 0.005
    edge = zp.gaussian_noisy(np.ones_like(x), 0.2, seed=0)
    assert edge.max() == 1.0 and edge.min() >= 0.0


def _vae(std):
    return VAE(
        input_shape=(8, 8, 3),
        latent_dim=2,
        hidden_units=(16,),
        likelihood="gaussian",
        observation_std=std,
        seed=0,
    )


def test_bits_per_dim_matches_the_continuous_elbo_plus_the_bin_width():
    # Away from the end bins a discretized Gaussian with std >> 1/255 gives each
    # bin ~ density x 1/255, so bits/dim ~ (-ELBO + D ln 255) / (D ln 2).
    model = _vae(0.1)
    x = np.random.default_rng(0).integers(60, 196, (64, 8, 8, 3)) / np.float32(255)
    x = x.astype(np.float32)
    bpd = zp.bits_per_dim(model, x, {"layout": "image"}, seed=5)
    zp.reseed(model, 5)
    terms = model.compute_losses(x)
    dims = 8 * 8 * 3
    continuous = float(terms["reconstruction_loss"] + terms["kl_loss"]) + dims * np.log(255)
    assert bpd == pytest.approx(continuous / (dims * np.log(2)), rel=1e-4)
    assert 0 < bpd < 12


def test_bits_per_dim_of_a_symmetric_model_reads_its_inputs_and_outputs_in_its_scale():
    # In [-1, 1] a pixel bin is 2/255 wide: bits/dim ~ (-ELBO + D ln 127.5) / (D ln 2),
    # the ELBO of the model on the symmetric values it trained on. (The model was
    # fed [0, 1] values and its [-1, 1] mean read as pixel units.)
    model = _vae(0.2)
    x = np.random.default_rng(0).integers(60, 196, (64, 8, 8, 3)) / np.float32(255)
    x = (x * 2.0 - 1.0).astype(np.float32)
    bpd = zp.bits_per_dim(model, x, {"layout": "image", "scale": "symmetric"}, seed=5)
    zp.reseed(model, 5)
    terms = model.compute_losses(x)
    dims = 8 * 8 * 3
    continuous = float(terms["reconstruction_loss"] + terms["kl_loss"]) + dims * np.log(127.5)
    assert bpd == pytest.approx(continuous / (dims * np.log(2)), rel=1e-4)


def test_bits_per_dim_refuses_a_bernoulli_vae():
    model = VAE(input_shape=(12,), latent_dim=2, hidden_units=(8,), seed=0)
    with pytest.raises(ValueError, match="likelihood='gaussian', got VAE with .*'bernoulli'"):
        zp.bits_per_dim(model, np.zeros((2, 12), np.float32), {})


def test_pca_reference_agrees_with_an_svd_and_is_exact_with_every_component(monkeypatch):
    rng = np.random.default_rng(0)
    split = {"train": rng.integers(0, 256, (12001, 4, 4, 3), dtype=np.uint8)}
    split["test"] = rng.integers(0, 256, (50, 4, 4, 3), dtype=np.uint8)
    monkeypatch.setattr(zp, "load_split", lambda d, s, data_dir=None: (split[s], None))
    monkeypatch.setattr(zp, "_DATA_CACHE", {})
    full, _ = zp.pca_reconstruction("toy", 48)
    assert np.allclose(full, split["test"] / 255.0, atol=1e-10)
    train = split["train"].reshape(-1, 48) / 255.0
    mean = train.mean(axis=0)
    basis = np.linalg.svd(train - mean, full_matrices=False)[2][:5].T
    test = split["test"].reshape(-1, 48) / 255.0
    expected = np.mean(np.square((test - mean) @ basis @ basis.T + mean - test))
    assert zp.pca_mse(None, None, {}, components=5, dataset="toy") == pytest.approx(expected)
    psnr = zp.pca_quality(None, None, {}, components=5, statistic="psnr", dataset="toy")
    assert psnr > 10 * np.log10(1 / expected)  # mean of per-image PSNRs >= PSNR of the mean


def test_colour_images_tile_in_colour():
    x = np.random.default_rng(0).random((5, 4, 6, 3)).astype(np.float32)
    grid = plotting.image_grid(x, cols=3, pad=1)
    assert grid.shape == (2 * 4 + 1, 3 * 6 + 2, 3)
    assert np.array_equal(grid[5:9, 7:13], x[4])  # second row, second tile
