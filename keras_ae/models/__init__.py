"""Every autoencoder variant, each a subclass of `Autoencoder`: what a model
computes (its networks, forward pass, loss terms and config), one module per
variant; how it trains is `keras_ae.training`'s. `VARIANTS` maps each class
name to its class, for tests, the CLI and the zoo.
"""

from keras_ae.models.base import Autoencoder
from keras_ae.models.conditional import ConditionalVAE
from keras_ae.models.contractive import ContractiveAutoencoder
from keras_ae.models.conv import ConvAutoencoder
from keras_ae.models.deep import DeepAutoencoder
from keras_ae.models.denoising import DenoisingAutoencoder
from keras_ae.models.hashing import SemanticHashingAE
from keras_ae.models.hierarchical import HierarchicalVAE
from keras_ae.models.iwae import IWAE
from keras_ae.models.sparse import SparseAutoencoder
from keras_ae.models.tied import TiedAutoencoder
from keras_ae.models.vae import VAE
from keras_ae.models.vqvae import VQVAE
from keras_ae.training.finite import NonFiniteError

VARIANTS = {
    cls.__name__: cls
    for cls in (
        Autoencoder,
        TiedAutoencoder,
        DeepAutoencoder,
        ConvAutoencoder,
        SparseAutoencoder,
        DenoisingAutoencoder,
        ContractiveAutoencoder,
        VAE,
        SemanticHashingAE,
        ConditionalVAE,
        IWAE,
        HierarchicalVAE,
        VQVAE,
    )
}

__all__ = list(VARIANTS) + ["VARIANTS", "NonFiniteError"]
