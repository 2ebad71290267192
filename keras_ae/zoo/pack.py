"""Turning a trained model or a `keras-ae train` run into a zoo entry of one's own.

`save_preset` writes the entry (`keras_ae.zoo.entry.write_entry`: config,
weights, metadata with every sha256) with figures measured on the model's own
data, the way `keras-ae zoo evaluate FOLDER` measures them again
(`evaluate_preset`), and a README card that carries those figures, a license,
an intended use and the commands that load and re-measure it after
`pip install keras_ae`. `pack_run` does this for a run folder, whose run.json
records the data the run trained and was validated on.
"""

import csv
import datetime
import math
import platform
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_ae.zoo.entry import METADATA, ZooError, read_json, round_trip, write_entry

RUN_KIND = "run_data"  # a figure measured on the data of the entry's run record
REPORTED_KIND = "reported"  # a figure its author measured; the card says so
TOLERANCE = {"abs": 1e-6, "rel": 1e-3}
DEFAULT_LICENSE = "other"
DEFAULT_USE = (
    "Research and experimentation: reconstructions, codes, anomaly scores and samples "
    "for data like the data it was trained on ({data}). It was not validated for any "
    "decision about people, nor for data unlike its training data."
)


def measure(model, record, run_dir, data_dir=None, n=None):
    """The figures of `model` on the evaluation split of a run's data.

    The split is the one the run validated on (validation or test, else its
    training split); `n` keeps its first `n` samples (streamed sources: whole
    batches of 256). Figures: `mse` (per input value, as Keras's "mse") and
    each loss term of `model.compute_losses` (batch means, averaged over
    samples), with the model's random generator reseeded so they repeat.

    Returns:
        `(figures dict, split, number of samples)`.
    """
    from keras_ae.datasets import records
    from keras_ae.zoo.protocols import reseed

    split = records.evaluation_split(record)
    ds = records.pipeline(
        record,
        split,
        data_dir,
        records.load_scaler(record, run_dir),
        batch_size=256,
        limit=n,
        binarize=record.get("binarize") and "fixed",  # as the run validated
    )
    reseed(model, 0)
    squared, values, count, terms = 0.0, 0, 0, {}
    for x in ds:
        d = model.reconstruct(x).astype(np.float64) - x.numpy()
        squared, values, count = squared + float(np.sum(d * d)), values + d.size, count + len(d)
        for key, value in model.compute_losses(x, training=False).items():
            terms[key] = terms.get(key, 0.0) + float(value) * len(d)
    if not count:
        raise ZooError(f"{record['source']}: its {split!r} split has no samples to measure")
    figures = {"mse": squared / values, **{k: v / count for k, v in sorted(terms.items())}}
    return figures, split, count


def evaluate_preset(model, meta, folder=None, quick=False, data_dir=None):
    """Re-measures a card's figures: a packed entry's on its run's data, a zoo
    entry's by `keras_ae.zoo.protocols`; figures its author reported are skipped.

    Returns:
        A list of `{name, card, measured, tolerance, ok, quick}` dicts.
    """
    from keras_ae.zoo.protocols import evaluate_entry, within

    metrics = [m for m in meta.get("metrics", []) if m.get("kind") != REPORTED_KIND]
    record = meta.get("preprocessing", {}).get("run")
    if not isinstance(record, dict):
        return evaluate_entry(model, {**meta, "metrics": metrics}, quick, data_dir)
    scaler = record.get("scaler")
    if scaler is not None and (
        not isinstance(scaler, str) or Path(scaler).name != scaler or scaler not in meta["files"]
    ):
        raise ZooError(
            f"{meta.get('name')}: its run record names the scaler {scaler!r}, which is not "
            f"one of the entry's checksummed files ({', '.join(sorted(meta['files']))})"
        )
    ns = {m.get("params", {}).get("n") for m in metrics}
    figures, _, _ = measure(model, record, folder, data_dir, n=ns.pop() if len(ns) == 1 else None)
    return [
        {
            "name": m["name"],
            "card": m["value"],
            "measured": figures.get(m["name"], math.nan),
            "tolerance": m["tolerance"],
            "ok": within(figures.get(m["name"], math.nan), m["value"], m["tolerance"]),
            "quick": True,
        }
        for m in metrics
    ]


def _record_for(model, source, data_dir):
    """The data record of `source` (a `keras-ae train --dataset` value) for
    `model`, and the fitted scaler of a table (else None)."""
    from keras_ae.datasets import records

    settings = records.settings({"dataset": source})
    network = getattr(model, "network", None)
    record, scaler, _, _ = records.prepare(
        settings, type(model), network if network != "custom" else None, data_dir, 256, 0, None
    )
    return record, scaler


