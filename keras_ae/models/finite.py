"""Where `NonFiniteError` and `check_output` were imported from before they
moved to `keras_ae.training.finite` (import them from there, or
`NonFiniteError` from `keras_ae`); kept so existing imports keep working."""

from keras_ae.training.finite import NonFiniteError, check_output  # noqa: F401
