"""Rate-distortion of the VQ-VAE against a conv AE and PCA at equal bits per image.

At each code size the VQ-VAE's image costs `h * w * log2(K)` bits. The
baselines get at least as many: `m = ceil(bits / 8)` code values, each
quantised to 8 bits (256 uniform levels between the value's min and max over
the training codes, test codes clipped into that range): PCA with `m`
components (fitted on the 60,000 training images, float64) and a conv AE
(stride-2 Conv 32-64, dense code of `m` units). The VQ-VAEs and conv AEs are
trained here with one recipe (Adam 2e-3, batch 128, `--epochs` epochs on
50,000 training images); the other 10,000 are the validation split on which
each model's epoch is chosen (the checkpoint of lowest validation MSE). The
test split is scored once: mean per-image PSNR (peak 1), outputs clipped to
[0, 1]. Bar (issue 27): the VQ-VAE's PSNR above 8-bit PCA's at every size,
on MNIST and Fashion-MNIST. Also reports the VQ-VAE's test perplexity.

Writes docs/results/vqvae.md, vqvae_rd.png (PSNR against bits per image) and
vqvae_reconstructions.png (outputs only: the datasets' own images are not
redistributed).

Each (dataset, size) is one piece, trained from its own seed and saved under
`--pieces` when done; `--dataset` and `--size` run some of them (about 10
minutes each on a loaded 2-core CPU), and the page is written once every
piece of the same `--epochs` and `--limit` is in that folder. Without them,
every piece runs.

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/vq_rate_distortion.py
    # or in pieces, the last one writing the page:
    ... vq_rate_distortion.py --dataset mnist --size "4x4, K=256"
"""

import argparse
import json
import math
from pathlib import Path

import _common
import keras
import numpy as np

from keras_ae import datasets
from keras_ae.models import VQVAE, ConvAutoencoder
from keras_ae.tasks import psnr
from keras_ae.zoo import protocols as zp

#: label -> VQVAE arguments (beyond input_shape and latent_dim=16). The 4x4
#: network uses ELU: with ReLU it (and a plain ConvAutoencoder of the same
#: three stride-2 layers and conv code) collapsed to one output for every
#: image in its first epoch (training loss stuck at 87 on 4,096 MNIST
#: training images, at any learning rate from 5e-4, with EMA or gradient
#: codebooks); the two-layer ReLU networks train.
SIZES = {
    "4x4, K=256": dict(filters=(32, 64, 64), num_codes=256, activation="elu"),
    "7x7, K=16": dict(filters=(32, 64), num_codes=16),
    "7x7, K=256": dict(filters=(32, 64), num_codes=256),
}
DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def mean_psnr(clean, recon):
    return float(np.mean(psnr(clean, np.clip(recon, 0.0, 1.0), reduction="none")))


