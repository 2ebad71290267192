"""SavedModel export (TF Serving, GPUs) and a numpy runner for SavedModels."""

import contextlib
import dataclasses
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_ae.export import _common
from keras_ae.export.signatures import build_archive
from keras_ae.models.finite import check_output
from keras_ae.utils.files import atomic_output
from keras_ae.utils.validation import SEED_RANGE, check_positive_int


@dataclasses.dataclass
class ExportResult:
    """What an export wrote, and its verification report (None when unverified).

    Usable as a path: `os.fspath(result)` is the written file or directory.
    """

    path: Path
    format: str
    report: object = None

    def __fspath__(self):
        return str(self.path)

    __str__ = __fspath__


def export_saved_model(model, path, verify_data=None):
    """Writes `model` as a SavedModel with one named signature per entry point.

    Signatures (inputs -> outputs, all float32 unless said, batch size dynamic):
    `reconstruct` (`x` -> `reconstruction`, also `serving_default`),
    `encode` (`x` -> `code`), `decode` (`z` -> `reconstruction`); for a VAE
    also `encode_distribution` (`x` -> `z_mean`, `z_log_var`) and `sample`
    (`n`: int32 scalar, `seed`: int64 `[2]` -> `samples`, a stateless draw
    from the prior, decoded); for a `SemanticHashingAE` also `hash`
    (`x` -> `hash`, uint8 packed bits as `numpy.packbits` packs them). A model
    trained under `mixed_float16` keeps its float16 compute but takes and
    returns float32.

    The SavedModel is written into a temporary directory beside `path` and
    renamed into place when complete (and verified), so an interrupted or
    failed export leaves `path` as it was.

    Args:
        model: a built keras_ae autoencoder.
        path: the directory to write. An existing one is replaced only if
            it is empty or holds exactly a SavedModel's files; one holding
            anything else is refused, so no file of the user's is deleted.
        verify_data: optional real inputs, shape `(n,) + model.input_shape_`;
            when given, `verify_export` compares the SavedModel with the Keras
            model on them and the export fails past its tolerance.

    Returns:
        An `ExportResult` (path-like) with the verification report.

    Raises:
        ValueError: for an unbuilt model, badly shaped `verify_data` or a
            target holding other files, before anything is written.
        OSError: when the disk fills up (or a quota or file size limit is
            met) while writing; nothing is left behind.
        ExportVerificationError: when the export does not match the model.

    Example:
        >>> model = Autoencoder(input_shape=(784,), latent_dim=32)
        >>> result = export_saved_model(model, "/tmp/ae_savedmodel")  # doctest: +SKIP
        >>> served = tf.saved_model.load("/tmp/ae_savedmodel")  # doctest: +SKIP
        >>> served.signatures["encode"](x=tf.zeros((2, 784)))["code"].shape  # doctest: +SKIP
        TensorShape([2, 32])
    """
    from keras_ae.export.verify import verify_export

    shapes = _common.check_model(model)
    if verify_data is not None:
        verify_data = _common.check_samples("verify_data", verify_data, shapes)
    path = _common.check_target(path, want_dir=True)
    archive = build_archive(model)
    report = None
    with _common.disk_errors(path), atomic_output(path) as staged:
        archive.write_out(str(staged), verbose=False)
        if verify_data is not None:
            report = verify_export(model, SavedModelRunner(staged), verify_data)
        _common.check_target(path, want_dir=True)  # again: files added meanwhile are kept
    return ExportResult(path, "saved_model", report)


