"""Bad input and bad arguments raise ValueError saying what was expected."""

import numpy as np
import pytest
import tensorflow as tf

from keras_ae import models, networks


@pytest.fixture(scope="module")
def model():
    m = models.Autoencoder(input_shape=(784,), latent_dim=8)
    m.compile(optimizer="adam")
    return m


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros((4, 28, 28), "float32"), r"shape \(batch, 784\).*got shape \(4, 28, 28\)"),
        (np.zeros((4, 100), "float32"), r"input_shape=\(784,\), got shape \(4, 100\)"),
        (np.array([["a"] * 784]), r"numeric dtype, got dtype <U1"),
        (np.full((2, 784), np.nan, "float32"), r"1568 NaN or infinite"),
        (
            np.concatenate([np.zeros((1, 784)), np.full((1, 784), np.inf)]).astype("float32"),
            r"784 NaN or infinite",
        ),
        (np.zeros((0, 784), "float32"), r"empty"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict", "encode", "reconstruct"])
def test_bad_arrays_are_refused(model, method, x, message):
    with pytest.raises(ValueError, match=message):
        fn = getattr(model, method)
        fn(x, verbose=0) if method in ("fit", "evaluate", "predict") else fn(x)


@pytest.mark.parametrize("method", ["encode", "reconstruct"])
def test_a_dataset_given_to_a_numpy_method_is_named(model, method):
    """encode/reconstruct take arrays; a dataset said "dtype object"."""
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((8, 784), "float32")).batch(4)
    with pytest.raises(ValueError, match="must be an array of samples, got a .*Dataset"):
        getattr(model, method)(ds)


