"""Every use of Keras's and TensorFlow's private internals, in one place.

keras_ae needs a few hooks that Keras and TensorFlow do not publish. Each
is listed here with what keras_ae does with it; every one was checked
against Keras 3.13.0 with TensorFlow 2.17.0 (the oldest pair `setup.py`
allows, which `.ci/run` installs and tests) and Keras 3.15.1 with TensorFlow
2.21.0 (the newest, the README's test command). `tests/test_keras_compat.py`
checks that each exists with the signature given here, and fails naming the
hook when an installed version removed or changed it; it also fails when
code outside this module touches a private Keras name.

Overridden on `keras_ae.training.Trainer` (Keras calls keras_ae's version; `OVERRIDDEN`):
    `Trainer._maybe_symbolic_build(self, iterator=None, data_batch=None)`
        (TensorFlow backend): builds only the optimizer, eagerly, before the
        step is traced: under a distribution strategy Keras would build on an
        uneven first batch and fail, and without one `fit` would build it
        inside the first trace, which makes TensorFlow trace the step twice.
    `Trainer.compile_from_config(self, config)`: public, but `load_model`
        calls it instead of a custom `compile()`; keras_ae's compiles through
        its own `compile()`.
Overridden property (`OVERRIDDEN_PROPERTIES`): `Model._default_save_signature`
    on `ConditionalVAE`, read by TensorFlow's SavedModel writer.
Called or read (the functions below):
    `Layer._flatten_layers(self, include_self=True, recursive=True)`
    `Trainer._symbolic_build(self, iterator=None, data_batch=None)`
    `Trainer._compile_config`: a `SerializableDict`, its `.config` the
        arguments `compile()` saves with the model.
    `Trainer._compile_loss`, `Trainer._compile_metrics`: None when
        `compile()` was given no Keras loss or metric.
    `Layer._distribute_strategy`: the strategy the model was created under,
        None outside any (the public `distribute_strategy` never is None).
    `Trainer.evaluate(..., _use_cached_eval_dataset=True)`: how `fit` calls
        `evaluate` for its own validation data.
    TensorFlow: `StrategyExtended._in_multi_worker_mode(self)` of a
        `MultiWorkerMirroredStrategy`; the `_omit_frequent_tracing_warning`
        flag of a `tf.function`; the TFLite converter's
        `_experimental_disable_per_channel_quantization_for_dense_layers`
        (new in TensorFlow 2.17: 2.16 has no such flag, which is why
        `setup.py` asks for 2.17).
    LiteRT: `Interpreter._get_ops_details(self)`.
    The closure of the train and test functions Keras's `_make_function`
        makes: its `multi_step_on_iterator`, the `tf.function` that runs one
        call's steps on an iterator (`iterator_step`), which keras_ae traces
        for batches of any size before its first call (`training.tracing`).
    `array_slicing.train_validation_split(arrays, validation_split)`: how
        `fit(validation_split=...)` holds out the last part of its arrays, with
        its errors; `training.batching` splits arrays it batches itself alike.
    `Metric._direction` ("down" or "up") and `compile_utils.MetricsList`:
        Keras's callbacks (`EarlyStopping`, `ModelCheckpoint`, ...) infer
        `mode="auto"` only for a metric that has a `_direction` and sits in
        a `MetricsList` (or `CompileMetrics`) of `model.metrics`
        (`keras/src/callbacks/monitor_callback.py`); see `direction_group`.
"""

#: Private Keras methods keras_ae overrides, with the signature they have in Keras.
OVERRIDDEN = {
    "_maybe_symbolic_build": "(self, iterator=None, data_batch=None)",
    "compile_from_config": "(self, config)",
}
#: Private Keras properties a keras_ae model overrides. TensorFlow's SavedModel
#: writer reads `_default_save_signature` from every Keras model an export
#: tracks, and Keras's traces a call on one tensor; `ConditionalVAE` (whose
#: input is a pair) returns None, its export declaring its own signatures.
OVERRIDDEN_PROPERTIES = ("_default_save_signature",)
#: Private Keras methods keras_ae calls, with their signature in Keras.
CALLED = {
    "_flatten_layers": "(self, include_self=True, recursive=True)",
    "_symbolic_build": "(self, iterator=None, data_batch=None)",
}
#: Private attributes of a compiled Keras model that keras_ae reads.
ATTRIBUTES = ("_compile_config", "_compile_loss", "_compile_metrics", "_distribute_strategy")
#: The keyword `fit` passes to `evaluate` for its own validation data.
FIT_VALIDATION_KWARG = "_use_cached_eval_dataset"
#: The name, in the closure of a train or test function Keras makes, of the
#: `tf.function` that runs a call's steps on an iterator.
ITERATOR_STEP = "multi_step_on_iterator"


