"""Trains every entry of the model zoo from scratch on the real data.

This script holds the training recipe; the entry table is
`scripts/zoo_table/` (one module per family); the files go
through `keras_ae.zoo.entry`. Each trained model is written in the entry
format and loaded back exactly as users load it (`entry.round_trip`),
measured on the test split (`keras_ae.zoo.protocols`), given its model card
and figures, and written by `entry.write_entry`, which checksums every file,
moves the entry into `zoo/<name>/` in one rename and pins it in
`zoo/MANIFEST.json` (what loading by name checks).

Usage:
    python scripts/train_zoo.py [--only NAME[,NAME...]] [--data-dir DIR] [--list]

Example:
    KERAS_AE_DATA_DIR=../shared/data python scripts/train_zoo.py --only deep_ae30_mnist
"""

import argparse
import datetime
import fnmatch
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))  # the entry table, scripts/zoo_table/

import keras
import numpy as np
import tensorflow as tf
from zoo_table import BY_NAME, ENTRIES
from zoo_table.common import DATA_LICENSES, INTENDED_USE, LICENSE

from keras_ae import corruption, datasets, plotting
from keras_ae.cli.run_state import RunState
from keras_ae.cli.zoo import fmt
from keras_ae.models import VARIANTS
from keras_ae.utils.files import atomic_output
from keras_ae.zoo import entry
from keras_ae.zoo import protocols as zp

ZOO = REPO / "zoo"


# ------------------------------------------------------------------ training
class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the epoch after `seconds` have passed.

    With `lr_end`, the learning rate also decays exponentially in wall time,
    from its initial value at the start to `lr_end` when the budget is spent.
    """

    def __init__(self, seconds, lr_start=None, lr_end=None):
        super().__init__()
        self.seconds = seconds
        self.lr_start, self.lr_end = lr_start, lr_end
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        if self.lr_end:
            frac = min(1.0, (time.time() - self.start) / self.seconds)
            lr = self.lr_start * (self.lr_end / self.lr_start) ** frac
            self.model.optimizer.learning_rate.assign(lr)

    def on_epoch_end(self, epoch, logs=None):
        if time.time() - self.start > self.seconds:
            print(f"time budget of {self.seconds} s reached after epoch {epoch + 1}", flush=True)
            self.model.stop_training = True


def noisy_pairs(ds, noise, seed):
    """`(noisy, clean)` batches: each image gets gaussian noise of its own
    sigma, uniform in `noise["sigma_range"]`, clipped to [0, 1], so one
    model learns every noise level of the range (a blind denoiser)."""
    lo, hi = noise["sigma_range"]
    gen = tf.random.Generator.from_seed(seed)

    def corrupt(x):
        sigma = gen.uniform((tf.shape(x)[0],) + (1,) * (len(x.shape) - 1), lo, hi)
        return tf.clip_by_value(x + sigma * gen.normal(tf.shape(x)), 0.0, 1.0), x

    return ds.map(corrupt).prefetch(tf.data.AUTOTUNE)


class EpochClock(keras.callbacks.Callback):
    """Adds each epoch's wall time to its logs as `seconds` (put it before
    `RunState`, which records the logs: a resumed run's wall time is their sum)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = round(time.time() - self.start, 2)


def held_out(spec, x_train, y_train, prep):
    """`(x_train, y_train, validation_data)`: with `spec["validation"] = n` the
    last n training images are held out (binarized once, seed 1, where the
    entry binarizes) to follow a run's progress; the test split is never used."""
    n = spec.get("validation")
    if not n:
        return x_train, y_train, None
    x_val = zp.prepare(x_train[-n:], prep)
    if prep.get("binarize"):
        x_val = zp.static_binarize(x_val, 1)
    if y_train is None:
        return x_train[:-n], None, (x_val,)
    return x_train[:-n], y_train[:-n], (x_val, y_train[-n:])  # a conditional model's labels


