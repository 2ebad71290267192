"""keras_ae's `fit` against plain Keras's `fit`, the dense AE and the VAE, in one process.

`bench_train.py` gives every contender its own process (so each has its own
peak memory), and this machine's speed shifts between processes and minutes,
which moves the ratios between contenders by 10-30% from run to run. Here
the contenders of one model share a process and alternate `fit` calls of one
epoch over the first 30,000 MNIST training images (235 steps at batch 128, so
fit's per-call setup is a small share), in an order that reverses every
round, so a drift in the machine's speed hits all of them:

* plain Keras: `bench_train.py`'s functional model compiled with Adam and
  MSE (for the VAE, the keras.io VAE), Keras's defaults otherwise;
* keras_ae with XLA at Keras's 1 batch per compiled call
  (`steps_per_execution=1`);
* keras_ae with its defaults (XLA and `steps_per_execution="auto"`: 8
  batches per call).

Writes ``docs/benchmarks/fit_inprocess.md``: ms per step (median over rounds)
and the median over rounds of each round's plain / contender time ratio.

Usage:
    PYTHONPATH=. KERAS_AE_DATA_DIR=../shared/data python scripts/bench_fit_ab.py
"""

import argparse
import os
import statistics
import time
from pathlib import Path

from bench.contenders import BATCH_SIZES, MODEL_TITLES, keras_ae_model, plain_keras
from bench.harness import ROOT, provenance

CONTENDERS = {
    "plain": "plain Keras `fit`",
    "keras_ae_xla_spe1": "keras_ae XLA, 1 batch per call",
    "keras_ae": "keras_ae defaults (XLA, 8 batches per call)",
}


def measure(model, batch, x, rounds):
    """{contender: [seconds per step, one per round]} for one model and batch size."""
    import keras

    nets = {}
    for name in CONTENDERS:
        keras.utils.set_random_seed(0)
        if name == "plain":
            net, needs_y = plain_keras(model, keras)
        else:
            net, needs_y = keras_ae_model(model, name), False
        nets[name] = (net, x if needs_y else None)

    def epoch(name):
        net, y = nets[name]
        t = time.perf_counter()
        net.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
        return (time.perf_counter() - t) / -(-len(x) // batch)

    for name in CONTENDERS:  # trace, compile (both batch shapes), warm
        epoch(name)
    seconds = {name: [] for name in CONTENDERS}
    order = list(CONTENDERS)
    for r in range(rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            seconds[name].append(epoch(name))
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="dense,vae")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--images", type=int, default=30000, help="training images per fit call (default: 30000)"
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(ROOT / "docs/benchmarks/fit_inprocess.md"))
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    from keras_ae import datasets

    (x, _), _ = datasets.load_mnist(args.data_dir)
    x = (x[: args.images].reshape(-1, 784) / 255.0).astype("float32")
    t0, load0 = time.perf_counter(), os.getloadavg()
    rows = []
    for model in args.models.split(","):
        for batch in BATCH_SIZES:
            seconds = measure(model, batch, x, args.rounds)
            plain = np.array(seconds["plain"])
            cells = []
            for name in CONTENDERS:
                ms = 1e3 * statistics.median(seconds[name])
                ratios = plain / np.array(seconds[name])
                cells.append(
                    f"{ms:.2f} ({statistics.median(ratios):.2f}x"
                    + (f", {ratios.min():.2f}-{ratios.max():.2f})" if name != "plain" else ")")
                )
            rows.append(f"| {MODEL_TITLES[model]} | {batch} | " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)
    command = (
        "python scripts/bench_fit_ab.py"
        + (f" --models {args.models}" if args.models != "dense,vae" else "")
        + (f" --rounds {args.rounds}" if args.rounds != 10 else "")
        + (f" --images {args.images}" if args.images != 30000 else "")
    )
    text = "\n".join(
        [
            "# keras_ae `fit` against plain Keras `fit`, in one process",
            "",
            provenance(command, t0, load0),
            "",
            (
                "The contenders of each row share one process and alternate `fit` calls of one "
                f"epoch over the first {len(x):,} MNIST training images (Adam, shuffled), the "
                "order "
                f"reversed every round, {args.rounds} rounds after one warm-up epoch each. Cells: "
                "ms per "
                "step, median over rounds (in brackets: the median over rounds of that round's "
                "plain Keras time / this contender's time, i.e. its speed-up; min-max of those "
                "ratios "
                "after it). `train.md` has the same models in separate processes; this table "
                "measures the same ratios without the shifts between processes, but not without "
                "the machine's shifts within a round."
            ),
            "",
            "| model | batch | " + " | ".join(CONTENDERS.values()) + " |",
            "|---|---:|" + "---:|" * len(CONTENDERS),
            *rows,
            "",
        ]
    )
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
