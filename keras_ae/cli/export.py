"""`keras-ae export`: a zoo model, zoo entry folder or `.keras` file to SavedModel or LiteRT.

Every export is verified against the Keras model on real samples of the
model's own data (a zoo entry's metadata; the data record in the run.json of
the `keras-ae train` run a `.keras` file sits in, its source, options and
fitted scaler, read from its validation or test split; else `--dataset`,
else MNIST, said so), and int8 is calibrated on its training samples. `--out` is a folder; each
model, part and quantization is written under its own name in it.
"""

import math
import os
from pathlib import Path

import keras

from keras_ae import datasets, export, zoo
from keras_ae.cli.errors import UsageError, read_json
from keras_ae.datasets import records
from keras_ae.zoo import protocols as zm
from keras_ae.zoo.registry import read_metadata


def add_parser(sub):
    """Adds `export` to the `keras-ae` subparsers `sub`."""
    p = sub.add_parser("export", help="export a zoo model or .keras file")
    p.add_argument("model", help="a zoo name, a zoo entry directory or a .keras file")
    p.add_argument("--format", choices=("saved_model", "tflite"), required=True)
    p.add_argument("--quantize", choices=("float16", "dynamic", "int8"), default=None)
    p.add_argument("--part", choices=("full", "encoder", "decoder"), default="full")
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=None)
    p.add_argument(
        "--dataset",
        choices=("mnist", "fashion_mnist"),
        default=None,
        help="the data a .keras file outside a train run is checked on (default "
        "mnist); a zoo entry or a run uses its own",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an export of the same name already in --out (refused without it)",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the parity check on 512 real test images (no data at hand)",
    )
    p.set_defaults(fn=cmd_export)


def load_any(name_or_path):
    """A zoo name, a zoo entry directory or a `.keras` file.

    Returns:
        `(model, data, stem)`: where the model's data is described (`dataset`,
        `preprocessing` and `source`: the zoo entry's metadata, or the run.json
        of the `keras-ae train` run a `.keras` file sits in; None for a bare
        `.keras` file) and the name its exports take: a run's files are named
        after the run's folder (every run's final file is `model.keras`).
    """
    path = Path(name_or_path)
    if path.suffix == ".keras":
        if not path.is_file():
            raise UsageError(f"{path}: no such .keras file")
        model = keras.saving.load_model(str(path), safe_mode=True)
        data = _run_data(path, model)
        if data is None:
            return model, None, path.stem
        run = Path(data["source"]).parent.resolve().name
        return model, data, run if path.stem == "model" else f"{run}_{path.stem}"
    if path.is_dir() and (path / "metadata.json").is_file():
        meta = read_metadata(path)
        run = meta.get("preprocessing", {}).get("run")  # keras-ae zoo pack: the run's data
        packed = {"run": run, "run_dir": path} if isinstance(run, dict) else {}
        return (
            zoo.load_entry(path),
            {**meta, **packed, "source": f"{path / 'metadata.json'}"},
            path.resolve().name,
        )
    if os.sep in name_or_path or "/" in name_or_path:
        raise UsageError(f"{name_or_path}: neither a .keras file nor a zoo entry directory")
    return (
        zoo.load(name_or_path),
        {**zoo.info(name_or_path), "source": "its zoo card"},
        name_or_path,
    )


def _run_data(path, model):
    """The data of the `keras-ae train` run whose folder holds the `.keras`
    file `path` (its run.json: beside it, or one level up for state/'s
    files); None for a file of no run."""
    folder = path.resolve().parent
    if folder.name == "state" and not (folder / "run.json").is_file():
        folder = folder.parent
    run_file = folder / "run.json"
    if not run_file.is_file():
        return None
    record = read_json(run_file)
    if not isinstance(record, dict) or "variant" not in record:
        return None  # someone else's run.json
    dataset = record.get("dataset")
    if isinstance(record.get("data"), dict):  # the run's own data, as it trained on it
        return {
            "dataset": dataset,
            "run": record["data"],
            "run_dir": folder,
            "source": str(run_file),
        }
    if dataset not in ("mnist", "fashion_mnist"):
        raise UsageError(f"{run_file} names no dataset keras-ae trains on (got {dataset!r})")
    layout = "image" if len(model.input_shape_) == 3 else "flat"
    return {
        "dataset": dataset,
        "preprocessing": {"scale": "unit", "layout": layout},
        "source": str(run_file),
    }


