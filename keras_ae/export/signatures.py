"""The serving functions of an exported autoencoder, one per signature.

This module owns what an export computes: the signature names and output
keys (`SIGNATURES`, and the one per TFLite part), the tf.functions behind
them (`endpoints`) and the `keras.export.ExportArchive` both formats are
written from (`build_archive`). Every signature takes and returns float32
tensors whatever the model's dtype policy (a `mixed_float16` model casts
inside), with a dynamic batch size; a VQVAE's codes (`encode`'s output,
`decode`'s input) are int32 code maps.
"""

import keras
import tensorflow as tf

from keras_ae.export._common import check_model

#: Signature names and their output keys. `sample` exists for VAEs only,
#: `hash` and `hash_bits` for semantic hashing models only.
SIGNATURES = {
    "reconstruct": ("reconstruction",),
    "encode": ("code",),
    "decode": ("reconstruction",),
    "encode_distribution": ("z_mean", "z_log_var"),
    "sample": ("samples",),
    "hash": ("hash",),
}
#: The signature that serves each `export_tflite` part.
PART_SIGNATURES = {"full": "reconstruct", "encoder": "encode", "decoder": "decode"}


def _float32(tensor):
    return tf.cast(tensor, tf.float32)


def endpoints(model, names=None):
    """The model's serving functions and input signatures.

    Args:
        model: a built keras_ae autoencoder.
        names: signatures to build (default: all that the model supports).

    Returns:
        A dict `name -> (fn, input_signature)`; each `fn` returns a dict of
        named outputs.
    """
    from keras_ae.models import VAE, SemanticHashingAE

    shapes = check_model(model)
    x_spec = tf.TensorSpec((None,) + shapes.input, tf.float32, name="x")
    z_spec = tf.TensorSpec((None,) + shapes.code, shapes.code_dtype, name="z")

    def reconstruct(x):
        return {"reconstruction": _float32(model(x, training=False))}

    def encode(x):
        return {"code": tf.cast(model.encode(x), shapes.code_dtype)}

    def decode(z):
        return {"reconstruction": _float32(model.decode(z))}

    found = {
        "reconstruct": (reconstruct, [x_spec]),
        "encode": (encode, [x_spec]),
        "decode": (decode, [z_spec]),
    }
    if isinstance(model, VAE):

        def encode_distribution(x):
            mean, log_var = model.encode_distribution(x)
            return {"z_mean": _float32(mean), "z_log_var": _float32(log_var)}

        def sample(n, seed):
            # A stateless draw: the same (n, seed) gives the same images, and
            # equals decode(tf.random.stateless_normal((n, latent_dim), seed)).
            z = tf.random.stateless_normal(tf.concat([[n], shapes.code], axis=0), seed)
            return {"samples": _float32(model.decode(z))}

        found["encode_distribution"] = (encode_distribution, [x_spec])
        found["sample"] = (
            sample,
            [tf.TensorSpec((), tf.int32, name="n"), tf.TensorSpec((2,), tf.int64, name="seed")],
        )
    if isinstance(model, SemanticHashingAE):

        def hash_codes(x):
            return {"hash": model.hash_bits(x)}

        found["hash"] = (hash_codes, [x_spec])
    if names is None:
        return found
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(
            f"a {type(model).__name__} has no signature {missing[0]!r}; it has {sorted(found)}"
        )
    return {name: found[name] for name in names}


def build_archive(model, names=None):
    """A `keras.export.ExportArchive` holding the model and its signatures.

    `reconstruct` comes first, so it is also `serving_default`.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, signature) in endpoints(model, names).items():
        archive.add_endpoint(name, fn, input_signature=signature)
    return archive
