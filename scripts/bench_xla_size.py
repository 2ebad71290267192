"""XLA on or off, by network size: keras_ae's dense autoencoders on CPU, in one process.

keras_ae turns XLA on for every built MLP on a machine without a GPU
(`keras_ae.training.AUTO_COMPILE`), a choice `bench_train.py` measured on
MNIST-sized networks (784-512-256-30). This checks it across sizes, down to
the small tabular networks of the satimage and ECG5000 experiments: for each
network and batch size, a model compiled with `jit_compile=True` and one with
`jit_compile=False` (otherwise keras_ae's defaults, so 8 batches per compiled
call) share the process and alternate `fit` calls of one epoch over real
data, the order reversed every round, after one warm-up epoch each.

Writes ``docs/benchmarks/xla_size.md``: ms per step with and without XLA
(median over rounds) and the median, min and max over rounds of each round's
no-XLA / XLA time (above 1: XLA is faster).

Usage:
    PYTHONPATH=. KERAS_AE_DATA_DIR=../shared/data python scripts/bench_xla_size.py
"""

import argparse
import os
import statistics
import time
from pathlib import Path

from bench.harness import ROOT, provenance

BATCH_SIZES = (64, 256)
# (title, dataset, hidden units, code size)
NETWORKS = (
    ("satimage 36-64-8", "satimage", (64,), 8),
    ("satimage 36-256-128-8", "satimage", (256, 128), 8),
    ("ECG5000 140-64-32-8", "ecg5000", (64, 32), 8),
    ("MNIST 784-128-16", "mnist", (128,), 16),
    ("MNIST 784-512-256-30", "mnist", (512, 256), 30),
)


def load(name, data_dir, mnist_images):
    """Training rows of a dataset as float32, scaled as the experiments scale them."""
    import numpy as np

    from keras_ae import datasets

    if name == "satimage":
        (x, _), _ = datasets.load_satimage(data_dir)
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    elif name == "ecg5000":
        (x, y), _ = datasets.load_ecg5000(data_dir, split="tutorial")
        x = x[y == 1]  # the tutorial trains on the normal beats only
        x = (x - x.min()) / (x.max() - x.min())
    else:
        (x, _), _ = datasets.load_mnist(data_dir)
        x = x[:mnist_images].reshape(-1, 784) / 255.0
    return np.asarray(x, dtype="float32")


def measure(x, hidden, latent_dim, batch, rounds):
    """{jit_compile: [seconds per step, one per round]}."""
    import keras

    from keras_ae.models import Autoencoder

    nets = {}
    for jit in (True, False):
        keras.utils.set_random_seed(0)
        nets[jit] = Autoencoder(input_shape=x.shape[1:], latent_dim=latent_dim, hidden_units=hidden)
        nets[jit].compile(optimizer="adam", jit_compile=jit)

    def epoch(jit):
        t = time.perf_counter()
        nets[jit].fit(x, batch_size=batch, epochs=1, verbose=0)
        return (time.perf_counter() - t) / -(-len(x) // batch)

    for jit in nets:  # trace, compile (both batch shapes), warm
        epoch(jit)
    seconds = {True: [], False: []}
    for r in range(rounds):
        for jit in (True, False) if r % 2 == 0 else (False, True):
            seconds[jit].append(epoch(jit))
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--mnist-images",
        type=int,
        default=10000,
        help="MNIST training images per fit call (default: 10000)",
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(ROOT / "docs/benchmarks/xla_size.md"))
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    t0, load0 = time.perf_counter(), os.getloadavg()
    rows = []
    for title, dataset, hidden, latent_dim in NETWORKS:
        x = load(dataset, args.data_dir, args.mnist_images)
        for batch in BATCH_SIZES:
            seconds = measure(x, hidden, latent_dim, batch, args.rounds)
            ratios = np.array(seconds[False]) / np.array(seconds[True])
            rows.append(
                f"| {title} | {len(x):,} | {batch} | "
                f"{1e3 * statistics.median(seconds[True]):.2f} | "
                f"{1e3 * statistics.median(seconds[False]):.2f} | "
                f"{statistics.median(ratios):.2f}x ({ratios.min():.2f}-"
                f"{ratios.max():.2f}) |"
            )
            print(rows[-1], flush=True)
    command = (
        "python scripts/bench_xla_size.py"
        + (f" --rounds {args.rounds}" if args.rounds != 10 else "")
        + (f" --mnist-images {args.mnist_images}" if args.mnist_images != 10000 else "")
    )
    text = "\n".join(
        [
            "# XLA on or off, by network size (CPU, one process)",
            "",
            provenance(command, t0, load0),
            "",
            (
                "Each row: two `keras_ae.models.Autoencoder`s (Adam, keras_ae's defaults, 8 "
                "batches "
                "per compiled call), one compiled with `jit_compile=True` and one with "
                "`jit_compile=False`, alternating `fit` calls of one shuffled epoch over the "
                f"training rows, the order reversed every round, {args.rounds} rounds after one "
                "warm-up epoch each. Satimage standardized, ECG5000 the tutorial's normal "
                "training beats scaled to [0, 1], "
                "MNIST pixels / 255. Speed-up: the median over rounds of that round's no-XLA time "
                "/ XLA time (min-max in brackets); above 1, XLA is faster."
            ),
            "",
            "| network | rows | batch | ms/step, XLA | ms/step, no XLA | XLA speed-up |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
