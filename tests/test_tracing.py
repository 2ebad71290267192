"""A compiled step is traced once per model, whatever the number of samples
(issue 28): the batch size is unknown to the trace from the start."""

import numpy as np
import pytest
import tensorflow as tf

from keras_ae.models import VAE, DeepAutoencoder
from keras_ae.training import tracing


def counting(cls):
    """`cls` counting the Python traces of its train and test steps."""

    class Counting(cls):
        traces = {"train": 0, "test": 0}

        def train_step(self, data):
            Counting.traces["train"] += 1
            return super().train_step(data)

        def test_step(self, data):
            Counting.traces["test"] += 1
            return super().test_step(data)

    return Counting


@pytest.mark.parametrize("cls", [DeepAutoencoder, VAE])
def test_another_number_of_samples_traces_nothing_new(cls):
    """1,280 samples are 40 full batches of 32 (a static batch size); 1,000
    and 300 end with a partial batch. Before the fix the first partial batch
    traced the step again (and XLA compiled it again)."""
    model = counting(cls)(input_shape=(784,), latent_dim=4, hidden_units=(16,), seed=0)
    model.compile(optimizer="adam")
    x = np.random.default_rng(0).random((1280, 784), dtype=np.float32)
    model.fit(x, x, epochs=1, batch_size=32, validation_data=(x[:256], x[:256]), verbose=0)
    first = dict(model.traces)
    assert first["train"] >= 1 and first["test"] >= 1
    for n in (1000, 300, 1280):
        part = x[:300]
        model.fit(x[:n], x[:n], epochs=2, batch_size=32, validation_data=(part, part), verbose=0)
        model.evaluate(x[: n - 7], x[: n - 7], batch_size=32, verbose=0)
    assert model.traces == first


@pytest.mark.parametrize("cls", [DeepAutoencoder, VAE])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_a_fresh_fit_traces_its_step_once(cls, jit_compile):
    """Without a distribution strategy Keras built the optimizer inside the
    step's first trace; a `tf.function` that creates variables on its first
    call is traced again, so every fresh `fit` traced its step twice."""
    model = counting(cls)(input_shape=(784,), latent_dim=4, hidden_units=(16,), seed=0)
    model.compile(optimizer="adam", jit_compile=jit_compile)
    x = np.random.default_rng(0).random((320, 784), dtype=np.float32)
    model.fit(x, epochs=2, batch_size=32, validation_data=(x[:64],), verbose=0)
    assert model.traces == {"train": 1, "test": 1}
    assert model.optimizer.iterations.numpy() == 20


def test_evaluate_alone_builds_no_optimizer():
    """Building the optimizer ahead of the trace is for `fit`: a model that is
    only evaluated gets no optimizer slots (Adam's two per weight)."""
    model = VAE(input_shape=(784,), latent_dim=4, hidden_units=(16,), seed=0)
    model.compile(optimizer="adam")
    x = np.random.default_rng(0).random((64, 784), dtype=np.float32)
    model.evaluate(x, batch_size=32, verbose=0)
    assert not model.optimizer.built
    model.fit(x, epochs=1, batch_size=32, verbose=0)
    assert model.optimizer.built


def test_an_epoch_of_few_batches_is_traced_once_for_its_setting():
    """Fewer batches than 8 run in one execution of their own (a new trace);
    going back and forth between settings traces nothing more."""
    model = counting(DeepAutoencoder)(input_shape=(8,), latent_dim=2, hidden_units=(4,), seed=0)
    model.compile(optimizer="adam")
    x = np.random.default_rng(0).random((256, 8), dtype=np.float32)
    model.fit(x, epochs=1, batch_size=16, verbose=0)  # 16 batches: 8 per execution
    usual = model.traces["train"]
    model.fit(x[:40], epochs=1, batch_size=16, verbose=0)  # 3 batches: 3 per execution
    assert model.steps_per_execution == 3 and model.traces["train"] > usual
    both = model.traces["train"]
    for n in (256, 40, 200, 33):
        model.fit(x[:n], epochs=1, batch_size=16, verbose=0)
    assert model.traces["train"] == both
    model.compile(optimizer="adam")  # a new optimizer: traced again
    model.fit(x, epochs=1, batch_size=16, verbose=0)
    assert model.traces["train"] > both


def test_another_kind_of_batch_is_traced_once_more():
    """A new structure (x with separate targets after x alone) needs its own
    trace, once, for any batch size."""
    model = counting(DeepAutoencoder)(input_shape=(8,), latent_dim=2, hidden_units=(4,), seed=0)
    model.compile(optimizer="adam")
    x = np.random.default_rng(0).random((64, 8), dtype=np.float32)
    model.fit(x, epochs=1, batch_size=16, verbose=0)
    alone = model.traces["train"]
    model.fit(x, x, epochs=1, batch_size=16, verbose=0)
    paired = model.traces["train"]
    assert paired > alone
    model.fit(x[:50], x[:50], epochs=1, batch_size=16, verbose=0)
    model.fit(x[:50], epochs=1, batch_size=16, verbose=0)
    assert model.traces["train"] == paired


def test_any_batch_unknows_the_first_dimension_only():
    spec = (
        tf.TensorSpec([128, 28, 28, 1], tf.float32, name="x"),
        {"label": tf.TensorSpec([128], tf.int32), "step": tf.TensorSpec([], tf.int64)},
        tf.RaggedTensorSpec([128, None], tf.float32),
    )
    relaxed = tracing.any_batch(spec)
    assert relaxed[0] == tf.TensorSpec([None, 28, 28, 1], tf.float32, name="x")
    assert relaxed[1]["label"] == tf.TensorSpec([None], tf.int32)
    assert relaxed[1]["step"] == spec[1]["step"]  # a scalar has no batch
    assert relaxed[2] == spec[2]


def test_a_model_run_eagerly_keeps_kerass_function():
    model = DeepAutoencoder(input_shape=(8,), latent_dim=2, hidden_units=(4,), seed=0)
    model.compile(optimizer="adam", run_eagerly=True)
    model.make_train_function()
    function = model.train_function
    assert tracing.any_batch_size(function) is function
