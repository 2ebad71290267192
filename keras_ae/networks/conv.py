"""Convolutional encoders and decoders for images of any size.

The encoder runs one 3x3 convolution per entry of `filters`, each with its
stride (2 halves the resolution, 1 keeps it); the decoder mirrors it with
transposed convolutions and crops the result back to the input size, so odd
sizes (e.g. 28 -> 14 -> 7 -> 4 -> 8 -> 16 -> 32 -> 28) work too.

The code is either dense (`code_layer="dense"`: flatten, then a Dense layer of
`code_units`) or spatial (`code_layer="conv"`: a 1x1 convolution to
`code_units / (h * w)` channels at the encoder's last resolution `h x w`,
flattened). A spatial code keeps where things are in the image, which is what
restoration tasks such as super-resolution need; a dense one is a global
summary, e.g. for generation or kNN.
"""

import math

import keras

from keras_ae.networks.layers import Conv2D

CODE_LAYERS = ("dense", "conv")


def _check_image_shape(input_shape):
    if len(input_shape) not in (2, 3):
        raise ValueError(
            "a convolutional network needs image samples of shape (H, W) or (H, W, C), "
            f"got input_shape={tuple(input_shape)}"
        )


def check_conv_args(filters, strides, code_layer, hidden_units=()):
    """Validated `strides` (default: 2 for every filter) for a conv network."""
    filters = tuple(filters)
    if not filters:
        raise ValueError("a convolutional network needs at least one entry in filters, got ()")
    strides = (2,) * len(filters) if strides is None else tuple(strides)
    if len(strides) != len(filters) or any(s not in (1, 2) for s in strides):
        raise ValueError(
            f"strides must give 1 or 2 for each of the {len(filters)} filters {filters}, "
            f"got {strides}"
        )
    if code_layer not in CODE_LAYERS:
        raise ValueError(f"code_layer must be one of {CODE_LAYERS}, got {code_layer!r}")
    if code_layer == "conv" and tuple(hidden_units):
        raise ValueError(
            "code_layer='conv' makes a fully convolutional network: it takes no "
            f"hidden_units, got {tuple(hidden_units)}"
        )
    return strides


def code_grid(image_shape, strides):
    """`(h, w)` of the encoder's last feature map for images of `image_shape`."""
    scale = 2 ** sum(s == 2 for s in strides)
    return math.ceil(image_shape[0] / scale), math.ceil(image_shape[1] / scale)


def code_channels(code_units, grid):
    """Channels of a spatial code of `code_units` values over `grid` (`(h, w)` or `(steps,)`)."""
    cells = math.prod(grid)
    if code_units % cells:
        shape = " x ".join(map(str, grid))
        raise ValueError(
            f"a convolutional code on the {'x'.join(map(str, grid))} grid needs a code width "
            f"that is a multiple of {cells} (channels x {shape}), got {code_units}"
        )
    return code_units // cells


def code_layers(code_layer, code_units, grid, conv, *, hidden_units, activation, code_activation):
    """A conv encoder's last layers: a kernel-1 convolution `conv` to a spatial code
    over `grid`, flattened; or flatten -> Dense(hidden_units...) -> Dense code."""
    if code_layer == "conv":
        return [
            conv(code_channels(code_units, grid), 1, activation=code_activation, name="code"),
            keras.layers.Flatten(),
        ]
    hidden = [
        keras.layers.Dense(units, activation=activation, name=f"hidden_{i}")
        for i, units in enumerate(hidden_units)
    ]
    return [
        keras.layers.Flatten(),
        *hidden,
        keras.layers.Dense(code_units, activation=code_activation, name="code"),
    ]


def code_input_layers(code_layer, code_units, grid, channels, *, hidden_units, activation):
    """A conv decoder's first layers: the code reshaped to `grid`; or
    Dense(reversed hidden_units...) -> Dense projection to `grid` x `channels`."""
    layers = [keras.Input(shape=(code_units,))]
    if code_layer == "conv":
        return layers + [keras.layers.Reshape(tuple(grid) + (code_channels(code_units, grid),))]
    layers += [
        keras.layers.Dense(units, activation=activation, name=f"hidden_{i}")
        for i, units in enumerate(reversed(tuple(hidden_units)))
    ]
    return layers + [
        keras.layers.Dense(math.prod(grid) * channels, activation=activation, name="project"),
        keras.layers.Reshape(tuple(grid) + (channels,)),
    ]


def build_conv_encoder(
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
    """Conv2D stack -> dense code (via `hidden_units`) or 1x1-conv spatial code."""
    input_shape = tuple(input_shape)
    _check_image_shape(input_shape)
    strides = check_conv_args(filters, strides, code_layer, hidden_units)
    layers = [keras.Input(shape=input_shape)]
    if len(input_shape) == 2:
        layers.append(keras.layers.Reshape(input_shape + (1,)))
    for i, (f, s) in enumerate(zip(filters, strides, strict=True)):
        layers.append(
            Conv2D(f, 3, strides=s, padding="same", activation=activation, name=f"conv_{i}")
        )
    layers += code_layers(
        code_layer,
        code_units,
        code_grid(input_shape, strides),
        Conv2D,
        hidden_units=hidden_units,
        activation=activation,
        code_activation=code_activation,
    )
    return keras.Sequential(layers, name=name)


def build_conv_decoder(
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
    """Dense projection (or reshape of a spatial code) -> transposed convs -> crop -> Conv2D."""
    output_shape = tuple(output_shape)
    _check_image_shape(output_shape)
    strides = check_conv_args(filters, strides, code_layer, hidden_units)
    height, width = output_shape[:2]
    channels = output_shape[2] if len(output_shape) == 3 else 1
    h0, w0 = code_grid(output_shape, strides)
    layers = code_input_layers(
        code_layer,
        code_units,
        (h0, w0),
        filters[-1],
        hidden_units=hidden_units,
        activation=activation,
    )
    for i, (f, s) in enumerate(zip(reversed(tuple(filters)), reversed(strides), strict=True)):
        layers.append(
            keras.layers.Conv2DTranspose(
                f, 3, strides=s, padding="same", activation=activation, name=f"deconv_{i}"
            )
        )
    scale = 2 ** sum(s == 2 for s in strides)
    crop_h, crop_w = h0 * scale - height, w0 * scale - width
    if crop_h or crop_w:
        layers.append(
            keras.layers.Cropping2D(
                ((crop_h // 2, crop_h - crop_h // 2), (crop_w // 2, crop_w - crop_w // 2))
            )
        )
    layers.append(
        Conv2D(
            channels,
            3,
            padding="same",
            activation=output_activation,
            dtype="float32",
            name="output",
        )
    )
    if len(output_shape) == 2:
        layers.append(keras.layers.Reshape(output_shape, dtype="float32"))
    return keras.Sequential(layers, name=name)
