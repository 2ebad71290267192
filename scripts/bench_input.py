"""Checks that the tf.data input pipeline is not the bottleneck of training.

Measures, in one run, the samples/s a `keras_ae.datasets.make_dataset`
pipeline over MNIST train (flattened, unit-scaled, batch 256, shuffled,
prefetched) delivers when just iterated, and the samples/s a deep MLP
autoencoder (784-512-256-30-256-512-784, relu, sigmoid output, MSE, Adam,
batch 256) trains at with ``model.fit`` on the same pipeline. Writes a
markdown table to ``docs/benchmarks/input.md``.

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/bench_input.py
    python scripts/bench_input.py --data-dir ../shared/data --epochs 2
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from keras_ae import datasets


def pipeline(x, seed=0):
    return datasets.make_dataset(x, batch_size=256, shuffle=True, seed=seed, flatten=True)


def iterate(ds, epochs):
    """Samples/s of just pulling batches through the pipeline (after a warm-up epoch
    fills the cache)."""
    for _ in ds:
        pass
    n, t = 0, time.perf_counter()
    for _ in range(epochs):
        for b in ds:
            n += int(b.shape[0])
    return n / (time.perf_counter() - t)


def train(ds, epochs, n):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(30, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(784, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    pairs = ds.map(lambda b: (b, b))
    model.fit(
        pairs.take(5), epochs=1, verbose=0, shuffle=False
    )  # trace and build outside the timing
    t = time.perf_counter()
    hist = model.fit(pairs, epochs=epochs, verbose=0, shuffle=False)  # ds shuffles itself
    return n * epochs / (time.perf_counter() - t), hist.history["loss"][-1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("KERAS_AE_DATA_DIR"))
    p.add_argument("--epochs", type=int, default=2, help="timed training epochs")
    p.add_argument("--iter-epochs", type=int, default=3, help="timed pipeline-only epochs")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "input.md"))
    args = p.parse_args(argv)

    (x, _), _ = datasets.load_mnist(args.data_dir)
    feed = iterate(pipeline(x), args.iter_epochs)
    fit, loss = train(pipeline(x), args.epochs, len(x))
    ratio = feed / fit
    cpu = f"{os.cpu_count()} CPU cores visible"
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU" if gpus else "CPU only"
    table = "\n".join(
        [
            "# Input pipeline vs training throughput",
            "",
            "`scripts/bench_input.py`: MNIST train (60,000), `make_dataset(x, batch_size=256,",
            "shuffle=True, flatten=True)` (unit scale, cache, prefetch AUTOTUNE), against",
            "`model.fit` of a 784-512-256-30-256-512-784 MLP autoencoder (relu, sigmoid, MSE,",
            "Adam, batch 256) on the same pipeline, measured in the same run.",
            "",
            "| what | samples/s |",
            "|---|---:|",
            f"| pipeline only (iterate, {args.iter_epochs} epochs) | {feed:,.0f} |",
            f"| `model.fit` ({args.epochs} epochs, final loss {loss:.4f}) | {fit:,.0f} |",
            f"| ratio pipeline / training | **{ratio:.1f}x** |",
            "",
            (
                f"Machine: {platform.machine()}, {cpu}, {device}; TensorFlow {tf.__version__}, "
                f"Keras {keras.__version__}, shared with other jobs, so absolute figures are rough."
            ),
            "",
        ]
    )
    print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table)
    if ratio < 10:
        raise SystemExit(f"pipeline only {ratio:.1f}x faster than training (want >= 10x)")


if __name__ == "__main__":
    main()