def save_preset(
    model,
    folder,
    card=None,
    data=None,
    run_dir=None,
    n=None,
    data_dir=None,
    training=None,
    weights_dtype="float32",
):
    """Writes `model` as an entry folder that every preset loader accepts.

    Args:
        model: a trained keras_ae model.
        folder: the entry folder to write (its name is the entry's name; an
            existing entry there is replaced, anything else is refused).
        card: a dict of `description`, `license` (an SPDX id or "other"),
            `intended_use`, and `figures` ({name: value} the author measured,
            used only when `data` is None).
        data: the model's data, measured now and by `keras-ae zoo evaluate`:
            a `keras-ae train --dataset` value (`"mnist"`, `"csv:PATH"`,
            `"images:DIR"`, `"tfds:NAME"`) or a run.json's data record.
        run_dir: the run folder of a record (its scaler.json).
        n: measure only the first `n` samples of the evaluation split.
        data_dir: where the built-in datasets are.
        training: how the model was trained (a dict for the metadata; its
            `command` is shown on the card).
        weights_dtype: "float32", or "float16" to halve the weights file
            (the figures are measured on the float16 model).

    Returns:
        The metadata as written.

    Raises:
        ZooError: a card without figures (no `data` and no `figures`), a
            figure that is not a finite number, or a target that is not an
            entry folder.

    Example:
        >>> from keras_ae import zoo
        >>> zoo.save_preset(vae, "my_vae", data="mnist", card={"license": "mit"})  # doctest: +SKIP
        >>> zoo.load("my_vae")  # doctest: +SKIP
    """
    if not hasattr(model, "reconstruct") or getattr(model, "input_shape_", None) is None:
        raise ZooError(
            f"save_preset takes a built keras_ae model (one with an input_shape), got {model!r}"
        )
    if hasattr(model, "condition_units") and data is not None:
        raise ZooError(
            f"save_preset measures a model on its data without labels, and a "
            f"{type(model).__name__} needs (x, labels): pass data=None and your own "
            "figures in card={'figures': {...}}"
        )
    if card is not None and not isinstance(card, dict):
        raise ZooError(f"card must be a dict such as {{'license': 'mit'}}, got {card!r}")
    card = dict(card or {})
    unknown = set(card) - {"description", "license", "intended_use", "figures"}
    if unknown:
        raise ZooError(
            f"card takes description, license, intended_use and figures; got {sorted(unknown)}"
        )
    folder = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(data, str):
            data, scaler = _record_for(model, data, data_dir)
            if scaler is not None:  # kept beside the record, as a run keeps it
                run_dir = Path(tmp)
                scaler.save(run_dir / data["scaler"])
        figures, where, split, count, kind, params = _figures(
            model, folder, card, data, run_dir, n, data_dir, weights_dtype
        )
        source = data["source"] if data else "not recorded"
        metrics = [
            dict(name=k, kind=kind, params=params, value=float(v), tolerance=TOLERANCE, quick=True)
            for k, v in figures.items()
        ]
        description = card.get("description") or (
            f"{type(model).__name__} with a {model.latent_dim}-unit code, trained on {source}."
        )
        meta = {
            "name": folder.name,
            "variant": type(model).__name__,
            "description": description,
            "dataset": source,
            "split": {"evaluation": split, "samples": count, "measured_on": where},
            "preprocessing": {"run": data} if data else {},
            "input_shape": list(model.input_shape_),
            "latent_dim": int(model.latent_dim or 0),
            "parameters": int(model.count_params()),
            "weights_dtype": weights_dtype,
            "training": training or {},
            "versions": {
                "keras": keras.__version__,
                "tensorflow": tf.__version__,
                "numpy": np.__version__,
                "python": platform.python_version(),
            },
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "metrics": metrics,
        }
        files = {"README.md": card_text(meta, card.get("license"), card.get("intended_use"))}
        if data and data.get("scaler"):
            files[data["scaler"]] = Path(run_dir) / data["scaler"]
        return write_entry(model, folder, meta, files, bundled=False)


def _figures(model, folder, card, data, run_dir, n, data_dir, weights_dtype):
    """`(figures, where, split, count, kind, params)` of a new entry: measured on
    `data`, else the card's own (reported), else a ZooError."""
    if data is not None:
        if data.get("scaler") and run_dir is None:
            raise ZooError(f"{data['source']}: the record names a fitted scaler; give run_dir")
        if list(data.get("input_shape", [])) != list(model.input_shape_):
            raise ZooError(
                f"{data.get('source')}: gives model inputs of shape {data.get('input_shape')}; "
                f"the model takes {model.input_shape_}"
            )
        loaded = round_trip(model, weights_dtype)  # the model as users will load it
        figures, split, count = measure(loaded, data, run_dir, data_dir, n)
        where = f"{count} samples of the {split} split of {data['source']}"
        found = figures, where, split, count, RUN_KIND, ({"n": n} if n else {})
    else:
        figures = card.get("figures")
        if not isinstance(figures, dict) or not figures:
            raise ZooError(
                f"{folder}: a card without figures; give data= (measured now and by "
                "keras-ae zoo evaluate) or card['figures'] = {name: value} you measured"
            )
        found = figures, "the author's own data (reported figures)", None, None, REPORTED_KIND, {}
    for name, value in figures.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise ZooError(f"{folder}: figure {name!r} must be a finite number, got {value!r}")
    return found


