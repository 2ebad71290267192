"""The private Keras and TensorFlow hooks of keras_ae.keras_compat, checked on
the installed versions: each test names the hook that moved, so a Keras or
TensorFlow upgrade that breaks one fails here, loudly, not as odd training."""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae
from keras_ae import keras_compat as kc
from keras_ae.models import Autoencoder

VERSIONS = f"Keras {keras.__version__} / TensorFlow {tf.__version__}"


def _signature(owner, name):
    assert hasattr(owner, name), (
        f"{VERSIONS}: {owner.__name__}.{name} is gone; keras_ae "
        f"relies on it (see keras_ae/keras_compat.py)"
    )
    return str(inspect.signature(getattr(owner, name)))


@pytest.mark.parametrize("name", sorted({**kc.OVERRIDDEN, **kc.CALLED}))
def test_keras_hook_has_the_signature_keras_ae_was_checked_with(name):
    expected = {**kc.OVERRIDDEN, **kc.CALLED}[name]
    got = _signature(keras.Model, name)
    assert got == expected, (
        f"{VERSIONS}: keras.Model.{name}{got} changed; keras_ae was "
        f"checked with {name}{expected} (see keras_ae/keras_compat.py)"
    )


def _compiled(model=None):
    model = model or keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", steps_per_execution=3)
    return model


@pytest.mark.parametrize("name", kc.ATTRIBUTES)
def test_private_attribute_of_a_compiled_model(name):
    model = _compiled()
    assert hasattr(model, name), f"{VERSIONS}: a compiled keras.Model has no {name}"


def test_the_attributes_mean_what_keras_ae_reads_them_as(strategies):
    model = _compiled()
    assert isinstance(kc.compile_config(model), dict), "_compile_config.config is no dict"
    assert kc.compile_config(model)["steps_per_execution"] == 3, (
        "_compile_config.config holds steps_per_execution no more"
    )
    assert kc.creation_strategy(model) is None, "_distribute_strategy outside a strategy"
    assert not kc.compiles_keras_losses(model), "_compile_loss / _compile_metrics with no loss"
    strategy = strategies[1]  # mirrored over 2 CPUs (one per session: conftest.py)
    with strategy.scope():
        inside = _compiled()
    assert kc.creation_strategy(inside) is strategy, "_distribute_strategy under a strategy"
    lossy = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    lossy.compile(optimizer="adam", loss="mse")
    assert kc.compiles_keras_losses(lossy), "_compile_loss is None with a loss"
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="nested")])
    outer = keras.Sequential([keras.Input((3,)), inner, keras.layers.Dense(1, name="top")])
    names = [layer.name for layer in kc.flatten_layers(outer)]
    assert kc.flatten_layers(outer)[0] is outer and {"nested", "top"} <= set(names), (
        f"_flatten_layers gave {names}"
    )
    assert outer not in kc.flatten_layers(outer, include_self=False), "_flatten_layers self"


def _tiny_ae():
    model = Autoencoder(input_shape=(4,), latent_dim=2, seed=0)
    return model, np.random.default_rng(0).random((8, 4)).astype("float32")


def test_keras_calls_the_overridden_hooks(monkeypatch, tmp_path):
    """An override whose name Keras stops calling would be dead code, silently."""
    calls = []
    for name in kc.OVERRIDDEN:
        original = getattr(Autoencoder, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Autoencoder, name, spy)
    model, x = _tiny_ae()
    model.compile(optimizer="adam", jit_compile="auto")
    model.compile(optimizer="adam", jit_compile=False)  # (XLA is slow to compile)
    model.fit(x, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "m.keras")
    keras.saving.load_model(tmp_path / "m.keras")
    for name in kc.OVERRIDDEN:
        assert name in calls, f"{VERSIONS}: Keras no longer calls {name} (keras_compat.OVERRIDDEN)"


