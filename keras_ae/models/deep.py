"""`DeepAutoencoder`: the base model with a deep MLP, 784-512-256-d-256-512-784 by default."""

import keras

from keras_ae.models.base import Autoencoder


@keras.saving.register_keras_serializable(package="keras_ae")
class DeepAutoencoder(Autoencoder):
    """A deep MLP autoencoder, 784-512-256-d-256-512-784 by default.

    Example:
        >>> model = DeepAutoencoder(input_shape=(784,), latent_dim=30)
    """

    defaults = {**Autoencoder.defaults, "hidden_units": (512, 256)}
