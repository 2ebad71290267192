"""Are a conditional VAE's samples the class they were asked for? (issue 27)

A separate small CNN classifier is trained here on each dataset's training
split (its test accuracy is reported), then classifies 1,000 samples of the
zoo's `cvae_mnist` / `cvae_fashion` drawn for balanced labels (100 per class,
`sample(labels=..., seed=0)`): the share classified as requested is the bar
(>= 95% on MNIST, >= 85% on Fashion-MNIST). The conditional log-likelihood
given the label is read from the entries' cards next to the unconditional
`vae50_mnist`'s on the same binarized test images. Class grids are drawn next
to the unconditional VAE's samples.

Usage:
    KERAS_AE_DATA_DIR=../shared/data python scripts/experiments/cvae_classes.py [--zoo DIR]
"""

import argparse
import json
from pathlib import Path

import keras
import numpy as np
from _common import REPO, data_dir, markdown_table, pyplot, save_figure, seed_all, write_result

from keras_ae import plotting, zoo
from keras_ae.zoo import protocols as zp

CASES = (  # (dataset, conditional entry, unconditional entry beside it, bar)
    ("mnist", "cvae_mnist", "vae50_mnist", 0.95),
    ("fashion_mnist", "cvae_fashion", "conv_vae32_fashion", 0.85),
)
PER_CLASS = 100
OTHER_SEEDS = (1, 2, 3, 4)  # further draws of z, to show how much the share moves


def wilson(hits, n, z=1.96):
    """95% Wilson score interval of a binomial share `hits / n`."""
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


#: Classifier epochs, fixed before any run (the test split chose nothing): 4
#: left the MNIST classifier at 98.96%, under the 99% the issue asks of the
#: judge, and the Fashion-MNIST one at 88.9%; a small CNN like this one is
#: still improving on the training split at 10.
EPOCHS = 10


