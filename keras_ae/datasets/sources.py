"""One way in for any source: arrays, built-in names, tfds, image folders, CSV tables.

`make_dataset` resolves a source to either arrays held in memory (tables,
sequences, the built-in array datasets) or a stream of images read from disk
(image folders, tfds), and ends both the same way: batches of float32 ``x``
in the model's range, or ``(x, labels)`` when asked for.
"""

import os
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_ae.datasets import folder as folder_lib
from keras_ae.datasets._paths import (
    ENV_DATA_DIR,
    DatasetError,
    DatasetNotFoundError,
    check_data_dir,
    check_flag,
    offline,
)
from keras_ae.datasets.pipeline import SCALES, _check, array_dataset, finish_batches
from keras_ae.datasets.table import SCALERS, FeatureScaler, read_csv, windows
from keras_ae.utils.validation import check_number, check_positive_int, check_seed

SPLITS = ("train", "validation", "test")
BUILTINS = ("mnist", "fashion_mnist", "cifar10_jpeg", "satimage", "ecg5000")
TEXT_BUILTINS = ("20newsgroups", "reuters21578")
SHUFFLE_BUFFER = 10_000  # tfds streams: examples held for shuffling

# Source-specific options and their defaults; any other option for a source is refused.
_IMAGE_OPTIONS = {"image_size": None, "color_mode": None, "crop_to_aspect_ratio": False}
OPTIONS = {
    "images": {**_IMAGE_OPTIONS, "on_bad_image": "raise"},
    "tfds": {**_IMAGE_OPTIONS, "data_dir": None, "download": None, "feature": "image",
             "label_feature": "label"},
    "csv": {"label_column": None, "header": None, "delimiter": ",", "sequence_length": None,
            "sequence_stride": 1, "sample_shape": None},
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
                value = source[len(prefix) + 1:]
                if not value:
                    raise ValueError(f"source {source!r} names no {prefix} target")
                return prefix, value
        if source in BUILTINS:
            return source, None
        if source in TEXT_BUILTINS:
            raise ValueError(
                f"{source!r} is text: vectorize it first (keras_ae.datasets.load_"
                f"{source}, then vectorize_text) and pass the vectors as an array")
        hint = ""
        if source.lower().endswith((".csv", ".tsv", ".txt")):
            hint = f" (a table? use 'csv:{source}')"
        elif os.path.isdir(source):
            hint = f" (an image folder? use 'images:{source}')"
        raise ValueError(
            f"unknown source {source!r}{hint}; expected an array, a built-in name "
            f"{BUILTINS}, 'tfds:NAME[/CONFIG][:VERSION]', 'images:DIR' or 'csv:PATH'")
    if isinstance(source, os.PathLike):
        raise ValueError(f"source {source!r} is a path: say what it holds, 'images:{source}' "
                         f"or 'csv:{source}'")
    tfds = sys.modules.get("tensorflow_datasets")
    if tfds is not None and isinstance(source, tfds.core.DatasetBuilder):
        return "tfds", source
    return "array", source


def _options(kind, options):
    allowed = OPTIONS[kind]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) or "none"
        raise ValueError(f"option(s) {', '.join(unknown)} do not apply to a {kind} source "
                         f"(its options: {takes})")
    return {**allowed, **options}


def _holdout(n, validation_split, split, what):
    """Row indices of `split` ("train"/"validation") when a fraction of `n` is held
    out: a fixed permutation, so the train and validation calls agree."""
    if validation_split is None:
        if split == "validation":
            raise ValueError(f"split='validation': {what} has no validation data of its own; "
                             "pass validation_split=0.1 (say) to hold out training rows")
        return np.arange(n)
    n_val = int(round(n * validation_split))
    if not 0 < n_val < n:
        raise ValueError(f"validation_split={validation_split} of {n} samples leaves "
                         f"{n_val} for validation and {n - n_val} for training; both need one")
    perm = np.random.default_rng(0).permutation(n)
    return np.sort(perm[:n_val] if split == "validation" else perm[n_val:])


