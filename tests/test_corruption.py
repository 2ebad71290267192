"""Statistics and seeding of keras_ae.corruption and keras_ae.utils.rng."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ae import corruption as C
from keras_ae.utils import rng

N = 64


@pytest.fixture
def x():
    # Values in (0.1, 0.9) so no pixel equals a replacement value by chance.
    return np.random.default_rng(0).uniform(0.1, 0.9, (N, 28, 28)).astype("float32")


def test_dropout_fraction_and_no_rescale(x):
    y = np.asarray(C.dropout_mask(x, 0.3, seed=1))
    zeroed = y == 0
    assert abs(zeroed.mean() - 0.3) < 0.01
    np.testing.assert_array_equal(y[~zeroed], x[~zeroed])  # survivors untouched


def test_salt_and_pepper_fraction_and_split(x):
    y = np.asarray(C.salt_and_pepper(x, 0.2, seed=1, low=0.0, high=1.0))
    low, high = (y == 0).mean(), (y == 1).mean()
    assert abs(low + high - 0.2) < 0.01
    assert abs(low - high) < 0.01
    changed = (y == 0) | (y == 1)
    np.testing.assert_array_equal(y[~changed], x[~changed])


def test_gaussian_std_and_clip(x):
    y = np.asarray(C.gaussian_noise(x, 0.25, seed=1))
    assert abs((y - x).std() - 0.25) < 0.01
    assert abs((y - x).mean()) < 0.01
    yc = np.asarray(C.gaussian_noise(x, 0.25, seed=1, clip=(0.0, 1.0)))
    assert yc.min() >= 0 and yc.max() <= 1
    np.testing.assert_array_equal(x, np.asarray(C.gaussian_noise(x, 0.0, seed=1)))


@pytest.mark.parametrize("shape", [(N, 28, 28), (N, 28, 28, 3), (N, 784)])
def test_block_mask_area_and_mask(x, shape):
    xs = np.broadcast_to(x[..., None], (N, 28, 28, 3)) if len(shape) == 4 else x
    xs = np.ascontiguousarray(xs).reshape(shape)
    kw = {"image_shape": (28, 28)} if len(shape) == 2 else {}
    y, m = C.block_mask(xs, 7, seed=3, value=0.5, return_mask=True, **kw)
    y, m = np.asarray(y), np.asarray(m)
    assert y.shape == m.shape == shape
    per_sample = m.reshape(N, 28, 28, -1)[..., 0].sum(axis=(1, 2))
    np.testing.assert_array_equal(per_sample, 49)
    np.testing.assert_array_equal(m == 1, y != xs)  # mask = exactly the changed pixels
    assert np.all(y[m == 1] == 0.5)
    # The block is one contiguous 7x7 square.
    rows = np.nonzero(m.reshape(N, 28, 28, -1)[0, ..., 0].any(1))[0]
    assert rows.max() - rows.min() == 6
    # Positions vary across samples.
    assert len({tuple(np.argwhere(mi)[0]) for mi in m.reshape(N, 28, 28, -1)[..., 0]}) > 10


def test_block_mask_several_blocks_cover_more(x):
    m = np.asarray(C.block_mask(x, 4, seed=0, num_blocks=3, return_mask=True)[1])
    area = m.sum(axis=(1, 2))
    assert area.max() <= 48 and area.min() >= 16 and area.mean() > 16


def test_random_missing(x):
    filled, mask = C.random_missing(x, 0.4, seed=2, fill=-1.0)
    filled, mask = np.asarray(filled), np.asarray(mask)
    assert abs(mask.mean() - 0.4) < 0.01
    np.testing.assert_array_equal(mask == 1, filled == -1.0)
    np.testing.assert_array_equal(filled[mask == 0], x[mask == 0])


@pytest.mark.parametrize("factor", [2, 4])
def test_downsample(x, factor):
    y = np.asarray(C.downsample(x, factor))
    assert y.shape == (N, 28 // factor, 28 // factor)
    np.testing.assert_allclose(y.mean(axis=(1, 2)), x.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(y[0, 0, 0], x[0, :factor, :factor].mean(), rtol=1e-5)
    assert np.asarray(C.downsample(x[..., None], factor)).shape == (
        N,
        28 // factor,
        28 // factor,
        1,
    )
    flat = np.asarray(C.downsample(x.reshape(N, -1), factor, image_shape=(28, 28)))
    assert flat.shape == (N, (28 // factor) ** 2)


@pytest.mark.parametrize("kind", C.CORRUPTIONS)
def test_int_seed_repeatable(x, kind):
    a = np.asarray(C.corrupt(x, kind, seed=5))
    b = np.asarray(C.corrupt(x, kind, seed=5))
    c = np.asarray(C.corrupt(x, kind, seed=6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, x)


@pytest.mark.parametrize("kind", C.CORRUPTIONS)
def test_seed_generator_fresh_and_repeatable(x, kind):
    g = keras.random.SeedGenerator(7)
    a, b = (
        np.asarray(C.corrupt(x, kind, seed=g)),
        np.asarray(C.corrupt(x, kind, seed=g)),
    )
    assert not np.array_equal(a, b)
    a2 = np.asarray(C.corrupt(x, kind, seed=keras.random.SeedGenerator(7)))
    np.testing.assert_array_equal(a, a2)


def test_inside_tf_function(x):
    g = keras.random.SeedGenerator(1)

    @tf.function
    def step(batch):
        y, m = C.block_mask(batch, 8, seed=g, return_mask=True)
        return C.gaussian_noise(C.dropout_mask(y, 0.2, seed=g), 0.1, seed=g), m

    (a, ma), (_, mb) = step(x), step(x)
    assert a.shape == x.shape and ma.shape == x.shape
    assert not np.array_equal(np.asarray(ma), np.asarray(mb))


def test_inside_tf_data_map(x):
    g = keras.random.SeedGenerator(1)
    ds = tf.data.Dataset.from_tensor_slices(x.reshape(N, -1)).batch(16)
    ds = ds.map(lambda b: C.block_mask(b, 6, seed=g, image_shape=(28, 28), return_mask=True)).map(
        lambda y, m: (C.salt_and_pepper(y, 0.1, seed=g), m)
    )
    masks = [np.asarray(m) for _, m in ds]
    assert len(masks) == 4 and masks[0].shape == (16, 784)
    np.testing.assert_array_equal(np.concatenate(masks).sum(1), 36)
    assert not np.array_equal(masks[0], masks[1])  # fresh noise per batch


@pytest.mark.parametrize("kind", ["uniform", "normal"])
@pytest.mark.parametrize("jit", [False, True])
def test_generator_draws_equal_keras_random(kind, jit):
    # The same values as keras.random from an equally seeded generator, in an
    # XLA program too, where rng's explicit Philox compiles ~30x faster on CPU.
    ours = tf.function(lambda g: getattr(rng, kind)((500, 40), g), jit_compile=jit)
    keras_ = tf.function(lambda g: getattr(keras.random, kind)((500, 40), seed=g), jit_compile=jit)
    g1, g2 = keras.random.SeedGenerator(3), keras.random.SeedGenerator(3)
    draws = [ours(g1).numpy() for _ in range(2)]
    np.testing.assert_array_equal(draws, [keras_(g2).numpy() for _ in range(2)])
    assert not np.array_equal(*draws)  # fresh per call
    mean, std = (0.5, 12**-0.5) if kind == "uniform" else (0.0, 1.0)
    for v in draws:
        assert abs(v.mean() - mean) < 0.02 and abs(v.std() - std) < 0.02


def test_models_training_noise_names_philox():
    # What makes the draws fast under XLA: every random op the models' noise
    # traces to names Philox (alg 1), not keras.random's auto-select (alg 3).
    from tensorflow.python.framework import tensor_util

    from keras_ae import VAE, DenoisingAutoencoder, SemanticHashingAE

    dae = DenoisingAutoencoder(input_shape=(784,), latent_dim=8, noise="gaussian")
    vae = VAE(input_shape=(784,), latent_dim=8)
    sh = SemanticHashingAE(input_shape=(784,), latent_dim=8, binarization="straight_through")
    draws = {
        "denoising": lambda: dae.corrupt(tf.ones((4, 784))),
        "vae": lambda: vae.draw_noise((4, 8)),
        "hashing": lambda: sh.binarize(tf.zeros((4, 8))),
        "block mask": lambda: C.block_mask(tf.ones((4, 28, 28)), 8, seed=dae.seed_generator),
    }
    for name, draw in draws.items():
        graph = tf.function(draw).get_concrete_function().graph
        random_ops = [
            op
            for op in graph.get_operations()
            if op.type.startswith("StatelessRandom") and op.type.endswith("V2")
        ]
        assert random_ops, name
        for op in random_ops:
            assert tensor_util.constant_value(op.inputs[-1]) == 1, (name, op.type)


def test_int_and_none_seeds_are_keras_random():
    np.testing.assert_array_equal(
        rng.uniform((8, 8), 4).numpy(), keras.random.uniform((8, 8), seed=4).numpy()
    )
    np.testing.assert_array_equal(
        rng.normal((8, 8), 4, stddev=2.0).numpy(),
        keras.random.normal((8, 8), stddev=2.0, seed=4).numpy(),
    )
    assert rng.normal((3,), None).shape == (3,)


def test_errors(x):
    with pytest.raises(ValueError, match="dropout.*gaussian.*salt_and_pepper.*block"):
        C.corrupt(x, "poisson")
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            C.corrupt(x, "dropout", rate=bad)
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            C.salt_and_pepper(x, bad)
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            C.random_missing(x, bad)
    with pytest.raises(ValueError, match="stddev"):
        C.corrupt(x, "gaussian", stddev=-1.0)
    with pytest.raises(
        ValueError,
        match=r"'gaussian' corruption takes the parameters "
        r"\['stddev', 'clip'\]; got unknown parameter\(s\) \['rate'\]",
    ):
        C.corrupt(x, "gaussian", rate=0.3)
    with pytest.raises(ValueError, match="image_shape"):
        C.block_mask(x.reshape(N, -1), 4)
    with pytest.raises(ValueError, match="size"):
        C.block_mask(x, 29)
    with pytest.raises(ValueError, match="factor"):
        C.downsample(x, 3)
    with pytest.raises(ValueError, match="seed"):
        C.dropout_mask(x, 0.1, seed="abc")


def test_scale_dependent_corruptions_refuse_integer_pixels():
    """On uint8 pixels a salt value of 1 is almost black and noise of std 0.3
    moves a pixel by a fraction of a grey level."""
    pixels = np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype("uint8")
    for fn, kwargs in ((C.salt_and_pepper, {"rate": 0.2}), (C.gaussian_noise, {"stddev": 0.3})):
        with pytest.raises(ValueError, match=r"takes float batches .*got dtype uint8.*divide"):
            fn(pixels, seed=0, **kwargs)
    masked = C.dropout_mask(pixels, 0.5, seed=np.int64(3))  # scale-free: float32 back
    assert masked.dtype == "float32"
    np.testing.assert_array_equal(
        np.asarray(masked), np.asarray(C.dropout_mask(pixels, 0.5, seed=3))
    )
    x = pixels / 255.0
    for bad, message in (
        (dict(stddev=float("nan")), "stddev must be a finite number >= 0, got nan"),
        (dict(stddev=0.1, clip=1), "clip must be None or \\(lo, hi\\)"),
    ):
        with pytest.raises(ValueError, match=message):
            C.gaussian_noise(x, seed=0, **bad)
    with pytest.raises(ValueError, match="rate must be a number in"):
        C.dropout_mask(x, "0.5", seed=0)


def test_corruption_arguments_are_checked_by_name():
    """stddev=inf gave all-inf batches, stddev="0.5" a TensorFlow TypeError, a
    seed of 2**70 a tensor-conversion error naming nothing, and complex input
    lost its imaginary part in the scale-free corruptions."""
    x = np.full((2, 4, 4), 0.5, "float32")
    checks = [
        (
            lambda: C.gaussian_noise(x, stddev=float("inf")),
            r"stddev must be a finite number >= 0, got inf",
        ),
        (lambda: C.gaussian_noise(x, stddev="0.5"), r"stddev must be .* got '0\.5'"),
        (lambda: C.gaussian_noise(x, 0.1, clip=("0", "1")), r"clip must be None or \(lo, hi\)"),
        (lambda: C.gaussian_noise(x.astype("float16"), 1e5, seed=0), r"overflowed float16"),
        (lambda: C.dropout_mask(x, 0.5, seed=2**70), r"seed must be an integer in \[-2\*\*63"),
        (lambda: C.block_mask(x, 2, seed=2**70), r"seed must be an integer in \[-2\*\*63"),
        (lambda: C.dropout_mask(x + 1j, 0.5, seed=0), r"real numbers, got dtype complex"),
        (lambda: C.random_missing(x + 1j, 0.5, seed=0), r"real numbers, got dtype complex"),
        (lambda: C.salt_and_pepper(x, 0.1, seed=0, high=float("inf")), r"high must be a finite"),
        (
            lambda: C.salt_and_pepper(x.astype("float16"), 0.1, seed=0, high=1e5),
            r"high must be a finite number that float16 holds",
        ),
        (lambda: C.block_mask(x, 2, seed=0, value="grey"), r"value must be a number"),
        (lambda: C.block_mask(x, True, seed=0), r"size must be a positive int, got True"),
        (
            lambda: C.block_mask(x.reshape(2, 16), 2, seed=0, image_shape=(4, "4")),
            r"image_shape must be a tuple of positive integers",
        ),
        (
            lambda: C.random_missing(x, 0.5, seed=0, fill=float("inf")),
            r"fill must be a finite number \(or NaN",
        ),
    ]
    for call, message in checks:
        with pytest.raises(ValueError, match=message):
            call()
    filled, mask = C.random_missing(x, 0.5, seed=0, fill=float("nan"))  # NaN marks missing
    assert np.array_equal(np.isnan(np.asarray(filled)), np.asarray(mask) > 0)
    np.testing.assert_array_equal(np.asarray(C.dropout_mask(x, 0.5, seed=2**63 - 1)).shape, x.shape)
