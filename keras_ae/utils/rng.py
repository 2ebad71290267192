"""Random draws that stay fast inside an XLA-compiled training step.

`keras.random.normal` and `keras.random.uniform` call TensorFlow's stateless
ops without naming an algorithm. Compiled by XLA on a CPU, that op is
7-40x slower than the same op with `alg="philox"` named, although both give
the same values: a (256, 784) uniform draw takes ~67 ms in an XLA program
against ~1.6 ms, and the VAE's (256, 32) noise ~5 ms against ~0.7 ms, about a
third of its training step. A denoising AE trained 4x slower with XLA than
without it (`python scripts/bench_rng.py` writes the table to
`docs/benchmarks/rng.md`). Without XLA the two cost the same.

So every draw a model makes while training goes through here. A draw from a
`keras.random.SeedGenerator` (fresh noise on each call, what a model owns) is
Philox keyed by the generator's next state: exactly the values
`keras.random` gives from an equally seeded generator, eagerly and under XLA
(tests/test_corruption.py checks both); under a distribution strategy with
several replicas, each replica's key also holds its id, so that the replicas
draw different noise. An int seed or `None` is passed to `keras.random` as it is.
"""

import keras
import tensorflow as tf


def _philox_seed(generator):
    # The generator's next state, as the int32 pair TensorFlow's stateless
    # ops take (what keras.random does with it too).
    seed = tf.cast(generator.next(), "int32")
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        # Under a distribution strategy every replica reads the same mirrored
        # state: without its id in the key, each would draw the same noise
        # for its share of the global batch (as keras.layers.Dropout does).
        # Folded in (hashed), not added: the generator steps its state by
        # [0, 1], so an added id would alias replica r now with replica 0
        # r draws later.
        seed = tf.random.experimental.stateless_fold_in(
            seed, context.replica_id_in_sync_group, alg="philox"
        )
    return seed


def uniform(shape, seed=None, dtype="float32"):
    """Uniform [0, 1) values of `shape`; see the module docstring for `seed`."""
    if isinstance(seed, keras.random.SeedGenerator):
        return tf.random.stateless_uniform(shape, _philox_seed(seed), dtype=dtype, alg="philox")
    return keras.random.uniform(shape, dtype=dtype, seed=seed)


def normal(shape, seed=None, stddev=1.0, dtype="float32"):
    """N(0, stddev^2) values of `shape`; see the module docstring for `seed`."""
    if isinstance(seed, keras.random.SeedGenerator):
        return tf.random.stateless_normal(
            shape, _philox_seed(seed), stddev=stddev, dtype=dtype, alg="philox"
        )
    return keras.random.normal(shape, stddev=stddev, dtype=dtype, seed=seed)
