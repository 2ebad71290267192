"""Inference on numpy arrays: `encode`, `decode`, `reconstruct` (and a
variant's own graph methods) run on checked input, in batches, through one
graph per method and sample shape that the model keeps, with a
`NonFiniteError` rather than NaN or infinite outputs."""

import keras
import numpy as np
import tensorflow as tf

from keras_ae import keras_compat
from keras_ae.training.finite import check_output
from keras_ae.training.inputs import build_from_batch_shape
from keras_ae.utils.validation import (
    cast_finite,
    check_array,
    is_low_precision_float,
    refuse_integers,
)

#: The model's own forward methods under their public names.
_GRAPH_METHODS = {"encode": "_encode", "decode": "_decode", "call": "call"}


def traced_once(fn, spec):
    """`fn` as a graph function of one tensor of `spec` (batch left open), traced once.

    Each model keeps its own (in `_compiled_fns`), so a loop over models
    traces the same code once per model; TensorFlow counts traces by code,
    not by function, and from the fifth model on would warn of "retracing"
    that is not happening, so that warning is turned off for these."""
    function = tf.function(fn, input_signature=[spec], autograph=False)
    return keras_compat.quiet_retracing(function)


def run_on_numpy(model, method, x, sample_shape, batch_size=1024):
    """`model.<method>(x, training=False)` on array-like `x`, as numpy.

    `method` is `"encode"`, `"decode"`, `"call"` (reconstruct) or the name
    of another graph method of the model. `x` is checked against
    `sample_shape` (integer images refused; integer codes are codes), cast to
    the model's compute dtype and checked finite; a model not built yet is
    built for it (`decode` needs a built one)."""
    if not model.built and method == "decode":
        raise ValueError(
            "decode needs a built model: give input_shape, or call the model "
            "(fit, encode, reconstruct) on input first"
        )
    name = "x" if method != "decode" else "z"
    x = check_array(x, sample_shape, name)
    if method != "decode":
        refuse_integers(x, name)
    build_from_batch_shape(model, x.shape)
    x = cast_finite(x, model.compute_dtype, name)
    cache = model.__dict__.setdefault("_compiled_fns", {})
    key = (method, x.shape[1:], x.dtype.name)
    if key not in cache:
        fn = getattr(model, _GRAPH_METHODS.get(method, method))

        def inference(t, fn=fn):
            return fn(t, training=False)

        # One trace per method and sample shape: the batch dimension is left
        # open, so the last, smaller batch reuses the graph. No AutoGraph: the
        # graph has no Python control flow to convert.
        cache[key] = traced_once(inference, tf.TensorSpec((None,) + x.shape[1:], x.dtype))
    parts = [
        keras.ops.convert_to_numpy(cache[key](x[i : i + batch_size]))
        for i in range(0, len(x), batch_size)
    ]
    out = check_output(
        np.concatenate(parts, axis=0), method.strip("_").replace("call", "reconstruct")
    )
    # A mixed-precision model's codes come out float32, as its reconstructions
    # do (numpy has no bfloat16 of its own: such arrays confuse numpy code).
    return out.astype(np.float32) if is_low_precision_float(out.dtype) else out
