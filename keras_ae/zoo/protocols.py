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
from keras_ae.datasets._paths import keras_cache_dir
from keras_ae.datasets.pipeline import bernoulli_draw
from keras_ae.tasks.metrics import psnr, ssim
from keras_ae.utils.files import atomic_output
from keras_ae.zoo.entry import ZooError

_DATA_CACHE = {}


# ---------------------------------------------------------------- data
#: The zoo's datasets by name: each loader returns `(x_train, y_train),
#: (x_test, y_test)` of uint8 images (N, H, W) or (N, H, W, C) and int labels.
LOADERS = {**datasets.IMAGE_LOADERS, "cifar10_jpeg": datasets.load_cifar10_jpeg}
#: How cards and figures name a dataset (CIFAR-10 (JPEG) is no official copy).
TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10_jpeg": "CIFAR-10 (JPEG)"}


def load_split(dataset, split="test", data_dir=None):
    """`(images, labels)` of a split ("train" or "test") of `dataset`, a name in
    `LOADERS`, as raw uint8 arrays; cached per process."""
    if dataset not in LOADERS:
        raise ValueError(f"zoo dataset must be one of {sorted(LOADERS)}, got {dataset!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    key = (dataset, str(data_dir))
    if key not in _DATA_CACHE:
        (x_train, y_train), (x_test, y_test) = LOADERS[dataset](data_dir)
        _DATA_CACHE[key] = {"train": (x_train, y_train), "test": (x_test, y_test)}
    return _DATA_CACHE[key][split]


def prepare(images, preprocessing):
    """Float32 model inputs from uint8 images, as the entry's preprocessing says.

    Args:
        images: uint8 array (N, H, W) (grey) or (N, H, W, C).
        preprocessing: dict with `scale` ("unit" or "symmetric") and `layout`
            ("flat" for (N, H*W*C), "image" for (N, H, W, C), a channel axis
            added to grey images).
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
    """The test images as the cards measure them: one fixed Bernoulli draw per
    pixel (`datasets.pipeline.bernoulli_draw`)."""
    return bernoulli_draw(x, seed)


def _subset(x, n):
    return x if n is None else x[:n]


def reseed(model, seed):
    """Resets the model's random generator so a random protocol repeats exactly."""
    state = model.seed_generator.state
    state.assign(np.array([seed, 0], dtype=state.dtype))


def _reconstruct(model, x, batch_size=500):
    """`model.reconstruct` in batches (a whole colour test split in one call holds
    gigabytes of activations)."""
    return np.concatenate(
        [model.reconstruct(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    )


# -------------------------------------------------------------- metrics
def mse(model, x, preprocessing, n=None):
    """Mean squared error per pixel in [0, 1] units (symmetric models: / 4)."""
    x = _subset(x, n)
    x_hat = _reconstruct(model, x)
    d = to_unit(x_hat, preprocessing) - to_unit(x, preprocessing)
    return float(np.mean(np.square(d.astype(np.float64))))


def pca_basis(dataset, data_dir):
    """Training mean and covariance eigenvectors (ascending eigenvalues) of the
    flattened [0, 1] training images, float64, cached per process and, for the
    zoo's datasets, in the Keras cache; the covariance is summed over chunks so
    50,000 colour images need no float64 copy of the split."""
    key = ("pca_basis", dataset, str(data_dir))
    # The loaders check every file's sha256, so a dataset's basis is one array:
    # kept in the Keras cache, fitting it again (minutes for 3072 dims) is skipped.
    disk = keras_cache_dir() / "keras_ae_pca" / f"{dataset}-v1.npz"
    if key not in _DATA_CACHE and dataset in LOADERS and disk.is_file():
        with np.load(disk) as saved:
            _DATA_CACHE[key] = (saved["mean"], saved["vectors"])
    if key not in _DATA_CACHE:
        raw = load_split(dataset, "train", data_dir)[0]
        train = raw.reshape(len(raw), -1)
        mean = train.mean(axis=0, dtype=np.float64) / 255.0
        cov = np.zeros((train.shape[1],) * 2)
        for i in range(0, len(train), 5000):
            c = train[i : i + 5000].astype(np.float64) / 255.0 - mean
            cov += c.T @ c
        _, vectors = np.linalg.eigh(cov / len(train))
        _DATA_CACHE[key] = (mean, vectors)
        if dataset in LOADERS:
            with atomic_output(disk) as staged:
                with open(staged, "wb") as f:
                    np.savez(f, mean=mean, vectors=vectors)
    return _DATA_CACHE[key]


def pca_reconstruction(dataset, components, data_dir=None, n=None):
    """PCA reconstructions (float64, [0, 1] units, unclipped) of the first `n`
    test images, shaped as the raw images, from `components` components
    fitted on the training split."""
    mean, vectors = pca_basis(dataset, data_dir)
    raw = _subset(load_split(dataset, "test", data_dir)[0], n)
    test = raw.reshape(len(raw), -1) / 255.0
    basis = vectors[:, -components:]
    return ((test - mean) @ basis @ basis.T + mean).reshape(raw.shape), raw / 255.0


def pca_mse(model, x, preprocessing, components=30, dataset="mnist", data_dir=None, n=None):
    """MSE of PCA with `components` components fitted on the training split.

    The reference the linear, lecture and colour models are compared with; it
    does not use `model`. Components come from an eigendecomposition of the
    training covariance (float64), pixels in [0, 1].
    """
    recon, test = pca_reconstruction(dataset, components, data_dir, n)
    return float(np.mean(np.square(recon - test)))


def pca_quality(
    model, x, preprocessing, components=64, statistic="psnr", dataset="mnist", data_dir=None, n=None
):
    """Mean per-image PSNR (dB) or SSIM of the PCA reconstruction (clipped to
    [0, 1], as an image is shown) of `pca_mse`; does not use `model`."""
    recon, test = pca_reconstruction(dataset, components, data_dir, n)
    return _quality(statistic, test, np.clip(recon, 0.0, 1.0))


def _quality(statistic, clean, other):
    if statistic == "psnr":
        return _psnr(clean, other)
    if statistic == "ssim":
        return float(np.mean(ssim(clean, other, reduction="none")))
    raise ValueError(f"statistic must be 'psnr' or 'ssim', got {statistic!r}")


def quality(model, x, preprocessing, statistic="psnr", n=None, batch_size=500):
    """Mean per-image PSNR (dB, peak 1) or SSIM (`keras_ae.tasks.ssim`) of the
    model's reconstruction of the first `n` test images, in [0, 1] units."""
    x = _subset(x, n)
    x_hat = _reconstruct(model, x, batch_size)
    clean, out = to_unit(x, preprocessing), to_unit(x_hat, preprocessing)
    return _quality(statistic, clean, np.clip(out, 0.0, 1.0))


def gaussian_noisy(x, sigma, seed):
    """`x` in [0, 1] plus N(0, sigma^2) noise from numpy's `default_rng(seed)`
    (drawn over the whole array in C order), clipped to [0, 1] and rounded to
    8 bits: a noisy photo as a file holds it, and what NLM (uint8) reads too."""
    noise = np.random.default_rng(seed).standard_normal(x.shape, dtype=np.float32)
    return np.round(np.clip(x + np.float32(sigma) * noise, 0.0, 1.0) * 255.0) / np.float32(255.0)


def gaussian_denoised_psnr(model, x, preprocessing, sigma=0.1, seed=0, n=None, noisy=False):
    """Mean per-image PSNR (dB, peak 1) against the clean test images of the
    model's output for `gaussian_noisy(x, sigma, seed)` (noise drawn over the
    whole test split, then the first `n` kept); with `noisy=True`, of the noisy
    input itself (the baseline). Outputs are clipped to [0, 1]."""
    clean = to_unit(x, preprocessing)
    corrupted = _subset(gaussian_noisy(clean, sigma, seed), n)
    clean = _subset(clean, n)
    if noisy:
        return _psnr(clean, corrupted)
    model_in = corrupted * 2.0 - 1.0 if preprocessing.get("scale") == "symmetric" else corrupted
    out = _reconstruct(model, model_in)
    return _psnr(clean, np.clip(to_unit(out, preprocessing), 0.0, 1.0))


def bits_per_dim(model, x, preprocessing, n=None, seed=0, batch_size=500):
    """Negative ELBO in bits per dimension of 8-bit pixels under a discretized
    Gaussian decoder, for a VAE with `likelihood="gaussian"`.

    Pixel k (x = k / 255) has probability `Phi((k + 0.5) / 255 - mu) / s) -
    Phi(((k - 0.5) / 255 - mu) / s)` under the decoder mean `mu` and the model's
    fixed `observation_std` s, the two end bins taking the tails (Salimans et
    al. 2017's discretization): a proper distribution over 256 values, so the
    figure bounds `-log2 P(x) / 3072` for a colour 32x32 image. One posterior
    sample per image (generator reset to `seed`); mean over the test images.
    `x` is in the model's scale (`preprocessing["scale"]`), as it trained: a
    symmetric model's mean and standard deviation are brought to pixel units.
    """
    from scipy.special import ndtr

    if getattr(model, "likelihood", None) != "gaussian":
        raise ValueError(
            "bits_per_dim needs a VAE with likelihood='gaussian', got "
            f"{type(model).__name__} with likelihood={getattr(model, 'likelihood', None)!r}"
        )
    x = _subset(x, n)  # in the model's scale; the bins are in pixel units
    s = model.observation_std / (2.0 if preprocessing.get("scale") == "symmetric" else 1.0)
    reseed(model, seed)
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size]
        mean, log_var = model.encode_distribution(tf.constant(xb))
        kl = keras.ops.convert_to_numpy(losses.gaussian_kl(mean, log_var)).astype(np.float64)
        mu = keras.ops.convert_to_numpy(model.decode(model.reparameterize(mean, log_var)))
        mu = to_unit(mu.astype(np.float64), preprocessing)
        k = np.round(to_unit(xb.astype(np.float64), preprocessing) * 255.0)
        lo = np.where(k == 0, -np.inf, ((k - 0.5) / 255.0 - mu) / s)
        hi = np.where(k == 255, np.inf, ((k + 0.5) / 255.0 - mu) / s)
        # the tail nearer the bin is taken from the far side, where ndtr is accurate
        flip = (lo + hi) > 0
        p = np.where(flip, ndtr(-lo) - ndtr(-hi), ndtr(hi) - ndtr(lo))
        nll = -np.log(np.maximum(p, 1e-300)).reshape(len(xb), -1).sum(axis=1)
        total += float(np.sum(nll + kl))
    return total / len(x) / (math.prod(x.shape[1:]) * math.log(2.0))


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


def _given(model, labels, n):
    """The test labels a conditional model reads (`(labels,)`), else `()`."""
    return (_subset(labels, n),) if hasattr(model, "condition_units") else ()


def log_likelihood(model, x, preprocessing, k=5000, n=None, seed=0, binarize_seed=123, labels=None):
    """Importance-sampled test log-likelihood in nats (`VAE.log_likelihood`),
    of a conditional model log p(x | label) given each image's test label.

    The test images are binarized once with `static_binarize(x, binarize_seed)`
    (over the whole test split, then the first `n` are kept), the model's
    generator is reset to `seed`, and `k` importance samples are drawn per image.
    """
    xb = _subset(static_binarize(x, binarize_seed), n)
    given = _given(model, labels, n)
    estimate = model.log_likelihood(xb, *given, num_samples=k, seed=seed)
    return float(np.mean(estimate.astype(np.float64)))


def active_units(
    model, x, preprocessing, layer=1, samples=100, threshold=0.01, seed=0, binarize_seed=123, n=None
):
    """Active units of stochastic layer `layer` (1 = nearest the data), Burda
    et al.'s definition: units u with `Cov_x(E_q[u]) > threshold` over the test
    images, binarized as in `log_likelihood`. A model with several stochastic
    layers gives their posterior means (`posterior_means`, `samples` draws of
    the layers below, generator reset to `seed`); a VAE its `z_mean`."""
    xb = _subset(static_binarize(x, binarize_seed), n)
    reseed(model, seed)
    if hasattr(model, "posterior_means"):  # the lowest layer's means need no draws
        means = model.posterior_means(xb, num_samples=samples if layer > 1 else 1)
    else:
        means = [keras.ops.convert_to_numpy(model.encode_distribution(xb)[0])]
    if not 1 <= layer <= len(means):
        raise ValueError(f"layer must be in 1..{len(means)} for this model, got {layer!r}")
    variance = np.var(np.asarray(means[layer - 1], dtype=np.float64), axis=0)
    return float(np.sum(variance > threshold))


def elbo(model, x, preprocessing, n=None, seed=0, binarize_seed=None, batch_size=500, labels=None):
    """Test ELBO in nats per image (one posterior sample per image, generator
    reset to `seed`): `-(reconstruction_loss + kl_loss)`. With `binarize_seed`
    the images are first binarized as in `log_likelihood`; otherwise the
    Bernoulli likelihood is evaluated on grey levels (cross-entropy). A
    conditional model's ELBO is of each image given its test label."""
    x = static_binarize(x, binarize_seed) if binarize_seed is not None else x
    x = _subset(x, n)
    given = _given(model, labels, n)
    reseed(model, seed)
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb = tf.constant(x[i : i + batch_size])
        yb = [tf.constant(g[i : i + batch_size]) for g in given]
        terms = model.compute_losses(xb, *yb, training=False)
        total += float(terms["reconstruction_loss"] + terms["kl_loss"]) * len(xb)
    return -total / len(x)


def code_bits(model, x, preprocessing):
    """Bits of one image's discrete code, `h * w * log2(K)` (a VQVAE); does not read `x`."""
    return float(model.bits_per_image)


def code_perplexity(model, x, preprocessing, share=False, n=None):
    """Codebook perplexity, `exp(entropy)` of the code frequencies over all
    code maps of the first `n` test images (a VQVAE); with `share`, as a share of K."""
    perplexity, _ = model.code_usage(_subset(x, n))
    return perplexity / model.num_codes if share else perplexity


KINDS = {
    "mse": mse,
    "pca_mse": pca_mse,
    "pca_quality": pca_quality,
    "quality": quality,
    "gaussian_denoised_psnr": gaussian_denoised_psnr,
    "bits_per_dim": bits_per_dim,
    "denoised_psnr": denoised_psnr,
    "corrupted_psnr": corrupted_psnr,
    "mean_activation": mean_activation,
    "jacobian_norm": jacobian_norm,
    "log_likelihood": log_likelihood,
    "elbo": elbo,
    "active_units": active_units,
    "code_bits": code_bits,
    "code_perplexity": code_perplexity,
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
