"""Constructor arguments every variant shares: the built networks' arguments
(class defaults, normalised and checked), user-supplied networks, activation
names (`"linear"` and None both mean none), arguments a variant would
silently defeat (refused when a model is built, warned of when a model saved
before the check loads), the dtype policy networks are built under, and
which of their layers are frozen (a config argument of its own)."""

import contextlib
import contextvars
import warnings

import keras

from keras_ae import keras_compat, losses
from keras_ae.networks import CONV_NETWORKS, DEFAULT_ACTIVATION, NETWORK_NAMES, NETWORKS
from keras_ae.utils.validation import check_choice, check_positive_int

_LOADING = contextvars.ContextVar("keras_ae_loading", default=False)


def layer_activation(name):
    """The activation to hand a Keras layer: None for `"linear"` or None, else `name`."""
    return None if name in (None, "linear") else name


def is_activation(value, name):
    """Whether `value` (a name, a function or None) is Keras's activation `name`."""
    return keras.activations.get(value) is keras.activations.get(name)


def check_activation(role, value):
    """Refuses an activation Keras does not know, naming its `role`
    (`"output_activation"`, ...): a network with no hidden layer never looks
    its hidden activation up, so a typo there would pass unnoticed."""
    if value is None or callable(value):
        return
    try:
        keras.activations.get(layer_activation(value))
    except (ValueError, TypeError):
        raise ValueError(
            f"{role} must be a Keras activation (e.g. 'relu', 'sigmoid', 'linear'), got {value!r}"
        ) from None


def defeated_argument(message):
    """An argument a variant would silently defeat: a ValueError when a model
    is built, a warning when a model saved before the check is loaded (it
    then behaves as it always did)."""
    if _LOADING.get():
        warnings.warn(f"{message}; loading the saved model as it was", UserWarning, stacklevel=3)
    else:
        raise ValueError(message)


@contextlib.contextmanager
def loading_saved_model():
    """Marks the models built inside as loaded from a saved config (see
    `defeated_argument`)."""
    token = _LOADING.set(True)
    try:
        yield
    finally:
        _LOADING.reset(token)


