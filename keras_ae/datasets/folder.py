"""Folders of image files (PNG, JPEG, BMP, GIF) streamed from disk with tf.data.

A folder is listed once (sorted paths, so the order is repeatable); its files
are then checked in one parallel tf.data pass that decodes each one and keeps
its size, so that an unreadable or truncated file and mixed sizes are errors
naming the files before training starts, not a crash mid-epoch. The check is
remembered for as long as no file changes (same paths, sizes and mtimes).
Training then streams: ``file list -> shuffle -> map(read + decode + resize,
AUTOTUNE) -> batch -> prefetch``, never the whole folder in memory. This module
owns the ``"images:DIR"`` source end to end: listing, split folders and the
validation hold-out (`folder_stream`), the image options (``image_size``,
``color_mode``), and `read_image_folder` for loaders that want arrays.
"""

import os
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_ae.datasets._paths import DatasetError, DatasetNotFoundError, check_flag
from keras_ae.datasets.pipeline import holdout
from keras_ae.utils.validation import check_positive_int

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
COLOR_MODES = {"rgb": 3, "grayscale": 1}
SPLIT_FOLDERS = ("train", "validation", "test")
_CHECKED = {}  # listing fingerprint -> (sizes per file, bad files)


class Listing:
    """The image files of a folder: sorted paths, class labels, class names.

    Images in first-level sub-folders are labelled by the sorted sub-folder
    names; a folder with images at its top level has no classes (labels are
    `None`), as has one with images at more than one depth.
    """

    def __init__(self, directory):
        directory = Path(directory).expanduser()
        if not directory.is_dir():
            raise DatasetNotFoundError(f"images: {str(directory)!r} is not a directory")
        entries = []
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(files):
                if name.lower().endswith(EXTENSIONS) and not name.startswith("."):
                    path = os.path.join(root, name)
                    st = os.stat(path)
                    entries.append((path, st.st_size, st.st_mtime_ns))
        if not entries:
            raise DatasetError(
                f"images: {str(directory)!r} holds no image files (expected "
                f"{', '.join(EXTENSIONS)} files, flat or in class sub-folders)"
            )
        self.directory = directory
        self.paths = [e[0] for e in entries]
        self.fingerprint = (str(directory.resolve()), tuple(entries))
        parts = [Path(p).relative_to(directory).parts for p in self.paths]
        if all(len(p) == 2 for p in parts):
            self.class_names = sorted({p[0] for p in parts})
            index = {c: i for i, c in enumerate(self.class_names)}
            self.labels = np.array([index[p[0]] for p in parts], np.int32)
        else:
            self.class_names, self.labels = None, None

    def __len__(self):
        return len(self.paths)


def split_folder(directory, split):
    """`directory/split` when `directory` is a split layout (``train/`` and only
    `SPLIT_FOLDERS` as sub-folders, e.g. ``{train,test}/<class>/``), else
    `directory` itself: a class folder named ``train`` beside others is a class."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():  # Listing names the missing folder
        return directory, False
    subdirs = {d.name for d in directory.iterdir() if d.is_dir() and not d.name.startswith(".")}
    if "train" not in subdirs or not subdirs <= set(SPLIT_FOLDERS):
        return directory, False
    if not (directory / split).is_dir():
        return None, True
    return directory / split, True


def _decode(contents, channels):
    """uint8 (h, w, channels) of any supported format (a GIF's first frame)."""
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    if channels == 1:
        image = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))), tf.uint8)
    image.set_shape([None, None, channels])
    return image