def test_fit_validates_through_the_kwarg_keras_ae_recognizes(monkeypatch):
    seen = []
    original = Autoencoder.evaluate

    def spy(self, *args, **kwargs):
        seen.append(kc.is_fit_validation(kwargs))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Autoencoder, "evaluate", spy)
    model, x = _tiny_ae()
    model.compile(optimizer="adam", jit_compile=False)
    model.fit(x, validation_data=(x,), epochs=1, batch_size=4, verbose=0)
    assert seen == [True], (
        f"{VERSIONS}: fit no longer passes {kc.FIT_VALIDATION_KWARG}=True to evaluate"
    )


@pytest.mark.parametrize("make", ["make_train_function", "make_test_function"])
def test_keras_train_and_test_functions_call_a_step_on_the_iterator(make):
    """`iterator_step` finds, in the function Keras makes, the tf.function
    that `training.tracing` traces ahead for any batch size; a model run
    eagerly has none."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    getattr(keras.Model, make)(model)
    function = model.train_function if make == "make_train_function" else model.test_function
    step = kc.iterator_step(function)
    assert isinstance(step, tf.types.experimental.PolymorphicFunction), (
        f"{VERSIONS}: Keras's {make} has no tf.function {kc.ITERATOR_STEP} in its closure"
    )
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    getattr(keras.Model, make)(model)
    function = model.train_function if make == "make_train_function" else model.test_function
    assert kc.iterator_step(function) is None


def test_keras_splits_validation_arrays_as_keras_ae_reads_it():
    x = np.arange(20, dtype="float32").reshape(10, 2)
    (train, none), (held, held_none) = kc.train_validation_split((x, None), 0.3)
    assert none is None and held_none is None
    np.testing.assert_array_equal(train, x[:7])
    np.testing.assert_array_equal(held, x[7:])
    with pytest.raises(ValueError, match="not sufficient to split"):
        kc.train_validation_split((x, None), 0.95)  # no sample left to train on


def test_tensorflow_hooks():
    from tensorflow.python.distribute.collective_all_reduce_strategy import (
        CollectiveAllReduceExtended,
    )

    assert _signature(CollectiveAllReduceExtended, "_in_multi_worker_mode") == "(self)"
    function = kc.quiet_retracing(tf.function(lambda t: t))
    assert "_omit_frequent_tracing_warning" in vars(type(function)) or hasattr(
        function, "_omit_frequent_tracing_warning"
    )
    assert function._omit_frequent_tracing_warning is True
    spec = tf.TensorSpec((None, 2), tf.float32)
    concrete = tf.function(lambda t: t * 2.0).get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    name = "_experimental_disable_per_channel_quantization_for_dense_layers"
    assert hasattr(converter, name), f"{VERSIONS}: the TFLite converter has no {name}"
    kc.set_per_channel_dense(converter, False)
    assert getattr(converter, name) is True
    with pytest.raises(RuntimeError, match=f"converter has no {name}: .* TensorFlow >= 2.17"):
        kc.set_per_channel_dense(object(), False)  # TensorFlow 2.16's had none: was ignored


def test_litert_hook():
    from ai_edge_litert.interpreter import Interpreter

    assert _signature(Interpreter, "_get_ops_details") == "(self)"


def test_the_per_channel_dense_flag_changes_the_int8_file():
    """Behaviour, not only presence: one int8 scale per output unit, or one
    per layer (TensorFlow 2.16 had no such flag and would ignore it)."""
    from ai_edge_litert.interpreter import Interpreter

    w = tf.constant(np.random.default_rng(0).normal(size=(6, 4)).astype("float32"))
    spec = tf.TensorSpec((1, 6), tf.float32)
    concrete = tf.function(lambda t: tf.matmul(t, w)).get_concrete_function(spec)

    def convert(per_channel):
        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [np.full((1, 6), i / 10, "float32")] for i in range(10)
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        kc.set_per_channel_dense(converter, per_channel)
        interpreter = Interpreter(model_content=converter.convert())
        assert "FULLY_CONNECTED" in kc.op_names(interpreter), kc.op_names(interpreter)
        return max(
            len(t["quantization_parameters"]["scales"]) for t in interpreter.get_tensor_details()
        )

    assert (convert(True), convert(False)) == (4, 1), f"{VERSIONS}: per-channel dense flag"


# ----------------------------------------------------- the fence holds
def _keras_private_names():
    model = _compiled(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
    names = set(dir(keras.Model)) | set(dir(keras.layers.Dense)) | set(vars(model))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


OTHER_PRIVATE = {
    "_in_multi_worker_mode",
    "_omit_frequent_tracing_warning",
    "_experimental_disable_per_channel_quantization_for_dense_layers",
    "_get_ops_details",
    "_use_cached_eval_dataset",
}


def test_no_private_keras_name_outside_keras_compat():
    """Every private Keras or TensorFlow name lives in keras_compat.py; an
    override's `super()` call is the only exception."""
    private = _keras_private_names() | OTHER_PRIVATE
    package = Path(keras_ae.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "keras_compat.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            # attribute access (`x._name`) and names in strings (getattr); an
            # override's `def` is checked by the test below
            for name in re.findall(r"[.\"'](_[A-Za-z]\w*)", line):
                override = name in kc.OVERRIDDEN and f"super().{name}(" in line
                if name in private and not override:
                    found.append(f"{path.relative_to(package.parent)}:{number}: {name}")
    assert not found, (
        "private Keras/TensorFlow names used outside keras_ae/keras_compat.py "
        "(route them through it, with the versions checked):\n" + "\n".join(found)
    )


def _keras_classes():
    for info in pkgutil.walk_packages(keras_ae.__path__, "keras_ae."):
        if info.name.endswith(".__main__"):  # runs the command line when imported
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, keras.layers.Layer)
                and obj.__module__.startswith("keras_ae")
            ):
                yield obj


