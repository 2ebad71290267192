"""Helpers shared by the experiment scripts: data dir, seeding, tables, figures.

Every script prints the table it writes, so the numbers in `docs/results/`
are the ones printed by the run that wrote them.
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def data_dir():
    """`KERAS_AE_DATA_DIR`, else `../shared/data` beside the repository."""
    env = os.environ.get("KERAS_AE_DATA_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path.resolve()


def seed_all(seed=0):
    import keras

    keras.utils.set_random_seed(seed)


def validation_split(n, fraction=0.2, seed=0):
    """`(val, fit)` index arrays: a seeded `fraction` of `n` training rows held out.

    Scripts that choose a model setting score the candidates on `val` (trained
    on `fit`), so the test split picks nothing.
    """
    import numpy as np

    order = np.random.default_rng(seed).permutation(n)
    cut = round(n * fraction)
    return order[:cut], order[cut:]


def quantize_8bit(train_codes, codes):
    """`codes` rounded to 256 levels per value over the training codes' range."""
    import numpy as np

    low, high = train_codes.min(axis=0), train_codes.max(axis=0)
    step = np.maximum(high - low, 1e-12) / 255.0
    return low + np.round((np.clip(codes, low, high) - low) / step) * step


def markdown_table(header, rows, floatfmt="{:.4f}"):
    """A GitHub markdown table; floats formatted with `floatfmt`."""

    def cell(v):
        if isinstance(v, float):
            return floatfmt.format(v)
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_result(name, title, body):
    """Writes `docs/results/<name>.md` atomically and prints the same text."""
    from keras_ae.utils.files import atomic_output

    text = f"# {title}\n\n{body.strip()}\n"
    with atomic_output(RESULTS / f"{name}.md") as staged:
        staged.write_text(text)
    print(text)
    return RESULTS / f"{name}.md"


def save_figure(fig, name):
    """Writes `docs/results/<name>.png` atomically (a killed run leaves the old one)."""
    from keras_ae import plotting

    path = plotting.save_figure(fig, RESULTS / f"{name}.png", dpi=110)
    print(f"wrote {path.relative_to(REPO)}")
    return path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
