"""Loss terms and penalties as `keras.ops` functions, the contractive
Jacobian norm included (the zoo's `jacobian_norm` figure measures it too).

Every term is reduced the same way: a sum over the features of one sample,
then a mean over the batch. A reconstruction loss of 784 pixels is therefore
784 times the per-pixel MSE, the convention of the VAE literature (the ELBO
is a per-sample sum), and the relative weights of the regularisers below do
not depend on the batch size.
"""

import math

import keras
from keras import ops

from keras_ae.utils.validation import check_number

RECONSTRUCTION_LOSSES = ("mse", "bce", "mae", "huber")
#: The Huber loss's threshold: squared error below it, absolute error above (Keras's default).
HUBER_DELTA = 1.0
_EPS = 1e-7


def _flatten(x):
    return ops.reshape(x, (ops.shape(x)[0], -1))


def validate_reconstruction_loss(name):
    """Returns `name` if it is a known reconstruction loss, else raises."""
    if name not in RECONSTRUCTION_LOSSES:
        raise ValueError(
            f"reconstruction_loss must be one of {RECONSTRUCTION_LOSSES}, got {name!r}"
        )
    return name


def squared_error(y_true, y_pred):
    """Per-sample sum of squared errors, shape `(batch,)`."""
    d = _flatten(ops.cast(y_true, "float32")) - _flatten(ops.cast(y_pred, "float32"))
    return ops.sum(ops.square(d), axis=-1)


def absolute_error(y_true, y_pred):
    """Per-sample sum of absolute errors, shape `(batch,)` (the ECG tutorial's MAE, summed)."""
    d = _flatten(ops.cast(y_true, "float32")) - _flatten(ops.cast(y_pred, "float32"))
    return ops.sum(ops.abs(d), axis=-1)