def test_bad_targets_and_validation_data_are_refused(model):
    x = np.zeros((4, 784), "float32")
    with pytest.raises(ValueError, match="y must have shape"):
        model.fit(x, np.zeros((4, 10), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data\[0\]"):
        model.fit(x, validation_data=(np.full((4, 784), np.nan, "float32"),), verbose=0)


def test_a_dataset_of_the_wrong_shape_is_refused(model):
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((8, 100), "float32")).batch(4)
    with pytest.raises(ValueError, match=r"dataset elements.*\(None, 100\)"):
        model.fit(ds, verbose=0)
    ds = tf.data.Dataset.from_tensor_slices(np.array(["x"] * 8)).batch(4)
    with pytest.raises(ValueError, match=r"numeric \(real\), got dtype string"):
        model.fit(ds, verbose=0)


def test_decode_checks_the_code_width(model):
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 8\)"):
        model.decode(np.zeros((2, 5), "float32"))


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: models.Autoencoder(input_shape=(784,), latent_dim=0),
            "latent_dim must be a positive integer, got 0",
        ),
        (
            lambda: models.Autoencoder(input_shape=(784,), latent_dim=-3),
            "latent_dim must be a positive integer",
        ),
        (
            lambda: models.Autoencoder(input_shape=(784,), latent_dim=2.5),
            "latent_dim must be a positive integer",
        ),
        (
            lambda: models.Autoencoder(input_shape=(0,), latent_dim=2),
            "input_shape must be a tuple of positive integers",
        ),
        (lambda: models.Autoencoder(latent_dim=2), "give input_shape and latent_dim"),
        (
            lambda: models.Autoencoder(input_shape=(784,), latent_dim=2, reconstruction_loss="l1"),
            r"reconstruction_loss must be one of \('mse', 'bce', 'mae', 'huber'\), got 'l1'",
        ),
        (
            lambda: models.Autoencoder(input_shape=(784,), latent_dim=2, network="rnn"),
            r"network must be one of \('mlp', 'conv', 'conv1d', 'lstm'\)",
        ),
        (
            lambda: models.ConvAutoencoder(input_shape=(784,), latent_dim=2),
            r"image samples of shape \(H, W\) or \(H, W, C\), got input_shape=\(784,\)",
        ),
        (
            lambda: models.ConvAutoencoder(
                input_shape=(28, 28, 1), latent_dim=100, strides=(1, 2), code_layer="conv"
            ),
            r"code on the 14x14 grid needs a code width that is a multiple of 196 .*got 100",
        ),
        (
            lambda: models.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16, strides=(1,)),
            r"strides must give 1 or 2 for each of the 2 filters \(32, 64\), got \(1,\)",
        ),
        (
            lambda: models.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16, strides=(3, 2)),
            "strides must give 1 or 2",
        ),
        (
            lambda: models.ConvAutoencoder(
                input_shape=(28, 28, 1), latent_dim=16, code_layer="pool"
            ),
            r"code_layer must be one of \('dense', 'conv'\), got 'pool'",
        ),
        (
            lambda: models.ConvAutoencoder(
                input_shape=(28, 28, 1), latent_dim=98, code_layer="conv", hidden_units=(64,)
            ),
            "fully convolutional network: it takes no hidden_units",
        ),
        (
            lambda: models.Autoencoder(input_shape=(784,), latent_dim=2, code_layer="conv"),
            "filters, strides and code_layer apply to network='conv'",
        ),
        (
            lambda: networks.build_encoder("mlp", (784,), 8, filters=(16,)),
            r"an MLP got filters=\(16,\)",
        ),
        (
            lambda: networks.build_decoder("mlp", 8, (784,), filters=(16,)),
            r"an MLP got filters=\(16,\)",
        ),
        (
            lambda: models.VAE(
                input_shape=(28, 28, 1), latent_dim=49, network="conv", code_layer="conv"
            ),
            "code_layer must be 'dense'",
        ),
        (
            lambda: models.SparseAutoencoder(input_shape=(784,), latent_dim=2, rho=1.5),
            r"rho must be a finite number > 0 and < 1, got 1.5",
        ),
        (
            lambda: models.SparseAutoencoder(input_shape=(784,), latent_dim=2, rho=0.0),
            "rho must be a finite number > 0",
        ),
        (
            lambda: models.SparseAutoencoder(input_shape=(784,), latent_dim=2, mode="l2"),
            r"mode must be one of \('l1', 'kl'\)",
        ),
        (
            lambda: models.DenoisingAutoencoder(input_shape=(784,), latent_dim=2, noise="speckle"),
            r"noise must be one of \('dropout', 'gaussian', 'salt_and_pepper', 'block'\)",
        ),
        (
            lambda: models.DenoisingAutoencoder(
                input_shape=(784,), latent_dim=2, noise_params={"rate": 1.5}
            ),
            "rate",
        ),
        (
            lambda: models.VAE(input_shape=(784,), latent_dim=2, likelihood="poisson"),
            r"likelihood must be one of \('bernoulli', 'gaussian'\)",
        ),
        (
            lambda: models.VAE(input_shape=(784,), latent_dim=2, beta=-1),
            "beta must be a finite number >= 0",
        ),
        # no hidden layer: the activation was never looked up, and a typo passed
        (
            lambda: models.Autoencoder(input_shape=(784,), latent_dim=2, activation="nosuch"),
            "activation must be a Keras activation .*got 'nosuch'",
        ),
        # cross-entropy of a linear output is clipped outside (0, 1): no gradient there
        (
            lambda: models.Autoencoder(
                input_shape=(784,),
                latent_dim=2,
                output_activation="linear",
                reconstruction_loss="bce",
            ),
            "reconstruction_loss='bce' needs reconstructions in \\(0, 1\\)",
        ),
        (
            lambda: models.VAE(input_shape=(784,), latent_dim=2, beta=float("nan")),
            "beta must be a finite number >= 0, got nan",
        ),
        (lambda: models.VAE(input_shape=(784,), latent_dim=2, beta=float("inf")), "got inf"),
        (
            lambda: models.VAE(input_shape=(784,), latent_dim=2, beta="abc"),
            "beta must be a number, got 'abc'",
        ),
        (
            lambda: models.SemanticHashingAE(
                input_shape=(784,), latent_dim=2, noise_std=float("nan")
            ),
            "noise_std must be a finite number",
        ),
        (
            lambda: models.SemanticHashingAE(input_shape=(784,), latent_dim=2, binarization="sign"),
            r"binarization must be one of \('noise', 'straight_through'\)",
        ),
        (
            lambda: models.ContractiveAutoencoder(
                input_shape=(784,), latent_dim=2, contractive_weight=-1
            ),
            "contractive_weight must be a finite number >= 0",
        ),
        (
            lambda: models.TiedAutoencoder(input_shape=(784,), latent_dim=2, hidden_units=(16,)),
            "single dense layer",
        ),
        (
            lambda: models.Autoencoder(
                encoder=models.Autoencoder(input_shape=(4,), latent_dim=2).encoder
            ),
            "pass both encoder and decoder",
        ),
        # arguments a variant would otherwise accept and silently defeat
        (
            lambda: models.Autoencoder(input_shape=(16,), latent_dim=4, filters=(8,)),
            r"apply to network='conv' or 'conv1d'; an MLP got filters=\(8,\)",
        ),
        (
            lambda: models.SparseAutoencoder(
                input_shape=(8,), latent_dim=4, latent_activation="relu"
            ),
            "mode='kl' .* latent_activation must be 'sigmoid', got 'relu'",
        ),
        (
            lambda: models.SemanticHashingAE(
                input_shape=(8,), latent_dim=4, latent_activation="sigmoid"
            ),
            "applies the sigmoid .* latent_activation must be 'linear', got 'sigmoid'",
        ),
        (
            lambda: models.VAE(input_shape=(8,), latent_dim=2, reconstruction_loss="mse"),
            "set by likelihood=.*got reconstruction_loss='mse' with likelihood='bernoulli'",
        ),
        (
            lambda: models.VAE(input_shape=(8,), latent_dim=2, output_activation="linear"),
            "decoder outputs logits .* got 'linear'",
        ),
        (
            lambda: models.VAE(input_shape=(8,), latent_dim=2, latent_activation="tanh"),
            "z_mean and z_log_var.* must be 'linear', got 'tanh'",
        ),
    ],
)
def test_invalid_arguments_name_the_valid_values(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_sample_and_class_weights_are_refused_by_name(model):
    x = np.zeros((4, 784), "float32")
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        model.fit(x, sample_weight=np.ones(4), verbose=0)
    # Keras drops the weights of an x-only evaluate before test_step sees them
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        model.evaluate(x, sample_weight=np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="class_weight is not supported"):
        model.fit(x, class_weight={0: 1.0}, verbose=0)


@pytest.mark.parametrize(
    "kwargs",
    [{"loss": "mae"}, {"loss_weights": [1.0]}, {"weighted_metrics": ["mse"]}],
)
def test_compile_refuses_a_loss_or_metrics_it_would_ignore(kwargs):
    model = models.Autoencoder(input_shape=(16,), latent_dim=4)
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"own loss terms .*compile\\(\\) takes no {name}"):
        model.compile(optimizer="adam", **kwargs)


