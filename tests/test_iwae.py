"""Importance-weighted training (IWAE, plain and DReG gradients) and the VAE
with two stochastic layers: the bound's behaviour in k, the estimators'
gradients, the honest log-likelihood estimate, sampling, LiteRT export and
the zoo script's resumable runs. The registry-wide checks (config, fit,
XLA, mixed precision, replicas, SavedModel) run on both classes through
tests/helpers.py CASES."""

import json
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO
from helpers import check_more_samples_not_lower

from keras_ae import export
from keras_ae.models import IWAE, HierarchicalVAE
from keras_ae.models.iwae import iwae_bound

SMALL = dict(
    input_shape=(784,),
    latent_dim=8,
    intermediate_dim=16,
    hidden_units=(32,),
    top_hidden_units=(16,),
)


def binarized(x, seed=0):
    return (np.random.default_rng(seed).random(x.shape) < x).astype("float32")


def fixed_noise(cls, seed=0):
    """`cls` whose training draws the same noise every call (one fixed draw)."""
    cache = {}

    def draw(self, k, batch):
        key = (int(k), int(batch))
        if key not in cache:
            keras.utils.set_random_seed(seed)
            cache[key] = cls.draw_importance_noise(self, k, batch)
        return cache[key]

    return type(f"Fixed{cls.__name__}", (cls,), {"draw_importance_noise": draw})


@pytest.fixture(scope="module")
def trained(mnist_small):
    """A Burda-size two-layer model after 2 ELBO epochs on 1,024 images."""
    keras.utils.set_random_seed(0)
    x = binarized(mnist_small[0])
    model = HierarchicalVAE(input_shape=(784,), seed=0)
    model.init_output_bias(mnist_small[0])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    model.fit(x, epochs=2, batch_size=32, verbose=0)
    return model


def test_bound_of_one_sample_is_the_log_weight():
    log_w = tf.constant([[-3.0, -7.5]])
    np.testing.assert_allclose(iwae_bound(log_w), [-3.0, -7.5])
    # k equal weights: the bound is that weight; k spread ones: above their mean.
    np.testing.assert_allclose(iwae_bound(tf.fill((5, 2), -4.0)), [-4.0, -4.0], rtol=1e-6)
    spread = tf.constant([[-1.0], [-9.0]])
    assert float(iwae_bound(spread)[0]) > -5.0


@pytest.mark.parametrize("cls", [IWAE, HierarchicalVAE])
def test_loss_at_k1_is_the_negative_elbo(cls, mnist_small):
    """At k=1 the objective is -ELBO: reconstruction + (Monte Carlo) KL of the same draw."""
    kwargs = SMALL if cls is HierarchicalVAE else dict(input_shape=(784,), latent_dim=8)
    model = fixed_noise(cls)(num_importance_samples=1, **kwargs)
    terms = model.compute_losses(tf.constant(binarized(mnist_small[0][:32])), training=True)
    np.testing.assert_allclose(
        float(terms["loss"]), float(terms["reconstruction_loss"] + terms["kl_loss"]), rtol=1e-6
    )


def test_bound_rises_with_k_on_a_fixed_model(trained, mnist_small):
    """E[log_likelihood with k samples] is the IWAE-k bound: it rises with k,
    and at k=1 it is the ELBO that evaluate reports (as -loss) at k=1."""
    x = binarized(mnist_small[1])
    bounds = {}
    for k in (1, 5, 50):
        keras.utils.set_random_seed(0)
        bounds[k] = float(np.mean(trained.log_likelihood(x, num_samples=k)))
    assert bounds[1] + 1.0 < bounds[5] < bounds[50] - 0.5, bounds
    elbo = -np.mean(
        [trained.evaluate(x, verbose=0, batch_size=256, return_dict=True)["loss"] for _ in range(4)]
    )
    assert abs(elbo - bounds[1]) < 1.0, (elbo, bounds[1])  # two estimates of one ELBO


def test_log_likelihood_at_50000_samples_is_not_below_5000(trained, mnist_small):
    """The honest estimator on a briefly trained two-layer model (the zoo's
    iwae2_mnist gets the same check in tests/test_zoo.py)."""
    check_more_samples_not_lower(trained, binarized(mnist_small[1][:4]))


