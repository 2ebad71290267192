"""Convolutional encoders and decoders: images (`conv`) and sequences (`conv1d`) of any size.

The encoder runs one convolution per entry of `filters` (3x3 over images, 7
steps along sequences), each with its stride (2 halves the resolution, 1 keeps
it); the decoder mirrors it with transposed convolutions and crops the result
back to the input size, so odd sizes work too (28 -> 14 -> 7 -> 4 -> 8 -> 16
-> 32 -> 28 pixels, 45 -> 23 -> 12 -> 24 -> 46 -> 45 steps).

The code is either dense (`code_layer="dense"`: flatten, then a Dense layer of
`code_units`) or spatial (`code_layer="conv"`: a kernel-1 convolution to
`code_units / cells` channels at the encoder's last resolution, flattened). A
spatial code keeps where things are, which is what restoration tasks such as
super-resolution need; a dense one is a global summary, e.g. for generation or kNN.

An encoder and its decoder take one layout (`conv_layout`): `filters`,
`strides`, `hidden_units` (dense layers around a dense code), `activation`,
`code_layer`.
"""

import functools
import math
from typing import NamedTuple

import keras

from keras_ae.networks.layers import Conv2D
from keras_ae.networks.sequence import sequence_shape

CODE_LAYERS = ("dense", "conv")


class ConvLayout(NamedTuple):
    """The layers of a conv network, shared by its encoder and (mirrored) decoder."""

    filters: tuple
    strides: tuple
    hidden_units: tuple
    activation: object
    code_layer: str


def conv_layout(
    filters=(32, 64), strides=None, hidden_units=(), activation="relu", code_layer="dense"
):
    """The validated `ConvLayout` (strides default to 2 for every filter)."""
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
    return ConvLayout(filters, strides, tuple(hidden_units), activation, code_layer)


def _image_shape(shape):
    """`((H, W), channels)` of an image sample `(H, W)` or `(H, W, C)`."""
    if len(shape) not in (2, 3):
        raise ValueError(
            "a convolutional network needs image samples of shape (H, W) or (H, W, C), "
            f"got input_shape={tuple(shape)}"
        )
    return tuple(shape[:2]), shape[2] if len(shape) == 3 else 1


def _sequence_grid(shape):
    steps, features = sequence_shape(shape)
    return (steps,), features


class _Kind(NamedTuple):
    """What differs between 2-D and 1-D conv networks."""

    conv: type
    transpose: type
    crop: type
    kernel: int
    grid_of: object  # sample shape -> (spatial size, channels), refusing other ranks


_IMAGES = _Kind(Conv2D, keras.layers.Conv2DTranspose, keras.layers.Cropping2D, 3, _image_shape)
#: Seven steps per 1-D window, as in the keras.io time-series autoencoder: wide
#: enough for the slopes of an ECG beat.
_SEQUENCES = _Kind(
    keras.layers.Conv1D, keras.layers.Conv1DTranspose, keras.layers.Cropping1D, 7, _sequence_grid
)


def code_grid(spatial, strides):
    """Spatial size of the encoder's last feature map for inputs of size `spatial`."""
    scale = 2 ** sum(s == 2 for s in strides)
    return tuple(math.ceil(size / scale) for size in spatial)


def code_channels(code_units, grid):
    """Channels of a spatial code of `code_units` values over `grid`."""
    cells = math.prod(grid)
    if code_units % cells:
        shape = " x ".join(map(str, grid))
        raise ValueError(
            f"a convolutional code on the {'x'.join(map(str, grid))} grid needs a code width "
            f"that is a multiple of {cells} (channels x {shape}), got {code_units}"
        )
    return code_units // cells


def _strided(layer, kernel, filters, strides, activation, prefix):
    """One `layer` (a convolution or a transposed one) per filter, named `prefix_i`."""
    return [
        layer(
            width,
            kernel,
            strides=stride,
            padding="same",
            activation=activation,
            name=f"{prefix}_{i}",
        )
        for i, (width, stride) in enumerate(zip(filters, strides, strict=True))
    ]


