"""The data record of a `keras-ae train` run: from its data settings to run.json and back.

`settings` checks the data settings (`--dataset`, `--image-size`, ...)
before anything is written; `prepare` reads the data once, picks the
model's input shape and layout from it and the network, and returns the
record that run.json keeps under "data": the source (paths made absolute),
its options, the validation split, which split each role reads, the scaling
and the input shape. `pipeline` and `samples` rebuild exactly those samples
from the record, so that `--resume`, `export`, `zoo evaluate` and packed
presets (`keras_ae.zoo.save_preset`) read the run's own data. Image folders
and tfds are streamed (`make_dataset`); tables and the built-in array
datasets are held in memory. Bad settings raise `DatasetError`, which the
command line reports in one line (exit code 2).
"""

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import tensorflow as tf

from keras_ae.datasets import folder as folder_lib
from keras_ae.datasets._paths import DatasetError
from keras_ae.datasets.sources import BUILTINS, fit_scaler, load, make_dataset
from keras_ae.datasets.table import FeatureScaler

FORMS = (
    f"a built-in name ({', '.join(BUILTINS)}), tfds:NAME[/CONFIG][:VERSION], images:DIR or csv:PATH"
)
STREAMED = ("images", "tfds", "cifar10_jpeg")  # read from disk batch by batch
IMAGE_ARRAYS = ("mnist", "fashion_mnist")  # (28, 28) grey images held in memory
TABLES = ("csv", "satimage", "ecg5000")  # per-feature scaling fitted on the training rows
SCALER_FILE = "scaler.json"
#: run.json keys of the data arguments; None is each one's default, so a run
#: recorded before they existed resumes unchanged.
KEYS = ("image_size", "color_mode", "label_column", "scale", "validation_split", "sequence_length")


def kind_of(source):
    """("images" | "csv" | "tfds" | a built-in name, the rest of the string)."""
    for prefix in ("images", "csv", "tfds"):
        if source.startswith(prefix + ":"):
            return prefix, source[len(prefix) + 1 :]
    return source, None


def _image_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*[,xX]\s*(\d+)\s*", text)
    if not m or min(int(m[1]), int(m[2])) < 1:
        raise DatasetError(
            f"--image-size expects H,W or HxW of positive integers (e.g. 64,64), got {text!r}"
        )
    return [int(m[1]), int(m[2])]


def settings(given):
    """The checked data settings as run.json keeps them (`dataset` and `KEYS`),
    from `given`: `keras-ae train`'s values of `--dataset` and the `KEYS`
    options (a missing key is None: the option was not given).

    Raises:
        DatasetError: naming the option: a source of none of the forms, a
            missing folder or file, a malformed --image-size, a
            --validation-split outside (0, 1), or an option its source lacks.
    """
    args = SimpleNamespace(**{**dict.fromkeys(KEYS), **given})
    kind, value = kind_of(args.dataset)
    if kind not in (*BUILTINS, "images", "csv", "tfds") or value == "":
        raise DatasetError(f"--dataset {args.dataset!r} is none of the forms: {FORMS}")
    source = args.dataset
    if kind in ("images", "csv"):
        path = Path(value).expanduser()
        exists = path.is_dir() if kind == "images" else path.is_file()
        if not exists:
            raise DatasetError(
                f"--dataset {source}: no such {'folder' if kind == 'images' else 'file'}"
                f" {str(path)!r}"
            )
        source = f"{kind}:{path.resolve()}"  # so export and zoo evaluate find it from anywhere
    out = {"dataset": source, **dict.fromkeys(KEYS)}
    image_source = kind in STREAMED
    for key, allowed, where in (
        ("image_size", image_source, "image sources (images:, tfds:, cifar10_jpeg)"),
        ("color_mode", image_source, "image sources"),
        ("label_column", kind == "csv", "csv: sources"),
        ("sequence_length", kind == "csv", "csv: sources"),
        ("scale", kind in TABLES, "tables (csv:, satimage, ecg5000)"),
    ):
        given = getattr(args, key)
        if given is not None and not allowed:
            raise DatasetError(f"--{key.replace('_', '-')} applies to {where}, not to {source}")
    if args.image_size is not None:
        out["image_size"] = _image_size(args.image_size)
    out["color_mode"] = args.color_mode
    if args.label_column is not None:
        text = args.label_column.strip()
        out["label_column"] = int(text) if re.fullmatch(r"-?\d+", text) else text
    if args.sequence_length is not None:
        if args.sequence_length < 2:
            raise DatasetError(
                f"--sequence-length must be an integer >= 2, got {args.sequence_length}"
            )
        out["sequence_length"] = args.sequence_length
    out["scale"] = args.scale
    vs = args.validation_split
    if vs is not None:
        if not 0 < vs < 1:  # (NaN fails too)
            raise DatasetError(
                f"--validation-split must be a fraction between 0 and 1 (exclusive), got {vs}"
            )
        out["validation_split"] = vs
    return out


