"""Training and inference speed of keras_ae against plain Keras and pythae.

Writes ``docs/benchmarks/train.md``. Everything is measured side by side in
one run, on real MNIST (60,000 training images, 10,000 test images):

* Training samples/s at batch 128 and 256 for the dense AE
  (784-512-256-30, mirrored), the conv AE, the VAE (Bernoulli), the
  contractive AE and the semantic-hashing AE, each trained by
  (1) a plain Keras functional model of the same architecture compiled with a
  built-in loss and trained with ``fit`` (for the VAE, the keras.io VAE
  pattern: a ``keras.Model`` with its own ``train_step`` and ``Mean``
  trackers), (2) keras_ae with its defaults, (3) keras_ae with
  ``jit_compile=True``, (4) pythae (PyTorch, CPU) on the same architecture,
  batch size and data when a Python with pythae is available; and, behind
  keras_ae's defaults, the MLP models without XLA and (dense AE, VAE) with
  XLA at Keras's 1 batch per compiled call instead of keras_ae's 8.
* For the dense AE, the FLOP/s of its training step next to the FLOP/s of a
  2048x2048 float32 matmul (the CPU's practical ceiling), plus two profile
  probes that split the gap: the step's matmuls alone at the AE's shapes,
  and the bare ``tf.function`` train step without ``fit``.
* The contractive AE's step time against the plain AE of the same shape
  (784-30 sigmoid).
* Peak resident memory of every contender's process.
* Inference: encode and reconstruct throughput on the whole test set and
  batch-1 latency, Keras ``predict`` vs calling the model vs a
  ``tf.function`` serving path.

Per process and whole fit (``--parts spread,wholefit``; ``rounds`` is the
above): for the dense AE and the VAE, plain Keras, keras_ae's defaults and
pythae two ways (``pythae_trainer``: its ``TrainingPipeline``, what a pythae
user runs; ``pythae_loop``: a hand-written PyTorch loop over the pythae model
on a pre-loaded tensor, its ceiling) each train a fresh model in ``--procs``
fresh processes per batch size (4 epochs; pythae's trainer, the slowest, at
batch 128 only): the spread of steady samples/s
over processes (min/median/max) and the time from building the model to the
end of epochs 1 and 4, tracing and XLA compiling included; then one 20-epoch
fit per contender at batch 128.

Every contender runs in its own worker process (so its peak RSS is its own).
Each worker first warms up alone (one epoch, cut after ``--warmup-seconds``,
plus a step on the epoch's short last batch so XLA has compiled both shapes),
then the contenders of one model run timed rounds of about
``--round-seconds`` each, round-robin, one at a time, in a rotating order;
the tables report medians over rounds. The machine is shared and noisy: the
ratios between contenders within this one run are what count.

The pythae column runs in a separate Python (pythae is never a dependency of
keras_ae). Install it in a virtual environment outside the repository::

    python3 -m venv /work/bench-venv
    /work/bench-venv/bin/pip install torch==2.13.0 pythae

and pass ``--pythae-python /work/bench-venv/bin/python`` (found
automatically at that path). Without it the column is skipped.

Usage:
    PYTHONPATH=. python scripts/bench_train.py --data-dir ../shared/data
    PYTHONPATH=. python scripts/bench_train.py --quick   # seconds per model, to check the script
    # a long run in parts (each under a lock of its own), then the page from their raw files:
    PYTHONPATH=. python scripts/bench_train.py --parts spread --models dense --raw a.json
    PYTHONPATH=. python scripts/bench_train.py --from-raw a.json --merge b.json,c.json

The pieces live in `scripts/bench/`: `harness` (worker processes and their
protocol), `contenders` (the models and networks raced), `workers` (what runs
in each contender's process) and `report` (the page). This file orchestrates
the rounds and holds the command line.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import harness, report
from bench.contenders import (
    BATCH_SIZES,
    CONTENDERS,
    FRESH_CONTENDERS,
    FRESH_MODELS,
    MODELS,
    PYTHAE_MODELS,
)
from bench.workers import run_worker

DEFAULT_PYTHAE_PYTHON = Path("/work/bench-venv/bin/python")


def start_worker(model, contender, python, data, logdir):
    """`contender`'s worker process for `model`: this script run with `--worker`."""
    spec = {"model": model, "contender": contender, "data": str(data)}
    return harness.Worker(
        f"{model}/{contender}",
        [Path(__file__).resolve(), "--worker", json.dumps(spec)],
        python,
        Path(logdir) / f"{model}_{contender}.log",
    )