def resize(image, image_size, crop_to_aspect_ratio):
    """Resizes one uint8 image to `image_size` (bilinear, antialiased), float in
    [0, 255]; with `crop_to_aspect_ratio` the largest centred crop of the target's
    aspect ratio is taken first, so nothing is stretched."""
    if crop_to_aspect_ratio:
        h, w = tf.shape(image)[0], tf.shape(image)[1]
        th, tw = image_size
        # the crop: full width or full height, whichever the target ratio allows
        ch = tf.minimum(h, tf.cast(tf.round(tf.cast(w, tf.float64) * th / tw), tf.int32))
        cw = tf.minimum(w, tf.cast(tf.round(tf.cast(h, tf.float64) * tw / th), tf.int32))
        ch, cw = tf.maximum(ch, 1), tf.maximum(cw, 1)
        image = tf.image.crop_to_bounding_box(image, (h - ch) // 2, (w - cw) // 2, ch, cw)
    out = tf.image.resize(tf.cast(image, tf.float32), image_size, antialias=True)
    return tf.clip_by_value(out, 0.0, 255.0)


def check_images(listing, channels, on_bad_image):
    """Decodes every file once (in parallel); returns (good paths mask, sizes).

    Raises:
        DatasetError: naming the first unreadable file (unless `on_bad_image`
            is ``"skip"``) and, when every file is unreadable, saying so.
    """
    key = listing.fingerprint
    if key not in _CHECKED:
        paths = tf.data.Dataset.from_tensor_slices(listing.paths)
        shapes = (
            paths.map(
                lambda p: (p, tf.shape(_decode(tf.io.read_file(p), channels))[:2]),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
            .ignore_errors()
            .batch(4096)
            .prefetch(2)
        )
        ok, sizes = [], []
        for p, s in shapes.as_numpy_iterator():
            ok.extend(os.fsdecode(x) for x in p)
            sizes.append(s)
        good = set(ok)
        sizes = np.concatenate(sizes) if sizes else np.zeros((0, 2), np.int32)
        mask = np.array([p in good for p in listing.paths])
        full = np.zeros((len(listing), 2), np.int32)
        full[mask] = sizes
        if len(_CHECKED) >= 8:  # a few folders remembered: train, validation, test
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = (mask, full)
    mask, sizes = _CHECKED[key]
    if not mask.all():
        bad = [p for p, m in zip(listing.paths, mask, strict=True) if not m]
        if on_bad_image != "skip" or mask.sum() == 0:
            try:
                _decode(tf.io.read_file(bad[0]), channels)
                reason = "it could not be decoded"
            except tf.errors.OpError as e:
                reason = e.message.strip().splitlines()[0]
            raise DatasetError(
                f"images: {bad[0]} is not a readable image ({reason}); "
                f"{len(bad)} of {len(listing)} files are unreadable or truncated"
                + (
                    " (every one)"
                    if not mask.sum()
                    else '. Remove or replace them, or pass on_bad_image="skip" to leave them out'
                )
            )
    return mask, sizes


def common_size(paths, sizes):
    """The one (h, w) of all images, else a DatasetError naming two that differ."""
    first = sizes[0]
    differ = np.flatnonzero((sizes != first).any(axis=1))
    if len(differ):
        j = differ[0]
        raise DatasetError(
            f"images differ in size: {paths[0]} is {first[0]}x{first[1]} (h x w), "
            f"{paths[j]} is {sizes[j][0]}x{sizes[j][1]}; pass image_size=(height, width) "
            "to resize them (crop_to_aspect_ratio=True crops rather than stretches)"
        )
    return int(first[0]), int(first[1])


def image_stream(paths, labels, channels, image_size, crop_to_aspect_ratio, shuffle, seed, cache):
    """Unbatched (image[, label]) dataset: uint8 images, or float [0, 255] when resized."""
    items = (paths, labels) if labels is not None else paths
    ds = tf.data.Dataset.from_tensor_slices(items)
    if shuffle and not cache:  # the file list only: cheap at any folder size
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)

    def load(p):
        image = _decode(tf.io.read_file(p), channels)
        if image_size is not None:
            image = resize(image, image_size, crop_to_aspect_ratio)
        return image

    if labels is not None:
        ds = ds.map(lambda p, y: (load(p), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:  # decoded once, held in memory, shuffled from there
        ds = ds.cache()
        if shuffle:
            ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    return ds


def color_channels(color_mode, default):
    """Channels `color_mode` asks for ("rgb" 3, "grayscale" 1); `default` for None."""
    if color_mode is None:
        return default
    if color_mode not in COLOR_MODES:
        raise ValueError(f'color_mode must be "rgb", "grayscale" or None, got {color_mode!r}')
    return COLOR_MODES[color_mode]


def check_image_size(image_size):
    """`image_size` as (height, width) of positive ints (one int: a square), or None."""
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        h, w = image_size
        return check_positive_int("image_size[0]", h), check_positive_int("image_size[1]", w)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_size must be (height, width) of positive ints or one int, got {image_size!r}"
        ) from None


def _train_labels(directory, root, listing, with_labels):
    """(labels, class names) of a validation/test `listing` numbered by the classes
    of ``directory/train``, so that a class has one index in every split."""
    names = Listing(Path(directory).expanduser() / "train").class_names
    missing = [c for c in listing.class_names if c not in (names or ())]
    if missing:
        if with_labels:
            raise ValueError(
                f"with_labels=True: {root} has class(es) {missing} that "
                f"{Path(directory) / 'train'} lacks (expected the train classes {names})"
            )
        return None, names
    index = np.array([names.index(c) for c in listing.class_names], np.int32)
    return index[listing.labels], names


def _split_files(directory, split, validation_split, with_labels, opts):
    """Checked (paths, labels, class names, sizes) of the `split` of an image folder."""
    if opts["on_bad_image"] not in ("raise", "skip"):
        raise ValueError(f'on_bad_image must be "raise" or "skip", got {opts["on_bad_image"]!r}')
    root, has_splits = split_folder(directory, split)
    if root is None and split == "validation":  # train/ but no validation/: hold out
        root, _ = split_folder(directory, "train")
    elif root is None:
        raise DatasetNotFoundError(
            f"images: {directory} has train/ but no {split}/ folder (expected {directory}/"
            f"{split}/, the layout train/ and test/ with classes inside)"
        )
    elif split == "test" and not has_splits:
        raise ValueError(
            f"split='test': {directory} has no train/ and test/ folders; pass "
            "the test images' own folder as the source, or use "
            "split='validation' with validation_split"
        )
    held = split == "validation" and not (Path(directory) / "validation").is_dir()
    listing = Listing(root)
    if with_labels and listing.labels is None:
        raise ValueError(
            f"with_labels=True: {root} has no class sub-folders (expected "
            "<class>/<image> files, each image one level down)"
        )
    channels = color_channels(opts["color_mode"], 3)
    mask, sizes = check_images(listing, channels, opts["on_bad_image"])
    paths = np.array(listing.paths)
    labels, names = listing.labels, listing.class_names
    if has_splits and labels is not None and root.name != "train":
        labels, names = _train_labels(directory, root, listing, with_labels)
    index = (
        holdout(len(paths), validation_split, split if held else "train", root)
        if held or (validation_split is not None and split == "train")
        else np.arange(len(paths))
    )
    index = index[mask[index]]  # unreadable files left out (on_bad_image="skip")
    skipped = int((~mask).sum())
    if skipped:
        print(
            f"images: skipped {skipped} unreadable file(s) of {len(mask)} in {root} "
            '(on_bad_image="skip")',
            file=sys.stderr,
        )
    return (
        paths[index],
        None if labels is None else labels[index],
        names,
        sizes[index],
        channels,
    )


def folder_stream(directory, split, validation_split, with_labels, opts, shuffle, seed, cache):
    """Unbatched images (and labels) of the `split` of an image folder, and their
    (h, w, channels); ``opts`` holds the image options and ``on_bad_image``."""
    paths, labels, names, sizes, channels = _split_files(
        directory, split, validation_split, with_labels, opts
    )
    if not len(paths):
        raise DatasetError(f"images: no readable image left in {directory} for split {split!r}")
    target = check_image_size(opts["image_size"])  # None: keep the one common size
    size = common_size(paths, sizes) if target is None else target
    crop = check_flag("crop_to_aspect_ratio", opts["crop_to_aspect_ratio"])
    ds = image_stream(
        list(paths), labels if with_labels else None, channels, target, crop, shuffle, seed, cache
    )
    ds.class_names = names
    return ds, (*size, channels)


def read_image_folder(
    directory, image_size=None, color_mode="rgb", crop_to_aspect_ratio=False, on_bad_image="raise"
):
    """Every image of a folder as uint8 ``(x (n, h, w, c), labels or None, class names)``,
    in sorted file order (the loaders' form; `load` gives float32 in [0, 1])."""
    opts = {
        "image_size": image_size,
        "color_mode": color_mode,
        "crop_to_aspect_ratio": crop_to_aspect_ratio,
        "on_bad_image": on_bad_image,
    }
    listing = Listing(directory)
    ds, shape = folder_stream(
        directory, "train", None, listing.labels is not None, opts, False, None, False
    )
    if listing.labels is None:
        ds = ds.map(lambda x: (x, 0))
    xs, ys = [], []
    for xb, yb in ds.batch(2048).prefetch(2).as_numpy_iterator():
        xs.append(np.clip(np.round(xb), 0, 255).astype(np.uint8) if xb.dtype != np.uint8 else xb)
        ys.append(yb)
    x = np.concatenate(xs)
    return x, (np.concatenate(ys) if listing.labels is not None else None), ds.class_names
