"""The colour entries: CIFAR-10 (JPEG), 32x32x3, with PCA and noisy-input references.

CIFAR-10 (JPEG) is a JPEG re-encoding of CIFAR-10 (see `load_cifar10_jpeg`):
its figures are not comparable digit for digit with published CIFAR-10 ones.
"""

from zoo_table.common import IMAGE, TOL_MSE, TOL_PSNR

DATASET = "cifar10_jpeg"
ALL = "all 10,000 CIFAR-10 (JPEG) test images"
FIRST = "the first {n:,} test images (the subset CI re-measures)"


#: How the step-scheduled CIFAR entries train: 16,000 steps of 128 images (45
#: passes over the 45,000 training images left after holding out the last
#: 5,000 to follow the run), the learning rate decaying per step, so the same
#: weights come on any machine; weights stored as float16 (the zoo's 40 MB
#: holds these 0.25-0.5 million parameter models only at half size).
STEPS = dict(
    epochs=32,
    steps_per_epoch=500,
    validation=5000,
    batch_size=128,
    lr=2e-3,
    lr_end=2e-5,
    lr_schedule="cosine",
    weights_dtype="float16",
)


def _quality(statistic, n=None):
    unit, tol = ("dB", TOL_PSNR) if statistic == "psnr" else ("", {"abs": 5e-4})
    what = "PSNR (peak 1)" if statistic == "psnr" else "SSIM (11x11 Gaussian window, sigma 1.5)"
    return {
        "name": f"test_{statistic}" + (f"_first{n}" if n else ""),
        "kind": "quality",
        "params": {"statistic": statistic, **({"n": n} if n else {})},
        "unit": unit,
        "protocol": f"mean per-image {what} of the reconstruction (clipped to [0, 1]) of "
        + (FIRST.format(n=n) if n else ALL),
        "tolerance": tol,
        "quick": bool(n),
    }


def _pca(components, statistic="mse"):
    base = {
        "unit": "per-pixel MSE" if statistic == "mse" else ("dB" if statistic == "psnr" else ""),
        "reference": True,
        "protocol": f"PCA with {components} components fitted on the 50,000 training images "
        "(eigendecomposition of the 3072x3072 covariance, float64), on " + ALL,
        # fitting takes about a minute here: CI re-measures the models, not the reference
        "quick": False,
    }
    if statistic == "mse":
        return {
            **base,
            "name": f"pca{components}_mse",
            "kind": "pca_mse",
            "params": {"components": components},
            "tolerance": TOL_MSE,
        }
    return {
        **base,
        "name": f"pca{components}_{statistic}",
        "kind": "pca_quality",
        "params": {"components": components, "statistic": statistic},
        "protocol": base["protocol"] + " (reconstruction clipped to [0, 1])",
        "tolerance": TOL_PSNR if statistic == "psnr" else {"abs": 5e-4},
    }


def _conv_ae(code, filters, strides, grid):
    return dict(
        name=f"conv_ae{code}_cifar",
        variant="ConvAutoencoder",
        dataset=DATASET,
        description=f"Convolutional autoencoder on CIFAR-10 (JPEG) 32x32x3 with {code} code "
        f"values: 3x3 convolutions {'-'.join(map(str, filters))} (strides "
        f"{'-'.join(map(str, strides))}), a spatial code of {grid} "
        "(kernel-1 convolution), transposed convolutions back, sigmoid output, MSE loss.",
        kwargs=dict(
            input_shape=(32, 32, 3),
            latent_dim=code,
            filters=filters,
            strides=strides,
            code_layer="conv",
            reconstruction_loss="mse",
        ),
        preprocessing=IMAGE,
        **STEPS,
        figures=["reconstructions"],
        metrics=[
            {
                "name": "test_mse",
                "kind": "mse",
                "params": {},
                "unit": "per-pixel MSE",
                "protocol": "mean squared error per pixel of the reconstruction of "
                + ALL
                + ", pixels in [0, 1]",
                "tolerance": TOL_MSE,
                "quick": False,
                "bar": {
                    "op": "<",
                    "ref": f"self:pca{code}_mse",
                    "text": f"below PCA with {code} components",
                },
            },
            {
                "name": "test_mse_first1000",
                "kind": "mse",
                "params": {"n": 1000},
                "unit": "per-pixel MSE",
                "protocol": "the same on " + FIRST.format(n=1000),
                "tolerance": TOL_MSE,
                "quick": True,
            },
            _quality("psnr"),
            _quality("ssim"),
            _quality("psnr", 1000),
            _pca(code),
            _pca(code, "psnr"),
            _pca(code, "ssim"),
        ],
    )


