"""`ConvAutoencoder`: the base model with a convolutional network by default."""

import keras

from keras_ae.models.base import Autoencoder


@keras.saving.register_keras_serializable(package="keras_ae")
class ConvAutoencoder(Autoencoder):
    """A convolutional autoencoder: stride-2 convolutions, then transposed ones.

    Example:
        >>> model = ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16)
    """

    defaults = {**Autoencoder.defaults, "network": "conv", "filters": (32, 64)}
