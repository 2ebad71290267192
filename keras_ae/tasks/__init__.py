"""What users do with a trained autoencoder, one module per use.

- `restoration`: `denoise`, `inpaint`, `upscale` (and `upsample`, the bicubic
  baseline the super-resolution model starts from).
- `anomaly`: `AnomalyDetector`, a threshold on the reconstruction error chosen
  from normal training data only.
- `imputation`: `impute`, filling only the missing entries.
- `classification`: `AEKNNClassifier`, k-nearest neighbours on codes (AEkNN).
- `retrieval`: `HammingIndex` over packed binary codes, and retrieval precision.
- `clustering`: `cluster_accuracy` (Hungarian matching) and `nmi`.
- `metrics`: `psnr` and `ssim` for images.

Example:
    >>> from keras_ae import tasks
    >>> detector = tasks.AnomalyDetector(model).fit(x_normal)  # doctest: +SKIP
    >>> flags = detector.predict(x_test)  # doctest: +SKIP
"""

from keras_ae.tasks.anomaly import AnomalyDetector
from keras_ae.tasks.classification import AEKNNClassifier
from keras_ae.tasks.clustering import cluster_accuracy, nmi
from keras_ae.tasks.imputation import impute
from keras_ae.tasks.metrics import psnr, ssim
from keras_ae.tasks.restoration import denoise, inpaint, upsample, upscale
from keras_ae.tasks.retrieval import HammingIndex, retrieval_precision

__all__ = [
    "AEKNNClassifier",
    "AnomalyDetector",
    "HammingIndex",
    "cluster_accuracy",
    "denoise",
    "impute",
    "inpaint",
    "nmi",
    "psnr",
    "retrieval_precision",
    "ssim",
    "upsample",
    "upscale",
]
