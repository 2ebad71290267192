"""The checks every autoencoder variant goes through, and the forms it is tested in.

`CASES` maps a case name to `(cls, kwargs)`: every class of
`keras_ae.models.VARIANTS` in a small MLP form and, where the class accepts
one, a small conv form (a subclass's case counts for its base class:
ConvAutoencoder's for Autoencoder). A registered class missing from the table
gets both by default, so a new variant is checked by being registered. Each
`check_*` asserts one promise (like KerasHub's `TestCase.run_*_test`);
tests/test_registry.py applies them all to every case."""

import json

import keras
import numpy as np
import tensorflow as tf

from keras_ae import export, models

MLP = {"input_shape": (784,), "latent_dim": 16, "hidden_units": (64,)}
CONV = {"input_shape": (28, 28, 1), "latent_dim": 16, "network": "conv", "filters": (8, 16)}

CASES = {
    "Autoencoder": (models.Autoencoder, {"input_shape": (784,), "latent_dim": 16}),
    "TiedAutoencoder": (models.TiedAutoencoder, {"input_shape": (784,), "latent_dim": 16}),
    "DeepAutoencoder": (
        models.DeepAutoencoder,
        {"input_shape": (784,), "latent_dim": 16, "hidden_units": (64, 32)},
    ),
    "DeepAutoencoder_conv": (models.DeepAutoencoder, {**CONV, "hidden_units": (32,)}),
    "ConvAutoencoder": (
        models.ConvAutoencoder,
        {"input_shape": (28, 28, 1), "latent_dim": 16, "filters": (8, 16)},
    ),
    # Fully convolutional: a stride-1 layer, then a 14x14x2 spatial code.
    "ConvAutoencoder_spatial": (
        models.ConvAutoencoder,
        {
            "input_shape": (28, 28, 1),
            "latent_dim": 14 * 14 * 2,
            "filters": (8, 8),
            "strides": (1, 2),
            "code_layer": "conv",
        },
    ),
    "SparseAutoencoder_l1": (
        models.SparseAutoencoder,
        {"input_shape": (784,), "latent_dim": 64, "mode": "l1"},
    ),
    "SparseAutoencoder_kl": (
        models.SparseAutoencoder,
        {"input_shape": (784,), "latent_dim": 64, "mode": "kl", "rho": 0.1},
    ),
    "SparseAutoencoder_conv": (models.SparseAutoencoder, CONV),
    "DenoisingAutoencoder": (
        models.DenoisingAutoencoder,
        {
            "input_shape": (784,),
            "latent_dim": 16,
            "noise": "dropout",
            "noise_params": {"rate": 0.5},
        },
    ),
    "DenoisingAutoencoder_conv": (models.DenoisingAutoencoder, {**CONV, "noise": "dropout"}),
    "ContractiveAutoencoder": (
        models.ContractiveAutoencoder,
        {"input_shape": (784,), "latent_dim": 16, "contractive_weight": 1.0},
    ),
    "ContractiveAutoencoder_conv": (models.ContractiveAutoencoder, CONV),
    "VAE": (models.VAE, {"input_shape": (784,), "latent_dim": 8, "hidden_units": (64,)}),
    "VAE_conv": (models.VAE, {**CONV, "latent_dim": 8}),
    "SemanticHashingAE": (
        models.SemanticHashingAE,
        {"input_shape": (784,), "latent_dim": 16, "hidden_units": (64,)},
    ),
    "SemanticHashingAE_conv": (models.SemanticHashingAE, CONV),
    "IWAE": (
        models.IWAE,
        {
            "input_shape": (784,),
            "latent_dim": 8,
            "hidden_units": (64,),
            "num_importance_samples": 2,
            "gradient_estimator": "dreg",
        },
    ),
    "IWAE_conv": (models.IWAE, {**CONV, "latent_dim": 8, "num_importance_samples": 3}),
    # Two stochastic layers (MLPs only), the IWAE-2 bound with DReG gradients.
    "HierarchicalVAE": (
        models.HierarchicalVAE,
        {
            "input_shape": (784,),
            "latent_dim": 8,
            "intermediate_dim": 16,
            "hidden_units": (64,),
            "top_hidden_units": (32,),
            "num_importance_samples": 2,
            "gradient_estimator": "dreg",
        },
    ),
    # A 7x7 map of 8-d vectors, K=32 codes, EMA codebook (all-reduced across replicas).
    "VQVAE_conv": (models.VQVAE, {**CONV, "latent_dim": 8, "num_codes": 32}),
}
# A conditional variant's cases (it needs its condition's size); fed (x, labels).
CONDITIONAL = {"num_classes": 10}
CASES["ConditionalVAE"] = (models.ConditionalVAE, {**MLP, "latent_dim": 8, **CONDITIONAL})
CASES["ConditionalVAE_conv"] = (models.ConditionalVAE, {**CONV, "latent_dim": 8, **CONDITIONAL})
#: Arguments a class cannot be built without, added where a check builds one.
REQUIRED = {models.ConditionalVAE: CONDITIONAL}