def resumable(run_dir, resume, spec, seed, model):
    """The `RunState` of a `--run-dir` run (keras-ae train's crash-consistent
    record: each finished epoch is committed in one rename), the model
    restored from its last commit with `resume`."""
    state = RunState(run_dir)
    record = Path(run_dir) / "zoo_run.json"
    keys = ("name", "epochs", "kwargs", "batch_size", "lr", "lr_decay", "validation")
    # The step schedule's settings (added later) are recorded only for entries
    # that use it, so the runs recorded before it still resume.
    settings = {"seed": seed, **{k: spec.get(k) for k in keys}}
    if spec.get("lr_schedule"):
        settings.update({k: spec.get(k) for k in ("steps_per_epoch", "lr_schedule", "lr_end")})
    settings = json.loads(json.dumps(settings))
    if resume:
        if not record.is_file():
            raise SystemExit(f"--resume: {run_dir} holds no zoo_run.json (no run to resume)")
        was = json.loads(record.read_text(encoding="utf-8"))
        if was != settings:
            raise SystemExit(f"--resume: {run_dir} ran {was}, not {settings}")
        state.recover()
        state.restore(model)
        print(f"resuming {spec['name']} after epoch {state.epochs}", flush=True)
    else:
        if record.exists():
            raise SystemExit(f"{run_dir} already holds a run: pass --resume to continue it")
        state.check_fresh()
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        with atomic_output(record) as staged:
            staged.write_text(json.dumps(settings), encoding="utf-8")
    return state


#: Burda et al. (2016)'s schedule: stage i lasts 3**i epochs at lr * 10**(-i/7),
#: i = 0..7, 3,280 epochs in all.
BURDA_STAGES = 8


def burda_rate(epoch, lr):
    """The learning rate of `epoch` (0-based) in Burda et al.'s staged schedule."""
    stage, end = 0, 1
    while epoch >= end and stage < BURDA_STAGES - 1:
        stage += 1
        end += 3**stage
    return lr * 10 ** (-stage / 7)


def learning_rate(spec):
    """The optimizer's learning rate: `spec["lr"]`, or with `lr_schedule="cosine"`
    a per-step cosine decay from it to `lr_end` over every step the entry asks
    for (`epochs` x `steps_per_epoch`). A schedule in steps, unlike a time
    budget, gives the same weights on any machine, and `--resume` continues it
    (the optimizer's step count is saved with each epoch). `lr_schedule="burda"`
    starts at `spec["lr"]`; `train` sets each epoch's rate (`burda_rate`)."""
    if spec.get("lr_schedule") in (None, "burda"):
        if spec.get("lr_schedule") and (spec.get("lr_decay") or spec.get("time_budget")):
            raise ValueError(
                f"{spec['name']}: lr_schedule='burda' sets every epoch's rate; "
                "lr_decay and time_budget must be unset"
            )
        return spec["lr"]
    if spec["lr_schedule"] != "cosine" or not spec.get("steps_per_epoch"):
        raise ValueError(
            f"{spec['name']}: lr_schedule must be 'cosine' with steps_per_epoch or 'burda', "
            f"got {spec['lr_schedule']!r} with steps_per_epoch={spec.get('steps_per_epoch')}"
        )
    total = spec["epochs"] * spec["steps_per_epoch"]
    return keras.optimizers.schedules.CosineDecay(
        spec["lr"], decay_steps=total, alpha=spec["lr_end"] / spec["lr"]
    )


def rate_callbacks(spec):
    """The callbacks that set the learning rate by epoch (`lr_decay`, Burda's
    stages) or by wall time (`time_budget`); a step schedule needs none."""
    lr0 = spec["lr"]
    if spec.get("time_budget"):
        if spec.get("lr_schedule") or spec.get("lr_decay"):
            raise ValueError(
                f"{spec['name']}: a time budget sets the rate by wall time; "
                "lr_schedule and lr_decay must be unset"
            )
        return [TimeBudget(spec["time_budget"], lr0, spec.get("lr_end"))]
    if spec.get("lr_schedule") == "burda":
        return [keras.callbacks.LearningRateScheduler(lambda e: burda_rate(e, lr0))]
    if spec.get("lr_decay"):
        decay = spec["lr_decay"]
        return [keras.callbacks.LearningRateScheduler(lambda e: lr0 * decay**e)]
    return []


