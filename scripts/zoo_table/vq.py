"""The VQ-VAE entries: discrete 7x7 code maps of MNIST and Fashion-MNIST, and
8x8 code maps of CIFAR-10 (JPEG)."""

from zoo_table.cifar import ALL, DATASET, FIRST, STEPS, _quality
from zoo_table.common import IMAGE, TOL_MSE, TOL_PSNR, _mse


def _perplexity(num_codes, where="the 10,000 test images", quick=True):
    return {
        "name": "test_perplexity",
        "kind": "code_perplexity",
        "params": {},
        "unit": "codes",
        "protocol": "exp(entropy) of the frequencies of the codes over all code maps of "
        f"{where} (at most K = {num_codes})",
        "tolerance": {"rel": 0.002},
        "quick": quick,
        "bar": {
            "op": ">=",
            "value": 0.25 * num_codes,
            "text": f"at least 25% of K = {num_codes} (no codebook collapse)",
        },
    }


_BITS = {
    "name": "bits_per_image",
    "kind": "code_bits",
    "params": {},
    "unit": "bits",
    "protocol": "bits of one image's code: h * w * log2(K) for its h x w code map",
    "tolerance": {"abs": 1e-9},
    "quick": True,
}


def _vq_metrics(num_codes):
    return [
        _mse(),
        {
            "name": "test_psnr",
            "kind": "quality",
            "params": {"statistic": "psnr"},
            "unit": "dB",
            "protocol": "mean per-image PSNR (peak 1) of the reconstruction decoded from the "
            "code maps of the 10,000 test images, clipped to [0, 1]",
            "tolerance": TOL_PSNR,
            "quick": True,
        },
        _BITS,
        _perplexity(num_codes),
    ]


def _entry(name, dataset, what, num_codes=64):
    return dict(
        name=name,
        variant="VQVAE",
        dataset=dataset,
        description=f"VQ-VAE on {what}: stride-2 Conv 32-64 to a 7x7 grid of 16-d vectors, "
        f"each the nearest of K={num_codes} codebook vectors (EMA codebook, dead-code "
        "restarts), decoded by the mirrored transposed convolutions.",
        kwargs=dict(
            input_shape=(28, 28, 1),
            latent_dim=16,
            num_codes=num_codes,
            filters=(32, 64),
            reconstruction_loss="mse",
        ),
        preprocessing=IMAGE,
        epochs=40,
        batch_size=128,
        lr=2e-3,
        lr_end=2e-4,
        time_budget=1200,
        figures=["reconstructions"],
        metrics=_vq_metrics(num_codes),
    )


def _cifar_entry(num_codes=256):
    """8x8 codes of K=256 (512 bits per image, the bits of 64 8-bit values)."""
    mse = {
        "name": "test_mse",
        "kind": "mse",
        "params": {},
        "unit": "per-pixel MSE",
        "protocol": "mean squared error per pixel of the reconstruction decoded from the "
        f"code maps of {ALL}, pixels in [0, 1]",
        "tolerance": TOL_MSE,
        "quick": False,
    }
    return dict(
        name="vqvae_cifar",
        variant="VQVAE",
        dataset=DATASET,
        description="VQ-VAE on CIFAR-10 (JPEG) 32x32x3: stride-2 Conv 64-128 to an 8x8 grid "
        f"of 32-d vectors, each the nearest of K={num_codes} codebook vectors (EMA codebook, "
        "dead-code restarts), decoded by the mirrored transposed convolutions.",
        kwargs=dict(
            input_shape=(32, 32, 3),
            latent_dim=32,
            num_codes=num_codes,
            filters=(64, 128),
            reconstruction_loss="mse",
        ),
        preprocessing=IMAGE,
        **STEPS,  # as the CIFAR conv AEs
        figures=["reconstructions"],
        metrics=[
            mse,
            {
                **mse,
                "name": "test_mse_first1000",
                "params": {"n": 1000},
                "protocol": "the same on " + FIRST.format(n=1000),
                "quick": True,
            },
            _quality("psnr"),
            _quality("psnr", 1000),
            _BITS,
            _perplexity(num_codes, ALL, quick=False),
        ],
    )


ENTRIES = [
    _entry("vqvae_mnist", "mnist", "MNIST"),
    _entry("vqvae_fashion", "fashion_mnist", "Fashion-MNIST"),
    _cifar_entry(),
]