def test_dataset_targets_of_the_wrong_shape_are_refused_before_tracing():
    # After fits on other input structures Keras traces with relaxed (None)
    # shapes, which a check inside the step cannot see.
    model = models.Autoencoder(input_shape=(16,), latent_dim=4)
    model.compile(optimizer="adam")
    x = np.zeros((64, 16), "float32")
    model.fit(x, x, batch_size=32, verbose=0)
    model.fit(x, batch_size=32, verbose=0)
    bad = tf.data.Dataset.from_tensor_slices((x, x[:, :8])).batch(32)
    with pytest.raises(
        ValueError,
        match=r"the targets y of x's \(x, y\) dataset elements "
        r".*never class labels\) batches must have shape "
        r"\(batch, 16\).*got \(None, 8\)",
    ):
        model.fit(bad, verbose=0)
    # predict ignores targets: a labelled (x, labels) dataset is fine there
    labelled = tf.data.Dataset.from_tensor_slices((x, np.arange(64))).batch(32)
    assert model.predict(labelled, verbose=0).shape == (64, 16)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(input_shape=(10,), noise="block"),
            r"noise='block', noise_params=None for input_shape=\(10,\): .*image_shape=\(H, W\)",
        ),
        (
            dict(input_shape=(10,), noise="gaussian", noise_params={"rate": 0.3}),
            r"noise_params=\{'rate': 0.3\}.*takes the parameters \['stddev', 'clip'\]",
        ),
    ],
)
def test_denoising_noise_errors_name_the_model_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.DenoisingAutoencoder(latent_dim=4, **kwargs)


