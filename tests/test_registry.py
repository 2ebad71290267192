"""Every variant of `keras_ae.models.VARIANTS`, in each form of `helpers.CASES`
(small MLP and conv networks), goes through every shared check: config,
fit on real MNIST (Keras's compile choices and XLA), gradients, `.keras`
round trip, mixed precision, 1 vs 2 replicas and SavedModel export."""

import keras
import pytest
from helpers import (
    CASES,
    CONV,
    accepts,
    check_config_round_trip,
    check_export,
    check_fit_lowers_the_loss,
    check_gradient_on_every_variable,
    check_mixed_precision,
    check_replicas_match,
    check_saving_reloads_exactly,
    covers,
    data,
    make,
)

from keras_ae import models

NAMES = list(CASES)


def test_every_variant_is_covered_with_each_network_it_accepts():
    assert {cls.__name__ for cls, _ in CASES.values()} == set(models.VARIANTS)
    for name, cls in models.VARIANTS.items():
        assert covers(cls, "conv") is accepts(cls, CONV), name


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    check_config_round_trip(make(name))


@pytest.fixture(scope="module")
def fitted(mnist_small):
    """`fitted(name)`: the case's model after `check_fit_lowers_the_loss` (2
    epochs on 1,024 real MNIST images), fitted once: saving and export reuse it."""
    models_ = {}

    def get(name):
        if name not in models_:
            keras.utils.set_random_seed(0)
            model = make(name)
            x_train, x_test = (data(model, x) for x in mnist_small)
            check_fit_lowers_the_loss(model, x_train, x_test)
            models_[name] = model
        return models_[name]

    return get


@pytest.mark.parametrize("name", NAMES)
def test_fit_on_real_mnist_lowers_the_loss(name, fitted):
    """`fitted` runs the check, once per case."""
    assert fitted(name).optimizer.iterations > 0


@pytest.mark.parametrize("name", NAMES)
def test_jit_compile(name, mnist_small, fitted):
    """Fit under XLA. Where "auto" already chose XLA (built MLP networks), the
    fit check above ran under it; the others fit again, with jit_compile=True."""
    if fitted(name).jit_compile is True:
        return
    if name == "ContractiveAutoencoder_conv":
        pytest.skip(
            "XLA takes minutes to compile a conv encoder's batched Jacobian "
            "(keras_ae leaves it off by default there)"
        )
    model = make(name)
    check_fit_lowers_the_loss(
        model, data(model, mnist_small[0][:256]), batch_size=128, jit_compile=True
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_trainable_variable_gets_a_gradient(name, mnist_small):
    model = make(name)
    check_gradient_on_every_variable(model, data(model, mnist_small[0][:64]))


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip_gives_equal_outputs(name, fitted, mnist_small, tmp_path):
    model = fitted(name)
    check_saving_reloads_exactly(model, data(model, mnist_small[1][:64]), tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_mixed_float16_scales_the_loss_and_stays_finite(name, mnist_small):
    check_mixed_precision(*CASES[name], mnist_small[0][:256])


@pytest.mark.parametrize("name", NAMES)
def test_two_replicas_take_the_same_step_as_one(name, mnist_small, strategies):
    check_replicas_match(*CASES[name], mnist_small[0][:64], strategies)


@pytest.mark.parametrize("name", NAMES)
def test_saved_model_signatures_match_keras(name, fitted, mnist_small, tmp_path):
    model = fitted(name)
    check_export(model, data(model, mnist_small[1]), tmp_path)
