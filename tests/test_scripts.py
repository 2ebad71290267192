"""The scripts (zoo training, benchmarks, experiments) are not imported by the
other tests; at least every one of them must compile."""

import py_compile
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "scripts").rglob("*.py"))


def test_there_are_scripts():
    names = {p.name for p in SCRIPTS}
    assert {"train_zoo.py", "evaluate_zoo.py", "bench_train.py", "bench_conv_layers.py"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_compiles(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)