def _color_channels(color_mode, default):
    if color_mode is None:
        return default
    if color_mode not in folder_lib.COLOR_MODES:
        raise ValueError(f'color_mode must be "rgb", "grayscale" or None, got {color_mode!r}')
    return folder_lib.COLOR_MODES[color_mode]


def _image_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        h, w = image_size
        return check_positive_int("image_size[0]", h), check_positive_int("image_size[1]", w)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (height, width) of positive ints or one int, "
                         f"got {image_size!r}") from None


# ----------------------------------------------------------------- image folders


def _folder_files(directory, split, validation_split, with_labels, opts):
    """Checked (paths, labels, class names, sizes) of the `split` of an image folder."""
    if opts["on_bad_image"] not in ("raise", "skip"):
        raise ValueError(f'on_bad_image must be "raise" or "skip", got {opts["on_bad_image"]!r}')
    root, has_splits = folder_lib.split_folder(directory, split)
    if root is None and split == "validation":  # train/ but no validation/: hold out
        root, _ = folder_lib.split_folder(directory, "train")
    elif root is None:
        raise DatasetNotFoundError(
            f"images: {directory} has train/ but no {split}/ folder (expected {directory}/"
            f"{split}/, the layout train/ and test/ with classes inside)")
    elif split == "test" and not has_splits:
        raise ValueError(f"split='test': {directory} has no train/ and test/ folders; pass "
                         "the test images' own folder as the source, or use "
                         "split='validation' with validation_split")
    held = split == "validation" and not (Path(directory) / "validation").is_dir()
    listing = folder_lib.Listing(root)
    if with_labels and listing.labels is None:
        raise ValueError(f"with_labels=True: {root} has no class sub-folders (expected "
                         "<class>/<image> files, each image one level down)")
    channels = _color_channels(opts["color_mode"], 3)
    mask, sizes = folder_lib.check_images(listing, channels, opts["on_bad_image"])
    paths = np.array(listing.paths)
    labels = listing.labels
    index = (_holdout(len(paths), validation_split, split if held else "train", root)
             if held or (validation_split is not None and split == "train") else
             np.arange(len(paths)))
    index = index[mask[index]]  # unreadable files left out (on_bad_image="skip")
    skipped = int((~mask).sum())
    if skipped:
        print(f"images: skipped {skipped} unreadable file(s) of {len(mask)} in {root} "
              '(on_bad_image="skip")', file=sys.stderr)
    return (paths[index], None if labels is None else labels[index], listing.class_names,
            sizes[index], channels)


def _folder_stream(directory, split, validation_split, with_labels, opts, shuffle, seed, cache):
    paths, labels, names, sizes, channels = _folder_files(
        directory, split, validation_split, with_labels, opts)
    if not len(paths):
        raise DatasetError(f"images: no readable image left in {directory} for split {split!r}")
    size = _image_size(opts["image_size"])
    if size is None:
        size = folder_lib.common_size(paths, sizes)
        resize = None
    else:
        resize = size
    ds = folder_lib.image_stream(list(paths), labels if with_labels else None, channels,
                                 resize, check_flag("crop_to_aspect_ratio",
                                                    opts["crop_to_aspect_ratio"]),
                                 shuffle, seed, cache)
    ds.class_names = names
    return ds, (*size, channels)


