"""`keras-ae demo`: figures and a metrics table from zoo models on MNIST.

`run_demo` loads five zoo entries (`DEMO_MODELS`), writes reconstruction,
denoising, VAE sample, manifold, interpolation and code figures into a
folder, and prints MSE, PSNR and likelihood figures beside the cards'. An
explicit `data_dir` without MNIST is an error before any figure; with no
`data_dir` and no MNIST to be found, only the two VAE figures are drawn.
"""

import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_ae import corruption, datasets, zoo
from keras_ae.cli.zoo import card_value, fmt
from keras_ae.zoo import protocols as zm

DEMO_MODELS = {
    "reconstruction": "deep_ae30_mnist",
    "denoising": "dae500_dropout_mnist",
    "denoising_baseline": "ae500_mnist",
    "vae": "vae50_mnist",
    "vae2d": "vae2_mnist",
}


def add_parser(sub):
    """Adds `demo` to the `keras-ae` subparsers `sub`."""
    p = sub.add_parser("demo", help="figures and metrics from zoo models on MNIST")
    p.add_argument("--out", default="keras_ae_demo")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--limit", type=int, default=2000, help="test images used for metrics")
    p.set_defaults(fn=cmd_demo)


def cmd_demo(args):
    return run_demo(out=args.out, data_dir=args.data_dir, limit=args.limit)


def run_demo(out="keras_ae_demo", data_dir=None, limit=2000, seed=0):
    """Loads zoo models, writes a folder of figures and prints a metrics table.

    Args:
        out: the folder for the figures.
        data_dir: where MNIST is; a folder without it is an error raised
            before any figure is drawn. Default: `KERAS_AE_DATA_DIR`, the
            Keras cache, or a download when online, and without any of them
            only the VAE figures.
        limit: how many test images the metrics use.
        seed: seed of the corruption and of the samples.

    Returns:
        0 (the exit code).

    Example:
        >>> from keras_ae.cli import run_demo
        >>> run_demo("keras_ae_demo", data_dir="../shared/data")  # doctest: +SKIP
    """
    from keras_ae import plotting  # matplotlib: loaded only for the demo

    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 2:
        raise ValueError(
            f"limit must be an integer >= 2 (the interpolation figure takes two "
            f"test images), got {limit!r}"
        )
    tf.get_logger().setLevel("ERROR")  # retracing notices for the odd batch sizes
    start = time.time()
    mnist = None
    if data_dir is not None:  # an explicit folder is authoritative: no figure without it
        if not Path(data_dir).is_dir():
            raise datasets.DatasetNotFoundError(f"data_dir {data_dir}: no such folder")
        try:
            mnist = datasets.load_mnist(data_dir)
        except datasets.DatasetNotFoundError as e:
            raise datasets.DatasetNotFoundError(
                f"data_dir {data_dir} holds no MNIST: {e}"
            ) from None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    vae = zoo.load(DEMO_MODELS["vae"])
    zm.reseed(vae, seed)
    written.append(
        plotting.save_samples(
            vae.sample(64),
            out / "vae_samples.png",
            title=f"64 samples from {DEMO_MODELS['vae']}",
            cols=8,
        )
    )
    vae2 = zoo.load(DEMO_MODELS["vae2d"])
    written.append(
        plotting.save_manifold(
            vae2,
            out / "vae_2d_manifold.png",
            n=20,
            title=f"decoded 2-D latent manifold of {DEMO_MODELS['vae2d']}",
        )
    )
    try:
        (_, _), (x_test, y_test) = mnist or datasets.load_mnist()
    except (datasets.DatasetNotFoundError, datasets.DatasetError) as e:
        print(f"MNIST not available ({str(e).splitlines()[0]})")
        print(
            "Only the VAE samples and manifold were drawn. To get the data, put the four "
            "MNIST .gz files in DIR/mnist/ and run `keras-ae demo --data-dir DIR` (or set "
            "KERAS_AE_DATA_DIR), or run once with internet access to download them."
        )
        _print_written(written, start)
        return 0
    x = zm.prepare(x_test[:limit], {"scale": "unit", "layout": "flat"})
    rows = []

    ae = zoo.load(DEMO_MODELS["reconstruction"])
    written.append(
        plotting.save_reconstructions(
            x[:12],
            ae.reconstruct(x[:12]),
            out / "reconstructions.png",
            title=f"test images (top), {DEMO_MODELS['reconstruction']} reconstructions (bottom)",
        )
    )
    rows.append(
        (
            DEMO_MODELS["reconstruction"],
            "test MSE per pixel",
            zm.mse(ae, x, {}),
            card_value(DEMO_MODELS["reconstruction"], "test_mse"),
        )
    )

    dae = zoo.load(DEMO_MODELS["denoising"])
    base = zoo.load(DEMO_MODELS["denoising_baseline"])
    # The same mask as the cards' denoised_psnr and corrupted_psnr (rate, int seed).
    noisy = keras.ops.convert_to_numpy(corruption.dropout_mask(x, 0.5, seed=seed))
    written.append(
        plotting.save_rows(
            [x[:12], noisy[:12], dae.reconstruct(noisy[:12]), base.reconstruct(noisy[:12])],
            ["clean", "masked", "denoising AE", "plain AE"],
            out / "denoising.png",
            title="dropout mask p=0.5: the denoising AE vs the plain over-complete AE",
        )
    )
    rows.append(
        (
            "(corrupted input)",
            "PSNR of masked images, dB",
            zm.corrupted_psnr(None, x, {}, rate=0.5, seed=seed),
            card_value(DEMO_MODELS["denoising_baseline"], "corrupted_psnr"),
        )
    )
    for name, model in ((DEMO_MODELS["denoising"], dae), (DEMO_MODELS["denoising_baseline"], base)):
        rows.append(
            (
                name,
                "PSNR after denoising, dB",
                zm.denoised_psnr(model, x, {}, rate=0.5, seed=seed),
                card_value(name, "denoised_psnr"),
            )
        )

    xb = zm.static_binarize(x, 123)
    rows.append(
        (
            DEMO_MODELS["vae"],
            f"log-likelihood, k=100, {min(limit, 200)} images",
            zm.log_likelihood(vae, x[:200], {}, k=100, n=None, seed=seed),
            None,
        )
    )
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(3):
        i, j = rng.choice(len(x), 2, replace=False)
        pairs.append((x[i], x[j]))
    written.append(plotting.save_interpolation(vae, pairs, out / "interpolation.png"))
    written.append(
        plotting.save_codes(
            vae2.encode(xb),
            y_test[: len(x)],
            out / "vae_2d_codes.png",
            title=f"test codes of {DEMO_MODELS['vae2d']}",
        )
    )

    print(f"\nmetrics on the first {len(x)} MNIST test images:")
    print(f"{'model':<24} {'metric':<34} {'here':>10} {'card (10k)':>11}")
    for name, what, value, card in rows:
        card_text = "" if card is None else fmt(card)
        print(f"{name:<24} {what:<34} {fmt(value):>10} {card_text:>11}")
    _print_written(written, start)
    return 0


def _print_written(written, start):
    print(f"\nwrote {len(written)} figures in {time.time() - start:.0f} s:")
    for path in written:
        print(f"  {path}")
