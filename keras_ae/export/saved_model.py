"""SavedModel export, for TF Serving and GPUs.

This module owns writing a SavedModel: `export_saved_model` stages the
archive that `signatures` builds (one named signature per entry point) beside
its target, verifies it with `verify` when given data, and renames it into
place. Running a SavedModel back on numpy arrays is `runners.SavedModelRunner`'s.
"""

from keras_ae.export import _common, conditional, verify
from keras_ae.export._common import ExportResult
from keras_ae.export.runners import SavedModelRunner
from keras_ae.export.signatures import build_archive
from keras_ae.utils.files import atomic_output


def export_saved_model(model, path, verify_data=None):
    """Writes `model` as a SavedModel with one named signature per entry point.

    Signatures (inputs -> outputs, all float32 unless said, batch size dynamic):
    `reconstruct` (`x` -> `reconstruction`, also `serving_default`),
    `encode` (`x` -> `code`), `decode` (`z` -> `reconstruction`); for a VAE
    also `encode_distribution` (`x` -> `z_mean`, `z_log_var`) and `sample`
    (`n`: int32 scalar, `seed`: int64 `[2]` -> `samples`, a stateless draw
    from the prior, decoded); for a `SemanticHashingAE` also `hash`
    (`x` -> `hash`, uint8 packed bits as `numpy.packbits` packs them); a
    `ConditionalVAE`'s take `labels` too (`keras_ae.export.conditional`). A model
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
    if hasattr(model, "condition_units"):  # a ConditionalVAE: every signature takes labels
        return conditional.export_saved_model(model, path, verify_data)
    shapes = _common.check_model(model)
    if verify_data is not None:
        verify_data = _common.check_samples("verify_data", verify_data, shapes)
    path = _common.check_target(path, want_dir=True)
    archive = build_archive(model)
    report = None
    with _common.disk_errors(path), atomic_output(path) as staged:
        archive.write_out(str(staged), verbose=False)
        if verify_data is not None:
            report = verify.verify_export(model, SavedModelRunner(staged), verify_data)
        _common.check_target(path, want_dir=True)  # again: files added meanwhile are kept
    return ExportResult(path, "saved_model", report)
