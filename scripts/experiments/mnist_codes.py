"""Dimensionality reduction and clustering with MNIST codes, against PCA.

1. Test MSE (mean over pixels, [0, 1] intensity) of PCA and of a deep MLP
   autoencoder (784-512-256-d, sigmoid output, BCE, trained on the 60,000
   training images) at d = 2, 16, 30, 64; 2-D maps of the test codes of
   PCA, the autoencoder and a VAE, on MNIST and on satimage (standardized).
2. k-means (k = 10, 10 initialisations, seed 0) on the 10,000 test images:
   raw pixels, PCA codes (d = 16) and the d = 16 autoencoder codes; cluster
   accuracy (Hungarian matching) and NMI from `keras_ae.tasks`.

Run: KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/mnist_codes.py
"""

import _common  # noqa: F401  (sets sys.path)
import numpy as np
from _common import (
    Timer,
    data_dir,
    markdown_table,
    pyplot,
    save_figure,
    seed_all,
    write_result,
)

DIMS = (2, 16, 30, 64)
EPOCHS = 3
CLUSTER_D = 16


def train(model, x, epochs, batch_size=128, lr=1e-3):
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr))
    with Timer() as t:
        model.fit(x, epochs=epochs, batch_size=batch_size, verbose=0)
    return t.seconds


def generation_figure(plt, vae, ae, xt):
    """VAE samples, the decoded 2-D latent grid, pixel vs latent interpolation."""
    from scipy.stats import norm

    fig = plt.figure(figsize=(14, 6.5))
    grid = fig.add_gridspec(2, 3, height_ratios=(5, 1.2))
    samples = np.asarray(vae.sample(64, seed=0)).reshape(8, 8, 28, 28)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(samples.transpose(0, 2, 1, 3).reshape(8 * 28, 8 * 28), cmap="gray")
    ax.set_title("VAE (d=2) samples")
    ax.axis("off")
    n = 15
    q = norm.ppf(np.linspace(0.03, 0.97, n))  # grid over the prior's quantiles
    zs = np.array([[a, b] for b in q[::-1] for a in q], dtype="float32")
    manifold = vae.decode(zs).reshape(n, n, 28, 28).transpose(0, 2, 1, 3).reshape(n * 28, -1)
    ax = fig.add_subplot(grid[0, 1])
    ax.imshow(manifold, cmap="gray")
    ax.set_title("decoded 2-D latent manifold")
    ax.axis("off")
    ax = fig.add_subplot(grid[0, 2])
    steps = np.linspace(0, 1, 9)[:, None]
    a, b = xt[0:1], xt[1:2]  # a 7 and a 2
    pixel = (1 - steps) * a + steps * b
    za, zb = ae.encode(a), ae.encode(b)
    latent = ae.decode(((1 - steps) * za + steps * zb).astype("float32"))
    strip = np.concatenate([pixel.reshape(9, 28, 28), latent.reshape(9, 28, 28)], axis=1)
    ax.imshow(strip.transpose(1, 0, 2).reshape(56, 9 * 28), cmap="gray")
    ax.set_title("interpolation: pixel space (top) vs AE latent space, d=64 (bottom)")
    ax.axis("off")
    save_figure(fig, "generation")


