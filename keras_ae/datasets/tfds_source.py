"""The ``"tfds:NAME[/CONFIG][:VERSION]"`` source: tensorflow-datasets, imported only here.

Finds a prepared builder (``data_dir``, else ``KERAS_AE_DATA_DIR``, else tfds's
default folder; prepared on demand only when downloads are allowed), names an
unknown dataset, a missing feature or split, or an unprepared dataset with how
to prepare it, and streams one feature (an image or any tensor) with the image
options of `keras_ae.datasets.folder` applied per example.
"""

import os
from pathlib import Path

import tensorflow as tf

from keras_ae.datasets import folder
from keras_ae.datasets._paths import (
    ENV_DATA_DIR,
    DatasetNotFoundError,
    check_data_dir,
    check_flag,
    offline,
)

SHUFFLE_BUFFER = 10_000  # tfds streams: examples held for shuffling


def _builder(source, data_dir, download):
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

        close = difflib.get_close_matches(
            source.split("/")[0].split(":")[0], tfds.list_builders(), n=3
        )
        raise DatasetNotFoundError(
            f"tfds: no dataset named {source!r} in tensorflow-datasets "
            f"{tfds.__version__}"
            + (f"; did you mean {', '.join(close)}?" if close else "")
            + " (see tfds.list_builders())"
        ) from None
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
                f"data_dir= (or {ENV_DATA_DIR}) at its data folder"
            ) from e
    return builders[0]


def tfds_stream(source, split, validation_split, with_labels, opts, shuffle, seed, cache):
    """Unbatched examples (and labels) of a tfds dataset's `split`, their shape and
    the feature's dtype; ``opts`` holds the tfds options and the image options."""
    import tensorflow_datasets as tfds

    builder = _builder(source, opts["data_dir"], opts["download"])
    name = builder.info.full_name
    features = builder.info.features
    keys = list(features.keys()) if hasattr(features, "keys") else []
    for what, key in (
        ("feature", opts["feature"]),
        *((("label_feature", opts["label_feature"]),) if with_labels else ()),
    ):
        if key not in keys:
            raise ValueError(
                f"tfds: {name} has no feature {key!r} ({what}=); its features are {', '.join(keys)}"
            )
    spec = features[opts["feature"]]
    shape = tuple(spec.shape)
    dtype = tf.as_dtype(getattr(spec, "np_dtype", None) or spec.dtype)
    splits = builder.info.splits
    tf_split = split
    if validation_split is not None:
        if split == "test":
            raise ValueError(
                "validation_split takes rows from the training split; it does "
                "not apply to split='test'"
            )
        n = splits["train"].num_examples if "train" in splits else 0
        cut = int(round(n * (1 - validation_split))) if n else None
        if cut is not None and not 0 < cut < n:
            raise ValueError(
                f"validation_split={validation_split} of {n} examples leaves one side empty"
            )
        tf_split = (
            (f"train[:{cut}]" if cut else f"train[:{round(100 * (1 - validation_split))}%]")
            if split == "train"
            else (f"train[{cut}:]" if cut else f"train[{round(100 * (1 - validation_split))}%:]")
        )
    elif split == "validation" and splits and "validation" not in splits:
        raise ValueError(
            f"tfds: {name} has no validation split (its splits: "
            f"{', '.join(splits)}); pass validation_split= to hold out training "
            "examples"
        )
    image = len(shape) == 3
    size = folder.check_image_size(opts["image_size"])
    if image and size is None and None in shape[:2]:
        raise ValueError(
            f"tfds: {name}'s {opts['feature']!r} images vary in size "
            f"{shape}; pass image_size=(height, width)"
        )
    channels = shape[-1] if image else None
    want = folder.color_channels(opts["color_mode"], channels) if image else None
    if not image and (size is not None or opts["color_mode"] is not None):
        raise ValueError(
            f"tfds: {name}'s {opts['feature']!r} has shape {shape}, no image: "
            "image_size and color_mode apply to images"
        )
    try:
        ds = builder.as_dataset(
            split=tf_split, shuffle_files=shuffle, read_config=tfds.ReadConfig(shuffle_seed=seed)
        )
    except AssertionError as e:  # tfds's way of saying "not prepared"
        raise DatasetNotFoundError(
            f"tfds: {name} is not prepared in {builder.data_dir} ({str(e).splitlines()[0]}). "
            f"Prepare it: `tfds build {name}` on a machine with network (then copy its data "
            f"folder here and pass data_dir= or set {ENV_DATA_DIR}), or pass download=True "
            "when online"
        ) from None
    feature, label = opts["feature"], opts["label_feature"]
    crop = check_flag("crop_to_aspect_ratio", opts["crop_to_aspect_ratio"])

    def pick(ex):
        x = ex[feature]
        if image:
            if want == 3 and channels == 1:
                x = tf.image.grayscale_to_rgb(x)
            elif want == 1 and channels != 1:
                x = tf.cast(
                    tf.round(tf.image.rgb_to_grayscale(tf.cast(x[..., :3], tf.float32))), x.dtype
                )
            if size is not None:
                x = folder.resize(x, size, crop)
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
