"""Training plumbing: data forms, callbacks, XLA, mixed precision, multi-worker."""

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import CASES, data

from keras_ae import models


def test_numpy_tf_data_and_pairs_train_the_same_model(mnist_small):
    x = mnist_small[0][:256]
    model = models.Autoencoder(input_shape=(784,), latent_dim=8)
    model.compile(optimizer="adam")
    h_numpy = model.fit(x, epochs=1, batch_size=64, verbose=0).history
    h_pairs = model.fit(x, x, epochs=1, batch_size=64, verbose=0).history
    ds = tf.data.Dataset.from_tensor_slices(x).batch(64).prefetch(2)
    h_ds = model.fit(ds, epochs=1, verbose=0).history
    ds_pairs = tf.data.Dataset.from_tensor_slices((x, x)).batch(64)
    h_ds_pairs = model.fit(ds_pairs, epochs=1, verbose=0).history
    losses = [h["loss"][0] for h in (h_numpy, h_pairs, h_ds, h_ds_pairs)]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]  # four epochs of training went somewhere


def test_keras_callbacks_work(mnist_small, tmp_path):
    x_train, x_test = mnist_small
    model = models.DeepAutoencoder(input_shape=(784,), latent_dim=8, hidden_units=(32,))
    model.compile(optimizer="adam")
    ckpt = tmp_path / "best.keras"
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(
            ckpt, monitor="val_reconstruction_loss", mode="min", save_best_only=True
        ),
        keras.callbacks.TensorBoard(tmp_path / "logs"),
        keras.callbacks.BackupAndRestore(tmp_path / "backup"),
    ]
    model.fit(
        x_train, epochs=3, batch_size=128, validation_data=(x_test,), callbacks=callbacks, verbose=0
    )
    assert ckpt.exists()
    restored = keras.models.load_model(ckpt)
    assert isinstance(restored, models.DeepAutoencoder)
    assert any((tmp_path / "logs").rglob("events.out.tfevents*"))


class _StopAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.stop_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.stop_epoch:
            raise KeyboardInterrupt("simulated interruption")


def test_backup_and_restore_resumes_an_interrupted_run(mnist_small, tmp_path):
    x = mnist_small[0][:256]
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    model = models.Autoencoder(input_shape=(784,), latent_dim=8)
    model.compile(optimizer="adam")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, epochs=4, batch_size=64, verbose=0, callbacks=[backup, _StopAfter(1)])
    resumed = models.Autoencoder(input_shape=(784,), latent_dim=8)
    resumed.compile(optimizer="adam")
    history = resumed.fit(
        x,
        epochs=4,
        batch_size=64,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(tmp_path / "backup")],
    )
    assert len(history.history["loss"]) == 2  # epochs 3 and 4 only
    assert history.epoch == [2, 3]


