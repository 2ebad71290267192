"""Encoder and decoder builders that every variant can use.

`build_encoder` / `build_decoder` dispatch on `network`: `"mlp"` (dense
layers, any sample shape), `"conv"` (images `(H, W)` or `(H, W, C)`),
`"conv1d"` and `"lstm"` (sequences `(steps,)` or `(steps, features)`). Each
returns a built `keras.Sequential`, so any Keras layer or model a user passes
instead is treated the same way by the models.
"""

from keras_ae.networks.conv import (
    CODE_LAYERS,
    build_conv1d_decoder,
    build_conv1d_encoder,
    build_conv_decoder,
    build_conv_encoder,
)
from keras_ae.networks.mlp import build_mlp_decoder, build_mlp_encoder
from keras_ae.networks.quantize import VectorQuantizer
from keras_ae.networks.sequence import build_lstm_decoder, build_lstm_encoder

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


def _layout(network, filters=(), strides=None, code_layer="dense", **layers):
    """The layer arguments `network`'s builders take, refusing those it would ignore."""
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
    if network in CONV_NETWORKS:
        return dict(layers, filters=filters, strides=strides, code_layer=code_layer)
    if tuple(filters) or strides is not None or code_layer != "dense":
        raise ValueError(
            f"filters, strides and code_layer apply to network='conv' or 'conv1d'; "
            f"{NETWORK_NAMES[network]} got filters={tuple(filters)!r}, strides={strides!r}, "
            f"code_layer={code_layer!r} (its layers are hidden_units)"
        )
    return layers


def build_encoder(
    network, input_shape, code_units, *, code_activation=None, name="encoder", **layers
):
    """Builds an encoder mapping `input_shape` to `code_units` values.

    Args:
        network: `"mlp"` (dense layers `hidden_units`), `"conv"` / `"conv1d"`
            (strided 2-D / 1-D convolutions with `filters`, then a dense code
            layer) or `"lstm"` (LSTM layers of `hidden_units`, default (64,)).
        input_shape: shape of one sample, e.g. `(784,)` or `(28, 28, 1)`.
        code_units: width of the encoder's output.
        code_activation: activation of the output (None: linear).
        name: the model's name.
        **layers: `hidden_units` (dense or LSTM widths from the input towards
            the code), `activation` (of the hidden layers); for conv networks
            also `filters` (one convolution each), `strides` (1 or 2 each;
            default 2) and `code_layer` (`"dense"`, or `"conv"`: a spatial
            code, a kernel-1 convolution at the last resolution, flattened;
            `code_units` must then be a multiple of that grid's size).
    """
    layout = _layout(network, **layers)
    return BUILDERS[network][0](
        input_shape, code_units, code_activation=code_activation, name=name, **layout
    )


def build_decoder(
    network, code_units, output_shape, *, output_activation="sigmoid", name="decoder", **layers
):
    """Builds the mirror image of `build_encoder`: `code_units` to `output_shape`."""
    layout = _layout(network, **layers)
    return BUILDERS[network][1](
        code_units, output_shape, output_activation=output_activation, name=name, **layout
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
    "VectorQuantizer",
]