def _encoder(kind, input_shape, code_units, *, code_activation=None, name="encoder", **layout):
    shape = tuple(input_shape)
    spatial, channels = kind.grid_of(shape)
    f = conv_layout(**layout)
    layers = [keras.Input(shape=shape)]
    if len(shape) == len(spatial):  # no channel axis: add one
        layers.append(keras.layers.Reshape(shape + (1,)))
    layers += _strided(kind.conv, kind.kernel, f.filters, f.strides, f.activation, "conv")
    grid = code_grid(spatial, f.strides)
    if f.code_layer == "conv":
        layers += [
            kind.conv(code_channels(code_units, grid), 1, activation=code_activation, name="code"),
            keras.layers.Flatten(),
        ]
    else:
        layers.append(keras.layers.Flatten())
        layers += [
            keras.layers.Dense(units, activation=f.activation, name=f"hidden_{i}")
            for i, units in enumerate(f.hidden_units)
        ]
        layers.append(keras.layers.Dense(code_units, activation=code_activation, name="code"))
    return keras.Sequential(layers, name=name)


def _decoder(
    kind, code_units, output_shape, *, output_activation="sigmoid", name="decoder", **layout
):
    shape = tuple(output_shape)
    spatial, channels = kind.grid_of(shape)
    f = conv_layout(**layout)
    grid = code_grid(spatial, f.strides)
    layers = [keras.Input(shape=(code_units,))]
    if f.code_layer == "conv":
        layers.append(keras.layers.Reshape(grid + (code_channels(code_units, grid),)))
    else:
        layers += [
            keras.layers.Dense(units, activation=f.activation, name=f"hidden_{i}")
            for i, units in enumerate(reversed(f.hidden_units))
        ]
        layers += [
            keras.layers.Dense(
                math.prod(grid) * f.filters[-1], activation=f.activation, name="project"
            ),
            keras.layers.Reshape(grid + (f.filters[-1],)),
        ]
    layers += _strided(
        kind.transpose, kind.kernel, f.filters[::-1], f.strides[::-1], f.activation, "deconv"
    )
    scale = 2 ** sum(s == 2 for s in f.strides)
    crops = [(g * scale - size) for g, size in zip(grid, spatial, strict=True)]
    if any(crops):
        pairs = tuple((c // 2, c - c // 2) for c in crops)
        layers.append(kind.crop(pairs if len(pairs) > 1 else pairs[0]))
    layers.append(
        kind.conv(
            channels,
            kind.kernel,
            padding="same",
            activation=output_activation,
            dtype="float32",
            name="output",
        )
    )
    if len(shape) == len(spatial):
        layers.append(keras.layers.Reshape(shape, dtype="float32"))
    return keras.Sequential(layers, name=name)


def _builder(fn, kind, doc):
    built = functools.partial(fn, kind)
    built.__doc__ = doc
    return built


build_conv_encoder = _builder(
    _encoder,
    _IMAGES,
    """`build_conv_encoder(input_shape, code_units,
    *, code_activation=None, name="encoder", **layout)`: Conv2D stack -> dense code (via
    `hidden_units`) or 1x1-conv spatial code; `layout` as `conv_layout` takes it.""",
)
build_conv_decoder = _builder(
    _decoder,
    _IMAGES,
    """`build_conv_decoder(code_units,
    output_shape, *, output_activation="sigmoid", name="decoder", **layout)`: dense projection
    (or reshape of a spatial code) -> transposed convs -> crop -> Conv2D.""",
)
build_conv1d_encoder = _builder(
    _encoder,
    _SEQUENCES,
    """`build_conv1d_encoder(input_shape,
    code_units, *, code_activation=None, name="encoder", **layout)`: Conv1D stack over
    `(steps,)` or `(steps, features)` samples -> dense or spatial code.""",
)
build_conv1d_decoder = _builder(
    _decoder,
    _SEQUENCES,
    """`build_conv1d_decoder(code_units,
    output_shape, *, output_activation="sigmoid", name="decoder", **layout)`: the mirror of
    `build_conv1d_encoder`, cropped back to the sequence's length.""",
)