def test_every_override_of_a_private_keras_method_is_listed():
    """A keras_ae method that happens to share a private Keras name overrides
    it, maybe by accident: each one must be declared in keras_compat.OVERRIDDEN."""
    unlisted = set()
    for cls in set(_keras_classes()):
        base = next(c for c in cls.__mro__ if c.__module__.startswith("keras."))
        for name in vars(cls):
            if (
                name.startswith("_")
                and not name.startswith("__")
                and hasattr(base, name)
                and name not in kc.OVERRIDDEN
                and name not in kc.OVERRIDDEN_PROPERTIES
            ):
                unlisted.add(f"{cls.__name__}.{name} overrides {base.__name__}.{name}")
    assert not unlisted, "\n".join(sorted(unlisted))


@pytest.mark.parametrize("name", kc.OVERRIDDEN_PROPERTIES)
def test_overridden_keras_property_is_still_a_property_keras_has(name):
    got = inspect.getattr_static(keras.Model, name, None)
    assert isinstance(got, property), (
        f"{VERSIONS}: keras.Model.{name} is no longer a property "
        "(keras_compat.OVERRIDDEN_PROPERTIES)"
    )


def test_the_conditional_models_default_signature_is_read_or_not_needed(monkeypatch, tmp_path):
    """TensorFlow 2.21's SavedModel writer reads `_default_save_signature` from
    a tracked Keras model (Keras's own traces the pair-input model on one
    tensor and the export fails); the oldest supported pair does not read it,
    and there the export needs no override."""
    from keras_ae import export
    from keras_ae.models import ConditionalVAE

    read = []
    monkeypatch.setattr(
        ConditionalVAE, "_default_save_signature", property(lambda self: read.append(1))
    )
    model = ConditionalVAE(input_shape=(8,), latent_dim=2, num_classes=3, hidden_units=(4,))
    model({"x": np.zeros((2, 8), "float32"), "labels": np.zeros((2,), "int32")})
    export.export_saved_model(model, tmp_path / "saved")
    if not read:  # not read here: Keras's own property must then be harmless
        monkeypatch.delattr(ConditionalVAE, "_default_save_signature")
        export.export_saved_model(model, tmp_path / "without_the_override")
