"""Convolutional encoders and decoders for images of any size.

The encoder halves the resolution with each stride-2 convolution; the
decoder mirrors it with stride-2 transposed convolutions and crops the
result back to the input size, so odd sizes (e.g. 28 -> 14 -> 7 -> 4 -> 8
-> 16 -> 32 -> 28) work too.
"""

import math

import keras


def _check_image_shape(input_shape):
    if len(input_shape) not in (2, 3):
        raise ValueError(
            "a convolutional network needs image samples of shape (H, W) or (H, W, C), "
            f"got input_shape={tuple(input_shape)}"
        )


def build_conv_encoder(input_shape, code_units, *, filters=(32, 64), hidden_units=(),
                       activation="relu", code_activation=None, name="encoder"):
    """Strided Conv2D stack -> flatten -> Dense(hidden_units...) -> Dense(code_units)."""
    input_shape = tuple(input_shape)
    _check_image_shape(input_shape)
    if not filters:
        raise ValueError("a convolutional network needs at least one entry in filters, got ()")
    layers = [keras.Input(shape=input_shape)]
    if len(input_shape) == 2:
        layers.append(keras.layers.Reshape(input_shape + (1,)))
    for i, f in enumerate(filters):
        layers.append(keras.layers.Conv2D(f, 3, strides=2, padding="same",
                                          activation=activation, name=f"conv_{i}"))
    layers.append(keras.layers.Flatten())
    for i, units in enumerate(hidden_units):
        layers.append(keras.layers.Dense(units, activation=activation, name=f"hidden_{i}"))
    layers.append(keras.layers.Dense(code_units, activation=code_activation, name="code"))
    return keras.Sequential(layers, name=name)


def build_conv_decoder(code_units, output_shape, *, filters=(32, 64), hidden_units=(),
                       activation="relu", output_activation="sigmoid", name="decoder"):
    """Dense -> reshape -> stride-2 Conv2DTranspose stack -> crop -> Conv2D."""
    output_shape = tuple(output_shape)
    _check_image_shape(output_shape)
    height, width = output_shape[:2]
    channels = output_shape[2] if len(output_shape) == 3 else 1
    scale = 2 ** len(filters)
    h0, w0 = math.ceil(height / scale), math.ceil(width / scale)
    layers = [keras.Input(shape=(code_units,))]
    for i, units in enumerate(reversed(tuple(hidden_units))):
        layers.append(keras.layers.Dense(units, activation=activation, name=f"hidden_{i}"))
    layers += [
        keras.layers.Dense(h0 * w0 * filters[-1], activation=activation, name="project"),
        keras.layers.Reshape((h0, w0, filters[-1])),
    ]
    for i, f in enumerate(reversed(tuple(filters))):
        layers.append(keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same",
                                                   activation=activation, name=f"deconv_{i}"))
    crop_h, crop_w = h0 * scale - height, w0 * scale - width
    if crop_h or crop_w:
        layers.append(keras.layers.Cropping2D(((crop_h // 2, crop_h - crop_h // 2),
                                               (crop_w // 2, crop_w - crop_w // 2))))
    layers.append(keras.layers.Conv2D(channels, 3, padding="same", activation=output_activation,
                                      dtype="float32", name="output"))
    if len(output_shape) == 2:
        layers.append(keras.layers.Reshape(output_shape, dtype="float32"))
    return keras.Sequential(layers, name=name)
