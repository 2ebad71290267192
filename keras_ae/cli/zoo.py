"""`keras-ae zoo list | info | evaluate | pack | push`: the zoo from the command line.

`list` prints one line per entry with its headline card figure, `info` an
entry's card figures and provenance, and `evaluate` (also `evaluate_zoo`,
which scripts/evaluate_zoo.py runs) re-measures every card figure on the
test split and exits 1 when one differs from its card. `info` and `evaluate`
also take any preset (an entry folder, an http(s):// URL, hf://owner/repo:
re-measured on the data its metadata records), and `evaluate` a `keras-ae
train` run folder (measured on the data its run.json records). `pack` turns
such a run into an entry folder with a card; `push` uploads one to the Hub.
"""

import json
import sys
import time
from pathlib import Path

import keras
import numpy as np

from keras_ae import zoo
from keras_ae.cli.errors import UsageError, read_json
from keras_ae.datasets import records
from keras_ae.zoo.registry import read_metadata


def add_parser(sub):
    """Adds `zoo` and its three subcommands to the `keras-ae` subparsers `sub`."""
    zoo_p = sub.add_parser("zoo", help="list, inspect and re-measure the pretrained zoo")
    zoo_sub = zoo_p.add_subparsers(dest="zoo_command", required=True)
    p = zoo_sub.add_parser("list", help="list the entries")
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'vae*'")
    p.set_defaults(fn=cmd_list)
    p = zoo_sub.add_parser("info", help="show an entry's card figures and provenance")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print the whole metadata.json")
    p.set_defaults(fn=cmd_info)
    p = zoo_sub.add_parser("evaluate", help="re-measure the card figures on the test split")
    p.add_argument(
        "name",
        nargs="?",
        default=None,
        help="an entry name (default: every entry), an entry folder or a keras-ae train run folder",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="only the figures CI re-measures (skips the full k=5000 likelihood)",
    )
    p.add_argument("--data-dir", default=None)
    p.set_defaults(fn=cmd_evaluate)
    p = zoo_sub.add_parser("pack", help="turn a keras-ae train run into an entry with a card")
    p.add_argument("run_dir", help="the run folder (--out of keras-ae train)")
    p.add_argument("--out", required=True, help="the entry folder to write (its name: the entry's)")
    p.add_argument("--license", default=None, help="an SPDX id such as mit or cc-by-4.0")
    p.add_argument("--description", default=None, help="one line for the card")
    p.add_argument("--intended-use", default=None, help="the card's intended-use text")
    p.add_argument("--n", type=int, default=None, help="measure the first N evaluation samples")
    p.add_argument("--data-dir", default=None)
    p.set_defaults(fn=cmd_pack)
    p = zoo_sub.add_parser("push", help="upload an entry folder to hf://owner/repo")
    p.add_argument("folder")
    p.add_argument("target", help="hf://owner/repo[@branch]")
    p.set_defaults(fn=cmd_push)


def cmd_list(args):
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
    return f"{m['name']}={fmt(m['value'])}{status}"


def fmt(value):
    """A card figure as the command prints it: 5 decimals below 0.1, else 2."""
    return f"{value:.5f}" if abs(value) < 0.1 else f"{value:.2f}"


def card_value(name, metric):
    """The figure `metric` on entry `name`'s card, or None when it has none."""
    for m in zoo.info(name)["metrics"]:
        if m["name"] == metric:
            return m["value"]
    return None


def cmd_info(args):
    meta = zoo.info(args.name)
    if args.json:
        print(json.dumps(meta, indent=1))
        return 0
    t = meta.get("training", {})
    print(f"{meta['name']}: {meta['description']}")
    print(
        f"  variant {meta['variant']}, {meta['parameters']:,} parameters, "
        f"weights {meta['weights_dtype']}, dataset {meta['dataset']}"
    )
    print(f"  trained {t.get('epochs')} epochs, seed {t.get('seed')}: {t.get('command')}")
    print(f"  Keras {meta['versions']['keras']}, TensorFlow {meta['versions']['tensorflow']}")
    for m in meta["metrics"]:
        bar = m.get("bar")
        status = (
            "reference"
            if m.get("reference")
            else ("" if not bar else ("met: " if m["met"] else "MISSED: ") + bar["text"])
        )
        print(f"  {m['name']:<36} {fmt(m['value']):>10}  {status}")
    print(f"  card: {zoo.locate(args.name)[0] / 'README.md'}")
    return 0


def cmd_pack(args):
    if args.n is not None and args.n < 1:
        raise UsageError(f"--n must be a positive integer, got {args.n}")
    card = {
        k: v
        for k, v in dict(
            license=args.license, description=args.description, intended_use=args.intended_use
        ).items()
        if v
    }
    meta = zoo.pack_run(args.run_dir, args.out, card=card, n=args.n, data_dir=args.data_dir)
    for m in meta["metrics"]:
        print(f"  {m['name']:<36} {fmt(m['value']):>10}")
    print(
        f"{args.out}: entry {meta['name']!r}, measured on {meta['split']['measured_on']}; "
        f"load it with keras_ae.zoo.load({str(args.out)!r}), re-measure it with "
        f"keras-ae zoo evaluate {args.out}"
    )
    return 0