@pytest.mark.parametrize("method, file", [("save", "m.keras"), ("save_weights", "m.weights.h5")])
def test_an_interrupted_save_leaves_the_previous_file_whole(method, file, tmp_path, monkeypatch):
    def make():
        return models.Autoencoder(input_shape=(6,), latent_dim=2, hidden_units=(4,), seed=0)

    model, path = make(), tmp_path / file
    old = model.get_weights()
    getattr(model, method)(path)
    before = path.read_bytes()
    model.set_weights([w + 1 for w in old])

    def killed(store):  # Keras has opened the file and is writing the weights
        raise KeyboardInterrupt("killed while saving")

    monkeypatch.setattr(model.decoder, "save_own_variables", killed)
    with pytest.raises(KeyboardInterrupt):
        getattr(model, method)(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [file]  # no staging directory left behind
    if method == "save":
        loaded = keras.models.load_model(path)
    else:
        loaded = make()
        loaded.load_weights(path)
    for a, b in zip(loaded.get_weights(), old, strict=True):
        np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    getattr(model, method)(path)  # a save that completes replaces the file
    assert path.read_bytes() != before


def test_a_save_to_a_name_keras_refuses_names_the_users_path(tmp_path):
    model = models.Autoencoder(input_shape=(6,), latent_dim=2)
    for save, path in [
        (model.save, tmp_path / "m.txt"),
        (model.save_weights, tmp_path / "m.weights.txt"),
    ]:
        with pytest.raises(ValueError, match=f"filepath={re.escape(str(path))}\\.?$"):
            save(path)
    assert os.listdir(tmp_path) == []


def test_xla_is_the_default_only_where_it_was_measured_faster(mnist_small, tmp_path):
    """Built MLP networks compile with XLA by default (measured faster on
    CPU); conv and user-supplied networks, an explicit choice and eager mode
    are left to Keras."""
    for name, (cls, kwargs) in CASES.items():
        model = cls(**kwargs)
        model.compile(optimizer="adam")
        assert model.jit_compile is (model.network == "mlp"), name
    cae = models.ContractiveAutoencoder(input_shape=(784,), latent_dim=16, seed=0)
    cae.compile(optimizer="adam")
    x = data(cae, mnist_small[0][:256])
    history = cae.fit(x, epochs=2, batch_size=128, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    cae.save(tmp_path / "cae.keras")
    loaded = keras.models.load_model(tmp_path / "cae.keras")  # compiled from its config
    assert loaded.jit_compile is True and loaded.optimizer is not None
    for kwargs in ({"jit_compile": False}, {"run_eagerly": True}):
        model = models.ContractiveAutoencoder(input_shape=(784,), latent_dim=16)
        model.compile(optimizer="adam", **kwargs)
        assert model.jit_compile is False, kwargs
    if not tf.config.list_physical_devices("GPU"):  # Keras's own "auto": no XLA on CPU
        built = models.Autoencoder(input_shape=(784,), latent_dim=16)
        custom = models.Autoencoder(encoder=built.encoder, decoder=built.decoder)
        conv = models.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16)
        # A deep contractive encoder takes the batched-Jacobian path, whose XLA
        # programs TensorFlow never frees: no XLA by default there.
        deep_cae = models.ContractiveAutoencoder(
            input_shape=(784,), latent_dim=16, hidden_units=(64,)
        )
        assert deep_cae._closed_form_layer() is None
        for model in (custom, conv, deep_cae):
            model.compile(optimizer="adam")
            assert model.jit_compile is False


class _CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def on_train_batch_end(self, batch, logs=None):
        self.calls += 1


def test_mlp_models_run_8_steps_per_compiled_call_by_default(mnist_small, tmp_path):
    """`steps_per_execution="auto"`: 8 batches per call for built MLP networks
    (batch callbacks every 8 batches), 1 for conv / custom networks, eager
    mode and an explicit choice; training is the same either way."""
    x = mnist_small[0][:1024]
    losses = {}
    for steps in ("auto", 1):
        keras.utils.set_random_seed(0)
        model = models.Autoencoder(input_shape=(784,), latent_dim=8, seed=0)
        model.compile(optimizer="adam", steps_per_execution=steps)
        counter = _CountBatches()
        history = model.fit(
            x, epochs=2, batch_size=64, shuffle=False, verbose=0, callbacks=[counter]
        )
        losses[steps] = history.history["loss"]
        assert int(model.optimizer.iterations) == 2 * 16  # every batch trained
        assert model.steps_per_execution == (8 if steps == "auto" else 1)
        assert counter.calls == (2 * 2 if steps == "auto" else 2 * 16)
    assert losses["auto"][-1] < losses["auto"][0]
    np.testing.assert_allclose(losses["auto"], losses[1], rtol=1e-4)
    built = models.Autoencoder(input_shape=(784,), latent_dim=16)
    for model in (
        models.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16),
        models.Autoencoder(encoder=built.encoder, decoder=built.decoder),
    ):
        model.compile(optimizer="adam")
        assert model.steps_per_execution == 1
    model = models.Autoencoder(input_shape=(784,), latent_dim=8)
    model.compile(optimizer="adam", run_eagerly=True)
    assert model.steps_per_execution == 1
    for bad in (0, -2, 1.5, "fast", None):
        with pytest.raises(
            ValueError, match=f"steps_per_execution must be a positive integer, got {bad!r}"
        ):
            model.compile(optimizer="adam", steps_per_execution=bad)
    # Saved as "auto" and compiled through keras_ae's compile() on loading.
    model = models.Autoencoder(input_shape=(784,), latent_dim=8)
    model.compile(optimizer="adam")
    model.fit(x[:128], epochs=1, verbose=0)
    model.save(tmp_path / "ae.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "compile() was not called" warning
        loaded = keras.models.load_model(tmp_path / "ae.keras")
    assert loaded.compiled and loaded.steps_per_execution == 8
    assert loaded.get_compile_config()["steps_per_execution"] == "auto"
    loaded.fit(x[:128], epochs=1, verbose=0)


def test_auto_steps_per_execution_divides_the_steps_asked_for(mnist_small):
    """Keras runs whole executions: 8 steps per call would make
    `steps_per_epoch=10` train 16 batches. "auto" picks a divisor instead,
    and returns to 8 for a call that names no step count."""
    x = mnist_small[0][:512]
    ds = tf.data.Dataset.from_tensor_slices(x).batch(32).repeat()
    model = models.Autoencoder(input_shape=(784,), latent_dim=8)
    model.compile(optimizer="adam")
    model.fit(ds, epochs=2, steps_per_epoch=10, validation_data=ds, validation_steps=5, verbose=0)
    assert int(model.optimizer.iterations) == 20
    assert model.steps_per_execution == 1  # gcd(8, 10, 5)
    model.fit(ds, epochs=1, steps_per_epoch=12, verbose=0)
    assert int(model.optimizer.iterations) == 32 and model.steps_per_execution == 4
    # fit's validation goes through evaluate(): it must not change the step
    # count of the fit around it.
    model.fit(ds, epochs=2, steps_per_epoch=12, validation_data=(x[:64],), verbose=0)
    assert int(model.optimizer.iterations) == 56
    model.fit(x, epochs=1, batch_size=32, verbose=0)
    assert int(model.optimizer.iterations) == 72 and model.steps_per_execution == 8
    assert model.predict(ds, steps=3, verbose=0).shape == (96, 784)
    fixed = models.Autoencoder(input_shape=(784,), latent_dim=8)
    fixed.compile(optimizer="adam", steps_per_execution=4)
    fixed.fit(ds, epochs=1, steps_per_epoch=6, verbose=0)
    assert fixed.steps_per_execution == 4  # an explicit choice is Keras's to run


def test_a_callback_inside_fit_gets_the_steps_it_asks_for(mnist_small):
    """A predict/evaluate with steps=3 from a callback runs 3 batches, and
    the fit around it carries on with its own 8 steps per call."""
    x = mnist_small[0][:512]
    ds = tf.data.Dataset.from_tensor_slices(x).batch(32).repeat()
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(len(self.model.predict(ds, steps=3, verbose=0)))
            self.model.evaluate(ds, steps=3, verbose=0)
            seen.append(self.model.steps_per_execution)

    model = models.Autoencoder(input_shape=(784,), latent_dim=8)
    model.compile(optimizer="adam")
    model.fit(x, epochs=2, batch_size=32, validation_data=(x[:64],), callbacks=[Probe()], verbose=0)
    assert seen == [96, 8, 96, 8]
    assert int(model.optimizer.iterations) == 32  # 2 epochs of 16 batches


def test_a_frozen_model_fits_without_changing_and_says_why(mnist_small):
    model = models.Autoencoder(input_shape=(784,), latent_dim=8)
    model.trainable = False
    model.compile(optimizer="adam")
    before = [w.numpy().copy() for w in model.weights]
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        history = model.fit(mnist_small[0][:128], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    for a, w in zip(before, model.weights, strict=True):
        np.testing.assert_array_equal(a, w.numpy())


def test_many_xla_models_in_one_process_warn_once(monkeypatch):
    """TensorFlow keeps every compiled XLA program: a sweep is told how to avoid it."""
    from keras_ae.training import defaults as base

    x = np.zeros((8, 8), "float32")
    monkeypatch.setattr(base, "_xla_models", base.XLA_SWEEP_WARNING - 2)

    def train(**compile_kwargs):
        model = models.Autoencoder(input_shape=(8,), latent_dim=2)
        model.compile(optimizer="adam", **compile_kwargs)
        model.fit(x, epochs=2, verbose=0)  # two epochs, one program: counted once

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train()  # one below the threshold: silent
    with pytest.warns(RuntimeWarning, match="jit_compile=False"):
        train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train()  # warned once only
        train(jit_compile=False)  # not counted
    assert base._xla_models == base.XLA_SWEEP_WARNING + 1


def test_batched_inference_traces_once_per_method_for_any_batch_sizes():
    """encode/decode/reconstruct on numpy run in batches; the short last batch and
    later calls of other lengths reuse the first graph (no retracing, which
    TensorFlow warns about when a sweep builds many models)."""
    model = models.Autoencoder(input_shape=(6,), latent_dim=2, hidden_units=(4,))
    x = np.random.default_rng(0).random((2100, 6)).astype("float32")
    codes = [model.encode(x[:n]) for n in (2100, 700, 33)]
    np.testing.assert_allclose(codes[2], codes[0][:33], rtol=1e-5, atol=1e-6)
    model.decode(codes[1])
    model.reconstruct(x[:5].astype("float64"))  # cast to the model's dtype, same graph
    traces = [f.experimental_get_tracing_count() for f in model._compiled_fns.values()]
    assert traces == [1, 1, 1]  # encode, decode, call


def test_a_loop_over_models_is_not_reported_as_retracing(caplog):
    """Each model traces its own encode once, but TensorFlow counts traces by
    code: from the fifth model of a sweep on it warned of retracing."""
    import logging

    x = np.random.default_rng(0).random((8, 6)).astype("float32")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for _ in range(7):
            models.Autoencoder(input_shape=(6,), latent_dim=2).encode(x)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_reported_loss_is_the_mean_over_samples_whatever_the_batch_size():
    x = np.random.default_rng(0).random((257, 16)).astype("float32") * 0.1
    x[-1] = 10.0  # an unusual sample, alone in the last batch of 32 or 128
    model = models.Autoencoder(input_shape=(16,), latent_dim=4, output_activation="linear")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))  # weights stay put
    expected = float(np.mean(np.sum((model.reconstruct(x) - x) ** 2, axis=1)))
    for batch_size in (32, 128, 257):
        logs = model.evaluate(x, batch_size=batch_size, verbose=0, return_dict=True)
        np.testing.assert_allclose(logs["loss"], expected, rtol=1e-5)
        history = model.fit(x, batch_size=batch_size, shuffle=False, verbose=0)
        np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)


