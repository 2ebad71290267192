"""Times random draws inside XLA programs: `keras.random` against `keras_ae.utils.rng`.

Two tables, one run:
1. One draw of uniform / normal values at the shapes training uses (a VAE's
   (256, 32) noise, a denoising AE's (256, 784) mask) in a `tf.function`
   without and with `jit_compile=True`, drawn from a `SeedGenerator` the way a
   model draws them: `keras.random` (no algorithm named) vs `keras_ae.utils.rng`
   (Philox named; the same values).
2. `fit` samples/s of the models that draw noise in their `train_step`
   (denoising AE with the dropout mask, VAE, semantic hashing AE with
   noise) at batch 256, XLA off and on, with their draws routed through
   `keras.random` (what keras_ae did before) and through `keras_ae.utils.rng`.
   The data are uniform random 784-vectors: only the step time matters here.

Every contender is timed in interleaved rounds in a shuffled order, and the
median is reported, so the ratios hold on a shared machine.

Usage:
    python scripts/bench_rng.py [--rounds 5] [--out docs/benchmarks/rng.md]
"""

import argparse
import contextlib
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import keras_ae
from keras_ae.utils import rng

SHAPES = ((256, 32), (256, 784))
BATCH = 256
STEPS = 100  # steps per timed epoch
MODELS = {
    "denoising AE (dropout mask 0.5), 784-512-256-30": lambda: keras_ae.DenoisingAutoencoder(
        input_shape=(784,), latent_dim=30, hidden_units=(512, 256), noise="dropout"
    ),
    "VAE, 784-512-256-32": lambda: keras_ae.VAE(input_shape=(784,), latent_dim=32),
    "semantic hashing AE (noise), 784-512-64": lambda: keras_ae.SemanticHashingAE(
        input_shape=(784,), latent_dim=64
    ),
}


@contextlib.contextmanager
def draws_from(source):
    """Routes keras_ae's model noise through `keras.random` for `source="keras"`."""
    if source == "rng":
        yield
        return
    saved = rng.uniform, rng.normal
    rng.uniform = lambda shape, seed=None, dtype="float32": keras.random.uniform(
        shape, dtype=dtype, seed=seed
    )
    rng.normal = lambda shape, seed=None, stddev=1.0, dtype="float32": keras.random.normal(
        shape, stddev=stddev, dtype=dtype, seed=seed
    )
    try:
        yield
    finally:
        rng.uniform, rng.normal = saved


def time_call(fn, seconds):
    fn().numpy()
    n, t0 = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t0 < seconds:
        fn().numpy()
        n += 1
    return (time.perf_counter() - t0) / n


def draw_table(rounds, seconds):
    contenders = {}
    for kind in ("uniform", "normal"):
        for shape in SHAPES:
            for jit in (False, True):
                for source in ("keras", "rng"):
                    gen = keras.random.SeedGenerator(0)
                    draw = getattr(keras.random if source == "keras" else rng, kind)

                    def fn(d=draw, s=shape, g=gen, by_name=source == "keras"):
                        return tf.reduce_sum(d(s, seed=g) if by_name else d(s, g))

                    contenders[(kind, shape, jit, source)] = tf.function(fn, jit_compile=jit)
    times = {key: [] for key in contenders}
    for _ in range(rounds):
        for key in random.sample(list(contenders), len(contenders)):
            times[key].append(time_call(contenders[key], seconds))
    rows = [
        "| draw | shape | XLA | keras.random (ms) | keras_ae.utils.rng (ms) | speed-up |",
        "|---|---|---|---:|---:|---:|",
    ]
    for kind in ("uniform", "normal"):
        for shape in SHAPES:
            for jit in (False, True):
                k, r = (
                    1e3 * statistics.median(times[(kind, shape, jit, s)]) for s in ("keras", "rng")
                )
                rows.append(
                    f"| {kind} | {shape} | {'on' if jit else 'off'} | {k:.3f} | {r:.3f} "
                    f"| {k / r:.1f}x |"
                )
    return "\n".join(rows)


def fit_table(rounds):
    x = np.random.default_rng(0).random((BATCH * STEPS, 784)).astype("float32")
    models, rates = {}, {}
    for name, make in MODELS.items():
        for jit in (False, True):
            for source in ("keras", "rng"):
                keras.utils.set_random_seed(0)
                with draws_from(source):
                    model = make()
                    model.compile(optimizer="adam", jit_compile=jit)
                    model.fit(x, batch_size=BATCH, epochs=1, verbose=0)  # trace and compile
                models[(name, jit, source)] = model
                rates[(name, jit, source)] = []
    for _ in range(rounds):
        for key in random.sample(list(models), len(models)):
            with draws_from(key[2]):
                t0 = time.perf_counter()
                models[key].fit(x, batch_size=BATCH, epochs=1, verbose=0)
                rates[key].append(len(x) / (time.perf_counter() - t0))
    rows = [
        (
            "| model | XLA | keras.random (samples/s) | keras_ae.utils.rng (samples/s) | "
            "rng / keras.random |"
        ),
        "|---|---|---:|---:|---:|",
    ]
    for name in MODELS:
        for jit in (False, True):
            k, r = (statistics.median(rates[(name, jit, s)]) for s in ("keras", "rng"))
            rows.append(
                f"| {name} | {'on' if jit else 'off'} | {k:,.0f} | {r:,.0f} | {r / k:.2f}x |"
            )
    xla_gain = {
        name: statistics.median(rates[(name, True, "rng")])
        / statistics.median(rates[(name, False, "rng")])
        for name in MODELS
    }
    return "\n".join(rows), xla_gain


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--seconds", type=float, default=1.0, help="per draw timing")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks" / "rng.md"))
    args = parser.parse_args(argv)
    random.seed(0)
    load, start = os.getloadavg()[0], time.perf_counter()
    draws = draw_table(args.rounds, args.seconds)
    print(draws, flush=True)
    fits, xla_gain = fit_table(args.rounds)
    print(fits, flush=True)
    text = "\n".join(
        [
            "# Random draws under XLA: `keras.random` vs `keras_ae.utils.rng`",
            "",
            "Written by `"
            + " ".join(["python scripts/bench_rng.py", *(argv or sys.argv[1:])])
            + "`"
            + f". Machine: {platform.machine()}, {os.cpu_count()} CPU cores, TensorFlow "
            f"{tf.__version__}, Keras {keras.__version__}; load average at the start {load:.1f}; "
            f"whole run {(time.perf_counter() - start) / 60:.1f} min. Medians of {args.rounds} "
            "interleaved rounds.",
            "",
            "## One draw from a `SeedGenerator` in a `tf.function`",
            "",
            draws,
            "",
            (
                "`keras.random` names no algorithm; XLA compiles that op on CPU to a generator "
                "many "
                "times slower than the Philox one `keras_ae.utils.rng` names, for the same values "
                "(`tests/test_corruption.py` checks equality eagerly and under XLA)."
            ),
            "",
            "## `fit` at batch 256, the models' own noise routed through each",
            "",
            fits,
            "",
            "XLA against no XLA with `keras_ae.utils.rng`: "
            + ", ".join(f"{name.split(',')[0]} {gain:.2f}x" for name, gain in xla_gain.items())
            + ". Defaults are decided from `scripts/bench_train.py` (MNIST, more rounds).",
            "",
        ]
    )
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