def test_vae_sample_and_log_likelihood_check_their_arguments():
    vae = models.VAE(input_shape=(784,), latent_dim=2, hidden_units=(8,))
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        vae.sample(0)
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        vae.log_likelihood(np.zeros((2, 784), "float32"), num_samples=0)
    with pytest.raises(ValueError, match=r"shape \(batch, 784\)"):
        vae.log_likelihood(np.zeros((2, 10), "float32"))
    for name in ("chunk", "batch_size"):  # chunk=0 used to loop for ever
        for bad in (0, -1):
            with pytest.raises(ValueError, match=f"{name} must be a positive integer, got {bad}"):
                vae.log_likelihood(np.zeros((2, 784), "float32"), num_samples=4, **{name: bad})
    # a numpy integer seed is a seed like any other
    np.testing.assert_array_equal(vae.sample(2, seed=np.int64(3)), vae.sample(2, seed=3))


def test_save_rows_wants_one_label_per_row(tmp_path):
    from keras_ae import plotting

    rows = [np.zeros((3, 784), "float32")] * 2
    with pytest.raises(ValueError, match=r"one label per row: got 2 rows and 1 labels"):
        plotting.save_rows(rows, ["input"], tmp_path / "rows.png")
    assert not (tmp_path / "rows.png").exists()
    assert plotting.save_rows(rows, ["input", "output"], tmp_path / "rows.png").exists()


