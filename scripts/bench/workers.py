"""Inside each contender's process: the worker bodies of the training benchmark.

This module owns what runs in a worker process of `bench_train.py`:
`run_worker` picks the body for a contender: Keras `fit` held between timed
rounds (`keras_worker`, plain Keras and keras_ae alike), pythae's trainer step
in rounds (`pythae_worker`), the profile probes (`probe_worker`: the matmul
ceiling, the step's matmuls alone, the bare step; `conv_probe`: the conv AE's
two train steps side by side), and inference four ways (`inference_worker`).
Each talks through `harness.Channel`; frameworks are imported inside the
functions (the pythae worker runs in a Python without TensorFlow).
"""

import math
import os
import statistics
import tempfile
import time

from bench.contenders import (
    CEILING_N,
    PROBE_LAYERS,
    keras_ae_model,
    plain_keras,
    pythae_model,
)
from bench.harness import Channel, peak_rss_mb, timed


def load_data(path, conv):
    """MNIST from the `.npz` the orchestrator wrote, as float32 in [0, 1], flat or 28x28x1."""
    import numpy as np

    with np.load(path) as f:
        x_train, x_test = f["x_train"], f["x_test"]
    shape = (-1, 28, 28, 1) if conv else (-1, 784)
    return (
        x_train.reshape(shape).astype("float32") / 255.0,
        x_test.reshape(shape).astype("float32") / 255.0,
    )


def round_plan(n, batch):
    """(number of batches in one pass, size of the short last batch)."""
    nb = math.ceil(n / batch)
    return nb, n - (nb - 1) * batch


class PassCounter:
    """Samples seen over `steps` steps of fit's epoch iterator, which restarts
    the pass (and cuts the epoch) after the short last batch."""

    def __init__(self, n, batch):
        self.batch = batch
        self.nb, self.last = round_plan(n, batch)
        self.pos = 0

    def advance(self, steps):
        samples = steps * self.batch
        self.pos += steps
        while self.pos >= self.nb:
            samples -= self.batch - self.last
            self.pos -= self.nb
        return samples


def keras_worker(spec, channel):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model, contender = spec["model"], spec["contender"]
    x, _ = load_data(spec["data"], conv=model == "conv")
    if contender == "plain":
        net, needs_y = plain_keras(model, keras)
    else:
        net, needs_y = keras_ae_model(model, contender), False
    channel.send(
        ready=True, jit_compile=bool(net.jit_compile), tf=tf.__version__, keras=keras.__version__
    )

    def fit(data, batch, **kwargs):
        y = data if needs_y else None
        return net.fit(data, y, batch_size=batch, shuffle=True, verbose=0, **kwargs)

    class WarmUp(keras.callbacks.Callback):
        # `batch` is the last batch of the call: keras_ae's MLP models run
        # several batches per call (`steps_per_execution`).
        def __init__(self, seconds):
            super().__init__()
            self.seconds, self.steps, self.first_steps, self.t_first = seconds, 0, 0, None

        def on_train_batch_end(self, batch, logs=None):
            self.steps = batch + 1
            if self.t_first is None:
                self.t_first, self.first_steps = time.perf_counter(), self.steps
            elif self.steps >= 10 and time.perf_counter() - self.t_first > self.seconds:
                self.model.stop_training = True

    class Gate(keras.callbacks.Callback):
        """Holds fit between rounds: a round is one (short) epoch of `steps` steps."""

        def __init__(self, counter):
            super().__init__()
            self.counter, self.ended, self.t0, self.it0 = counter, False, None, 0

        def _iterations(self):
            return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

        def _wait(self):
            cmd = channel.recv()
            if cmd["cmd"] == "round":
                self.it0 = self._iterations()
                self.t0 = time.perf_counter()
            else:
                self.ended = True
                self.model.stop_training = True

        def on_train_begin(self, logs=None):
            self._wait()

        def on_epoch_end(self, epoch, logs=None):
            if self.ended:
                return
            seconds = time.perf_counter() - self.t0
            steps = self._iterations() - self.it0
            logs = logs or {}
            loss = float(logs.get("loss", logs.get("total_loss", float("nan"))))
            channel.send(
                samples=self.counter.advance(steps), steps=steps, seconds=seconds, loss=loss
            )
            self._wait()

    while True:
        cmd = channel.recv()
        if cmd["cmd"] == "quit":
            break
        batch = cmd["batch"]
        t = time.perf_counter()
        warm = WarmUp(cmd["warmup_seconds"])
        fit(x, batch, epochs=1, callbacks=[warm])
        # One full and one short batch: the shape the epoch's last batch has.
        _, last = round_plan(len(x), batch)
        fit(x[-(batch + last) :], batch, epochs=1)
        rate = (
            max(warm.steps - warm.first_steps, 1)
            * batch
            / max(time.perf_counter() - warm.t_first, 1e-9)
        )
        steps = max(3, round(cmd["round_seconds"] * rate / batch))
        # Whole calls: keras_ae's "auto" steps_per_execution would otherwise
        # shrink to a divisor of an odd round (see Autoencoder.compile).
        per_call = net.steps_per_execution
        steps = per_call * max(1, round(steps / per_call))
        channel.send(
            warmup_seconds=time.perf_counter() - t, steps_per_round=steps, warmup_rate=rate
        )
        gate = Gate(PassCounter(len(x), batch))
        fit(x, batch, epochs=10**6, steps_per_epoch=steps, callbacks=[gate])
        channel.send(peak_rss_mb=peak_rss_mb())


