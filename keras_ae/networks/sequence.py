"""Recurrent encoders and decoders for sequences: samples of shape `(steps, features)`.

A sample of shape `(steps,)` is a univariate sequence (one feature per step),
read as `(steps, 1)` and returned in its own shape. (The 1-D convolutional
network, `conv1d`, is the `conv` network on one axis: `networks/conv.py`.)

`lstm` is the sequence-to-sequence autoencoder used for time series
(Srivastava et al. 2015; Malhotra et al. 2016): LSTM layers of `hidden_units`
read the sequence, the last one's final output feeds a Dense code; the decoder
repeats the code at every step, LSTM layers unroll it in reverse order of
widths, and a Dense layer gives each step's features. `activation` is the
LSTMs' own (Keras's default, tanh, keeps the fast fused kernel).

References:
    Srivastava, Mansimov, Salakhutdinov, "Unsupervised Learning of Video
    Representations using LSTMs", ICML 2015. Malhotra et al., "LSTM-based
    Encoder-Decoder for Multi-sensor Anomaly Detection", ICML workshop 2016.
"""

import keras

#: LSTM widths used when `hidden_units` is empty (an LSTM network needs one).
DEFAULT_LSTM_UNITS = (64,)


def sequence_shape(input_shape):
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


def _lstm(width, activation, i, last=False):
    return keras.layers.LSTM(
        width, activation=activation, return_sequences=not last, name=f"lstm_{i}"
    )


def build_lstm_encoder(
    input_shape,
    code_units,
    *,
    code_activation=None,
    name="encoder",
    hidden_units=(),
    activation="tanh",
):
    """LSTM(hidden_units...) over the steps -> Dense(code_units) of the last output."""
    shape = tuple(input_shape)
    sequence_shape(shape)
    units = tuple(hidden_units) or DEFAULT_LSTM_UNITS
    layers = [keras.Input(shape=shape)]
    if len(shape) == 1:
        layers.append(keras.layers.Reshape(shape + (1,)))
    layers += [_lstm(w, activation, i, last=i == len(units) - 1) for i, w in enumerate(units)]
    layers.append(keras.layers.Dense(code_units, activation=code_activation, name="code"))
    return keras.Sequential(layers, name=name)


def build_lstm_decoder(
    code_units,
    output_shape,
    *,
    output_activation="sigmoid",
    name="decoder",
    hidden_units=(),
    activation="tanh",
):
    """The code repeated at every step -> LSTM(reversed hidden_units) -> Dense per step."""
    shape = tuple(output_shape)
    steps, features = sequence_shape(shape)
    units = tuple(hidden_units) or DEFAULT_LSTM_UNITS
    layers = [keras.Input(shape=(code_units,)), keras.layers.RepeatVector(steps)]
    layers += [_lstm(w, activation, i) for i, w in enumerate(reversed(units))]
    layers.append(
        keras.layers.Dense(features, activation=output_activation, dtype="float32", name="output")
    )
    if len(shape) == 1:
        layers.append(keras.layers.Reshape(shape, dtype="float32"))
    return keras.Sequential(layers, name=name)
