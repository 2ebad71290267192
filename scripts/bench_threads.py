"""Why keras_ae's XLA path is fast in one process and slow in the next.

Writes ``docs/benchmarks/threads.md``. Each *arm* is one hypothesis about
the process-to-process spread of keras_ae's default path for MLP networks
(XLA, 8 batches per compiled call) on a small CPU machine: a thread-pool
size, an XLA CPU flag, CPU affinity, oneDNN, the allocator, tf.data's
threads. Every arm runs in ``--procs`` fresh processes, interleaved with the
other arms (process i of every arm runs before process i+1 of any), and each
process reports its steady samples/s over epochs 2-4 of a 4-epoch ``fit``
on all 60,000 MNIST images, its CPU use in those epochs (CPU seconds per wall
second) and its threads. ``default`` (keras_ae as installed) and ``plain``
(the keras.io VAE pattern or a functional Keras AE) are the baselines every
ratio on the page is taken against, measured in the same run.

Usage:
    PYTHONPATH=. python scripts/bench_threads.py --data-dir ../shared/data
    PYTHONPATH=. python scripts/bench_threads.py --quick     # seconds, checks the script
    PYTHONPATH=. python scripts/bench_threads.py --arms default,intra1 --models vae \\
        --raw a.json                                          # a piece of a run
    PYTHONPATH=. python scripts/bench_threads.py --from-raw a.json,b.json   # the page
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: arm -> (what it tests, environment, command prefix, in-process settings).
#: The in-process settings are applied before TensorFlow runs anything.
ARMS = {
    "default": ("keras_ae as installed", {}, [], {}),
    "plain": ("plain Keras (keras.io pattern), no XLA, 1 batch per call", {}, [], {"plain": 1}),
    "intra1": ("tf.config intra-op threads = 1", {}, [], {"intra": 1}),
    "inter1": ("tf.config inter-op threads = 1", {}, [], {"inter": 1}),
    "intra1_inter1": ("intra-op = inter-op = 1", {}, [], {"intra": 1, "inter": 1}),
    "intra2_inter1": ("intra-op = 2, inter-op = 1", {}, [], {"intra": 2, "inter": 1}),
    "inter2": ("inter-op = 2 (TensorFlow's default: the core count)", {}, [], {"inter": 2}),
    "xla_eigen_single": (
        "XLA_FLAGS=--xla_cpu_multi_thread_eigen=false",
        {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"},
        [],
        {},
    ),
    # XLA's LLVM backend optimization level (default 3): lower levels compile
    # faster; the matmuls run in Eigen/oneDNN kernels either way.
    "xla_o1": (
        "XLA_FLAGS=--xla_backend_optimization_level=1",
        {"XLA_FLAGS": "--xla_backend_optimization_level=1"},
        [],
        {},
    ),
    # XLA's CPU kernel libraries: oneDNN thunks for its matmuls (off by
    # default), XNNPACK (on by default). If the slow mode were a slow kernel,
    # samples per CPU second would move; if it is the share of time both
    # threads are busy, only CPU seconds per second would.
    "xla_onednn": (
        "XLA_FLAGS=--xla_cpu_use_onednn=true (oneDNN matmuls inside XLA)",
        {"XLA_FLAGS": "--xla_cpu_use_onednn=true"},
        [],
        {},
    ),
    "xla_no_xnnpack": (
        "XLA_FLAGS=--xla_cpu_use_xnnpack=false",
        {"XLA_FLAGS": "--xla_cpu_use_xnnpack=false"},
        [],
        {},
    ),
    "xla_concurrent": (
        "XLA_FLAGS=--xla_cpu_enable_concurrency_optimized_scheduler=true",
        {"XLA_FLAGS": "--xla_cpu_enable_concurrency_optimized_scheduler=true"},
        [],
        {},
    ),
    "taskset0": ("taskset -c 0 (one core)", {}, ["taskset", "-c", "0"], {}),
    "taskset01": (
        "taskset -c 0,1 (both cores: the default mask)",
        {},
        ["taskset", "-c", "0,1"],
        {},
    ),
    "no_aslr": ("setarch -R: no address randomization", {}, ["setarch", "x86_64", "-R"], {}),
    "malloc_no_mmap": (
        "MALLOC_MMAP_THRESHOLD_=1 GB: large buffers from the heap, not mmap",
        {"MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TOP_PAD_": str(2**28)},
        [],
        {},
    ),
    "onednn0": ("TF_ENABLE_ONEDNN_OPTS=0", {"TF_ENABLE_ONEDNN_OPTS": "0"}, [], {}),
    "onednn1": ("TF_ENABLE_ONEDNN_OPTS=1", {"TF_ENABLE_ONEDNN_OPTS": "1"}, [], {}),
    "malloc_arena2": ("MALLOC_ARENA_MAX=2", {"MALLOC_ARENA_MAX": "2"}, [], {}),
    "bfc": (
        "TF_CPU_ALLOCATOR_USE_BFC=true (TensorFlow's BFC allocator on CPU)",
        {"TF_CPU_ALLOCATOR_USE_BFC": "true"},
        [],
        {},
    ),
    "tfdata_private1": (
        "tf.data input with private_threadpool_size=1, max_intra_op_parallelism=1",
        {},
        [],
        {"tfdata": 1},
    ),
    "tfdata_default": ("tf.data input, default options (control)", {}, [], {"tfdata": 0}),
    "xla_spe1": ("keras_ae, XLA, 1 batch per call", {}, [], {"spe": 1}),
    # A competing load: one busy-looping process at nice 19 runs through the fit
    # (as a niced background training does on a shared machine).
    "default_busy": ("keras_ae as installed + a niced busy process", {}, [], {"busy": 1}),
    "plain_busy": ("plain Keras + a niced busy process", {}, [], {"plain": 1, "busy": 1}),
    "intra1_busy": ("intra-op threads = 1 + a niced busy process", {}, [], {"intra": 1, "busy": 1}),
    "nojit": ("keras_ae, no XLA, 8 batches per call", {}, [], {"jit": False}),
}
MODEL_TITLES = {"vae": "VAE 784-512-256-32, Bernoulli", "dense": "dense AE 784-512-256-30"}


def idle_seconds():
    """Idle CPU seconds of the whole machine since boot, summed over cores
    (idle + iowait of /proc/stat's cpu line)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def thread_seconds():
    """{(thread id, name): CPU seconds (user + system)} of this process's threads."""
    seconds = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        # utime + stime, fields 14 and 15 of stat, in clock ticks
        seconds[(task.name, name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def worker(spec):
    """One fresh process: settings, model, a timed `fit`; prints one JSON line."""
    settings = spec["settings"]
    t_start = time.perf_counter()
    import keras
    import numpy as np
    import tensorflow as tf

    if "intra" in settings:
        tf.config.threading.set_intra_op_parallelism_threads(settings["intra"])
    if "inter" in settings:
        tf.config.threading.set_inter_op_parallelism_threads(settings["inter"])

    sys.path.insert(0, str(ROOT / "scripts"))
    from bench.contenders import keras_io_vae, plain_keras

    import keras_ae

    keras.utils.set_random_seed(0)
    with np.load(spec["data"]) as f:
        x = (f["x_train"].reshape(-1, 784).astype("float32") / 255.0)[: spec["n"]]
    t_built = time.perf_counter()
    if settings.get("plain"):
        if spec["model"] == "vae":
            net, needs_y = keras_io_vae(keras), False
            net.compile(optimizer="adam")
        else:
            net, needs_y = plain_keras("dense", keras)
    else:
        net = (
            keras_ae.VAE(input_shape=(784,), latent_dim=32)
            if spec["model"] == "vae"
            else keras_ae.DeepAutoencoder(input_shape=(784,), latent_dim=30)
        )
        net.compile(
            optimizer="adam",
            jit_compile=settings.get("jit", "auto"),
            steps_per_execution=settings.get("spe", "auto"),
        )
        needs_y = False
    batch = spec["batch"]
    data, y, kwargs = x, (x if needs_y else None), {"batch_size": batch, "shuffle": True}
    if "tfdata" in settings:
        ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=0)
        ds = ds.batch(batch).prefetch(tf.data.AUTOTUNE)
        if settings["tfdata"]:
            options = tf.data.Options()
            options.threading.private_threadpool_size = 1
            options.threading.max_intra_op_parallelism = 1
            ds = ds.with_options(options)
        data, y, kwargs = ds, None, {}

    marks, cpu, per_thread, idle = [], [], [], []

    class Marks(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            marks.append(time.perf_counter())
            cpu.append(sum(os.times()[:2]))
            per_thread.append(thread_seconds())
            idle.append(idle_seconds())

    busy = None
    if settings.get("busy"):
        busy = subprocess.Popen(["nice", "-n", "19", sys.executable, "-c", "while True: pass"])
    t_fit = time.perf_counter()
    try:
        net.fit(data, y, epochs=spec["epochs"], verbose=0, callbacks=[Marks()], **kwargs)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    steady_wall = marks[-1] - marks[0]
    steady_cpu = cpu[-1] - cpu[0]
    first, last = per_thread[0], per_thread[-1]
    # CPU seconds per steady wall second of each thread that worked in epochs 2-4
    steady_threads = sorted(
        (
            (name, round((seconds - first.get((tid, name), 0.0)) / steady_wall, 3))
            for (tid, name), seconds in last.items()
            if seconds - first.get((tid, name), 0.0) > 0.02 * steady_wall
        ),
        key=lambda item: -item[1],
    )
    threads = int(
        next(
            line.split()[1]
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("Threads:")
        )
    )
    print(
        "@@THREADS "
        + json.dumps(
            {
                "steady": (len(marks) - 1) * len(x) / steady_wall,
                "cpu_per_wall": steady_cpu / steady_wall,
                "epoch_seconds": [b - a for a, b in zip([t_fit, *marks[:-1]], marks, strict=True)],
                "startup": t_built - t_start,
                "fit_4": marks[-1] - t_built,
                "threads": threads,
                "cpu_per_wall_by_thread": steady_threads,
                # cores the whole machine left idle, on average, over the same epochs: a
                # process at 1.0 CPU s per s beside ~1 idle core did not use a free core
                "idle_cores": (idle[-1] - idle[0]) / steady_wall,
                "affinity": sorted(os.sched_getaffinity(0)),
                "intra": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter": tf.config.threading.get_inter_op_parallelism_threads(),
                "jit": bool(getattr(net, "jit_compile", False)),
            }
        ),
        flush=True,
    )


def run_one(arm, model, batch, data, epochs, n):
    """`arm` in a fresh process; its JSON report (an `error` key if it failed)."""
    _, env_extra, prefix, settings = ARMS[arm]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env_extra}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    spec = {
        "settings": settings,
        "model": model,
        "batch": batch,
        "data": str(data),
        "epochs": epochs,
        "n": n,
    }
    done = subprocess.run(
        [*prefix, sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(ROOT),
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("@@THREADS "):
            return json.loads(line[len("@@THREADS ") :])
    return {"error": done.stderr[-2000:]}


def first_epoch_overhead(epoch_seconds):
    """Epoch 1's seconds less a steady epoch's (the mean of the others): what
    building, tracing and compiling added to the first."""
    steady = epoch_seconds[1:]
    return epoch_seconds[0] - sum(steady) / len(steady)


def summarize(values):
    return min(values), statistics.median(values), max(values)


def write_page(out, raws, notes=()):
    """The page from `raws`, a list of `--raw` contents ({"runs": {model/batch:
    {arm: [reports]}}, "meta": ...}): one section per run, its ratios its own."""
    meta = raws[0]["meta"]
    lines = [
        "# Process-to-process speed of the XLA path: threads, flags, affinity, allocator",
        "",
        f"Generated by `python scripts/bench_threads.py` ({meta['machine']}; "
        f"{meta['versions']}), in {len(raws)} run(s), each with its command below. Each arm "
        "ran in fresh processes, interleaved with the other arms of its run; each process "
        "trained for 4 epochs on all "
        "60,000 MNIST images (Adam, `fit`, shuffled) and reports its steady samples/s "
        "over epochs 2-4 and, in brackets, the CPU seconds it used per wall second over those "
        "epochs (2.0 = both cores busy); *samples per CPU s* is the median of samples/s "
        "divided by that, a rate the machine's other load hardly moves; *r* is the "
        "correlation over the arm's processes of samples/s with CPU s per s; *4-epoch fit s* "
        "(from the model's construction to the end of epoch 4, compile included) and "
        "*first-epoch overhead s* (epoch 1 less a steady epoch) are medians over the arm's "
        "processes. Ratios are against "
        "the `default` arm's median process and the `plain` arm's median process of the "
        "same run. The machine is shared: every run held the benchmark lock and paused the "
        "background trainings; processes that did not take the lock still ran (below).",
        "",
    ]
    for number, raw in enumerate(raws, 1):
        lines += _run_section(number, raw["runs"], raw["meta"])
    lines += list(notes)
    Path(out).write_text("\n".join(lines) + "\n")


def _run_section(number, runs, meta):
    lines = [
        f"## Run {number}: `{meta['command']}`",
        "",
        f"{meta['date']}, {meta['procs']} processes per arm.",
        "",
    ]
    for key, arms in runs.items():
        model, batch = key.split("/")
        base = statistics.median(r["steady"] for r in arms.get("default", []) if "steady" in r)
        plain_list = [r["steady"] for r in arms.get("plain", []) if "steady" in r]
        plain = statistics.median(plain_list) if plain_list else None
        lines += [
            f"### {MODEL_TITLES[model]}, batch {batch}",
            "",
            "| arm | what | samples/s per process (CPU s per s) | min | median | max | max/min "
            "| median / default | min / plain median | samples per CPU s "
            "| r(samples/s, CPU s per s) | 4-epoch fit s | first-epoch overhead s | threads |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for arm, reports in arms.items():
            ok = [r for r in reports if "steady" in r]
            if not ok:
                lines.append(f"| `{arm}` | {ARMS[arm][0]} | failed: {len(reports)} processes |")
                continue
            lo, med, hi = summarize([r["steady"] for r in ok])
            per_cpu = statistics.median(r["steady"] / r["cpu_per_wall"] for r in ok)
            try:
                corr = "{:.2f}".format(
                    statistics.correlation(
                        [r["steady"] for r in ok], [r["cpu_per_wall"] for r in ok]
                    )
                )
            except statistics.StatisticsError:  # fewer than 2 processes, or constant
                corr = "—"
            each = " / ".join(f"{r['steady']:,.0f} ({r['cpu_per_wall']:.2f})" for r in ok)
            vs_plain = f"{lo / plain:.2f}x" if plain else "—"
            fit_4 = statistics.median(r["fit_4"] for r in ok)
            overhead = statistics.median(first_epoch_overhead(r["epoch_seconds"]) for r in ok)
            lines.append(
                f"| `{arm}` | {ARMS[arm][0]} | {each} | {lo:,.0f} | {med:,.0f} | {hi:,.0f} | "
                f"{hi / lo:.2f} | {med / base:.2f}x | {vs_plain} | {per_cpu:,.0f} | {corr} | "
                f"{fit_4:.1f} | {overhead:.2f} | {ok[0]['threads']} |"
            )
        lines.append("")
        lines += _time_order(arms)
    return lines


def _time_order(arms):
    """The processes in the order they ran (process i of each arm, the arms
    rotated by i), each against its arm's median, with the machine's idle
    cores and the busiest threads: slow minutes shared by every arm are the
    machine's, a slow process beside a fast one of another arm is its own.
    Only for runs that recorded idle cores and threads."""
    names = list(arms)
    if not all("idle_cores" in r for reports in arms.values() for r in reports if "steady" in r):
        return []
    medians = {
        a: statistics.median(r["steady"] for r in reports if "steady" in r)
        for a, reports in arms.items()
    }
    lines = [
        "Processes in the order they ran: samples/s against the arm's median, CPU s per s, "
        "the cores the whole machine left idle meanwhile, and each thread's CPU s per s "
        "(threads named by the OS: `python` threads are TensorFlow's intra-op pool, "
        "`tf_Compute` its inter-op pool).",
        "",
        "| # | arm | samples/s | / arm median | CPU s per s | idle cores | threads |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    count = max(len(r) for r in arms.values())
    position = 0
    for i in range(count):
        for arm in names[i % len(names) :] + names[: i % len(names)]:
            if i >= len(arms[arm]) or "steady" not in arms[arm][i]:
                continue
            r = arms[arm][i]
            position += 1
            threads = ", ".join(f"{t} {c:.2f}" for t, c in r["cpu_per_wall_by_thread"][:4])
            lines.append(
                f"| {position} | `{arm}` | {r['steady']:,.0f} | {r['steady'] / medians[arm]:.2f} "
                f"| {r['cpu_per_wall']:.2f} | {r['idle_cores']:.2f} | {threads} |"
            )
    return [*lines, ""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("KERAS_AE_DATA_DIR"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "threads.md"))
    parser.add_argument("--arms", default="default,plain,intra1,inter1,intra1_inter1")
    parser.add_argument("--models", default="vae,dense")
    parser.add_argument("--batches", default="128")
    parser.add_argument("--procs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny data, 1 process per arm")
    parser.add_argument("--raw", default=None, help="write the raw reports here as JSON")
    parser.add_argument(
        "--from-raw", default=None, help="comma-separated --raw files: write the page only"
    )
    parser.add_argument("--notes", default=None, help="a Markdown file appended to the page")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return
    if args.from_raw:
        raws = [json.loads(Path(p).read_text()) for p in args.from_raw.split(",")]
        notes = Path(args.notes).read_text().splitlines() if args.notes else ()
        write_page(args.out, raws, notes)
        print(f"wrote {args.out}")
        return
    for arm in args.arms.split(","):
        if arm not in ARMS:
            parser.error(f"--arms takes names from {sorted(ARMS)}, got {arm!r}")
    sys.path.insert(0, str(ROOT))
    import tempfile

    import numpy as np

    from keras_ae.datasets import load_mnist

    (x_train, _), _ = load_mnist(args.data_dir)
    procs, n = (1, 2048) if args.quick else (args.procs, len(x_train))
    arms = args.arms.split(",")
    t0 = time.time()
    runs = {}
    with tempfile.TemporaryDirectory(prefix="bench_threads_") as tmp:
        data = Path(tmp) / "mnist.npz"
        np.savez(data, x_train=x_train, x_test=x_train[:1])
        for model in args.models.split(","):
            for batch in map(int, args.batches.split(",")):
                key = f"{model}/{batch}"
                runs[key] = {a: [] for a in arms}
                for i in range(procs):
                    order = arms[i % len(arms) :] + arms[: i % len(arms)]
                    for arm in order:
                        r = run_one(arm, model, batch, data, 4, n)
                        runs[key][arm].append(r)
                        print(
                            f"[{time.time() - t0:5.0f}s] {key} {arm} #{i}: "
                            + (
                                f"{r['steady']:,.0f}/s cpu {r['cpu_per_wall']:.2f} "
                                f"idle {r['idle_cores']:.2f} threads "
                                + " ".join(f"{t}:{c:.2f}" for t, c in r["cpu_per_wall_by_thread"])
                                if "steady" in r
                                else "FAILED " + r["error"][-500:]
                            ),
                            flush=True,
                        )
    import keras
    import tensorflow as tf

    meta = {
        "command": "python scripts/bench_threads.py "
        + " ".join("<path>" if a.startswith("/") else a for a in sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, CPU only",
        "versions": f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
        "procs": procs,
    }
    if args.raw:
        Path(args.raw).write_text(json.dumps({"runs": runs, "meta": meta}, indent=1))
    write_page(args.out, [{"runs": runs, "meta": meta}])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
