"""Benchmarks exported models: file size, parity, batch-1 latency, batch-256 throughput.

For each zoo model (or, without a zoo, a few small models trained here for
one epoch) it writes a SavedModel and LiteRT float32 / float16 / int8 files
(each verified on real test images), then times, side by side in one run,
Keras `model.predict`, the SavedModel's `reconstruct` signature and the three
LiteRT files through `keras_ae.export.TFLiteModel`. Repetitions of every
runner are interleaved in a shuffled order and medians reported, so the
ratios hold on a shared, noisy machine even when absolute times drift.

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/bench_export.py \
        [--models NAME ...] [--repeats 7] [--out docs/benchmarks/export.md]
"""

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_ae import datasets, export

FORMATS = ("keras", "saved_model", "litert_fp32", "litert_fp16", "litert_dynamic", "litert_int8")
LABELS = {
    "keras": "Keras predict",
    "saved_model": "SavedModel",
    "litert_fp32": "LiteRT fp32",
    "litert_fp16": "LiteRT fp16",
    "litert_dynamic": "LiteRT dynamic",
    "litert_int8": "LiteRT int8",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", help="zoo entries (default: every entry)")
    parser.add_argument(
        "--own", action="store_true", help="benchmark small models trained here instead of the zoo"
    )
    parser.add_argument("--repeats", type=int, default=9, help="interleaved repetitions")
    parser.add_argument("--samples", type=int, default=512, help="test images for parity")
    parser.add_argument("--data-dir", default=os.environ.get("KERAS_AE_DATA_DIR"))
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks" / "export.md"))
    return parser.parse_args(argv)


# ------------------------------------------------------------------- models
def test_images(dataset, preprocessing, data_dir, n, input_shape):
    (_, _), (x_test, _) = datasets.load_images(dataset, data_dir)
    layout = preprocessing.get("layout", "flat")
    x = datasets.preprocess(
        x_test[:n],
        scale=preprocessing.get("scale", "unit"),
        flatten=layout == "flat",
        channels=layout == "image",
    )
    return x.reshape((-1,) + tuple(input_shape)).astype("float32")


def zoo_models(names, data_dir, n):
    from keras_ae import zoo

    for name in names or zoo.list_models():
        model = zoo.load(name)
        meta = zoo.info(name)
        x = test_images(
            meta.get("dataset", "mnist"),
            meta.get("preprocessing") or {},
            data_dir,
            n,
            model.input_shape_,
        )
        yield name, model, x


def own_models(data_dir, n):
    """Small models trained for one epoch on 10,000 MNIST images."""
    from keras_ae.models import VAE, ConvAutoencoder, DeepAutoencoder, SemanticHashingAE

    (x_train, _), (x_test, _) = datasets.load_mnist(data_dir)
    flat = datasets.preprocess(x_train[:10000], flatten=True)
    flat_test = datasets.preprocess(x_test[:n], flatten=True)
    specs = [
        ("deep_ae30 (1 epoch)", DeepAutoencoder(input_shape=(784,), latent_dim=30, seed=0), False),
        (
            "conv_ae16 (1 epoch)",
            ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16, seed=0),
            True,
        ),
        ("vae32 (1 epoch)", VAE(input_shape=(784,), latent_dim=32, seed=0), False),
        ("hash32 (1 epoch)", SemanticHashingAE(input_shape=(784,), latent_dim=32, seed=0), False),
    ]
    for name, model, image in specs:
        shape = (-1, 28, 28, 1) if image else (-1, 784)
        model.compile(optimizer="adam")
        model.fit(flat.reshape(shape), epochs=1, batch_size=128, verbose=0)
        yield name, model, flat_test.reshape(shape)


# ------------------------------------------------------------------ timing
def make_runners(model, paths):
    loaded = tf.saved_model.load(str(paths["saved_model"]))
    signature = loaded.signatures["reconstruct"]
    lite = {
        key: export.TFLiteModel(paths[key], batch_size=256)
        for key in ("litert_fp32", "litert_fp16", "litert_dynamic", "litert_int8")
    }
    runners = {
        "keras": lambda x: model.predict(x, batch_size=len(x), verbose=0),
        "saved_model": lambda x: signature(x=tf.constant(x))["reconstruction"].numpy(),
    }
    runners.update({key: runner.reconstruct for key, runner in lite.items()})
    return runners