def accepts(cls, kwargs):
    """Whether `cls(**kwargs)` builds (TiedAutoencoder refuses conv networks)."""
    try:
        cls(**{**REQUIRED.get(cls, {}), **kwargs})
    except ValueError:
        return False
    return True


def covers(cls, network):
    """Whether a case tests `cls`, or a subclass of it, with `network`."""
    return any(
        issubclass(c, cls) and c(**kwargs).network == network for c, kwargs in CASES.values()
    )


for _name, _cls in models.VARIANTS.items():  # a newly registered variant: the default forms
    if not any(c is _cls for c, _ in CASES.values()):
        CASES[_name] = (_cls, MLP)
        if accepts(_cls, CONV):
            CASES[f"{_name}_conv"] = (_cls, CONV)


def make(name):
    """A fresh model of the case `name`."""
    cls, kwargs = CASES[name]
    return cls(**kwargs)


def data(model, x):
    """Flattened images `x` in the model's input shape."""
    return x.reshape((-1,) + model.input_shape_)


def inputs(model, x):
    """What the model's `fit`, `evaluate`, `predict`, `encode` and
    `compute_losses` take for samples `x`: `(x,)`, or for a conditional model
    `(x, labels)`, the labels cycling through its classes."""
    if isinstance(model, models.ConditionalVAE):
        return x, np.arange(len(x)) % model.num_classes
    return (x,)


def check_config_round_trip(model):
    """`get_config` is plain JSON, and `from_config` rebuilds the same model."""
    config = model.get_config()
    json.dumps(config)  # plain JSON, nothing pickled
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()


