"""One way in for any source: arrays, built-in names, tfds, image folders, CSV tables.

Owns the source string (which forms there are, the options each takes) and the
dispatch: `make_dataset` resolves a source to either arrays held in memory
(tables, sequences, the built-in array datasets: `table_source`) or a stream
read from disk (image folders: `folder`; tfds: `tfds_source`), and ends both
the same way, through `pipeline`: batches of float32 ``x`` in the model's
range, or ``(x, labels)``. `load`, `fit_scaler` and `array_dataset` are its
array-returning, scaler-fitting and array-only siblings.
"""

import os
import sys

import numpy as np
import tensorflow as tf

from keras_ae.datasets._paths import check_flag
from keras_ae.datasets.cifar import extracted_cifar10_jpeg
from keras_ae.datasets.folder import folder_stream
from keras_ae.datasets.pipeline import array_batches, check_transform, finish_batches
from keras_ae.datasets.table import SCALERS, FeatureScaler
from keras_ae.datasets.table_source import array_scaler, reshape_rows, resolve_scaler, table_rows
from keras_ae.datasets.tfds_source import tfds_stream
from keras_ae.utils.validation import check_number, check_positive_int, check_seed

SPLITS = ("train", "validation", "test")
BUILTINS = ("mnist", "fashion_mnist", "cifar10_jpeg", "satimage", "ecg5000")
TEXT_BUILTINS = ("20newsgroups", "reuters21578")

# Source-specific options and their defaults; any other option for a source is refused.
_IMAGE_OPTIONS = {"image_size": None, "color_mode": None, "crop_to_aspect_ratio": False}
OPTIONS = {
    "images": {**_IMAGE_OPTIONS, "on_bad_image": "raise"},
    "tfds": {
        **_IMAGE_OPTIONS,
        "data_dir": None,
        "download": None,
        "feature": "image",
        "label_feature": "label",
    },
    "csv": {
        "label_column": None,
        "header": None,
        "delimiter": ",",
        "sequence_length": None,
        "sequence_stride": 1,
        "sample_shape": None,
    },
    "mnist": {"data_dir": None},
    "fashion_mnist": {"data_dir": None},
    "cifar10_jpeg": {**_IMAGE_OPTIONS, "data_dir": None},
    "satimage": {"data_dir": None, "sample_shape": None},
    "ecg5000": {"data_dir": None, "sample_shape": None},
    "array": {},
}


def _kind(source):
    """("kind", value) for a source, else a ValueError listing the accepted forms."""
    if isinstance(source, str):
        for prefix in ("tfds", "images", "csv"):
            if source.startswith(prefix + ":"):
                value = source[len(prefix) + 1 :]
                if not value:
                    raise ValueError(f"source {source!r} names no {prefix} target")
                return prefix, value
        if source in BUILTINS:
            return source, None
        if source in TEXT_BUILTINS:
            raise ValueError(
                f"{source!r} is text: vectorize it first (keras_ae.datasets.load_"
                f"{source}, then vectorize_text) and pass the vectors as an array"
            )
        hint = ""
        if source.lower().endswith((".csv", ".tsv", ".txt")):
            hint = f" (a table? use 'csv:{source}')"
        elif os.path.isdir(source):
            hint = f" (an image folder? use 'images:{source}')"
        raise ValueError(
            f"unknown source {source!r}{hint}; expected an array, a built-in name "
            f"{BUILTINS}, 'tfds:NAME[/CONFIG][:VERSION]', 'images:DIR' or 'csv:PATH'"
        )
    if isinstance(source, os.PathLike):
        raise ValueError(
            f"source {source!r} is a path: say what it holds, 'images:{source}' or 'csv:{source}'"
        )
    tfds = sys.modules.get("tensorflow_datasets")
    if tfds is not None and isinstance(source, tfds.core.DatasetBuilder):
        return "tfds", source
    return "array", source


def _options(kind, options):
    allowed = OPTIONS[kind]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) or "none"
        raise ValueError(
            f"option(s) {', '.join(unknown)} do not apply to a {kind} source (its options: {takes})"
        )
    return {**allowed, **options}


