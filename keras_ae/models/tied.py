"""The tied-weights autoencoder: the decoder reuses the encoder's kernel."""

import math

import keras
from keras import ops

from keras_ae.models.arguments import layer_activation
from keras_ae.models.base import Autoencoder


class _Reference:
    """Holds a layer without Keras tracking it (its weights are saved once)."""

    def __init__(self, layer):
        self.layer = layer


@keras.saving.register_keras_serializable(package="keras_ae")
class TiedDense(keras.layers.Layer):
    """`g(h W^T + b)` with `W` the kernel of another Dense layer.

    Only the bias belongs to this layer; the kernel stays the tied layer's.
    """

    def __init__(self, tied_to, output_shape, activation=None, **kwargs):
        super().__init__(**kwargs)
        self._tied = _Reference(tied_to)
        self.target_shape = tuple(output_shape)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.bias = self.add_weight(
            shape=(math.prod(self.target_shape),), initializer="zeros", name="bias"
        )

    def call(self, h):
        if len(h.shape) != 2:  # the reshape below would fold extra axes into the batch
            raise ValueError(
                f"TiedDense takes codes of shape (batch, units), got shape {tuple(h.shape)}"
            )
        kernel = ops.cast(self._tied.layer.kernel, self.compute_dtype)
        x = self.activation(ops.matmul(h, ops.transpose(kernel)) + self.bias)
        return ops.reshape(x, (-1,) + self.target_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.target_shape


@keras.saving.register_keras_serializable(package="keras_ae")
class TiedAutoencoder(Autoencoder):
    """One-layer autoencoder with `W_x = W_h^T`.

    With linear activations and the squared error it learns the subspace of
    the top `latent_dim` principal components of the (centred) data.

    Example:
        >>> model = TiedAutoencoder(input_shape=(784,), latent_dim=30)
    """

    defaults = {**Autoencoder.defaults, "output_activation": "linear"}

    def __init__(self, input_shape=None, latent_dim=None, **kwargs):
        for key in ("encoder", "decoder"):
            if kwargs.get(key) is not None:
                raise ValueError(f"TiedAutoencoder builds its own tied layers; got {key}=")
        if kwargs.get("network", "mlp") != "mlp" or kwargs.get("hidden_units"):
            raise ValueError(
                "TiedAutoencoder is a single dense layer: network must be 'mlp' and "
                f"hidden_units empty, got network={kwargs.get('network')!r}, "
                f"hidden_units={kwargs.get('hidden_units')!r}"
            )
        super().__init__(input_shape, latent_dim, **kwargs)

    def build_networks(self):
        encoder, _ = super().build_networks()
        decoder = keras.Sequential(
            [
                keras.Input(shape=(self.latent_dim,)),
                TiedDense(
                    encoder.get_layer("code"),
                    self.input_shape_,
                    activation=layer_activation(self.output_activation),
                    dtype="float32",
                    name="tied_output",
                ),
            ],
            name="decoder",
        )
        return encoder, decoder

    @property
    def kernel(self):
        """The shared weight matrix `W_h`, shape `(input_size, latent_dim)`."""
        return self.encoder.get_layer("code").kernel