def train(spec, data_dir, seed, run_dir=None, resume=False):
    dataset = spec.get("dataset", "mnist")
    prep = spec["preprocessing"]
    x_train = zp.load_split(dataset, "train", data_dir)[0]
    # A conditional model trains on (image, label) pairs: the labels go along.
    y_train = zp.load_split(dataset, "train", data_dir)[1] if spec.get("conditional") else None
    x_train, y_train, validation = held_out(spec, x_train, y_train, prep)
    keras.utils.set_random_seed(seed)
    ds = datasets.make_dataset(
        x_train,
        y_train,
        batch_size=spec["batch_size"],
        shuffle=True,
        seed=seed,
        scale=prep["scale"],
        flatten=prep["layout"] == "flat",
        channels=prep["layout"] == "image",
        binarize=prep["binarize"],
        drop_remainder=True,
    )
    if spec.get("pair_noise"):
        ds = noisy_pairs(ds, spec["pair_noise"], seed)
    if spec.get("steps_per_epoch"):  # epochs of a fixed number of steps: the data repeats
        ds = ds.repeat()
    model = VARIANTS[spec["variant"]](seed=seed, **spec["kwargs"])
    # From a zero output bias, sigmoid code units saturate in the first epoch.
    if spec.get("output_bias") == "mean_logit" and not model.init_output_bias(
        zp.prepare(x_train, prep)
    ):
        raise ValueError(f"{spec['name']}: output_bias='mean_logit' needs a built decoder")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate(spec), epsilon=spec.get("adam_epsilon", 1e-7))
    )
    callbacks = rate_callbacks(spec)
    state = resumable(run_dir, resume, spec, seed, model) if run_dir else None
    if state:
        callbacks += [EpochClock(), state]
    start = time.time()
    history = model.fit(
        ds,
        epochs=spec["epochs"],
        steps_per_epoch=spec.get("steps_per_epoch"),
        callbacks=callbacks,
        verbose=2,
        validation_data=validation,
        initial_epoch=state.epochs if state else 0,
    )
    if state:
        return model, run_record(state.history)
    seconds = time.time() - start
    final = {k: float(v[-1]) for k, v in history.history.items() if k != "learning_rate"}
    return model, {"epochs": len(history.epoch), "seconds": round(seconds, 1), "final": final}


def run_record(history):
    """`train`'s record of a `--run-dir` run from its committed history."""
    final = {k: v for k, v in history[-1].items() if k not in ("epoch", "learning_rate", "seconds")}
    seconds = sum(row.get("seconds", 0.0) for row in history)
    return {"epochs": len(history), "seconds": round(seconds, 1), "final": final}


# --------------------------------------------------------------------- cards
def resolve_bar(bar, measured, zoo):
    """The bar's numeric threshold (a `ref` reads another figure)."""
    bar = dict(bar)
    if "ref" in bar:
        other, metric = bar["ref"].split(":")
        if other == "self":
            value = measured[metric]
        else:
            meta = entry.read_metadata(zoo / other)
            value = next(m["value"] for m in meta["metrics"] if m["name"] == metric)
        bar["ref_value"] = value
        bar["value"] = value * bar.get("factor", 1.0)
    return bar


def write_figures(spec, model, folder, data_dir):
    """Draws the card's figures into `folder`; returns their file names."""
    dataset = spec.get("dataset", "mnist")
    prep = spec["preprocessing"]
    x_test, y_test = zp.load_split(dataset, "test", data_dir)
    x = zp.prepare(x_test, prep)
    files = []
    for fig in spec["figures"]:
        path = folder / f"{fig}.png"
        # Card figures hold model outputs only: the dataset's own images are not
        # redistributed here (the demo draws inputs beside outputs at run time).
        if fig == "reconstructions":
            plotting.save_rows(
                [zp.to_unit(model.reconstruct(x[:12]), prep)],
                ["output"],
                path,
                title="reconstructions of the first 12 test images",
            )
        elif fig == "gaussian_denoising":
            rows = []
            for sigma in (0.1, 0.2):
                noisy = zp.gaussian_noisy(zp.to_unit(x, prep), sigma, 0)[:12]
                rows.append(np.clip(zp.to_unit(model.reconstruct(noisy), prep), 0, 1))
            plotting.save_rows(
                rows,
                ["sigma 0.1", "sigma 0.2"],
                path,
                title="outputs for the first 12 test images with gaussian noise added",
            )
        elif fig == "kernels":
            kernel = keras.ops.convert_to_numpy(model.encoder.get_layer("code").kernel)
            plotting.save_kernels(kernel, path)
        elif fig == "denoising":
            noisy = keras.ops.convert_to_numpy(corruption.dropout_mask(x[:12], 0.5, seed=0))
            plotting.save_rows(
                [model.reconstruct(noisy)],
                ["denoised"],
                path,
                title="outputs for the first 12 test images with half their "
                "pixels zeroed (dropout mask p=0.5)",
            )
        elif fig == "samples":
            zp.reseed(model, 0)
            plotting.save_samples(model.sample(64), path, title="64 samples from the prior", cols=8)
        elif fig == "class_grid":  # a conditional model: one row per class
            labels = np.repeat(np.arange(model.num_classes), 10)
            plotting.save_samples(
                model.sample(labels=labels, seed=0),
                path,
                title="each class (rows), ten draws from the prior",
                cols=10,
            )
        elif fig == "manifold":
            plotting.save_manifold(model, path, n=20)
        elif fig == "codes":
            z = model.encode(x)
            plotting.save_codes(z, y_test, path, title="test codes (means of q(z|x))")
        else:
            raise ValueError(f"unknown figure {fig!r}")
        files.append(path.name)
    return files