def probe_worker(spec, channel):
    """The matmul ceiling and two probes that split an MLP model's step time."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_ae

    keras.utils.set_random_seed(0)
    if spec["model"] == "conv":
        return conv_probe(spec, channel)
    x, _ = load_data(spec["data"], conv=False)
    channel.send(ready=True)
    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((CEILING_N, CEILING_N), dtype=np.float32))
    b = tf.constant(rng.standard_normal((CEILING_N, CEILING_N), dtype=np.float32))
    ceiling = tf.function(lambda: tf.linalg.matmul(a, b))

    weights = [
        tf.constant(rng.standard_normal((m, n), dtype=np.float32) * 0.05)
        for m, n in PROBE_LAYERS[spec["model"]]
    ]

    def make_chain(batch, jit=False):
        x0 = tf.constant(x[:batch])

        @tf.function(jit_compile=jit)
        def chain():
            # A layer reading fewer values than the last one gave (the VAE's
            # decoder reads 32 of the encoder's 64) takes the first ones; its
            # input gradient is repeated to the wider width on the way back.
            acts = [x0]
            for w in weights:
                acts.append(tf.linalg.matmul(acts[-1][:, : w.shape[0]], w))
            grad, grads = acts[-1], []
            for i in reversed(range(len(weights))):
                grads.append(
                    tf.linalg.matmul(acts[i][:, : weights[i].shape[0]], grad, transpose_a=True)
                )
                if i:
                    grad = tf.linalg.matmul(grad, weights[i], transpose_b=True)
                    wider = acts[i].shape[1] // grad.shape[1]
                    if wider > 1:
                        grad = tf.concat([grad] * wider, axis=1)
            return grads

        return chain

    def make_step(batch, jit):
        if spec["model"] == "vae":
            net = keras_ae.VAE(input_shape=(784,), latent_dim=32)
        else:
            net = keras_ae.DeepAutoencoder(input_shape=(784,), latent_dim=30)
        net.compile(optimizer="adam")
        net.optimizer.build(net.trainable_variables)
        x0 = tf.constant(x[:batch])

        @tf.function(jit_compile=jit)
        def step():
            with tf.GradientTape() as tape:
                loss = net.compute_losses(x0, training=True)["loss"]
            grads = tape.gradient(loss, net.trainable_variables)
            net.optimizer.apply_gradients(zip(grads, net.trainable_variables, strict=True))
            return loss

        return step

    while True:
        cmd = channel.recv()
        if cmd["cmd"] == "quit":
            break
        batch = cmd["batch"]
        probes = {
            "ceiling": ceiling,
            "chain": make_chain(batch),
            "chain_xla": make_chain(batch, True),
            "bare_step": make_step(batch, False),
            "bare_step_xla": make_step(batch, True),
        }
        probes = {name: _blocking(fn) for name, fn in probes.items()}
        t = time.perf_counter()
        for fn in probes.values():  # trace, compile, warm
            for _ in range(5):
                fn()
        channel.send(warmup_seconds=time.perf_counter() - t, steps_per_round=0, warmup_rate=0)
        while True:
            cmd = channel.recv()
            if cmd["cmd"] != "round":
                break
            each = cmd["round_seconds"] / len(probes)
            seconds = {name: timed(fn, each) for name, fn in probes.items()}
            channel.send(probe_seconds=seconds)
        channel.send(peak_rss_mb=peak_rss_mb())


def _blocking(fn):
    """`fn`, made to wait for its TensorFlow results (`.numpy()` on each)."""
    import tensorflow as tf

    return lambda: tf.nest.map_structure(lambda t: t.numpy(), fn())


def conv_probe(spec, channel):
    """The conv AE's `train_step` against plain Keras's, each one `tf.function`
    on a fixed batch in this one process, alternating within every round: the
    custom step's own cost, without `fit`, the input pipeline or the machine's
    state (which shifts between processes and minutes) in the comparison."""
    import keras
    import tensorflow as tf

    x, _ = load_data(spec["data"], conv=True)
    channel.send(ready=True)

    def compiled(net, data):
        net.optimizer.build(net.trainable_variables)
        step = tf.function(net.train_step)
        return lambda: step(data)

    while True:
        cmd = channel.recv()
        if cmd["cmd"] == "quit":
            break
        x0 = tf.constant(x[: cmd["batch"]])
        probes = {
            "plain_step": compiled(plain_keras("conv", keras)[0], (x0, x0)),
            "keras_ae_step": compiled(keras_ae_model("conv", "keras_ae_nojit"), x0),
        }
        probes = {name: _blocking(fn) for name, fn in probes.items()}
        t = time.perf_counter()
        for fn in probes.values():  # trace and warm
            for _ in range(3):
                fn()
        channel.send(warmup_seconds=time.perf_counter() - t, steps_per_round=0, warmup_rate=0)
        turn = 0
        while True:
            cmd = channel.recv()
            if cmd["cmd"] != "round":
                break
            each = cmd["round_seconds"] / 4
            seconds = {name: [] for name in probes}
            # ABBA within the round, so a drift in the machine's speed hits both.
            order = list(probes) if turn % 2 == 0 else list(reversed(probes))
            for name in order + order[::-1]:
                seconds[name].append(timed(probes[name], each))
            turn += 1
            channel.send(probe_seconds={k: sum(v) / len(v) for k, v in seconds.items()})
        channel.send(peak_rss_mb=peak_rss_mb())


def pythae_worker(spec, channel):
    """pythae's own model, dataset, loader and optimizer step, gated in rounds.

    Each step is the body of pythae's `BaseTrainer.train_step`: the model
    called on a batch from the trainer's `train_loader`, then the trainer's
    `_optimizers_step` (zero_grad, backward, step), and `loss.item()`.
    """
    from importlib.metadata import version

    import numpy as np
    import torch
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    torch.manual_seed(0)
    model = spec["model"]
    conv = model == "conv"
    x, _ = load_data(spec["data"], conv=conv)
    if conv:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # NCHW
    net = pythae_model(model)
    dataset = BaseDataset(torch.from_numpy(x), torch.zeros(len(x)))
    workdir = tempfile.mkdtemp(prefix="pythae_bench_")
    channel.send(
        ready=True,
        pythae=version("pythae"),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
    )

    def make_trainer(batch):
        config = BaseTrainerConfig(
            output_dir=workdir,
            per_device_train_batch_size=batch,
            num_epochs=1,
            learning_rate=1e-3,
            no_cuda=True,
        )
        trainer = BaseTrainer(model=net, train_dataset=dataset, training_config=config)
        trainer.prepare_training()
        return trainer

    def batches(trainer):
        while True:
            yield from trainer.train_loader

    def step(trainer, inputs):
        inputs = trainer._set_inputs_to_device(inputs)
        out = trainer.model(inputs, epoch=1, dataset_size=len(dataset), uses_ddp=False)
        trainer._optimizers_step(out)
        return out.loss.item(), len(inputs["data"])

    while True:
        cmd = channel.recv()
        if cmd["cmd"] == "quit":
            break
        batch = cmd["batch"]
        trainer = make_trainer(batch)
        trainer.model.train()
        stream = batches(trainer)
        t = time.perf_counter()
        nb, _ = round_plan(len(x), batch)
        steps, t_first = 0, None
        for _ in range(nb):
            step(trainer, next(stream))
            steps += 1
            if t_first is None:
                t_first = time.perf_counter()
            elif steps >= 10 and time.perf_counter() - t_first > cmd["warmup_seconds"]:
                break
        rate = max(steps - 1, 1) * batch / max(time.perf_counter() - t_first, 1e-9)
        per_round = max(3, round(cmd["round_seconds"] * rate / batch))
        channel.send(
            warmup_seconds=time.perf_counter() - t, steps_per_round=per_round, warmup_rate=rate
        )
        while True:
            cmd = channel.recv()
            if cmd["cmd"] != "round":
                break
            samples, t0 = 0, time.perf_counter()
            for _ in range(per_round):
                loss, n = step(trainer, next(stream))
                samples += n
            channel.send(
                samples=samples, steps=per_round, seconds=time.perf_counter() - t0, loss=loss
            )
        channel.send(peak_rss_mb=peak_rss_mb())


def inference_worker(spec, channel):
    """Encode / reconstruct throughput and batch-1 latency, four ways."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    import keras_ae

    keras.utils.set_random_seed(0)
    model = spec["model"]
    conv = model == "conv"
    _, x_test = load_data(spec["data"], conv=conv)
    net = (
        keras_ae.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16)
        if conv
        else keras_ae.DeepAutoencoder(input_shape=(784,), latent_dim=30)
    )
    net.compile(optimizer="adam")
    channel.send(ready=True)
    # Tensors in slices of 1024 for the eager and tf.function ways (one
    # 10,000-image batch of the conv AE needs gigabytes of activations).
    x_tf = [tf.constant(x_test[i : i + 1024]) for i in range(0, len(x_test), 1024)]
    x1 = x_test[:1]
    x1_tf = tf.constant(x1)
    spec_in = tf.TensorSpec((None,) + x_test.shape[1:], tf.float32)
    serve_call = tf.function(lambda t: net(t, training=False), input_signature=[spec_in])
    serve_encode = tf.function(lambda t: net.encoder(t, training=False), input_signature=[spec_in])

    methods = {
        "reconstruct": {
            "predict": lambda x: net.predict(x, verbose=0),
            "predict_1024": lambda x: net.predict(x, batch_size=1024, verbose=0),
            "call": lambda x: _each(lambda t: net(t, training=False).numpy(), x),
            "keras_ae": lambda x: net.reconstruct(x),
            "serve": lambda x: _each(lambda t: serve_call(t).numpy(), x),
        },
        "encode": {
            "predict": lambda x: net.encoder.predict(x, verbose=0),
            "predict_1024": lambda x: net.encoder.predict(x, batch_size=1024, verbose=0),
            "call": lambda x: _each(lambda t: net.encoder(t, training=False).numpy(), x),
            "keras_ae": lambda x: net.encode(x),
            "serve": lambda x: _each(lambda t: serve_encode(t).numpy(), x),
        },
    }
    # Inputs each way takes: numpy for predict and keras_ae, tensors for the rest.
    whole = {
        "predict": x_test,
        "predict_1024": x_test,
        "call": x_tf,
        "keras_ae": x_test,
        "serve": x_tf,
    }
    single = {"predict": x1, "predict_1024": x1, "call": [x1_tf], "keras_ae": x1, "serve": [x1_tf]}
    channel.recv()  # start
    for task in methods.values():  # build predict functions, trace, warm
        for name, fn in task.items():
            fn(whole[name])
            for _ in range(3):
                fn(single[name])
    channel.send(warmup_seconds=0, steps_per_round=0, warmup_rate=0)
    while True:
        cmd = channel.recv()
        if cmd["cmd"] != "round":
            break
        reps = cmd["latency_reps"]
        out = {}
        for task, fns in methods.items():
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn(whole[name])
                throughput = len(x_test) / (time.perf_counter() - t0)
                times = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    fn(single[name])
                    times.append(time.perf_counter() - t0)
                out[f"{task}/{name}"] = {
                    "throughput": throughput,
                    "latency_ms": 1e3 * statistics.median(times),
                }
        channel.send(inference=out)
    channel.send(peak_rss_mb=peak_rss_mb())


