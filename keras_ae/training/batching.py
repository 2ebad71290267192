"""Arrays given to `fit` as batches of one size, for a model compiled with XLA.

XLA compiles a train step once per batch shape it meets. Keras cuts an array
into batches of `batch_size` and a last, smaller one, so every `fit` on a
number of samples that is not a multiple of `batch_size` compiled its step a
second time for that last batch (about 1 s of a 2-core CPU's first epoch:
runs 5 and 6 of docs/benchmarks/threads.md), and again for each other
remainder. `full_batches` gives `fit` the arrays as a dataset of full batches
instead (where that draws at most `MAX_DRAWN_AGAIN` of them again): each epoch takes
every sample once, in a fresh order when shuffled, and fills its last batch
with the first samples of another pass over the data (`repeat()` then
`batch(drop_remainder=True)`). An epoch of 60,000 samples at 128 is 469
batches either way; its last one holds 96 samples of this pass and 32 drawn
again. Every loss term stays the mean of the samples its batch holds, and the
epoch's figure the mean over the samples its batches held.
"""

import math

import numpy as np
import tensorflow as tf

from keras_ae import keras_compat

#: The most samples an epoch may draw again to fill its last batch, as a share
#: of its samples (reached only by fewer than 20 batches' worth): beyond it,
#: Keras's last, smaller batch changes an epoch less than filling it would.
MAX_DRAWN_AGAIN = 0.05


def full_batches(model, x, y, args, kwargs, validation_data):
    """`(x, y, kwargs, validation_data)` for `keras.Model.fit`: a dataset of
    full batches in place of numpy `x` (and `y`) when `model` runs its step
    with XLA and the training samples do not fill their last batch, or what
    was given, unchanged, when Keras's own batching compiles nothing more (no
    XLA, samples a multiple of `batch_size` or fewer than it), when filling the
    last batch would draw more than `MAX_DRAWN_AGAIN` of the samples again, or
    when the call sets what this would have to reproduce (arguments by
    position, `steps_per_epoch`, `shuffle="batch"`).

    `validation_split` holds out what Keras holds out (Keras's own split: the
    last fraction of the arrays, before shuffling), and the validation batches
    keep `batch_size` unless `validation_batch_size` says otherwise."""
    arrays = tf.nest.flatten(x if y is None else (x, y))
    if (
        not model.jit_compile
        or model.run_eagerly
        or args
        or kwargs.get("steps_per_epoch") is not None
        or kwargs.get("shuffle", True) not in (True, False)
        or not arrays
        or not all(isinstance(a, np.ndarray) and a.ndim >= 1 for a in arrays)
        or len({len(a) for a in arrays}) != 1
    ):
        return x, y, kwargs, validation_data
    batch_size = kwargs.get("batch_size") or 32  # Keras's default
    split = kwargs.get("validation_split")
    train, held = (x, y), None
    if split and validation_data is None:
        train, held = keras_compat.train_validation_split((x, y), split)
    rows = len(tf.nest.flatten(train[0])[0])
    drawn_again = -rows % batch_size
    if rows <= batch_size or drawn_again == 0 or drawn_again > MAX_DRAWN_AGAIN * rows:
        return x, y, kwargs, validation_data
    x, y = train
    if held is not None:
        validation_data = held if y is not None else held[:1]
    kwargs = dict(kwargs)
    kwargs.pop("validation_split", None)
    kwargs["validation_batch_size"] = kwargs.get("validation_batch_size") or batch_size
    shuffle = kwargs.pop("shuffle", True)
    kwargs.pop("batch_size", None)
    kwargs["shuffle"] = False  # the dataset orders itself
    data = x if y is None else (x, y)  # as Keras's array adapter yields them
    return _dataset(data, rows, batch_size, shuffle), None, kwargs, validation_data


def _dataset(data, rows, batch_size, shuffle):
    """An epoch of `ceil(rows / batch_size)` full batches of `data` (a nest of
    arrays of `rows` samples each); a new order each epoch if `shuffle`. The
    arrays travel as one dataset element beside the indices, as in Keras's
    array adapter, rather than as constants of the gathering function (a
    graph holds no constant over 2 GB)."""
    order = tf.data.Dataset.range(rows)
    if shuffle:
        order = order.shuffle(rows, reshuffle_each_iteration=True)
    order = order.repeat(2).batch(batch_size, drop_remainder=True)
    order = order.take(math.ceil(rows / batch_size))
    whole = tf.data.Dataset.from_tensors(tf.nest.map_structure(tf.convert_to_tensor, data))
    batches = tf.data.Dataset.zip((order, whole.repeat())).map(
        lambda i, arrays: tf.nest.map_structure(lambda t: tf.gather(t, i), arrays),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return batches.prefetch(tf.data.AUTOTUNE)
