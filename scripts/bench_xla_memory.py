"""What each XLA-compiled model leaves behind in a process (tensorflow/tensorflow#64170).

TensorFlow's XLA compilation cache never evicts, so a compiled training step
stays in memory after its model is gone. This builds and trains small models
one after another in one process (as a hyper-parameter sweep does), deletes
each, and records the process's memory maps and resident memory after each:
with XLA the maps grow by a fixed amount per model, without it they stay flat
(resident memory grows either way, about twice as fast with XLA).
A process dies once its maps reach `vm.max_map_count` (65,530 by default) with
"LLVM compilation error: Cannot allocate memory".

Usage:
    python scripts/bench_xla_memory.py [--models 5] [--out docs/benchmarks/xla_memory.md]
"""

import argparse
import gc
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_ae import models

CASES = {
    "Autoencoder 36-128-64-8": models.Autoencoder,
    "ContractiveAutoencoder 36-128-64-8 (batched Jacobian)": models.ContractiveAutoencoder,
}


def maps():
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def growth(cls, jit, n, x):
    """Maps and MB added per model, from the 2nd model on (the 1st loads XLA itself)."""
    points = []
    for i in range(n):
        model = cls(
            input_shape=(x.shape[1],),
            latent_dim=8,
            hidden_units=(128, 64),
            output_activation="linear",
            seed=i,
        )
        model.compile(optimizer="adam", jit_compile=jit)
        model.fit(x, epochs=2, batch_size=64, verbose=0)
        del model
        gc.collect()
        points.append((maps(), rss_mb()))
    (m0, r0), (m1, r1) = points[1], points[-1]
    return (m1 - m0) / (n - 2), (r1 - r0) / (n - 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=5, help="models per row (>= 3)")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks" / "xla_memory.md"))
    args = parser.parse_args(argv)
    if args.models < 3:
        parser.error(f"--models must be >= 3, got {args.models}")
    x = np.random.default_rng(0).standard_normal((512, 36)).astype("float32")
    rows = [
        "| model | jit_compile | memory maps per model | resident MB per model |",
        "|---|---|---:|---:|",
    ]
    for name, cls in CASES.items():
        for jit in (False, True):
            per_map, per_mb = growth(cls, jit, args.models, x)
            rows.append(f"| {name} | {jit} | {per_map:,.0f} | {per_mb:.1f} |")
            print(rows[-1], flush=True)
    with open("/proc/sys/vm/max_map_count") as f:
        limit = int(f.read())
    command = " ".join(["python scripts/bench_xla_memory.py", *(argv or sys.argv[1:])])
    text = "\n".join(
        [
            "# Memory an XLA-compiled model leaves in its process",
            "",
            f"Written by `{command}`"
            f". TensorFlow {tf.__version__}, Keras {keras.__version__}, CPU. {args.models} "
            "models per row, each built, trained 2 epochs on 512 rows, deleted and garbage-"
            "collected; growth measured from the 2nd model to the last, per model.",
            "",
            *rows,
            "",
            f"This machine's `vm.max_map_count` is {limit:,}. keras_ae keeps XLA off by default "
            "for the contractive AE's batched-Jacobian path and warns after 50 XLA-trained "
            "models in one process (`keras_ae.training.XLA_SWEEP_WARNING`).",
            "",
        ]
    )
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