def _each(fn, tensors):
    """`fn` on every tensor of a list (one call per slice)."""
    return [fn(t) for t in tensors]


def run_worker(spec):
    """The body of the worker `spec` names (its contender), on a fresh `Channel`."""
    channel = Channel()
    kind = spec["contender"]
    if spec.get("fresh_fit"):
        fresh_fit_worker(spec, channel)
    elif kind == "pythae":
        pythae_worker(spec, channel)
    elif kind == "probe":
        probe_worker(spec, channel)
    elif kind == "inference":
        inference_worker(spec, channel)
    else:
        keras_worker(spec, channel)


class EpochMarks:
    """Seconds from a start time to the end of each epoch, and the steady
    samples/s over epochs 2-4 (the first holds tracing and compiling)."""

    def __init__(self, n):
        self.n, self.t0, self.marks, self.cpu = n, time.perf_counter(), [], []

    def mark(self):
        self.marks.append(time.perf_counter() - self.t0)
        self.cpu.append(sum(os.times()[:2]))  # this process's CPU seconds, all threads

    def report(self, **extra):
        m, last = self.marks, min(3, len(self.marks) - 1)
        wall = m[last] - m[0] if last > 0 else None
        return {
            "epoch_end_seconds": m,
            "steady": last * self.n / wall if wall else None,
            "n": self.n,
            # CPU seconds per wall second over the same epochs (2.0: both of 2 cores).
            "cpu_per_wall": (self.cpu[last] - self.cpu[0]) / wall if wall else None,
            "peak_rss_mb": peak_rss_mb(),
            **extra,
        }