def card_text(spec, meta, figures):
    """The model card (README.md) of an entry."""
    lines = [
        f"# {meta['name']}",
        "",
        spec["description"],
        "",
        "```python",
        "from keras_ae import zoo",
        "",
        f"model = zoo.load({meta['name']!r})  # verifies every sha256, safe_mode=True",
        "```",
        "",
        "## Figures on the test split",
        "",
        "| metric | value | protocol | bar | |",
        "|---|---|---|---|---|",
    ]
    for m in meta["metrics"]:
        bar = m.get("bar")
        bar_text = (
            ""
            if not bar
            else bar["text"] + (f" ({fmt(bar['value'])})" if bar["op"] != "within" else "")
        )
        status = "" if not bar else ("met" if m["met"] else "**missed**")
        if m.get("reference"):
            status = "reference"
        ci = "" if m.get("quick", True) else " (full protocol; not re-measured in CI)"
        lines.append(
            f"| `{m['name']}` | {fmt(m['value'])} {m['unit']} | {m['protocol']}{ci} "
            f"| {bar_text} | {status} |"
        )
    t = meta["training"]
    adam = f"Adam (epsilon {t['adam_epsilon']:g})" if t.get("adam_epsilon") else "Adam"
    lines += [
        "",
        "Every figure was measured on the model as loaded from this folder; "
        f"`keras-ae zoo evaluate {meta['name']}` re-measures them after `pip install "
        "keras_ae` (`--quick`: the figures CI re-measures; tolerances in metadata.json).",
        "",
        "## Intended use",
        "",
        INTENDED_USE.format(data=zp.TITLES[meta["dataset"]]),
        "",
        "## License",
        "",
        LICENSE.format(data=zp.TITLES[meta["dataset"]], terms=DATA_LICENSES[meta["dataset"]]),
        "",
        "## Training",
        "",
        (
            f"- data: {zp.TITLES[meta['dataset']]}, {meta['split']['train']}, preprocessing "
            f"`{json.dumps(meta['preprocessing'])}`"
        ),
        (f"- {meta['variant']} `{json.dumps(spec['kwargs'])}`, {meta['parameters']:,} parameters"),
        f"- {adam}, learning rate {t['learning_rate']} (x{t['lr_decay']:.6g} per epoch: "
        f"{t['learning_rate'] * t['lr_decay'] ** t['epochs_requested']:.3g} after "
        f"{t['epochs_requested']} epochs)"
        if t["lr_decay"]
        else f"- {adam}, learning rate {t['learning_rate']} with a per-step cosine decay to "
        f"{t['lr_end']} over {t['epochs_requested'] * t['steps_per_epoch']:,} steps"
        if t.get("lr_schedule") == "cosine"
        else f"- {adam}, learning rate {t['learning_rate']} in Burda et al.'s stages: "
        f"3^i epochs at x10^(-i/7), i = 0..{BURDA_STAGES - 1}"
        if t.get("lr_schedule") == "burda"
        else (
            f"- {adam}, learning rate {t['learning_rate']} decayed exponentially in wall "
            f"time to {t['lr_end']} at the end of the time budget"
            if t.get("lr_end")
            else f"- {adam}, learning rate {t['learning_rate']}"
        ),
        f"- {t['epochs']} epochs"
        + (f" of {t['steps_per_epoch']} steps" if t.get("steps_per_epoch") else "")
        + f" of batch {t['batch_size']} ({t['seconds']:.0f} s on "
        f"{t['machine']}), seed {t['seed']}"
        + (
            f"; stopped by a {t['time_budget']} s time budget (asked for {t['epochs_requested']})"
            if t.get("time_budget")
            else ""
        ),
        f"- command: `{t['command']}` (data from `KERAS_AE_DATA_DIR` or `--data-dir`)",
        f"- Keras {meta['versions']['keras']}, TensorFlow {meta['versions']['tensorflow']}",
    ]
    if t.get("output_bias"):
        lines.append(
            "- the decoder's output bias started at the logit of the mean training image "
            + spec.get(
                "output_bias_why",
                "(from zero, the sigmoid code units saturated in the first epoch)",
            )
        )
    if meta["weights_dtype"] == "float16":
        lines.append(
            "- weights stored as float16 in model.weights.h5 to fit the 5 MB entry "
            "and 40 MB zoo limits (loaded into float32 variables; the figures above "
            "were measured on this float16 copy)"
        )
    lines += ["", "## Figures", ""]
    captions = {
        "kernels": "every learned encoder kernel (one 28x28 tile per code unit, each "
        "scaled to its own range)",
        "reconstructions": "the model's reconstructions of the first 12 test images "
        "(`keras-ae demo` shows inputs beside outputs; the "
        "dataset's images are not redistributed here)",
        "denoising": "the model's outputs for the first 12 test images with each "
        "pixel zeroed with p=0.5 (inputs not reproduced here)",
        "gaussian_denoising": "the model's outputs for the first 12 test images with "
        "gaussian noise of sigma 0.1 (top) and 0.2 (bottom) added (inputs not reproduced here)",
        "samples": "decoded draws from the prior N(0, I)"
        if meta["variant"] != "HierarchicalVAE"
        else "z2 drawn from the prior N(0, I), z1 from p(z1|z2), shown as the mean of p(x|z1)",
        "class_grid": "one row per class label, ten draws of z from the prior N(0, I) "
        "decoded given that label (sample(labels=..., seed=0))",
        "manifold": "decoder outputs over a 20x20 grid of the 2-D latent space "
        "(normal quantiles 0.05..0.95)",
        "codes": "means of q(z|x) of the test images, coloured by digit",
    }
    for f in figures:
        lines += [f"![{f[:-4]}]({f})", "", captions.get(f[:-4], ""), ""]
    return "\n".join(lines)