def read_image_folder(directory, image_size=None, color_mode="rgb", crop_to_aspect_ratio=False,
                      on_bad_image="raise"):
    """Every image of a folder as uint8 ``(x (n, h, w, c), labels or None, class names)``,
    in sorted file order (the loaders' form; `load` gives float32 in [0, 1])."""
    opts = {"image_size": image_size, "color_mode": color_mode,
            "crop_to_aspect_ratio": crop_to_aspect_ratio, "on_bad_image": on_bad_image}
    listing = folder_lib.Listing(directory)
    ds, shape = _folder_stream(directory, "train", None, listing.labels is not None,
                               opts, False, None, False)
    if listing.labels is None:
        ds = ds.map(lambda x: (x, 0))
    xs, ys = [], []
    for xb, yb in ds.batch(2048).prefetch(2).as_numpy_iterator():
        xs.append(np.clip(np.round(xb), 0, 255).astype(np.uint8) if xb.dtype != np.uint8 else xb)
        ys.append(yb)
    x = np.concatenate(xs)
    return x, (np.concatenate(ys) if listing.labels is not None else None), ds.class_names


# ----------------------------------------------------------------- tfds


def _tfds_builder(source, data_dir, download):
    """A prepared (or mocked) tfds builder for "NAME[/CONFIG][:VERSION]" or a builder."""
    import tensorflow_datasets as tfds

    if isinstance(source, tfds.core.DatasetBuilder):
        return source
    given = check_data_dir(data_dir)
    env = os.environ.get(ENV_DATA_DIR)
    dirs = [given] if given is not None else [*([Path(env)] if env else []), None]
    download = (not offline()) if download is None else check_flag("download", download)
    try:
        builders = [tfds.builder(source, data_dir=None if d is None else str(d)) for d in dirs]
    except tfds.core.registered.DatasetNotFoundError:
        import difflib

        close = difflib.get_close_matches(source.split("/")[0].split(":")[0],
                                          tfds.list_builders(), n=3)
        raise DatasetNotFoundError(
            f"tfds: no dataset named {source!r} in tensorflow-datasets "
            f"{tfds.__version__}" + (f"; did you mean {', '.join(close)}?" if close else "")
            + " (see tfds.list_builders())") from None
    except (AssertionError, ValueError) as e:  # a config or version it does not have
        raise ValueError(f"tfds: {source!r}: {str(e).splitlines()[0]}") from None
    for b in builders:
        if b.is_prepared():
            return b
    if download:
        try:
            builders[0].download_and_prepare()
        except Exception as e:  # network, disk, manual-download datasets: all say why
            raise DatasetNotFoundError(
                f"tfds: preparing {source!r} in {builders[0].data_dir} failed "
                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                f"prepare it where there is network with `tfds build {source}` and point "
                f"data_dir= (or {ENV_DATA_DIR}) at its data folder") from e
    return builders[0]