def time_calls(fn, x, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn(x)
    return (time.perf_counter() - start) / calls


def measure(runners, x, repeats, rng):
    """Median seconds per call at batch 1 and batch 256, per runner."""
    x1, x256 = x[:1], np.resize(x, (256,) + x.shape[1:])
    slow = set()
    for key, fn in runners.items():  # warm up: traces, allocations, caches
        fn(x1)
        if time_calls(fn, x256, 1) > 0.5:
            slow.add(key)
    samples = {key: {"b1": [], "b256": []} for key in runners}
    for _ in range(repeats):
        order = list(runners)
        rng.shuffle(order)
        for key in order:
            fn = runners[key]
            # predict (and dynamic-range int8 on convolutions) costs ~1000x more
            # per call: fewer calls keep blocks similar in length.
            few = key == "keras" or key in slow
            samples[key]["b1"].append(time_calls(fn, x1, 3 if few else 50))
            samples[key]["b256"].append(time_calls(fn, x256, 1 if few else 5))
    return {key: {b: float(np.median(v)) for b, v in s.items()} for key, s in samples.items()}


def dir_size(path):
    path = Path(path)
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


# ------------------------------------------------------------------- main
def bench_one(name, model, x, repeats, rng, workdir):
    paths = {
        "saved_model": workdir / f"{name}_savedmodel",
        "litert_fp32": workdir / f"{name}_fp32.tflite",
        "litert_fp16": workdir / f"{name}_fp16.tflite",
        "litert_dynamic": workdir / f"{name}_dynamic.tflite",
        "litert_int8": workdir / f"{name}_int8.tflite",
    }
    reports = {
        "saved_model": export.export_saved_model(model, paths["saved_model"], verify_data=x).report
    }
    refused = []
    for key, quantize in (
        ("litert_fp32", None),
        ("litert_fp16", "float16"),
        ("litert_dynamic", "dynamic"),
        ("litert_int8", "int8"),
    ):
        try:
            reports[key] = export.export_tflite(
                model, paths[key], quantize=quantize, representative_data=x, verify_data=x
            ).report
        except export.ExportVerificationError as err:
            # keras-ae refuses this file; it is still measured, and marked in the tables.
            print(f"{name} {key}: {err}")
            reports[key] = err.report
            refused.append(key)
            export.export_tflite(model, paths[key], quantize=quantize, representative_data=x)
    times = measure(make_runners(model, paths), x, repeats, rng)
    return {
        "name": name,
        "refused": refused,
        "variant": type(model).__name__,
        "network": getattr(model, "network", "mlp"),
        "params": model.count_params(),
        "sizes": {key: dir_size(path) for key, path in paths.items()},
        "reports": reports,
        "times": times,
    }


def kb(n):
    return f"{n / 1024:,.0f}"


def render(results, args, elapsed):
    lines = [
        "# Export benchmark: file size, parity and speed of exported autoencoders",
        "",
        (
            "Written by `scripts/bench_export.py` "
            f"(`python scripts/bench_export.py{' --own' if args.own else ''}`, "
            f"{args.repeats} interleaved repetitions, medians)."
        ),
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs, "
            f"so read the ratios, not the absolute times); TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}, Python {platform.python_version()}. "
            f"Load average at the start: {args.load:.1f}. Whole run: {elapsed / 60:.1f} min."
        ),
        "",
        (
            "Every export was verified on the model's own real test images "
            f"(first {args.samples} of the test split) with `keras_ae.export.verify_export`: "
            f"float32 exports within {export.verify.FLOAT_TOLERANCE:g} max abs error of Keras (the "
            "largest error is in the table), quantized ones with a "
            "reconstruction MSE at most 1.05x the Keras model's."
        ),
        "",
        "## Size and parity",
        "",
        (
            "| model | variant | params | SavedModel KB | LiteRT fp32 KB | fp16 KB | dynamic KB "
            "| int8 KB | int8 / fp32 | fp32 max abs err | MSE Keras | MSE fp16 | MSE dynamic "
            "| MSE int8 | int8 / Keras MSE |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s, rep = r["sizes"], r["reports"]
        ratio = s["litert_int8"] / s["litert_fp32"]
        flag = "" if r["params"] <= 100_000 or ratio <= 0.3 else " (over 0.3!)"
        lines.append(
            f"| {r['name']} | {r['variant']} | {r['params']:,} | {kb(s['saved_model'])} "
            f"| {kb(s['litert_fp32'])} | {kb(s['litert_fp16'])} | {kb(s['litert_dynamic'])} "
            f"| {kb(s['litert_int8'])} "
            f"| {ratio:.2f}{flag} | {rep['litert_fp32'].max_abs_error:.1e} "
            f"| {rep['saved_model'].keras_metric:.5f} | {rep['litert_fp16'].export_metric:.5f} "
            f"| {rep['litert_dynamic'].export_metric:.5f} "
            f"| {rep['litert_int8'].export_metric:.5f} "
            f"| {rep['litert_int8'].export_metric / rep['saved_model'].keras_metric:.3f}"
            f"{' (refused)' if 'litert_int8' in r.get('refused', ()) else ''} |"
        )
    lines += [
        "",
        "## Batch-1 latency (ms per call, lower is better)",
        "",
        "| model | " + " | ".join(LABELS[f] for f in FORMATS) + " | predict / LiteRT fp32 |",
        "|---|" + "---:|" * (len(FORMATS) + 1),
    ]
    for r in results:
        t = r["times"]
        speedup = t["keras"]["b1"] / t["litert_fp32"]["b1"]
        lines.append(
            f"| {r['name']} | "
            + " | ".join(f"{t[f]['b1'] * 1e3:.3f}" for f in FORMATS)
            + f" | {speedup:,.0f}x |"
        )
    lines += [
        "",
        "## Batch-256 throughput (samples per second, higher is better)",
        "",
        "| model | " + " | ".join(LABELS[f] for f in FORMATS) + " |",
        "|---|" + "---:|" * len(FORMATS),
    ]
    for r in results:
        t = r["times"]
        lines.append(
            f"| {r['name']} | " + " | ".join(f"{256 / t[f]['b256']:,.0f}" for f in FORMATS) + " |"
        )
    speedups = [r["times"]["keras"]["b1"] / r["times"]["litert_fp32"]["b1"] for r in results]
    big = [r for r in results if r["params"] > 100_000]
    worst = max((r["sizes"]["litert_int8"] / r["sizes"]["litert_fp32"] for r in big), default=0)
    int8_b1 = [r["times"]["litert_fp32"]["b1"] / r["times"]["litert_int8"]["b1"] for r in results]
    int8_b256 = [
        r["times"]["litert_fp32"]["b256"] / r["times"]["litert_int8"]["b256"] for r in results
    ]
    dyn_b256 = {
        r["name"]: r["times"]["litert_dynamic"]["b256"] / r["times"]["litert_fp32"]["b256"]
        for r in results
    }
    conv = [n for n, r in zip(dyn_b256, results, strict=True) if r["network"] == "conv"]
    mlp = [n for n in dyn_b256 if n not in conv]
    sm_b256 = [r["times"]["keras"]["b256"] / r["times"]["saved_model"]["b256"] for r in results]
    mse = [
        r["reports"]["litert_int8"].export_metric / r["reports"]["saved_model"].keras_metric
        for r in results
    ]
    lines += [
        "",
        "## Reading it",
        "",
        (
            f"- LiteRT fp32 batch-1 latency is {min(speedups):,.0f}x to {max(speedups):,.0f}x "
            "lower than `model.predict` on one sample (the issue asks for at least 10x): "
            "`predict` sets up a data adapter and its loop for every call, LiteRT invokes a "
            "prepared graph."
        ),
        (
            f"- int8 files are at most {worst:.2f}x their float32 file for the {len(big)} "
            "models over 100k parameters (the issue asks for at most 0.3x), with a "
            f"reconstruction MSE {min(mse):.3f}x to {max(mse):.3f}x the Keras model's."
            + "".join(
                f" Refused by verification (past its tolerance; `keras-ae export` fails "
                f"with the numbers, the file is measured here anyway): {r['name']} "
                f"{', '.join(k.replace('litert_', '') for k in r['refused'])}."
                for r in results
                if r.get("refused")
            )
        ),
        (
            f"- LiteRT int8 vs fp32 speed (fp32 time / int8 time, above 1 means int8 is "
            f"faster): batch 1 median {np.median(int8_b1):.2f}x "
            f"(range {min(int8_b1):.2f}-{max(int8_b1):.2f}), batch 256 median "
            f"{np.median(int8_b256):.2f}x (range {min(int8_b256):.2f}-{max(int8_b256):.2f})."
        ),
        (
            "- Dynamic-range int8 (int8 weights, float activations) vs fp32 at batch 256 "
            "(dynamic time / fp32 time, above 1 means dynamic is slower): "
            + "; ".join(
                f"{kind} models {min(v):.2f}x to {max(v):.2f}x"
                for kind, names in (("convolutional", conv), ("MLP", mlp))
                if names
                for v in [[dyn_b256[n] for n in names]]
            )
            + ": for convolutions this mode is far slower here, and `export_tflite`'s "
            'docstring points convolutional models to `"int8"` or `"float16"`.'
        ),
        (
            f"- The SavedModel's `reconstruct` signature, called directly, is "
            f"{np.median(sm_b256):.1f}x (median) the throughput of `predict` at batch 256: "
            "the same TensorFlow kernels without `predict`'s per-call machinery."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    args.load = os.getloadavg()[0]
    start = time.perf_counter()
    rng = random.Random(0)
    keras.utils.set_random_seed(0)
    use_zoo = not args.own
    if use_zoo:
        try:
            from keras_ae import zoo

            use_zoo = bool(args.models or zoo.list_models())
        except ImportError:
            use_zoo = False
        if not use_zoo:
            print("no zoo entries found: benchmarking small models trained here", flush=True)
            args.own = True
    models = (
        zoo_models(args.models, args.data_dir, args.samples)
        if use_zoo
        else own_models(args.data_dir, args.samples)
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_export_") as tmp:
        for name, model, x in models:
            t0 = time.perf_counter()
            results.append(bench_one(name, model, x, args.repeats, rng, Path(tmp)))
            t = results[-1]["times"]
            print(
                f"{name}: predict b1 {t['keras']['b1'] * 1e3:.2f} ms, LiteRT fp32 b1 "
                f"{t['litert_fp32']['b1'] * 1e3:.3f} ms ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
            keras.backend.clear_session()
    text = render(results, args, time.perf_counter() - start)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