def flatten_layers(layer, include_self=True):
    """`layer` (unless `include_self=False`) and every layer nested in it, in order."""
    return list(layer._flatten_layers(include_self=include_self, recursive=True))


def compile_config(model):
    """The arguments `compile()` saves with `model` (a dict that may be changed
    in place), or None before `compile()`."""
    config = getattr(model, "_compile_config", None)
    return None if config is None else config.config


def creation_strategy(model):
    """The distribution strategy `model` was created under, or None."""
    return model._distribute_strategy


def compiles_keras_losses(model):
    """Whether `compile()` gave `model` a Keras loss or metric to build."""
    return model._compile_loss is not None or model._compile_metrics is not None


def symbolic_build(model):
    """Builds what `fit` needs (the optimizer's variables) without a batch."""
    model._symbolic_build()


def is_fit_validation(evaluate_kwargs):
    """Whether an `evaluate` call is `fit` measuring its own validation data."""
    return bool(evaluate_kwargs.get(FIT_VALIDATION_KWARG))


def iterator_step(function):
    """The `tf.function` that Keras's train or test `function` (what
    `make_train_function` / `make_test_function` set) calls on an iterator;
    None when it has none (a model run eagerly)."""
    cells = dict(zip(function.__code__.co_freevars, function.__closure__ or (), strict=True))
    step = cells[ITERATOR_STEP].cell_contents if ITERATOR_STEP in cells else None
    return step if hasattr(step, "get_concrete_function") else None


def train_validation_split(arrays, validation_split):
    """`(train, held_out)`: Keras's split of a nest of arrays for
    `fit(validation_split=...)`, the last `validation_split` of the samples
    held out, before any shuffle."""
    from keras.src.trainers.data_adapters import array_slicing

    return array_slicing.train_validation_split(arrays, validation_split=validation_split)


def in_multi_worker_mode(strategy):
    """Whether a strategy's `extended` runs on several workers."""
    return bool(strategy.extended._in_multi_worker_mode())


def quiet_retracing(function):
    """Turns off a `tf.function`'s "frequent retracing" warning (TensorFlow's own flag)."""
    function._omit_frequent_tracing_warning = True
    return function


def set_per_channel_dense(converter, enabled):
    """Per-channel (True) or per-tensor int8 scales for a TFLite converter's Dense layers.

    The flag came with TensorFlow 2.17; setting it on an older converter would
    silently do nothing, so a converter without it is refused."""
    name = "_experimental_disable_per_channel_quantization_for_dense_layers"
    if not hasattr(converter, name):
        import tensorflow as tf

        raise RuntimeError(
            f"TensorFlow {tf.__version__}'s TFLite converter has no {name}: "
            "keras_ae's int8 export needs TensorFlow >= 2.17"
        )
    setattr(converter, name, not enabled)


def op_names(interpreter):
    """The names of the ops in a LiteRT interpreter's graph."""
    return {op["op_name"] for op in interpreter._get_ops_details()}


def ops_details(interpreter):
    """The ops of a LiteRT interpreter's graph, each a dict with `op_name`,
    `inputs` and `outputs` (tensor indices)."""
    return interpreter._get_ops_details()


def lower_is_better(metric, lower=True):
    """Declares that `metric` improves as it falls (a loss term, as Keras's
    own loss metrics do) or, with `lower=False`, as it rises; returns it."""
    metric._direction = "down" if lower else "up"
    return metric


def direction_group(metrics):
    """A metric holding `metrics` where Keras's callbacks look for each one's
    direction, to sit in `model.metrics` beside them. It reports and owns
    nothing: its members stay untracked by it (no variable twice in
    `metrics_variables`), and its `result()` is empty."""
    from keras.src.trainers.compile_utils import MetricsList

    class _Directions(MetricsList):
        def result(self):
            return {}

    group = _Directions([], name="keras_ae_directions")
    object.__setattr__(group, "metrics", list(metrics))
    return group