@contextlib.contextmanager
def dtype_policy(policy):
    """Makes `policy` the global dtype policy while layers are created, so a
    model's networks compute in its own policy (`dtype=...`, or the one a
    saved model was saved with), not the global one of the moment."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def settle_network_arguments(model, given, encoder):
    """Sets each argument of the built networks on `model`: `given`, or the
    class's `defaults` where None, as tuples, then checks them all (a
    user-supplied `encoder` takes none of them)."""
    for key, value in given.items():
        setattr(model, key, model.defaults[key] if value is None else value)
    if given["hidden_units"] is None and model.code_layer == "conv":
        model.hidden_units = ()  # a spatial code takes none: not the class default
    model.hidden_units = tuple(model.hidden_units)
    model.filters = tuple(model.filters)
    if given["activation"] is None and model.network in DEFAULT_ACTIVATION:
        model.activation = DEFAULT_ACTIVATION[model.network]
    refuse_ignored_arguments(model, given, encoder)
    model.strides = None if model.strides is None else tuple(model.strides)
    check_choice("network", model.network, NETWORKS)
    losses.validate_reconstruction_loss(model.reconstruction_loss)
    for role in ("activation", "latent_activation", "output_activation"):
        check_activation(role, getattr(model, role))
    link = layer_activation(model.output_link())
    if (
        model.reconstruction_loss == "bce"
        and encoder is None
        and not any(is_activation(link, name) for name in ("sigmoid", "softmax"))
    ):
        # The cross-entropy of outputs outside (0, 1) is clipped: no gradient there.
        defeated_argument(
            "reconstruction_loss='bce' needs reconstructions in (0, 1), so "
            "output_activation='sigmoid' (or 'softmax'); got output_activation="
            f"{model.output_activation!r}"
        )
    for units in model.hidden_units:
        check_positive_int("each of hidden_units", units)
    for f in model.filters:
        check_positive_int("each of filters", f)


#: Arguments only a convolutional network reads, with what an MLP or LSTM uses instead.
_CONV_ONLY = {
    "filters": "its layers are hidden_units",
    "strides": "it has no convolutions",
    "code_layer": "its code is a dense layer",
}
#: Arguments that only shape the built networks: a user's encoder and decoder take none.
BUILD_ARGUMENTS = (
    "network",
    "hidden_units",
    "filters",
    "strides",
    "code_layer",
    "activation",
    "latent_activation",
    "output_activation",
)


def refuse_ignored_arguments(model, given, encoder):
    """Refuses an argument the chosen network would ignore: `filters`,
    `strides` or `code_layer` for an MLP or LSTM (which silently built a dense
    network), or any network-building argument next to a user's `encoder`.
    A model loaded from a saved config, which lists every argument, is only
    warned of a value that differs from the class default (see
    `defeated_argument`)."""
    loading = _LOADING.get()
    if encoder is not None:
        if loading:
            return
        named = [k for k in BUILD_ARGUMENTS if given.get(k) is not None]
        if named:
            raise ValueError(
                "a user-supplied encoder and decoder are used as they are; the arguments "
                "that build networks do not apply to them: got "
                + ", ".join(f"{k}={given[k]!r}" for k in named)
            )
        return
    if model.network in CONV_NETWORKS:
        return
    for key, why in _CONV_ONLY.items():
        value = getattr(model, key)
        ignored = value != model.defaults[key] if loading else given.get(key) is not None
        if key == "code_layer" and value == "dense" and not loading:
            ignored = False  # what an MLP's code is anyway
        if ignored:
            defeated_argument(
                "filters, strides and code_layer apply to network='conv' or 'conv1d'; "
                f"{NETWORK_NAMES.get(model.network, model.network)} got "
                f"{key}={value!r} ({why})"
            )


#: Layers that only move values about: the activation before them bounds the output.
_SHAPE_ONLY = (
    keras.layers.Reshape,
    keras.layers.Flatten,
    keras.layers.Permute,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
)
#: Activations whose output is bounded, by name.
BOUNDED_ACTIVATIONS = ("sigmoid", "tanh", "softmax")


def output_activation_of(network):
    """`(name, layer)`: the activation that ends `network`'s output and the
    layer that applies it, looking through nested models and shape-only
    layers (Reshape, Flatten, Cropping). `name` is `"sigmoid"`, `"tanh"`,
    `"softmax"`, `"linear"` or another activation's name; `(None, None)` when
    it cannot be told (a subclassed layer, several outputs), then the network
    is taken as it is."""
    layer = network
    while isinstance(layer, keras.Model):
        layers = list(layer.layers)
        if isinstance(layer, keras.Sequential):
            chain = layers
        else:
            try:
                outputs = layer.outputs
            except (AttributeError, ValueError):
                return None, None
            if not outputs or len(outputs) != 1 or not layers:
                return None, None
            chain = _output_chain(layers, outputs[0])
        while chain and isinstance(chain[-1], _SHAPE_ONLY):
            chain = chain[:-1]
        if not chain:
            return None, None
        layer = chain[-1]
    activation = getattr(layer, "activation", None)
    if activation is None or not callable(activation):
        return None, None
    for name in (*BOUNDED_ACTIVATIONS, "linear"):
        if is_activation(activation, name):
            return name, layer
    return getattr(activation, "__name__", str(activation)), layer


def _output_chain(layers, output):
    """The layers of a functional model that lead straight to `output`, in order."""
    chain, target = [], output
    for layer in reversed(layers):
        try:
            produced = layer.output
        except (AttributeError, ValueError):  # called more than once, or never
            return chain[::-1]
        if produced is target:
            chain.append(layer)
            if not isinstance(layer, _SHAPE_ONLY):
                break
            try:
                target = layer.input
            except (AttributeError, ValueError):
                break
    return chain[::-1]


def custom_networks(encoder, decoder):
    """`(encoder, decoder)` a user gave (deserialized from a saved config's
    dicts), None when neither was given, or a ValueError naming the one missing
    or not callable."""
    if (encoder is None) != (decoder is None):
        raise ValueError(
            "pass both encoder and decoder, or neither (then input_shape and "
            f"latent_dim build them); got encoder={encoder!r}, decoder={decoder!r}"
        )
    if encoder is None:
        return None
    if isinstance(encoder, dict):
        encoder = keras.saving.deserialize_keras_object(encoder)
        decoder = keras.saving.deserialize_keras_object(decoder)
    for role, layer in (("encoder", encoder), ("decoder", decoder)):
        if not callable(layer):
            raise ValueError(f"{role} must be a Keras layer or model, got {layer!r}")
    return encoder, decoder


def frozen_layers(model):
    """Which layers of `model`'s networks are frozen (`trainable = False`), by
    position in a fixed order (the same for a network rebuilt from the same
    config): the built networks are rebuilt from the constructor's arguments
    on load and clone, which would train them all again."""
    frozen = {}
    for role in ("encoder", "decoder"):
        layers = keras_compat.flatten_layers(getattr(model, role))
        indices = [i for i, layer in enumerate(layers) if not layer.trainable]
        if indices:
            frozen[role] = indices
    return frozen


def freeze_layers(model, frozen):
    """Freezes the layers `frozen_layers` listed, in a model rebuilt from its config."""
    for role, indices in frozen.items():
        layers = keras_compat.flatten_layers(getattr(model, role))
        for i in indices:
            layers[i].trainable = False