def classifier():
    """A small CNN: two 3x3 convolutions with pooling, a dense layer, 10 logits."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ]
    )


def train_classifier(dataset, folder, epochs, limit=None):
    """The classifier trained on the training split; its test accuracy, overall
    and per class."""
    seed_all(0)
    x, y = (part[:limit] for part in zp.load_split(dataset, "train", folder))
    x_test, y_test = zp.load_split(dataset, "test", folder)
    as_images = {"scale": "unit", "layout": "image"}
    model = classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(zp.prepare(x, as_images), y, epochs=epochs, batch_size=128, verbose=2)
    right = np.argmax(model.predict(zp.prepare(x_test, as_images), verbose=0), -1) == y_test
    per_class = np.array([right[y_test == k].mean() for k in range(10)])
    return model, float(right.mean()), per_class


def requested(cvae, net, labels, seed):
    """Whether `net` classifies each of `cvae`'s samples for `labels` (drawn
    with `seed`) as the label it was drawn for."""
    drawn = cvae.sample(labels=labels, seed=seed).reshape(-1, 28, 28, 1)
    return np.argmax(net.predict(drawn, verbose=0), axis=-1) == labels


def card(entry, name):
    """The metric `name` of an entry's card (a dict), or None."""
    if not (entry / "metadata.json").is_file():
        return None
    meta = json.loads((entry / "metadata.json").read_text(encoding="utf-8"))
    return next((m for m in meta["metrics"] if m["name"] == name), None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--zoo", default=str(REPO / "zoo"), help="folder of the zoo entries")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="classifier epochs")
    parser.add_argument("--limit", type=int, default=None, help="training images (smoke runs)")
    args = parser.parse_args(argv)
    folder, zoo_dir = data_dir(), Path(args.zoo)
    labels = np.repeat(np.arange(10), PER_CLASS)
    rows, likelihood_rows, grids = [], [], []
    for dataset, name, reference, bar in CASES:
        net, test_accuracy, real_per_class = train_classifier(
            dataset, folder, args.epochs, args.limit
        )
        cvae = zoo.load(str(zoo_dir / name))

        hits = requested(cvae, net, labels, 0)
        per_class = hits.reshape(10, PER_CLASS).mean(axis=1)
        lo, hi = wilson(hits.sum(), len(hits))
        others = [requested(cvae, net, labels, seed) for seed in OTHER_SEEDS]
        pooled = np.concatenate([hits, *others])  # 5 draws of 1,000: a tighter interval
        pooled_lo, pooled_hi = wilson(pooled.sum(), len(pooled))
        others = [o.mean() for o in others]
        rows.append(
            [
                zp.TITLES[dataset],
                f"{100 * test_accuracy:.2f}%",
                f"`{name}`",
                f"{100 * hits.mean():.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]",
                f">= {100 * bar:.0f}%: " + ("met" if hits.mean() >= bar else "**missed**"),
                f"{100 * min(others):.1f} - {100 * max(others):.1f}%",
                f"{100 * pooled.mean():.1f}% [{100 * pooled_lo:.1f}, {100 * pooled_hi:.1f}]",
                " / ".join(f"{100 * p:.0f}" for p in per_class),
                " / ".join(f"{100 * p:.0f}" for p in real_per_class),
            ]
        )
        entry = zoo_dir / name
        for key in ("test_log_likelihood", "test_log_likelihood_first200_k500", "test_elbo"):
            mine, other = card(entry, key), card(zoo_dir / reference, key)
            if other is not None and mine is not None and other["params"] != mine["params"]:
                other = None  # another protocol (grey levels, not binarized): not comparable
            params = (mine or {}).get("params", {})
            likelihood_rows.append(
                [
                    zp.TITLES[dataset],
                    f"`{key}`"
                    + (f" (k={params['k']}, {params['n']:,} images)" if "k" in params else ""),
                    "-" if mine is None else f"{mine['value']:.2f}",
                    "-" if other is None else f"{other['value']:.2f} (`{reference}`)",
                ]
            )
        unconditional = zoo.load(str(zoo_dir / reference)).sample(100, seed=0)
        grids.append((zp.TITLES[dataset], cvae.sample(labels=labels[::10], seed=0), unconditional))
        print(rows[-1], flush=True)

    plt = pyplot()
    fig, axes = plt.subplots(len(grids), 2, figsize=(8, 4.2 * len(grids)))
    for (title, conditional, unconditional), (left, right) in zip(grids, axes, strict=True):
        for ax, images, what in (
            (left, conditional, "ConditionalVAE: row k asks for class k"),
            (right, unconditional, "unconditional VAE: 100 prior samples"),
        ):
            ax.imshow(plotting.image_grid(images, cols=10), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{title}, {what}", fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    save_figure(fig, "cvae_grids")

    body = f"""
`python scripts/experiments/cvae_classes.py` (data from `KERAS_AE_DATA_DIR`).

## Samples are the requested class

A small CNN (conv 32-64 with pooling, dense 128; {args.epochs} epochs of Adam on
the training split, trained by this script) classifies 1,000 samples of each
conditional entry, {PER_CLASS} per class (`sample(labels=np.repeat(range(10),
{PER_CLASS}), seed=0)`, the decoder's mean image given a prior draw of z). The
bar reads the seed-0 draw; in brackets its 95% Wilson interval; then the range
over draws with seeds {", ".join(map(str, OTHER_SEEDS))}; the five draws pooled
(5,000 samples, a tighter interval than one draw's); and, per class, the
share of samples classified as requested beside the classifier's own accuracy
on that class's real test images (a judge that confuses real shirts and
T-shirts confuses their samples too).

{
        markdown_table(
            [
                "data",
                "classifier test accuracy",
                "entry",
                "samples classified as requested, seed 0 [95%]",
                "bar",
                f"seeds {OTHER_SEEDS[0]}-{OTHER_SEEDS[-1]}",
                f"seeds 0-{OTHER_SEEDS[-1]} pooled [95%]",
                "samples per class 0..9 (%)",
                "classifier on real test images per class (%)",
            ],
            rows,
        )
    }

### Fashion-MNIST: two attempts at the 85% bar

The entry above is the first attempt: an MLP 784(+10)-512-256-32 trained on
dynamically binarized images for a 1,500 s time budget. The second, fixed
before it ran, was a conditional conv VAE (stride-2 Conv 32-64, the class as 10
constant input channels, d=32) on a step schedule (30 epochs of 430 steps of
128 images, the last 5,000 training images held out, Adam 1e-3 decaying by a
cosine to 1e-5), its spec in commit f433317 of `scripts/zoo_table/conditional.py`.
Judged by the same classifier, its samples were read as requested 83.9% of the
time at seed 0 and 82.6-84.6% over seeds 0-4, no better than the MLP; its held-out
ELBO was -231.9 nats (reproduce: that spec, `python scripts/train_zoo.py --only
cvae_fashion --run-dir RUN --zoo-dir DIR`, and this script with `--zoo` a folder holding
it beside the other three entries it reads). Both lose the same classes: sandal samples are read as
sneakers or ankle boots (the mean image of a sandal blurs its straps into a
shoe), shirt samples as pullovers or T-shirts, the classes the judge itself
confuses on real shirts. The zoo keeps the MLP entry; the bar is missed by about
1.5 points (see the pooled interval).

## Likelihood given the label

From the entries' cards (test images binarized once with seed 123; the
importance samples k and the test images each figure averages over are in
its row: the full figure, and the k=500 one on the first 200 that CI
re-measures). The conditional figure is log p(x | label);
the unconditional VAE's is log p(x), on the same binarized images (Fashion-MNIST
has no unconditional entry measured on binarized images: "-").

{markdown_table(["data", "figure", "conditional (nats)", "unconditional (nats)"], likelihood_rows)}

## Class grids next to the unconditional VAE

Left: each row asks the conditional VAE for one class (ten draws of z, seed 0);
right: 100 samples of the unconditional VAE's prior (seed 0).

![class grids](cvae_grids.png)
"""
    write_result("cvae", "Conditional VAE: samples of the requested class", body)


if __name__ == "__main__":
    main()