def test_the_models_dtype_policy_reaches_its_layers_and_survives_loading(tmp_path, mixed_precision):
    x = np.random.default_rng(0).random((8, 16)).astype("float32")
    full = models.Autoencoder(input_shape=(16,), latent_dim=3, dtype="float32")
    assert full.encoder.get_layer("code").compute_dtype == "float32"
    assert keras.config.dtype_policy().name == "mixed_float16"  # the global one is restored
    full.save(tmp_path / "full.keras")
    keras.mixed_precision.set_global_policy("float32")
    half = models.Autoencoder(input_shape=(16,), latent_dim=3, dtype="mixed_float16")
    assert half.encoder.get_layer("code").compute_dtype == "float16"
    assert half.decoder.get_layer("output").compute_dtype == "float32"  # float32 output
    keras.mixed_precision.set_global_policy("mixed_float16")
    loaded = keras.saving.load_model(tmp_path / "full.keras")
    assert loaded.encoder.get_layer("code").compute_dtype == "float32"
    np.testing.assert_array_equal(loaded.encode(x), full.encode(x))


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


WORKER = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    import keras
    from keras_ae import models
    rng = np.random.default_rng(0)  # same data on every worker; Keras shards it
    x = rng.random((256, 64)).astype("float32")
    with strategy.scope():
        keras.utils.set_random_seed(1)
        model = models.Autoencoder(input_shape=(64,), latent_dim=4)
        model.compile(optimizer=keras.optimizers.SGD(0.01))
    history = model.fit(x, epochs=2, batch_size=64, verbose=0)
    np.save(sys.argv[1], np.concatenate([w.ravel() for w in model.get_weights()]))
    print(json.dumps({"loss": history.history["loss"],
                      "replicas": strategy.num_replicas_in_sync}))
    """
)


def test_multi_worker_mirrored_strategy_over_localhost(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for index in range(2):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), str(tmp_path / f"w{index}.npy")],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("multi-worker training did not finish in 240 s")
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert all(o["replicas"] == 2 for o in outs)
    assert all(np.isfinite(o["loss"]).all() and o["loss"][-1] < o["loss"][0] for o in outs)
    w0, w1 = np.load(tmp_path / "w0.npy"), np.load(tmp_path / "w1.npy")
    np.testing.assert_allclose(w0, w1, atol=1e-6)  # workers stay in sync


@pytest.mark.parametrize("reload", ["save_load", "clone"])
def test_a_frozen_encoder_stays_frozen_after_loading_and_cloning(reload, tmp_path):
    """The built networks are rebuilt from the constructor's arguments: their
    trainable flags were lost, and the encoder trained again after loading
    (with a warning that the optimizer's saved state was skipped)."""
    x = np.random.default_rng(0).random((128, 32)).astype("float32")
    model = models.DeepAutoencoder(input_shape=(32,), latent_dim=4, hidden_units=(16,))
    model.compile(optimizer="adam")
    model.fit(x, epochs=1, verbose=0)
    model.encoder.trainable = False
    model.compile(optimizer="adam")
    model.fit(x, epochs=1, verbose=0)
    if reload == "save_load":
        model.save(tmp_path / "frozen.keras")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "Skipping variable loading for optimizer"
            again = keras.models.load_model(tmp_path / "frozen.keras")
    else:
        again = keras.models.clone_model(model)
        again.compile(optimizer="adam")
    assert not again.encoder.trainable and again.decoder.trainable
    assert len(again.trainable_variables) == len(model.trainable_variables) == 4
    before = [w.numpy().copy() for w in again.encoder.weights]
    decoder_before = [w.numpy().copy() for w in again.decoder.weights]
    again.fit(x, epochs=1, verbose=0)
    for old, new in zip(before, again.encoder.weights, strict=True):
        np.testing.assert_array_equal(old, new.numpy())
    assert any(
        np.abs(old - new.numpy()).max() > 0
        for old, new in zip(decoder_before, again.decoder.weights, strict=True)
    )


def test_mixed_bfloat16_codes_are_float32_and_decode():
    """encode returned bfloat16 numpy arrays, which decode refused as not numeric."""
    import ml_dtypes

    x = np.random.default_rng(0).random((16, 32)).astype("float32")
    model = models.Autoencoder(input_shape=(32,), latent_dim=4, dtype="mixed_bfloat16")
    z = model.encode(x)
    assert z.dtype == np.float32
    assert model.decode(z).shape == (16, 32) and model.reconstruct(x).dtype == np.float32
    np.testing.assert_allclose(model.encode(x.astype(ml_dtypes.bfloat16)), z, atol=0.05)
    bad = z.astype(ml_dtypes.bfloat16)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="z contains 1 NaN"):
        model.decode(bad)