class SavedModelRunner:
    """Runs an exported SavedModel's signatures on numpy arrays, in batches.

    Inputs are checked as the Keras model checks its own: the wrong shape,
    an empty batch, NaN or infinite values (also after the cast to float32)
    and integer images are refused with a `ValueError` (integer codes given
    to `decode` are values); a NaN or infinite output raises `NonFiniteError`.

    Args:
        path: a directory written by `export_saved_model` (or an object
            returned by `tf.saved_model.load`).
        batch_size: samples per call of a signature.
        device: optional TensorFlow device to run on, e.g. `"/GPU:0"`.

    Example:
        >>> runner = SavedModelRunner("/tmp/ae_savedmodel")  # doctest: +SKIP
        >>> codes = runner.encode(x_test)  # doctest: +SKIP
    """

    format = "saved_model"
    quantization = None

    def __init__(self, path, batch_size=1024, device=None):
        self.path = None if hasattr(path, "signatures") else _common.as_path(path)
        self.device = device
        with tf.device(device) if device else contextlib.nullcontext():
            self.loaded = path if self.path is None else _load(self.path)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.signatures = dict(self.loaded.signatures)
        if "reconstruct" in self.signatures:
            spec = self.signatures["reconstruct"].structured_input_signature[1]["x"]
            self.input_shape = tuple(spec.shape[1:])
        else:
            self.input_shape = None

    def _run(self, name, key, x):
        if name not in self.signatures:
            raise ValueError(f"this SavedModel has no {name!r} signature; it has {sorted(self.signatures)}")
        fn = self.signatures[name]
        arg, spec = next(iter(fn.structured_input_signature[1].items()))
        # Checked here as the Keras model checks its input (a conv graph given
        # the wrong rank even aborts the process in TensorFlow's CPU kernels).
        x = _common.check_batch(arg, x, spec.shape[1:], f"the {name!r} signature",
                                codes=arg == "z")
        keys = key if isinstance(key, tuple) else (key,)
        batches = []
        with tf.device(self.device) if self.device else contextlib.nullcontext():
            for start in range(0, len(x), self.batch_size):
                out = fn(**{arg: tf.constant(x[start : start + self.batch_size])})
                batches.append([out[k].numpy() for k in keys])
        outs = [check_output(np.concatenate(parts, axis=0), f"the SavedModel's {name!r}")
                for parts in zip(*batches, strict=True)]
        return tuple(outs) if isinstance(key, tuple) else outs[0]

    def reconstruct(self, x):
        """Reconstructions of `x` (the `reconstruct` signature)."""
        return self._run("reconstruct", "reconstruction", x)

    def encode(self, x):
        """Codes of `x` (the `encode` signature)."""
        return self._run("encode", "code", x)

    def decode(self, z):
        """Reconstructions decoded from codes `z` (the `decode` signature)."""
        return self._run("decode", "reconstruction", z)

    def hash(self, x):
        """Packed uint8 hash codes (the `hash` signature of hashing models)."""
        return self._run("hash", "hash", x)

    def encode_distribution(self, x):
        """A VAE's `(z_mean, z_log_var)` for `x` (the `encode_distribution` signature)."""
        return self._run("encode_distribution", ("z_mean", "z_log_var"), x)

    def sample(self, n, seed=(0, 0)):
        """`n` samples from a VAE's prior, decoded (the `sample` signature).

        Args:
            n: how many samples, a positive integer.
            seed: two integers; the same `(n, seed)` gives the same samples,
                `decode(tf.random.stateless_normal((n, latent_dim), seed))`.
        """
        if "sample" not in self.signatures:
            raise ValueError(f"this SavedModel has no 'sample' signature; it has {sorted(self.signatures)}")
        n = check_positive_int("n", n)
        if n > np.iinfo(np.int32).max:
            raise ValueError(f"n must be at most 2**31 - 1 (the signature takes an int32), got {n}")
        pair = np.asarray(seed)
        # (a uint64 2**63 wrapped around to -2**63 in the int64 tensor)
        if pair.shape != (2,) or not np.issubdtype(pair.dtype, np.integer) or not all(
                SEED_RANGE[0] <= int(v) <= SEED_RANGE[1] for v in pair):
            raise ValueError(f"seed must be two integers in [-2**63, 2**63 - 1], e.g. (0, 1), "
                             f"got {seed!r}")
        try:
            out = self.signatures["sample"](n=tf.constant(n, tf.int32),
                                            seed=tf.constant(pair, tf.int64))
        except tf.errors.ResourceExhaustedError:
            raise ValueError(f"sample(n={n}) needs more memory than the device has: draw fewer "
                             "per call (in a loop, with a new seed each time)") from None
        return check_output(out["samples"].numpy(), "the SavedModel's 'sample'")



def _load(path):
    """`tf.saved_model.load(path)`, with errors that name the folder and what
    was expected (TensorFlow raised a bare OSError, IndexError or
    FileNotFoundError naming its own internal file)."""
    if not path.is_dir():
        raise ValueError(
            f"no SavedModel at {path}: expected a directory written by export_saved_model, "
            f"found {'a file' if path.exists() else 'nothing'}"
        )
    if not any((path / name).is_file() for name in ("saved_model.pb", "saved_model.pbtxt")):
        names = sorted(p.name for p in path.iterdir())
        raise ValueError(
            f"{path} is not a SavedModel: expected a directory holding saved_model.pb and "
            "variables/ (as export_saved_model writes), found "
            + (", ".join(names[:5]) + (", ..." if len(names) > 5 else "") if names else "it empty")
        )
    try:
        return tf.saved_model.load(str(path))
    except Exception as err:  # a corrupt file fails in many ways, each naming no folder
        raise ValueError(
            f"the SavedModel at {path} could not be loaded, it is damaged or incomplete: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        ) from err
