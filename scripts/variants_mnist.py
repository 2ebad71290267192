"""Every variant after a short training on MNIST, next to PCA at the same code size.

Trains each variant with its defaults (code size `--latent-dim`, Adam 1e-3,
batch 128, `--epochs` epochs on the 60,000 training images) and reports the
per-pixel test MSE of the deterministic reconstruction (pixels in [0, 1]);
for the VAE also the test ELBO on statically binarized images. PCA with the
same number of components is fitted on the same training images.

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/variants_mnist.py [--epochs 3]

Writes docs/variants_mnist.md.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--latent-dim", type=int, default=30)
    parser.add_argument("--data-dir", default=os.environ.get("KERAS_AE_DATA_DIR"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "variants_mnist.md"))
    args = parser.parse_args()

    import keras

    from keras_ae import datasets, models

    (x_train, _), (x_test, _) = datasets.load_mnist(args.data_dir)
    x_train = datasets.preprocess(x_train, flatten=True)
    x_test = datasets.preprocess(x_test, flatten=True)
    d = args.latent_dim

    mean = x_train.mean(axis=0)
    components = np.linalg.svd(x_train - mean, full_matrices=False)[2][:d]
    pca_rec = (x_test - mean) @ components.T @ components + mean
    pca_mse = float(np.mean((pca_rec - x_test) ** 2))

    variants = {
        "Autoencoder (784-d-784, linear code)": lambda: models.Autoencoder(
            input_shape=(784,), latent_dim=d
        ),
        "TiedAutoencoder (linear)": lambda: models.TiedAutoencoder(
            input_shape=(784,), latent_dim=d
        ),
        "DeepAutoencoder (784-512-256-d)": lambda: models.DeepAutoencoder(
            input_shape=(784,), latent_dim=d
        ),
        "ConvAutoencoder (32-64 filters)": lambda: models.ConvAutoencoder(
            input_shape=(28, 28, 1), latent_dim=d
        ),
        "SparseAutoencoder (kl, rho 0.05)": lambda: models.SparseAutoencoder(
            input_shape=(784,), latent_dim=d, mode="kl"
        ),
        "SparseAutoencoder (l1)": lambda: models.SparseAutoencoder(
            input_shape=(784,), latent_dim=d, mode="l1"
        ),
        "DenoisingAutoencoder (dropout 0.5)": lambda: models.DenoisingAutoencoder(
            input_shape=(784,), latent_dim=d, hidden_units=(512, 256)
        ),
        "ContractiveAutoencoder (sigmoid)": lambda: models.ContractiveAutoencoder(
            input_shape=(784,), latent_dim=d
        ),
        "VAE (Bernoulli, 784-512-256-d)": lambda: models.VAE(input_shape=(784,), latent_dim=d),
        "SemanticHashingAE (d bits)": lambda: models.SemanticHashingAE(
            input_shape=(784,), latent_dim=d
        ),
    }
    rows = []
    for name, make in variants.items():
        keras.utils.set_random_seed(0)
        model = make()
        shape = (-1,) + model.input_shape_
        train, test = x_train.reshape(shape), x_test.reshape(shape)
        if isinstance(model, models.VAE):
            train = datasets.preprocess(x_train, binarize="static").reshape(shape)
        model.init_output_bias(train)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        start = time.perf_counter()
        model.fit(train, epochs=args.epochs, batch_size=128, verbose=0)
        seconds = time.perf_counter() - start
        mse = float(np.mean((model.reconstruct(test) - test) ** 2))
        extra = ""
        if isinstance(model, models.VAE):
            binary = datasets.preprocess(x_test, binarize="static").reshape(shape)
            elbo = -model.evaluate(binary, batch_size=500, verbose=0, return_dict=True)["loss"]
            extra = f"test ELBO {elbo:.2f} nats (thresholded at 0.5)"
        rows.append((name, model.count_params(), mse, mse / pca_mse, seconds, extra))
        print(
            f"{name:42s} mse={mse:.5f} ({mse / pca_mse:.2f}x PCA) {seconds:.0f}s {extra}",
            flush=True,
        )

    lines = [
        "# Every variant after a short MNIST training, next to PCA",
        "",
        f"Code size d = {d}; {args.epochs} epochs of Adam 1e-3 at batch 128 on the 60,000 "
        "training images, the decoder's output bias started at the mean training image "
        "(`init_output_bias`); per-pixel MSE of the deterministic reconstruction on the 10,000 "
        "test images, pixels in [0, 1]. The VAE and the sparse, contractive and hashing "
        "models optimise more than reconstruction, so their MSE is not their goal.",
        "",
        f"PCA with {d} components: test MSE **{pca_mse:.5f}**.",
        "",
        "| variant | parameters | test MSE | vs PCA | train time (s) | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, params, mse, ratio, seconds, extra in rows:
        lines.append(
            f"| {name} | {params:,} | {mse:.5f} | {ratio:.2f}x | {seconds:.0f} | {extra} |"
        )
    lines += ["", "Regenerate: `KERAS_AE_DATA_DIR=../shared/data python scripts/variants_mnist.py`"]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