def bench_model(model, contenders, pythons, data, logdir, args, log):
    """Warm-ups one at a time, then round-robin rounds; returns raw results."""
    workers = {
        c: start_worker(model, c, pythons.get(c, sys.executable), data, logdir) for c in contenders
    }
    result = {"info": {}, "batches": {}}
    try:
        for c, w in workers.items():
            result["info"][c] = w.recv()
        for batch in BATCH_SIZES:
            rounds = {c: [] for c in contenders}
            warm = {}
            for c, w in workers.items():
                w.send(
                    cmd="start",
                    batch=batch,
                    warmup_seconds=args.warmup_seconds,
                    round_seconds=args.round_seconds,
                )
                warm[c] = w.recv()
            for r in range(args.rounds):
                order = list(contenders[r % len(contenders) :]) + list(
                    contenders[: r % len(contenders)]
                )
                for c in order:
                    workers[c].send(cmd="round", round_seconds=args.round_seconds)
                    rounds[c].append(workers[c].recv())
            rss = {}
            for c, w in workers.items():
                w.send(cmd="end")
                rss[c] = w.recv()["peak_rss_mb"]
            result["batches"][batch] = {"rounds": rounds, "warmup": warm, "rss": rss}
            log(
                f"  {model} batch {batch}: "
                + ", ".join(
                    f"{c} {report.median_rate(rounds[c]):,.0f}/s"
                    for c in contenders
                    if c != "probe"
                )
            )
    finally:
        for w in workers.values():
            w.close()
    return result


def fresh_fit(model, contender, batch, epochs, python, data, logdir, n=None):
    """One whole `fit` of a fresh `contender` model in a fresh process; its report."""
    spec = {
        "model": model,
        "contender": contender,
        "data": str(data),
        "fresh_fit": True,
        "batch": batch,
        "epochs": epochs,
        "n": n,
    }
    w = harness.Worker(
        f"{model}/{contender} (fresh fit)",
        [Path(__file__).resolve(), "--worker", json.dumps(spec)],
        python,
        Path(logdir) / f"fresh_{model}_{contender}.log",
    )
    try:
        return w.recv()
    finally:
        w.close()


def bench_fresh(models, batches, epochs, procs, pythae_python, data, logdir, log, n=None):
    """Every contender of `FRESH_CONTENDERS` (the pythae ones when a pythae
    Python is given) fitted from a fresh model in `procs` fresh processes per
    model and batch, round by round in a rotating order so that a drift of
    the machine's speed hits every contender; {"model/batch": {contender: [reports]}}."""
    out = {}
    for model in models:
        contenders = [c for c in FRESH_CONTENDERS if pythae_python or not c.startswith("pythae")]
        for batch in batches:
            key = f"{model}/{batch}"
            # pythae's trainer, the slowest, at the first batch size only (time).
            here = [c for c in contenders if c != "pythae_trainer" or batch == batches[0]]
            out[key] = {c: [] for c in here}
            for i in range(procs):
                for c in here[i % len(here) :] + here[: i % len(here)]:
                    python = pythae_python if c.startswith("pythae") else sys.executable
                    r = fresh_fit(model, c, batch, epochs, python, data, logdir, n)
                    out[key][c].append(r)
                    log(
                        f"  {key} {c} #{i}: {r['steady'] or 0:,.0f}/s steady, "
                        f"{epochs} epochs in {r['epoch_end_seconds'][-1]:.1f} s"
                    )
    return out


def bench_inference(model, data, logdir, args):
    """Inference rounds of `model` in one worker; medians over rounds and its peak memory."""
    w = start_worker(model, "inference", sys.executable, data, logdir)
    try:
        w.recv()
        w.send(cmd="start")
        w.recv()
        rounds = []
        for _ in range(args.rounds):
            w.send(cmd="round", latency_reps=args.latency_reps)
            rounds.append(w.recv()["inference"])
        w.send(cmd="end")
        rss = w.recv()["peak_rss_mb"]
    finally:
        w.close()
    keys = rounds[0].keys()
    med = {
        k: {m: statistics.median(r[k][m] for r in rounds) for m in ("throughput", "latency_ms")}
        for k in keys
    }
    return {"median": med, "rss": rss}


