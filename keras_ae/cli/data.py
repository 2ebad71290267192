"""The data arguments of `keras-ae train`: the flags, and their values checked
into the settings a run's data record is made from (`keras_ae.datasets.records`,
which also rebuilds the run's data for `--resume`, `export` and `zoo evaluate`).
"""

from keras_ae.datasets import records
from keras_ae.datasets.records import FORMS, KEYS

#: The data options of `train`: flag -> `add_argument` keywords (each defaults to None).
OPTIONS = {
    "--image-size": dict(
        metavar="H,W", help="resize images to H,W (or HxW); images of several sizes need it"
    ),
    "--color-mode": dict(
        choices=("rgb", "grayscale"),
        help="images: 3 or 1 channels (default: rgb for folders, tfds's own)",
    ),
    "--label-column": dict(
        metavar="NAME_OR_INDEX", help="csv: the column of labels, left out of the model's input"
    ),
    "--scale": dict(
        choices=("minmax", "standard"),
        help="tables: per-feature scaling fitted on the training rows "
        "(default minmax), saved as scaler.json in the run folder",
    ),
    "--validation-split": dict(
        type=float,
        metavar="F",
        help="hold out this fraction (0 < F < 1) of the training data for "
        "validation; default: the source's test split where it has one, else none",
    ),
    "--sequence-length": dict(
        type=int, metavar="N", help="csv: windows of N consecutive rows, (N, features) sequences"
    ),
}


def add_arguments(p):
    """Adds the data arguments of `train` to its parser `p`."""
    p.add_argument("--dataset", default="mnist", metavar="SOURCE", help=f"{FORMS} (default mnist)")
    for flag, keywords in OPTIONS.items():
        p.add_argument(flag, default=None, **keywords)


def settings(args):
    """`records.settings` of the parsed `--dataset` and data options."""
    return records.settings({key: getattr(args, key) for key in ("dataset", *KEYS)})
