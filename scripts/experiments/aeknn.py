"""AEkNN (Pulgar et al. 2019): kNN (k = 5) on raw features, PCA codes and AE codes.

Satimage: features standardized with the training split's mean and std;
PCA and the autoencoders are fitted on the training split; kNN is fitted on
the training codes and scored on the 2,000 test rows, for d = 2, 4, 8, 12.
At each d, the autoencoder settings of SAT_SETTINGS are scored by kNN with
5-fold stratified cross-validation on the training rows (an AE trained on four
folds, kNN fitted on their codes, scored on the fifth; mean of the five); the
winner is retrained on the whole training split, so the test split picks
nothing. (A single 20% validation split, used before, picked settings whose
validation accuracies differed by less than its own noise: 887 rows, one
row = 0.11 points; five folds score every training row.) The winner is also
retrained with four more seeds, whose test accuracies show the spread of one
training run.
MNIST: the same at d = 30 (pixels in [0, 1], all 60,000 / 10,000 images), with
the codes of the zoo's deep_ae30_mnist.

Run: KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/aeknn.py
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

DIMS = (2, 4, 8, 12)
# Satimage autoencoder settings tried at each d; the one with the best mean
# kNN accuracy over CV_FOLDS folds of the training set (never the test split)
# is retrained on the whole training split and scored on the test split.
SAT_SETTINGS = {
    "36-128-64-d, 60 epochs": dict(hidden=(128, 64), epochs=60),
    "36-256-128-d, 150 epochs": dict(hidden=(256, 128), epochs=150),
    "36-256-128-d, 150 epochs, denoising (gaussian 0.3)": dict(
        hidden=(256, 128), epochs=150, noise=0.3
    ),
    "36-128-64-d, 60 epochs, contractive (weight 0.1)": dict(
        hidden=(128, 64), epochs=60, contractive=0.1
    ),
    "36-128-64-d, 100 epochs, denoising (gaussian 0.1)": dict(
        hidden=(128, 64), epochs=100, noise=0.1
    ),
    "36-64-d, 100 epochs": dict(hidden=(64,), epochs=100),
    # Added in the ninth session from a 5-fold CV probe on the training rows
    # (d = 8: 0.9069, the first setting above PCA's 0.9048 there; d = 12: 0.9001;
    # trained with XLA then, so the page's figures for it differ slightly).
    "36-64-d, 100 epochs, denoising (dropout 0.1)": dict(hidden=(64,), epochs=100, dropout=0.1),
}
CV_FOLDS = 5
# The chosen setting is also retrained with these seeds (seed 0 is the one in
# the table), to show how much of an AE-vs-PCA gap one training run's luck is.
SEEDS = (0, 1, 2, 3, 4)


def train_ae(
    x,
    d,
    hidden,
    epochs,
    batch_size,
    output_activation,
    loss,
    noise=None,
    contractive=None,
    dropout=None,
    seed=0,
):
    import keras

    from keras_ae import models

    seed_all(seed)
    common = dict(
        input_shape=(x.shape[1],),
        latent_dim=d,
        hidden_units=hidden,
        output_activation=output_activation,
        reconstruction_loss=loss,
        seed=seed,
    )
    if noise:
        model = models.DenoisingAutoencoder(
            noise="gaussian", noise_params={"stddev": noise}, **common
        )
    elif dropout:  # masking noise: a fraction `dropout` of the features set to 0 (the mean)
        model = models.DenoisingAutoencoder(
            noise="dropout", noise_params={"rate": dropout}, **common
        )
    elif contractive:
        model = models.ContractiveAutoencoder(contractive_weight=contractive, **common)
    else:
        model = models.Autoencoder(**common)
    # No XLA: this script trains ~150 small models in one process, and every
    # compiled XLA program stays in memory until it exits (keras_ae warns after
    # 50); for a 36-feature MLP the speed-up is not worth that.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    model.fit(x, epochs=epochs, batch_size=batch_size, verbose=0)
    return model


def mcnemar(hits_a, hits_b):
    """How two classifiers differ on the same test rows: the rows only A gets
    right, those only B gets right, and the exact McNemar test's two-sided p
    (a binomial test of the first count among both, at one half): the chance
    of a split at least this uneven if neither were better."""
    from scipy.stats import binomtest

    only_a, only_b = int(np.sum(hits_a & ~hits_b)), int(np.sum(hits_b & ~hits_a))
    p = binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
    return f"{only_a} / {only_b} ({'p < 0.001' if p < 0.001 else f'p = {p:.3f}'})"


def sat_ae(x, d, setting, seed=0):
    return train_ae(
        x,
        d,
        setting["hidden"],
        setting["epochs"],
        64,
        "linear",
        "mse",
        noise=setting.get("noise"),
        contractive=setting.get("contractive"),
        dropout=setting.get("dropout"),
        seed=seed,
    )


def main():
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold

    from keras_ae import datasets, tasks, zoo

    (x_train, y_train), (x_test, y_test) = datasets.load_satimage(data_dir())
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    folds = list(StratifiedKFold(CV_FOLDS, shuffle=True, random_state=0).split(x_train, y_train))

    test_hits = {}  # (method, d) -> which test rows its kNN classifies right

    def knn_accuracy(encoder, fit, score, name=None):
        """kNN (k = 5) on `encoder`'s codes: fitted on rows `fit` of the training
        split, accuracy on `score` (indices into it, or the test split if None;
        then `name`, if given, keeps which test rows it got right)."""
        clf = tasks.AEKNNClassifier(encoder, k=5).fit(x_train[fit], y_train[fit])
        if score is None:
            hits = clf.predict(x_test) == y_test
            if name:
                test_hits[name] = hits
            return float(hits.mean())
        return clf.score(x_train[score], y_train[score])

    def cv_accuracy(fit_encoder):
        """Mean kNN accuracy over the folds of an encoder fitted on each fold's rest."""
        return float(
            np.mean([knn_accuracy(fit_encoder(x_train[fit]), fit, val) for fit, val in folds])
        )

    every = slice(None)
    raw = knn_accuracy(None, every, None, "raw")
    raw_cv = cv_accuracy(lambda x: None)  # no encoder: kNN on the raw features
    print(f"satimage raw kNN accuracy {raw:.4f}, {CV_FOLDS}-fold cross-validation {raw_cv:.4f}")
    rows, pca_acc, ae_acc, chosen = [], {}, {}, {}
    for d in DIMS:
        pca_acc[d] = knn_accuracy(PCA(d).fit(x_train).transform, every, None, ("PCA", d))
        pca_cv = cv_accuracy(lambda x, d=d: PCA(d).fit(x).transform)
        print(f"d={d} PCA: {CV_FOLDS}-fold cross-validation accuracy {pca_cv:.4f}")
        val_acc = {}
        for name, setting in SAT_SETTINGS.items():
            val_acc[name] = cv_accuracy(lambda x, d=d, s=setting: sat_ae(x, d, s))
            print(f"d={d} {name}: {CV_FOLDS}-fold cross-validation accuracy {val_acc[name]:.4f}")
        chosen[d] = max(val_acc, key=val_acc.get)
        with Timer() as t:
            model = sat_ae(x_train, d, SAT_SETTINGS[chosen[d]])
        ae_acc[d] = knn_accuracy(model, every, None, ("AE", d))
        print(
            f"d={d}: PCA {pca_acc[d]:.4f}  AE {ae_acc[d]:.4f} ({chosen[d]}, trained in "
            f"{t.seconds:.0f} s)"
        )
        seeds = [ae_acc[d]] + [
            knn_accuracy(sat_ae(x_train, d, SAT_SETTINGS[chosen[d]], seed), every, None)
            for seed in SEEDS[1:]
        ]
        print(
            f"d={d}: AE test accuracy over seeds {SEEDS}: " + " / ".join(f"{a:.4f}" for a in seeds)
        )
        rows.append(
            [
                d,
                raw,
                pca_acc[d],
                ae_acc[d],
                f"{np.mean(seeds):.4f} ± {np.std(seeds):.4f}",
                mcnemar(test_hits["AE", d], test_hits["PCA", d]),
                mcnemar(test_hits["AE", d], test_hits["raw"]),
                chosen[d],
                pca_cv,
                " / ".join(f"{v:.4f}" for v in val_acc.values()),
            ]
        )
    sat_table = markdown_table(
        [
            "d",
            "raw 36 features",
            "PCA codes",
            "AE codes",
            f"AE codes, mean ± std over {len(SEEDS)} training seeds",
            "AE vs PCA on the test rows: only AE right / only PCA right (exact McNemar p)",
            "AE vs raw: only AE right / only raw right (p)",
            "AE setting (chosen by cross-validation)",
            f"PCA codes, {CV_FOLDS}-fold CV",
            f"{CV_FOLDS}-fold CV accuracy of each AE setting",
        ],
        rows,
    )
    sat_table += (
        "\n\nAE settings, in the order of the last column: " + "; ".join(SAT_SETTINGS) + "."
    )
    beats_pca = all(ae_acc[d] > pca_acc[d] for d in DIMS)
    matches_raw = ae_acc[12] >= raw

    (mx, my), (mxt, myt) = datasets.load_mnist(data_dir())
    mx = (mx.reshape(len(mx), -1) / 255.0).astype("float32")
    mxt = (mxt.reshape(len(mxt), -1) / 255.0).astype("float32")
    with Timer() as t:
        m_raw = tasks.AEKNNClassifier(None, k=5).fit(mx, my).score(mxt, myt)
    print(f"MNIST raw kNN {m_raw:.4f} ({t.seconds:.0f} s)")
    pca = PCA(30).fit(mx)
    m_pca = tasks.AEKNNClassifier(pca.transform, k=5).fit(mx, my).score(mxt, myt)
    model = zoo.load("deep_ae30_mnist")  # trained on the 60,000 training images only
    m_ae = tasks.AEKNNClassifier(model, k=5).fit(mx, my).score(mxt, myt)
    print(f"MNIST d=30: PCA {m_pca:.4f}  AE {m_ae:.4f}")
    mnist_table = markdown_table(
        ["d", "raw 784 pixels", "PCA codes", "AE codes"], [[30, m_raw, m_pca, m_ae]]
    )
    body = (
        "kNN with k = 5 (Euclidean, majority vote) via `keras_ae.tasks.AEKNNClassifier`; "
        "test accuracy. Codes from PCA and from an MLP autoencoder fitted on the training "
        "split only.\n\n"
        "## Satimage (4,435 train / 2,000 test, standardized; MLP autoencoders with a linear "
        "output and MSE; at each d the setting with the best mean kNN accuracy over "
        f"{CV_FOLDS} stratified folds of the training rows (the AE trained on the other "
        "folds each time) is retrained on the whole training split)\n\n" + sat_table + "\n\n"
        "The bars are judged on the AE codes column (seed 0, the model the "
        "cross-validation chose); the column beside it retrains the same setting with "
        f"seeds {', '.join(map(str, SEEDS))} on the whole training split. The McNemar "
        "columns count the test rows that one classifier gets right and the other wrong; "
        "p is the chance of a split at least that uneven if neither classifier were "
        "better, so a gap with a large p is one the 2,000 test rows cannot tell from "
        "chance.\n\n"
        f"Bars: AE codes beat PCA codes at every d: {'met' if beats_pca else 'MISSED'}; "
        f"AE codes match or beat raw kNN by d = 12: {'met' if matches_raw else 'MISSED'} "
        f"({ae_acc[12]:.4f} vs {raw:.4f}).\n\n"
        f"kNN on the raw 36 features scores {raw_cv:.4f} in the same {CV_FOLDS}-fold "
        f"cross-validation (test: {raw:.4f}); PCA's and each AE setting's figures are in "
        "the table.\n\n"
        "## MNIST (database: the 60,000 training images; queries: the 10,000 test images; "
        "AE codes from the zoo's `deep_ae30_mnist` (784-512-256-30, trained on the training "
        "images only; see its model card))\n\n"
        + mnist_table
        + f"\n\nBar (AE codes beat PCA codes): "
        f"{'met' if m_ae > m_pca else 'MISSED'}.\n\n![AEkNN accuracy on satimage](aeknn.png)\n"
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
