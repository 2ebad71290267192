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
argument) print one line on stderr and exit with code 2, without a traceback.

Example:
    $ keras-ae zoo list "vae*"
    $ keras-ae demo --out keras_ae_demo
"""

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
    import keras

    from keras_ae import datasets
    from keras_ae.models import VAE, VARIANTS
    from keras_ae.utils.files import atomic_output

    if args.variant not in VARIANTS:
        raise UsageError(f"unknown variant {args.variant!r}; expected one of "
                         f"{', '.join(VARIANTS)}")
    cls = VARIANTS[args.variant]
    params = _parse_params(args.param, cls)
    out = Path(args.out)
    backup = out / "backup"
    run_file = out / "run.json"
    settings = {"variant": args.variant, "dataset": args.dataset, "latent_dim": args.latent_dim,
                "network": args.network, "batch_size": args.batch_size, "lr": args.lr,
                "limit": args.limit, "seed": args.seed, "params": params}
    if run_file.exists():
        if not args.resume:
            raise UsageError(f"{out} already holds a run; pass --resume to continue it or "
                             "choose another --out")
        previous = {"params": {}, **json.loads(run_file.read_text())}
        settings = json.loads(json.dumps(settings))  # tuples read back as lists
        changed = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
        if changed:
            raise UsageError(f"--resume must repeat the run's settings; changed: {changed}")
        done = _finished_epochs(out / "history.csv")
        if done >= args.epochs:  # Keras would return at once and say nothing
            print(f"nothing to do: the run in {out} has finished {done} epoch(s) and "
                  f"--epochs is {args.epochs}; give a larger --epochs to train on")
            return 0
    elif args.resume:
        raise UsageError(f"--resume: {out} holds no run to resume (no run.json)")

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
    callbacks = [
        keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False),
        keras.callbacks.ModelCheckpoint(str(out / "model.keras")),
        keras.callbacks.TensorBoard(str(out / "logs")),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
    ]
    # (make_dataset shuffles; Keras's own shuffle would only warn that it is ignored.)
    model.fit(train_ds, epochs=args.epochs, validation_data=val_ds, callbacks=callbacks,
              verbose=args.verbose, shuffle=False)
    print(f"model: {out / 'model.keras'}  logs: tensorboard --logdir {out / 'logs'}\n"
          "(load it with keras.models.load_model after `import keras_ae`, which registers "
          "its classes)")
    return 0


def _finished_epochs(history):
    """Epochs a run has finished, from the history.csv its CSVLogger writes."""
    import csv

    if not history.is_file():
        return 0
    with open(history, newline="") as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f) if row.get("epoch")]
    return max(epochs) + 1 if epochs else 0


# ------------------------------------------------------------------- export
def _load_any(name_or_path):
    """A zoo name, a zoo entry directory or a `.keras` file.

    Returns:
        `(model, metadata, stem)`: the entry's metadata (its dataset and
        preprocessing; None for a `.keras` file) and the name its exports take.
    """
    import keras

    from keras_ae import zoo

    path = Path(name_or_path)
    if path.suffix == ".keras":
        if not path.is_file():
            raise UsageError(f"{path}: no such .keras file")
        return keras.saving.load_model(str(path), safe_mode=True), None, path.stem
    if path.is_dir() and (path / "metadata.json").is_file():
        from keras_ae.zoo.registry import read_metadata

        return zoo.load_entry(path), read_metadata(path), path.resolve().name
    if os.sep in name_or_path or "/" in name_or_path:
        raise UsageError(f"{name_or_path}: neither a .keras file nor a zoo entry directory")
    return zoo.load(name_or_path), zoo.info(name_or_path), name_or_path


def _cmd_export(args):
    if args.format == "saved_model" and (args.quantize or args.part != "full"):
        # A SavedModel holds the whole model, every signature (encode, decode, ...).
        raise UsageError("--quantize and --part apply to --format tflite only; a SavedModel "
                         "holds the whole model with encode and decode signatures")
    model, meta, name = _load_any(args.model)
    from keras_ae import export  # written alongside; imported only when used

    out = Path(args.out)
    # Every export is checked against the Keras model on real test images.
    verify = None if args.no_verify else _images(model, meta, args.data_dir, "test", 512,
                                                 "verification (or pass --no-verify)")
    # --out is a folder; each model, part and quantization gets its own name in
    # it, so exporting another never replaces this one.
    stem = "_".join([name] + [v for v in (args.part, args.quantize) if v not in (None, "full")])
    out.mkdir(parents=True, exist_ok=True)
    if args.format == "saved_model":
        path = export.export_saved_model(model, str(out / f"{stem}_saved_model"),
                                         verify_data=verify)
    else:
        representative = None
        if args.quantize == "int8":
            representative = _images(model, meta, args.data_dir, "train", 200,
                                     "int8 calibration")
        # (A decoder is verified on the codes of the test images.)
        path = export.export_tflite(model, str(out / f"{stem}.tflite"), part=args.part,
                                    quantize=args.quantize, representative_data=representative,
                                    verify_data=verify)
    print(f"exported: {getattr(path, 'path', path) or out}")
    report = getattr(path, "report", None)
    if report is not None:
        print(report)
    return 0


def _images(model, meta, data_dir, split, n, purpose):
    """`n` images of `split` in the model's input layout (calibration, verification):
    the zoo entry's own dataset and preprocessing (`meta`), or MNIST's."""
    from keras_ae import datasets
    from keras_ae.zoo import metrics as zm

    dataset, prep = "mnist", {"scale": "unit",
                              "layout": "image" if len(model.input_shape_) == 3 else "flat"}
    if meta:
        dataset, prep = meta["dataset"], meta["preprocessing"]
    elif math.prod(model.input_shape_) != 28 * 28:
        # A .keras file says nothing of its data: the CLI has MNIST to offer.
        raise UsageError(
            f"{purpose} uses MNIST {split} images, which do not fit this model's "
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
        data_dir: where MNIST is (default: `KERAS_AE_DATA_DIR`, the Keras
            cache, or a download when online).
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
        (_, _), (x_test, y_test) = datasets.load_mnist(data_dir)
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
    p.add_argument("--out", required=True, help="run folder: model.keras, logs/, backup/")
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
    try:
        return args.fn(args)
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
