"""CIFAR-10 (JPEG): the zoo's convolutional autoencoders against PCA with the
same number of code values (components fitted on the 50,000 training images).

Both are scored on all 10,000 test images: per-pixel MSE, mean per-image PSNR
and SSIM (`keras_ae.tasks.psnr` / `ssim`), outputs clipped to [0, 1] for
PSNR and SSIM (MSE unclipped, as the zoo card's). Bar (issue 25): the AE's
MSE below PCA's at both code sizes. Then, at 512 bits per image, the zoo's
VQ-VAE (8x8 codes of K=256) beside the 64-value AE and PCA with each code
value quantised to 8 bits (issue 27's rate comparison, on colour images).

Writes docs/results/cifar_pca.md.

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/cifar_pca.py
"""

import time

import _common
import numpy as np

from keras_ae import zoo
from keras_ae.tasks import psnr, ssim
from keras_ae.zoo import protocols as zp

ENTRIES = {64: "conv_ae64_cifar", 256: "conv_ae256_cifar"}
VQ = "vqvae_cifar"  # 8 x 8 codes of K = 256: 512 bits, the bits of 64 8-bit values


def scores(clean, recon):
    """MSE (unclipped), mean per-image PSNR and SSIM (clipped to [0, 1])."""
    shown = np.clip(recon, 0.0, 1.0)
    return (
        float(np.mean(np.square(recon.astype(np.float64) - clean))),
        float(np.mean(psnr(clean, shown, reduction="none"))),
        float(np.mean(ssim(clean, shown, reduction="none"))),
    )


def ratio_interval(clean, recon, ref, seed=0, draws=2000):
    """95% bootstrap interval (images resampled, seed 0) of AE MSE / PCA MSE."""
    ae = np.mean(np.square(recon.astype(np.float64) - clean), axis=(1, 2, 3))
    pca = np.mean(np.square(ref - clean), axis=(1, 2, 3))
    idx = np.random.default_rng(seed).integers(0, len(ae), (draws, len(ae)))
    ratios = ae[idx].mean(1) / pca[idx].mean(1)
    return np.percentile(ratios, [2.5, 97.5])


