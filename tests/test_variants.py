"""What each variant promises beyond the shared checks."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ae import losses, models, tasks
from keras_ae.models.hashing import itq_rotation, pack_bits


def _principal_angles_deg(a, b):
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    cosines = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1.0, 1.0)
    return np.degrees(np.arccos(cosines))


def test_tied_linear_autoencoder_learns_the_pca_subspace(mnist):
    keras.utils.set_random_seed(0)
    x = mnist[0][0][:4000]
    d = 4
    model = models.TiedAutoencoder(input_shape=(784,), latent_dim=d)
    assert model.decoder.trainable_weights[0].shape == (784,)  # only a bias: W is shared
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, epochs=100, batch_size=500, verbose=0)
    centred = x - x.mean(axis=0)
    pcs = np.linalg.svd(centred, full_matrices=False)[2][:d].T  # (784, d)
    angles = _principal_angles_deg(np.asarray(model.kernel), pcs)
    assert angles.max() < 10.0, f"principal angles to PCA-{d}: {np.round(angles, 1)}"


def test_tied_decoder_uses_the_transposed_encoder_kernel():
    model = models.TiedAutoencoder(input_shape=(6,), latent_dim=3, output_activation="linear")
    z = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    bias = model.decoder.trainable_weights[0]
    bias.assign(np.arange(6, dtype="float32"))
    expected = z @ np.asarray(model.kernel).T + np.arange(6)
    np.testing.assert_allclose(model.decode(z), expected, rtol=1e-5, atol=1e-5)


def _batch_jacobian_norm(model, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = model.encode(x)
    jac = tape.batch_jacobian(h, x).numpy()
    return (jac.reshape(len(x), -1) ** 2).sum(axis=1)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "linear", "relu"])
def test_contractive_closed_form_equals_the_jacobian(activation):
    rng = np.random.default_rng(1)
    model = models.ContractiveAutoencoder(
        input_shape=(20,), latent_dim=7, latent_activation=activation
    )
    assert model._closed_form_layer() is not None
    x = rng.normal(size=(16, 20)).astype("float32")
    np.testing.assert_allclose(
        model.jacobian_norm(x), _batch_jacobian_norm(model, x), rtol=1e-4, atol=1e-6
    )


def test_contractive_falls_back_to_the_exact_jacobian_for_deep_encoders():
    rng = np.random.default_rng(2)
    model = models.ContractiveAutoencoder(input_shape=(12,), latent_dim=5, hidden_units=(9,))
    assert model._closed_form_layer() is None
    x = rng.normal(size=(8, 12)).astype("float32")
    np.testing.assert_allclose(
        model.jacobian_norm(x), _batch_jacobian_norm(model, x), rtol=1e-4, atol=1e-6
    )
    terms = model.compute_losses(tf.constant(x), training=True)
    np.testing.assert_allclose(
        terms["contractive_loss"],
        model.contractive_weight * _batch_jacobian_norm(model, x).mean(),
        rtol=1e-4,
    )


def test_contractive_penalty_shrinks_the_jacobian(mnist_small):
    x = mnist_small[0]
    norms = {}
    for weight in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        # A linear code keeps the Jacobian (= W) away from sigmoid saturation,
        # which on a short run shrinks it with or without the penalty.
        model = models.ContractiveAutoencoder(
            input_shape=(784,), latent_dim=16, latent_activation="linear", contractive_weight=weight
        )
        model.compile(optimizer="adam")
        model.fit(x, epochs=3, batch_size=64, verbose=0)
        norms[weight] = float(np.mean(model.jacobian_norm(mnist_small[1])))
    assert norms[1.0] < 0.5 * norms[0.0], norms


def test_kl_sparsity_matches_numpy():
    rng = np.random.default_rng(3)
    h = rng.uniform(0.01, 0.99, size=(32, 10)).astype("float32")
    rho = 0.05
    rho_hat = h.mean(axis=0)
    expected = np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat)))
    np.testing.assert_allclose(losses.kl_sparsity(h, rho), expected, rtol=1e-5)
    np.testing.assert_allclose(losses.l1_activity(h), np.abs(h).sum(axis=1), rtol=1e-6)
    for bad in (0.0, 1.0):  # log(0): NaN, not a penalty
        with pytest.raises(ValueError, match=r"rho must be a finite number > 0 and < 1"):
            losses.kl_sparsity(h, bad)


def test_gaussian_log_prob_is_computed_in_float32():
    z = np.zeros((1, 2), "float16")
    log_var = np.full((1, 2), -12.0, "float16")  # exp(12) overflows float16
    half = losses.gaussian_log_prob(z, z, log_var)
    full = losses.gaussian_log_prob(*(a.astype("float32") for a in (z, z, log_var)))
    np.testing.assert_allclose(half, full, rtol=1e-6)
    np.testing.assert_allclose(full, [-np.log(2 * np.pi) + 12.0], rtol=1e-6)


def test_tied_decoder_refuses_codes_with_extra_axes():
    from keras_ae.models.tied import TiedDense

    encoder = keras.layers.Dense(3)
    encoder.build((None, 6))
    layer = TiedDense(encoder, (6,))
    assert layer(np.ones((4, 3), "float32")).shape == (4, 6)
    with pytest.raises(ValueError, match=r"codes of shape \(batch, units\), got shape \(4, 5, 3\)"):
        layer(np.ones((4, 5, 3), "float32"))  # was 20 rows for 4 samples


def test_sparse_kl_pulls_the_mean_activation_towards_rho(mnist_small):
    gap = {}
    for weight in (0.0, 10.0):
        keras.utils.set_random_seed(0)
        model = models.SparseAutoencoder(
            input_shape=(784,), latent_dim=128, mode="kl", rho=0.05, sparsity_weight=weight
        )
        model.compile(optimizer="adam")
        model.fit(mnist_small[0], epochs=10, batch_size=64, verbose=0)
        gap[weight] = abs(float(model.encode(mnist_small[1]).mean()) - 0.05)
    assert gap[10.0] < gap[0.0] / 3, gap


def test_sparse_l1_shrinks_the_code(mnist_small):
    means = {}
    for weight in (0.0, 0.5):
        keras.utils.set_random_seed(0)
        model = models.SparseAutoencoder(
            input_shape=(784,),
            latent_dim=128,
            mode="l1",
            latent_activation="relu",
            sparsity_weight=weight,
        )
        model.compile(optimizer="adam")
        model.fit(mnist_small[0], epochs=3, batch_size=64, verbose=0)
        means[weight] = float(np.abs(model.encode(mnist_small[1])).mean())
    assert means[0.5] < 0.5 * means[0.0], means


def test_denoiser_corrupts_fresh_noise_in_training_only(mnist_small):
    x = tf.constant(mnist_small[0][:64])
    model = models.DenoisingAutoencoder(
        input_shape=(784,), latent_dim=16, noise="dropout", noise_params={"rate": 0.5}
    )
    a = model.compute_losses(x, training=True)["loss"]
    b = model.compute_losses(x, training=True)["loss"]
    assert float(a) != float(b)  # a new mask for every batch
    clean = models.Autoencoder.compute_losses(model, x, training=False)["loss"]
    np.testing.assert_allclose(model.compute_losses(x, training=False)["loss"], clean)
    np.testing.assert_array_equal(
        model.predict(mnist_small[0][:8], verbose=0), model.predict(mnist_small[0][:8], verbose=0)
    )
    # The corruption itself drops about half the pixels.
    corrupted = model.corrupt(tf.ones((64, 784))).numpy()
    assert abs((corrupted == 0).mean() - 0.5) < 0.02


def test_denoiser_warns_that_fit_x_x_draws_no_noise(mnist_small):
    model = models.DenoisingAutoencoder(input_shape=(784,), latent_dim=4)
    model.compile(optimizer="adam")
    x = mnist_small[0][:64]
    with pytest.warns(UserWarning, match=r"fit\(x, x\) .* no noise is drawn"):
        model.fit(x, x, epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model.fit(x, epochs=1, verbose=0)  # fresh noise: nothing to say
        model.fit(x * 0.5, x, epochs=1, verbose=0)  # (noisy, clean) pairs


@pytest.mark.parametrize(
    "noise, params",
    [
        ("gaussian", {"stddev": 0.3}),
        ("salt_and_pepper", {"rate": 0.2}),
        ("block", {"size": 8, "value": 0.5}),
    ],
)
def test_denoiser_trains_with_every_noise_kind(noise, params, mnist_small):
    model = models.DenoisingAutoencoder(
        input_shape=(784,), latent_dim=16, noise=noise, noise_params=params
    )
    model.compile(optimizer="adam")
    history = model.fit(mnist_small[0], epochs=2, batch_size=128, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


def test_vae_importance_sampled_log_likelihood_bounds_the_elbo(mnist_small):
    keras.utils.set_random_seed(0)
    x_train = (mnist_small[0] > 0.5).astype("float32")
    x_test = (mnist_small[1][:32] > 0.5).astype("float32")
    model = models.VAE(input_shape=(784,), latent_dim=8, hidden_units=(128,))
    model.compile(optimizer="adam")
    model.fit(x_train, epochs=3, batch_size=64, verbose=0)
    elbo = -float(model.evaluate(x_test, verbose=0, return_dict=True)["loss"])
    ll = model.log_likelihood(x_test, num_samples=200)
    assert ll.shape == (32,) and np.isfinite(ll).all()
    assert ll.mean() > elbo  # log p(x) >= ELBO, and the IS estimate is tighter
    assert ll.mean() - elbo < 0.2 * abs(elbo)
    samples = model.sample(16)
    assert samples.shape == (16, 784)
    assert samples.min() >= 0.0 and samples.max() <= 1.0


def test_vae_kl_warmup_ramps_the_training_kl_weight(tmp_path, mnist_small):
    x = (mnist_small[0][:256] > 0.5).astype("float32")

    def trained(warmup, steps):
        keras.utils.set_random_seed(0)
        model = models.VAE(
            input_shape=(784,), latent_dim=4, hidden_units=(32,), beta=2.0, kl_warmup_steps=warmup
        )
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        assert float(model.kl_weight()) == (0.0 if warmup else 2.0)
        history = model.fit(x, epochs=steps, batch_size=256, shuffle=False, verbose=0)
        return model, history.history

    model, logs = trained(warmup=8, steps=1)
    # The first step trains on the reconstruction alone; evaluation weighs KL by beta.
    assert logs["loss"][0] == pytest.approx(logs["reconstruction_loss"][0], rel=1e-6)
    assert logs["kl_loss"][0] > 0
    assert float(model.kl_weight()) == pytest.approx(2.0 / 8)
    ev = model.evaluate(x, batch_size=256, verbose=0, return_dict=True)
    assert ev["loss"] == pytest.approx(ev["reconstruction_loss"] + 2.0 * ev["kl_loss"], rel=1e-5)
    model.fit(x, epochs=11, batch_size=256, verbose=0)
    assert float(model.kl_weight()) == 2.0  # full beta from step 8 on
    # Without the KL pull the codes spread out: more KL than the same run at full beta.
    _, free = trained(warmup=10_000, steps=12)
    _, full = trained(warmup=0, steps=12)
    assert free["kl_loss"][-1] > 1.2 * full["kl_loss"][-1], (free["kl_loss"], full["kl_loss"])
    model.save(tmp_path / "vae.keras")
    loaded = keras.models.load_model(tmp_path / "vae.keras", safe_mode=True)
    assert loaded.kl_warmup_steps == 8 and float(loaded.kl_weight()) == 2.0
    for bad in (-1, 2.5, "10", None):
        with pytest.raises(
            ValueError, match=f"kl_warmup_steps must be an integer >= 0, got {bad!r}"
        ):
            models.VAE(input_shape=(784,), latent_dim=4, kl_warmup_steps=bad)


def test_vae_kl_matches_the_closed_form():
    mean = np.array([[0.5, -1.0]], dtype="float32")
    log_var = np.array([[0.0, np.log(4.0)]], dtype="float32")
    var = np.exp(log_var)
    expected = 0.5 * np.sum(var + mean**2 - 1 - log_var)
    np.testing.assert_allclose(losses.gaussian_kl(mean, log_var), [expected], rtol=1e-6)


def test_gaussian_vae_reconstruction_is_the_exact_negative_log_density():
    model = models.VAE(
        input_shape=(4,),
        latent_dim=2,
        likelihood="gaussian",
        observation_std=0.5,
        hidden_units=(8,),
    )
    x = np.array([[0.1, 0.2, 0.3, 0.4]], dtype="float32")
    mu = np.array([[0.0, 0.5, 0.3, 1.0]], dtype="float32")
    expected = -np.sum(-0.5 * np.log(2 * np.pi * 0.25) - (x - mu) ** 2 / (2 * 0.25))
    np.testing.assert_allclose(model.negative_log_likelihood(x, mu), [expected], rtol=1e-5)


def test_pack_bits_matches_numpy():
    bits = np.random.default_rng(4).random((10, 21)) > 0.5
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(pack_bits(bits)), np.packbits(bits, axis=-1)
    )


@pytest.mark.parametrize("binarization", ["noise", "straight_through"])
def test_semantic_hashing_codes_become_binary_on_real_data(binarization, mnist_small):
    keras.utils.set_random_seed(0)
    model = models.SemanticHashingAE(
        input_shape=(784,), latent_dim=16, hidden_units=(128,), binarization=binarization
    )
    codes_before = model.encode(mnist_small[1])
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(mnist_small[0], epochs=15, batch_size=64, verbose=0)
    codes = model.encode(mnist_small[1])
    near = lambda c: float(np.mean((c < 0.1) | (c > 0.9)))  # noqa: E731
    if binarization == "noise":  # the noise drives the pre-threshold codes to 0 and 1
        assert near(codes) > 0.8 > near(codes_before), (near(codes_before), near(codes))
    packed = model.hash(mnist_small[1])
    assert packed.dtype == np.uint8 and packed.shape == (256, 2)
    np.testing.assert_array_equal(packed, np.packbits(codes > 0.5, axis=-1))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.hash_bits(mnist_small[1])), packed
    )
    if binarization == "noise":
        assert len(np.unique(packed, axis=0)) > 8  # the codes tell images apart


def _assert_hash_matches(packed, projection):
    """`packed` holds the signs of `projection`, except where it is within
    1e-4 of 0 (eager and graph float32 may round those either way)."""
    sure = np.abs(projection) > 1e-4
    bits = np.unpackbits(packed, axis=-1)[:, : projection.shape[-1]]
    np.testing.assert_array_equal(bits[sure], (projection > 0)[sure])


def _quantization_loss(v, r):
    projected = v @ r
    return float(np.sum((np.where(projected > 0, 1.0, -1.0) - projected) ** 2))


def test_itq_rotation_is_orthogonal_and_lowers_quantization_loss():
    # Points near the corners of a randomly rotated cube: the right rotation
    # makes their signs lose almost nothing; the identity loses a lot.
    rng = np.random.default_rng(0)
    corners = np.where(rng.random((500, 6)) > 0.5, 1.0, -1.0)
    turn = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    v = (corners + 0.05 * rng.standard_normal(corners.shape)) @ turn.T
    r = itq_rotation(v, iterations=50, seed=1)
    np.testing.assert_allclose(r @ r.T, np.eye(6), atol=1e-10)
    assert _quantization_loss(v, r) < 0.1 * _quantization_loss(v, np.eye(6))
    for bad, message in (([[1.0, 2.0]], "n >= 2 rows"), ([[np.nan, 1.0], [0.0, 1.0]], "NaN")):
        with pytest.raises(ValueError, match=message):
            itq_rotation(np.array(bad))
    with pytest.raises(ValueError, match="iterations"):
        itq_rotation(v, iterations=0)


def test_fit_rotation_rotates_the_hash_and_is_saved(tmp_path, mnist_small):
    keras.utils.set_random_seed(0)
    x_train, x_test = mnist_small
    model = models.SemanticHashingAE(input_shape=(784,), latent_dim=16, hidden_units=(64,), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x_train, epochs=3, batch_size=64, verbose=0)
    logits = keras.ops.convert_to_numpy(model.code_logits(x_test))
    plain = model.hash(x_test)  # before fit_rotation: the threshold at 0.5
    _assert_hash_matches(plain, logits)

    assert model.fit_rotation(x_train) is model
    train_logits = keras.ops.convert_to_numpy(model.code_logits(x_train))
    offset = model.code_offset.numpy()
    rotation = model.code_rotation.numpy()
    np.testing.assert_allclose(offset, train_logits.mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(16), atol=1e-5)
    centred = train_logits - offset
    assert _quantization_loss(centred, rotation) < _quantization_loss(centred, np.eye(16))
    rotated = model.hash(x_test)
    _assert_hash_matches(rotated, (logits - offset) @ rotation)
    assert np.mean(rotated != plain) > 0.1
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.hash_bits(x_test)), rotated)

    model.save(tmp_path / "h.keras")
    loaded = keras.models.load_model(tmp_path / "h.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.hash(x_test), rotated)

    for kwargs, message in (
        (dict(x=x_train[:1]), "at least 2 samples"),
        (dict(x=x_train[:, :100]), r"shape \(batch, 784\)"),
        (dict(x=x_train, iterations=0), "iterations"),
    ):
        with pytest.raises(ValueError, match=message):
            model.fit_rotation(**kwargs)


def test_hashing_weights_saved_before_fit_rotation_existed_still_load(tmp_path, mnist_small):
    h5py = pytest.importorskip("h5py")
    x = mnist_small[1][:64]
    model = models.SemanticHashingAE(input_shape=(784,), latent_dim=16, hidden_units=(32,), seed=0)
    model.fit_rotation(x)
    path = tmp_path / "old.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r+") as f:  # what earlier versions wrote: no model-level variables
        for key in list(f["vars"].keys()):
            del f["vars"][key]
    fresh = models.SemanticHashingAE(input_shape=(784,), latent_dim=16, hidden_units=(32,), seed=1)
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh.code_rotation.numpy(), np.eye(16))
    _assert_hash_matches(fresh.hash(x), keras.ops.convert_to_numpy(model.code_logits(x)))


def test_hashing_with_unbuilt_custom_networks_builds_on_first_hash():
    x = np.random.default_rng(0).random((16, 20)).astype("float32")
    model = models.SemanticHashingAE(encoder=keras.layers.Dense(8), decoder=keras.layers.Dense(20))
    assert not model.built
    logits = keras.ops.convert_to_numpy(model.code_logits(x))
    _assert_hash_matches(model.hash(x), logits)
    other = models.SemanticHashingAE(encoder=keras.layers.Dense(8), decoder=keras.layers.Dense(20))
    other.fit_rotation(x)
    assert other.code_rotation.shape == (8, 8)


def test_custom_encoder_and_decoder_round_trip(tmp_path, mnist_small):
    encoder = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(8)]
    )
    decoder = keras.Sequential([keras.Input((8,)), keras.layers.Dense(784, activation="sigmoid")])
    model = models.Autoencoder(encoder=encoder, decoder=decoder)
    assert model.input_shape_ == (784,) and model.latent_dim == 8
    assert model.decode(np.zeros((2, 8), "float32")).shape == (2, 784)
    model.compile(optimizer="adam")
    model.fit(mnist_small[0][:128], epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(
        loaded.reconstruct(mnist_small[1]), model.reconstruct(mnist_small[1])
    )


def test_unbuilt_custom_networks_are_built_by_the_first_data(mnist_small):
    def net(units, activation=None):
        return keras.Sequential(
            [
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(units, activation=activation),
            ]
        )

    model = models.Autoencoder(encoder=net(4), decoder=net(784, "sigmoid"))
    with pytest.raises(ValueError, match="decode needs a built model"):
        model.decode(np.zeros((2, 4), "float32"))
    model.compile(optimizer="adam")
    model.fit(mnist_small[0][:64], epochs=1, verbose=0)
    assert (model.built, model.input_shape_, model.latent_dim) == (True, (784,), 4)
    assert tasks.denoise(model, mnist_small[1][:3]).shape == (3, 784)
    model = models.Autoencoder(encoder=net(4), decoder=net(784, "sigmoid"))
    assert model.encode(mnist_small[1][:3]).shape == (3, 4)
    assert (model.built, model.input_shape_, model.latent_dim) == (True, (784,), 4)


def test_conv_networks_handle_odd_image_sizes():
    model = models.ConvAutoencoder(input_shape=(27, 13, 3), latent_dim=4, filters=(4, 8))
    x = np.random.default_rng(5).random((2, 27, 13, 3)).astype("float32")
    assert model.reconstruct(x).shape == x.shape
    grey = models.ConvAutoencoder(input_shape=(28, 28), latent_dim=4, filters=(4,))
    assert grey.reconstruct(np.zeros((3, 28, 28), "float32")).shape == (3, 28, 28)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "linear"])
@pytest.mark.parametrize("cls", [models.Autoencoder, models.TiedAutoencoder])
def test_init_output_bias_makes_the_zero_code_decode_to_the_mean(cls, activation, mnist_small):
    model = cls(input_shape=(784,), latent_dim=4, output_activation=activation)
    x = mnist_small[0] * 2 - 1 if activation == "tanh" else mnist_small[0]
    assert model.init_output_bias(x)
    decoded = model.decode(np.zeros((1, 4), "float32"))[0]  # only the bias reaches the output
    expected = x.mean(axis=0)
    if activation != "linear":
        expected = np.clip(expected, -0.999 if activation == "tanh" else 0.001, 0.999)
    np.testing.assert_allclose(decoded, expected, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: models.VAE(input_shape=(784,), latent_dim=2, hidden_units=(8,)),
        lambda: models.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=4, filters=(4,)),
    ],
)
def test_init_output_bias_sets_deep_and_conv_decoders(make, mnist_small):
    model = make()
    x = mnist_small[0].reshape((-1,) + model.input_shape_)
    assert model.init_output_bias(x)
    bias = np.asarray(model.decoder.get_layer("output").bias)
    mean = x.mean(axis=0).reshape(-1) if bias.size > 1 else np.array([x.mean()])
    mean = np.clip(mean, 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(bias, np.log(mean / (1 - mean)), rtol=1e-4, atol=1e-4)


def test_init_output_bias_leaves_custom_decoders_alone():
    enc = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    dec = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    assert not models.Autoencoder(encoder=enc, decoder=dec).init_output_bias(np.ones((3, 4)))


def test_init_output_bias_makes_sigmoid_codes_learn(mnist_small):
    """Without it, a sigmoid-code AE on a short run predicts the mean image."""
    x_train, x_test = mnist_small
    mse = {}
    for init in (False, True):
        keras.utils.set_random_seed(0)
        model = models.ContractiveAutoencoder(input_shape=(784,), latent_dim=16)
        if init:
            model.init_output_bias(x_train)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        model.fit(x_train, epochs=5, batch_size=64, verbose=0)
        mse[init] = float(np.mean((model.reconstruct(x_test) - x_test) ** 2))
    mean_image_mse = float(np.mean((x_train.mean(axis=0) - x_test) ** 2))
    assert mse[True] < 0.8 * mean_image_mse, (mse, mean_image_mse)
    assert mse[True] < mse[False], mse
