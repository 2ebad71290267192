"""The measurements behind every figure of a zoo card, by protocol name.

Each entry's `metadata.json` lists its metrics as
`{"name", "kind", "params", "value", "tolerance", "quick", ...}`; `kind`
names one of the functions in `KINDS` below and `params` its arguments, so
the card's figure can be re-measured exactly (`evaluate_entry`). All data is
the dataset's official test split (the PCA reference alone also reads the
training split to fit the components); pixels are measured in [0, 1].

PSNR is the package's one definition, `keras_ae.tasks.psnr`; the cards'
protocol is the mean of the per-image values (`reduction="none"`), as
their metadata says, not the batch PSNR of the pooled MSE. The Jacobian norm
is `keras_ae.losses.squared_jacobian_norm`, the contractive penalty's own.
"""

import inspect
import math

import keras
import numpy as np
import tensorflow as tf

from keras_ae import corruption, datasets, losses
from keras_ae.tasks.metrics import psnr
from keras_ae.zoo.entry import ZooError

_DATA_CACHE = {}


# ---------------------------------------------------------------- data
def load_split(dataset, split="test", data_dir=None):
    """Raw uint8 images of `dataset` ("mnist" or "fashion_mnist"), cached."""
    key = (dataset, str(data_dir))
    if key not in _DATA_CACHE:
        (x_train, y_train), (x_test, y_test) = datasets.load_images(dataset, data_dir)
        _DATA_CACHE[key] = {"train": (x_train, y_train), "test": (x_test, y_test)}
    return _DATA_CACHE[key][split]


def prepare(images, preprocessing):
    """Float32 model inputs from uint8 images, as the entry's preprocessing says.

    Args:
        images: uint8 array (N, 28, 28).
        preprocessing: dict with `scale` ("unit" or "symmetric") and `layout`
            ("flat" for (N, 784), "image" for (N, 28, 28, 1)).
    """
    layout = preprocessing.get("layout", "flat")
    return datasets.preprocess(
        images,
        scale=preprocessing.get("scale", "unit"),
        flatten=layout == "flat",
        channels=layout == "image",
    )


def to_unit(x, preprocessing):
    """Model-scale values back to [0, 1] pixel units."""
    return (x + 1.0) / 2.0 if preprocessing.get("scale") == "symmetric" else x


def static_binarize(x, seed):
    """One fixed Bernoulli draw per pixel: `u < intensity`, `u` from numpy's
    `default_rng(seed)` (PCG64), drawn over the whole array in C order."""
    u = np.random.default_rng(seed).random(x.shape, dtype=np.float32)
    return (u < x).astype(np.float32)


def _subset(x, n):
    return x if n is None else x[:n]


def reseed(model, seed):
    """Resets the model's random generator so a random protocol repeats exactly."""
    state = model.seed_generator.state
    state.assign(np.array([seed, 0], dtype=state.dtype))


# -------------------------------------------------------------- metrics
def mse(model, x, preprocessing, n=None):
    """Mean squared error per pixel in [0, 1] units (symmetric models: / 4)."""
    x = _subset(x, n)
    x_hat = model.reconstruct(x)
    d = to_unit(x_hat, preprocessing) - to_unit(x, preprocessing)
    return float(np.mean(np.square(d.astype(np.float64))))


def pca_mse(model, x, preprocessing, components=30, dataset="mnist", data_dir=None, n=None):
    """MSE of PCA with `components` components fitted on the training split.

    The reference the linear and lecture models are compared with; it does
    not use `model`. Components come from an eigendecomposition of the
    training covariance (float64), pixels in [0, 1].
    """
    key = ("pca", dataset, str(data_dir), components, n)
    if key not in _DATA_CACHE:
        train = datasets.preprocess(load_split(dataset, "train", data_dir)[0], flatten=True).astype(
            np.float64
        )
        test = datasets.preprocess(load_split(dataset, "test", data_dir)[0], flatten=True).astype(
            np.float64
        )
        test = _subset(test, n)
        mean = train.mean(axis=0)
        centred = train - mean
        cov = centred.T @ centred / len(train)
        _, vectors = np.linalg.eigh(cov)
        basis = vectors[:, -components:]
        recon = (test - mean) @ basis @ basis.T + mean
        _DATA_CACHE[key] = float(np.mean(np.square(recon - test)))
    return _DATA_CACHE[key]


