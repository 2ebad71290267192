"""The `keras-ae` command: its parser, and the exit code each outcome gives.

Each subcommand lives in its own module, which adds its arguments to the
parser and runs it: `zoo` (list, info, evaluate, pack, push), `train` (with the run's
crash-consistent record in `run_state`), `export` and `demo`. This module
checks the numbers several subcommands take, dispatches, and turns errors
into one line on stderr without a traceback: bad input (an unknown zoo name,
a missing file, a bad argument) exits with code 2, a training run whose loss
or weights turn NaN or infinite with code 1, an interrupt with 130
(`KERAS_AE_DEBUG=1` shows the traceback instead).

Usage:
    keras-ae zoo list [PATTERN]
    keras-ae zoo info NAME [--json]
    keras-ae zoo evaluate [NAME | ENTRY_DIR | URL | hf://REPO | RUN_DIR] [--quick] [--data-dir DIR]
    keras-ae zoo pack RUN_DIR --out ENTRY_DIR [--license ID] [--n N]
    keras-ae zoo push ENTRY_DIR hf://OWNER/REPO
    keras-ae train VARIANT --dataset mnist|images:DIR|csv:PATH|tfds:NAME|... --latent-dim 32
                   --epochs 50 --out runs/x [--resume] [--param KEY=VALUE ...]
                   [--image-size H,W] [--validation-split F] [--label-column C]
                   [--sequence-length N] [--network mlp|conv|conv1d|lstm]
    keras-ae export NAME_OR_PATH --format saved_model|tflite [--quantize int8] --out DIR
    keras-ae demo [--out DIR] [--data-dir DIR]

Example:
    $ keras-ae zoo list "vae*"
    $ keras-ae demo --out keras_ae_demo
"""

import argparse
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_ae.cli import demo, export, train, zoo  # noqa: E402
from keras_ae.cli.demo import DEMO_MODELS, run_demo  # noqa: E402
from keras_ae.cli.errors import TrainingDiverged, UsageError  # noqa: E402
from keras_ae.cli.run_state import RunState  # noqa: E402
from keras_ae.cli.zoo import evaluate_zoo  # noqa: E402
from keras_ae.datasets import DatasetError, DatasetNotFoundError  # noqa: E402
from keras_ae.zoo import ZooError  # noqa: E402

__all__ = [
    "DEMO_MODELS",
    "RunState",
    "TrainingDiverged",
    "UsageError",
    "build_parser",
    "evaluate_zoo",
    "main",
    "run_demo",
]


def build_parser():
    """The `keras-ae` argument parser; each subcommand's module adds its own."""
    parser = argparse.ArgumentParser(
        prog="keras-ae", description="Classic autoencoders for Keras 3: zoo, training, export."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (zoo, train, export, demo):
        command.add_parser(sub)
    return parser


def _bad_number(args):
    """What is wrong with a numeric argument, or None."""
    for name in ("limit", "latent_dim", "epochs", "batch_size"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be a positive integer, got {value}"
    lr, seed = getattr(args, "lr", None), getattr(args, "seed", None)
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        return f"--lr must be a finite number > 0, got {lr}"
    if seed is not None and not 0 <= seed < 2**32:
        return f"--seed must be an integer from 0 to 2**32 - 1, got {seed}"
    return None


def main(argv=None):
    """Runs the command; returns its exit code (2 for bad input).

    Example:
        >>> from keras_ae.cli import main
        >>> main(["zoo", "list", "vae*"])  # doctest: +SKIP
        0
    """
    args = build_parser().parse_args(argv)
    problem = _bad_number(args)
    if problem:
        print(f"keras-ae: error: {problem}", file=sys.stderr)
        return 2
    try:
        return args.fn(args)
    except TrainingDiverged as e:
        if os.environ.get("KERAS_AE_DEBUG"):
            raise
        print(f"keras-ae: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if os.environ.get("KERAS_AE_DEBUG"):
            raise
        # (a subcommand that keeps its work says how to go on: train's --resume)
        print(f"keras-ae: interrupted{getattr(args, 'interrupted', '')}", file=sys.stderr)
        return 130
    except (
        UsageError,
        ZooError,
        DatasetError,
        DatasetNotFoundError,
        OSError,
        ValueError,
    ) as e:  # OSError: a --out that is a file, a read-only folder, ...
        if os.environ.get("KERAS_AE_DEBUG"):
            raise
        message = " ".join(str(e).split())
        print(f"keras-ae: error: {message}", file=sys.stderr)
        return 2