def card_text(meta, license=None, intended_use=None):
    """The README card of an entry of one's own: figures, use, license, commands."""
    name, license = meta["name"], license or DEFAULT_LICENSE
    reported = any(m["kind"] == REPORTED_KIND for m in meta["metrics"])
    rows = "\n".join(f"| {m['name']} | {m['value']:.6g} |" for m in meta["metrics"])
    license_text = (
        "The author named no license (`--license`, `card={'license': ...}`): ask them before reuse."
        if license == DEFAULT_LICENSE
        else f"`{license}`."
    )
    remeasure = (
        "The figures were reported by the author and are not re-measured."
        if reported
        else f"To re-measure every figure on the same data (exit code 1 if one differs):\n\n"
        f"```\npip install keras_ae\nkeras-ae zoo evaluate path/to/{name}\n```"
    )
    command = meta["training"].get("command")
    return f"""---
license: {license}
library_name: keras_ae
tags: [keras, autoencoder, keras_ae]
---
# {name}

{meta["description"]}

{meta["variant"]}, {meta["parameters"]:,} parameters, input shape {tuple(meta["input_shape"])}.

## Figures

Measured on {meta["split"]["measured_on"]}.

| figure | value |
|---|---|
{rows}

{remeasure}

## Intended use

{intended_use or DEFAULT_USE.format(data=meta["dataset"])}

## License

{license_text}

## Load it

```python
from keras_ae import zoo

model = zoo.load("path/to/{name}")  # this folder, an http(s):// URL of it, or hf://owner/repo
```

Every file's sha256 is checked against `{METADATA}` before anything is read.
{f"{chr(10)}## Training{chr(10)}{chr(10)}`{command}`{chr(10)}" if command else ""}"""


def _command(run):
    """The `keras-ae train` command line a run.json records."""
    parts = ["keras-ae train", run["variant"], "--dataset", run["dataset"]]
    for key in ("latent_dim", "batch_size", "lr", "limit", "seed", "network", "epochs"):
        if run.get(key) is not None:
            parts += [f"--{key.replace('_', '-')}", str(run[key])]
    for key in ("image_size", "color_mode", "label_column", "scale", "validation_split"):
        value = run.get(key)
        if value is not None:
            value = ",".join(map(str, value)) if isinstance(value, list) else value
            parts += [f"--{key.replace('_', '-')}", str(value)]
    parts += [f"--param '{k}={v!r}'" for k, v in run.get("params", {}).items()]
    return " ".join(parts)


def pack_run(run_dir, folder, card=None, n=None, data_dir=None):
    """Packs a `keras-ae train` run folder into the entry folder `folder`.

    The model is the run's model.keras (its last finished epoch); figures are
    measured on the data its run.json records (`measure`); the training
    settings, epochs and final losses go into the metadata and card.

    Returns:
        The metadata as written.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise ZooError(f"{run_dir}: not a keras-ae train run folder (no run.json)")
    _, run = read_json(run_dir / "run.json", "keras-ae train run record")
    if not isinstance(run, dict) or not isinstance(run.get("data"), dict):
        raise ZooError(f"{run_dir / 'run.json'}: records no data description (an older run)")
    if not (run_dir / "model.keras").is_file():
        raise ZooError(f"{run_dir}: no model.keras (the run finished no epoch)")
    model = keras.saving.load_model(str(run_dir / "model.keras"), safe_mode=True)
    history = []
    if (run_dir / "history.csv").is_file():
        with open(run_dir / "history.csv", newline="") as f:
            history = list(csv.DictReader(f))
    epochs = len(history)
    training = {
        "command": _command({**run, "epochs": epochs}),
        "epochs": epochs,
        "seed": run.get("seed"),
        "final": {k: float(v) for k, v in (history[-1] if history else {}).items() if v},
        "run": {k: v for k, v in run.items() if k != "data"},
    }
    return save_preset(
        model,
        folder,
        card,
        data=run["data"],
        run_dir=run_dir,
        n=n,
        data_dir=data_dir,
        training=training,
    )
