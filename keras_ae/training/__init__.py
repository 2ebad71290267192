"""How a keras_ae model runs, apart from what it computes (`keras_ae.models`).

`Trainer` (trainer.py) is the `keras.Model` every `Autoencoder` derives
from: train/test steps, loss trackers, replica weighting, `compile()`.
defaults.py holds the one table of what `compile()`'s "auto" settings mean
and the XLA model counter; inputs.py the checks of what `fit`, `evaluate`
and `predict` are given; inference.py numpy inference in batches;
saving.py atomic saving; finite.py the `FiniteGuard` and `NonFiniteError`.
"""

from keras_ae.training.defaults import AUTO_COMPILE, XLA_SWEEP_WARNING
from keras_ae.training.finite import FiniteGuard, NonFiniteError
from keras_ae.training.trainer import Trainer

__all__ = ["AUTO_COMPILE", "XLA_SWEEP_WARNING", "FiniteGuard", "NonFiniteError", "Trainer"]
