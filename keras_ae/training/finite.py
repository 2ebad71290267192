"""Non-finite values stop training and inference with an error that says why:
`FiniteGuard`, which `fit` runs ahead of the user's callbacks, raises
`NonFiniteError` at the first NaN or infinite loss it reads in the logs Keras
already brings back to Python once per compiled call (so it adds no work to
the step), before `ModelCheckpoint` can overwrite a good file with NaN
weights; `check_output` does the same for an array a model computed.
"""

import keras
import numpy as np

CAUSES = (
    "a learning rate too large or not finite, input data holding NaN or infinite "
    "values, or float16 overflow under mixed precision"
)


class NonFiniteError(ValueError, FloatingPointError):
    """A loss, a weight or an output became NaN or infinite."""


def _bad_keys(logs):
    bad = []
    for key, value in (logs or {}).items():
        try:
            finite = np.isfinite(np.asarray(value, dtype="float64")).all()
        except (TypeError, ValueError):
            continue  # not a number (a learning-rate schedule's name, ...)
        if not finite:
            bad.append(f"{key}={float(np.asarray(value, dtype='float64').ravel()[0]):g}")
    return bad


def check_learning_rate(optimizer):
    """Refuses a learning rate that is NaN, infinite or negative (a schedule passes)."""
    rate = getattr(optimizer, "learning_rate", None)
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        return  # a LearningRateSchedule: the loss check covers it
    if not np.isfinite(rate) or rate < 0:
        raise ValueError(
            f"the optimizer's learning_rate must be a finite number >= 0, got {rate!r}"
        )


def weights_finite(model):
    """Whether every float weight of `model` is finite (one pass, once per epoch)."""
    return all(np.isfinite(v.numpy()).all() for v in model.weights if "float" in str(v.dtype))


class FiniteGuard(keras.callbacks.Callback):
    """Raises `NonFiniteError` at the first batch-end or epoch-end whose logged
    losses are not finite, or an epoch end whose weights are not (the last
    step's update shows in no loss). Placed first, it stops `fit` before any
    later callback (`ModelCheckpoint`, `BackupAndRestore`) saves that state."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_train_begin(self, logs=None):
        check_learning_rate(self.model.optimizer)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = _bad_keys(logs)
        if bad:
            steps = self.model.steps_per_execution
            every = f", checked every {steps} batches (steps_per_execution)" if steps > 1 else ""
            self._stop(f"at batch {batch + 1} of epoch {self.epoch + 1}{every}: {', '.join(bad)}")

    def on_epoch_end(self, epoch, logs=None):
        bad = _bad_keys(logs)
        if bad:
            self._stop(f"at the end of epoch {epoch + 1}: {', '.join(bad)}")
        if not weights_finite(self.model):
            self._stop(
                f"at the end of epoch {epoch + 1}: the model's weights are NaN or "
                "infinite after its last update"
            )

    def _stop(self, where):
        causes = CAUSES
        bounds = getattr(self.model, "target_range", lambda: None)()
        if bounds:  # numpy targets are checked before fit; a dataset's are not
            causes += (
                f", or targets outside [{bounds[0]:g}, {bounds[1]:g}] ({bounds[2]}) from a "
                "tf.data pipeline, whose values are not checked (uint8 images: divide by 255)"
            )
        raise NonFiniteError(
            f"training stopped: the loss became NaN or infinite {where}. Likely causes: "
            f"{causes}. The model's weights may no longer be finite; checkpoints written "
            "at earlier epoch ends were kept (reload the last good one)."
        )


def check_output(out, what, input_checked=True):
    """`out` (numpy), or a `NonFiniteError` when it holds NaN or infinities."""
    if np.issubdtype(np.asarray(out).dtype, np.floating) and not np.isfinite(out).all():
        bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        source = (
            "from finite input: its values are too large for the model's computation "
            "(float32, or float16 under mixed precision), or the model's weights are "
            "not finite (a training run that diverged)"
            if input_checked
            else "(the input, which was not checked here, may hold NaN, or the model's "
            "weights are not finite)"
        )
        raise NonFiniteError(f"{what} gave {bad} NaN or infinite value(s) {source}")
    return out
