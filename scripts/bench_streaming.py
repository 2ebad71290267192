"""Image sources: streaming memory and input speed (issue 25's bars).

(a) Streaming: generates an image folder of at least 2 GB (128x128 RGB PNGs of
    noise with a shape, so they do not compress to nothing) in a fresh folder
    under --dir, trains a `ConvAutoencoder(input_shape=(128, 128, 3))` for one
    epoch streaming from it with ``make_dataset("images:DIR")``, and reports the
    process's peak resident memory (bar: under 2.5 GB) and samples/s, next to
    the same model training on a subset held in memory (a uint8 array through
    ``make_dataset(x)``), measured after the streaming epoch so the array does
    not count towards the streaming peak. Deletes the folder it made.
(b) Input speed on 32x32x3: the image-folder pipeline (``"cifar10_jpeg"``:
    CIFAR-10 (JPEG) train, 50,000 JPEGs from the extracted folder) and the tfds
    pipeline (``tfds.folder_dataset.ImageFolder`` over the same folder) just
    iterated, against a `ConvAutoencoder(input_shape=(32, 32, 3))`'s training
    samples/s (bar: pipelines >= 3x faster).

Writes docs/benchmarks/input_sources.md.

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/bench_streaming.py
    python scripts/bench_streaming.py --dir /big/tmp --count 42000 --memory-count 2000
"""

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from keras_ae import datasets, models  # noqa: E402

PER_FOLDER = 1000


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # KiB on Linux


