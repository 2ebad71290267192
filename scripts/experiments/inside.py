"""Looking inside: learned kernels and under- vs over-complete autoencoders.

Uses the zoo's pretrained MNIST models (no training):
  - under-complete: `ae_sigmoid30_mnist` (784-30-784, sigmoid code);
  - over-complete: `ae500_mnist` (784-500-784) and its dropout-mask denoising
    twin `dae500_dropout_mnist` (the lecture's kernel comparison).

On the 10,000 MNIST test images ([0, 1] pixels) it measures each model's
reconstruction MSE on clean inputs and, given inputs under the lecture's
dropout mask (p = 0.5), its MSE against the clean images: an over-complete
model that learned to copy its input copies the holes too, a denoising one
fills them. It writes the 500 first-layer kernels of the two over-complete
models (each filter scaled to its own range) and a figure of reconstructions.

Run: KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/inside.py
"""

import _common  # noqa: F401  (sets sys.path)
import numpy as np
from _common import RESULTS, data_dir, markdown_table, pyplot, save_figure, write_result

MODELS = {
    "ae_sigmoid30_mnist": "under-complete 784-30-784",
    "ae500_mnist": "over-complete 784-500-784",
    "dae500_dropout_mnist": "over-complete 784-500-784, dropout-mask denoising",
}
KERNELS = {"ae500_mnist": "kernels_standard", "dae500_dropout_mnist": "kernels_denoising"}


def main():
    from keras_ae import corruption, datasets, plotting, tasks, zoo

    _, (xt, _) = datasets.load_mnist(data_dir())
    xt = (xt.reshape(len(xt), -1) / 255.0).astype("float32")
    x_drop = np.asarray(corruption.dropout_mask(xt, 0.5, seed=0))
    rows, outputs = [], {}
    for name, what in MODELS.items():
        model = zoo.load(name)
        clean = model.reconstruct(xt)
        holes = model.reconstruct(x_drop)
        mse_clean = float(np.mean((clean - xt) ** 2))
        mse_drop = float(np.mean((holes - xt) ** 2))
        rows.append(
            [name, what, model.latent_dim, mse_clean, mse_drop, f"{tasks.psnr(xt, holes):.2f}"]
        )
        print(f"{name}: clean MSE {mse_clean:.5f}, dropout-input MSE {mse_drop:.5f}")
        outputs[name] = (clean, holes)
        if name in KERNELS:
            kernel = model.encoder.get_layer("code").kernel.numpy()
            plotting.save_kernels(kernel, RESULTS / f"{KERNELS[name]}.png", scale=2)
    corrupted_mse = float(np.mean((x_drop - xt) ** 2))
    body = (
        "Zoo models on the 10,000 MNIST test images; `dropout input` = the lecture's "
        "dropout mask (p = 0.5) applied to the input, error measured against the clean "
        f"image (the corrupted images themselves: MSE {corrupted_mse:.5f}).\n\n"
        + markdown_table(
            [
                "model",
                "what",
                "code size",
                "clean MSE",
                "dropout-input MSE",
                "dropout-input PSNR (dB)",
            ],
            rows,
            "{:.5f}",
        )
        + "\n\nThe over-complete standard model reconstructs clean digits best and copies "
        "the holes of a corrupted one (its error is the corrupted input's). The denoising "
        "model fills the holes; it is calibrated to half-masked inputs, so a clean digit "
        "(twice the ink it saw in training) comes out worse than a masked one.\n\n"
        "![under- vs over-complete reconstructions](complete.png)\n\n"
        "## The 500 learned kernels (first-layer weights, one 28x28 tile per unit)\n\n"
        "Standard over-complete AE (`ae500_mnist`):\n\n![standard kernels](kernels_standard.png)"
        "\n\nDropout-mask denoising AE (`dae500_dropout_mnist`):\n\n"
        "![denoising kernels](kernels_denoising.png)\n"
    )
    write_result("inside", "Looking inside: kernels, under- vs over-complete", body)

    plt = pyplot()
    n = 8
    shown = [("test image", xt), ("dropout input", x_drop)]
    for name in MODELS:
        clean, holes = outputs[name]
        shown += [(f"{name}: clean in", clean), (f"{name}: dropout in", holes)]
    fig, axes = plt.subplots(len(shown), n, figsize=(n * 0.9, len(shown) * 1.0))
    for r, (label, images) in enumerate(shown):
        for j in range(n):
            axes[r, j].imshow(images[j].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            axes[r, j].axis("off")
        axes[r, 0].set_title(label, fontsize=7, loc="left")
    save_figure(fig, "complete")


if __name__ == "__main__":
    main()