def check_fit_lowers_the_loss(
    model, x_train, x_test=None, *, epochs=2, batch_size=64, **compile_kwargs
):
    """`fit` reports finite losses that fall. With `x_test`, also: every loss
    term in `model.loss_names` is logged for training and validation, and the
    test reconstruction loss falls. (Not every term falls: a VAE's KL grows
    from its start near 0.)"""
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **compile_kwargs)
    if x_test is None:
        history = model.fit(
            *inputs(model, x_train), epochs=epochs, batch_size=batch_size, verbose=0
        )
        assert np.isfinite(history.history["loss"]).all()
        assert history.history["loss"][-1] < history.history["loss"][0]
        return
    test = inputs(model, x_test)
    before = model.evaluate(*test, verbose=0, return_dict=True)
    history = model.fit(
        *inputs(model, x_train),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        validation_data=test,
    )
    after = model.evaluate(*test, verbose=0, return_dict=True)
    assert set(history.history) == set(model.loss_names) | {f"val_{n}" for n in model.loss_names}
    assert set(after) == set(model.loss_names)
    assert all(np.isfinite(v) for v in after.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert after["reconstruction_loss"] < before["reconstruction_loss"]


def check_gradient_on_every_variable(model, x):
    """The training loss gives every trainable variable a non-zero gradient."""
    args = [tf.constant(a) for a in inputs(model, x)]
    with tf.GradientTape() as tape:
        loss = model.compute_losses(*args, training=True)["loss"]
    grads = tape.gradient(loss, model.trainable_variables)
    assert model.trainable_variables
    for var, grad in zip(model.trainable_variables, grads, strict=True):
        assert grad is not None, f"{var.path} gets no gradient"
        assert np.any(np.asarray(grad) != 0), f"{var.path} gets an all-zero gradient"


def check_saving_reloads_exactly(model, x, tmp_path):
    """A `.keras` file of the trained `model` (its optimizer state included)
    loads in safe mode as the same class giving bit-identical outputs and codes."""
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    args = inputs(model, x)
    np.testing.assert_array_equal(loaded.predict(*args, verbose=0), model.predict(*args, verbose=0))
    np.testing.assert_array_equal(loaded.encode(*args), model.encode(*args))


def check_mixed_precision(cls, kwargs, x):
    """Built under mixed_float16, the model scales its loss, trains to a falling
    finite loss and predicts float32."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = cls(**kwargs)
        model.compile(optimizer="adam")
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        x = data(model, x)
        # Dynamic loss scaling starts at 2**15 and skips the steps whose fp16
        # gradients overflow while it halves the scale: give it steps to settle.
        history = model.fit(*inputs(model, x), epochs=2, batch_size=16, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert history.history["loss"][-1] < history.history["loss"][0]
        assert model.predict(*inputs(model, x[:4]), verbose=0).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def noise_free(cls, kwargs):
    """`(cls, kwargs, pairs)`: the variant with its training noise switched off.
    `pairs`: feed it `(noisy, clean)` pairs, as a denoiser draws no noise then."""
    if issubclass(cls, models.VAE):  # reparameterisation noise eps = 0
        cls = type(
            f"NoNoise{cls.__name__}",
            (cls,),
            {"draw_noise": lambda self, shape: keras.ops.zeros(shape)},
        )
    if issubclass(cls, models.SemanticHashingAE):
        kwargs = {**kwargs, "noise_std": 0.0}
    return cls, kwargs, issubclass(cls, models.DenoisingAutoencoder)


def one_step(cls, kwargs, strategy, weights, x, y=None):
    """The weights after one SGD step on the whole of `x`, under `strategy`."""
    with strategy.scope():
        model = cls(**kwargs)
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01))
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


def check_replicas_match(cls, kwargs, x, strategies):
    """One step on 2 replicas moves the weights as one step on 1 does (a
    per-replica mean not divided by the replica count doubles it).
    `strategies`: a one-device and a two-device strategy."""
    cls, kwargs, pairs = noise_free(cls, kwargs)
    keras.utils.set_random_seed(0)
    base = cls(**kwargs)
    x = data(base, x)
    y = None
    if isinstance(base, models.ConditionalVAE):
        x, y = inputs(base, x)
    if pairs:
        y = x
        x = x * (np.random.default_rng(0).random(x.shape) > 0.5)
    weights = base.get_weights()
    one = one_step(cls, kwargs, strategies[0], weights, x, y)
    two = one_step(cls, kwargs, strategies[1], weights, x, y)
    moved = max(float(np.abs(a - w).max()) for a, w in zip(one, weights, strict=True))
    assert moved > 1e-4, "the step did not change the weights"
    # To float32 rounding, which the summation order (one sum of 64 samples,
    # or two of 32) changes most where a conv layer's bias sums a gradient
    # over every pixel and moves by 1.5 to 3: 1e-4 of the largest step there.
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(a, b, atol=max(1e-5, 1e-4 * moved), rtol=0)


BASE_SIGNATURES = {"reconstruct", "encode", "decode", "serving_default"}
EXTRA_SIGNATURES = {
    models.VAE: {"sample", "encode_distribution"},
    models.SemanticHashingAE: {"hash"},
}


def check_export(model, x, tmp_path):
    """The SavedModel export verifies on `x`, has the variant's signatures with
    float32 inputs of a dynamic batch, and matches the Keras model on odd batches."""
    if isinstance(model, models.ConditionalVAE):
        return check_conditional_export(model, x, tmp_path)
    result = export.export_saved_model(model, tmp_path / "saved_model", verify_data=x)
    assert result.report.passed and result.report.max_abs_error <= 1e-5
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    expected = set(BASE_SIGNATURES)
    for cls, names in EXTRA_SIGNATURES.items():
        expected |= names if isinstance(model, cls) else set()
    assert set(loaded.signatures) == expected

    x_sig = (None,) + model.input_shape_
    for key in ("reconstruct", "encode", "serving_default"):
        spec = loaded.signatures[key].structured_input_signature[1]["x"]
        assert spec.dtype == tf.float32 and tuple(spec.shape) == x_sig
    # Dynamic batch: odd sizes run and match the Keras model.
    # Codes are float32 vectors, or int32 code maps (VQVAE).
    code_dtype = tf.int32 if isinstance(model, models.VQVAE) else tf.float32
    for n in (1, 7):
        batch = x[:n]
        rec = loaded.signatures["reconstruct"](x=tf.constant(batch))["reconstruction"]
        code = loaded.signatures["encode"](x=tf.constant(batch))["code"]
        dec = loaded.signatures["decode"](z=code)["reconstruction"]
        assert rec.dtype == dec.dtype == tf.float32 and code.dtype == code_dtype
        np.testing.assert_allclose(rec.numpy(), model.reconstruct(batch), atol=1e-5)
        np.testing.assert_allclose(code.numpy(), model.encode(batch), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(dec.numpy(), model.decode(code.numpy()), atol=1e-5)


def check_conditional_export(model, x, tmp_path):
    """A conditional model's SavedModel (every signature takes `labels`) and
    LiteRT decoder verify on `(x, labels)` and match the Keras model on odd
    batches; `sample(labels, seed)` decodes the stateless draw of that seed."""
    x, labels = inputs(model, x)
    labels = labels.astype("int32")
    result = export.export_saved_model(model, tmp_path / "saved_model", verify_data=(x, labels))
    report = result.report  # the same report as every export's, not a bare number
    assert report.passed and report.max_abs_error <= 1e-5 and report.format == "saved_model"
    assert report.parts == ("full", "encoder", "decoder") and report.num_samples == len(x)
    assert abs(report.export_metric - report.keras_metric) <= 1e-6
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    expected = {"reconstruct", "encode", "decode", "sample", "serving_default"}
    if model.num_classes:  # the class count the runners check ids against
        expected.add("num_classes")
        assert int(loaded.signatures["num_classes"]()["num_classes"]) == model.num_classes
    assert set(loaded.signatures) == expected
    for n in (1, 7):
        xb, yb = tf.constant(x[:n]), tf.constant(labels[:n])
        code = loaded.signatures["encode"](x=xb, labels=yb)["code"].numpy()
        rec = loaded.signatures["reconstruct"](x=xb, labels=yb)["reconstruction"].numpy()
        np.testing.assert_allclose(code, model.encode(x[:n], labels[:n]), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(rec, model.reconstruct(x[:n], labels[:n]), atol=1e-5)
    seed = tf.constant([3, 4], tf.int64)
    drawn = loaded.signatures["sample"](labels=tf.constant(labels[:5]), seed=seed)["samples"]
    z = tf.random.stateless_normal((5, model.latent_dim), seed).numpy()
    np.testing.assert_allclose(drawn.numpy(), model.decode(z, labels[:5]), atol=1e-5)
    lite = export.export_tflite(
        model, tmp_path / "decoder.tflite", part="decoder", verify_data=(x, labels)
    )
    assert lite.report.passed and lite.report.max_abs_error <= 1e-4
    assert lite.report.parts == ("decoder",) and "tflite (float32, decoder)" in str(lite.report)


def check_more_samples_not_lower(model, x, small=5000, large=50_000, repeats=4):
    """The honest estimator: `log_likelihood` with `large` importance samples
    per input may only be higher than with `small` in expectation, so it must
    not fall below the mean of `repeats` small estimates by more than their
    spread (3 standard deviations, floor 0.01 nats)."""
    estimates = np.stack(
        [model.log_likelihood(x, num_samples=small, chunk=2500, seed=s) for s in range(repeats)]
    )
    more = model.log_likelihood(x, num_samples=large, chunk=2500, seed=repeats)
    noise = estimates.std(axis=0, ddof=1) + 0.01
    assert np.all(np.isfinite(more)) and np.all(more < 0), more
    assert np.all(more >= estimates.mean(axis=0) - 3 * noise), (more, estimates)
    return estimates, more