def test_denoiser_warns_of_clean_pairs_given_as_a_copy():
    x = np.random.default_rng(0).random((64, 32)).astype("float32")
    model = models.DenoisingAutoencoder(input_shape=(32,), latent_dim=4)
    model.compile(optimizer="adam")
    with pytest.warns(UserWarning, match="no noise is drawn"):
        model.fit(x, x.copy(), epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x * 0.5, x, epochs=1, verbose=0)  # (noisy, clean) pairs: as intended


def test_an_epoch_of_fewer_batches_than_one_execution_counts_its_own():
    """4 batches at 8 steps per execution: the progress bar read "8/4"."""
    seen = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    x = np.random.default_rng(0).random((512, 20)).astype("float32")
    model = models.Autoencoder(input_shape=(20,), latent_dim=4)
    model.compile(optimizer="adam")
    model.fit(x, batch_size=128, epochs=2, verbose=0, callbacks=[record])
    assert seen == [3, 3]
    seen.clear()
    model.fit(np.concatenate([x] * 4), batch_size=128, epochs=1, verbose=0, callbacks=[record])
    assert seen == [7, 15]  # 16 batches: the usual 8 per execution again
    seen.clear()
    model.fit(
        tf.data.Dataset.from_tensor_slices(x).batch(128), epochs=1, verbose=0, callbacks=[record]
    )  # a dataset of known length: the same
    assert seen == [3]