def _psnr(clean, other):
    """The mean over images of each image's PSNR (dB, peak 1)."""
    return float(np.mean(psnr(clean, other, reduction="none")))


def _dropout(x, rate, seed):
    return keras.ops.convert_to_numpy(corruption.dropout_mask(x, rate, seed=seed))


def denoised_psnr(model, x, preprocessing, rate=0.5, seed=0, n=None):
    """Mean per-image PSNR (dB, peak 1) of the model's reconstruction of
    dropout-masked test images (each pixel zeroed with probability `rate`,
    `keras_ae.corruption.dropout_mask` with int `seed`) against the clean ones."""
    x = _subset(x, n)
    noisy = _dropout(x, rate, seed)
    return _psnr(to_unit(x, preprocessing), to_unit(model.reconstruct(noisy), preprocessing))


def corrupted_psnr(model, x, preprocessing, rate=0.5, seed=0, n=None):
    """Mean per-image PSNR of the dropout-masked input itself (the baseline)."""
    x = _subset(x, n)
    noisy = _dropout(x, rate, seed)
    return _psnr(to_unit(x, preprocessing), to_unit(noisy, preprocessing))


def mean_activation(model, x, preprocessing, n=None):
    """Mean code activation over the test images and the code units."""
    return float(np.mean(model.encode(_subset(x, n)).astype(np.float64)))