# ----------------------------------------------------------------- entry points


def make_dataset(
    source,
    y=None,
    batch_size=128,
    shuffle=True,
    seed=None,
    scale="auto",
    flatten=False,
    channels=False,
    binarize=None,
    threshold=0.5,
    drop_remainder=False,
    prefetch=True,
    cache=None,
    repeat=False,
    *,
    split="train",
    with_labels=False,
    validation_split=None,
    **options,
):
    """Builds a batched, autoencoder-ready `tf.data.Dataset` from any source.

    Sources:
        - an array (N, H, W[, C]) images, (N, features) or (N, steps, features),
          at least one sample, with optional targets `y`; read as in
          `preprocess` (uint8 divided by 255, uint16 by 65535, floats in
          [0, 1], signed integers refused unless ``scale=None``);
        - a built-in name: ``"mnist"``, ``"fashion_mnist"``, ``"cifar10_jpeg"``
          (CIFAR-10 (JPEG), streamed from its extracted folder), ``"satimage"``,
          ``"ecg5000"`` (the tutorial's train/test split); option ``data_dir``;
        - ``"tfds:NAME[/CONFIG][:VERSION]"`` or a tfds ``DatasetBuilder`` (e.g.
          ``tfds.folder_dataset.ImageFolder(dir)``): options ``data_dir`` (else
          ``KERAS_AE_DATA_DIR`` if prepared there, else tfds's default),
          ``download`` (default: unless ``KERAS_AE_OFFLINE``), ``feature="image"``,
          ``label_feature="label"``, and the image options;
        - ``"images:DIR"``: PNG/JPEG/BMP/GIF files, flat or in class sub-folders
          (``DIR/{train,test}/`` is read as splits). Every file is decoded once
          up front, so an unreadable one (``on_bad_image="raise"``, or
          ``"skip"``) or mixed sizes without ``image_size`` fail before training;
          then streamed from disk. Image options: ``image_size=(h, w)``,
          ``crop_to_aspect_ratio``, ``color_mode="rgb"|"grayscale"``;
        - ``"csv:PATH"``: a numeric table; ``label_column`` (name or index),
          ``header`` (None infers), ``delimiter`` (None: whitespace),
          ``sample_shape`` (each row reshaped, e.g. (140, 1) for one sequence a
          row), ``sequence_length``/``sequence_stride`` (sliding windows over
          rows, ``(n, steps, features)``, a window labelled by its last row).

    Args:
        source: One of the above.
        y: Targets for an array source only (finite where float), passed
            through unchanged; without them batches are ``x`` only.
        batch_size: Samples per batch.
        shuffle: Shuffle the samples afresh every epoch.
        seed: Int seed (int64) for shuffling and dynamic binarization; the
            same seed gives the same sequence of epochs.
        flatten: Yield (batch, H*W*C) vectors.
        channels: Yield (batch, H, W, 1) for (N, H, W) input.
        binarize: `None`; ``"static"`` thresholds the intensity once
            (> `threshold`); ``"dynamic"`` draws a fresh Bernoulli sample with
            the intensity as probability every epoch (Salakhutdinov & Murray,
            2008); ``"fixed"`` draws one and keeps it: every pass gives the same
            binary batches for a given `seed` (default 0), which needs a fixed
            order (``shuffle=False``, no ``repeat``): a validation or test
            pipeline, the papers' "statically binarized" data. Binary output is
            {0, 1} ({-1, 1} with ``scale="symmetric"``).
        threshold: Static binarization threshold on the [0, 1] intensity, in [0, 1).
        drop_remainder: Drop the last partial batch (refused when no batch would be left).
        prefetch: Prefetch with `tf.data.AUTOTUNE`.
        repeat: Repeat forever (then pass ``steps_per_epoch`` to ``fit``).
        scale: ``"auto"`` (images to [0, 1]; tables ``"minmax"``; arrays
            ``"unit"``), ``"unit"``, ``"symmetric"``, `None` (raw values), or for
            tables ``"minmax"``/``"standard"`` per feature, fitted on the
            training rows only, or a fitted `FeatureScaler` (any source with
            features on the last axis) to reuse one. The dataset's
            ``feature_scaler`` attribute holds the scaler used.
        cache: Keep the decoded samples in memory after the first epoch;
            default True for arrays and tables, False for streamed sources.
        split: ``"train"``, ``"validation"`` or ``"test"`` (tfds: any split string).
        with_labels: Yield ``(x, labels)`` rather than ``x``.
        validation_split: Fraction of the training samples held out as
            ``split="validation"`` (the same samples in both calls).
        **options: The source's own options above; any other is refused.

    Returns:
        A `tf.data.Dataset` of float32 ``x`` batches, or ``(x, labels)``.

    Raises:
        ValueError: (or DatasetError) naming the problem: unknown source or option,
            unreadable image, mixed sizes, a bad CSV cell by line and column, a
            missing label column, an unprepared tfds dataset with how to prepare it.

    Example:
        >>> ds = make_dataset("images:photos/", image_size=(64, 64), seed=0)
        >>> model = keras_ae.models.ConvAutoencoder(input_shape=(64, 64, 3), latent_dim=64)
        >>> model.fit(ds, epochs=10)
    """
    kind, value = _kind(source)
    if binarize == "fixed" and (shuffle is not False or repeat is not False):
        raise ValueError(
            'binarize="fixed" keeps one draw per batch position, so it needs a fixed '
            f"order: shuffle=False and repeat=False (got shuffle={shuffle!r}, "
            f'repeat={repeat!r}); binarize="dynamic" draws afresh for training'
        )
    if kind == "array":
        if options or with_labels or validation_split is not None or split != "train":
            extra = sorted(options) + [
                n
                for n, v in (
                    ("with_labels", with_labels),
                    ("validation_split", validation_split),
                    ("split", split != "train" or None),
                )
                if v
            ]
            raise ValueError(
                f"{', '.join(extra)} do not apply to an array source (pass "
                "targets as y, and the validation array as its own dataset)"
            )
        scaler = array_scaler(scale)
        x, labels, scale, opts = value, y, "unit" if scale == "auto" else scale, {}
    else:
        if y is not None:
            raise ValueError(
                f"y applies to array sources; a {kind} source gives its own labels "
                "with with_labels=True"
            )
        opts = _options(kind, options)
        if split not in SPLITS and kind != "tfds":
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        with_labels = check_flag("with_labels", with_labels)
        if validation_split is not None:
            validation_split = check_number(
                "validation_split", validation_split, low=0.0, high=1.0, open_low=True
            )
        seed = check_seed("seed", seed)
        batch_size = check_positive_int("batch_size", batch_size)
        shuffle, drop_remainder, prefetch, repeat = (
            check_flag(n, v)
            for n, v in (
                ("shuffle", shuffle),
                ("drop_remainder", drop_remainder),
                ("prefetch", prefetch),
                ("repeat", repeat),
            )
        )
        if kind in ("images", "tfds", "cifar10_jpeg"):  # read from disk as it trains
            if scale in SCALERS or isinstance(scale, FeatureScaler):
                raise ValueError(
                    f"scale={scale!r}: per-feature scalers apply to tables; images "
                    'take scale="unit" ([0, 1]), "symmetric" or None (0-255)'
                )
            cache = False if cache is None else check_flag("cache", cache)
            ds, shape, dtype = _stream(
                kind, value, split, validation_split, with_labels, opts, shuffle, seed, cache
            )
            if scale == "auto":
                scale = "unit" if dtype == tf.uint8 else None
            divisor = (
                None
                if scale is None and binarize is None
                else (255.0 if dtype == tf.uint8 else 1.0)
            )
            if divisor is not None and dtype != tf.uint8 and not dtype.is_floating:
                raise ValueError(
                    f"tfds: feature of dtype {dtype.name} has no intensity range: "
                    "pass scale=None for its raw values"
                )
            names = getattr(ds, "class_names", None)
            transform = check_transform(scale, binarize, flatten, channels, threshold)
            if repeat:
                ds = ds.repeat()
            ds = ds.batch(batch_size, drop_remainder=drop_remainder)
            ds = finish_batches(ds, with_labels, divisor, transform, len(shape), seed, prefetch)
            ds.class_names, ds.feature_scaler, ds.element_shape = names, None, shape
            return ds
        x, labels, fit_rows = table_rows(kind, value, split, validation_split, with_labels, opts)
        labels = labels if with_labels else None
        if scale == "auto":
            scale = "unit" if kind in ("mnist", "fashion_mnist") else "minmax"
        scaler = resolve_scaler(scale, fit_rows, kind, split)
    if scaler is not None:
        x, scale = scaler.transform(x), None
    if opts.get("sample_shape") is not None:
        x = reshape_rows(x, opts["sample_shape"])
    transform = check_transform(scale, binarize, flatten, channels, threshold)
    cache = True if cache is None else cache
    ds = array_batches(
        x, labels, transform, batch_size, shuffle, seed, drop_remainder, prefetch, cache, repeat
    )
    ds.feature_scaler = scaler
    return ds


