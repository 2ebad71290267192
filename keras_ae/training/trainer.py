"""`Trainer`, the `keras.Model` that says how a keras_ae model runs: the
train and test steps and the trackers of each named loss term, each replica's
share of the loss under a distribution strategy, `compile()` with its "auto"
settings (`keras_ae.training.defaults`), checked input and a `FiniteGuard`
in `fit`, `evaluate` and `predict`, and atomic `save` / `save_weights`.
What is computed (networks, forward pass, loss terms, config) is the model's
own, in `keras_ae.models`; Keras core splits `Model(Trainer, Layer)` alike."""

import contextlib
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_ae import keras_compat
from keras_ae.training import batching, defaults, tracing
from keras_ae.training.finite import FiniteGuard, NonFiniteError, check_output
from keras_ae.training.inputs import (
    check_batch_spec,
    check_input,
    check_target_range,
    refuse_weights,
)
from keras_ae.training.saving import MODEL_SUFFIXES, WEIGHTS_SUFFIX, save_atomically, stageable
from keras_ae.utils.validation import check_positive_int

#: `compile()` arguments a keras_ae model never uses (it trains on its own terms).
_NOT_COMPILED = ("loss", "loss_weights", "weighted_metrics")


class Trainer(keras.Model):
    """A `keras.Model` that trains on the named loss terms its subclass computes.

    The subclass provides what is computed: `loss_names` (the terms `fit`
    and `evaluate` report, `"loss"` first), `compute_losses(x, y, training)`
    returning them, `input_shape_` (the shape of one sample, None until
    known), `compile_profile()` (its row of `defaults.AUTO_COMPILE`),
    `target_range()` and `unbounded_hint` (what its targets must lie in),
    and `reconstruction_loss` (named when `compile()` refuses a loss).

    `Trainer` is a `keras.Model` rather than a mixin so that its overrides of
    Keras's private methods stay under `tests/test_keras_compat.py`'s check
    of every keras_ae Keras class.
    """

    loss_names = ("loss",)
    #: The reported terms that improve as they rise (e.g. a codebook's
    #: perplexity); every other term of `loss_names` improves as it falls.
    higher_is_better = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._trackers = {
            name: keras_compat.lower_is_better(
                keras.metrics.Mean(name=name), lower=name not in self.higher_is_better
            )
            for name in self.loss_names
        }
        # compile(metrics=...)'s: set after the model is built, so not tracked
        # as its state (they are metrics, reset and reported through `metrics`).
        object.__setattr__(self, "_reconstruction_metrics", [])

    def compile_profile(self):
        """This model's row of `defaults.AUTO_COMPILE` (Keras's choice here)."""
        return "custom"

    # --------------------------------------------------------------- train/test
    @property
    def metrics(self):
        """The loss trackers, then `compile(metrics=...)`'s, then one group
        through which Keras's callbacks read that each loss term improves as
        it falls: `EarlyStopping(monitor="val_kl_loss")` needs no `mode`."""
        own = [*self._trackers.values(), *self._reconstruction_metrics]
        return [*own, keras_compat.direction_group(own)]

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics[:-1]]

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not supported by keras_ae models; got a "
                f"sample_weight of shape {sample_weight.shape}"
            )
        check_batch_spec(self, x, "x")
        if y is not None:
            check_batch_spec(self, y, "y")
        return x, y

    def _record(self, terms, x):
        # Each term is a mean over the batch: weighting it by the batch's size
        # makes an epoch's figure the mean over samples (what Keras's own loss
        # tracker reports), whatever the size of the last, partial batch. Under
        # a distribution strategy a replica can get no samples of that batch:
        # its NaN mean of nothing must count as nothing.
        batch_size = ops.cast(ops.shape(x)[0], "float32")
        for name, tracker in self._trackers.items():
            value = ops.where(batch_size > 0, terms[name], ops.zeros_like(terms[name]))
            tracker.update_state(value, sample_weight=batch_size)
        logs = {name: tracker.result() for name, tracker in self._trackers.items()}
        logs.update({m.name: m.result() for m in self._reconstruction_metrics})
        if _multi_worker(tf.distribute.get_strategy()):
            # Keras 3.15 reduces logs across workers with reduce(MEAN, axis=0),
            # which fails on scalars: hand it vectors of one element.
            logs = {name: ops.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # A keras_ae model is built before fit (its input_shape, or its first
        # x) and compiles no loss or metrics of Keras's, so the optimizer is
        # all that is left to build, and it needs no batch. Built here, eagerly:
        # - Without a distribution strategy Keras defers it to the first trace
        #   of the train step, and a `tf.function` that creates variables on
        #   its first call is traced a second time: every fresh `fit` traced
        #   the step twice. (`evaluate` alone, which Keras leaves unbuilt here,
        #   is left so: a model only evaluated needs no optimizer slots.)
        # - Under a strategy Keras 3.15 builds the model on the replicas' first
        #   batch averaged elementwise, which fails for a batch that does not
        #   split evenly (a batch size of 33 on 2 replicas, or 57 samples at
        #   64: "AddN must have the same size and shape", keras-team/keras#19246).
        done = not keras_compat.compiles_keras_losses(self) and all(
            layer.built for layer in keras_compat.flatten_layers(self)
        )
        if not done:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        if keras_compat.creation_strategy(self) is None and not self.__dict__.get("_fitting"):
            return
        with self.distribute_strategy.scope():
            keras_compat.symbolic_build(self)

    def _replica_share(self, loss, x):
        """This replica's part of the global batch's mean loss.

        Keras sums the gradients of the replicas, and each replica's loss is
        a mean over its own samples: weighting it by its share of the global
        batch makes the sum the global per-sample mean, so 2 replicas take the
        step 1 device takes, also when the last batch splits unevenly (33 + 32
        samples, or 1 + 0, where an equal weight of 1/2 gave the single sample
        half the step). A replica with no samples (a mean of nothing, NaN)
        contributes nothing."""
        strategy = tf.distribute.get_strategy()
        if strategy.num_replicas_in_sync == 1:
            return loss
        local = ops.cast(ops.shape(x)[0], "float32")
        total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, local)
        return ops.where(local > 0, loss, ops.zeros_like(loss)) * (local / total)

    def _update_metrics(self, x, y):
        """Updates `compile(metrics=...)` with the model's reconstruction of `x`
        (`model(x)`, deterministic, before this step's update) against the
        target, as Keras compares `y` with `model(x)`: one more forward pass
        per batch, only when metrics were given."""
        if not self._reconstruction_metrics:
            return
        target = ops.cast(x if y is None else y, "float32")
        reconstruction = ops.cast(self(x, training=False), "float32")
        for metric in self._reconstruction_metrics:
            metric.update_state(target, reconstruction)

    def train_step(self, data):
        x, y = self._unpack(data)
        self._update_metrics(x, y)
        with tf.GradientTape() as tape:
            terms = self.compute_losses(x, y, training=True)
            loss = self.optimizer.scale_loss(self._replica_share(terms["loss"], x))
        variables = self.trainable_variables
        if variables:
            gradients = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        else:  # a frozen model (trainable=False): evaluate as fit goes, as Keras does
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        return self._record(terms, x)

    def test_step(self, data):
        x, y = self._unpack(data)
        self._update_metrics(x, y)
        return self._record(self.compute_losses(x, y, training=False), x)

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution="auto",
        jit_compile="auto",
        auto_scale_loss=True,
    ):
        """`keras.Model.compile`, except that "auto" (the default of both
        `jit_compile` and `steps_per_execution`, whose Keras default is 1)
        means this model's row of `keras_ae.training.defaults.AUTO_COMPILE`:
        XLA and 8 batches per compiled call for the built MLP networks,
        Keras's choice for the others. Pass `steps_per_execution=1` for
        batch-level callbacks on every batch.

        The model trains on its own loss terms, chosen when it is built
        (`reconstruction_loss` and each variant's penalty), and `fit` reports
        each of them: `loss`, `loss_weights` and `weighted_metrics` are
        refused rather than silently ignored.

        `metrics` (Keras metrics, or names such as `"mse"`, `"mae"`,
        `"binary_crossentropy"`) compare the target with the model's
        reconstruction `model(x)` and are reported beside the loss terms under
        their own names; Keras's `"mse"` is the mean over elements, where
        `reconstruction_loss` sums over a sample's features.

        Example:
            >>> model.compile(optimizer="adam", metrics=["mse"])  # doctest: +SKIP
            >>> model.fit(x, epochs=1).history["mse"]  # doctest: +SKIP
        """
        given = dict(loss=loss, loss_weights=loss_weights, weighted_metrics=weighted_metrics)
        for name, value in given.items():
            if value is not None:
                raise ValueError(
                    f"keras_ae models train on their own loss terms (reconstruction_loss="
                    f"{self.reconstruction_loss!r} and the variant's penalty, set when the model "
                    f"is built) and report each of them; compile() takes no {name}, got "
                    f"{name}={value!r}. Measure other quantities on model.reconstruct(x)."
                )
        auto_jit, auto_steps = self._auto_compile(run_eagerly)
        if jit_compile == "auto":
            jit_compile = auto_jit
        auto = steps_per_execution == "auto"
        if auto:
            steps_per_execution = auto_steps
        else:
            steps_per_execution = check_positive_int("steps_per_execution", steps_per_execution)
        with self.distribute_strategy.scope():
            wanted = reconstruction_metrics(metrics, self.loss_names)
        object.__setattr__(self, "_reconstruction_metrics", wanted)
        super().compile(
            optimizer=optimizer,
            loss=loss,
            loss_weights=loss_weights,
            weighted_metrics=weighted_metrics,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            auto_scale_loss=auto_scale_loss,
        )
        if auto:
            # Saved with the model, so that a loaded model resolves it again;
            # also what `_steps_per_execution_for` reads.
            keras_compat.compile_config(self)["steps_per_execution"] = "auto"
        if metrics is not None:  # saved with the model, compiled again on load
            keras_compat.compile_config(self)["metrics"] = metrics

    def compile_from_config(self, config):
        # Keras skips a custom `compile()` when loading a model; this one only
        # changes defaults, so load_model compiles through it.
        config = dict(keras.saving.deserialize_keras_object(config))
        # A model saved before compile() refused these kept them in its file;
        # they never took part in training, so loading drops them and says so.
        dropped = {k: config.pop(k) for k in _NOT_COMPILED if config.get(k) is not None}
        if dropped:
            warnings.warn(
                f"{type(self).__name__} was saved with compile arguments keras_ae "
                f"models never use, now dropped: {dropped}",
                UserWarning,
                stacklevel=2,
            )
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _auto_compile(self, run_eagerly):
        distributed = bool(keras_compat.creation_strategy(self)) or tf.distribute.has_strategy()
        return defaults.auto_compile(self.compile_profile(), run_eagerly, distributed)

    @contextlib.contextmanager
    def _steps_per_execution_for(self, *step_counts, batches=None):
        """With the "auto" default, runs a call that names its step counts
        (`steps_per_epoch`, `validation_steps`, `steps`) with a number of steps
        per execution that divides them (`defaults.divisor_steps`). `fit` on
        an array of fewer `batches` than that runs them all in one execution
        (its progress bar showed "8/4" for 4 batches). A call made while `fit`
        runs (from a callback) gets its own setting for its duration, and
        `fit`'s setting is put back after it. The compiled functions of each
        setting are kept until the next `compile()`: going back to a setting
        traces and compiles nothing again."""
        config = keras_compat.compile_config(self)
        wanted = self.steps_per_execution
        if config is not None and config.get("steps_per_execution") == "auto":
            wanted = defaults.divisor_steps(
                self._auto_compile(self.run_eagerly)[1], step_counts, batches
            )
        if wanted == self.steps_per_execution:
            yield
            return
        saved = self.steps_per_execution
        self._switch_functions(wanted)
        try:
            yield
        finally:
            if self.__dict__.get("_fitting"):
                self._switch_functions(saved)

    def _switch_functions(self, steps_per_execution):
        """Sets `steps_per_execution`, keeping the compiled functions of the
        setting left and taking back those of the new one (if made since the
        last `compile()`)."""
        kept = self.__dict__.get("_functions_by_setting")
        if kept is None or kept[0] is not self._compile_config_now():
            kept = (self._compile_config_now(), {})
            object.__setattr__(self, "_functions_by_setting", kept)
        names = ("train_function", "test_function", "predict_function")
        setting = (self.steps_per_execution, self.jit_compile, self.run_eagerly)
        kept[1][setting] = tuple(getattr(self, name) for name in names)
        self.steps_per_execution = steps_per_execution
        setting = (steps_per_execution, self.jit_compile, self.run_eagerly)
        for name, function in zip(names, kept[1].get(setting, (None,) * 3), strict=True):
            setattr(self, name, function)

    def _compile_config_now(self):
        """What identifies the current `compile()`: each call makes a new dict."""
        return keras_compat.compile_config(self)

    def make_train_function(self, force=False):
        if self.jit_compile and not self.__dict__.get("_xla_counted"):
            object.__setattr__(self, "_xla_counted", True)
            defaults.count_xla_model()
        if force or self.train_function is None:
            super().make_train_function(force=force)
            self.train_function = tracing.any_batch_size(self.train_function)
        return self.train_function

    def make_test_function(self, force=False):
        if force or self.test_function is None:
            super().make_test_function(force=force)
            self.test_function = tracing.any_batch_size(self.test_function)
        return self.test_function

    # ------------------------------------------------ entry points, input checked
    def fit(self, x=None, y=None, *args, validation_data=None, callbacks=None, **kwargs):
        """`keras.Model.fit`, with its input checked first
        (`keras_ae.training.inputs`) and a `FiniteGuard` ahead of `callbacks`:
        a NaN or infinite loss (or weights) stops training with a
        `NonFiniteError` before any callback saves that state. Under XLA,
        arrays train in full batches (`keras_ae.training.batching`): an
        epoch's last batch is filled up with samples drawn again (at most 5%
        of the epoch), so that XLA compiles no second batch shape."""
        refuse_weights(kwargs, "sample_weight", "class_weight")
        x = check_input(self, x, "x", required=True)
        y = check_input(self, y, "y")
        check_target_range(self, x if y is None else y, "x" if y is None else "y")
        if isinstance(validation_data, (tuple, list)):
            validation_data = type(validation_data)(
                check_input(self, part, f"validation_data[{i}]") if i < 2 else part
                for i, part in enumerate(validation_data)
            )
            i = min(len(validation_data), 2) - 1
            if i >= 0:
                check_target_range(self, validation_data[i], f"validation_data[{i}]")
        else:
            validation_data = check_input(self, validation_data, "validation_data")
            check_target_range(self, validation_data, "validation_data")
        if isinstance(callbacks, keras.callbacks.Callback):
            callbacks = [callbacks]
        if not isinstance(callbacks, keras.callbacks.CallbackList):
            callbacks = [FiniteGuard()] + list(callbacks or [])
        # Keras's default shuffle=True makes every fit on a tf.data.Dataset warn
        # that "shuffle=True was passed": a dataset shuffles itself, so the
        # default is left out here; a shuffle the user gives still goes through.
        if isinstance(x, tf.data.Dataset) and "shuffle" not in kwargs and len(args) < 7:
            kwargs["shuffle"] = False
        x, y, kwargs, validation_data = batching.full_batches(
            self, x, y, args, kwargs, validation_data
        )
        with self._steps_per_execution_for(
            kwargs.get("steps_per_epoch"),
            kwargs.get("validation_steps"),
            batches=defaults.batches_per_epoch(x, args, kwargs),
        ):
            object.__setattr__(self, "_fitting", True)
            try:
                return super().fit(
                    x, y, *args, validation_data=validation_data, callbacks=callbacks, **kwargs
                )
            finally:
                object.__setattr__(self, "_fitting", False)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, with its input checked, and a `NonFiniteError`
        for a NaN or infinite loss rather than returning it."""
        # (Keras drops the weights of an x-only call before test_step sees them.)
        refuse_weights(kwargs, "sample_weight")
        x = check_input(self, x, "x", required=True)
        y = check_input(self, y, "y")
        check_target_range(self, x if y is None else y, "x" if y is None else "y")
        if keras_compat.is_fit_validation(kwargs):  # fit's own validation: fit's setting holds
            return super().evaluate(x, y, *args, **kwargs)  # (FiniteGuard checks its logs)
        with self._steps_per_execution_for(kwargs.get("steps")):
            result = super().evaluate(x, y, *args, **kwargs)
        values = (
            result
            if isinstance(result, dict)
            else dict(zip(self.loss_names, np.atleast_1d(result), strict=False))
        )
        bad = [f"{k}={float(v):g}" for k, v in values.items() if not np.isfinite(v)]
        if bad:
            checked = "" if isinstance(x, np.ndarray) else "the data holding NaN, "
            raise NonFiniteError(
                f"evaluate gave {', '.join(bad)}: the model's weights are not finite (a "
                f"training run that diverged), {checked}or its values overflowed float16 "
                "under mixed precision"
            )
        return result

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`, with its input checked, and a `NonFiniteError`
        rather than NaN or infinite outputs."""
        x = check_input(self, x, "x", targets=False, required=True)  # (x, labels) datasets
        with self._steps_per_execution_for(kwargs.get("steps")):
            out = super().predict(x, *args, **kwargs)
        if isinstance(out, np.ndarray):
            check_output(out, "predict", input_checked=isinstance(x, np.ndarray))
        return out

    # ------------------------------------------------------------------- saving
    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """`keras.Model.save`, written atomically to a local path
        (`keras_ae.training.saving`); `keras.callbacks.ModelCheckpoint` saves
        through it too. Other targets (`zipped=False`, file objects, remote
        URLs) go to Keras as they are."""
        if zipped is False or not stageable(filepath, overwrite, MODEL_SUFFIXES):
            return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)
        save_atomically(super().save, filepath, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """`keras.Model.save_weights`, written atomically like `save` (what
        `keras.callbacks.BackupAndRestore` checkpoints through); sharded
        weights (several files) are written as Keras writes them."""
        if max_shard_size is not None or not stageable(filepath, overwrite, WEIGHTS_SUFFIX):
            return super().save_weights(
                filepath, overwrite=overwrite, max_shard_size=max_shard_size
            )
        save_atomically(super().save_weights, filepath)


def reconstruction_metrics(metrics, loss_names):
    """`compile(metrics=...)` as Keras metric objects, each under the name it
    was given (`"mse"` is reported as `mse`, as Keras does), or a ValueError
    naming what is wrong: not a list, unknown, or a name a loss term has."""
    if metrics is None:
        return []
    if not isinstance(metrics, (list, tuple)):
        raise ValueError(
            "metrics must be a list of Keras metrics or their names (e.g. ['mse', 'mae']); "
            f"got {type(metrics).__name__} {metrics!r}"
        )
    out = []
    for identifier in metrics:
        try:
            metric = keras.metrics.get(identifier)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"metrics: {identifier!r} is not a Keras metric (e.g. 'mse', 'mae', "
                f"'binary_crossentropy', or a keras.metrics.Metric): {error}"
            ) from None
        if isinstance(identifier, str) and isinstance(metric, keras.metrics.Metric):
            metric = type(metric).from_config({**metric.get_config(), "name": identifier})
        elif not isinstance(metric, keras.metrics.Metric):  # a function (y_true, y_pred)
            metric = keras.metrics.MeanMetricWrapper(
                metric, name=identifier if isinstance(identifier, str) else metric.__name__
            )
        out.append(metric)
    names = [m.name for m in out]
    clash = sorted({n for n in names if n in loss_names or names.count(n) > 1})
    if clash:
        raise ValueError(
            f"metrics must have names of their own, apart from the loss terms {loss_names} "
            f"and each other; got {clash} more than once"
        )
    return out


def _multi_worker(strategy):
    return isinstance(
        strategy, tf.distribute.MultiWorkerMirroredStrategy
    ) and keras_compat.in_multi_worker_mode(strategy)