def test_block_noise_trains_on_flattened_pipelines(mnist_small):
    """make_dataset(flatten=True) batches are (None, None): the block mask could
    not find the image and `keras-ae train ... --param noise=block` crashed."""
    from keras_ae import datasets

    x = (mnist_small[0][:256] * 255).astype("uint8").reshape(-1, 28, 28)
    model = models.DenoisingAutoencoder(input_shape=(784,), latent_dim=8, noise="block")
    model.compile(optimizer="adam")
    history = model.fit(
        datasets.make_dataset(x, batch_size=64, flatten=True), epochs=1, verbose=0
    ).history
    assert np.isfinite(history["loss"][0])


class _NaNFrom(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate of 0.01 that becomes NaN at optimizer step `step`."""

    def __init__(self, step):
        self.step = step

    def __call__(self, iteration):
        return tf.where(iteration >= self.step, float("nan"), 0.01)

    def get_config(self):
        return {"step": self.step}


@pytest.mark.parametrize("nan_step", [6, 3])  # mid-epoch 2 (the loss), last step of epoch 1
def test_a_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path, nan_step):
    """A NaN learning rate (or data, or float16 overflow) trained every epoch,
    logged `loss: nan` and let ModelCheckpoint overwrite the last good file
    with NaN weights. Four batches an epoch, all in one compiled call."""
    x = np.random.default_rng(0).random((64, 12)).astype("float32")
    model = models.Autoencoder(input_shape=(12,), latent_dim=3)
    model.compile(optimizer=keras.optimizers.SGD(_NaNFrom(nan_step)))
    path = tmp_path / "model.weights.h5"
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_weights_only=True)
    with pytest.raises(
        models.NonFiniteError,
        match=r"NaN or infinite .*epoch [12].*learning "
        r"rate.*data.*float16",
    ):
        model.fit(x, batch_size=16, epochs=3, verbose=0, callbacks=[checkpoint])
    if nan_step == 6:  # epoch 1 ended finite: its checkpoint is kept, finite
        fresh = models.Autoencoder(input_shape=(12,), latent_dim=3)
        fresh.load_weights(path)
        assert all(np.isfinite(w).all() for w in fresh.get_weights())
    else:  # the first epoch's last update was NaN: nothing was saved
        assert not path.exists()


def test_non_finite_learning_rates_and_data_stop_training():
    x = np.random.default_rng(0).random((64, 12)).astype("float32")
    for rate in (float("nan"), float("inf"), -1.0):
        model = models.Autoencoder(input_shape=(12,), latent_dim=3)
        model.compile(optimizer=keras.optimizers.Adam(rate))
        with pytest.raises(ValueError, match=r"learning_rate must be a finite number >= 0, got"):
            model.fit(x, epochs=1, verbose=0)
    linear = models.Autoencoder(input_shape=(12,), latent_dim=3, output_activation="linear")
    linear.compile(optimizer=keras.optimizers.SGD(1e6))
    with pytest.raises(models.NonFiniteError, match="training stopped"):
        linear.fit(x, epochs=3, verbose=0)
    bad = x.copy()
    bad[5, 3] = np.nan  # a tf.data input is not read ahead of training
    model = models.Autoencoder(input_shape=(12,), latent_dim=3)
    model.compile(optimizer="adam")
    with pytest.raises(models.NonFiniteError, match=r"batch 8 of epoch 1, checked every 8"):
        model.fit(tf.data.Dataset.from_tensor_slices(bad).batch(8), epochs=3, verbose=0)
    with pytest.raises(models.NonFiniteError, match=r"evaluate gave loss=nan.*data holding NaN"):
        model.evaluate(tf.data.Dataset.from_tensor_slices(bad).batch(8), verbose=0)
    with pytest.raises(models.NonFiniteError, match=r"predict gave \d+ NaN"):
        model.predict(tf.data.Dataset.from_tensor_slices(bad).batch(8), verbose=0)
    assert issubclass(models.NonFiniteError, ValueError)
    assert issubclass(models.NonFiniteError, FloatingPointError)


def test_a_nan_from_unscaled_dataset_targets_names_their_range():
    """uint8-scale values in a tf.data pipeline reach a Bernoulli VAE unchecked
    (numpy ones are refused before fit); the NaN they cause named only the
    learning rate, NaN data and float16 as causes."""
    x = (np.random.default_rng(0).random((256, 784)) < 0.2).astype("float32") * 255.0
    model = models.IWAE(input_shape=(784,), latent_dim=8, seed=0)
    model.compile(optimizer="adam")
    with pytest.raises(models.NonFiniteError, match=r"targets outside \[0, 1\].*tf.data"):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(32), epochs=2, verbose=0)
    plain = models.Autoencoder(input_shape=(12,), latent_dim=3, output_activation="linear")
    assert plain.target_range() is None  # unbounded: no such cause to name


def test_mixed_float16_refuses_input_beyond_its_range():
    """Data above 65504 became inf in float16: NaN loss, frozen weights, no word."""
    x = np.random.default_rng(0).random((64, 12)).astype("float32") * 1e5
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = models.Autoencoder(input_shape=(12,), latent_dim=3, output_activation="linear")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.compile(optimizer="adam")
    for call in (
        lambda: model.fit(x, epochs=1, verbose=0),
        lambda: model.reconstruct(x),
        lambda: model.predict(x, verbose=0),
    ):
        with pytest.raises(
            ValueError,
            match=r"x holds values up to 9\d+\.?\d* in magnitude, beyond the range of "
            r"float16 .*at most 65504",
        ):
            call()
    with pytest.raises(models.NonFiniteError, match="float16 overflow under mixed precision"):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(8), epochs=2, verbose=0)
