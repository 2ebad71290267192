"""docs/porting.md runs: its ```python blocks (the keras.io VAE and the TF
"Intro to Autoencoders" tutorial ported to keras_ae) execute in order in one
namespace on the real data, with `SHRINK`'s swaps cutting images and epochs
for CI (each swap must still match the page), and end where the page says."""

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "porting.md"
SHRINK = [
    (
        "np.concatenate([x_train, x_test], axis=0)",
        "np.concatenate([x_train[:256], x_test[:0]], axis=0)",
    ),
    ("epochs=30, batch_size=128", "epochs=1, batch_size=128"),
    ("np.expand_dims(x_test, -1)", "np.expand_dims(x_test[:256], -1)"),
    ('x_train = x_train.astype("float32")', 'x_train = x_train[:512].astype("float32")'),
    ('x_test = x_test.astype("float32")', 'x_test = x_test[:128].astype("float32")'),
    ("epochs=10", "epochs=1"),
    ("epochs=20", "epochs=3"),
]


def python_blocks(text):
    blocks, inside = [], None
    for line in text.splitlines():
        if inside is None and line.strip() == "```python":
            inside = []
        elif inside is not None and line.strip() == "```":
            blocks.append("\n".join(inside) + "\n")
            inside = None
        elif inside is not None:
            inside.append(line)
    return blocks


def test_the_porting_page_runs_as_written(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_AE_DATA_DIR", str(shared_data))
    monkeypatch.chdir(tmp_path)
    code = python_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(code) == 6
    for old, new in SHRINK:
        assert any(old in c for c in code), f"the shrink {old!r} no longer matches the page"
        code = [c.replace(old, new) for c in code]
    ns = {"__name__": "__porting__"}
    for i, block in enumerate(code):
        exec(compile(block, f"docs/porting.md (python snippet {i + 1})", "exec"), ns)
    # keras.io: the three-output encoder and sigmoid decoder train and decode
    # to probabilities (not squashed into [0.5, 1] by a second sigmoid).
    assert ns["vae"].decoder_gives_probabilities
    assert ns["digits"].shape == (225, 28, 28, 1) and ns["digits"].min() < 0.5
    assert ns["z_mean"].shape == (256, 2) and isinstance(ns["z_mean"], np.ndarray)
    # The tutorial: per-pixel mse beside the summed loss; a spatial code.
    assert ns["decoded_imgs"].shape == (128, 28, 28, 1)
    assert ns["encoded_imgs"].shape == (128, 64)
    history = ns["history"].history
    assert history["loss"][-1] < history["loss"][0]
    assert history["reconstruction_loss"][-1] == pytest.approx(140 * history["mae"][-1], rel=1e-3)
    assert 0.5 < ns["accuracy"] <= 1.0