def at_512_bits(data, test):
    """Rows for the VQ-VAE and, at the same 512 bits, the 64-value AE and PCA
    with each value quantised to 8 bits over its range on the training split."""
    train = zp.load_split("cifar10_jpeg", "train", data)[0] / np.float32(255)
    vq = zoo.load(VQ)
    bits = vq.bits_per_image
    m = int(bits // 8)
    mean, vectors = zp.pca_basis("cifar10_jpeg", data)
    basis = vectors[:, -m:]
    coeffs = _common.quantize_8bit(
        (train.reshape(len(train), -1) - mean) @ basis, (test.reshape(len(test), -1) - mean) @ basis
    )
    pca = (coeffs @ basis.T + mean).reshape(test.shape)
    ae = zoo.load(ENTRIES[m])
    codes = _common.quantize_8bit(ae.encode(train), ae.encode(test))  # (numpy: in batches)
    ae_out = ae.decode(codes.astype(np.float32))
    vq_out = vq.reconstruct(test)
    rows = []
    for who, out in (
        (f"PCA, {m} components, 8 bits each", pca),
        (f"AE `{ENTRIES[m]}`, its {m} code values at 8 bits each", ae_out),
        (f"VQ-VAE `{VQ}`, 8x8 codes of K={vq.num_codes}", vq_out),
    ):
        mse, p, s = scores(test, out)
        rows.append([f"{bits:.0f}", who, f"{mse:.5f}", f"{p:.2f}", f"{s:.4f}"])
    print(rows, flush=True)
    return rows


def main():
    data = _common.data_dir()
    test = zp.load_split("cifar10_jpeg", "test", data)[0] / np.float32(255)
    rows, met = [], []
    for code, name in ENTRIES.items():
        t0 = time.time()
        pca, _ = zp.pca_reconstruction("cifar10_jpeg", code, data)
        t_pca = time.time() - t0
        model = zoo.load(name)
        out = np.concatenate([model.reconstruct(test[i : i + 500]) for i in range(0, 10000, 500)])
        ae, ref = scores(test, out), scores(test, pca)
        for who, (mse, p, s) in ((f"PCA, {code} components", ref), (f"AE `{name}`", ae)):
            rows.append([code, who, f"{mse:.5f}", f"{p:.2f}", f"{s:.4f}"])
        met.append(ae[0] < ref[0])
        verdict = "met" if met[-1] else "**missed**"
        lo, hi = ratio_interval(test, out, pca)
        rows.append(
            [code, f"AE / PCA MSE: {ae[0] / ref[0]:.3f} [{lo:.3f}, {hi:.3f}]", verdict, "", ""]
        )
        print(rows[-3:], f"PCA fit {t_pca:.0f} s", flush=True)
    table = _common.markdown_table(["code values", "model", "test MSE", "PSNR (dB)", "SSIM"], rows)
    runs = [zoo.info(n)["training"] for n in ENTRIES.values()]
    missed = [c for c, ok in zip(ENTRIES, met, strict=True) if not ok]
    steps = [t["epochs"] * t["steps_per_epoch"] for t in runs]
    verdict = (
        f"{'Both bars are met' if all(met) else 'Bars missed at ' + str(missed)}. The AEs "
        "trained for "
        + (f"{steps[0]:,} steps each" if len(set(steps)) == 1 else " and ".join(map(str, steps)))
        + f" of {runs[0]['batch_size']} images, Adam with a per-step cosine decay, on the first "
        f"{50000 - runs[0]['validation_images']:,} training images; the last "
        f"{runs[0]['validation_images']:,} were held out to follow the runs, and the "
        "network and schedule were fixed before they started (the test split chose nothing). "
        "The bar is on MSE, what the AEs minimise; SSIM, which they do not, can sit on "
        "either side of PCA's."
    )
    cards = ", ".join(f"[`{n}`](../../zoo/{n}/README.md)" for n in ENTRIES.values())
    rate = _common.markdown_table(
        ["bits per image", "model", "test MSE", "PSNR (dB)", "SSIM"], at_512_bits(data, test)
    )
    body = f"""
All 10,000 CIFAR-10 (JPEG) test images (a JPEG re-encoding of CIFAR-10:
figures are not comparable digit for digit with published CIFAR-10 ones),
pixels in [0, 1]. The PCA reference with the same number of values as the
AE's code is fitted on the 50,000 training images (eigendecomposition of the
3072x3072 covariance in float64, `keras_ae.zoo.protocols.pca_reconstruction`).
MSE is per pixel and unclipped; PSNR (peak 1) and SSIM (11x11 Gaussian window)
are means of per-image values of the output clipped to [0, 1].

{table}

The interval after each ratio is the 2.5-97.5 percentile of the ratio of mean
per-image MSEs over 2,000 bootstrap resamples of the 10,000 test images (seed 0).

Bar (issue 25): the AE's test MSE below PCA's at both code sizes. The AEs are
the zoo entries {cards}: spatial codes (a kernel-1 convolution to 4x4x4 = 64
and 8x8x4 = 256 values), trained with MSE; their cards hold the training
record, and CI re-measures their MSE and PSNR on the first
1,000 test images. {verdict}

## At 512 bits per image: the VQ-VAE

The same test images coded in 512 bits each: the zoo's VQ-VAE
[`{VQ}`](../../zoo/{VQ}/README.md) (an 8x8 map of codes from K=256, 8 bits
each), and the 64 code values of PCA and of the AE above quantised to 8 bits
each (256 uniform levels between the value's minimum and maximum over the
50,000 training images' codes, test codes clipped into that range), the
protocol of the MNIST rate-distortion page ([vqvae.md](vqvae.md)).

{rate}

Regenerate: `KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/cifar_pca.py`
"""
    _common.write_result("cifar_pca", "CIFAR-10 (JPEG): convolutional AE vs PCA", body)


if __name__ == "__main__":
    main()
