"""Under XLA, `fit` on arrays trains in full batches (issue 28): an epoch's
last batch is filled up with samples drawn again (at most 5% of the epoch),
so XLA compiles the step for one batch shape, whatever the number of samples."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_ae.models import ConditionalVAE, DeepAutoencoder
from keras_ae.training import batching


def _model(jit_compile=True, cls=DeepAutoencoder):
    model = cls(input_shape=(6,), latent_dim=2, hidden_units=(8,), seed=0)
    model.compile(optimizer="adam", jit_compile=jit_compile)
    return model


def _epoch(dataset):
    return [np.asarray(batch) for batch in dataset]


def test_an_epoch_is_full_batches_holding_every_sample():
    rows = np.arange(1000, dtype="float32")[:, None] * np.ones(6, "float32")
    x, y, kwargs, _ = batching.full_batches(
        _model(), rows, None, (), {"batch_size": 32, "epochs": 3}, None
    )
    assert y is None and "batch_size" not in kwargs and kwargs["shuffle"] is False
    first, second = _epoch(x), _epoch(x)
    for epoch in (first, second):
        assert [len(b) for b in epoch] == [32] * 32  # ceil(1000 / 32) batches
        seen = np.concatenate(epoch)[:, 0]
        assert set(seen[:1000]) == set(range(1000))  # this pass over the data, whole
        assert len(seen) == 1024 and set(seen[1000:]) <= set(range(1000))  # 24 again
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))  # reshuffled


def test_shuffle_false_keeps_the_order_and_fills_up_from_the_start():
    rows = np.arange(102, dtype="float32")[:, None] * np.ones(6, "float32")
    target = rows + 0.5
    x, y, kwargs, _ = batching.full_batches(
        _model(), rows, target, (), {"batch_size": 4, "shuffle": False}, None
    )
    batches = list(x)
    assert y is None and len(batches) == 26
    inputs = np.concatenate([np.asarray(b[0]) for b in batches])[:, 0]
    targets = np.concatenate([np.asarray(b[1]) for b in batches])[:, 0]
    np.testing.assert_array_equal(inputs, [*range(102), 0, 1])
    np.testing.assert_array_equal(targets, inputs + 0.5)  # pairs stay together


def test_validation_split_holds_out_what_keras_holds_out():
    rows = np.arange(1000, dtype="float32")[:, None] * np.ones(6, "float32")
    x, _, kwargs, validation = batching.full_batches(
        _model(), rows, None, (), {"batch_size": 16, "validation_split": 0.25}, None
    )
    assert "validation_split" not in kwargs and kwargs["validation_batch_size"] == 16
    (held,) = validation
    np.testing.assert_array_equal(held, rows[750:])  # Keras's split: the last 250
    seen = np.concatenate(_epoch(x))[:, 0]
    assert len(seen) == 752 and set(seen) == set(range(750))


@pytest.mark.parametrize(
    "jit_compile, rows, kwargs",
    [
        (False, 1000, {"batch_size": 32}),  # no XLA: a partial batch compiles nothing
        (True, 992, {"batch_size": 32}),  # every batch full already
        (True, 20, {"batch_size": 32}),  # one batch of all there is
        (True, 100, {"batch_size": 32}),  # 28 of 100 drawn again: too many
        (True, 1000, {"batch_size": 32, "steps_per_epoch": 3}),
        (True, 1000, {"batch_size": 32, "shuffle": "batch"}),
    ],
)
def test_keras_batches_what_needs_no_filling(jit_compile, rows, kwargs):
    x = np.zeros((rows, 6), "float32")
    out = batching.full_batches(_model(jit_compile), x, None, (), kwargs, None)
    assert out[0] is x and out[2] is kwargs


def test_fit_with_validation_split_reports_the_held_out_loss():
    rng = np.random.default_rng(0)
    x = rng.random((1000, 6), dtype=np.float32)
    model = _model()
    history = model.fit(x, epochs=2, batch_size=32, validation_split=0.25, verbose=0)
    assert model.optimizer.iterations.numpy() == 2 * 24  # ceil(750 / 32) steps an epoch
    held_out = model.evaluate(x[750:], batch_size=32, verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(held_out["loss"], rel=1e-5)


def test_a_conditional_model_fills_its_batches_with_whole_pairs():
    """A ConditionalVAE's `fit(x, labels)` reaches Keras as one dict of arrays."""
    keras.utils.set_random_seed(0)
    model = ConditionalVAE(input_shape=(6,), latent_dim=2, num_classes=310, hidden_units=(8,))
    model.compile(optimizer="adam", jit_compile=True)
    ids = np.arange(310)
    packed = {"x": ids[:, None] * np.ones(6, "float32"), "labels": ids}
    data, _, _, _ = batching.full_batches(model, packed, None, (), {"batch_size": 32}, None)
    batches = list(data)
    assert [len(b["labels"]) for b in batches] == [32] * 10
    for batch in batches:
        np.testing.assert_array_equal(np.asarray(batch["x"])[:, 0], batch["labels"])
    x = (np.random.default_rng(0).random((310, 6)) > 0.5).astype("float32")
    history = model.fit(x, ids, epochs=5, batch_size=32, verbose=0)
    assert model.optimizer.iterations.numpy() == 5 * 10
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_the_reported_loss_is_the_mean_over_the_samples_the_batches_held():
    """1,000 samples at 32 in order: 31 batches, then 8 samples and the first
    24 again. With the weights held still (a learning rate of 0), the epoch's
    loss is the mean over those 1,024 samples."""
    x = np.random.default_rng(0).random((1000, 6)).astype("float32") * 0.1
    x[:24] = 3.0  # unusual samples, trained on twice an epoch
    model = DeepAutoencoder(input_shape=(6,), latent_dim=2, output_activation="linear")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), jit_compile=True)
    per_sample = np.sum((model.reconstruct(x) - x) ** 2, axis=1)
    history = model.fit(x, batch_size=32, shuffle=False, verbose=0)
    expected = np.concatenate([per_sample, per_sample[:24]]).mean()
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)


_COUNT_COMPILES = """
import numpy as np
from keras_ae.models import {cls}

model = {cls}(input_shape=(20,), latent_dim=2, hidden_units=(8,), seed=0)
model.compile(optimizer="adam", jit_compile=True)
x = np.random.default_rng(0).random((300, 20), dtype=np.float32)
for n in (300, 250, 299):  # 19, 16 and 19 batches of 16, the last of 12, 10 and 11
    model.fit(x[:n], epochs=2, batch_size=16, verbose=0)
"""


@pytest.mark.parametrize("cls", ["DeepAutoencoder", "VAE"])
def test_xla_compiles_the_train_step_once_whatever_the_number_of_samples(cls):
    """Counted in TensorFlow's own log of XLA compilations. Before, each fit
    compiled again for its last, partial batch: 4 compilations here."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", TF_CPP_VMODULE="device_compiler=1")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_COUNT_COMPILES.format(cls=cls))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    compiles = [n for n in done.stderr.splitlines() if "Compilation of XLA executable" in n]
    assert len(compiles) == 1, "\n".join(compiles)