def cmd_push(args):
    print(zoo.push(args.folder, args.target))
    return 0


def cmd_evaluate(args):
    folder = Path(args.name) if args.name else None
    if args.name and "://" in args.name:
        return _evaluate_entry_folder(args.name, args.quick, args.data_dir)
    if folder is not None and folder.is_dir():
        if (folder / "metadata.json").is_file():
            return _evaluate_entry_folder(folder, args.quick, args.data_dir)
        if (folder / "run.json").is_file():
            return evaluate_run(folder, args.data_dir)
        raise UsageError(
            f"{folder}: neither a zoo entry folder (metadata.json) nor a keras-ae train run "
            "folder (run.json)"
        )
    return evaluate_zoo(
        names=[args.name] if args.name else None, quick=args.quick, data_dir=args.data_dir
    )


def _evaluate_entry_folder(preset, quick, data_dir, out=None):
    """An entry of one's own (a folder, a URL, hf://), re-measured on the data
    its metadata records."""
    out = out or sys.stdout
    folder = zoo.locate(preset)[0]
    meta = read_metadata(folder)
    name = meta.get("name", folder.name)
    results = zoo.evaluate(folder, quick=quick, data_dir=data_dir)
    for r in results:
        print(
            f"{name:<24} {r['name']:<36} card {r['card']:>12.6f}  measured "
            f"{r['measured']:>12.6f}  {'ok' if r['ok'] else 'DIFFERS'}",
            file=out,
        )
    failures = sum(not r["ok"] for r in results)
    if not results:
        print(f"{name}: its card's figures were reported by its author; none to re-measure")
    print(
        f"{name}: {len(results)} figure(s) on {meta.get('dataset')}, {failures} differ from "
        f"the card ({folder / 'metadata.json'})",
        file=out,
    )
    return 1 if failures else 0


def evaluate_run(folder, data_dir=None, out=None):
    """Measures a `keras-ae train` run's model.keras on the run's own data.

    The samples are those its run.json records: the source, its options, the
    fitted scaler and the evaluation split (validation or test, else the
    training split, said so). Prints the model's loss terms and the mean
    squared error per input value; returns 0.
    """
    folder, out = Path(folder), out or sys.stdout
    record = read_json(folder / "run.json")
    data = record.get("data") if isinstance(record, dict) else None
    if not isinstance(data, dict):
        raise UsageError(
            f"{folder / 'run.json'} records no data description (a run of an older "
            "keras-ae): evaluate its model from Python, or export it with keras-ae export"
        )
    model_file = folder / "model.keras"
    if not model_file.is_file():
        raise UsageError(f"{folder}: no model.keras (the run finished no epoch)")
    model = keras.saving.load_model(str(model_file), safe_mode=True)
    split = records.evaluation_split(data)
    ds = records.pipeline(data, split, data_dir, records.load_scaler(data, folder), batch_size=256)
    squared, values, count = 0.0, 0, 0
    for x in ds.as_numpy_iterator():
        d = model.reconstruct(x).astype(np.float64) - x
        squared, values, count = squared + float(np.sum(d * d)), values + d.size, count + len(x)
    figures = {"mse": squared / max(values, 1)}
    if model.compiled:
        figures.update(model.evaluate(ds, verbose=0, return_dict=True))
    for metric, value in figures.items():
        print(f"{folder.name:<24} {metric:<36} measured {float(value):>12.6f}", file=out)
    word = "training" if split == "train" else split
    print(
        f"{folder.name}: measured on {count} {word} samples of {data['source']} "
        f"({folder / 'run.json'})"
        + ("; the run has no validation or test data" if split == "train" else ""),
        file=out,
    )
    return 0


def evaluate_zoo(names=None, quick=False, data_dir=None, out=sys.stdout):
    """Re-measures every card figure; returns 0 when all agree, else 1.

    Args:
        names: entry names (default: every entry).
        quick: only the metrics CI re-measures.
        data_dir: the dataset directory.
        out: where the table is printed.

    Example:
        >>> from keras_ae.cli import evaluate_zoo
        >>> evaluate_zoo(["deep_ae30_mnist"], quick=True)  # doctest: +SKIP
    """
    names = names or zoo.list_models()
    failures = 0
    for name in names:
        start = time.time()
        for r in zoo.evaluate(name, quick=quick, data_dir=data_dir):
            ok = "ok" if r["ok"] else "DIFFERS"
            failures += not r["ok"]
            print(
                f"{name:<24} {r['name']:<36} card {r['card']:>12.6f}  measured "
                f"{r['measured']:>12.6f}  {ok}",
                file=out,
                flush=True,
            )
        print(f"{name:<24} ({time.time() - start:.1f} s)", file=out, flush=True)
    print(f"{len(names)} entries, {failures} figure(s) differ from their cards", file=out)
    return 1 if failures else 0
