"""Encoders and decoders for sequences: samples of shape `(steps, features)`.

A sample of shape `(steps,)` is a univariate sequence (one feature per step),
read as `(steps, 1)` and returned in its own shape.

- `conv1d`: the `conv` network on one axis. Strided 1-D convolutions, then a
  dense code (`code_layer="dense"`) or a spatial one (`"conv"`: a kernel-1
  convolution at the last resolution, flattened); the decoder mirrors them
  with transposed convolutions and crops back to the input length, so any
  length works (140 -> 70 -> 35 -> 70 -> 140, 45 -> 23 -> 46 -> 45).
- `lstm`: the sequence-to-sequence autoencoder used for time series
  (Srivastava et al. 2015; Malhotra et al. 2016). LSTM layers of
  `hidden_units` read the sequence, the last one's final output feeds a Dense
  code; the decoder repeats the code at every step, LSTM layers unroll it in
  reverse order of widths, and a Dense layer gives each step's features.

References:
    Srivastava, Mansimov, Salakhutdinov, "Unsupervised Learning of Video
    Representations using LSTMs", ICML 2015. Malhotra et al., "LSTM-based
    Encoder-Decoder for Multi-sensor Anomaly Detection", ICML workshop 2016.
"""

import math

import keras

from keras_ae.networks.conv import check_conv_args, code_input_layers, code_layers

#: Width of each 1-D convolution's window: seven steps, as in the keras.io
#: time-series autoencoder, wide enough for the slopes of an ECG beat.
KERNEL_SIZE = 7
#: LSTM widths used when `hidden_units` is empty (an LSTM network needs one).
DEFAULT_LSTM_UNITS = (64,)


def _sequence_shape(input_shape):
    """`(steps, features)` of a sequence sample, refusing other ranks."""
    input_shape = tuple(input_shape)
    if len(input_shape) == 1:
        return input_shape[0], 1
    if len(input_shape) == 2:
        return input_shape
    raise ValueError(
        "a sequence network (conv1d, lstm) needs samples of shape (steps,) or "
        f"(steps, features), got input_shape={input_shape}"
    )


def _as_sequence(shape):
    """The layers that read a `shape` sample as `(steps, features)`."""
    return [keras.Input(shape=shape)] + (
        [keras.layers.Reshape(shape + (1,))] if len(shape) == 1 else []
    )


def _to_shape(layers, shape):
    """`layers`, ending in the sample's own shape for a `(steps,)` sample."""
    if len(shape) == 1:
        layers.append(keras.layers.Reshape(shape, dtype="float32"))
    return layers


def code_length(steps, strides):
    """Length of the conv1d encoder's last feature map for `steps` steps."""
    return math.ceil(steps / 2 ** sum(s == 2 for s in strides))


def build_conv1d_encoder(
    input_shape,
    code_units,
    *,
    filters=(32, 64),
    strides=None,
    hidden_units=(),
    activation="relu",
    code_activation=None,
    code_layer="dense",
    name="encoder",
):
    """Conv1D stack -> dense code (via `hidden_units`) or kernel-1 spatial code."""
    shape = tuple(input_shape)
    steps, _ = _sequence_shape(shape)
    strides = check_conv_args(filters, strides, code_layer, hidden_units)
    layers = _as_sequence(shape)
    for i, (f, s) in enumerate(zip(filters, strides, strict=True)):
        layers.append(
            keras.layers.Conv1D(
                f, KERNEL_SIZE, strides=s, padding="same", activation=activation, name=f"conv_{i}"
            )
        )
    layers += code_layers(
        code_layer,
        code_units,
        (code_length(steps, strides),),
        keras.layers.Conv1D,
        hidden_units=hidden_units,
        activation=activation,
        code_activation=code_activation,
    )
    return keras.Sequential(layers, name=name)


def build_conv1d_decoder(
    code_units,
    output_shape,
    *,
    filters=(32, 64),
    strides=None,
    hidden_units=(),
    activation="relu",
    output_activation="sigmoid",
    code_layer="dense",
    name="decoder",
):
    """Dense projection (or reshape of a spatial code) -> transposed Conv1Ds -> crop -> Conv1D."""
    shape = tuple(output_shape)
    steps, features = _sequence_shape(shape)
    strides = check_conv_args(filters, strides, code_layer, hidden_units)
    length = code_length(steps, strides)
    layers = code_input_layers(
        code_layer,
        code_units,
        (length,),
        filters[-1],
        hidden_units=hidden_units,
        activation=activation,
    )
    for i, (f, s) in enumerate(zip(reversed(tuple(filters)), reversed(strides), strict=True)):
        layers.append(
            keras.layers.Conv1DTranspose(
                f, KERNEL_SIZE, strides=s, padding="same", activation=activation, name=f"deconv_{i}"
            )
        )
    crop = length * 2 ** sum(s == 2 for s in strides) - steps
    if crop:
        layers.append(keras.layers.Cropping1D((crop // 2, crop - crop // 2)))
    layers.append(
        keras.layers.Conv1D(
            features,
            KERNEL_SIZE,
            padding="same",
            activation=output_activation,
            dtype="float32",
            name="output",
        )
    )
    return keras.Sequential(_to_shape(layers, shape), name=name)


def build_lstm_encoder(
    input_shape,
    code_units,
    *,
    hidden_units=(),
    activation="tanh",
    code_activation=None,
    name="encoder",
):
    """LSTM(hidden_units...) over the steps -> Dense(code_units) of the last output.

    `activation` is the LSTMs' own (Keras's default, tanh, keeps the fast
    fused kernel); the code layer takes `code_activation`.
    """
    shape = tuple(input_shape)
    _sequence_shape(shape)
    units = tuple(hidden_units) or DEFAULT_LSTM_UNITS
    layers = _as_sequence(shape)
    for i, width in enumerate(units):
        layers.append(
            keras.layers.LSTM(
                width, activation=activation, return_sequences=i < len(units) - 1, name=f"lstm_{i}"
            )
        )
    layers.append(keras.layers.Dense(code_units, activation=code_activation, name="code"))
    return keras.Sequential(layers, name=name)


def build_lstm_decoder(
    code_units,
    output_shape,
    *,
    hidden_units=(),
    activation="tanh",
    output_activation="sigmoid",
    name="decoder",
):
    """The code repeated at every step -> LSTM(reversed hidden_units) -> Dense per step."""
    shape = tuple(output_shape)
    steps, features = _sequence_shape(shape)
    units = tuple(hidden_units) or DEFAULT_LSTM_UNITS
    layers = [keras.Input(shape=(code_units,)), keras.layers.RepeatVector(steps)]
    for i, width in enumerate(reversed(units)):
        layers.append(
            keras.layers.LSTM(width, activation=activation, return_sequences=True, name=f"lstm_{i}")
        )
    layers.append(
        keras.layers.Dense(features, activation=output_activation, dtype="float32", name="output")
    )
    return keras.Sequential(_to_shape(layers, shape), name=name)
