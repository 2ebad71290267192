"""Train and test functions traced once for batches of any size.

Keras's array adapter gives a batch a static size (128) when every batch of
an epoch is full and an unknown one when the last batch is partial; the
`tf.function` behind `fit` traces on the first and, at the first partial
batch (a later `fit` on another number of samples, or `validation_data`),
traces again for any size, and with XLA compiles again. Tracing it for an
unknown batch size before its first call makes that one trace serve every
`fit`, `evaluate` and epoch. (XLA still compiles once per batch size it meets;
`keras_ae.training.batching` gives `fit` full batches under XLA.)
"""

import tensorflow as tf

from keras_ae import keras_compat


def any_batch_size(function):
    """`function` (a train or test function Keras made), tracing its compiled
    step for the batches an iterator yields with their batch size unknown,
    once per kind of batch (structure, dtypes, other dimensions). Unchanged
    for a model run eagerly; an iterator of a distribution strategy is passed
    through as Keras traces it."""
    step = keras_compat.iterator_step(function)
    if step is None:
        return function
    traced, last = [], [None]

    def call(iterator):
        # Keras passes an epoch's iterator to every call: its spec is read once.
        if isinstance(iterator, tf.data.Iterator) and id(iterator) != last[0]:
            last[0] = id(iterator)
            spec = tf.data.IteratorSpec(any_batch(iterator.element_spec))
            if spec not in traced:
                step.get_concrete_function(spec)
                traced.append(spec)
        return function(iterator)

    return call


def any_batch(element_spec):
    """`element_spec` with the first (batch) dimension of each tensor unknown."""

    def relax(spec):
        if isinstance(spec, tf.TensorSpec) and spec.shape.rank:
            return tf.TensorSpec([None, *spec.shape[1:]], spec.dtype, spec.name)
        return spec

    return tf.nest.map_structure(relax, element_spec)