def _denoised(sigma, n=None, noisy=False):
    what = "the noisy input itself" if noisy else "the model's output (clipped to [0, 1])"
    return {
        "name": f"{'noisy' if noisy else 'denoised'}_psnr_sigma{int(sigma * 100):02d}"
        + (f"_first{n}" if n else ""),
        "kind": "gaussian_denoised_psnr",
        "params": {
            "sigma": sigma,
            "seed": 0,
            **({"n": n} if n else {}),
            **({"noisy": True} if noisy else {}),
        },
        "unit": "dB",
        "reference": noisy,
        "protocol": f"mean per-image PSNR against the clean image of {what}, for "
        + (FIRST.format(n=n) if n else ALL)
        + f" with gaussian noise sigma={sigma} added (numpy default_rng(0) over the whole "
        "test array, clipped to [0, 1], rounded to 8 bits: protocols.gaussian_noisy)",
        "tolerance": TOL_PSNR,
        "quick": bool(n) or noisy,
    }


ENTRIES = [
    _conv_ae(64, (32, 64, 128, 128), (2, 2, 2, 1), "4x4x4"),
    _conv_ae(256, (32, 64, 128, 128), (2, 2, 1, 1), "8x8x4"),
    dict(
        name="conv_dae_cifar",
        variant="ConvAutoencoder",
        dataset=DATASET,
        description="Blind colour denoising autoencoder on CIFAR-10 (JPEG): trained on pairs "
        "(noisy, clean), each training image with gaussian noise of its own sigma, uniform in "
        "[0.05, 0.25] (pixels in [0, 1]), clipped to [0, 1]. 3x3 convolutions 64-64-64 "
        "(strides 1-2-1), a 16x16x32 spatial code, transposed convolutions back.",
        kwargs=dict(
            input_shape=(32, 32, 3),
            latent_dim=16 * 16 * 32,
            filters=(64, 64, 64),
            strides=(1, 2, 1),
            code_layer="conv",
            reconstruction_loss="mse",
        ),
        preprocessing=IMAGE,
        pair_noise={"kind": "gaussian", "sigma_range": (0.05, 0.25)},
        epochs=500,
        steps_per_epoch=100,
        time_budget=2400,
        batch_size=64,
        lr=2e-3,
        lr_end=2e-4,
        figures=["gaussian_denoising"],
        metrics=[
            _denoised(0.1),
            _denoised(0.2),
            _denoised(0.1, 500),
            _denoised(0.2, 500),
            _denoised(0.1, noisy=True),
            _denoised(0.2, noisy=True),
        ],
    ),
    dict(
        name="conv_vae128_cifar",
        variant="VAE",
        dataset=DATASET,
        description="Convolutional VAE on CIFAR-10 (JPEG): 3x3 convolutions 32-64-64 "
        "(stride 2), a dense code of 128 latent dimensions, a Gaussian decoder with fixed "
        "standard deviation 0.05 (pixels in [0, 1]); bits per dimension under the "
        "discretized Gaussian (8-bit bins).",
        kwargs=dict(
            input_shape=(32, 32, 3),
            latent_dim=128,
            network="conv",
            filters=(32, 64, 64),
            hidden_units=(),
            likelihood="gaussian",
            observation_std=0.05,
        ),
        preprocessing=IMAGE,
        epochs=500,
        steps_per_epoch=100,
        time_budget=2400,
        batch_size=128,
        lr=1e-3,
        lr_end=2e-4,
        weights_dtype="float16",
        figures=["samples", "reconstructions"],
        metrics=[
            {
                "name": f"test_bits_per_dim{suffix}",
                "kind": "bits_per_dim",
                "params": {"seed": 0, **params},
                "unit": "bits/dim",
                "protocol": "negative ELBO / (3072 ln 2) under the discretized Gaussian "
                "(each 8-bit value's bin [k-0.5, k+0.5]/255 of N(mu, 0.05^2), the end bins "
                "taking the tails): a bound on -log2 P(x) per sub-pixel, one posterior "
                f"sample per image (generator reset to seed 0), on {where}",
                "tolerance": {"abs": 0.002},
                "quick": quick,
            }
            for suffix, params, where, quick in (
                ("", {}, ALL, False),
                ("_first1000", {"n": 1000}, FIRST.format(n=1000), True),
            )
        ]
        + [
            {
                "name": "test_mse_first1000",
                "kind": "mse",
                "params": {"n": 1000},
                "unit": "per-pixel MSE",
                "protocol": "mean squared error per pixel of the deterministic reconstruction "
                "(decoder mean at the posterior mean) of " + FIRST.format(n=1000),
                "tolerance": TOL_MSE,
                "quick": True,
            }
        ],
    ),
]
