"""The MNIST and Fashion-MNIST entries: the lecture's models and their references."""

from zoo_table.common import (
    BINARIZE_NOTE,
    FLAT,
    IMAGE,
    LL_IMAGES,
    _activation,
    _denoise,
    _elbo,
    _jacobian,
    _mse,
    _pca,
)

ENTRIES = [
    dict(
        name="ae_tanh30_mnist",
        variant="Autoencoder",
        description="The lecture's model: one dense tanh layer 784-30-784 with a tanh "
        "output, trained on pixels scaled to [-1, 1].",
        kwargs=dict(
            input_shape=(784,),
            latent_dim=30,
            latent_activation="tanh",
            output_activation="tanh",
            reconstruction_loss="mse",
        ),
        preprocessing={"scale": "symmetric", "layout": "flat", "binarize": None},
        epochs=60,
        batch_size=128,
        lr=5e-4,
        lr_decay=0.98,
        figures=["reconstructions"],
        metrics=[
            _mse(
                bar={
                    "op": "<",
                    "ref": "self:pca30_mse",
                    "text": "below PCA with 30 components (issue: 0.0177)",
                }
            ),
            _pca(),
        ],
    ),
    dict(
        name="tied_linear30_mnist",
        variant="TiedAutoencoder",
        description="Linear autoencoder with tied weights (W_x = W_h^T), d=30: with the "
        "squared error it learns the principal subspace.",
        kwargs=dict(input_shape=(784,), latent_dim=30, reconstruction_loss="mse"),
        preprocessing=FLAT,
        epochs=40,
        batch_size=128,
        lr=2e-3,
        lr_decay=0.9,
        figures=["reconstructions", "kernels"],
        metrics=[
            _mse(
                bar={
                    "op": "<=",
                    "ref": "self:pca30_mse",
                    "factor": 1.02,
                    "text": "within 2% of PCA-30",
                }
            ),
            _pca(),
        ],
    ),
    dict(
        name="ae_sigmoid30_mnist",
        variant="Autoencoder",
        description="Plain one-layer sigmoid autoencoder 784-30-784, the same shape as the "
        "contractive entry (its Jacobian-norm reference).",
        kwargs=dict(
            input_shape=(784,),
            latent_dim=30,
            latent_activation="sigmoid",
            output_activation="sigmoid",
            reconstruction_loss="bce",
        ),
        preprocessing=FLAT,
        epochs=30,
        batch_size=128,
        lr=2e-3,
        lr_decay=0.95,
        output_bias="mean_logit",
        figures=["reconstructions"],
        metrics=[_mse(), _jacobian()],
    ),
    dict(
        name="cae30_mnist",
        variant="ContractiveAutoencoder",
        description="Contractive autoencoder, one sigmoid layer 784-30-784, lambda=0.1 on "
        "||dh/dx||_F^2.",
        kwargs=dict(
            input_shape=(784,),
            latent_dim=30,
            output_activation="sigmoid",
            reconstruction_loss="bce",
            contractive_weight=0.1,
        ),
        preprocessing=FLAT,
        epochs=30,
        batch_size=128,
        lr=2e-3,
        lr_decay=0.95,
        output_bias="mean_logit",
        figures=["reconstructions"],
        metrics=[
            _mse(),
            _jacobian(
                bar={
                    "op": "<",
                    "ref": "ae_sigmoid30_mnist:jacobian_norm",
                    "text": "below the plain sigmoid AE of the same shape",
                }
            ),
        ],
    ),
    dict(
        name="ae500_mnist",
        variant="Autoencoder",
        description="Over-complete one-layer autoencoder 784-500-784 (sigmoid), the "
        "standard half of the lecture's kernel comparison.",
        kwargs=dict(
            input_shape=(784,),
            latent_dim=500,
            latent_activation="sigmoid",
            output_activation="sigmoid",
            reconstruction_loss="bce",
        ),
        preprocessing=FLAT,
        epochs=20,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.95,
        weights_dtype="float16",
        figures=["kernels", "denoising", "reconstructions"],
        metrics=[_mse(), *_denoise()],
    ),
    dict(
        name="dae500_dropout_mnist",
        variant="DenoisingAutoencoder",
        description="Over-complete denoising autoencoder 784-500-784 (sigmoid) trained with "
        "a dropout mask (each pixel zeroed with p=0.5, fresh every batch).",
        kwargs=dict(
            input_shape=(784,),
            latent_dim=500,
            latent_activation="sigmoid",
            output_activation="sigmoid",
            reconstruction_loss="bce",
            noise="dropout",
            noise_params={"rate": 0.5},
        ),
        preprocessing=FLAT,
        epochs=20,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.95,
        weights_dtype="float16",
        figures=["kernels", "denoising", "reconstructions"],
        metrics=[
            _mse(),
            *_denoise(
                bar={
                    "op": ">",
                    "ref": "ae500_mnist:denoised_psnr",
                    "text": "above the standard 784-500-784 AE",
                }
            ),
        ],
    ),
    dict(
        name="sparse_l1_mnist",
        variant="SparseAutoencoder",
        description="Over-complete sparse autoencoder 784-1024-784 (sigmoid code) with an L1 "
        "penalty 0.05 * sum |h| per image.",
        kwargs=dict(
            input_shape=(784,),
            latent_dim=1024,
            mode="l1",
            sparsity_weight=0.05,
            output_activation="sigmoid",
            reconstruction_loss="bce",
        ),
        preprocessing=FLAT,
        epochs=12,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.95,
        output_bias="mean_logit",
        weights_dtype="float16",
        figures=["kernels", "reconstructions"],
        metrics=[_mse(), _activation()],
    ),
    dict(
        name="sparse_kl_mnist",
        variant="SparseAutoencoder",
        description="Over-complete sparse autoencoder 784-1024-784 (sigmoid code) with "
        "sum_j KL(rho || rho_hat_j), rho=0.05, weight 1.",
        kwargs=dict(
            input_shape=(784,),
            latent_dim=1024,
            mode="kl",
            sparsity_weight=1.0,
            rho=0.05,
            output_activation="sigmoid",
            reconstruction_loss="bce",
        ),
        preprocessing=FLAT,
        epochs=15,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.95,
        weights_dtype="float16",
        figures=["kernels", "reconstructions"],
        metrics=[
            _mse(),
            _activation(
                bar={
                    "op": "within",
                    "value": 0.05,
                    "margin": 0.02,
                    "text": "within 0.02 of rho = 0.05",
                }
            ),
        ],
    ),
    dict(
        name="deep_ae16_mnist",
        variant="DeepAutoencoder",
        description="Deep MLP autoencoder 784-512-256-16 (ReLU, linear code, sigmoid output).",
        kwargs=dict(input_shape=(784,), latent_dim=16, reconstruction_loss="bce"),
        preprocessing=FLAT,
        epochs=20,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.95,
        output_bias="mean_logit",
        weights_dtype="float16",
        figures=["reconstructions"],
        metrics=[_mse(bar={"op": "<=", "value": 0.0080, "text": "<= 0.0080"})],
    ),
    dict(
        name="deep_ae30_mnist",
        variant="DeepAutoencoder",
        description="Deep MLP autoencoder 784-512-256-30 (ReLU, linear code, sigmoid output).",
        kwargs=dict(input_shape=(784,), latent_dim=30, reconstruction_loss="bce"),
        preprocessing=FLAT,
        epochs=30,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.95,
        output_bias="mean_logit",
        weights_dtype="float16",
        figures=["reconstructions"],
        metrics=[_mse(bar={"op": "<=", "value": 0.0045, "text": "<= 0.0045"})],
    ),
    dict(
        name="deep_ae32_fashion",
        variant="DeepAutoencoder",
        dataset="fashion_mnist",
        description="Deep MLP autoencoder 784-512-256-32 on Fashion-MNIST, the reference "
        "for the convolutional Fashion-MNIST entry.",
        kwargs=dict(input_shape=(784,), latent_dim=32, reconstruction_loss="bce"),
        preprocessing=FLAT,
        epochs=15,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.95,
        output_bias="mean_logit",
        weights_dtype="float16",
        figures=["reconstructions"],
        metrics=[_mse()],
    ),
    dict(
        name="conv_ae16_mnist",
        variant="ConvAutoencoder",
        description="Convolutional autoencoder: stride-2 Conv 32-64, dense code d=16, "
        "transposed convolutions back.",
        kwargs=dict(
            input_shape=(28, 28, 1), latent_dim=16, filters=(32, 64), reconstruction_loss="bce"
        ),
        preprocessing=IMAGE,
        epochs=20,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.9,
        figures=["reconstructions"],
        metrics=[
            _mse(
                bar={
                    "op": "<",
                    "ref": "deep_ae16_mnist:test_mse",
                    "text": "below the deep MLP with d=16",
                }
            )
        ],
    ),
    dict(
        name="conv_ae32_fashion",
        variant="ConvAutoencoder",
        dataset="fashion_mnist",
        description="Convolutional autoencoder on Fashion-MNIST: stride-2 Conv 32-64, dense "
        "code d=32.",
        kwargs=dict(
            input_shape=(28, 28, 1), latent_dim=32, filters=(32, 64), reconstruction_loss="bce"
        ),
        preprocessing=IMAGE,
        epochs=20,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.9,
        figures=["reconstructions"],
        metrics=[
            _mse(
                bar={
                    "op": "<",
                    "ref": "deep_ae32_fashion:test_mse",
                    "text": "below the deep MLP with d=32",
                }
            )
        ],
    ),
    dict(
        name="conv_dae_mnist",
        variant="DenoisingAutoencoder",
        description="Convolutional denoising autoencoder (stride-2 Conv 16-32, code 64) "
        "trained to undo a dropout mask (each pixel zeroed with p=0.5).",
        kwargs=dict(
            input_shape=(28, 28, 1),
            latent_dim=64,
            network="conv",
            filters=(16, 32),
            reconstruction_loss="bce",
            noise="dropout",
            noise_params={"rate": 0.5},
        ),
        preprocessing=IMAGE,
        epochs=4,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.95,
        figures=["denoising"],
        metrics=[
            *_denoise(
                bar={
                    "op": ">",
                    "ref": "self:corrupted_psnr",
                    "text": "above the PSNR of the corrupted input",
                }
            ),
            _mse(),
        ],
    ),
    dict(
        name="vae2_mnist",
        variant="VAE",
        description="VAE with a 2-D latent space, MLP 784-512-256-2, Bernoulli decoder, "
        "dynamically binarized MNIST.",
        kwargs=dict(input_shape=(784,), latent_dim=2, likelihood="bernoulli"),
        preprocessing={"scale": "unit", "layout": "flat", "binarize": "dynamic"},
        epochs=20,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.97,
        output_bias="mean_logit",
        weights_dtype="float16",
        figures=["manifold", "codes", "samples"],
        metrics=[_elbo(True)],
    ),
    dict(
        name="conv_vae32_fashion",
        variant="VAE",
        dataset="fashion_mnist",
        description="Convolutional VAE on Fashion-MNIST (stride-2 Conv 16-32, d=32, Bernoulli "
        "decoder on grey levels).",
        kwargs=dict(
            input_shape=(28, 28, 1),
            latent_dim=32,
            network="conv",
            filters=(16, 32),
            hidden_units=(),
            likelihood="bernoulli",
        ),
        preprocessing=IMAGE,
        epochs=4,
        batch_size=128,
        lr=1e-3,
        lr_decay=0.97,
        figures=["samples", "reconstructions"],
        metrics=[_elbo(False)],
    ),
    dict(
        name="vae50_mnist",
        variant="VAE",
        description="VAE, MLP 784-896-448-50 with a Bernoulli decoder, trained on dynamically "
        "binarized MNIST (a fresh Bernoulli draw of every image each epoch).",
        kwargs=dict(
            input_shape=(784,), latent_dim=50, hidden_units=(896, 448), likelihood="bernoulli"
        ),
        preprocessing={"scale": "unit", "layout": "flat", "binarize": "dynamic"},
        epochs=500,
        batch_size=256,
        lr=1e-3,
        lr_decay=0.1 ** (1 / 500),
        output_bias="mean_logit",
        weights_dtype="float16",
        figures=["samples", "reconstructions"],
        metrics=[
            {
                "name": "test_log_likelihood",
                "kind": "log_likelihood",
                "params": {"k": 5000, "n": LL_IMAGES, "seed": 0, "binarize_seed": 123},
                "unit": "nats per image",
                "protocol": "importance-sampled log p(x) (VAE.log_likelihood, k=5000 samples from "
                "q(z|x), generator reset to seed 0), mean over all 10,000 test "
                "images; " + BINARIZE_NOTE,
                "tolerance": {"abs": 0.05},
                "quick": False,
                "bar": {
                    "op": ">=",
                    "value": -86.76,
                    "text": ">= -86.76 (Burda et al. 2015, one-layer VAE; pythae's VAE: -89.78)",
                },
            },
            {
                "name": "test_log_likelihood_first200_k500",
                "kind": "log_likelihood",
                "params": {"k": 500, "n": 200, "seed": 0, "binarize_seed": 123},
                "unit": "nats per image",
                "protocol": "the same estimator on the first 200 test images with k=500, the "
                "subset CI re-measures (a k=500 estimate is slightly below k=5000)",
                "tolerance": {"abs": 0.05},
                "quick": True,
            },
            _elbo(True),
        ],
    ),
]