def fresh_fit_worker(spec, channel):
    """One whole training from a fresh model in this fresh process: build,
    compile and `fit` for `spec["epochs"]` epochs at `spec["batch"]`; sends
    the time from building the model to each epoch's end (tracing and XLA
    compiling included) and the steady samples/s of epochs 2-4. The clock
    starts after the imports and the data load, which every contender pays
    alike."""
    contender, model, epochs, batch = (
        spec["contender"],
        spec["model"],
        spec["epochs"],
        spec["batch"],
    )
    if contender.startswith("pythae"):
        return _pythae_fresh_fit(spec, channel)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    import keras_ae  # noqa: F401  (imported before the clock, as the plain contender's keras)

    keras.utils.set_random_seed(0)
    x, _ = load_data(spec["data"], conv=False)
    x = x[: spec.get("n") or len(x)]
    marks = EpochMarks(len(x))
    if contender == "plain":
        net, needs_y = plain_keras(model, keras)
    else:
        net, needs_y = keras_ae_model(model, contender), False

    class Mark(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            marks.mark()

    net.fit(
        x,
        x if needs_y else None,
        batch_size=batch,
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=[Mark()],
    )
    channel.send(
        **marks.report(
            tf=tf.__version__, keras=keras.__version__, jit_compile=bool(net.jit_compile)
        )
    )
    channel.recv()


def _pythae_fresh_fit(spec, channel):
    """pythae two ways: `pythae_trainer` is what a pythae user runs
    (`TrainingPipeline` with a `BaseTrainerConfig`: its data processing,
    `BaseTrainer`, its DataLoader, logging and the final model save);
    `pythae_loop` is a hand-written PyTorch loop over the pythae model on a
    pre-loaded tensor, shuffled each epoch and sliced into batches (the
    ceiling of pythae's model code without its trainer)."""
    from importlib.metadata import version

    import torch
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig
    from pythae.trainers.training_callbacks import TrainingCallback

    torch.manual_seed(0)
    x, _ = load_data(spec["data"], conv=False)
    x = x[: spec.get("n") or len(x)]
    n, batch, epochs = len(x), spec["batch"], spec["epochs"]
    marks = EpochMarks(n)
    net = pythae_model(spec["model"])
    if spec["contender"] == "pythae_trainer":

        class Mark(TrainingCallback):
            def on_epoch_end(self, training_config, **kwargs):
                marks.mark()

        config = BaseTrainerConfig(
            output_dir=tempfile.mkdtemp(prefix="pythae_bench_"),
            per_device_train_batch_size=batch,
            num_epochs=epochs,
            learning_rate=1e-3,
            no_cuda=True,
        )
        TrainingPipeline(model=net, training_config=config)(train_data=x, callbacks=[Mark()])
    else:
        xt = torch.from_numpy(x)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        for epoch in range(epochs):
            order = torch.randperm(n)
            for i in range(0, n, batch):
                out = net({"data": xt[order[i : i + batch]]}, epoch=epoch, dataset_size=n)
                optimizer.zero_grad()
                out.loss.backward()
                optimizer.step()
            out.loss.item()
            marks.mark()
    channel.send(
        **marks.report(
            pythae=version("pythae"), torch=torch.__version__, threads=torch.get_num_threads()
        )
    )
    channel.recv()