def _tfds_stream(source, split, validation_split, with_labels, opts, shuffle, seed, cache):
    import tensorflow_datasets as tfds

    builder = _tfds_builder(source, opts["data_dir"], opts["download"])
    name = builder.info.full_name
    features = builder.info.features
    keys = list(features.keys()) if hasattr(features, "keys") else []
    for what, key in (("feature", opts["feature"]),
                      *((("label_feature", opts["label_feature"]),) if with_labels else ())):
        if key not in keys:
            raise ValueError(f"tfds: {name} has no feature {key!r} ({what}=); its features "
                             f"are {', '.join(keys)}")
    spec = features[opts["feature"]]
    shape = tuple(spec.shape)
    dtype = tf.as_dtype(getattr(spec, "np_dtype", None) or spec.dtype)
    splits = builder.info.splits
    tf_split = split
    if validation_split is not None:
        if split == "test":
            raise ValueError("validation_split takes rows from the training split; it does "
                             "not apply to split='test'")
        n = splits["train"].num_examples if "train" in splits else 0
        cut = int(round(n * (1 - validation_split))) if n else None
        if cut is not None and not 0 < cut < n:
            raise ValueError(f"validation_split={validation_split} of {n} examples leaves "
                             "one side empty")
        tf_split = (f"train[:{cut}]" if cut else f"train[:{round(100 * (1 - validation_split))}%]"
                    ) if split == "train" else (
                    f"train[{cut}:]" if cut else f"train[{round(100 * (1 - validation_split))}%:]")
    elif split == "validation" and splits and "validation" not in splits:
        raise ValueError(f"tfds: {name} has no validation split (its splits: "
                         f"{', '.join(splits)}); pass validation_split= to hold out training "
                         "examples")
    image = len(shape) == 3
    size = _image_size(opts["image_size"])
    if image and size is None and None in shape[:2]:
        raise ValueError(f"tfds: {name}'s {opts['feature']!r} images vary in size "
                         f"{shape}; pass image_size=(height, width)")
    channels = shape[-1] if image else None
    want = _color_channels(opts["color_mode"], channels) if image else None
    if not image and (size is not None or opts["color_mode"] is not None):
        raise ValueError(f"tfds: {name}'s {opts['feature']!r} has shape {shape}, no image: "
                         "image_size and color_mode apply to images")
    try:
        ds = builder.as_dataset(split=tf_split, shuffle_files=shuffle,
                                read_config=tfds.ReadConfig(shuffle_seed=seed))
    except AssertionError as e:  # tfds's way of saying "not prepared"
        raise DatasetNotFoundError(
            f"tfds: {name} is not prepared in {builder.data_dir} ({str(e).splitlines()[0]}). "
            f"Prepare it: `tfds build {name}` on a machine with network (then copy its data "
            f"folder here and pass data_dir= or set {ENV_DATA_DIR}), or pass download=True "
            "when online") from None
    feature, label = opts["feature"], opts["label_feature"]
    crop = check_flag("crop_to_aspect_ratio", opts["crop_to_aspect_ratio"])

    def pick(ex):
        x = ex[feature]
        if image:
            if want == 3 and channels == 1:
                x = tf.image.grayscale_to_rgb(x)
            elif want == 1 and channels != 1:
                x = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(x[..., :3], tf.float32))),
                            x.dtype)
            if size is not None:
                x = folder_lib.resize(x, size, crop)
        return (x, ex[label]) if with_labels else x

    ds = ds.map(pick, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if image:
        out_shape = (*(size or shape[:2]), want)
    else:
        out_shape = shape
    return ds, out_shape, dtype


# ----------------------------------------------------------------- tables


def _table(kind, value, split, validation_split, with_labels, opts):
    """(x, labels, is_windows, training rows to fit a scaler on) for tables and the
    built-in array datasets."""
    from keras_ae import datasets as d

    fit_rows = None
    if kind == "csv":
        if opts["label_column"] is None and with_labels:
            raise ValueError("with_labels=True needs label_column= (the column holding them)")
        x, labels, _ = read_csv(value, opts["label_column"], opts["header"], opts["delimiter"])
        length = opts["sequence_length"]
        if length is not None:
            length = check_positive_int("sequence_length", length)
            stride = check_positive_int("sequence_stride", opts["sequence_stride"])
            # chronological: validation is the last rows, so no window straddles both
            cut = (len(x) if validation_split is None
                   else int(round(len(x) * (1 - validation_split))))
            if split == "validation" and validation_split is None:
                _holdout(len(x), None, split, value)
            train_x = x[:cut]
            part = x if split == "test" else (train_x if split == "train" else x[cut:])
            part_y = None if labels is None else (
                labels if split == "test" else labels[:cut] if split == "train" else labels[cut:])
            fit_rows = train_x
            x, labels = windows(part, part_y, length, stride)
            return x, labels, fit_rows
        if split == "test":
            if validation_split is not None:
                raise ValueError("validation_split takes rows from the training data; it does "
                                 "not apply to split='test' (the whole file)")
            return x, labels, None
        train_idx = _holdout(len(x), validation_split, "train", value)
        fit_rows = x[train_idx]
        idx = train_idx if split == "train" else _holdout(len(x), validation_split, split, value)
        return x[idx], None if labels is None else labels[idx], fit_rows
    loader = {"mnist": d.load_mnist, "fashion_mnist": d.load_fashion_mnist,
              "satimage": d.load_satimage,
              "ecg5000": lambda data_dir: d.load_ecg5000(data_dir, split="tutorial")}[kind]
    (x, y), (xt, yt) = loader(opts["data_dir"])
    train_idx = _holdout(len(x), validation_split, "train", kind)
    fit_rows = x[train_idx]
    if split == "test":
        if validation_split is not None:
            raise ValueError("validation_split does not apply to split='test'")
        return xt, yt, fit_rows
    idx = train_idx if split == "train" else _holdout(len(x), validation_split, split, kind)
    return x[idx], y[idx], fit_rows


def _resolve_scaler(scale, fit_rows, kind, split):
    """The FeatureScaler `scale` asks for (fitted on the training rows), or None."""
    if isinstance(scale, FeatureScaler):
        if not scale.fitted:
            raise ValueError("scale is an unfitted FeatureScaler; fit it on training data")
        return scale
    if scale in SCALERS:
        if fit_rows is None:
            raise ValueError(
                f"scale={scale!r} would be fitted on the {split!r} rows; a scaler is fitted on "
                "training data only: pass the training source's fitted scaler, "
                "scale=datasets.fit_scaler(train_source, ...) or FeatureScaler.load(path)")
        return FeatureScaler(scale).fit(fit_rows)
    return None


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
          with optional targets `y` (as before: see `array_dataset`);
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
        y: Targets for an array source only.
        batch_size, shuffle, seed, flatten, channels, binarize, threshold,
        drop_remainder, prefetch, repeat: as in `array_dataset`.
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
    if kind == "array":
        if options or with_labels or validation_split is not None or split != "train":
            extra = sorted(options) + [n for n, v in (
                ("with_labels", with_labels), ("validation_split", validation_split),
                ("split", split != "train" or None)) if v]
            raise ValueError(f"{', '.join(extra)} do not apply to an array source (pass "
                             "targets as y, and the validation array as its own dataset)")
        scaler = _array_scaler(scale)
        if scaler is not None:
            source, scale = scaler.transform(source), None
        ds = array_dataset(source, y, batch_size, shuffle, seed,
                           "unit" if scale == "auto" else scale, flatten, channels, binarize,
                           threshold, drop_remainder, prefetch,
                           True if cache is None else cache, repeat)
        ds.feature_scaler = scaler
        return ds
    if y is not None:
        raise ValueError(f"y applies to array sources; a {kind} source gives its own labels "
                         "with with_labels=True")
    opts = _options(kind, options)
    if split not in SPLITS and kind != "tfds":
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    with_labels = check_flag("with_labels", with_labels)
    if validation_split is not None:
        validation_split = check_number("validation_split", validation_split, low=0.0,
                                        high=1.0, open_low=True)
    seed = check_seed("seed", seed)
    batch_size = check_positive_int("batch_size", batch_size)
    shuffle, drop_remainder, prefetch, repeat = (check_flag(n, v) for n, v in (
        ("shuffle", shuffle), ("drop_remainder", drop_remainder), ("prefetch", prefetch),
        ("repeat", repeat)))

    if kind in ("images", "tfds", "cifar10_jpeg"):
        if scale in SCALERS or isinstance(scale, FeatureScaler):
            raise ValueError(f"scale={scale!r}: per-feature scalers apply to tables; images "
                             'take scale="unit" ([0, 1]), "symmetric" or None (0-255)')
        cache = False if cache is None else check_flag("cache", cache)
        if kind == "tfds":
            ds, shape, dtype = _tfds_stream(value, split, validation_split, with_labels, opts,
                                            shuffle, seed, cache)
            if scale == "auto":
                scale = "unit" if dtype == tf.uint8 else None
            divisor = None if scale is None and binarize is None else (
                255.0 if dtype == tf.uint8 else 1.0)
            if divisor is not None and dtype != tf.uint8 and not dtype.is_floating:
                raise ValueError(f"tfds: feature of dtype {dtype.name} has no intensity range: "
                                 "pass scale=None for its raw values")
        else:
            root = (str(_cifar_root(opts.pop("data_dir"))) if kind == "cifar10_jpeg" else value)
            opts.setdefault("on_bad_image", "raise")
            ds, shape = _folder_stream(root, split, validation_split, with_labels, opts,
                                       shuffle, seed, cache)
            scale = "unit" if scale == "auto" else scale
            divisor = None if scale is None and binarize is None else 255.0
        names = getattr(ds, "class_names", None)
        threshold = _check(scale, binarize, flatten, channels, threshold)
        if repeat:
            ds = ds.repeat()
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = finish_batches(ds, with_labels, divisor, scale, binarize, threshold, flatten,
                            channels, len(shape), seed, prefetch)
        ds.class_names, ds.feature_scaler, ds.element_shape = names, None, shape
        return ds

    x, labels, fit_rows = _table(kind, value, split, validation_split, with_labels, opts)
    if scale == "auto":
        scale = "unit" if kind in ("mnist", "fashion_mnist") else "minmax"
    scaler = _resolve_scaler(scale, fit_rows, kind, split)
    if scaler is not None:
        x, scale = scaler.transform(x), None
    if opts.get("sample_shape") is not None:
        x = _reshape_rows(x, opts["sample_shape"])
    ds = array_dataset(x, labels if with_labels else None, batch_size, shuffle, seed, scale,
                       flatten, channels, binarize, threshold, drop_remainder, prefetch,
                       True if cache is None else cache, repeat)
    ds.feature_scaler = scaler
    return ds


def _array_scaler(scale):
    if isinstance(scale, FeatureScaler):
        return _resolve_scaler(scale, None, "array", "train")
    if scale in SCALERS:
        raise ValueError(
            f"scale={scale!r} for an array: fit the per-feature scaler on the training array "
            f"and pass it, scale=FeatureScaler({scale!r}).fit(x_train); scale takes "
            f'"unit", "symmetric" or None for images')
    if scale != "auto" and scale not in SCALES:
        raise ValueError(f'scale must be one of "auto", "unit", "symmetric", None, '
                         f'"minmax", "standard" or a FeatureScaler, got {scale!r}')
    return None


def _reshape_rows(x, sample_shape):
    try:
        shape = tuple(check_positive_int("sample_shape", d) for d in sample_shape)
    except TypeError:
        raise ValueError(f"sample_shape must be a tuple of positive ints, got {sample_shape!r}"
                         ) from None
    if int(np.prod(shape)) != int(np.prod(x.shape[1:])):
        raise ValueError(f"sample_shape={shape} holds {int(np.prod(shape))} values; the rows "
                         f"have {int(np.prod(x.shape[1:]))}")
    return x.reshape((len(x), *shape))


def _cifar_root(data_dir):
    from keras_ae.datasets.cifar import extracted_cifar10_jpeg

    return extracted_cifar10_jpeg(data_dir)


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
            raise ValueError("fit_scaler on an array takes no options: "
                             "FeatureScaler(method).fit(x_train)")
        return FeatureScaler(method).fit(value)
    if kind not in ("csv", "satimage", "ecg5000"):
        raise ValueError(f"fit_scaler: per-feature scaling applies to tables, not {kind} sources")
    if validation_split is not None:
        validation_split = check_number("validation_split", validation_split, low=0.0,
                                        high=1.0, open_low=True)
    _, _, fit_rows = _table(kind, value, "train", validation_split, False,
                            _options(kind, options))
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
    ds = make_dataset(source, split=split, with_labels=with_labels, shuffle=False,
                      batch_size=1024, **kwargs)
    batches = list(ds.as_numpy_iterator())
    if with_labels:
        return (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
    return np.concatenate(batches)