def test_figures_land_at_the_named_path_or_not_at_all(tmp_path):
    from keras_ae import plotting

    rows = [np.zeros((3, 784), "float32")] * 2
    # no suffix: a PNG at exactly that path (matplotlib alone would add ".png")
    path = plotting.save_rows(rows, ["input", "output"], tmp_path / "rows")
    assert path == tmp_path / "rows" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    path.write_bytes(b"kept")
    with pytest.raises(ValueError, match="Format 'xyz' is not supported"):
        plotting.save_rows(rows, ["input", "output"], tmp_path / "rows.xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows"]
    assert path.read_bytes() == b"kept"
    # the pixel-exact PNG writer (save_kernels) goes the same way
    grid = plotting.save_grid_png(np.eye(4), tmp_path / "grid")
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plotting_helpers_check_their_input_and_take_class_names(tmp_path):
    from keras_ae import plotting

    x = np.arange(6 * 4, dtype="float32").reshape(6, 2, 2)
    grid = plotting.image_grid(x, cols=4, pad=1, value=-1)
    assert grid.shape == (5, 11)  # 2 rows and 4 columns of 2x2 tiles, 1 pixel apart
    np.testing.assert_array_equal(grid[0:2, 3:5], x[1])
    np.testing.assert_array_equal(grid[3:5, 3:5], x[5])
    assert (grid[2] == -1).all() and (grid[3:5, 6:] == -1).all()  # padding, empty tiles
    assert plotting.image_grid(np.zeros((6, 784)), cols=3).shape == (57, 86)  # the docstring's
    with pytest.raises(ValueError, match=r"no images to tile: x has shape \(0, 28, 28\)"):
        plotting.image_grid(np.zeros((0, 784)))
    with pytest.raises(ValueError, match="cols must be a positive integer, got 0"):
        plotting.image_grid(x, cols=0)

    z = np.random.default_rng(0).normal(size=(30, 2))
    names = np.array(["cotton", "soil", "grey soil"])[np.arange(30) % 3]
    assert plotting.save_codes(z, names, tmp_path / "codes.png") == tmp_path / "codes.png"
    assert (tmp_path / "codes.png").stat().st_size > 0
    plotting.save_codes(z, None, tmp_path / "one_colour.png")  # no labels: one colour
    assert (tmp_path / "one_colour.png").stat().st_size > 0
    with pytest.raises(ValueError, match=r"labels must hold one class per code \(30\), got 29"):
        plotting.save_codes(z, names[:-1], tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"codes of shape \(N, 2\) or wider"):
        plotting.save_codes(z[:, :1], names, tmp_path / "bad.png")
    model = models.Autoencoder(input_shape=(4,), latent_dim=2)
    with pytest.raises(ValueError, match=r"extent must be in \(0.5, 1\)"):
        plotting.manifold(model, extent=1.0)
    # arguments that reached numpy's or matplotlib's own errors, or passed unnoticed
    for call, message in [
        (lambda: plotting.manifold(model, n=0), "n must be a positive integer, got 0"),
        (lambda: plotting.manifold(model, n=2.5), "n must be a positive integer, got 2.5"),
        (
            lambda: plotting.interpolate(model, x[0].ravel(), x[1].ravel(), steps=0),
            "steps must be a positive integer, got 0",
        ),
        (
            lambda: plotting.image_grid(np.zeros((2, 16)), image_shape=(3, 5)),
            r"image_shape must be \(H, W\) with H \* W = 16 features, got \(3, 5\)",
        ),
        (lambda: plotting.image_grid(x, pad=-1), "pad must be an integer >= 0, got -1"),
        (
            lambda: plotting.save_kernels(np.zeros((784, 4)), tmp_path / "k.png", scale=0),
            "scale must be a positive integer, got 0",
        ),
        (lambda: plotting.save_rows([], [], tmp_path / "r.png"), "needs rows"),
        (
            lambda: plotting.save_reconstructions(x, x[:3], tmp_path / "r.png"),
            r"rows of equal length, got \[6, 3\]",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            call()
    # every class its own colour, past tab20's 20 too (they were reused)
    import matplotlib

    for n in (3, 20, 30, 118):  # 118: Reuters topics
        cmap = matplotlib.colormaps[plotting._class_colours(n)]
        assert len({tuple(cmap((i + 0.5) / n)) for i in range(n)}) == n
    # a (784,) model interpolates between (28, 28) images, which the tasks accept too
    pixel, latent = plotting.interpolate(
        models.Autoencoder(input_shape=(784,), latent_dim=2),
        np.zeros((28, 28)),
        np.ones((28, 28)),
        steps=3,
    )
    assert pixel.shape == (3, 28, 28) and latent.shape == (3, 784)
    np.testing.assert_allclose(pixel[1], 0.5)


def test_a_spatial_code_does_not_inherit_the_class_default_hidden_units():
    # DeepAutoencoder's default hidden_units would make code_layer="conv" refuse
    # an argument the user never gave
    model = models.DeepAutoencoder(
        input_shape=(8, 8, 1), latent_dim=16, network="conv", code_layer="conv", filters=(4, 8)
    )
    assert model.hidden_units == () and model.reconstruct(np.zeros((2, 8, 8, 1))).shape == (
        2,
        8,
        8,
        1,
    )


def test_models_saved_before_the_new_checks_still_load(tmp_path):
    import keras

    # A file written before compile() refused loss/metrics kept them in its
    # compile config: loading drops them, and says so.
    model = models.Autoencoder(input_shape=(8,), latent_dim=2)
    keras.Model.compile(model, optimizer="adam", loss="mae", metrics=["mae"])
    model.save(tmp_path / "compiled.keras")
    with pytest.warns(UserWarning, match=r"never use, now dropped: .*'loss': 'mae'"):
        loaded = keras.saving.load_model(tmp_path / "compiled.keras")
    assert loaded.optimizer is not None
    x = np.random.default_rng(0).random((4, 8)).astype("float32")
    np.testing.assert_array_equal(loaded.reconstruct(x), model.reconstruct(x))
    # A variant saved with an argument now refused loads as it was, with a warning.
    config = models.SparseAutoencoder(
        input_shape=(8,), latent_dim=2, mode="l1", latent_activation="relu"
    ).get_config()
    with pytest.warns(
        UserWarning, match="must be 'sigmoid', got 'relu' .*; loading the saved model as it was"
    ):
        models.SparseAutoencoder.from_config({**config, "mode": "kl"})
    # None means the default, and activation functions count like their names.
    assert (
        models.VAE(input_shape=(8,), latent_dim=2, reconstruction_loss=None).reconstruction_loss
        == "bce"
    )
    models.VAE(input_shape=(8,), latent_dim=2, latent_activation=keras.activations.linear)
    models.SparseAutoencoder(
        input_shape=(8,), latent_dim=2, latent_activation=keras.activations.sigmoid
    )


def test_targets_outside_what_the_loss_or_output_allows_are_named():
    """uint8 pixels fed without dividing by 255: a loss of ~5e6 (sigmoid + MSE)
    or NaN (a Bernoulli VAE) used to come with no word why."""
    pixels = np.random.default_rng(0).integers(0, 256, (64, 784)).astype("float32")
    vae = models.VAE(input_shape=(784,), latent_dim=2, hidden_units=(16,))
    vae.compile(optimizer="adam")
    for call in (
        lambda: vae.fit(pixels, epochs=1, verbose=0),
        lambda: vae.evaluate(pixels, verbose=0),
        lambda: vae.fit(pixels / 255.0, validation_data=(pixels,), verbose=0),
    ):
        with pytest.raises(
            ValueError,
            match=r"values in \[\d+, 25\d\], but likelihood='bernoulli'"
            r" needs targets in \[0, 1\].*divide by 255.*"
            "likelihood='gaussian'",
        ):
            call()
    bce = models.Autoencoder(input_shape=(784,), latent_dim=2, reconstruction_loss="bce")
    bce.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"y holds values in \[-1, 1\].*reconstruction_loss='bce'"):
        bce.fit(pixels / 255.0, np.linspace(-1, 1, 64 * 784).reshape(64, 784), verbose=0)

    ae = models.Autoencoder(input_shape=(784,), latent_dim=2)  # sigmoid output, MSE
    ae.compile(optimizer="adam")
    with pytest.warns(UserWarning, match=r"output_activation='sigmoid' reconstructs \[0, 1\] only"):
        ae.fit(pixels, epochs=1, verbose=0)
    tanh = models.Autoencoder(input_shape=(784,), latent_dim=2, output_activation="tanh")
    tanh.compile(optimizer="adam")
    with pytest.warns(UserWarning, match=r"\[-1, 1\]"):
        tanh.evaluate(pixels / 100.0, verbose=0)
    # In range, and the denoiser's noisy inputs (only its clean targets are bounded): no word.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ae.fit(pixels / 255.0, epochs=1, verbose=0)
        tanh.evaluate(2 * pixels / 255.0 - 1, verbose=0)
        ae.fit(pixels / 255.0 + 0.5, pixels / 255.0, epochs=1, verbose=0)
    linear = models.Autoencoder(input_shape=(784,), latent_dim=2, output_activation="linear")
    linear.compile(optimizer="adam")
    linear.fit(pixels, epochs=1, verbose=0)  # unbounded output: any targets


@pytest.mark.parametrize("call", ["preprocess", "make_dataset"])
def test_float_images_outside_the_unit_interval_are_refused(call):
    """A float copy of uint8 pixels used to pass through as 'already in [0, 1]'
    (and binarize to all ones)."""
    from keras_ae import datasets

    pixels = np.random.default_rng(0).integers(0, 256, (8, 28, 28)).astype("float32")
    fn = getattr(datasets, call)
    for kwargs in ({}, {"scale": "symmetric"}, {"binarize": "static"}):
        with pytest.raises(
            ValueError,
            match=rf"{call}: x is a float array with values in "
            r"\[\d+, 25\d\].*divide it by 255",
        ):
            fn(pixels, **kwargs)
    for bad in (np.nan, np.inf):  # raw values too (an infinity passed that check)
        with pytest.raises(ValueError, match="NaN or infinite"):
            fn(np.full((2, 4, 4), bad, "float32"), scale=None)
    raw = datasets.preprocess(pixels, scale=None)  # raw values asked for: kept as they are
    np.testing.assert_array_equal(raw, pixels)
    np.testing.assert_allclose(
        datasets.preprocess(pixels.astype("uint8")), pixels / 255.0, rtol=1e-6
    )


def test_cross_entropy_takes_a_softmax_output_too():
    # softmax outputs lie in (0, 1) as well (the hashing sweep's word-distribution head)
    model = models.SemanticHashingAE(
        input_shape=(20,), latent_dim=4, output_activation="softmax", reconstruction_loss="bce"
    )
    target = np.full((8, 20), 1 / 20, "float32")
    model.compile(optimizer="adam")
    assert np.isfinite(model.fit(target, epochs=1, verbose=0).history["loss"][0])


def test_values_beyond_float32_are_refused_after_the_cast():
    """The finite check ran before the cast to float32: 1e300 became inf/NaN."""
    ae = models.Autoencoder(input_shape=(12,), latent_dim=3)
    hashing = models.SemanticHashingAE(input_shape=(12,), latent_dim=4, hidden_units=(8,))
    big = np.full((2, 12), 1e300)
    message = r"x holds values up to 1e\+300 in magnitude, beyond the range of float32"
    for call in (
        lambda: ae.reconstruct(big),
        lambda: ae.encode(big),
        lambda: ae.predict(big, verbose=0),
        lambda: hashing.hash(big),
        lambda: ae.init_output_bias(np.full((2, 12), 1e300, "float64")) and None,
    ):
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match=r"z holds values up to 1e\+300"):
        ae.decode(np.full((2, 3), 1e300))
    np.testing.assert_allclose(
        ae.reconstruct(np.full((2, 12), 0.5)),  # float64 in range: fine
        ae.reconstruct(np.full((2, 12), 0.5, "float32")),
    )