def find_pythae_python(arg):
    """`(python, None)` for a Python that imports pythae and torch, else `(None, why)`."""
    candidate = Path(arg) if arg else DEFAULT_PYTHAE_PYTHON
    if not candidate.exists():
        return None, f"{candidate} not found"
    check = subprocess.run(
        [str(candidate), "-c", "import pythae, torch"], check=False, capture_output=True, text=True
    )
    if check.returncode:
        return None, f"{candidate} cannot import pythae and torch"
    return candidate, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAS_AE_DATA_DIR"))
    parser.add_argument("--out", default=str(harness.ROOT / "docs" / "benchmarks" / "train.md"))
    parser.add_argument(
        "--pythae-python",
        default=None,
        help=f"a Python with torch and pythae (default: {DEFAULT_PYTHAE_PYTHON} when it exists)",
    )
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--round-seconds", type=float, default=1.5)
    parser.add_argument("--warmup-seconds", type=float, default=5.0)
    parser.add_argument("--latency-reps", type=int, default=50)
    parser.add_argument("--no-inference", action="store_true")
    parser.add_argument(
        "--parts",
        default="rounds,spread,wholefit",
        help="what to measure: rounds (all models, contenders held in one process each, "
        "round-robin), spread (dense AE and VAE: each contender fitted for --spread-epochs "
        "from a fresh model in --procs fresh processes per batch size), wholefit (the same "
        "for --wholefit-epochs at batch 128, --wholefit-procs processes); a long run can "
        "be measured in parts, each with its --raw, and the page written with --from-raw "
        "... --merge ...",
    )
    parser.add_argument("--procs", type=int, default=5)
    parser.add_argument("--spread-epochs", type=int, default=4)
    parser.add_argument("--wholefit-epochs", type=int, default=20)
    parser.add_argument("--wholefit-procs", type=int, default=1)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny rounds and warm-ups, to check the script end to end",
    )
    parser.add_argument("--raw", default=None, help="also write the raw measurements here as JSON")
    parser.add_argument(
        "--from-raw",
        default=None,
        help="write the report from a --raw JSON file, measuring nothing",
    )
    parser.add_argument(
        "--merge",
        default=None,
        metavar="RAW",
        help="with --from-raw: take the models (and inference rows) of this "
        "later --raw file in place of the same rows (the page names its run)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(json.loads(args.worker))
        return
    if args.from_raw:
        report.write_report(args.out, *report.read_raw(args.from_raw, args.merge))
        print(f"wrote {args.out}")
        return
    if args.quick:
        args.rounds, args.round_seconds, args.warmup_seconds = 2, 0.2, 0.3
        args.latency_reps = 5
        args.procs, args.spread_epochs, args.wholefit_epochs, args.wholefit_procs = 1, 2, 3, 1
    parts = set(args.parts.split(","))
    if not parts <= {"rounds", "spread", "wholefit"}:
        parser.error(f"--parts takes rounds, spread, wholefit; got {args.parts!r}")

    t_start = time.time()
    load_start = harness.load_average()

    def log(msg):
        print(f"[{time.time() - t_start:6.0f}s] {msg}", flush=True)

    sys.path.insert(0, str(harness.ROOT))
    import numpy as np

    from keras_ae.datasets import load_mnist

    (x_train, _), (x_test, _) = load_mnist(args.data_dir)
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in MODELS:
            parser.error(f"--models takes names from {MODELS}, got {m!r}")
    pythae_python, why = find_pythae_python(args.pythae_python)
    if pythae_python is None:
        log(
            f"pythae column skipped ({why}). To include it: python3 -m venv /work/bench-venv && "
            "/work/bench-venv/bin/pip install torch==2.13.0 pythae, then pass "
            "--pythae-python /work/bench-venv/bin/python"
        )
    busy = subprocess.run(
        ["pgrep", "-f", "train_zoo"], check=False, capture_output=True, text=True
    ).stdout.split()
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        data = Path(tmp) / "mnist.npz"
        np.savez(data, x_train=x_train, x_test=x_test)
        res, inf, versions = {}, {}, ""
        # --quick: the dense AE only, on a slice of the data, so each fresh process takes seconds.
        fresh_models = [m for m in FRESH_MODELS if m in models][: 1 if args.quick else None]
        n_fresh = 1024 if args.quick else None
        spread = wholefit = {}
        if "spread" in parts:
            log(f"spread: {args.procs} fresh processes per contender, {args.spread_epochs} epochs")
            spread = bench_fresh(
                fresh_models,
                BATCH_SIZES[:1] if args.quick else BATCH_SIZES,
                args.spread_epochs,
                args.procs,
                pythae_python,
                data,
                tmp,
                log,
                n_fresh,
            )
        if "wholefit" in parts:
            log(f"whole fit: {args.wholefit_epochs} epochs, {args.wholefit_procs} per contender")
            wholefit = bench_fresh(
                fresh_models,
                BATCH_SIZES[:1],
                args.wholefit_epochs,
                args.wholefit_procs,
                pythae_python,
                data,
                tmp,
                log,
                n_fresh,
            )
        for fresh in (spread, wholefit):
            for reports in fresh.values():
                if not versions and reports.get("keras_ae"):
                    r = reports["keras_ae"][0]
                    versions = f"TensorFlow {r['tf']}, Keras {r['keras']}"
                if "PyTorch" not in versions and reports.get("pythae_loop"):
                    p = reports["pythae_loop"][0]
                    versions += (
                        f"; pythae {p['pythae']}, PyTorch {p['torch']} ({p['threads']} threads)"
                    )
        for model in models if "rounds" in parts else ():
            contenders = list(CONTENDERS[model])
            pythons = {}
            if pythae_python and model in PYTHAE_MODELS:
                contenders.append("pythae")
                pythons["pythae"] = pythae_python
            log(f"{model}: {', '.join(contenders)}")
            res[model] = bench_model(model, contenders, pythons, data, tmp, args, log)
            info = res[model]["info"]
            if not versions and "keras_ae" in info:
                versions = f"TensorFlow {info['keras_ae']['tf']}, Keras {info['keras_ae']['keras']}"
            if "pythae" in info and "PyTorch" not in versions:
                p = info["pythae"]
                versions += f"; pythae {p['pythae']}, PyTorch {p['torch']} ({p['threads']} threads)"
        if not args.no_inference and "rounds" in parts:
            measured = ("dense",) if args.quick else ("dense", "conv")
            for model in [m for m in measured if m in models]:
                log(f"inference: {model}")
                inf[model] = bench_inference(model, data, tmp, args)
    load_end = harness.load_average()
    if pythae_python is None:
        versions += "; pythae not installed (column skipped)"
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t_start)),
        # Local absolute paths (a data directory, a pythae venv, a raw file)
        # are shown as <path>, keeping the flag that takes them.
        "command": "python scripts/bench_train.py "
        + " ".join("<path>" if a.startswith("/") else a for a in sys.argv[1:]),
        "quick": args.quick,
        "warmup_seconds": args.warmup_seconds,
        "round_seconds": args.round_seconds,
        "rounds": args.rounds,
        "parts": sorted(parts),
        "procs": args.procs,
        "latency_reps": args.latency_reps,
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPU cores, CPU only, {harness.cpu_name()}"
        ),
        "versions": versions,
        "load_start": ", ".join(f"{v:.1f}" for v in load_start),
        "load_end": ", ".join(f"{v:.1f}" for v in load_end),
        "busy": (
            f"{len(busy)} zoo training processes (`train_zoo`) were running at start"
            if busy
            else ""
        ),
        "minutes": (time.time() - t_start) / 60,
    }
    raw_path = Path(args.raw) if args.raw else Path(tempfile.gettempdir()) / "bench_train_raw.json"
    raw = {"res": res, "inf": inf, "meta": meta, "spread": spread, "wholefit": wholefit}
    raw_path.write_text(json.dumps(raw, indent=1))
    log(f"raw measurements in {raw_path}")
    bars = report.write_report(args.out, res, inf, meta, spread, wholefit)
    for bar, value, met in bars:
        log(f"{'undec.' if met is None else 'met   ' if met else 'MISSED'} {bar}: {value}")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
