"""Folders of image files (PNG, JPEG, BMP, GIF) streamed from disk with tf.data.

A folder is listed once (sorted paths, so the order is repeatable); its files
are then checked in one parallel tf.data pass that decodes each one and keeps
its size, so that an unreadable or truncated file and mixed sizes are errors
naming the files before training starts, not a crash mid-epoch. The check is
remembered for as long as no file changes (same paths, sizes and mtimes).
Training then streams: ``file list -> shuffle -> map(read + decode + resize,
AUTOTUNE) -> batch -> prefetch``, never the whole folder in memory.
"""

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_ae.datasets._paths import DatasetError, DatasetNotFoundError

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
    """`directory/split` when `directory` holds ``train/`` (a split layout such as
    ``{train,test}/<class>/``), else `directory` itself (no split folders)."""
    directory = Path(directory).expanduser()
    if not (directory / "train").is_dir():
        return directory, False
    if not (directory / split).is_dir():
        return None, True
    return directory / split, True


def _decode(contents, channels):
    """uint8 (h, w, channels) of any supported format (a GIF's first frame)."""
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    if channels == 1:
        image = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))),
                        tf.uint8)
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
        shapes = (paths.map(lambda p: (p, tf.shape(_decode(tf.io.read_file(p), channels))[:2]),
                            num_parallel_calls=tf.data.AUTOTUNE)
                  .ignore_errors().batch(4096).prefetch(2))
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
                + (" (every one)" if not mask.sum() else
                   '. Remove or replace them, or pass on_bad_image="skip" to leave them out')
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


def image_stream(paths, labels, channels, image_size, crop_to_aspect_ratio, shuffle, seed,
                 cache):
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
