"""The VQ-VAE entries: discrete 7x7 code maps of MNIST and Fashion-MNIST."""

from zoo_table.common import IMAGE, TOL_PSNR, _mse


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
        {
            "name": "bits_per_image",
            "kind": "code_bits",
            "params": {},
            "unit": "bits",
            "protocol": "bits of one image's code: h * w * log2(K) for its h x w code map",
            "tolerance": {"abs": 1e-9},
            "quick": True,
        },
        {
            "name": "test_perplexity",
            "kind": "code_perplexity",
            "params": {},
            "unit": "codes",
            "protocol": "exp(entropy) of the frequencies of the codes over all code maps of "
            f"the 10,000 test images (at most K = {num_codes})",
            "tolerance": {"rel": 0.002},
            "quick": True,
            "bar": {
                "op": ">=",
                "value": 0.25 * num_codes,
                "text": f"at least 25% of K = {num_codes} (no codebook collapse)",
            },
        },
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


ENTRIES = [
    _entry("vqvae_mnist", "mnist", "MNIST"),
    _entry("vqvae_fashion", "fashion_mnist", "Fashion-MNIST"),
]
