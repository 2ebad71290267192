"""Dense (multi-layer perceptron) encoders and decoders."""

import math

import keras


def hidden_layout(hidden_units=(), activation="relu"):
    """`(hidden_units, activation)`: the hidden layers an MLP network takes."""
    return tuple(hidden_units), activation


def build_mlp_encoder(input_shape, code_units, *, code_activation=None, name="encoder", **layout):
    """`input_shape` -> flatten -> Dense(hidden_units...) -> Dense(code_units).

    With no hidden units this is the lecture's one-layer encoder
    `h = f(W_h x + b_h)`, with `f = code_activation`.
    """
    hidden_units, activation = hidden_layout(**layout)
    layers = [keras.Input(shape=tuple(input_shape))]
    if len(input_shape) > 1:
        layers.append(keras.layers.Flatten())
    for i, units in enumerate(hidden_units):
        layers.append(keras.layers.Dense(units, activation=activation, name=f"hidden_{i}"))
    layers.append(keras.layers.Dense(code_units, activation=code_activation, name="code"))
    return keras.Sequential(layers, name=name)


def build_mlp_decoder(
    code_units, output_shape, *, output_activation="sigmoid", name="decoder", **layout
):
    """Dense(reversed hidden_units...) -> Dense(prod(output_shape)) -> reshape.

    The output layer computes in float32 so that a `mixed_float16` model
    still returns float32 reconstructions.
    """
    hidden_units, activation = hidden_layout(**layout)
    output_shape = tuple(output_shape)
    layers = [keras.Input(shape=(code_units,))]
    for i, units in enumerate(reversed(tuple(hidden_units))):
        layers.append(keras.layers.Dense(units, activation=activation, name=f"hidden_{i}"))
    layers.append(
        keras.layers.Dense(
            math.prod(output_shape), activation=output_activation, dtype="float32", name="output"
        )
    )
    if len(output_shape) > 1:
        layers.append(keras.layers.Reshape(output_shape, dtype="float32"))
    return keras.Sequential(layers, name=name)