def generate(root, count, size, seed=0):
    """`count` PNGs in sub-folders of PER_FOLDER: uniform noise with a flat
    rectangle of random colour; returns bytes written. Encoded in parallel by tf.data."""

    def make(i):
        g = tf.random.stateless_uniform([size, size, 3], seed=[seed, i], maxval=256, dtype=tf.int32)
        box = tf.random.stateless_uniform([4], seed=[seed + 1, i], maxval=size // 2, dtype=tf.int32)
        yy, xx = tf.meshgrid(tf.range(size), tf.range(size), indexing="ij")
        inside = (
            (yy >= box[0]) & (yy < box[0] + box[2]) & (xx >= box[1]) & (xx < box[1] + box[3])
        )[..., None]
        colour = tf.random.stateless_uniform([3], seed=[seed + 2, i], maxval=256, dtype=tf.int32)
        image = tf.where(inside, colour, g)
        return tf.io.encode_png(tf.cast(image, tf.uint8))

    total = 0
    ds = tf.data.Dataset.range(count).map(make, num_parallel_calls=tf.data.AUTOTUNE)
    for i, png in enumerate(ds.as_numpy_iterator()):
        sub = root / f"part{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            sub.mkdir()
        (sub / f"{i:06d}.png").write_bytes(png)
        total += len(png)
    return total


def conv_ae(size, filters):
    keras.utils.set_random_seed(0)
    model = models.ConvAutoencoder(input_shape=(size, size, 3), latent_dim=64, filters=filters)
    model.compile(optimizer="adam")
    return model


def timed_fit(model, ds, n):
    t = time.perf_counter()
    hist = model.fit(ds, epochs=1, verbose=0, shuffle=False)  # ds shuffles itself
    return n / (time.perf_counter() - t), hist.history["loss"][-1]


def iterate(ds):
    n, t = 0, time.perf_counter()
    for b in ds:
        n += int(b.shape[0])
    return n / (time.perf_counter() - t)


def streaming(args):
    base = Path(args.dir) if args.dir else None
    work = Path(tempfile.mkdtemp(prefix="keras_ae_stream_", dir=base))  # ours to delete
    try:
        t = time.perf_counter()
        nbytes = generate(work, args.count, 128)
        gen_s = time.perf_counter() - t
        print(f"generated {args.count} PNGs, {nbytes / 1e9:.2f} GB in {gen_s:.0f} s", flush=True)
        if nbytes < 2e9 and not args.allow_small:
            raise SystemExit(f"the folder holds {nbytes / 1e9:.2f} GB < 2 GB: raise --count")
        model = conv_ae(128, args.filters)
        rss_before = peak_rss_gb()
        t = time.perf_counter()
        ds = datasets.make_dataset(f"images:{work}", batch_size=args.batch_size, seed=0)
        check_s = time.perf_counter() - t  # the up-front decode of every file
        model.fit(ds.take(2), epochs=1, verbose=0, shuffle=False)  # build, trace
        stream_sps, stream_loss = timed_fit(model, ds, args.count)
        stream_peak = peak_rss_gb()
        print(f"streaming: {stream_sps:.1f} samples/s, peak RSS {stream_peak:.2f} GB", flush=True)
        parts = sorted(work.iterdir())[: max(1, args.memory_count // PER_FOLDER)]
        x = np.concatenate(
            [(datasets.load(f"images:{p}") * 255).round().astype(np.uint8) for p in parts]
        )[: args.memory_count]
        mem_ds = datasets.make_dataset(x, batch_size=args.batch_size, seed=0)
        model.fit(mem_ds.take(2), epochs=1, verbose=0, shuffle=False)
        mem_sps, mem_loss = timed_fit(model, mem_ds, len(x))
        print(f"in memory: {mem_sps:.1f} samples/s on {len(x)}", flush=True)
        return dict(
            count=args.count,
            gb=nbytes / 1e9,
            gen_s=gen_s,
            check_s=check_s,
            rss_before=rss_before,
            stream_peak=stream_peak,
            stream_sps=stream_sps,
            stream_loss=stream_loss,
            mem_n=len(x),
            mem_sps=mem_sps,
            mem_loss=mem_loss,
            mem_gb=x.nbytes / 1e9,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def input_speed(args):
    import tensorflow_datasets as tfds

    from keras_ae.datasets.cifar import extracted_cifar10_jpeg

    folder = extracted_cifar10_jpeg(args.data_dir)
    kw = dict(batch_size=args.small_batch_size, seed=0)
    t = time.perf_counter()
    images = datasets.make_dataset("cifar10_jpeg", data_dir=args.data_dir, **kw)
    check_s = time.perf_counter() - t
    iterate(images.take(20))  # warm-up: threads, file cache
    folder_sps = iterate(images)
    builder = tfds.folder_dataset.ImageFolder(str(folder), shape=(32, 32, 3))
    tfds_ds = datasets.make_dataset(builder, split="train", **kw)
    iterate(tfds_ds.take(20))
    tfds_sps = iterate(tfds_ds)
    model = conv_ae(32, (32, 64))
    (x, _), _ = datasets.load_cifar10_jpeg(args.data_dir)
    train = datasets.make_dataset(x[: args.train_count], **kw)
    model.fit(train.take(2), epochs=1, verbose=0, shuffle=False)
    fit_sps, loss = timed_fit(model, train, min(len(x), args.train_count))
    return dict(
        folder_sps=folder_sps,
        tfds_sps=tfds_sps,
        fit_sps=fit_sps,
        fit_loss=loss,
        check_s=check_s,
        train_count=min(len(x), args.train_count),
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=None, help="parent of the generated folder (default /tmp)")
    p.add_argument("--count", type=int, default=45_000, help="128x128 PNGs to generate")
    p.add_argument("--memory-count", type=int, default=3_000, help="images held in memory")
    p.add_argument("--filters", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--small-batch-size", type=int, default=128)
    p.add_argument("--train-count", type=int, default=10_000, help="32x32 images trained on")
    p.add_argument("--data-dir", default=os.environ.get("KERAS_AE_DATA_DIR"))
    p.add_argument("--allow-small", action="store_true", help="for a quick try under 2 GB")
    p.add_argument(
        "--skip-streaming",
        action="store_true",
        help="reuse the streaming figures saved in --streaming-json by an earlier run",
    )
    p.add_argument(
        "--streaming-json",
        default=str(ROOT / "docs" / "benchmarks" / "input_sources_streaming.json"),
    )
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "input_sources.md"))
    args = p.parse_args(argv)

    # Streaming first: ru_maxrss is the process's peak, which later in-memory arrays raise.
    if args.skip_streaming:
        s = json.loads(Path(args.streaming_json).read_text())
        args.count, args.memory_count = s["count"], s["mem_n"]
    else:
        s = streaming(args)
        Path(args.streaming_json).write_text(json.dumps(s, indent=1))
    print(s, flush=True)
    speed = input_speed(args)
    print(speed, flush=True)
    gpus = tf.config.list_physical_devices("GPU")
    machine = (
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores visible, "
        f"{f'{len(gpus)} GPU' if gpus else 'CPU only'}; TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}; shared with other jobs, so absolute figures are rough."
    )
    lines = [
        "# Image sources: streaming memory and input speed",
        "",
        "Written by `scripts/bench_streaming.py` (command: "
        f"`KERAS_AE_DATA_DIR=../shared/data python scripts/bench_streaming.py "
        f"--count {args.count} --memory-count {args.memory_count}`), one run.",
        "",
    ]
    if s is not None:
        f = ", ".join(map(str, args.filters))
        lines += [
            "## Streaming an image folder larger than memory allows for",
            "",
            f"{s['count']:,} generated 128x128 RGB PNGs (noise with a flat rectangle), "
            f"{s['gb']:.2f} GB on disk, generated in {s['gen_s']:.0f} s and deleted after. "
            f"`ConvAutoencoder(input_shape=(128, 128, 3), latent_dim=64, filters=({f}))`, "
            f'batch {args.batch_size}, one epoch, `make_dataset("images:DIR")` (file list -> '
            "shuffle -> map(read + decode, AUTOTUNE) -> batch -> prefetch). The up-front "
            "check that decodes every file once (unreadable files, sizes) took "
            f"{s['check_s']:.0f} s.",
            "",
            *(
                [
                    f"Streaming figures from an earlier run (`--skip-streaming` reused "
                    f"`{Path(args.streaming_json).name}`).",
                    "",
                ]
                if args.skip_streaming
                else []
            ),
            "| what | value |",
            "|---|---:|",
            f"| peak resident memory of the process after the streamed epoch (ru_maxrss) | "
            f"**{s['stream_peak']:.2f} GB** (bar: < 2.5 GB; {s['rss_before']:.2f} GB before the "
            "pipeline was built) |",
            f"| streamed from disk, samples/s (final loss {s['stream_loss']:.1f}) | "
            f"{s['stream_sps']:,.1f} |",
            f"| the same model on {s['mem_n']:,} of the images held in memory as uint8 "
            f"({s['mem_gb']:.2f} GB), samples/s (loss {s['mem_loss']:.1f}) | {s['mem_sps']:,.1f} |",
            f"| streamed / in memory | {s['stream_sps'] / s['mem_sps']:.2f}x |",
            "",
        ]
    lines += [
        "## Input speed against training, 32x32x3",
        "",
        "CIFAR-10 (JPEG) train (50,000 JPEG files extracted from "
        "`cifar10_jpeg/cifar-10-images.tar.gz`), batch "
        f"{args.small_batch_size}, shuffled, iterated once with no model. Training: "
        "`ConvAutoencoder(input_shape=(32, 32, 3), latent_dim=64)` (filters 32-64), "
        f"`fit` for one epoch on {speed['train_count']:,} CIFAR-10 (JPEG) images in memory.",
        "",
        "| what | samples/s | / training |",
        "|---|---:|---:|",
        f'| `make_dataset("cifar10_jpeg")` (image-folder code, streamed) | '
        f"{speed['folder_sps']:,.0f} | **{speed['folder_sps'] / speed['fit_sps']:.1f}x** |",
        f'| `make_dataset(tfds.folder_dataset.ImageFolder(dir), split="train")` (tfds) | '
        f"{speed['tfds_sps']:,.0f} | **{speed['tfds_sps'] / speed['fit_sps']:.1f}x** |",
        f"| conv AE training (`fit`, final loss {speed['fit_loss']:.1f}) | "
        f"{speed['fit_sps']:,.0f} | 1.0x |",
        "",
        f"Bar: both pipelines >= 3x the training rate. The image folder's up-front check "
        f"(decoding all 50,000 files once) took {speed['check_s']:.1f} s.",
        "",
        machine,
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    failed = []
    if s is not None and s["stream_peak"] >= 2.5:
        failed.append(f"peak RSS {s['stream_peak']:.2f} GB >= 2.5 GB")
    for k in ("folder_sps", "tfds_sps"):
        if speed[k] < 3 * speed["fit_sps"]:
            failed.append(f"{k} {speed[k]:.0f} < 3x training {speed['fit_sps']:.0f}")
    if failed:
        raise SystemExit("; ".join(failed))


if __name__ == "__main__":
    main()
