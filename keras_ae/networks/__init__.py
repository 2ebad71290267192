"""Encoder and decoder builders that every variant can use.

`build_encoder` / `build_decoder` dispatch on `network="mlp" | "conv"`; each
returns a built `keras.Sequential`, so any Keras layer or model a user passes
instead is treated the same way by the models.
"""

from keras_ae.networks.conv import CODE_LAYERS, build_conv_decoder, build_conv_encoder
from keras_ae.networks.mlp import build_mlp_decoder, build_mlp_encoder

NETWORKS = ("mlp", "conv")


def _check_network(network, filters=(), strides=None, code_layer="dense"):
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
    if network == "mlp" and (tuple(filters) or strides is not None or code_layer != "dense"):
        raise ValueError(
            "filters, strides and code_layer apply to network='conv'; an MLP got "
            f"filters={tuple(filters)!r}, strides={strides!r}, code_layer={code_layer!r} "
            "(its layers are hidden_units)"
        )


def build_encoder(network, input_shape, code_units, *, hidden_units=(), filters=(),
                  strides=None, code_layer="dense", activation="relu", code_activation=None,
                  name="encoder"):
    """Builds an encoder mapping `input_shape` to `code_units` values.

    Args:
        network: `"mlp"` (dense layers `hidden_units`) or `"conv"` (strided
            convolutions with `filters`, then a dense code layer).
        input_shape: shape of one sample, e.g. `(784,)` or `(28, 28, 1)`.
        code_units: width of the encoder's output.
        hidden_units: dense widths from the input towards the code.
        filters: convolution widths, one 3x3 layer each.
        strides: the stride (1 or 2) of each convolution; default 2 for all.
        code_layer: `"dense"` (a Dense code layer) or `"conv"` (a spatial code:
            1x1 convolution at the last resolution, flattened; `code_units`
            must be a multiple of that grid's size). Conv networks only.
        activation: activation of the hidden layers.
        code_activation: activation of the output (None: linear).
        name: the model's name.
    """
    _check_network(network, filters, strides, code_layer)
    if network == "mlp":
        return build_mlp_encoder(input_shape, code_units, hidden_units=hidden_units,
                                 activation=activation, code_activation=code_activation,
                                 name=name)
    return build_conv_encoder(input_shape, code_units, filters=filters, strides=strides,
                              code_layer=code_layer, hidden_units=hidden_units,
                              activation=activation,
                              code_activation=code_activation, name=name)


def build_decoder(network, code_units, output_shape, *, hidden_units=(), filters=(),
                  strides=None, code_layer="dense", activation="relu",
                  output_activation="sigmoid", name="decoder"):
    """Builds the mirror image of `build_encoder`: `code_units` to `output_shape`."""
    _check_network(network, filters, strides, code_layer)
    if network == "mlp":
        return build_mlp_decoder(code_units, output_shape, hidden_units=hidden_units,
                                 activation=activation, output_activation=output_activation,
                                 name=name)
    return build_conv_decoder(code_units, output_shape, filters=filters, strides=strides,
                              code_layer=code_layer, hidden_units=hidden_units,
                              activation=activation,
                              output_activation=output_activation, name=name)


__all__ = [
    "NETWORKS",
    "CODE_LAYERS",
    "build_encoder",
    "build_decoder",
    "build_mlp_encoder",
    "build_mlp_decoder",
    "build_conv_encoder",
    "build_conv_decoder",
]
