"""What `compile()`'s "auto" settings mean for a keras_ae model, in one table,
and the counter that warns when a process has compiled many models with XLA.

The settings were measured, not guessed: docs/benchmarks/train.md (XLA and
8 batches per compiled call, per model), docs/benchmarks/fit_inprocess.md
(1 against 8 batches per call, in one process), docs/benchmarks/xla_size.md
(XLA across network sizes) and docs/benchmarks/xla_memory.md (what each
XLA program keeps until the process exits).
"""

import math
import warnings

import numpy as np
import tensorflow as tf

#: Keras's own choice: its `jit_compile="auto"` rule (XLA on a GPU, none on a
#: CPU-only machine) and one batch per compiled call.
KERAS = ("auto", 1)

#: `(jit_compile, steps_per_execution)` that "auto" means, by the kind of
#: network a model runs (`Autoencoder.compile_profile()`).
AUTO_COMPILE = {
    # XLA, on CPU too, fuses the elementwise and Adam work around the matmuls;
    # 8 batches per call pay Keras's per-call cost (iterator, callbacks, the
    # call: a fifth of a 10 ms step) once per 8, so batch-level callbacks run
    # every 8 batches (pass steps_per_execution=1 for every batch).
    "mlp": (True, 8),
    # The contractive AE's batched Jacobian: not measured faster with XLA, and
    # its XLA programs keep ~3,000 memory maps each until the process exits
    # (about 20 models exhaust Linux's default vm.max_map_count).
    "mlp_batch_jacobian": ("auto", 8),
    # XLA is slower for convolutions on CPU; their ~100 ms steps hide the call's cost.
    "conv": KERAS,
    "conv1d": KERAS,  # not measured
    "lstm": KERAS,  # not measured
    "custom": KERAS,  # user-supplied networks: not measured
}

#: After this many models trained with XLA in one process, warn once that
#: their compiled programs are never freed (tensorflow/tensorflow#64170).
XLA_SWEEP_WARNING = 50
_xla_models = 0


def auto_compile(profile, run_eagerly=False, distributed=False):
    """`(jit_compile, steps_per_execution)` that "auto" means: the row of
    `profile`, or Keras's choice for a model run eagerly or under a
    distribution strategy (neither was measured)."""
    return KERAS if run_eagerly or distributed else AUTO_COMPILE.get(profile, KERAS)


def divisor_steps(steps, step_counts, batches=None):
    """At most `steps` per execution, dividing each of `step_counts` (Keras
    runs whole executions: 8 per call would turn `steps_per_epoch=10` into 16
    steps) and no more than `batches`, the batches an epoch has."""
    for count in step_counts:
        if count is not None and count != -1:
            steps = math.gcd(steps, int(count))
    return min(steps, batches) if batches else steps


def batches_per_epoch(x, args, kwargs):
    """How many batches `fit` makes of `x` per epoch: a numpy array's, or a
    dataset's known cardinality; None when not known here (a repeated or
    filtered dataset, a batch size given by position)."""
    if isinstance(x, tf.data.Dataset):
        batches = int(x.cardinality())
        return batches if batches > 0 else None
    if not isinstance(x, np.ndarray) or args or len(x) == 0:
        return None
    rows = len(x)
    if kwargs.get("validation_split"):
        rows = int(rows * (1.0 - kwargs["validation_split"]))
    return max(1, math.ceil(rows / (kwargs.get("batch_size") or 32)))  # 32: Keras's default


def count_xla_model():
    """Counts one more model trained with XLA; warns at `XLA_SWEEP_WARNING`."""
    global _xla_models
    _xla_models += 1
    if _xla_models == XLA_SWEEP_WARNING:
        warnings.warn(
            f"{XLA_SWEEP_WARNING} keras_ae models in this process were trained with XLA "
            "(the default for MLP networks); TensorFlow keeps every compiled XLA program "
            "until the process exits (about 25 MB each, tensorflow/tensorflow#64170). For a "
            "sweep over many models, pass jit_compile=False to compile() or train each model "
            "in its own process.",
            RuntimeWarning,
            stacklevel=2,
        )
