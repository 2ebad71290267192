"""Colour data in the zoo: CIFAR-10 (JPEG) through the zoo's data path and the
metric kinds that colour cards use."""

import numpy as np

from keras_ae import datasets
from keras_ae.models import Autoencoder
from keras_ae.zoo import protocols as zp


def test_measure_passes_the_test_labels_to_a_kind_that_takes_them(shared_data, monkeypatch):
    seen = {}

    def per_class_count(model, x, preprocessing, labels, digit=0):
        seen["n"] = len(x)
        return float(np.sum(labels == digit))

    monkeypatch.setitem(zp.KINDS, "per_class_count", per_class_count)
    model = Autoencoder(input_shape=(784,), latent_dim=2, seed=0)
    spec = {"kind": "per_class_count", "params": {"digit": 3}}
    value = zp.measure(model, spec, {"layout": "flat"}, shared_data)
    _, (_, y_test) = datasets.load_mnist(shared_data)
    assert value == np.sum(y_test == 3) and seen["n"] == len(y_test) == 10000
