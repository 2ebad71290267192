"""keras_ae: classic autoencoders as Keras 3 models.

Submodules:
    models: the base `Autoencoder` and every variant (VAE, contractive, ...):
        what each computes.
    training: how they run: train/test steps, `compile()` defaults, input
        checks, atomic saving, `NonFiniteError`.
    networks: MLP and convolutional encoder/decoder builders.
    losses: reconstruction, KL, sparsity and contractive terms.
    corruption: noise and masks for denoising, inpainting and imputation.
    datasets: loaders for the real datasets in their publishers' formats.
"""

__version__ = "0.1.0"

from keras_ae import losses, models, networks, training  # noqa: F401
from keras_ae.models import *  # noqa: F401,F403
from keras_ae.training import NonFiniteError  # noqa: F401


def __getattr__(name):
    # Heavier submodules load on first use so `import keras_ae` stays quick.
    import importlib

    if name in ("corruption", "datasets", "zoo", "export", "tasks", "plotting", "cli"):
        return importlib.import_module(f"keras_ae.{name}")
    raise AttributeError(f"module 'keras_ae' has no attribute {name!r}")
