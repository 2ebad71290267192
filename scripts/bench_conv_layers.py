"""Where the conv AE's training step goes, TensorFlow against PyTorch, layer by layer.

`bench_train.py` finds pythae (PyTorch) faster than keras_ae on the conv AE
at batch 128, while keras_ae's step costs what plain Keras's does. This probe
looks one level down: each layer of that conv AE (the same layers in both
frameworks: 3x3 convolutions with stride 2, the dense code, the transposed
convolutions of the decoder), timed forward + backward on a fixed random
batch, the gradient taken with respect to the layer's weights and (except for
the first layer, whose input is the data) its input, as a training step
needs. TensorFlow runs each layer in a `tf.function` (no XLA: keras_ae's conv
default); PyTorch eagerly, as pythae does. Next to the decoder's
`Conv2DTranspose` layers it also times two other ways a Keras user can
upsample by 2 to the same output shape: `UpSampling2D` + a 3x3 `Conv2D`, and
a 3x3 `Conv2D` to 4x the channels + `depth_to_space` (sub-pixel convolution);
next to the output layer, keras_ae's own `Conv2D`
(`keras_ae.networks.layers.Conv2D`), which computes a channel-reducing
convolution as the equivalent transposed one.

The two frameworks run in two worker processes; each round times every layer
in one, then in the other, in alternating order; medians over rounds. Writes
`docs/benchmarks/conv_layers.md`.

PyTorch lives in a separate virtual environment (never a dependency)::

    python3 -m venv /work/bench-venv && /work/bench-venv/bin/pip install torch==2.13.0

Usage:
    PYTHONPATH=. python scripts/bench_conv_layers.py --torch-python /work/bench-venv/bin/python
    python scripts/bench_conv_layers.py --quick   # a few seconds, to check the script
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import (  # stdlib only: fine for the torch venv
    ROOT,
    Channel,
    Worker,
    timed,
)

DEFAULT_TORCH_PYTHON = Path("/work/bench-venv/bin/python")

# name, kind, input (H, W, C), output channels, stride, activation, input gradient
LAYERS = [
    ("encoder conv 1->32, s2, 28->14", "conv", (28, 28, 1), 32, 2, "relu", False),
    ("encoder conv 32->64, s2, 14->7", "conv", (14, 14, 32), 64, 2, "relu", True),
    ("code dense 3136->16", "dense", (3136,), 16, 1, None, True),
    ("decoder dense 16->3136", "dense", (16,), 3136, 1, "relu", True),
    ("decoder conv-transpose 64->64, s2, 7->14", "convT", (7, 7, 64), 64, 2, "relu", True),
    ("decoder conv-transpose 64->32, s2, 14->28", "convT", (14, 14, 64), 32, 2, "relu", True),
    ("output conv 32->1, 28x28", "conv", (28, 28, 32), 1, 1, "sigmoid", True),
]
KERAS_AE_OUTPUT = "  keras_ae's Conv2D 32->1, 28x28 (what its decoder uses)"
# Other ways to upsample the decoder by 2 (TensorFlow only), same in/out shapes.
ALTERNATIVES = [
    ("  instead: upsample + conv 64->64, 7->14", "upconv", (7, 7, 64), 64, 2, "relu", True),
    (
        "  instead: conv 64->256 + depth_to_space, 7->14",
        "subpixel",
        (7, 7, 64),
        64,
        2,
        "relu",
        True,
    ),
    ("  instead: upsample + conv 64->32, 14->28", "upconv", (14, 14, 64), 32, 2, "relu", True),
    (
        "  instead: conv 64->128 + depth_to_space, 14->28",
        "subpixel",
        (14, 14, 64),
        32,
        2,
        "relu",
        True,
    ),
    # keras_ae's Conv2D: the same convolution computed as a transposed one (kernel flipped).
    (KERAS_AE_OUTPUT, "keras_ae_conv", (28, 28, 32), 1, 1, "sigmoid", True),
]


# ------------------------------------------------------------------ workers
def tf_probes(batch, specs):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    from keras import layers

    def build(kind, out, stride, activation):
        if kind == "conv":
            return layers.Conv2D(out, 3, strides=stride, padding="same", activation=activation)
        if kind == "convT":
            return layers.Conv2DTranspose(
                out, 3, strides=stride, padding="same", activation=activation
            )
        if kind == "dense":
            return layers.Dense(out, activation=activation)
        if kind == "keras_ae_conv":
            from keras_ae.networks.layers import Conv2D

            return Conv2D(out, 3, strides=stride, padding="same", activation=activation)
        if kind == "upconv":
            return keras.Sequential(
                [
                    layers.UpSampling2D(stride),
                    layers.Conv2D(out, 3, padding="same", activation=activation),
                ]
            )
        if kind == "subpixel":
            conv = layers.Conv2D(out * stride**2, 3, padding="same")
            act = layers.Activation(activation)
            return lambda t: act(tf.nn.depth_to_space(conv(t), stride)), conv
        raise ValueError(kind)

    probes = {}
    rng = tf.random.Generator.from_seed(0)
    for name, kind, shape, out, stride, activation, input_grad in specs:
        built = build(kind, out, stride, activation)
        layer, owner = built if isinstance(built, tuple) else (built, built)
        x = (
            tf.Variable(rng.uniform((batch, *shape)))
            if input_grad
            else rng.uniform((batch, *shape))
        )
        layer(x)  # build the weights
        sources = ([x] if input_grad else []) + owner.trainable_variables

        probes[name] = _tf_step(tf, layer, x, sources)
    return probes, {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "threads": tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count(),
    }


def _tf_step(tf, layer, x, sources):
    """A blocking call of forward + backward (closed over: variables passed as
    `tf.function` arguments would be new inputs, not the layer's own)."""

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(layer(x))
        return tape.gradient(total, sources)

    return lambda: [g.numpy() for g in step()]


def torch_probes(batch, specs):
    import torch
    from torch import nn

    torch.manual_seed(0)
    acts = {"relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), None: nn.Identity()}

    def build(kind, cin, out, stride, activation):
        if kind == "conv":
            body = nn.Conv2d(cin, out, 3, stride=stride, padding=1)
        elif kind == "convT":
            body = nn.ConvTranspose2d(cin, out, 3, stride=stride, padding=1, output_padding=1)
        elif kind == "dense":
            body = nn.Linear(cin, out)
        else:
            raise ValueError(kind)
        return nn.Sequential(body, acts[activation])

    probes = {}
    for name, kind, shape, out, stride, activation, input_grad in specs:
        nchw = (shape[2], shape[0], shape[1]) if len(shape) == 3 else shape
        layer = build(kind, nchw[0], out, stride, activation)
        x = torch.rand((batch, *nchw), requires_grad=input_grad)

        def step(layer=layer, x=x):
            layer.zero_grad(set_to_none=True)
            x.grad = None
            layer(x).sum().backward()

        probes[name] = step
    return probes, {"torch": torch.__version__, "threads": torch.get_num_threads()}


def run_worker(framework, batch):
    channel = Channel()
    if framework == "torch":
        probes, info = torch_probes(batch, LAYERS)
    else:
        probes, info = tf_probes(batch, LAYERS + ALTERNATIVES)
    for fn in probes.values():  # trace and warm
        for _ in range(3):
            fn()
    channel.send(ready=True, **info)
    while True:
        cmd = channel.recv()
        if cmd["cmd"] == "quit":
            break
        names = list(probes) if cmd["turn"] % 2 == 0 else list(reversed(probes))
        channel.send(ms={n: 1e3 * timed(probes[n], cmd["seconds"]) for n in names})


# ------------------------------------------------------------- orchestrator
def start_worker(framework, python, batch, logdir):
    """One framework's worker process: this script run with `--worker`."""
    return Worker(
        framework,
        [Path(__file__).resolve(), "--worker", framework, "--batch", batch],
        python,
        Path(logdir) / f"conv_layers_{framework}_{batch}.log",
    )


def measure(batch, torch_python, rounds, seconds, logdir):
    workers = {"tf": start_worker("tf", sys.executable, batch, logdir)}
    if torch_python:
        workers["torch"] = start_worker("torch", torch_python, batch, logdir)
    try:
        info = {k: w.recv() for k, w in workers.items()}
        times = {k: [] for k in workers}
        for r in range(rounds):
            order = list(workers) if r % 2 == 0 else list(reversed(workers))
            for k in order:
                workers[k].send(cmd="round", turn=r, seconds=seconds)
                times[k].append(workers[k].recv()["ms"])
    finally:
        for w in workers.values():
            w.close()
    medians = {
        k: {n: statistics.median(t[n] for t in rs) for n in rs[0]} for k, rs in times.items()
    }
    return medians, info


def report(results, info, args, started, minutes):
    lines = [
        "# The conv AE's training step, layer by layer: TensorFlow vs PyTorch",
        "",
        (
            f"Generated by `python scripts/bench_conv_layers.py --rounds {args.rounds} --seconds "
            f"{args.seconds}` on {started} ({minutes:.1f} min). Each layer of the conv AE that "
            "`bench_train.py` times (keras_ae's `ConvAutoencoder(filters=(32, 64), "
            "latent_dim=16)`, "
            "plain Keras's and pythae's copies of it): forward + backward on a fixed random batch, "
            "gradients for the weights and, except for the first layer, the input. TensorFlow: "
            "each layer in a `tf.function`, no XLA (the conv default); PyTorch: eager, as in "
            "pythae's trainer. The two run in separate processes, alternating within every round; "
            "ms per call, medians over rounds. The machine is shared: compare within a batch size."
        ),
        "",
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores. "
            + "; ".join(
                f"{k}: " + ", ".join(f"{a} {b}" for a, b in v.items() if a != "ready")
                for k, v in info.items()
            )
            + "."
        ),
        "",
    ]
    for batch, medians in results.items():
        tf_ms, torch_ms = medians["tf"], medians.get("torch", {})
        lines += [
            f"## Batch {batch}",
            "",
            "| layer | TensorFlow ms | PyTorch ms | TensorFlow / PyTorch time |",
            "|---|---:|---:|---:|",
        ]
        for name, *_ in LAYERS + ALTERNATIVES:
            t = tf_ms[name]
            p = torch_ms.get(name)
            ratio = f"{t / p:.2f}x" if p else "—"
            lines.append(
                f"| {name} | {t:.2f} | {p:.2f} | {ratio} |"
                if p
                else f"| {name} | {t:.2f} | — | {ratio} |"
            )
        main = [n for n, *_ in LAYERS]
        ours = [KERAS_AE_OUTPUT if n == LAYERS[6][0] else n for n in main]
        total_tf, total_ours = sum(tf_ms[n] for n in main), sum(tf_ms[n] for n in ours)
        if torch_ms:
            total_torch = sum(torch_ms[n] for n in main)
            lines += [
                (
                    f"| **all layers: Keras's** | **{total_tf:.2f}** | **{total_torch:.2f}** | "
                    f"**{total_tf / total_torch:.2f}x** |"
                ),
                (
                    f"| **all layers: keras_ae's** | **{total_ours:.2f}** | "
                    f"**{total_torch:.2f}** | **{total_ours / total_torch:.2f}x** |"
                ),
            ]
            slower = [n for n in main if tf_ms[n] > torch_ms[n]]
            lines += [
                "",
                "Layers TensorFlow runs slower than PyTorch: "
                + (
                    "; ".join(
                        f"{n} (+{tf_ms[n] - torch_ms[n]:.2f} ms, {tf_ms[n] / torch_ms[n]:.2f}x)"
                        for n in slower
                    )
                    or "none"
                )
                + ".",
            ]
        else:
            lines += [
                f"| **all layers: Keras's** | **{total_tf:.2f}** | — | — |",
                f"| **all layers: keras_ae's** | **{total_ours:.2f}** | — | — |",
            ]
        lines.append("")
        ups = [
            (LAYERS[4][0], ALTERNATIVES[0][0], ALTERNATIVES[1][0]),
            (LAYERS[5][0], ALTERNATIVES[2][0], ALTERNATIVES[3][0]),
        ]
        for base, up, sub in ups:
            lines.append(
                f"- {base.strip()}: {tf_ms[base]:.2f} ms; upsample + conv "
                f"{tf_ms[up]:.2f} ms ({tf_ms[up] / tf_ms[base]:.2f}x); sub-pixel "
                f"{tf_ms[sub]:.2f} ms ({tf_ms[sub] / tf_ms[base]:.2f}x)."
            )
        base = LAYERS[6][0]
        lines.append(
            f"- {base}: Keras's `Conv2D` {tf_ms[base]:.2f} ms, keras_ae's (the same "
            f"convolution as a transposed one) {tf_ms[KERAS_AE_OUTPUT]:.2f} ms "
            f"({tf_ms[KERAS_AE_OUTPUT] / tf_ms[base]:.2f}x)."
        )
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--torch-python",
        default=None,
        help=f"a Python with torch installed (default {DEFAULT_TORCH_PYTHON} if "
        "it exists; without one only TensorFlow is timed)",
    )
    p.add_argument("--batches", type=int, nargs="+", default=[128, 256])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=0.5, help="timing per layer per round")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "conv_layers.md"))
    p.add_argument("--quick", action="store_true", help="2 rounds of 0.05 s, batch 128, no file")
    p.add_argument("--worker", choices=("tf", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return run_worker(args.worker, args.batch)
    if args.quick:
        args.rounds, args.seconds, args.batches = 2, 0.05, [128]
    torch_python = args.torch_python or (
        DEFAULT_TORCH_PYTHON if DEFAULT_TORCH_PYTHON.exists() else None
    )
    if not torch_python:
        print(
            "no --torch-python given and none at the default path: timing TensorFlow only; "
            "install torch in a separate venv (see this script's docstring)",
            file=sys.stderr,
        )
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.perf_counter()
    results, info = {}, {}
    logdir = tempfile.mkdtemp(prefix="bench_conv_layers_")
    for batch in args.batches:
        results[batch], info = measure(batch, torch_python, args.rounds, args.seconds, logdir)
        print(
            f"batch {batch}: "
            + ", ".join(
                f"{n.strip()} tf {results[batch]['tf'][n]:.2f} ms"
                + (
                    f" / torch {results[batch]['torch'][n]:.2f} ms"
                    if "torch" in results[batch] and n in results[batch]["torch"]
                    else ""
                )
                for n in results[batch]["tf"]
            )
        )
    text = report(results, info, args, started, (time.perf_counter() - t0) / 60)
    if args.quick:
        print(text)
    else:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
