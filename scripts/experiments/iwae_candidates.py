"""Chooses the training bound of `iwae2_mnist` on held-out training images.

Trains the entry's model with each candidate (importance samples k, gradient
estimator) for a few epochs of its recipe (the entry's first epochs), on the
training split less its last `validation` images, and measures on those
held-out images (binarized once, seed 1; the test split is never read) the
k=500 log-likelihood estimate, with each candidate's seconds per epoch.
Writes docs/benchmarks/iwae_candidates.md.

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/iwae_candidates.py \\
        [--epochs 3] [--candidates 1:plain,5:plain,5:dreg,10:dreg] [--images 1000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import numpy as np  # noqa: E402
import train_zoo  # noqa: E402
from zoo_table import BY_NAME  # noqa: E402

from keras_ae.zoo import protocols as zp  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "iwae_candidates.md"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--candidates", default="1:plain,5:plain,5:dreg,10:dreg")
    parser.add_argument("--images", type=int, default=1000, help="held-out images measured")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    base = BY_NAME["iwae2_mnist"]
    x_train = zp.load_split("mnist", "train", args.data_dir)[0]
    x_val = train_zoo.held_out(base, x_train, None, base["preprocessing"])[2][0][: args.images]
    rows = []
    for item in args.candidates.split(","):
        k, estimator = item.split(":")
        kwargs = dict(base["kwargs"], num_importance_samples=int(k), gradient_estimator=estimator)
        spec = {**base, "kwargs": kwargs, "epochs": args.epochs}
        start = time.time()
        model, run = train_zoo.train(spec, args.data_dir, seed=0)
        per_epoch = (time.time() - start) / args.epochs
        zp.reseed(model, 0)
        ll = float(np.mean(model.log_likelihood(x_val, num_samples=500)))
        rows.append((int(k), estimator, per_epoch, ll, run["final"]["loss"]))
        print(rows[-1], flush=True)
    lines = [
        "# Training bound candidates for iwae2_mnist",
        "",
        f"`python scripts/experiments/iwae_candidates.py --epochs {args.epochs} "
        f"--candidates {args.candidates} --images {args.images}`: each candidate trains "
        f"{args.epochs} epochs of the entry's recipe on the first "
        f"{len(x_train) - base['validation']:,} training images; the figure is the k=500 "
        f"log-likelihood estimate on {args.images} of the held-out last "
        f"{base['validation']:,} training images (binarized once, seed 1). Seconds per "
        "epoch include the first epoch's compilation, on this machine's 2 shared CPU cores.",
        "",
        "| k | estimator | s / epoch | held-out log p(x), k=500 | last training loss (-L_k) |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {k} | {e} | {s:.1f} | {ll:.2f} | {loss:.2f} |" for k, e, s, ll, loss in rows]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
