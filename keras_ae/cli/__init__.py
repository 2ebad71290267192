"""The `keras-ae` command: the zoo, training, export and the demo.

Usage:
    keras-ae zoo list [PATTERN]
    keras-ae zoo info NAME [--json]
    keras-ae zoo evaluate [NAME] [--quick] [--data-dir DIR]
    keras-ae train VARIANT --dataset mnist --latent-dim 32 --epochs 50 --out runs/x [--resume]
                   [--param KEY=VALUE ...]
    keras-ae export NAME_OR_PATH --format saved_model|tflite [--quantize int8] --out DIR
    keras-ae demo [--out DIR] [--data-dir DIR]

Errors in what was given (an unknown zoo name, a missing file, a bad
argument) print one line on stderr and exit with code 2, without a traceback;
a training run whose loss or weights turn NaN or infinite exits with code 1.

Example:
    $ keras-ae zoo list "vae*"
    $ keras-ae demo --out keras_ae_demo
"""

import argparse
import csv
import io
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

DEMO_MODELS = {
    "reconstruction": "deep_ae30_mnist",
    "denoising": "dae500_dropout_mnist",
    "denoising_baseline": "ae500_mnist",
    "vae": "vae50_mnist",
    "vae2d": "vae2_mnist",
}


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit code 2."""


# ---------------------------------------------------------------------- zoo
def _cmd_zoo_list(args):
    from keras_ae import zoo

    names = zoo.list_models(args.pattern)
    if not names:
        print(f"no zoo entries match {args.pattern!r} (zoo: {zoo.zoo_dir()})")
        return 0
    width = max(len(n) for n in names)
    for name in names:
        meta = zoo.info(name)
        headline = _headline(meta)
        print(f"{name:<{width}}  {meta['variant']:<22} {meta['dataset']:<13} {headline}")
    return 0


def _headline(meta):
    metrics = [m for m in meta.get("metrics", []) if not m.get("reference")]
    if not metrics:
        return ""
    m = metrics[0]
    status = ""
    if "bar" in m:
        status = " (bar met)" if m.get("met") else " (bar missed)"
    return f"{m['name']}={_fmt(m['value'])}{status}"


def _fmt(value):
    return f"{value:.5f}" if abs(value) < 0.1 else f"{value:.2f}"


def _cmd_zoo_info(args):
    from keras_ae import zoo

    meta = zoo.info(args.name)
    if args.json:
        print(json.dumps(meta, indent=1))
        return 0
    t = meta.get("training", {})
    print(f"{meta['name']}: {meta['description']}")
    print(f"  variant {meta['variant']}, {meta['parameters']:,} parameters, "
          f"weights {meta['weights_dtype']}, dataset {meta['dataset']}")
    print(f"  trained {t.get('epochs')} epochs, seed {t.get('seed')}: {t.get('command')}")
    print(f"  Keras {meta['versions']['keras']}, TensorFlow {meta['versions']['tensorflow']}")
    for m in meta["metrics"]:
        bar = m.get("bar")
        status = "reference" if m.get("reference") else (
            "" if not bar else ("met: " if m["met"] else "MISSED: ") + bar["text"])
        print(f"  {m['name']:<36} {_fmt(m['value']):>10}  {status}")
    print(f"  card: {zoo.entry_dir(args.name) / 'README.md'}")
    return 0


def _cmd_zoo_evaluate(args):
    return evaluate_zoo(names=[args.name] if args.name else None, quick=args.quick,
                        data_dir=args.data_dir)


def evaluate_zoo(names=None, quick=False, data_dir=None, out=sys.stdout):
    """Re-measures every card figure; returns 0 when all agree, else 1.

    Args:
        names: entry names (default: every entry).
        quick: only the metrics CI re-measures.
        data_dir: the dataset directory.
        out: where the table is printed.
    """
    from keras_ae import zoo

    names = names or zoo.list_models()
    failures = 0
    for name in names:
        start = time.time()
        for r in zoo.evaluate(name, quick=quick, data_dir=data_dir):
            ok = "ok" if r["ok"] else "DIFFERS"
            failures += not r["ok"]
            print(f"{name:<24} {r['name']:<36} card {r['card']:>12.6f}  measured "
                  f"{r['measured']:>12.6f}  {ok}", file=out, flush=True)
        print(f"{name:<24} ({time.time() - start:.1f} s)", file=out, flush=True)
    print(f"{len(names)} entries, {failures} figure(s) differ from their cards", file=out)
    return 1 if failures else 0


# -------------------------------------------------------------------- train
def _layout(variant_cls, network):
    from keras_ae.models import ConvAutoencoder

    conv = network == "conv" or (network is None and issubclass(variant_cls, ConvAutoencoder))
    return "image" if conv else "flat"


def _parse_params(pairs, variant_cls):
    """`--param KEY=VALUE` pairs as constructor keyword arguments of the variant.

    VALUE is read as a Python literal (`4`, `0.1`, `(256, 128)`, `'relu'`) and
    kept as a string when it is a bare word (`relu`); other text that is no
    literal (`(128,`), sets and dicts, and a key given twice are refused.
    """
    import ast
    import inspect

    accepted = set()
    for klass in variant_cls.__mro__:  # keras_ae's own arguments, not keras.Layer's
        if "__init__" in vars(klass) and klass.__module__.startswith("keras_ae"):
            accepted |= {name for name, p in inspect.signature(klass.__init__).parameters.items()
                         if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    accepted -= {"self", "input_shape", "latent_dim", "seed", "network", "encoder", "decoder"}
    params = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UsageError(f"--param expects KEY=VALUE, got {pair!r}")
        if key not in accepted:
            raise UsageError(f"--param {key}: {variant_cls.__name__} takes no such argument; "
                             f"expected one of {', '.join(sorted(accepted))}")
        if key in params:
            raise UsageError(f"--param {key} is given twice ({params[key]!r} and {text!r})")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            # A bare word is a string (activation=relu); anything else was
            # meant as a literal and is mistyped (hidden_units=(128,).
            if not re.fullmatch(r"[A-Za-z_][\w.-]*", text.strip()):
                raise UsageError(f"--param {key}={text} is not a Python literal; e.g. 4, 0.1, "
                                 "'(256, 128)' or a word such as relu") from None
            value = text.strip()
        if isinstance(value, (set, frozenset, dict, bytes, complex)):
            kind = {set: "a set", frozenset: "a set", dict: "a dict", bytes: "bytes",
                    complex: "a complex number"}[type(value)]
            raise UsageError(f"--param {key}={text}: {kind} is no constructor value here; "
                             "give a number, a word, or a tuple such as (64,)")
        params[key] = value
    return params


def _cmd_train(args):
    from keras_ae import datasets
    from keras_ae.models import VAE, VARIANTS
    from keras_ae.utils.files import atomic_output

    if args.variant not in VARIANTS:
        raise UsageError(f"unknown variant {args.variant!r}; expected one of "
                         f"{', '.join(VARIANTS)}")
    cls = VARIANTS[args.variant]
    params = _parse_params(args.param, cls)
    out = Path(args.out)
    run_file = out / "run.json"
    state = RunState(out)
    settings = {"variant": args.variant, "dataset": args.dataset, "latent_dim": args.latent_dim,
                "network": args.network, "batch_size": args.batch_size, "lr": args.lr,
                "limit": args.limit, "seed": args.seed, "params": params}
    if run_file.exists():
        if not args.resume:
            raise UsageError(f"{out} already holds a run; pass --resume to continue it or "
                             "choose another --out")
        previous = {"params": {}, **_read_json(run_file)}
        settings = json.loads(json.dumps(settings))  # tuples read back as lists
        changed = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
        if changed:
            raise UsageError(f"--resume must repeat the run's settings; changed: {changed}")
        state.recover()
        if state.epochs >= args.epochs:  # Keras would return at once and say nothing
            print(f"nothing to do: the run in {out} has finished {state.epochs} epoch(s) and "
                  f"--epochs is {args.epochs}; give a larger --epochs to train on")
            return 0
    elif args.resume:
        raise UsageError(f"--resume: {out} holds no run to resume (no run.json)")
    else:
        state.check_fresh()

    loader = {"mnist": datasets.load_mnist, "fashion_mnist": datasets.load_fashion_mnist}
    (x_train, _), (x_test, _) = loader[args.dataset](args.data_dir)
    if args.limit:
        x_train, x_test = x_train[: args.limit], x_test[: max(1, args.limit // 4)]
    layout = _layout(cls, args.network)
    binarize = "dynamic" if issubclass(cls, VAE) and args.dataset == "mnist" else None
    kwargs = dict(input_shape=(28, 28, 1) if layout == "image" else (784,),
                  latent_dim=args.latent_dim, seed=args.seed)
    if args.network:
        kwargs["network"] = args.network
    keras.utils.set_random_seed(args.seed)
    try:
        model = cls(**kwargs, **params)
    except (ValueError, TypeError) as err:
        raise UsageError(f"{args.variant}: {err}") from err
    model.compile(optimizer=keras.optimizers.Adam(args.lr))
    state.restore(model)
    common = dict(batch_size=args.batch_size, flatten=layout == "flat",
                  channels=layout == "image", binarize=binarize)
    train_ds = datasets.make_dataset(x_train, seed=args.seed, **common)
    val_ds = datasets.make_dataset(x_test, shuffle=False,
                                   **{**common, "binarize": binarize and "static"})
    # Written once the model and data are ready, so that a run that stops on a
    # wrong --param or a missing dataset leaves no run.json blocking its folder.
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(run_file) as staged:  # a resume reads it back
        staged.write_text(json.dumps(settings, indent=1))
    callbacks = [state, keras.callbacks.TensorBoard(str(out / "logs"))]
    # (make_dataset shuffles; Keras's own shuffle would only warn that it is ignored.)
    try:
        model.fit(train_ds, epochs=args.epochs, initial_epoch=state.epochs,
                  validation_data=val_ds, callbacks=callbacks, verbose=args.verbose,
                  shuffle=False)
    except ArithmeticError as e:  # fit's NonFiniteError (a FloatingPointError): say what stays
        where = str(e).split(". ")[0]  # its first sentence; the rest is for Python users
        raise TrainingDiverged(f"{where}; {state.kept()} (a smaller --lr may help)") from e
    print(f"model: {out / 'model.keras'}  logs: tensorboard --logdir {out / 'logs'}\n"
          "(load it with keras.models.load_model after `import keras_ae`, which registers "
          "its classes)")
    return 0


class TrainingDiverged(Exception):
    """Training met a non-finite loss or weights: one line, exit code 1."""


def _read_json(path):
    """A JSON file the package wrote; an unreadable one is named in the error."""
    try:
        return json.loads(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"{path} is not valid JSON ({e}); it was changed or damaged "
                         "outside keras-ae") from None


class RunState(keras.callbacks.Callback):
    """The record of a `keras-ae train` run that `--resume` restores.

    At each epoch end the model, with its optimizer state, is saved to a new
    `state/epoch-NNNNNN.keras`; then `state/state.json` (that file's name, the
    count of finished epochs and the whole history) replaces the previous one
    in one rename, which is the commit. `model.keras` and `history.csv` are
    copies derived from the committed state. A process killed at any moment
    leaves the previous commit or the new one; `recover` brings the derived
    files level with it and removes what an interrupted commit left behind
    (the package's own staging files and uncommitted epoch files only).
    A non-finite loss or weight is never committed.
    """

    _EPOCH_FILE = re.compile(r"epoch-\d{6}\.keras")
    # atomic_output's staging folders: ".<name>.<random>.partial"
    _STAGING = re.compile(r"\.(model\.keras|history\.csv|run\.json|state\.json|"
                          r"epoch-\d{6}\.keras)\.\w+\.partial")

    def __init__(self, out):
        super().__init__()
        self.out = Path(out)
        self.dir = self.out / "state"
        self.file = self.dir / "state.json"
        self.epochs, self.history, self.weights = 0, [], None

    def check_fresh(self):
        """Refuses to start a run over files that a fresh run would replace."""
        for name in ("state", "model.keras", "history.csv"):
            if (self.out / name).exists():
                raise UsageError(f"{self.out} already holds {name} but no run.json; choose "
                                 "another --out (a new run would replace it)")

    def recover(self):
        """Reads the last commit; rewrites model.keras and history.csv from it
        where they differ and removes leftovers of an interrupted commit."""
        if self.file.is_file():
            record = _read_json(self.file)
            try:
                self.epochs, self.history = int(record["epochs"]), list(record["history"])
                self.weights = self.dir / record["model"]
                ok = (self._EPOCH_FILE.fullmatch(record["model"]) and self.weights.is_file()
                      and len(self.history) == self.epochs)
            except (KeyError, TypeError, ValueError):
                ok = False
            if not ok:
                raise UsageError(f"{self.file} does not describe a run keras-ae wrote (epochs, "
                                 "history and a state/epoch-NNNNNN.keras file that exists)")
            restored = self._derive()
            if restored:
                print(f"brought {' and '.join(restored)} level with the run's last finished "
                      f"epoch ({self.epochs}); the previous run stopped before writing them")
        elif (self.out / "model.keras").exists() or (self.out / "backup").exists():
            raise UsageError(f"{self.out} holds no {self.file.relative_to(self.out)}: it was "
                             "started by an older keras-ae whose backup --resume no longer "
                             "reads; its model.keras is kept, start again with another --out")
        self._clean()

    def restore(self, model):
        """Loads the committed weights and optimizer state into `model`."""
        if self.weights is not None:
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            model.load_weights(str(self.weights))

    def kept(self):
        """Says what a stopped run keeps (for its error message)."""
        if not self.epochs:
            return "no epoch finished, so nothing was saved"
        return f"model.keras and the run's state keep epoch {self.epochs}, the last good one"

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if not bad and not all(np.isfinite(w).all() for w in self.model.get_weights()):
            bad = {"weights": "non-finite"}
        if bad:
            raise TrainingDiverged(f"training stopped at the end of epoch {epoch + 1}: "
                                   f"{bad}; {self.kept()} (a smaller --lr may help)")
        if epoch != self.epochs:
            raise RuntimeError(f"epoch {epoch} follows the {self.epochs} recorded")
        from keras_ae.utils.files import atomic_output

        weights = self.dir / f"epoch-{epoch + 1:06d}.keras"
        self.model.save(weights)
        history = [*self.history, {"epoch": epoch, **logs}]
        with atomic_output(self.file) as staged:  # the commit
            staged.write_text(json.dumps({"epochs": epoch + 1, "model": weights.name,
                                          "history": history}, indent=1))
        self.epochs, self.history, self.weights = epoch + 1, history, weights
        self._derive()
        self._clean()

    def _derive(self):
        """Writes model.keras and history.csv from the state where they differ;
        returns the names of those it rewrote."""
        from keras_ae.utils.files import atomic_output

        rewritten = []
        model_file = self.out / "model.keras"
        if not model_file.is_file() or model_file.read_bytes() != self.weights.read_bytes():
            with atomic_output(model_file) as staged:
                shutil.copyfile(self.weights, staged)
            rewritten.append(model_file.name)
        history_file = self.out / "history.csv"
        text = _history_csv(self.history)
        if not history_file.is_file() or history_file.read_text() != text:
            with atomic_output(history_file) as staged:
                staged.write_text(text)
            rewritten.append(history_file.name)
        return rewritten

    def _clean(self):
        """Removes the staging folders and uncommitted epoch files the package
        left behind; nothing else is touched."""
        for folder in (self.out, self.dir):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.is_dir() and not path.is_symlink() and self._STAGING.fullmatch(path.name):
                    shutil.rmtree(path, ignore_errors=True)
                elif (folder == self.dir and self._EPOCH_FILE.fullmatch(path.name)
                      and path.is_file() and path != self.weights):
                    path.unlink()


def _history_csv(rows):
    """history.csv as keras.callbacks.CSVLogger writes it: epoch, then the
    metrics in sorted order, one row per finished epoch."""
    buffer = io.StringIO()
    keys = sorted({k for row in rows for k in row} - {"epoch"})
    writer = csv.DictWriter(buffer, fieldnames=["epoch", *keys], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# ------------------------------------------------------------------- export
def _load_any(name_or_path):
    """A zoo name, a zoo entry directory or a `.keras` file.

    Returns:
        `(model, data, stem)`: where the model's data is described (`dataset`,
        `preprocessing` and `source`: the zoo entry's metadata, or the run.json
        of the `keras-ae train` run a `.keras` file sits in; None for a bare
        `.keras` file) and the name its exports take.
    """
    from keras_ae import zoo

    path = Path(name_or_path)
    if path.suffix == ".keras":
        if not path.is_file():
            raise UsageError(f"{path}: no such .keras file")
        model = keras.saving.load_model(str(path), safe_mode=True)
        return model, _run_data(path, model), path.stem
    if path.is_dir() and (path / "metadata.json").is_file():
        from keras_ae.zoo.registry import read_metadata

        meta = read_metadata(path)
        return zoo.load_entry(path), {**meta, "source": f"{path / 'metadata.json'}"}, \
            path.resolve().name
    if os.sep in name_or_path or "/" in name_or_path:
        raise UsageError(f"{name_or_path}: neither a .keras file nor a zoo entry directory")
    return zoo.load(name_or_path), {**zoo.info(name_or_path), "source": "its zoo card"}, \
        name_or_path


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
    record = _read_json(run_file)
    if not isinstance(record, dict) or "variant" not in record:
        return None  # someone else's run.json
    dataset = record.get("dataset")
    if dataset not in ("mnist", "fashion_mnist"):
        raise UsageError(f"{run_file} names no dataset keras-ae trains on (got {dataset!r})")
    layout = "image" if len(model.input_shape_) == 3 else "flat"
    return {"dataset": dataset, "preprocessing": {"scale": "unit", "layout": layout},
            "source": str(run_file)}


def _cmd_export(args):
    if args.format == "saved_model" and (args.quantize or args.part != "full"):
        # A SavedModel holds the whole model, every signature (encode, decode, ...).
        raise UsageError("--quantize and --part apply to --format tflite only; a SavedModel "
                         "holds the whole model with encode and decode signatures")
    model, data, name = _load_any(args.model)
    data = _export_data(model, data, args.dataset)
    from keras_ae import export  # written alongside; imported only when used

    out = Path(args.out)
    # Every export is checked against the Keras model on real test images.
    verify = None if args.no_verify else _images(model, data, args.data_dir, "test", 512,
                                                 "verification (or pass --no-verify)")
    # --out is a folder; each model, part and quantization gets its own name in
    # it, so exporting another never replaces this one.
    stem = "_".join([name] + [v for v in (args.part, args.quantize) if v not in (None, "full")])
    out.mkdir(parents=True, exist_ok=True)
    representative = None
    if args.format == "saved_model":
        path = export.export_saved_model(model, str(out / f"{stem}_saved_model"),
                                         verify_data=verify)
    else:
        if args.quantize == "int8":
            representative = _images(model, data, args.data_dir, "train", 200,
                                     "int8 calibration")
        # (A decoder is verified on the codes of the test images.)
        path = export.export_tflite(model, str(out / f"{stem}.tflite"), part=args.part,
                                    quantize=args.quantize, representative_data=representative,
                                    verify_data=verify)
    print(f"exported: {getattr(path, 'path', path) or out}")
    for images, what in ((verify, "verified on {} test"),
                         (representative, "int8 calibrated on {} training")):
        if images is not None:
            print(f"{what.format(len(images))} images of {data['dataset']} ({data['source']})")
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
            raise UsageError(f"--dataset {dataset}: the model was trained on {data['dataset']} "
                             f"({data['source']})")
        return data
    layout = "image" if len(model.input_shape_) == 3 else "flat"
    source = ("--dataset" if dataset else
              "a .keras file outside a keras-ae train run names no dataset: "
              "pass --dataset fashion_mnist for another")
    return {"dataset": dataset or "mnist", "preprocessing": {"scale": "unit", "layout": layout},
            "source": source}


def _images(model, data, data_dir, split, n, purpose):
    """`n` images of `split` of the model's dataset in its input layout and
    scale (calibration, verification)."""
    from keras_ae import datasets
    from keras_ae.zoo import metrics as zm

    dataset, prep = data["dataset"], data["preprocessing"]
    if math.prod(model.input_shape_) != 28 * 28:
        raise UsageError(
            f"{purpose} uses {dataset} {split} images, which do not fit this model's "
            f"input_shape={model.input_shape_}; export from Python with your own data "
            "(keras_ae.export: verify_data=, representative_data=)")
    try:
        images = zm.load_split(dataset, split, data_dir)[0][:n]
    except (datasets.DatasetNotFoundError, datasets.DatasetError) as e:
        raise UsageError(f"{purpose} needs real {dataset} images: {e}") from None
    return zm.prepare(images, prep)


# --------------------------------------------------------------------- demo
def _cmd_demo(args):
    return run_demo(out=args.out, data_dir=args.data_dir, limit=args.limit)


def run_demo(out="keras_ae_demo", data_dir=None, limit=2000, seed=0):
    """Loads zoo models, writes a folder of figures and prints a metrics table.

    Args:
        out: the folder for the figures.
        data_dir: where MNIST is; a folder without it is an error raised
            before any figure is drawn. Default: `KERAS_AE_DATA_DIR`, the
            Keras cache, or a download when online, and without any of them
            only the VAE figures.
        limit: how many test images the metrics use.
        seed: seed of the corruption and of the samples.

    Returns:
        0 (the exit code).
    """
    import numpy as np
    import tensorflow as tf

    from keras_ae import datasets, plotting, zoo
    from keras_ae.zoo import metrics as zm

    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 2:
        raise ValueError(f"limit must be an integer >= 2 (the interpolation figure takes two "
                         f"test images), got {limit!r}")
    tf.get_logger().setLevel("ERROR")  # retracing notices for the odd batch sizes
    start = time.time()
    mnist = None
    if data_dir is not None:  # an explicit folder is authoritative: no figure without it
        if not Path(data_dir).is_dir():
            raise datasets.DatasetNotFoundError(f"data_dir {data_dir}: no such folder")
        try:
            mnist = datasets.load_mnist(data_dir)
        except datasets.DatasetNotFoundError as e:
            raise datasets.DatasetNotFoundError(f"data_dir {data_dir} holds no MNIST: "
                                                f"{e}") from None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    vae = zoo.load(DEMO_MODELS["vae"])
    zm.reseed(vae, seed)
    written.append(plotting.save_samples(vae.sample(64), out / "vae_samples.png",
                                         title=f"64 samples from {DEMO_MODELS['vae']}", cols=8))
    vae2 = zoo.load(DEMO_MODELS["vae2d"])
    written.append(plotting.save_manifold(vae2, out / "vae_2d_manifold.png", n=20,
                                          title=f"decoded 2-D latent manifold of "
                                                f"{DEMO_MODELS['vae2d']}"))
    try:
        (_, _), (x_test, y_test) = mnist or datasets.load_mnist()
    except (datasets.DatasetNotFoundError, datasets.DatasetError) as e:
        print(f"MNIST not available ({str(e).splitlines()[0]})")
        print("Only the VAE samples and manifold were drawn. To get the data, put the four "
              "MNIST .gz files in DIR/mnist/ and run `keras-ae demo --data-dir DIR` (or set "
              "KERAS_AE_DATA_DIR), or run once with internet access to download them.")
        _print_written(written, start)
        return 0
    x = zm.prepare(x_test[:limit], {"scale": "unit", "layout": "flat"})
    rows = []

    ae = zoo.load(DEMO_MODELS["reconstruction"])
    written.append(plotting.save_reconstructions(
        x[:12], ae.reconstruct(x[:12]), out / "reconstructions.png",
        title=f"test images (top), {DEMO_MODELS['reconstruction']} reconstructions (bottom)"))
    rows.append((DEMO_MODELS["reconstruction"], "test MSE per pixel",
                 zm.mse(ae, x, {}), _card(DEMO_MODELS["reconstruction"], "test_mse")))

    dae = zoo.load(DEMO_MODELS["denoising"])
    base = zoo.load(DEMO_MODELS["denoising_baseline"])
    noisy = zm._dropout(x, 0.5, seed)
    written.append(plotting.save_rows(
        [x[:12], noisy[:12], dae.reconstruct(noisy[:12]), base.reconstruct(noisy[:12])],
        ["clean", "masked", "denoising AE", "plain AE"], out / "denoising.png",
        title="dropout mask p=0.5: the denoising AE vs the plain over-complete AE"))
    rows.append(("(corrupted input)", "PSNR of masked images, dB",
                 zm.corrupted_psnr(None, x, {}, rate=0.5, seed=seed),
                 _card(DEMO_MODELS["denoising_baseline"], "corrupted_psnr")))
    for name, model in ((DEMO_MODELS["denoising"], dae), (DEMO_MODELS["denoising_baseline"], base)):
        rows.append((name, "PSNR after denoising, dB",
                     zm.denoised_psnr(model, x, {}, rate=0.5, seed=seed),
                     _card(name, "denoised_psnr")))

    xb = zm.static_binarize(x, 123)
    rows.append((DEMO_MODELS["vae"], f"log-likelihood, k=100, {min(limit, 200)} images",
                 zm.log_likelihood(vae, x[:200], {}, k=100, n=None, seed=seed), None))
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(3):
        i, j = rng.choice(len(x), 2, replace=False)
        pairs.append((x[i], x[j]))
    written.append(plotting.save_interpolation(vae, pairs, out / "interpolation.png"))
    written.append(plotting.save_codes(vae2.encode(xb), y_test[: len(x)],
                                       out / "vae_2d_codes.png",
                                       title=f"test codes of {DEMO_MODELS['vae2d']}"))

    print(f"\nmetrics on the first {len(x)} MNIST test images:")
    print(f"{'model':<24} {'metric':<34} {'here':>10} {'card (10k)':>11}")
    for name, what, value, card in rows:
        card_text = "" if card is None else _fmt(card)
        print(f"{name:<24} {what:<34} {_fmt(value):>10} {card_text:>11}")
    _print_written(written, start)
    return 0


def _card(name, metric):
    from keras_ae import zoo

    for m in zoo.info(name)["metrics"]:
        if m["name"] == metric:
            return m["value"]
    return None


def _print_written(written, start):
    print(f"\nwrote {len(written)} figures in {time.time() - start:.0f} s:")
    for path in written:
        print(f"  {path}")


# --------------------------------------------------------------------- main
def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-ae", description="Classic autoencoders for Keras 3: zoo, training, export.")
    sub = parser.add_subparsers(dest="command", required=True)

    zoo_p = sub.add_parser("zoo", help="list, inspect and re-measure the pretrained zoo")
    zoo_sub = zoo_p.add_subparsers(dest="zoo_command", required=True)
    p = zoo_sub.add_parser("list", help="list the entries")
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'vae*'")
    p.set_defaults(fn=_cmd_zoo_list)
    p = zoo_sub.add_parser("info", help="show an entry's card figures and provenance")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print the whole metadata.json")
    p.set_defaults(fn=_cmd_zoo_info)
    p = zoo_sub.add_parser("evaluate", help="re-measure the card figures on the test split")
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--quick", action="store_true",
                   help="only the figures CI re-measures (skips the full k=5000 likelihood)")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(fn=_cmd_zoo_evaluate)

    p = sub.add_parser("train", help="train a variant from scratch (TensorBoard, checkpoints)")
    p.add_argument("variant", help="a class of keras_ae.models, e.g. VAE or DeepAutoencoder")
    p.add_argument("--dataset", choices=("mnist", "fashion_mnist"), default="mnist")
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--network", choices=("mlp", "conv"), default=None)
    p.add_argument("--out", required=True,
                   help="run folder: model.keras, history.csv, logs/, state/")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last finished epoch")
    p.add_argument("--limit", type=int, default=None,
                   help="train on the first N training images only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a constructor argument of the variant, e.g. --param beta=4 "
                        "--param kl_warmup_steps=2000 --param 'hidden_units=(256, 128)' "
                        "(repeatable; values are Python literals)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    p.set_defaults(fn=_cmd_train)

    p = sub.add_parser("export", help="export a zoo model or .keras file")
    p.add_argument("model", help="a zoo name, a zoo entry directory or a .keras file")
    p.add_argument("--format", choices=("saved_model", "tflite"), required=True)
    p.add_argument("--quantize", choices=("float16", "dynamic", "int8"), default=None)
    p.add_argument("--part", choices=("full", "encoder", "decoder"), default="full")
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--dataset", choices=("mnist", "fashion_mnist"), default=None,
                   help="the data a .keras file outside a train run is checked on (default "
                        "mnist); a zoo entry or a run uses its own")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the parity check on 512 real test images (no data at hand)")
    p.set_defaults(fn=_cmd_export)

    p = sub.add_parser("demo", help="figures and metrics from zoo models on MNIST")
    p.add_argument("--out", default="keras_ae_demo")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--limit", type=int, default=2000, help="test images used for metrics")
    p.set_defaults(fn=_cmd_demo)
    return parser


def main(argv=None):
    """Runs the command; returns its exit code (2 for bad input)."""
    from keras_ae.datasets import DatasetError, DatasetNotFoundError
    from keras_ae.zoo import ZooError

    args = build_parser().parse_args(argv)
    for name in ("limit", "latent_dim", "epochs", "batch_size"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            print(f"keras-ae: error: --{name.replace('_', '-')} must be a positive integer, "
                  f"got {value}", file=sys.stderr)
            return 2
    lr, seed = getattr(args, "lr", None), getattr(args, "seed", None)
    problem = None
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        problem = f"--lr must be a finite number > 0, got {lr}"
    elif seed is not None and not 0 <= seed < 2**32:
        problem = f"--seed must be an integer from 0 to 2**32 - 1, got {seed}"
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
        hint = ("; the finished epochs are kept: continue with the same command and --resume"
                if args.fn is _cmd_train else "")
        print(f"keras-ae: interrupted{hint}", file=sys.stderr)
        return 130
    except (UsageError, ZooError, DatasetError, DatasetNotFoundError, OSError,
            ValueError) as e:  # OSError: a --out that is a file, a read-only folder, ...
        if os.environ.get("KERAS_AE_DEBUG"):
            raise
        message = " ".join(str(e).split())
        print(f"keras-ae: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
