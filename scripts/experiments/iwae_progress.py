"""Progress of a `train_zoo.py --run-dir` run on its held-out images.

Prints the validation bound each epoch recorded (`val_loss`, the training
bound -L_k on the held-out last images of the training split) every `--every`
epochs and, with `--k`, the importance-sampled log-likelihood of the run's
last committed model on `--images` of those held-out images: the figure to
compare with an entry's before building a provisional one (the test split is
never read here).

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/iwae_progress.py \\
        /work/runs/iwae2_mnist [--every 25] [--k 1000 --images 1000]
"""

import argparse
import csv
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import keras  # noqa: E402
import numpy as np  # noqa: E402
import train_zoo  # noqa: E402
from zoo_table import BY_NAME  # noqa: E402

from keras_ae.zoo import protocols as zp  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--entry", default="iwae2_mnist")
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--k", type=int, default=0, help="importance samples (0: skip)")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    run = Path(args.run_dir)
    rows = list(csv.DictReader((run / "history.csv").open(encoding="utf-8")))
    print("epoch  val -L_k  train -L_k  seconds")
    for row in rows:
        epoch = int(row["epoch"]) + 1
        if epoch % args.every == 0 or epoch == len(rows):
            print(
                f"{epoch:5d}  {float(row['val_loss']):8.2f}  {float(row['loss']):10.2f}  "
                f"{float(row.get('seconds') or 0):7.1f}"
            )
    hours = sum(float(r.get("seconds") or 0) for r in rows) / 3600
    print(f"{len(rows)} epochs, {hours:.2f} h of training")
    if args.k:
        spec = BY_NAME[args.entry]
        x_train = zp.load_split(spec.get("dataset", "mnist"), "train", args.data_dir)[0]
        x_val = train_zoo.held_out(spec, x_train, None, spec["preprocessing"])[2][0]
        model = keras.models.load_model(run / "model.keras", safe_mode=True)
        zp.reseed(model, 0)
        ll = model.log_likelihood(x_val[: args.images], num_samples=args.k)
        print(f"held-out log p(x), k={args.k}, {args.images} images: {np.mean(ll):.2f} nats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
