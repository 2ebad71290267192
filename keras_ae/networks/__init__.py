"""Encoder and decoder builders that every variant can use.

`build_encoder` / `build_decoder` dispatch on `network`: `"mlp"` (dense
layers, any sample shape), `"conv"` (images `(H, W)` or `(H, W, C)`),
`"conv1d"` and `"lstm"` (sequences `(steps,)` or `(steps, features)`). Each
returns a built `keras.Sequential`, so any Keras layer or model a user passes
instead is treated the same way by the models.
"""

from keras_ae.networks.conv import CODE_LAYERS, build_conv_decoder, build_conv_encoder
from keras_ae.networks.mlp import build_mlp_decoder, build_mlp_encoder
from keras_ae.networks.sequence import (
    build_conv1d_decoder,
    build_conv1d_encoder,
    build_lstm_decoder,
    build_lstm_encoder,
)

NETWORKS = ("mlp", "conv", "conv1d", "lstm")
#: The networks built of convolutions: they take `filters`, `strides`, `code_layer`.
CONV_NETWORKS = ("conv", "conv1d")
#: Hidden-layer activation where the model's class gives none for this network:
#: an LSTM's cell keeps Keras's tanh (a relu cell grows without bound over steps).
DEFAULT_ACTIVATION = {"lstm": "tanh"}
#: How error messages name a network built of hidden_units.
NETWORK_NAMES = {"mlp": "an MLP", "lstm": "an LSTM network"}


#: network -> (encoder builder, decoder builder).
BUILDERS = {
    "mlp": (build_mlp_encoder, build_mlp_decoder),
    "conv": (build_conv_encoder, build_conv_decoder),
    "conv1d": (build_conv1d_encoder, build_conv1d_decoder),
    "lstm": (build_lstm_encoder, build_lstm_decoder),
}


def _layer_args(network, hidden_units, filters, strides, code_layer, activation):
    """The layer arguments `network`'s builders take, refusing those it would ignore."""
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
    args = dict(hidden_units=hidden_units, activation=activation)
    if network in CONV_NETWORKS:
        return dict(args, filters=filters, strides=strides, code_layer=code_layer)
    if tuple(filters) or strides is not None or code_layer != "dense":
        raise ValueError(
            f"filters, strides and code_layer apply to network='conv' or 'conv1d'; "
            f"{NETWORK_NAMES[network]} got filters={tuple(filters)!r}, strides={strides!r}, "
            f"code_layer={code_layer!r} (its layers are hidden_units)"
        )
    return args


def build_encoder(
    network,
    input_shape,
    code_units,
    *,
    hidden_units=(),
    filters=(),
    strides=None,
    code_layer="dense",
    activation="relu",
    code_activation=None,
    name="encoder",
):
    """Builds an encoder mapping `input_shape` to `code_units` values.

    Args:
        network: `"mlp"` (dense layers `hidden_units`), `"conv"` / `"conv1d"`
            (strided 2-D / 1-D convolutions with `filters`, then a dense code
            layer) or `"lstm"` (LSTM layers of `hidden_units`, default (64,)).
        input_shape: shape of one sample, e.g. `(784,)` or `(28, 28, 1)`.
        code_units: width of the encoder's output.
        hidden_units: dense widths from the input towards the code.
        filters: convolution widths, one layer each.
        strides: the stride (1 or 2) of each convolution; default 2 for all.
        code_layer: `"dense"` (a Dense code layer) or `"conv"` (a spatial code:
            1x1 convolution at the last resolution, flattened; `code_units`
            must be a multiple of that grid's size). Conv networks only.
        activation: activation of the hidden layers.
        code_activation: activation of the output (None: linear).
        name: the model's name.
    """
    args = _layer_args(network, hidden_units, filters, strides, code_layer, activation)
    return BUILDERS[network][0](
        input_shape, code_units, code_activation=code_activation, name=name, **args
    )


def build_decoder(
    network,
    code_units,
    output_shape,
    *,
    hidden_units=(),
    filters=(),
    strides=None,
    code_layer="dense",
    activation="relu",
    output_activation="sigmoid",
    name="decoder",
):
    """Builds the mirror image of `build_encoder`: `code_units` to `output_shape`."""
    args = _layer_args(network, hidden_units, filters, strides, code_layer, activation)
    return BUILDERS[network][1](
        code_units, output_shape, output_activation=output_activation, name=name, **args
    )


__all__ = [
    "NETWORKS",
    "CONV_NETWORKS",
    "DEFAULT_ACTIVATION",
    "NETWORK_NAMES",
    "CODE_LAYERS",
    "build_encoder",
    "build_decoder",
    "build_mlp_encoder",
    "build_mlp_decoder",
    "build_conv_encoder",
    "build_conv_decoder",
    "build_conv1d_encoder",
    "build_conv1d_decoder",
    "build_lstm_encoder",
    "build_lstm_decoder",
]
