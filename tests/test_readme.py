"""The README and the docs pages say what the code does: their Python snippets
run as written, their tables and layout name what exists, their links resolve.

Each page's ```python blocks run in order in one namespace, in a temporary
folder holding the files they name (`photos/`: real Fashion-MNIST test images
as RGB PNGs; `ecg.csv`: the real ECG5000 table), on the real data in
`KERAS_AE_DATA_DIR`. A block right after a line `<!-- not run: REASON -->` is
left out (set `KERAS_AE_DOCS_ALL=1` to run it too); `SHRINK` lists, per page,
the exact text swaps that cut a snippet's data or epochs for CI, and each swap
must still match the page.
"""

import os
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_ae import models, networks

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = ["README.md", "docs/training.md", "docs/zoo.md", "docs/export.md", "docs/data.md"]
SHRINK = {
    "docs/training.md": [
        ('datasets.load("mnist", flatten=True)', 'datasets.load("mnist", flatten=True)[:1024]'),
        ('split="test", flatten=True)', 'split="test", flatten=True)[:256]'),
        ("epochs=10", "epochs=1"),
    ],
    "docs/data.md": [("epochs=20", "epochs=1")],
}
NOT_RUN = re.compile(r"<!-- not run: (\S.*\S) -->")


def snippets(page):
    """`(code, reason)` of each python block of `page`; reason is None for blocks that run."""
    lines = (REPO / page).read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            end = lines.index("```", i + 1)
            mark = NOT_RUN.fullmatch(lines[i - 1].strip()) if i else None
            out.append(("\n".join(lines[i + 1 : end]) + "\n", mark and mark.group(1)))
            i = end
        i += 1
    return out


def section(text, title):
    """The body of the `## title` section of a markdown text."""
    body = text.split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


@pytest.fixture
def workdir(tmp_path, monkeypatch, shared_data):
    """A temporary working folder with the files the snippets name."""
    from keras_ae import datasets

    monkeypatch.setenv("KERAS_AE_DATA_DIR", str(shared_data))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    images = datasets.load_fashion_mnist(shared_data)[1][0][:24]
    for i, im in enumerate(images):  # three different grey images as one RGB photo
        rgb = np.stack([im, im[::-1], im.T], axis=-1)
        tf.io.write_file(str(tmp_path / "photos" / f"{i:02d}.png"), tf.io.encode_png(rgb))
    (tmp_path / "ecg.csv").symlink_to(shared_data / "ecg5000" / "ecg.csv")
    return tmp_path


@pytest.mark.parametrize("page", PAGES)
def test_the_snippets_of_a_page_run_as_written(page, workdir):
    blocks = snippets(page)
    run_all = os.environ.get("KERAS_AE_DOCS_ALL") == "1"
    code = [c for c, reason in blocks if reason is None or run_all]
    assert code, f"{page} has no python snippet that runs"
    for old, new in SHRINK.get(page, []):
        assert any(old in c for c in code), f"{page}: the shrink {old!r} no longer matches"
        code = [c.replace(old, new) for c in code]
    ns = {"__name__": "__docs__"}
    for i, c in enumerate(code):
        exec(compile(c, f"{page} (python snippet {i + 1})", "exec"), ns)
    if page == "README.md":  # what its comments and prose promise
        from keras_ae import zoo

        card = zoo.info("deep_ae30_mnist")["metrics"][0]["value"]
        assert f"# {card:.5f}, the figure on its card" in blocks[0][0]
        mse = float(((ns["x_hat"] - ns["x_test"]) ** 2).mean())
        assert mse == pytest.approx(card, rel=2e-3)
        assert (workdir / "photos_ae.keras").is_file()
        assert ns["x"].shape == (24, 64, 64, 3)
        assert (workdir / "photos_ae_int8.tflite").stat().st_size > 0


def test_every_snippet_left_out_says_why():
    for page in PAGES:
        text = (REPO / page).read_text(encoding="utf-8")
        marks = re.findall(r"<!-- not run.*-->", text)
        reasons = [r for _, r in snippets(page) if r is not None]
        assert len(marks) == len(reasons), f"{page}: a not-run mark is malformed or misplaced"


def test_the_readme_starts_with_use_and_stays_short():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    titles = re.findall(r"^## (.+)$", text, flags=re.M)
    assert titles[:3] == ["Install", "Quick start", "First use"]


def test_the_quick_start_test_command_is_the_one_ci_runs():
    command = (
        'python3 -m venv .venv-test && . .venv-test/bin/activate && pip install ".[test]" '
        "&& KERAS_AE_DATA_DIR=../shared/data python -m pytest -q tests"
    )
    assert command in section(README.read_text(encoding="utf-8"), "Quick start").splitlines()
    assert command in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_variant_tables_name_every_class_and_network():
    body = section(README.read_text(encoding="utf-8"), "Variants")
    rows = set(re.findall(r"^\| `(\w+)` \|", body, flags=re.M))
    assert set(models.VARIANTS) | set(networks.NETWORKS) == rows


def test_the_layout_names_every_module_and_folder_that_exists():
    body = section(README.read_text(encoding="utf-8"), "Layout")
    block = body.split("```")[1]
    listed = set(re.findall(r"^  (\S+)", block, flags=re.M))
    present = {
        p.name + ("/" if p.is_dir() else "")
        for p in (REPO / "keras_ae").iterdir()
        if not p.name.startswith(("_", "."))
    }
    assert listed == present
    for top in re.findall(r"^(\S+/)", block, flags=re.M):
        assert (REPO / top).is_dir(), f"the layout names {top}, which does not exist"


def test_the_links_of_the_pages_resolve():
    for page in PAGES:
        path = REPO / page
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{page} links to missing {target}"