def jacobian_norm(model, x, preprocessing, n=None, batch_size=500):
    """Mean over test images of the Frobenius norm `||dh/dx||_F` of the encoder
    (`keras_ae.losses.squared_jacobian_norm`: exact, in closed form in float64
    for a one-layer dense encoder, else from `tf.GradientTape.batch_jacobian`)."""
    x = _subset(x, n)
    dense = losses.closed_form_dense(model.encoder)
    if dense is not None:
        squared = losses.squared_jacobian_norm(None, x, dense, h=model.encode(x), dtype="float64")
        return float(np.mean(np.sqrt(keras.ops.convert_to_numpy(squared))))
    fn = tf.function(lambda t: losses.squared_jacobian_norm(model.encode, t), reduce_retracing=True)
    squared = [fn(tf.constant(x[i : i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
    return float(np.mean(np.sqrt(np.concatenate(squared)).astype(np.float64)))


def log_likelihood(model, x, preprocessing, k=5000, n=None, seed=0, binarize_seed=123):
    """Importance-sampled test log-likelihood in nats (`VAE.log_likelihood`).

    The test images are binarized once with `static_binarize(x, binarize_seed)`
    (over the whole test split, then the first `n` are kept), the model's
    generator is reset to `seed`, and `k` importance samples are drawn per image.
    """
    xb = _subset(static_binarize(x, binarize_seed), n)
    reseed(model, seed)
    return float(np.mean(model.log_likelihood(xb, num_samples=k).astype(np.float64)))


def elbo(model, x, preprocessing, n=None, seed=0, binarize_seed=None, batch_size=500):
    """Test ELBO in nats per image (one posterior sample per image, generator
    reset to `seed`): `-(reconstruction_loss + kl_loss)`. With `binarize_seed`
    the images are first binarized as in `log_likelihood`; otherwise the
    Bernoulli likelihood is evaluated on grey levels (cross-entropy)."""
    x = static_binarize(x, binarize_seed) if binarize_seed is not None else x
    x = _subset(x, n)
    reseed(model, seed)
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb = tf.constant(x[i : i + batch_size])
        terms = model.compute_losses(xb, training=False)
        total += float(terms["reconstruction_loss"] + terms["kl_loss"]) * len(xb)
    return -total / len(x)


KINDS = {
    "mse": mse,
    "pca_mse": pca_mse,
    "denoised_psnr": denoised_psnr,
    "corrupted_psnr": corrupted_psnr,
    "mean_activation": mean_activation,
    "jacobian_norm": jacobian_norm,
    "log_likelihood": log_likelihood,
    "elbo": elbo,
}


def measure(model, metric, preprocessing, data_dir=None, dataset="mnist"):
    """Measures one metric spec (`kind` + `params`) on the test split.

    A kind whose function takes `labels` gets the test labels (in the order
    of `x`); one that takes `dataset` gets the entry's dataset and `data_dir`.
    """
    kind = metric["kind"]
    if kind not in KINDS:
        raise ValueError(f"metric kind must be one of {sorted(KINDS)}, got {kind!r}")
    images, labels = load_split(dataset, "test", data_dir)
    x = prepare(images, preprocessing)
    params = dict(metric.get("params", {}))
    takes = inspect.signature(KINDS[kind]).parameters
    if "dataset" in takes:
        params.setdefault("dataset", dataset)
        params["data_dir"] = data_dir
    if "labels" in takes:  # e.g. a conditional model's likelihood given the class
        params["labels"] = labels
    return KINDS[kind](model, x, preprocessing, **params)


def within(value, expected, tolerance):
    """Whether `value` is within `tolerance` ({"abs": a, "rel": r}) of `expected`."""
    allowed = tolerance.get("abs", 0.0) + tolerance.get("rel", 0.0) * abs(expected)
    return bool(math.isfinite(value) and abs(value - expected) <= allowed)


def bar_met(value, bar):
    """Whether `value` meets a bar {"op": "<=" | "<" | ">=" | ">" | "within", "value", ...}."""
    op, target = bar["op"], bar["value"]
    if op == "within":
        return abs(value - target) <= bar["margin"]
    return {"<=": value <= target, "<": value < target, ">=": value >= target, ">": value > target}[
        op
    ]


#: Arguments `measure` passes itself; a card's `params` cannot set them.
_PASSED = {"model", "x", "preprocessing", "labels", "data_dir"}


def _check_card(meta):
    """A ZooError naming what a card's metrics lack, before any data is read
    (an entry of one's own is checked only against its own metadata)."""
    if not isinstance(meta.get("preprocessing"), dict) or not isinstance(meta.get("dataset"), str):
        raise ZooError(
            f"zoo entry {meta.get('name')!r}: metadata.json needs a 'preprocessing' "
            "object and a 'dataset' name to re-measure its card"
        )
    metrics = meta.get("metrics", [])
    for i, m in enumerate(metrics if isinstance(metrics, list) else [None]):
        need = ("name", "kind", "value", "tolerance")
        if (
            not isinstance(m, dict)
            or any(k not in m for k in need)
            or not isinstance(m["tolerance"], dict)
            or not isinstance(m["value"], (int, float))
        ):
            raise ZooError(
                f"zoo entry {meta.get('name')!r}: metrics[{i}] must be an object with "
                f"{', '.join(need)} (a number, a tolerance object), got {str(m)[:200]}"
            )
        if m["kind"] not in KINDS:
            raise ZooError(
                f"zoo entry {meta.get('name')!r}: metric {m['name']!r} has kind "
                f"{m['kind']!r}, not one of {sorted(KINDS)}"
            )
        params = m.get("params", {})
        allowed = set(inspect.signature(KINDS[m["kind"]]).parameters) - _PASSED
        if not isinstance(params, dict) or set(params) - allowed:
            raise ZooError(
                f"zoo entry {meta.get('name')!r}: metric {m['name']!r} takes params "
                f"among {sorted(allowed)}, got {str(params)[:200]}"
            )


def evaluate_entry(model, meta, quick=False, data_dir=None, names=None):
    """Re-measures the metrics of an entry's card.

    Args:
        model: the model loaded from the entry.
        meta: the entry's metadata dict.
        quick: measure only the metrics marked `quick` (those CI re-measures);
            the full-protocol figures they stand for are skipped.
        data_dir: where the datasets are.
        names: measure only these metric names.

    Returns:
        A list of dicts `{name, card, measured, tolerance, ok, quick}`.
    """
    _check_card(meta)
    results = []
    for metric in meta.get("metrics", []):
        if quick and not metric.get("quick", True):
            continue
        if names is not None and metric["name"] not in names:
            continue
        value = measure(
            model, metric, meta["preprocessing"], data_dir=data_dir, dataset=meta["dataset"]
        )
        results.append(
            {
                "name": metric["name"],
                "card": metric["value"],
                "measured": value,
                "tolerance": metric["tolerance"],
                "ok": within(value, metric["value"], metric["tolerance"]),
                "quick": metric.get("quick", True),
            }
        )
    return results