def main():
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    from keras_ae import datasets, models, tasks

    (x, _), (xt, yt) = datasets.load_mnist(data_dir())
    x = (x.reshape(len(x), -1) / 255.0).astype("float32")
    xt = (xt.reshape(len(xt), -1) / 255.0).astype("float32")
    mse_rows, codes, pca_codes, ae_models = [], {}, {}, {}
    for d in DIMS:
        pca = PCA(d, random_state=0).fit(x)
        pca_codes[d] = pca.transform(xt)
        pca_mse = float(np.mean((pca.inverse_transform(pca_codes[d]) - xt) ** 2))
        seed_all(0)
        model = models.DeepAutoencoder(
            input_shape=(784,),
            latent_dim=d,
            hidden_units=(512, 256),
            reconstruction_loss="bce",
            seed=0,
        )
        secs = train(model, x, EPOCHS)
        ae_models[d] = model
        codes[d] = model.encode(xt)
        ae_mse = float(np.mean((model.reconstruct(xt) - xt) ** 2))
        print(f"d={d}: PCA MSE {pca_mse:.5f}  AE MSE {ae_mse:.5f}  ({secs:.0f} s)")
        mse_rows.append([d, pca_mse, ae_mse, "yes" if ae_mse < pca_mse else "no"])

    seed_all(0)
    vae = models.VAE(input_shape=(784,), latent_dim=2, hidden_units=(512, 256), seed=0)
    train(vae, x, EPOCHS)
    vae_codes = vae.encode(xt)

    (sx, _), (sxt, syt) = datasets.load_satimage(data_dir())
    mu, sd = sx.mean(axis=0), sx.std(axis=0)
    sx, sxt = ((sx - mu) / sd).astype("float32"), ((sxt - mu) / sd).astype("float32")
    s_pca = PCA(2, random_state=0).fit(sx).transform(sxt)
    seed_all(0)
    s_ae = models.Autoencoder(
        input_shape=(36,), latent_dim=2, hidden_units=(128, 64), output_activation="linear", seed=0
    )
    train(s_ae, sx, 40, batch_size=64)
    seed_all(0)
    s_vae = models.VAE(
        input_shape=(36,),
        latent_dim=2,
        hidden_units=(128, 64),
        likelihood="gaussian",
        output_activation="linear",
        seed=0,
    )
    train(s_vae, sx, 40, batch_size=64)

    bar = all(r[3] == "yes" for r in mse_rows)
    body = (
        "MNIST test MSE per pixel ([0, 1] intensity), PCA vs a deep autoencoder "
        f"(784-512-256-d, BCE, {EPOCHS} epochs on the 60,000 training images).\n\n"
        + markdown_table(["d", "PCA", "autoencoder", "AE below PCA"], mse_rows, "{:.5f}")
        + f"\n\nBar (AE below PCA at every d): {'met' if bar else 'MISSED'}.\n\n"
        "![2-D maps](dimreduction_maps.png)\n\n"
        "VAE samples, the decoded 2-D manifold, and pixel- vs latent-space interpolation:\n\n"
        "![generation](generation.png)\n"
    )
    write_result("dimreduction", "Dimensionality reduction: autoencoder vs PCA", body)

    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(13, 8))
    maps = [
        ("MNIST PCA", pca_codes[2], yt),
        ("MNIST AE (d=2)", codes[2], yt),
        ("MNIST VAE (d=2, means)", vae_codes, yt),
        ("satimage PCA", s_pca, syt),
        ("satimage AE (d=2)", s_ae.encode(sxt), syt),
        ("satimage VAE (d=2, means)", s_vae.encode(sxt), syt),
    ]
    for ax, (title, z, lab) in zip(axes.ravel(), maps, strict=True):
        sc = ax.scatter(z[:, 0], z[:, 1], c=lab, cmap="tab10", s=2, alpha=0.6)
        ax.set_title(title)
        ax.legend(*sc.legend_elements(), fontsize=6, markerscale=0.6, loc="best")
    save_figure(fig, "dimreduction_maps")

    generation_figure(plt, vae, ae_models[64], xt)

    # --- clustering
    rows = []
    for name, feats in (
        ("raw pixels (784)", xt),
        (f"PCA codes (d={CLUSTER_D})", pca_codes[CLUSTER_D]),
        (f"AE codes (d={CLUSTER_D})", codes[CLUSTER_D]),
    ):
        with Timer() as t:
            pred = KMeans(10, n_init=10, random_state=0).fit_predict(feats)
        acc, score = tasks.cluster_accuracy(yt, pred), tasks.nmi(yt, pred)
        print(f"k-means on {name}: accuracy {acc:.4f} NMI {score:.4f} ({t.seconds:.0f} s)")
        rows.append([name, acc, score])
    bar = rows[2][1] > max(rows[0][1], rows[1][1]) and rows[2][2] > max(rows[0][2], rows[1][2])
    body = (
        "k-means (k = 10, `n_init=10`, `random_state=0`) on the 10,000 MNIST test images; "
        "cluster accuracy under the best one-to-one matching (Hungarian) and NMI "
        f"(`keras_ae.tasks`). AE: the d = {CLUSTER_D} deep autoencoder of "
        "[dimreduction.md](dimreduction.md).\n\n"
        + markdown_table(["features", "accuracy", "NMI"], rows)
        + f"\n\nBar (AE codes beat raw pixels and PCA on both): {'met' if bar else 'MISSED'}.\n"
    )
    write_result("clustering", "Clustering MNIST codes with k-means", body)


if __name__ == "__main__":
    main()