def cmd_export(args):
    if args.format == "saved_model" and (args.quantize or args.part != "full"):
        # A SavedModel holds the whole model, every signature (encode, decode, ...).
        raise UsageError(
            "--quantize and --part apply to --format tflite only; a SavedModel "
            "holds the whole model with encode and decode signatures"
        )
    model, data, name = load_any(args.model)
    data = _export_data(model, data, args.dataset)
    out = Path(args.out)
    # --out is a folder; each model, part and quantization gets its own name in
    # it, so exporting another never replaces this one, and an export of the
    # same name is replaced only when asked.
    stem = "_".join([name] + [v for v in (args.part, args.quantize) if v not in (None, "full")])
    target = out / (f"{stem}_saved_model" if args.format == "saved_model" else f"{stem}.tflite")
    if target.exists() and not args.overwrite:
        raise UsageError(
            f"{target} already exists: pass --overwrite to replace it, or another --out"
        )
    # Every export is checked against the Keras model on real test images.
    verify, verified = (
        (None, None)
        if args.no_verify
        else _images(model, data, args.data_dir, "test", 512, "verification (or pass --no-verify)")
    )
    representative = calibrated = None
    if args.quantize == "int8":
        representative, calibrated = _images(
            model, data, args.data_dir, "train", 200, "int8 calibration"
        )
    out.mkdir(parents=True, exist_ok=True)
    if args.format == "saved_model":
        path = export.export_saved_model(model, str(target), verify_data=verify)
    else:
        # (A decoder is verified on the codes of the test images.)
        path = export.export_tflite(
            model,
            str(target),
            part=args.part,
            quantize=args.quantize,
            representative_data=representative,
            verify_data=verify,
        )
    print(f"exported: {getattr(path, 'path', path) or out}")
    for what, samples in (("verified on", verified), ("int8 calibrated on", calibrated)):
        if samples is not None:
            print(f"{what} {samples} ({data['source']})")
    report = getattr(path, "report", None)
    if report is not None:
        print(report)
    return 0


def _export_data(model, data, dataset):
    """The data an export is checked and calibrated on: what the model's entry
    or run records (a --dataset that contradicts it is refused), else
    --dataset, else MNIST, said so."""
    if data is not None:
        if dataset is not None and dataset != data["dataset"]:
            raise UsageError(
                f"--dataset {dataset}: the model was trained on {data['dataset']} "
                f"({data['source']})"
            )
        return data
    layout = "image" if len(model.input_shape_) == 3 else "flat"
    source = (
        "--dataset"
        if dataset
        else "a .keras file outside a keras-ae train run names no dataset: "
        "pass --dataset fashion_mnist for another"
    )
    return {
        "dataset": dataset or "mnist",
        "preprocessing": {"scale": "unit", "layout": layout},
        "source": source,
    }


def _images(model, data, data_dir, split, n, purpose):
    """`(x, what it is)`: `n` samples of `split` ("test": a run's evaluation
    split; "train") of the model's data in its input layout and scale."""
    dataset = data["dataset"]
    if "run" in data:  # a keras-ae train run: its own source, options and scaler
        record = data["run"]
        if split == "test":
            split = records.evaluation_split(record)
        if list(model.input_shape_) != list(record["input_shape"]):
            raise UsageError(
                f"{purpose}: {data['source']} describes inputs of shape "
                f"{tuple(record['input_shape'])}, the model takes {model.input_shape_}"
            )
        try:
            x = records.samples(record, split, n, data_dir, data["run_dir"])
        except (datasets.DatasetNotFoundError, datasets.DatasetError) as e:
            raise UsageError(f"{purpose} needs the run's data {dataset}: {e}") from None
        kind = records.kind_of(dataset)[0]
        unit = "images" if kind in (*records.STREAMED, *records.IMAGE_ARRAYS) else "samples"
        word = "training" if split == "train" else split
        return x, f"{len(x)} {word} {unit} of {dataset}"
    prep = data["preprocessing"]
    if math.prod(model.input_shape_) != 28 * 28:
        raise UsageError(
            f"{purpose} uses {dataset} {split} images, which do not fit this model's "
            f"input_shape={model.input_shape_}; export from Python with your own data "
            "(keras_ae.export: verify_data=, representative_data=)"
        )
    try:
        images = zm.load_split(dataset, split, data_dir)[0][:n]
    except (datasets.DatasetNotFoundError, datasets.DatasetError) as e:
        raise UsageError(f"{purpose} needs real {dataset} images: {e}") from None
    word = "training" if split == "train" else split
    return zm.prepare(images, prep), f"{len(images)} {word} images of {dataset}"