def _options(kind, s):
    """make_dataset's source options from the settings `s`."""
    if kind in STREAMED:
        opts = {"image_size": s["image_size"], "color_mode": s["color_mode"]}
    elif kind == "csv":
        opts = {"label_column": s["label_column"], "sequence_length": s["sequence_length"]}
    else:
        opts = {}
    return {k: v for k, v in opts.items() if v is not None}


def _has_test(kind, value, data_dir, opts):
    """Whether the source has a test split of its own (csv: the whole file is no test)."""
    if kind == "csv":
        return False
    if kind == "images":
        root, has_splits = folder_lib.split_folder(value, "test")
        return has_splits and root is not None
    if kind == "tfds":
        try:
            make_dataset(
                kind + ":" + value, split="test", batch_size=1, **opts, **_dir(kind, data_dir)
            )
        except ValueError:  # the train split was read first: only the split is missing
            return False
    return True


def _dir(kind, data_dir):
    return {"data_dir": data_dir} if data_dir is not None and kind not in ("images", "csv") else {}


def _natural(record, split, data_dir, scaler, batch_size, shuffle, seed, limit, binarize):
    """Batches of `split` in the source's own sample shape, and that shape."""
    kind, value = kind_of(record["source"])
    opts = {**record["options"], **_dir(kind, data_dir)}
    vs = None if split == "test" else record["validation_split"]
    if kind in STREAMED:
        ds = make_dataset(
            record["source"],
            split=split,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            validation_split=vs,
            **opts,
        )
        if limit:  # whole batches (the stream's length stays known to fit)
            ds = ds.take(-(-limit // batch_size))
        shape = tuple(getattr(ds, "element_shape", None) or ds.element_spec.shape[1:])
        if None in shape:
            raise DatasetError(
                f"{record['source']} gives samples of varying shape {shape}; pass --image-size H,W"
            )
        return ds, shape
    x = load(
        record["source"],
        split,
        validation_split=vs,
        scale=scaler if scaler is not None else "auto",
        **opts,
    )
    if limit:
        x = x[:limit]
    if not len(x):
        raise DatasetError(f"{record['source']} has no samples in its {split!r} split")
    ds = make_dataset(
        x,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        scale="unit" if binarize else None,
        binarize=binarize,
    )
    return ds, x.shape[1:]


#: Per sample rank: what such samples are, the networks that read them so (the
#: first is the default of a class whose own default network is not mlp), how
#: a sample is shaped for them, and how they are named when another network is
#: asked for.
_LAYOUTS = {
    3: ("image", ("conv",), lambda s: s, "images of shape {shape}"),
    2: (
        "sequence",
        ("conv1d", "lstm"),
        lambda s: s,
        "sequences of shape {shape} (steps, features)",
    ),
    # each row one sequence of one feature
    1: ("sequence", ("conv1d", "lstm"), lambda s: (*s, 1), "rows of {shape} features"),
}
_READS = {"conv": "images", "conv1d": "sequences", "lstm": "sequences"}


def _layout(kind, shape, network, variant_cls, source):
    """(layout, network, the model's input shape) for samples of `shape`."""
    if kind in IMAGE_ARRAYS and len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) not in _LAYOUTS:
        raise DatasetError(f"{source} gives samples of shape {shape}, which no network takes")
    layout, structured, as_input, what = _LAYOUTS[len(shape)]
    # A class whose default network is structured (ConvAutoencoder, VQVAE) reads
    # samples structured; the others flatten them.
    default = getattr(variant_cls, "defaults", {}).get("network", "mlp")
    net = network or (structured[0] if default != "mlp" else "mlp")
    if net in structured:
        return layout, net, as_input(shape)
    if net == "mlp":
        return "flat", net, (int(np.prod(shape)),)
    shown = shape if len(shape) > 1 else shape[0]
    raise DatasetError(
        f"--network {net} is for {_READS[net]}; {source} gives {what.format(shape=shown)}: "
        f"use --network {' or '.join(structured)}, or mlp"
    )


def _reshaped(ds, shape):
    shape = [int(d) for d in shape]
    return ds.map(lambda x: tf.reshape(x, [-1, *shape]), num_parallel_calls=tf.data.AUTOTUNE)


def pipeline(
    record,
    split,
    data_dir=None,
    scaler=None,
    batch_size=128,
    shuffle=False,
    seed=0,
    limit=None,
    binarize=None,
):
    """Batches of `split` of the run's data in the model's input shape."""
    ds, _ = _natural(record, split, data_dir, scaler, batch_size, shuffle, seed, limit, binarize)
    return _reshaped(ds, record["input_shape"])


def load_scaler(record, run_dir):
    """The run's fitted FeatureScaler (run_dir/scaler.json), or None."""
    if record.get("scaler") is None:
        return None
    path = Path(run_dir) / record["scaler"]
    if not path.is_file():
        raise DatasetError(
            f"{path}: the run's fitted scaler is missing; the model was trained "
            "on data scaled by it"
        )
    return FeatureScaler.load(path)


def samples(record, split, n, data_dir=None, run_dir=None):
    """The first `n` samples of `split` (file order) as float32 model inputs."""
    ds = pipeline(
        record, split, data_dir, load_scaler(record, run_dir), batch_size=min(n, 256), limit=n
    )
    return np.concatenate(list(ds.as_numpy_iterator()))[:n]


def evaluation_split(record):
    """The split a run is validated, verified and evaluated on (its training
    split when it has no other), and how a report names it."""
    split = record["splits"]["validation"]
    return split or "train"


def prepare(s, variant_cls, network, data_dir, batch_size, seed, limit, scaler=None, binarize=None):
    """Reads the run's data once: `(record, scaler, train_ds, val_ds or None)`.

    Args:
        s: `settings`' dict.
        scaler: a resumed run's saved FeatureScaler (else one is fitted on the
            training rows for tables).
        binarize: "dynamic" to binarize the training images afresh each epoch
            (validation then keeps one Bernoulli draw, "fixed": the same images
            every epoch, binarized as the training images are in expectation).
    """
    kind, value = kind_of(s["dataset"])
    opts = _options(kind, s)
    if kind in TABLES and scaler is None:
        scaler = fit_scaler(
            s["dataset"],
            s["scale"] or "minmax",
            validation_split=s["validation_split"],
            **opts,
            **_dir(kind, data_dir),
        )
    record = {
        "source": s["dataset"],
        "options": opts,
        "validation_split": s["validation_split"],
        "splits": {"train": "train", "validation": None},
        "scale": (s["scale"] or "minmax") if kind in TABLES else "unit",
        "scaler": SCALER_FILE if scaler is not None else None,
        "binarize": binarize,
    }
    train, shape = _natural(
        record, "train", data_dir, scaler, batch_size, True, seed, limit, binarize
    )
    if s["validation_split"] is not None:
        record["splits"]["validation"] = "validation"
    elif _has_test(kind, value, data_dir, opts):
        record["splits"]["validation"] = "test"
    layout, net, input_shape = _layout(kind, shape, network, variant_cls, s["dataset"])
    record.update(layout=layout, network=net, input_shape=list(input_shape))
    val = None
    if record["splits"]["validation"]:
        val, _ = _natural(
            record,
            record["splits"]["validation"],
            data_dir,
            scaler,
            batch_size,
            False,
            seed,
            limit and max(1, limit // 4),
            binarize and "fixed",
        )
        val = _reshaped(val, input_shape)
    return record, scaler, _reshaped(train, input_shape), val
