"""The conditional entries: ConditionalVAE on MNIST and Fashion-MNIST, each
image's class as its condition, measured with the likelihood protocol of
vae50_mnist (dynamically binarized training, test binarized with seed 123)
given each test image's label."""

from zoo_table.common import BINARIZE_NOTE, LL_IMAGES, _elbo

BINARY = {"scale": "unit", "layout": "flat", "binarize": "dynamic"}
#: Wall-clock training budget (s): each entry trains within half an hour on a
#: shared 2-core CPU; the learning rate decays in wall time to `lr_end`.
BUDGET = 1500


def _likelihood(dataset_title, bars=None):
    full = {
        "name": "test_log_likelihood",
        "kind": "log_likelihood",
        "params": {"k": 5000, "n": LL_IMAGES, "seed": 0, "binarize_seed": 123},
        "unit": "nats per image",
        "protocol": "importance-sampled log p(x | label) (ConditionalVAE.log_likelihood given "
        f"each test image's label, k=5000, generator reset to seed 0), mean over all 10,000 "
        f"{dataset_title} test images; " + BINARIZE_NOTE,
        "tolerance": {"abs": 0.05},
        "quick": False,
    }
    quick = {
        "name": "test_log_likelihood_first200_k500",
        "kind": "log_likelihood",
        "params": {"k": 500, "n": 200, "seed": 0, "binarize_seed": 123},
        "unit": "nats per image",
        "protocol": "the same estimator on the first 200 test images with k=500, the "
        "subset CI re-measures",
        "tolerance": {"abs": 0.05},
        "quick": True,
    }
    for metric, bar in zip((full, quick), bars or (), strict=False):
        metric["bar"] = bar
    return [full, quick, _elbo(True)]


def _entry(name, dataset, title, bars=None):
    return dict(
        name=name,
        variant="ConditionalVAE",
        dataset=dataset,
        conditional=True,
        description=f"Conditional VAE on {title}: encoder q(z|x, y) and decoder p(x|z, y), "
        "MLP 784(+10)-512-256-32 with the one-hot class appended to the input and to the "
        "code, Bernoulli decoder, trained on dynamically binarized images with their labels.",
        kwargs=dict(
            input_shape=(784,),
            latent_dim=32,
            hidden_units=(512, 256),
            likelihood="bernoulli",
            num_classes=10,
        ),
        preprocessing=BINARY,
        epochs=1000,
        time_budget=BUDGET,
        batch_size=128,
        lr=1e-3,
        lr_end=1e-4,
        output_bias="mean_logit",
        weights_dtype="float16",
        figures=["class_grid"],
        metrics=_likelihood(title, bars),
    )


ENTRIES = [
    _entry(
        "cvae_mnist",
        "mnist",
        "MNIST",
        bars=(
            {
                "op": ">",
                "ref": "vae50_mnist:test_log_likelihood",
                "text": "above the unconditional vae50_mnist's log p(x) on the same images",
            },
            {
                "op": ">",
                "ref": "vae50_mnist:test_log_likelihood_first200_k500",
                "text": "above vae50_mnist's figure on the same 200 images",
            },
        ),
    ),
    _entry("cvae_fashion", "fashion_mnist", "Fashion-MNIST"),
]