def test_integer_images_are_refused_by_every_model_method():
    """uint8 pixels went through reconstruct/encode as 0-255 floats (MSE 0.072
    against 0.0044 scaled) and gave a Bernoulli VAE's log_likelihood NaN, while
    the tasks refused them: one rule now, integers are refused."""
    pixels = np.random.default_rng(0).integers(0, 256, (4, 12)).astype("uint8")
    ae = models.Autoencoder(input_shape=(12,), latent_dim=3, output_activation="linear")
    ae.compile(optimizer="adam")
    vae = models.VAE(input_shape=(12,), latent_dim=2, hidden_units=(8,))
    hashing = models.SemanticHashingAE(input_shape=(12,), latent_dim=4, hidden_units=(8,))
    message = r"x has integer dtype (uint8|int64); keras_ae models read floats. Divide uint8"
    for call in (
        lambda: ae.reconstruct(pixels),
        lambda: ae.encode(pixels),
        lambda: ae.predict(pixels, verbose=0),
        lambda: ae.fit(pixels, verbose=0),
        lambda: ae.evaluate(pixels, verbose=0),
        lambda: hashing.hash(pixels),
        lambda: vae.log_likelihood(pixels, num_samples=4),
        lambda: ae.reconstruct(pixels.astype("int64")),
    ):
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match=r"y has integer dtype uint8"):
        ae.fit(pixels / 255.0, pixels, verbose=0)
    ds = tf.data.Dataset.from_tensor_slices(pixels).batch(2)
    with pytest.raises(ValueError, match=r"dataset elements\) has integer dtype uint8.*255"):
        ae.fit(ds, verbose=0)
    scaled = ae.reconstruct(pixels / 255.0)  # scaled: fine; bool is 0/1
    assert np.isfinite(scaled).all()
    np.testing.assert_array_equal(
        ae.reconstruct(pixels > 127), ae.reconstruct((pixels > 127).astype("float32"))
    )
    assert np.isfinite(vae.log_likelihood(pixels / 255.0, num_samples=4)).all()