def huber_error(y_true, y_pred, delta=HUBER_DELTA):
    """Per-sample sum of the Huber loss, shape `(batch,)`: `d^2 / 2` where
    `|d| <= delta`, `delta * (|d| - delta / 2)` beyond (robust to outliers)."""
    d = ops.abs(_flatten(ops.cast(y_true, "float32")) - _flatten(ops.cast(y_pred, "float32")))
    small = ops.minimum(d, delta)
    return ops.sum(0.5 * ops.square(small) + delta * (d - small), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample summed binary cross-entropy, shape `(batch,)`.

    Targets may be any value in [0, 1] (grey levels included). Probabilities
    (`from_logits=False`) are clipped to `[1e-7, 1 - 1e-7]`, as Keras's own
    `binary_crossentropy` does, so a saturated output costs at most ~16 nats
    per element rather than infinity; logits need no clipping.
    """
    t = _flatten(ops.cast(y_true, "float32"))
    p = _flatten(ops.cast(y_pred, "float32"))
    if from_logits:
        # log(1 + e^p) - t p, written stably.
        ce = ops.relu(p) - p * t + ops.log1p(ops.exp(-ops.abs(p)))
    else:
        p = ops.clip(p, _EPS, 1.0 - _EPS)
        ce = -(t * ops.log(p) + (1.0 - t) * ops.log(1.0 - p))
    return ops.sum(ce, axis=-1)


def probability_crossentropy(y_true, y_pred):
    """Per-sample summed binary cross-entropy of probabilities `y_pred` as
    Keras computes it (`keras.ops.binary_crossentropy`, keras.io's VAE loss):
    inside a compiled step the output of a sigmoid is traced back to its
    logits, so saturated pixels keep their gradient; elsewhere (eager, or a
    cast in between) the probabilities are clipped to [1e-7, 1 - 1e-7]."""
    if y_pred.dtype != "float32":
        y_pred = ops.cast(y_pred, "float32")
    ce = ops.binary_crossentropy(ops.cast(y_true, "float32"), y_pred)
    return ops.sum(_flatten(ce), axis=-1)


def reconstruction_loss(name, y_true, y_pred, from_logits=False):
    """Per-sample reconstruction loss by name (`"mse"`, `"bce"`, `"mae"` or `"huber"`),
    each summed over the features of a sample."""
    if name == "mse":
        return squared_error(y_true, y_pred)
    if name == "mae":
        return absolute_error(y_true, y_pred)
    if name == "huber":
        return huber_error(y_true, y_pred)
    if name == "bce":
        return binary_crossentropy(y_true, y_pred, from_logits=from_logits)
    validate_reconstruction_loss(name)


def gaussian_kl(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per sample, shape `(batch,)`."""
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def gaussian_log_prob(z, mean, log_var):
    """log N(z; mean, exp(log_var)) summed over the last axis (in float32, like
    every loss here: exp(-log_var) overflows float16)."""
    z, mean, log_var = (ops.cast(t, "float32") for t in (z, mean, log_var))
    return -0.5 * ops.sum(
        math.log(2.0 * math.pi) + log_var + ops.square(z - mean) * ops.exp(-log_var), axis=-1
    )


def l1_activity(h):
    """Per-sample sum of |h|, the L1 sparsity penalty."""
    return ops.sum(ops.abs(_flatten(ops.cast(h, "float32"))), axis=-1)


def global_batch_mean(h):
    """Mean over the batch axis of `h`, taken over the whole global batch.

    Under a `tf.distribute` strategy each replica sees part of the batch;
    the per-replica sums and counts are all-reduced (differentiably) so that
    every replica uses the statistic of the full batch, as one device would.
    """
    import tensorflow as tf

    h = _flatten(ops.cast(h, "float32"))
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return ops.mean(h, axis=0)
    total = ctx.all_reduce("sum", ops.sum(h, axis=0))
    count = ctx.all_reduce("sum", ops.cast(ops.shape(h)[0], "float32"))
    return total / count


def kl_sparsity(h, rho):
    """sum_j KL(rho || rho_hat_j), with rho_hat the batch's mean activation.

    `h` must lie in (0, 1) (a sigmoid code). The result is a scalar: the
    penalty is a property of the (global) batch, not of one sample. `rho`
    must lie in (0, 1).
    """
    rho = check_number("rho", rho, 0.0, 1.0, open_low=True)  # log(0): the penalty would be NaN
    rho_hat = ops.clip(global_batch_mean(h), _EPS, 1.0 - _EPS)
    kl = rho * ops.log(rho / rho_hat) + (1.0 - rho) * ops.log((1.0 - rho) / (1.0 - rho_hat))
    return ops.sum(kl)


# Derivative of each activation written in terms of its output h.
_DERIVATIVE_FROM_OUTPUT = {
    "sigmoid": lambda h: h * (1.0 - h),
    "tanh": lambda h: 1.0 - ops.square(h),
    "linear": lambda h: ops.ones_like(h),
    "relu": lambda h: ops.cast(h > 0, h.dtype),
}


def closed_form_dense(encoder):
    """The encoder's one Dense layer when its Jacobian has a closed form, else None.

    That is an encoder `h = f(W x + b)` of a single Dense layer (a Flatten
    before it allowed) whose activation `f` is sigmoid, tanh, linear or ReLU.
    """
    layers = getattr(encoder, "layers", None)
    if layers is None:
        return None
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    others = [
        layer
        for layer in layers
        if not isinstance(
            layer, (keras.layers.Dense, keras.layers.Flatten, keras.layers.InputLayer)
        )
    ]
    if len(dense) != 1 or others or dense[0].activation.__name__ not in _DERIVATIVE_FROM_OUTPUT:
        return None
    return dense[0]


def squared_jacobian_norm(encode, x, dense=None, h=None, dtype="float32"):
    """Per-sample squared Frobenius norm `||dh/dx||_F^2` of `h = encode(x)`, shape `(batch,)`.

    The contractive penalty (Rifai et al. 2011). With the encoder's Dense layer
    (`closed_form_dense`) it is `sum_j f'(a_j)^2 ||W_j||^2`, with `f'` written
    from the output (a sigmoid's is `h (1 - h)`): one extra product, in `dtype`
    (float64 for the zoo cards' figures). Otherwise the exact per-sample
    Jacobian from `tf.GradientTape.batch_jacobian` (float32).

    Args:
        encode: the encoder as a function `x -> h`.
        x: a batch of inputs.
        dense: the encoder's Dense layer for the closed form, or None.
        h: `encode(x)` when already computed (closed form only).
        dtype: the closed form's float dtype.
    """
    if dense is not None:
        h = ops.cast(encode(x) if h is None else h, dtype)
        derivative = _DERIVATIVE_FROM_OUTPUT[dense.activation.__name__](h)
        row_norms = ops.sum(ops.square(ops.cast(dense.kernel, dtype)), axis=0)
        return ops.sum(ops.square(derivative) * row_norms, axis=-1)
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = ops.cast(encode(x), "float32")
    jacobian = tape.batch_jacobian(h, x)
    return ops.sum(ops.reshape(ops.square(jacobian), (ops.shape(x)[0], -1)), axis=-1)