def _stream(kind, value, split, validation_split, with_labels, opts, shuffle, seed, cache):
    """The unbatched stream of a source read from disk (an image folder, CIFAR-10
    (JPEG), tfds), its sample shape and its dtype (pixels 0-255: uint8)."""
    if kind == "tfds":
        return tfds_stream(value, split, validation_split, with_labels, opts, shuffle, seed, cache)
    if kind == "cifar10_jpeg":
        value = str(extracted_cifar10_jpeg(opts.pop("data_dir")))
    opts.setdefault("on_bad_image", "raise")
    ds, shape = folder_stream(
        value, split, validation_split, with_labels, opts, shuffle, seed, cache
    )
    return ds, shape, tf.uint8


def array_dataset(x, y=None, *args, **kwargs):
    """`make_dataset` for an array `x` only: the same arguments, in the same order.

    Example:
        >>> ds = array_dataset(x_train, batch_size=256, flatten=True, seed=0)
    """
    if isinstance(x, (str, os.PathLike)) or _kind(x)[0] != "array":
        raise ValueError(
            f"array_dataset takes an array, got {x!r:.60}; pass other sources to make_dataset"
        )
    return make_dataset(x, y, *args, **kwargs)


def fit_scaler(source, method="minmax", *, validation_split=None, **options):
    """The per-feature `FeatureScaler` that ``make_dataset(source, scale=method)``
    fits on the training rows (save it with the run to scale new rows alike).

    Example:
        >>> scaler = fit_scaler("csv:sensors.csv", "standard", label_column="fault")
        >>> test = make_dataset("csv:new.csv", split="test", scale=scaler, label_column="fault")
    """
    if method not in SCALERS:
        raise ValueError(f"method must be one of {SCALERS}, got {method!r}")
    kind, value = _kind(source)
    if kind == "array":
        if options or validation_split is not None:
            raise ValueError(
                "fit_scaler on an array takes no options: FeatureScaler(method).fit(x_train)"
            )
        return FeatureScaler(method).fit(value)
    if kind not in ("csv", "satimage", "ecg5000"):
        raise ValueError(f"fit_scaler: per-feature scaling applies to tables, not {kind} sources")
    if validation_split is not None:
        validation_split = check_number(
            "validation_split", validation_split, low=0.0, high=1.0, open_low=True
        )
    _, _, fit_rows = table_rows(
        kind, value, "train", validation_split, False, _options(kind, options)
    )
    return FeatureScaler(method).fit(fit_rows)


def load(source, split="train", *, with_labels=False, **kwargs):
    """`make_dataset`'s samples as numpy arrays, in source order (no shuffle), for
    data that fits in memory: ``x`` float32, or ``(x, labels)``.

    Example:
        >>> x_test = load("images:photos/test", image_size=(64, 64))
    """
    for k in ("shuffle", "repeat", "batch_size", "y"):
        if k in kwargs:
            raise ValueError(f"load takes no {k}= (it returns every sample once, in order)")
    ds = make_dataset(
        source, split=split, with_labels=with_labels, shuffle=False, batch_size=1024, **kwargs
    )
    batches = list(ds.as_numpy_iterator())
    if with_labels:
        return (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
    return np.concatenate(batches)
