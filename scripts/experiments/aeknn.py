"""AEkNN (Pulgar et al. 2019): kNN (k = 5) on raw features, PCA codes and AE codes.

Satimage: features standardized with the training split's mean and std;
PCA and the autoencoders are fitted on the training split; kNN is fitted on
the training codes and scored on the 2,000 test rows, for d = 2, 4, 8, 12.
MNIST: the same at d = 30 (pixels in [0, 1], all 60,000 / 10,000 images).

Run: KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/aeknn.py
"""

import _common  # noqa: F401  (sets sys.path)
from _common import (
    Timer,
    data_dir,
    markdown_table,
    pyplot,
    save_figure,
    seed_all,
    write_result,
)

DIMS = (2, 4, 8, 12)
SAT_EPOCHS = 60
MNIST_EPOCHS = 3
MNIST_AE_TRAIN = 20000  # images the MNIST autoencoder is trained on
MNIST_QUERIES = 2000  # test images classified


def train_ae(x, d, hidden, epochs, batch_size, output_activation, loss, seed=0):
    import keras

    from keras_ae import models

    seed_all(seed)
    model = models.Autoencoder(input_shape=(x.shape[1],), latent_dim=d, hidden_units=hidden,
                               output_activation=output_activation,
                               reconstruction_loss=loss, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x, epochs=epochs, batch_size=batch_size, verbose=0)
    return model


def main():
    from sklearn.decomposition import PCA

    from keras_ae import datasets, tasks

    (x_train, y_train), (x_test, y_test) = datasets.load_satimage(data_dir())
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    raw = tasks.AEKNNClassifier(None, k=5).fit(x_train, y_train).score(x_test, y_test)
    print(f"satimage raw kNN accuracy {raw:.4f}")
    rows, pca_acc, ae_acc = [], {}, {}
    for d in DIMS:
        pca = PCA(d).fit(x_train)
        pca_acc[d] = tasks.AEKNNClassifier(pca.transform, k=5).fit(x_train, y_train).score(
            x_test, y_test)
        with Timer() as t:
            model = train_ae(x_train, d, (128, 64), epochs=SAT_EPOCHS, batch_size=64,
                             output_activation="linear", loss="mse")
        ae_acc[d] = tasks.AEKNNClassifier(model, k=5).fit(x_train, y_train).score(x_test, y_test)
        print(f"d={d}: PCA {pca_acc[d]:.4f}  AE {ae_acc[d]:.4f}  (AE trained in {t.seconds:.0f} s)")
        rows.append([d, raw, pca_acc[d], ae_acc[d]])
    sat_table = markdown_table(["d", "raw 36 features", "PCA codes", "AE codes"], rows)
    beats_pca = all(ae_acc[d] > pca_acc[d] for d in DIMS)
    matches_raw = ae_acc[12] >= raw

    (mx, my), (mxt, myt) = datasets.load_mnist(data_dir())
    mx = (mx.reshape(len(mx), -1) / 255.0).astype("float32")
    mxt = (mxt.reshape(len(mxt), -1) / 255.0).astype("float32")[:MNIST_QUERIES]
    myt = myt[:MNIST_QUERIES]
    with Timer() as t:
        m_raw = tasks.AEKNNClassifier(None, k=5).fit(mx, my).score(mxt, myt)
    print(f"MNIST raw kNN {m_raw:.4f} ({t.seconds:.0f} s)")
    pca = PCA(30).fit(mx)
    m_pca = tasks.AEKNNClassifier(pca.transform, k=5).fit(mx, my).score(mxt, myt)
    with Timer() as t:
        model = train_ae(mx[:MNIST_AE_TRAIN], 30, (512, 256), epochs=MNIST_EPOCHS, batch_size=128,
                         output_activation="sigmoid", loss="bce")
    m_ae = tasks.AEKNNClassifier(model, k=5).fit(mx, my).score(mxt, myt)
    print(f"MNIST d=30: PCA {m_pca:.4f}  AE {m_ae:.4f} (AE trained in {t.seconds:.0f} s)")
    mnist_table = markdown_table(["d", "raw 784 pixels", "PCA codes", "AE codes"],
                                 [[30, m_raw, m_pca, m_ae]])
    body = (
        "kNN with k = 5 (Euclidean, majority vote) via `keras_ae.tasks.AEKNNClassifier`; "
        "test accuracy. Codes from PCA and from an MLP autoencoder fitted on the training "
        "split only.\n\n"
        "## Satimage (4,435 train / 2,000 test, standardized; AE 36-128-64-d, linear output, "
        f"MSE, {SAT_EPOCHS} epochs)\n\n" + sat_table + "\n\n"
        f"Bars: AE codes beat PCA codes at every d: {'met' if beats_pca else 'MISSED'}; "
        f"AE codes match or beat raw kNN by d = 12: {'met' if matches_raw else 'MISSED'} "
        f"({ae_acc[12]:.4f} vs {raw:.4f}).\n\n"
        f"## MNIST (database: the 60,000 training images; queries: the first {MNIST_QUERIES} "
        f"test images; AE 784-512-256-30, BCE, {MNIST_EPOCHS} epochs on the first "
        f"{MNIST_AE_TRAIN} training images; short training for a shared 2-core CPU)\n\n"
        + mnist_table + "\n\n![AEkNN accuracy on satimage](aeknn.png)\n"
    )
    write_result("aeknn", "AEkNN: kNN on autoencoder codes", body)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.axhline(raw, color="k", ls="--", label="raw 36 features")
    ax.plot(DIMS, [pca_acc[d] for d in DIMS], "o-", label="PCA codes")
    ax.plot(DIMS, [ae_acc[d] for d in DIMS], "s-", label="AE codes")
    ax.set(xlabel="code size d", ylabel="test accuracy (kNN, k=5)", title="satimage")
    ax.legend()
    save_figure(fig, "aeknn")


if __name__ == "__main__":
    main()