@pytest.mark.parametrize(
    "x, message",
    [
        (None, r"x must be a numpy array or a tf.data.Dataset of batches, got None"),
        (np.float32(3), r"x must be a batch of samples, .* got the single value 3\.0"),
        (np.ones((2, 12)) + 1j, r"x must hold real numbers, got complex dtype complex128"),
    ],
)
def test_unreadable_prediction_inputs_get_clear_errors(x, message):
    """predict(None) raised KeyError, predict(np.float32(3)) IndexError, and
    complex input lost its imaginary part with a warning."""
    ae = models.Autoencoder(input_shape=(12,), latent_dim=3)
    with pytest.raises(ValueError, match=message):
        ae.predict(x, verbose=0)
    if x is not None:
        with pytest.raises(ValueError, match=message):
            ae.reconstruct(x)


def test_sample_and_seeds_are_checked():
    """sample(10**10) ran out of memory in TensorFlow; a seed of 2**70 failed
    in a tensor conversion that named no argument."""
    vae = models.VAE(input_shape=(12,), latent_dim=2, hidden_units=(8,))
    with pytest.raises(ValueError, match=r"sample\(n=10000000000\) would return 447 GiB.*memory"):
        vae.sample(10**10)
    for call in (
        lambda: vae.sample(2, seed=2**70),
        lambda: models.Autoencoder(input_shape=(4,), latent_dim=2, seed=2**70),
    ):
        with pytest.raises(
            ValueError, match=r"seed must be an integer in \[-2\*\*63, 2\*\*63 - 1\]"
        ):
            call()
    with pytest.raises(ValueError, match=r"seed must be an int, None or a keras.random"):
        vae.sample(2, seed=1.5)
    # Batched decoding keeps an int seed's draws, and the shape.
    np.testing.assert_array_equal(vae.sample(5, seed=3)[:2], vae.sample(2, seed=3))
    assert vae.sample(5, seed=3, batch_size=2).shape == (5, 12)
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0"):
        models.SemanticHashingAE(input_shape=(12,), latent_dim=4).fit_rotation(
            np.random.default_rng(0).random((8, 12)), seed=-1
        )


def test_outputs_that_are_not_finite_are_refused():
    """A model whose weights went NaN returned NaN reconstructions and hashes
    (NaN > 0 is False: all-zero codes) without a word."""
    ae = models.Autoencoder(input_shape=(12,), latent_dim=3)
    hashing = models.SemanticHashingAE(input_shape=(12,), latent_dim=4, hidden_units=(8,))
    for model in (ae, hashing):
        for v in model.encoder.trainable_variables:
            v.assign(v * np.nan)
    x = np.random.default_rng(0).random((4, 12))
    for call, what in (
        (lambda: ae.reconstruct(x), "reconstruct"),
        (lambda: ae.encode(x), "encode"),
        (lambda: ae.predict(x, verbose=0), "predict"),
        (lambda: hashing.hash(x), "hash_projection"),
    ):
        with pytest.raises(
            models.NonFiniteError,
            match=rf"{what} gave \d+ NaN or infinite "
            r"value\(s\) from finite input",
        ):
            call()