def reproduce_command(name, seed=0, epochs=None):
    """The command that trains this one entry again (data from KERAS_AE_DATA_DIR)."""
    return (
        f"python scripts/train_zoo.py --only {name}"
        + (f" --seed {seed}" if seed else "")
        + (f" --epochs {epochs}" if epochs else "")
    )


def _versions():
    return {
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def build_entry(spec, data_dir, seed=0, zoo=None, epochs=None, run_dir=None, resume=False):
    """Trains one entry and writes it into the zoo (with `run_dir`, a run
    that `--resume` continues after an interruption)."""
    zoo = Path(zoo or ZOO)
    name = spec["name"]
    if epochs:
        spec = {**spec, "epochs": epochs}
    print(f"=== {name}", flush=True)
    model, run = train(spec, data_dir, seed, run_dir, resume)
    dtype = spec.get("weights_dtype", "float32")
    if 4 * model.count_params() > entry.MAX_ENTRY_BYTES - 500_000:
        dtype = "float16"
    command = reproduce_command(name, seed, epochs)
    training = training_record(spec, run, seed, command + (" --run-dir RUN" if run_dir else ""))
    try:
        return finish_entry(spec, model, zoo, data_dir, training, _versions(), dtype)
    except BaseException:
        # Keep the trained model: `--adopt` can build the entry from this folder.
        kept = zoo / f".failed-{name}-{os.getpid()}"
        entry.write_model_files(model, kept)
        (kept / "training.json").write_text(json.dumps(training, indent=1), encoding="utf-8")
        print(
            f"  kept the trained files in {kept} (rebuild: --only {name} --adopt {kept})",
            flush=True,
        )
        raise


def training_record(spec, run, seed, command):
    """The card's training record of a run (`train`'s `run` dict)."""
    return {
        "command": command,
        "epochs": run["epochs"],
        "epochs_requested": spec["epochs"],
        "time_budget": spec.get("time_budget"),
        "seconds": run["seconds"],
        "batch_size": spec["batch_size"],
        "steps_per_epoch": spec.get("steps_per_epoch"),
        "optimizer": "Adam",
        "learning_rate": spec["lr"],
        "lr_decay": spec.get("lr_decay"),
        "lr_end": spec.get("lr_end"),
        "lr_schedule": spec.get("lr_schedule"),
        "seed": seed,
        "output_bias": spec.get("output_bias"),
        "validation_images": spec.get("validation"),
        "adam_epsilon": spec.get("adam_epsilon"),
        "final_training_losses": run["final"],
        "machine": f"{platform.machine()} CPU x{os.cpu_count()}",
    }


def recard_entry(spec, data_dir, zoo=None, keep_full=False, card_only=False):
    """Re-measures an existing entry's metrics (as the spec now lists them) and
    rewrites its card, keeping its trained weights and training record.

    With `keep_full`, a full-protocol figure (not re-measured in CI) whose
    protocol is unchanged keeps its recorded value instead of being measured
    again (the k=5000 likelihood takes long on a small machine). With
    `card_only`, every recorded figure whose protocol is unchanged is kept:
    the card's text and figures are redrawn, nothing is re-measured."""
    zoo = Path(zoo or ZOO)
    name = spec["name"]
    print(f"=== {name} (re-measuring the card, weights kept)", flush=True)
    model, old = entry.read_entry(zoo / name)
    known = {}
    if keep_full or card_only:
        for m in spec["metrics"]:
            for o in old["metrics"]:
                if (
                    (card_only or not m.get("quick", True))
                    and o["name"] == m["name"]
                    and o["kind"] == m["kind"]
                    and o["params"] == m["params"]
                ):
                    known[m["name"]] = o
    # A spec may newly ask for float16 storage (to keep the zoo under 40 MB).
    dtype = (
        "float16" if "float16" in (spec.get("weights_dtype"), old["weights_dtype"]) else "float32"
    )
    training = {
        **old["training"],
        "card_rewritten_by": "python scripts/train_zoo.py " + " ".join(sys.argv[1:]),
    }
    training["command"] = reproduce_command(
        name,
        training.get("seed", 0),
        training["epochs"] if training["epochs"] != spec["epochs"] else None,
    )
    return finish_entry(spec, model, zoo, data_dir, training, old["versions"], dtype, known=known)


def adopt_entry(spec, source, data_dir, zoo=None):
    """Builds an entry from a finished training run's files instead of training.

    `source` holds the run's `config.json`, `model.weights.h5` and a
    `training.json` with its training record (epochs, seconds, command...),
    e.g. a run whose in-process measurement was stopped to re-measure it
    with another protocol."""
    source = Path(source)
    print(f"=== {spec['name']} (from the run in {source})", flush=True)
    if (source / "zoo_run.json").is_file():  # a --run-dir run, finished or not
        settings = json.loads((source / "zoo_run.json").read_text(encoding="utf-8"))
        state = RunState(source)
        state.recover()
        run = run_record(state.history)
        command = reproduce_command(spec["name"], settings["seed"]) + " --run-dir RUN"
        training = training_record(spec, run, settings["seed"], command)
        model = keras.models.load_model(source / "model.keras", safe_mode=True)
        return finish_entry(
            spec,
            model,
            Path(zoo or ZOO),
            data_dir,
            training,
            _versions(),
            spec.get("weights_dtype", "float32"),
        )
    training = json.loads((source / "training.json").read_text(encoding="utf-8"))
    return finish_entry(
        spec,
        entry.load_files(source),
        Path(zoo or ZOO),
        data_dir,
        training,
        _versions(),
        spec.get("weights_dtype", "float32"),
    )


def finish_entry(spec, model, zoo, data_dir, training, versions, dtype, known=None):
    """Measures `model` as users will load it, draws its figures and card, and
    writes the entry `zoo/<name>` (`entry.write_entry`). `known` maps metric
    names to already recorded figures that are kept as they are."""
    name = spec["name"]
    loaded = entry.round_trip(model, dtype)
    prep = spec["preprocessing"]
    dataset = spec.get("dataset", "mnist")
    n_train, n_test = (len(zp.load_split(dataset, s, data_dir)[0]) for s in ("train", "test"))
    measured, out = {}, []
    for m in spec["metrics"]:
        if known and m["name"] in known:
            kept = known[m["name"]]
            measured[m["name"]] = kept["value"]
            out.append({**m, "value": kept["value"], "seconds": kept.get("seconds")})
            print(f"  {m['name']} = {kept['value']:.6f} (kept from the previous card)")
            continue
        t0 = time.time()
        value = zp.measure(loaded, m, prep, data_dir=data_dir, dataset=dataset)
        measured[m["name"]] = value
        out.append({**m, "value": value, "seconds": round(time.time() - t0, 1)})
        print(f"  {m['name']} = {value:.6f} ({time.time() - t0:.1f} s)", flush=True)
    for m in out:
        if "bar" in m:
            m["bar"] = resolve_bar(m["bar"], measured, zoo)
            m["met"] = zp.bar_met(m["value"], m["bar"])
            print(
                f"  {m['name']}: bar {m['bar']['text']} -> {'met' if m['met'] else 'MISSED'}",
                flush=True,
            )
    meta = {
        "name": name,
        "variant": spec["variant"],
        "description": spec["description"],
        "dataset": dataset,
        "split": {
            "train": f"official training split, all {n_train:,} images"
            if not spec.get("validation")
            else f"official training split, its first {n_train - spec['validation']:,} images "
            f"(the last {spec['validation']:,} held out to follow training)",
            "test": f"official test split, {n_test:,} images (every metric)",
        },
        "preprocessing": prep,
        "input_shape": list(loaded.input_shape_),
        "latent_dim": loaded.latent_dim,
        "parameters": int(loaded.count_params()),
        "weights_dtype": dtype,
        "training": training,
        "versions": versions,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "metrics": out,
    }
    with tempfile.TemporaryDirectory() as tmp:
        figures = write_figures(spec, loaded, Path(tmp), data_dir)
        files = {f: Path(tmp) / f for f in figures}
        files[entry.CARD] = card_text(spec, meta, figures)
        meta = entry.write_entry(loaded, zoo / name, meta, files)
    print(f"  wrote {zoo / name} ({entry.entry_bytes(zoo / name) / 1e6:.2f} MB)", flush=True)
    return meta


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated entry names or patterns")
    parser.add_argument(
        "--data-dir", default=None, help="dataset directory (default: KERAS_AE_DATA_DIR)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--list", action="store_true", help="list the entries and exit")
    parser.add_argument("--zoo-dir", default=str(ZOO), help="where entries are written")
    parser.add_argument(
        "--recard",
        action="store_true",
        help="keep the trained weights; re-measure the metrics and rewrite the card and metadata",
    )
    parser.add_argument(
        "--keep-full",
        action="store_true",
        help="with --recard: keep recorded full-protocol figures whose protocol is unchanged",
    )
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="with --recard: keep every recorded figure whose protocol is unchanged "
        "(redraws the card and figures only)",
    )
    parser.add_argument(
        "--adopt",
        default=None,
        metavar="DIR",
        help="build the (single) --only entry from a finished run's "
        "config.json, model.weights.h5 and training.json in DIR",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override every entry's epochs (smoke tests only)"
    )
    parser.add_argument(
        "--run-dir",
        default=None,
        metavar="DIR",
        help="record the (single) --only entry's run in DIR, each epoch committed, so that "
        "--resume continues it; --adopt DIR builds the entry from it, finished or not",
    )
    parser.add_argument("--resume", action="store_true", help="with --run-dir: continue its run")
    args = parser.parse_args(argv)
    if args.list:
        for e in ENTRIES:
            print(e["name"])
        return 0
    chosen = ENTRIES
    if args.only:
        patterns = args.only.split(",")
        chosen = [e for e in ENTRIES if any(fnmatch.fnmatchcase(e["name"], p) for p in patterns)]
        if not chosen:
            parser.error(f"--only {args.only!r} matches no entry; entries: " + ", ".join(BY_NAME))
    if args.adopt and len(chosen) != 1:
        parser.error("--adopt builds one entry: give exactly one name with --only")
    if (args.run_dir and len(chosen) != 1) or (args.resume and not args.run_dir):
        parser.error("--run-dir trains one entry (one name with --only); --resume needs --run-dir")
    for spec in chosen:
        if args.adopt:
            adopt_entry(spec, args.adopt, args.data_dir, zoo=args.zoo_dir)
            continue
        if args.recard:
            recard_entry(
                spec,
                args.data_dir,
                zoo=args.zoo_dir,
                keep_full=args.keep_full,
                card_only=args.card_only,
            )
            continue
        build_entry(
            spec,
            args.data_dir,
            seed=args.seed,
            zoo=args.zoo_dir,
            epochs=args.epochs,
            run_dir=args.run_dir,
            resume=args.resume,
        )
    print(f"zoo size: {entry.entry_bytes(args.zoo_dir) / 1e6:.2f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
