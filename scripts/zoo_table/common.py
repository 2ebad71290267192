"""Metric specs and preprocessing shared by the zoo's entry tables.

Each metric dict names a `keras_ae.zoo.protocols` kind with its parameters,
tolerance and (optionally) the bar its card checks.
"""

FLAT = {"scale": "unit", "layout": "flat", "binarize": None}
IMAGE = {"scale": "unit", "layout": "image", "binarize": None}
TOL_MSE = {"rel": 0.002, "abs": 1e-6}
TOL_PSNR = {"abs": 0.02}
TOL_NATS = {"abs": 0.05}


def _mse(bar=None, n=None):
    m = {
        "name": "test_mse",
        "kind": "mse",
        "params": {"n": n} if n else {},
        "unit": "per-pixel MSE",
        "protocol": "mean squared error per pixel of the deterministic reconstruction of the "
        "10,000 test images, pixels in [0, 1]",
        "tolerance": TOL_MSE,
        "quick": True,
    }
    if bar:
        m["bar"] = bar
    return m


def _pca():
    return {
        "name": "pca30_mse",
        "kind": "pca_mse",
        "params": {"components": 30},
        "unit": "per-pixel MSE",
        "reference": True,
        "protocol": "PCA with 30 components fitted on the 60,000 training images "
        "(eigendecomposition of the covariance, float64), MSE on the test images",
        "tolerance": TOL_MSE,
        "quick": True,
    }


def _denoise(bar=None):
    d = {
        "name": "denoised_psnr",
        "kind": "denoised_psnr",
        "params": {"rate": 0.5, "seed": 0},
        "unit": "dB",
        "protocol": "mean per-image PSNR (peak 1) of the reconstruction of test images whose "
        "pixels were each zeroed with probability 0.5 (corruption.dropout_mask, "
        "seed=0), against the clean images",
        "tolerance": TOL_PSNR,
        "quick": True,
    }
    if bar:
        d["bar"] = bar
    c = {
        "name": "corrupted_psnr",
        "kind": "corrupted_psnr",
        "params": {"rate": 0.5, "seed": 0},
        "unit": "dB",
        "reference": True,
        "protocol": "mean per-image PSNR of the same dropout-masked test images themselves",
        "tolerance": TOL_PSNR,
        "quick": True,
    }
    return [d, c]


def _activation(bar=None):
    m = {
        "name": "mean_activation",
        "kind": "mean_activation",
        "params": {},
        "unit": "",
        "protocol": "mean code activation over the 10,000 test images and all code units",
        "tolerance": {"abs": 1e-4, "rel": 0.002},
        "quick": True,
    }
    if bar:
        m["bar"] = bar
    return m


def _jacobian(bar=None):
    m = {
        "name": "jacobian_norm",
        "kind": "jacobian_norm",
        "params": {},
        "unit": "",
        "protocol": "mean over the 10,000 test images of the Frobenius norm ||dh/dx||_F of "
        "the encoder's Jacobian (exact: the closed form sum_j f'(a_j)^2 ||W_j||^2 for "
        "this one-layer dense encoder, tf.GradientTape.batch_jacobian for deeper "
        "ones)",
        "tolerance": {"rel": 0.002},
        "quick": True,
    }
    if bar:
        m["bar"] = bar
    return m


# Test images in the k=5000 log-likelihood of the VAE (see its protocol).
LL_IMAGES = 10000  # the whole test split (about 20 minutes of this 2-core CPU)
BINARIZE_NOTE = (
    "test images binarized once: pixel = u < intensity with u from "
    "numpy.random.default_rng(123).random over the (10000, 784) test array"
)


def _elbo(binarized, n=None):
    params = {"seed": 0}
    if binarized:
        params["binarize_seed"] = 123
    if n:
        params["n"] = n
    what = (
        BINARIZE_NOTE
        if binarized
        else (
            "Bernoulli likelihood evaluated on the grey levels in [0, 1] (a cross-entropy, not "
            "the log-likelihood of binary data)"
        )
    )
    return {
        "name": "test_elbo",
        "kind": "elbo",
        "params": params,
        "unit": "nats per image",
        "protocol": "ELBO = -(reconstruction + KL) with one posterior sample per image "
        f"(model generator reset to seed 0), mean over the test images; {what}",
        "tolerance": TOL_NATS,
        "quick": True,
    }


#: The card's "Intended use" section ({data}: the dataset's title).
INTENDED_USE = (
    "Research, teaching and benchmarking: reproducing the figures above, a baseline "
    "to compare against, a starting point for fine-tuning on data like {data}. Its "
    "figures hold for the {data} test split only; it was not evaluated on other data, "
    "and it is not meant for decisions about people."
)
#: The card's "License" section ({terms}: the training data's own terms).
LICENSE = (
    "The weights are keras_ae's own training output and ship with the package under "
    "its terms. They were trained on {data}, whose terms are: {terms}."
)
#: The terms of each zoo dataset, as its publisher gives them.
DATA_LICENSES = {
    "mnist": "LeCun & Cortes, commonly cited as CC BY-SA 3.0",
    "fashion_mnist": "MIT, Zalando SE",
    "cifar10_jpeg": "CIFAR-10 (Krizhevsky 2009), research use; this copy is a JPEG "
    "re-encoding (figures are CIFAR-10 (JPEG) figures)",
}
