"""Encoder and decoder builders that every variant can use.

`build_encoder` / `build_decoder` dispatch on `network="mlp" | "conv"`; each
returns a built `keras.Sequential`, so any Keras layer or model a user passes
instead is treated the same way by the models.
"""

from keras_ae.networks.conv import build_conv_decoder, build_conv_encoder
from keras_ae.networks.mlp import build_mlp_decoder, build_mlp_encoder

NETWORKS = ("mlp", "conv")


def _check_network(network):
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")


def build_encoder(network, input_shape, code_units, *, hidden_units=(), filters=(),
                  activation="relu", code_activation=None, name="encoder"):
    """Builds an encoder mapping `input_shape` to `code_units` values.

    Args:
        network: `"mlp"` (dense layers `hidden_units`) or `"conv"` (strided
            convolutions with `filters`, then a dense code layer).
        input_shape: shape of one sample, e.g. `(784,)` or `(28, 28, 1)`.
        code_units: width of the encoder's output.
        hidden_units: dense widths from the input towards the code.
        filters: convolution widths, one stride-2 layer each.
        activation: activation of the hidden layers.
        code_activation: activation of the output (None: linear).
        name: the model's name.
    """
    _check_network(network)
    if network == "mlp":
        return build_mlp_encoder(input_shape, code_units, hidden_units=hidden_units,
                                 activation=activation, code_activation=code_activation,
                                 name=name)
    return build_conv_encoder(input_shape, code_units, filters=filters,
                              hidden_units=hidden_units, activation=activation,
                              code_activation=code_activation, name=name)


def build_decoder(network, code_units, output_shape, *, hidden_units=(), filters=(),
                  activation="relu", output_activation="sigmoid", name="decoder"):
    """Builds the mirror image of `build_encoder`: `code_units` to `output_shape`."""
    _check_network(network)
    if network == "mlp":
        return build_mlp_decoder(code_units, output_shape, hidden_units=hidden_units,
                                 activation=activation, output_activation=output_activation,
                                 name=name)
    return build_conv_decoder(code_units, output_shape, filters=filters,
                              hidden_units=hidden_units, activation=activation,
                              output_activation=output_activation, name=name)


__all__ = [
    "NETWORKS",
    "build_encoder",
    "build_decoder",
    "build_mlp_encoder",
    "build_mlp_decoder",
    "build_conv_encoder",
    "build_conv_decoder",
]