@pytest.mark.parametrize("cls", [IWAE, HierarchicalVAE])
def test_dreg_changes_only_the_encoder_gradient(cls, mnist_small):
    """With the same draw, DReG's objective value and decoder gradient are the
    plain estimator's; the encoder's gradient differs (weights w~^2, q's
    parameters fixed in log q)."""
    kwargs = SMALL if cls is HierarchicalVAE else dict(input_shape=(784,), latent_dim=8)
    x = tf.constant(binarized(mnist_small[0][:32]))
    grads, values = {}, {}
    for estimator in ("plain", "dreg"):
        keras.utils.set_random_seed(0)
        model = fixed_noise(cls)(num_importance_samples=4, gradient_estimator=estimator, **kwargs)
        with tf.GradientTape() as tape:
            values[estimator] = model.compute_losses(x, training=True)["loss"]
        variables = model.encoder.trainable_variables + model.decoder.trainable_variables
        grads[estimator] = dict(
            zip(
                [v.path for v in variables],
                tape.gradient(values[estimator], variables),
                strict=True,
            )
        )
        encoder = {v.path for v in model.encoder.trainable_variables}
    np.testing.assert_allclose(values["plain"], values["dreg"], rtol=1e-6)
    for path, g in grads["plain"].items():
        if path in encoder:
            assert np.abs(g - grads["dreg"][path]).max() > 0.01 * np.abs(g).max(), path
        else:  # equal to float32 rounding
            np.testing.assert_allclose(g, grads["dreg"][path], atol=1e-4 * np.abs(g).max())


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_dreg_encoder_gradient_is_unbiased_and_steadier_at_large_k(beta, mnist_small):
    """Over fresh draws, DReG's encoder gradient has the plain one's mean (the
    same bound) and a smaller spread at k=64 (Tucker et al.'s point); with a
    KL weight beta != 1 too (and so during KL warm-up), where the path factor
    is w~((1 - beta) + beta w~), not w~^2."""
    x = tf.constant(binarized(mnist_small[0][:16]))
    keras.utils.set_random_seed(0)
    model = IWAE(
        input_shape=(784,), latent_dim=4, hidden_units=(16,), num_importance_samples=64, beta=beta
    )
    kernel = model.encoder.trainable_variables[0]
    draws = {}
    for estimator in ("plain", "dreg"):
        model.gradient_estimator = estimator
        out = []
        for _ in range(40):
            with tf.GradientTape() as tape:
                loss = model.compute_losses(x, training=True)["loss"]
            out.append(tape.gradient(loss, kernel).numpy().ravel())
        draws[estimator] = np.stack(out)
    plain, dreg = draws["plain"], draws["dreg"]
    assert dreg.std(axis=0).sum() < 0.7 * plain.std(axis=0).sum()
    err = np.sqrt(plain.var(axis=0) / 40 + dreg.var(axis=0) / 40).sum()
    assert np.abs(plain.mean(axis=0) - dreg.mean(axis=0)).sum() < 3 * err


