"""The validation sweep behind restoration.py's 14x14 -> 28x28 model choice.

Fashion-MNIST training images 54,000-59,999 are held out (the test split is
never read); each configuration is trained with `restoration.fit_pairs` on
the first 54,000 (bicubic upsample of the 2x-downsampled image -> original,
or -> original - bicubic for a `res_` name) and scored by PSNR gain over
bicubic on the held-out images. The figures in restoration.py's docstring
(+3.21 / +4.12 / +4.52 dB) came from:

    KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/super_resolution_sweep.py \
        base,res_base,res_wide 8

This file is that sweep, committed after the fact (it then lived in /tmp);
the 8-epoch runs were not repeated from it (~30 min each); a 1-epoch smoke
run of `res_base` gave +3.445 dB. The held-out images are now upscaled with
`tasks.upscale` (it reads the clipped resize the models train on since
upscale's fix); the 1-epoch `res_base` run still gives +3.445 dB.

Args: comma-separated names among base, wide, deep (optionally `res_`
prefixed), then the epoch count.
"""

import sys

import _common  # noqa: F401  (sets sys.path)
import numpy as np
from _common import data_dir
from restoration import fit_pairs

CONFIGS = {
    "base": dict(
        latent_dim=14 * 14 * 12,
        filters=(32, 32),
        strides=(1, 2),
        code_layer="conv",
        reconstruction_loss="mse",
    ),
    "wide": dict(
        latent_dim=14 * 14 * 16,
        filters=(64, 64),
        strides=(1, 2),
        code_layer="conv",
        reconstruction_loss="mse",
    ),
    "deep": dict(
        latent_dim=14 * 14 * 12,
        filters=(32, 32, 32),
        strides=(1, 2, 1),
        code_layer="conv",
        reconstruction_loss="mse",
    ),
}


def main(names, epochs):
    from keras_ae import corruption, datasets, tasks

    (x, _), _ = datasets.load_fashion_mnist(data_dir())
    x = (x.reshape(len(x), -1) / 255.0).astype("float32")
    low = np.asarray(corruption.downsample(x, 2, image_shape=(28, 28))).reshape(-1, 14, 14)
    up = tasks.upsample(low, 28, clip=(0, 1)).reshape(len(x), -1)
    fit, held = slice(0, 54000), slice(54000, 60000)
    bicubic = tasks.psnr(x[held], up[held])
    print(f"held-out bicubic PSNR {bicubic:.3f}")
    for name in names:
        residual = name.startswith("res_")
        config = dict(CONFIGS[name.removeprefix("res_")])
        if residual:
            config["output_activation"] = "linear"
        target = x - up if residual else x
        model = fit_pairs(up[fit], target[fit], epochs, config)
        out = tasks.upscale(model, low[held], residual=residual, clip=(0, 1)).reshape(
            len(low[held]), -1
        )
        gain = tasks.psnr(x[held], out) - bicubic
        print(f"{name}, {epochs} epochs: gain over bicubic {gain:.3f} dB")


if __name__ == "__main__":
    main(sys.argv[1].split(","), int(sys.argv[2]))
