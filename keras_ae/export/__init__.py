"""Export trained autoencoders for serving and for the edge, and prove parity.

- `export_saved_model(model, path)`: a SavedModel with named signatures
  (`reconstruct`, `encode`, `decode`, `sample` for VAEs, `hash` for semantic
  hashing), for TF Serving and GPUs.
- `export_tflite(model, path, part=..., quantize=...)`: a `.tflite` file for
  LiteRT, float32, float16, dynamic-range or full-integer int8.
- `TFLiteModel(path)` / `SavedModelRunner(path)`: run exports on numpy arrays.
- `verify_export(model, exported, data)`: compares an export with the Keras
  model on real data and raises `ExportVerificationError` past a tolerance.
  Every export runs it when given `verify_data`.

Every export is written beside its target and renamed into place when
complete, so a failure never leaves a half-written model. The modules depend
one way: the writers (`saved_model`, `tflite`) on `verify`, `verify` on
`runners`, all on `signatures` and `_common`.

Example:
    >>> from keras_ae import export
    >>> export.export_tflite(model, "ae_int8.tflite", quantize="int8",
    ...                      representative_data=x_test[:500],
    ...                      verify_data=x_test[:512])  # doctest: +SKIP
    >>> export.TFLiteModel("ae_int8.tflite").reconstruct(x_test[:8])  # doctest: +SKIP
"""

from keras_ae.export._common import PARTS, QUANTIZATIONS, ExportResult
from keras_ae.export.runners import SavedModelRunner, TFLiteModel, load
from keras_ae.export.saved_model import export_saved_model
from keras_ae.export.signatures import SIGNATURES
from keras_ae.export.tflite import export_tflite
from keras_ae.export.verify import (
    ExportVerificationError,
    VerificationReport,
    verify_export,
)

__all__ = [
    "PARTS",
    "QUANTIZATIONS",
    "SIGNATURES",
    "ExportResult",
    "ExportVerificationError",
    "SavedModelRunner",
    "TFLiteModel",
    "VerificationReport",
    "export_saved_model",
    "export_tflite",
    "load",
    "verify_export",
]
