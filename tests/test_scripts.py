"""The scripts (zoo training, benchmarks, experiments) must compile and start.

No other test imports them, so a renamed function or a moved module broke
them silently. Here every top-level script's `--help` runs, and every other
script module is imported, all in one subprocess (TensorFlow is imported
once, not once per script); and the benchmark harness is checked to import
without TensorFlow, NumPy or PyTorch, as the pythae worker's Python needs.
"""

import json
import os
import py_compile
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "scripts"
SCRIPTS = sorted(SCRIPTS_DIR.rglob("*.py"))
#: Programs with a command line: their `--help` must print a usage.
PROGRAMS = sorted(SCRIPTS_DIR.glob("*.py"))

# Runs each script as `python <script> --help` would (its folder first on
# sys.path), or imports it, and writes {path: [exit status or error, output]}.
_DRIVER = textwrap.dedent("""
    import contextlib, io, json, runpy, sys, traceback
    out_path, programs, modules = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    base, results = list(sys.path), {}
    for path in programs + modules:
        folder = path.rsplit("/", 1)[0]
        sys.path[:] = [folder, folder.rsplit("/", 1)[0]] + base  # (a package's parent too)
        sys.argv = [path, "--help"]
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                runpy.run_path(path, run_name="__main__" if path in programs else "imported")
            status = 0 if path in modules else "returned without printing a usage"
        except SystemExit as exit:
            status = exit.code or 0
        except BaseException:
            status = traceback.format_exc()
        results[path] = [status, buffer.getvalue()[-3000:]]
    with open(out_path, "w") as f:
        json.dump(results, f)
""")


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """{script: (status, output)} of every script's `--help` or import."""
    out = tmp_path_factory.mktemp("scripts") / "started.json"
    modules = [p for p in SCRIPTS if p not in PROGRAMS]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run(
        [
            sys.executable,
            "-c",
            _DRIVER,
            str(out),
            json.dumps([str(p) for p in PROGRAMS]),
            json.dumps([str(p) for p in modules]),
        ],
        check=True,
        timeout=600,
        env=env,
        cwd=SCRIPTS_DIR.parent,
        capture_output=True,
    )
    return {Path(k): tuple(v) for k, v in json.loads(out.read_text()).items()}


def test_there_are_scripts():
    names = {p.name for p in SCRIPTS}
    assert {"train_zoo.py", "evaluate_zoo.py", "bench_train.py", "bench_conv_layers.py"} <= names
    assert {"harness.py", "contenders.py", "workers.py", "report.py"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(SCRIPTS_DIR)))
def test_script_compiles(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(SCRIPTS_DIR)))
def test_script_starts(started, path):
    """A program prints its usage on `--help`; any other module imports."""
    status, output = started[path]
    assert status == 0, f"{path.name} failed to start:\n{status}\n{output}"
    if path in PROGRAMS:
        assert "usage:" in output, output


def run_in_scripts(code):
    """Runs `code` in a fresh Python in scripts/ (as the scripts import their
    modules) and returns the finished process, which must have succeeded."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=SCRIPTS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_bench_harness_imports_without_frameworks():
    """The pythae worker runs `bench_train.py --worker` in a Python holding
    PyTorch and pythae only: the script and its `bench` modules must import
    with the standard library alone (frameworks inside the functions)."""
    code = (
        "import sys; import bench_train, bench.harness, bench.contenders, bench.workers, "
        "bench.report, bench_conv_layers; print(sorted({'numpy', 'tensorflow', 'keras', "
        "'torch', 'keras_ae'} & set(sys.modules)))"
    )
    done = run_in_scripts(code)
    assert done.stdout.strip() == "[]"


def test_bench_report_per_process_tables(tmp_path):
    """The per-process and whole-fit tables of `bench_train.py`'s page are
    written from raw reports, their bars decided (made-up numbers; nothing timed)."""
    code = textwrap.dedent("""
        import json
        from bench import report
        def fit(rate, first=2.0, n=60000):
            marks = [first + i * n / rate for i in range(4)]
            return {"epoch_end_seconds": marks, "steady": rate, "n": n}
        spread = {"vae/128": {
            "plain": [fit(10000) for _ in range(5)],
            "keras_ae": [fit(r) for r in (13000, 13500, 14000, 14500, 15000)],
            "pythae_loop": [fit(9000) for _ in range(5)],
        }}
        bars = []
        text = "\\n".join(report.fresh_sections(spread, {}, bars))
        print(json.dumps({"text": text, "bars": bars}))
    """)
    done = run_in_scripts(code)
    out = json.loads(done.stdout)
    assert "13,000 / 13,500 / 14,000 / 14,500 / 15,000" in out["text"]
    verdicts = {bar: met for bar, _, met in out["bars"]}
    assert verdicts["vae b128: keras_ae's slowest process >= 1.2x the median plain Keras process"]
    assert verdicts["vae b128: keras_ae max/min over processes <= 1.25"]
    assert any("whole 4-epoch fit" in bar and met for bar, met in verdicts.items())


def test_likelihood_table_reads_the_cards_of_another_zoo(tmp_path, monkeypatch):
    """likelihood_table.py describes a zoo row from its config (objective and
    stochastic layers), places it among the published rows by log p(x), and
    names an entry the zoo lacks."""
    monkeypatch.syspath_prepend(str(SCRIPTS_DIR / "experiments"))
    import likelihood_table

    entry = tmp_path / "iwae2_mnist"
    entry.mkdir()
    training = {"epochs": 1000, "batch_size": 100, "seconds": 5400.0, "machine": "x86_64 CPU x2"}
    metrics = [
        {"name": "test_log_likelihood", "value": -85.5},
        {"name": "test_iwae_bound", "value": -87.25},
        {"name": "test_elbo", "value": -89.0},
    ]
    meta = {"variant": "HierarchicalVAE", "training": training, "metrics": metrics}
    (entry / "metadata.json").write_text(json.dumps(meta))
    config = {"num_importance_samples": 5, "gradient_estimator": "dreg"}
    (entry / "config.json").write_text(json.dumps({"config": config}))
    written = {}
    monkeypatch.setattr(
        likelihood_table, "write_result", lambda name, title, body: written.update(body=body)
    )
    likelihood_table.main(["--zoo-dir", str(tmp_path)])
    rows = [line for line in written["body"].splitlines() if line.startswith("| ")][1:]
    ours = next(i for i, r in enumerate(rows) if "iwae2_mnist" in r)
    assert "IWAE k=5 (dreg gradients), 2 stochastic layers | -85.50 | -87.25 | -89.00" in rows[ours]
    assert "1,000 epochs of batch 100, 1.5 h on x86_64 CPU x2" in rows[ours]
    assert "-85.79" in rows[ours + 1] and "-85.33" in rows[ours - 1]  # sorted by log p(x)
    assert "Not in the zoo yet: vae50_mnist." in written["body"]
