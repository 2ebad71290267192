"""`keras-ae train`: trains a variant from scratch on any data source.

`--dataset` takes a built-in name, `tfds:NAME`, `images:DIR` or `csv:PATH`
(`keras_ae.cli.data`); the model's input shape and layout come from the data
and `--network`. A run folder (`--out`) holds run.json (the settings, which
`--resume` must repeat, and the data record that `export` and `zoo evaluate`
read), scaler.json for a table's fitted scaling, the crash-consistent state
that `RunState` commits each epoch, model.keras and history.csv derived from
it, and TensorBoard logs.
`--param KEY=VALUE` passes constructor arguments of the variant. A run whose
loss or weights turn non-finite stops with `TrainingDiverged` and keeps its
last good epoch.
"""

import ast
import inspect
import json
import re
from pathlib import Path

import keras

from keras_ae.cli import data as data_lib
from keras_ae.cli.errors import TrainingDiverged, UsageError, read_json
from keras_ae.cli.run_state import RunState
from keras_ae.datasets import records
from keras_ae.models import VAE, VARIANTS
from keras_ae.utils.files import atomic_output

INTERRUPTED = "; the finished epochs are kept: continue with the same command and --resume"


def add_parser(sub):
    """Adds `train` to the `keras-ae` subparsers `sub`."""
    p = sub.add_parser("train", help="train a variant from scratch (TensorBoard, checkpoints)")
    p.add_argument("variant", help="a class of keras_ae.models, e.g. VAE or DeepAutoencoder")
    data_lib.add_arguments(p)
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--network",
        choices=("mlp", "conv", "conv1d", "lstm"),
        default=None,
        help="mlp (default; images flattened), conv for images, conv1d or lstm for "
        "sequences (a table's rows read as one-feature sequences)",
    )
    p.add_argument(
        "--out", required=True, help="run folder: model.keras, history.csv, logs/, state/"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last finished epoch",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="train on the first N training samples only and validate on N/4 (streamed "
        "sources: N rounded up to whole batches of each epoch's shuffled order)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a constructor argument of the variant, e.g. --param beta=4 "
        "--param kl_warmup_steps=2000 --param 'hidden_units=(256, 128)' "
        "(repeatable; values are Python literals)",
    )
    p.add_argument("--data-dir", default=None)
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    p.set_defaults(fn=cmd_train, interrupted=INTERRUPTED)


def parse_params(pairs, variant_cls):
    """`--param KEY=VALUE` pairs as constructor keyword arguments of the variant.

    VALUE is read as a Python literal (`4`, `0.1`, `(256, 128)`, `'relu'`) and
    kept as a string when it is a bare word (`relu`); other text that is no
    literal (`(128,`), sets and dicts, and a key given twice are refused.
    """
    accepted = set()
    for klass in variant_cls.__mro__:  # keras_ae's own arguments, not keras.Layer's
        if "__init__" in vars(klass) and klass.__module__.startswith("keras_ae"):
            accepted |= {
                name
                for name, p in inspect.signature(klass.__init__).parameters.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            }
    accepted -= {"self", "input_shape", "latent_dim", "seed", "network", "encoder", "decoder"}
    params = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UsageError(f"--param expects KEY=VALUE, got {pair!r}")
        if key not in accepted:
            raise UsageError(
                f"--param {key}: {variant_cls.__name__} takes no such argument; "
                f"expected one of {', '.join(sorted(accepted))}"
            )
        if key in params:
            raise UsageError(f"--param {key} is given twice ({params[key]!r} and {text!r})")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            # A bare word is a string (activation=relu); anything else was
            # meant as a literal and is mistyped (hidden_units=(128,).
            if not re.fullmatch(r"[A-Za-z_][\w.-]*", text.strip()):
                raise UsageError(
                    f"--param {key}={text} is not a Python literal; e.g. 4, 0.1, "
                    "'(256, 128)' or a word such as relu"
                ) from None
            value = text.strip()
        if isinstance(value, (set, frozenset, dict, bytes, complex)):
            kind = {
                set: "a set",
                frozenset: "a set",
                dict: "a dict",
                bytes: "bytes",
                complex: "a complex number",
            }[type(value)]
            raise UsageError(
                f"--param {key}={text}: {kind} is no constructor value here; "
                "give a number, a word, or a tuple such as (64,)"
            )
        params[key] = value
    return params


def cmd_train(args):
    if args.variant not in VARIANTS:
        raise UsageError(f"unknown variant {args.variant!r}; expected one of {', '.join(VARIANTS)}")
    cls = VARIANTS[args.variant]
    params = parse_params(args.param, cls)
    out = Path(args.out)
    run_file = out / "run.json"
    state = RunState(out)
    data_settings = data_lib.settings(args)
    settings = {
        "variant": args.variant,
        "dataset": data_settings.pop("dataset"),
        "latent_dim": args.latent_dim,
        "network": args.network,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "limit": args.limit,
        "seed": args.seed,
        "params": params,
        **data_settings,
    }
    scaler, previous = None, {}
    if run_file.exists() and not args.resume and not state.file.exists():
        # A run that finished no epoch (it diverged, or was stopped in its first)
        # left only its settings: starting it afresh, new settings and all, loses nothing.
        for name in ("model.keras", "history.csv"):
            if (out / name).exists():
                raise UsageError(
                    f"{out} already holds {name} but no finished epoch; "
                    "choose another --out (a new run would replace it)"
                )
        print(f"{out}: its run finished no epoch; starting afresh with these settings")
    elif run_file.exists():
        if not args.resume:
            raise UsageError(
                f"{out} already holds a run; pass --resume to continue it or choose another --out"
            )
        previous = {"params": {}, **read_json(run_file)}
        settings = json.loads(json.dumps(settings))  # tuples read back as lists
        changed = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
        if changed:
            raise UsageError(f"--resume must repeat the run's settings; changed: {changed}")
        state.recover()
        if state.epochs >= args.epochs:  # Keras would return at once and say nothing
            print(
                f"nothing to do: the run in {out} has finished {state.epochs} epoch(s) and "
                f"--epochs is {args.epochs}; give a larger --epochs to train on"
            )
            return 0
        if isinstance(previous.get("data"), dict):  # the scaling the weights were trained on
            scaler = records.load_scaler(previous["data"], out)
    elif args.resume:
        raise UsageError(f"--resume: {out} holds no run to resume (no run.json)")
    else:
        state.check_fresh()

    binarize = "dynamic" if issubclass(cls, VAE) and settings["dataset"] == "mnist" else None
    record, scaler, train_ds, val_ds = records.prepare(
        settings,
        cls,
        args.network,
        args.data_dir,
        args.batch_size,
        args.seed,
        args.limit,
        scaler,
        binarize,
    )
    if isinstance(previous.get("data"), dict):
        shape = previous["data"].get("input_shape")
        if shape is not None and shape != record["input_shape"]:
            raise UsageError(
                f"--resume: {settings['dataset']} now gives model inputs of shape "
                f"{record['input_shape']}; the run was trained on {shape}"
            )
    kwargs = dict(
        input_shape=tuple(record["input_shape"]), latent_dim=args.latent_dim, seed=args.seed
    )
    if args.network or record["network"] in ("conv1d", "lstm"):
        kwargs["network"] = record["network"]
    keras.utils.set_random_seed(args.seed)
    try:
        model = cls(**kwargs, **params)
    except (ValueError, TypeError) as err:
        raise UsageError(f"{args.variant}: {err}") from err
    bounds = model.target_range()
    if record["scale"] == "standard" and bounds is not None:
        # Standardized columns run below 0 and above 1: a sigmoid output (a Bernoulli
        # likelihood) cannot reconstruct them, and a tf.data input is not range-checked.
        hint = " ".join(f'--param "{p}"' for p in model.unbounded_hint.split(" and "))
        raise UsageError(
            f"--scale standard gives values outside [{bounds[0]:g}, {bounds[1]:g}], but "
            f"{bounds[2]}: add {hint}, or use --scale minmax"
        )
    model.compile(optimizer=keras.optimizers.Adam(args.lr))
    state.restore(model)
    # Written once the model and data are ready, so that a run that stops on a
    # wrong --param or bad data leaves nothing in its folder.
    scaler_file = out / records.SCALER_FILE
    if (
        scaler is not None
        and not previous
        and scaler_file.exists()
        and scaler_file.read_text() != json.dumps(scaler.get_config())
    ):
        raise UsageError(
            f"{out} already holds a {scaler_file.name} of another run or yours; choose "
            "another --out (a new run would replace it)"
        )
    out.mkdir(parents=True, exist_ok=True)
    if scaler is not None:
        scaler.save(scaler_file)
    with atomic_output(run_file) as staged:  # a resume reads it back
        staged.write_text(json.dumps({**settings, "data": record}, indent=1))
    print(_data_line(record, args.limit))
    callbacks = [state, keras.callbacks.TensorBoard(str(out / "logs"))]
    # (make_dataset shuffles; Keras's own shuffle would only warn that it is ignored.)
    try:
        model.fit(
            train_ds,
            epochs=args.epochs,
            initial_epoch=state.epochs,
            validation_data=val_ds,  # None: no held-out data (say --validation-split)
            callbacks=callbacks,
            verbose=args.verbose,
            shuffle=False,
        )
    except ArithmeticError as e:  # fit's NonFiniteError (a FloatingPointError): say what stays
        where = str(e).split(". ")[0]  # its first sentence; the rest is for Python users
        raise TrainingDiverged(f"{where}; {state.kept()} (a smaller --lr may help)") from e
    print(
        f"model: {out / 'model.keras'}  logs: tensorboard --logdir {out / 'logs'}\n"
        "(load it with keras.models.load_model after `import keras_ae`, which registers "
        "its classes)"
    )
    return 0


def _data_line(record, limit):
    """One line naming the data the run trains and validates on."""
    val = record["splits"]["validation"]
    held = (
        f"validation: {val} split"
        + (f" ({record['validation_split']:g} of train)" if val == "validation" else "")
        if val
        else "no validation data (--validation-split F holds some out)"
    )
    return (
        f"data: {record['source']}, input {tuple(record['input_shape'])} "
        f"({record['layout']}, network {record['network']}), {held}"
        + (f", scaler {record['scaler']}" if record["scaler"] else "")
        + (f", limit {limit}" if limit else "")
    )