class BestOnValidation(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the lowest validation reconstruction loss."""

    def __init__(self):
        super().__init__()
        self.best, self.weights, self.epoch = math.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_reconstruction_loss"] < self.best:
            self.best, self.epoch = logs["val_reconstruction_loss"], epoch + 1
            self.weights = self.model.get_weights()


def train(model, fit, val, epochs):
    _common.seed_all(0)
    ds = datasets.make_dataset(fit, batch_size=128, shuffle=True, seed=0, drop_remainder=True)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    best = BestOnValidation()
    model.fit(ds, epochs=epochs, validation_data=(val,), callbacks=[best], verbose=2)
    model.set_weights(best.weights)
    return best.epoch


def run(dataset, label, epochs, limit=None):
    """One piece: the VQ-VAE of size `label`, its conv AE and PCA on `dataset`.

    Returns the table row and the first 8 test reconstructions of each."""
    data = _common.data_dir()
    train_raw = zp.load_split(dataset, "train", data)[0]
    x_train = (train_raw / np.float32(255))[..., None]
    x_test = (zp.load_split(dataset, "test", data)[0] / np.float32(255))[..., None]
    val_idx, fit_idx = _common.validation_split(len(x_train), fraction=1 / 6)
    fit, val = x_train[fit_idx[:limit]], x_train[val_idx]
    mean, vectors = zp.pca_basis(dataset, data)
    flat_train = x_train.reshape(len(x_train), -1).astype(np.float64) - mean
    flat_test = x_test.reshape(len(x_test), -1).astype(np.float64) - mean
    size = SIZES[label]
    _common.seed_all(0)  # each piece from its own seed: pieces run alone or together agree
    vq = VQVAE(input_shape=(28, 28, 1), latent_dim=16, seed=0, **size)
    bits = vq.bits_per_image
    m = math.ceil(bits / 8)
    with _common.Timer() as t_vq:
        vq_epoch = train(vq, fit, val, epochs)
    vq_out = vq.reconstruct(x_test)
    perplexity, _ = vq.code_usage(x_test)

    basis = vectors[:, -m:]
    coeffs = _common.quantize_8bit(flat_train @ basis, flat_test @ basis)
    pca_out = (coeffs @ basis.T + mean).reshape(x_test.shape)

    _common.seed_all(0)
    ae = ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=m, filters=(32, 64), seed=0)
    with _common.Timer() as t_ae:
        ae_epoch = train(ae, fit, val, epochs)
    codes = _common.quantize_8bit(ae.encode(x_train), ae.encode(x_test)).astype(np.float32)
    ae_out = ae.decode(codes)

    scores = [mean_psnr(x_test, out) for out in (vq_out, ae_out, pca_out)]
    row = [label, round(bits), m * 8, *scores, perplexity, size["num_codes"], vq_epoch, ae_epoch]
    print(row, f"(VQ {t_vq.seconds:.0f} s, AE {t_ae.seconds:.0f} s)", flush=True)
    return row, [np.asarray(out[:8], np.float32) for out in (vq_out, ae_out, pca_out)]


def _piece_path(folder, dataset, label):
    slug = label.replace(", ", "_").replace("=", "").replace(" ", "")
    return Path(folder) / f"{dataset}_{slug}.npz"


def save_piece(folder, dataset, label, settings, row, shown):
    from keras_ae.utils.files import atomic_output

    path = _piece_path(folder, dataset, label)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as staged, open(staged, "wb") as f:
        meta = {"settings": settings, "size": SIZES[label], "row": row}
        np.savez(f, meta=json.dumps(meta), shown=np.stack(shown))
    print(f"saved piece {path}", flush=True)


def load_pieces(folder, settings):
    """`{dataset: (rows, shown)}` when every piece of `settings` (and of the
    sizes as `SIZES` defines them now) is in `folder`, else None (naming the
    missing ones)."""
    results, missing = {}, []
    for dataset in DATASETS:
        rows, shown = [], {}
        for label in SIZES:
            path = _piece_path(folder, dataset, label)
            meta = None
            if path.is_file():
                with np.load(path) as saved:
                    meta = json.loads(str(saved["meta"]))
                    outs = list(saved["shown"])
            size = json.loads(json.dumps(SIZES[label]))  # (tuples read back as lists)
            if meta is None or meta["settings"] != settings or meta.get("size") != size:
                missing.append(f"{dataset} {label!r}")
                continue
            rows.append(meta["row"])
            shown[label] = outs
        results[dataset] = (rows, shown)
    if missing:
        print(f"not writing the page yet: no piece with {settings} for {', '.join(missing)}")
        return None
    return results


def zoo_split(meta, split, n=None):
    """A zoo entry's dataset split (its first `n` images), prepared as its card says."""
    images = zp.load_split(meta["dataset"], split, _common.data_dir())[0][:n]
    return zp.prepare(images, meta.get("preprocessing") or {})


def top_codes_share(name, top=3):
    """The share of the positions of the zoo entry `name`'s test code maps
    that its `top` most frequent codes fill."""
    from keras_ae import zoo

    model = zoo.load(name)
    codes = np.asarray(model.encode(zoo_split(zoo.info(name), "test"))).ravel()
    counts = np.bincount(codes, minlength=model.num_codes)
    return float(np.sort(counts)[-top:].sum() / counts.sum())


def zoo_int8():
    """Rows for the zoo's VQ-VAEs exported to LiteRT int8 (encoder and full
    model), verified as `export_tflite` verifies every int8 file, here on all
    10,000 test images and calibrated on the first 1,000 training images: with
    the nearest-code search kept in float32 (what `export_tflite` writes) and,
    for comparison, searched in int8 (what it wrote before)."""
    import tempfile

    from keras_ae import export, zoo
    from keras_ae.export.verify import ExportVerificationError

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in ("vqvae_mnist", "vqvae_fashion"):
            model, meta = zoo.load(name), zoo.info(name)
            x_train, x_test = zoo_split(meta, "train", 1000), zoo_split(meta, "test")
            for search, float_ops in (("float32", model.INT8_FLOAT_OPS), ("int8", ())):
                model.INT8_FLOAT_OPS = float_ops  # (on this instance only)
                for part in ("encoder", "full"):
                    try:
                        report = export.export_tflite(
                            model,
                            Path(folder) / f"{name}_{part}_{search}.tflite",
                            part=part,
                            quantize="int8",
                            representative_data=x_train,
                            verify_data=x_test,
                        ).report
                    except ExportVerificationError as err:
                        report = err.report
                    agree = "-" if report.code_agreement is None else report.code_agreement
                    ratio = report.export_metric / report.keras_metric
                    rows.append(
                        [name, part, search, report.keras_metric, report.export_metric]
                        + [f"{ratio:.4f}", agree if agree == "-" else f"{agree:.2%}"]
                        + ["passed" if report.passed else "failed"]
                    )
                    print(rows[-1], flush=True)
    return rows


def figures(results):
    plt = _common.pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.8))
    for ax, (dataset, (rows, _)) in zip(np.atleast_1d(axes), results.items(), strict=True):
        for i, name, style in (
            (3, "VQ-VAE", "o-"),
            (4, "conv AE, 8-bit", "s--"),
            (5, "PCA, 8-bit", "^:"),
        ):
            bits = [r[1] if i == 3 else r[2] for r in rows]
            ax.plot(bits, [r[i] for r in rows], style, label=name)
        ax.set(title=DATASETS[dataset], xlabel="bits per image", ylabel="test PSNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    _common.save_figure(fig, "vqvae_rd")

    n_rows = sum(3 * len(shown) for _, shown in results.values())
    fig, axes = plt.subplots(n_rows, 8, figsize=(8, n_rows * 1.05))
    r = 0
    for dataset, (_, shown) in results.items():
        for label, outs in shown.items():
            for name, out in zip(("VQ-VAE", "AE 8-bit", "PCA 8-bit"), outs, strict=True):
                for c in range(8):
                    axes[r, c].imshow(np.clip(out[c, ..., 0], 0, 1), cmap="gray", vmin=0, vmax=1)
                    axes[r, c].axis("off")
                axes[r, 0].set_title(
                    f"{DATASETS[dataset]} {label}: {name}", fontsize=7, loc="left", pad=2
                )
                r += 1
    fig.tight_layout()
    _common.save_figure(fig, "vqvae_reconstructions")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="fit images (smoke tests only)")
    parser.add_argument(
        "--dataset", action="append", choices=list(DATASETS), help="run this dataset's pieces"
    )
    parser.add_argument("--size", action="append", choices=list(SIZES), help="run this size's")
    parser.add_argument(
        "--page-only",
        action="store_true",
        help="train nothing: write the page from the pieces saved (and the zoo's int8 exports)",
    )
    parser.add_argument(
        "--pieces",
        default=str(_common.REPO / "build" / "vq_rate_distortion"),
        help="folder of finished pieces (default: build/vq_rate_distortion)",
    )
    args = parser.parse_args(argv)
    settings = {"epochs": args.epochs, "limit": args.limit}
    for dataset in [] if args.page_only else args.dataset or DATASETS:
        for label in args.size or SIZES:
            row, shown = run(dataset, label, args.epochs, args.limit)
            save_piece(args.pieces, dataset, label, settings, row, shown)
    results = load_pieces(args.pieces, settings)
    if results is None:
        return
    header = [
        "code",
        "VQ bits",
        "AE/PCA bits",
        "VQ-VAE PSNR",
        "conv AE 8-bit PSNR",
        "PCA 8-bit PSNR",
        "VQ perplexity",
        "K",
        "perplexity / K",
        "VQ epoch",
        "AE epoch",
    ]
    body = [
        "VQ-VAE (`keras_ae.models.VQVAE`, 16-d codebook vectors, EMA codebook) against a conv "
        "AE and PCA given at least as many bits per image: `ceil(bits / 8)` code values at 8 "
        "bits each. Mean per-image PSNR (dB, peak 1, outputs clipped to [0, 1]) on the 10,000 "
        f"test images; models trained {args.epochs} epochs on "
        f"{'50,000' if args.limit is None else f'{args.limit:,} (a smoke run)'} training images, "
        "the epoch of lowest validation MSE (10,000 held-out training images) kept; the test "
        "split chooses nothing. Regenerate (about an hour on a loaded 2-core CPU; each "
        "`--dataset D --size S` piece runs alone, about 10 minutes, and the run that completes "
        "the set writes the page):",
        "",
        "```bash",
        "KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/vq_rate_distortion.py"
        + ("" if args.epochs == 2 else f" --epochs {args.epochs}")
        + ("" if args.limit is None else f" --limit {args.limit}"),
        "```",
        "",
        "![PSNR against bits per image](vqvae_rd.png)",
    ]
    met, low = True, []
    for dataset, (rows, _) in results.items():
        met = met and all(r[3] > r[5] for r in rows)
        shown = [[*r[:8], f"{r[6] / r[7]:.0%}", *r[8:]] for r in rows]
        low += [f"{DATASETS[dataset]} {r[0]} ({r[6] / r[7]:.0%})" for r in rows if r[6] < r[7] / 4]
        body += ["", f"## {DATASETS[dataset]}", "", _common.markdown_table(header, shown, "{:.2f}")]
    pieces = sum(len(rows) for rows, _ in results.values())
    body += [
        "",
        f"Bar (issue 27), VQ-VAE PSNR above 8-bit PCA's at every size on both datasets: "
        f"**{'met' if met else 'not met'}**.",
        "",
        "Bar (issue 27), codebook perplexity on the test split at least 25% of K: "
        + (
            f"**met** by all {pieces} models."
            if not low
            else f"**met by {pieces - len(low)} of {pieces}**; under it: {', '.join(low)}. "
            "Perplexity counts every position of the code map, and much of an MNIST digit's "
            "map is blank background, coded by a few codes: in the zoo's `vqvae_mnist` (7x7, "
            f"K=64), the 3 most frequent codes fill {top_codes_share('vqvae_mnist'):.0%} of "
            "the test maps' positions."
        ),
        "",
        "Reconstructions of the first 8 test images at each size (outputs only): "
        "[vqvae_reconstructions.png](vqvae_reconstructions.png).",
        "",
        "## LiteRT int8: the zoo's VQ-VAEs",
        "",
        "`export.export_tflite(model, path, part=..., quantize='int8', representative_data=..., "
        "verify_data=...)` of `vqvae_mnist` and `vqvae_fashion` (no training here): calibrated "
        "on the first 1,000 training images, verified on all 10,000 test images as every int8 "
        "export is (reconstruction MSE at most 1.05x the Keras model's; an encoder's codes are "
        "decoded by the Keras decoder). The convolutions run in int8; the nearest-code search "
        "(distances to the codebook, argmin) runs in float32 on the dequantized grid, which "
        "`export_tflite` writes (`VQVAE.INT8_FLOAT_OPS`); the `int8` rows search on 8-bit "
        "distances, as it did before, for comparison. Codes agreeing: the share of the "
        "test images' code-map entries equal to the Keras model's.",
        "",
        _common.markdown_table(
            ["entry", "part", "search", "Keras MSE", "int8 MSE", "ratio", "codes agreeing", ""],
            zoo_int8(),
            "{:.6f}",
        ),
    ]
    figures(results)
    _common.write_result("vqvae", "VQ-VAE: rate and distortion", "\n".join(body))


if __name__ == "__main__":
    main()
