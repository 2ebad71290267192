"""Deep MLP and convolutional autoencoders: the base model with other defaults."""

import keras

from keras_ae.models.base import Autoencoder


@keras.saving.register_keras_serializable(package="keras_ae")
class DeepAutoencoder(Autoencoder):
    """A deep MLP autoencoder, 784-512-256-d-256-512-784 by default.

    Example:
        >>> model = DeepAutoencoder(input_shape=(784,), latent_dim=30)
    """

    defaults = {**Autoencoder.defaults, "hidden_units": (512, 256)}


@keras.saving.register_keras_serializable(package="keras_ae")
class ConvAutoencoder(Autoencoder):
    """A convolutional autoencoder: stride-2 convolutions, then transposed ones.

    Example:
        >>> model = ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16)
    """

    defaults = {**Autoencoder.defaults, "network": "conv", "filters": (32, 64)}