def test_sampling_draws_the_middle_layer(trained):
    """`sample` draws z2, then z1 ~ p(z1|z2): repeatable by seed, different from
    decoding z2 through p(z1|z2)'s mean (the deterministic `decode`)."""
    a, b = trained.sample(8, seed=3), trained.sample(8, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (8, 784) and 0.0 <= a.min() and a.max() <= 1.0
    z = keras.random.normal((8, 50), seed=keras.random.SeedGenerator(3))
    assert not np.allclose(a, trained.decode(np.asarray(z)), atol=1e-3)
    assert trained.encode(a).shape == (8, 50)


def test_active_units_follow_burdas_definition(trained, mnist_small):
    from keras_ae.zoo import protocols

    x = mnist_small[1]
    means1, means2 = trained.posterior_means(binarized(x), num_samples=10)
    assert means1.shape == (256, 100) and means2.shape == (256, 50)
    for layer, means in ((1, means1), (2, means2)):
        active = protocols.active_units(trained, x, {}, layer=layer, samples=10)
        assert 0 < active <= means.shape[1]
    with pytest.raises(ValueError, match="layer must be in 1..2"):
        protocols.active_units(trained, x, {}, layer=3)


def test_decoder_exports_to_litert(trained, mnist_small, tmp_path):
    x = binarized(mnist_small[1][:16])
    result = export.export_tflite(trained, tmp_path / "d.tflite", part="decoder", verify_data=x)
    assert result.report.passed


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(network="conv"), "network must be 'mlp'"),
        (dict(gradient_estimator="reinforce"), "gradient_estimator"),
        (dict(num_importance_samples=0), "num_importance_samples"),
        (dict(top_hidden_units=(50, -1)), "top_hidden_units must be a list of positive ints"),
        (dict(encoder=keras.layers.Dense(4)), "builds its own four networks"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HierarchicalVAE(input_shape=(784,), **kwargs)


def test_zoo_run_resumes_from_its_last_commit(tmp_path, mnist_small):
    """train_zoo.py --run-dir: each epoch is committed; --resume restores the
    weights and optimizer state of the last one, refuses another entry's run,
    and the record sums the epochs' wall time."""
    sys.path[:0] = [str(REPO / "scripts")]
    try:
        import train_zoo
    finally:
        del sys.path[:1]
    spec = {"name": "iwae2_mnist", "epochs": 4, "kwargs": {"latent_dim": 4}}
    x = binarized(mnist_small[0][:256])
    model = IWAE(input_shape=(784,), latent_dim=4, hidden_units=(16,), seed=0)
    model.compile(optimizer="adam")
    state = train_zoo.resumable(tmp_path, False, spec, 0, model)
    model.fit(x, epochs=2, batch_size=64, verbose=0, callbacks=[train_zoo.EpochClock(), state])
    again = IWAE(input_shape=(784,), latent_dim=4, hidden_units=(16,), seed=0)
    again.compile(optimizer="adam")
    resumed = train_zoo.resumable(tmp_path, True, spec, 0, again)
    assert resumed.epochs == 2
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(again.optimizer.iterations) == int(model.optimizer.iterations) == 8
    record = train_zoo.run_record(resumed.history)
    assert record["epochs"] == 2 and record["seconds"] > 0 and "loss" in record["final"]
    with pytest.raises(SystemExit, match="already holds a run"):
        train_zoo.resumable(tmp_path, False, spec, 0, again)
    with pytest.raises(SystemExit, match="not"):
        train_zoo.resumable(tmp_path, True, {**spec, "name": "other"}, 0, again)
    assert json.loads((tmp_path / "zoo_run.json").read_text())["name"] == "iwae2_mnist"


@pytest.mark.parametrize("cls", [IWAE, HierarchicalVAE])
def test_log_likelihood_ignores_the_training_kl_weight(cls, mnist_small):
    """log p(x) has no beta: a model trained with beta=2 is measured like beta=1."""
    kwargs = SMALL if cls is HierarchicalVAE else dict(input_shape=(784,), latent_dim=8)
    x = binarized(mnist_small[1][:8])
    one, two = cls(beta=1.0, seed=0, **kwargs), cls(beta=2.0, seed=0, **kwargs)
    one(x[:1]), two(x[:1])
    two.set_weights(one.get_weights())
    np.testing.assert_allclose(
        one.log_likelihood(x, num_samples=50), two.log_likelihood(x, num_samples=50), rtol=1e-5
    )


@pytest.mark.parametrize("cls", [IWAE, HierarchicalVAE])
def test_log_likelihood_seed_repeats_and_leaves_the_generator(cls, mnist_small):
    """seed= makes the estimate repeatable (users could not reset the model's
    private generator) and does not move the model's own random stream."""
    kwargs = SMALL if cls is HierarchicalVAE else dict(input_shape=(784,), latent_dim=8)
    model = cls(seed=0, **kwargs)
    x = binarized(mnist_small[1][:6])
    a, b = (model.log_likelihood(x, num_samples=20, seed=3) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, model.log_likelihood(x, num_samples=20, seed=4))
    before = model.seed_generator.state.numpy().copy()
    model.log_likelihood(x, num_samples=20, seed=5)
    np.testing.assert_array_equal(model.seed_generator.state.numpy(), before)
    unseeded = [model.log_likelihood(x, num_samples=20) for _ in range(2)]
    assert not np.array_equal(*unseeded)  # without a seed, fresh draws each call
    with pytest.raises(ValueError, match="seed must be an int"):
        model.log_likelihood(x, num_samples=20, seed="0")
