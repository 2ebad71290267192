"""Matplotlib figures for autoencoders: reconstructions, kernels, samples, manifolds.

Figures are drawn with `matplotlib.figure.Figure` and its Agg canvas, so no
display and no global pyplot state are involved. Every `save_*` function
writes a PNG (or the format the path's suffix names, e.g. `.pdf`) to exactly
the path it is given, atomically, and returns that path.

Example:
    >>> from keras_ae import plotting
    >>> x_hat = model.reconstruct(x[:10])  # doctest: +SKIP
    >>> plotting.save_reconstructions(x[:10], x_hat, "recon.png")  # doctest: +SKIP
"""

import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
from matplotlib.figure import Figure

from keras_ae.utils.files import atomic_output
from keras_ae.utils.validation import check_array, check_positive_int


def _images(x, image_shape=None):
    """(N, H, W) grey or (N, H, W, 3) colour float images from flat, (N, H, W),
    (N, H, W, 1) or (N, H, W, 3) arrays."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 2:
        if image_shape is not None and (
            np.ndim(image_shape) != 1
            or len(image_shape) != 2
            or math.prod(image_shape) != x.shape[1]
        ):
            raise ValueError(
                f"image_shape must be (H, W) with H * W = {x.shape[1]} features, "
                f"got {image_shape!r}"
            )
        if image_shape is None:
            side = int(round(math.sqrt(x.shape[1])))
            if side * side != x.shape[1]:
                raise ValueError(
                    f"flat samples must have a square number of features or an image_shape, "
                    f"got {x.shape[1]} features"
                )
            image_shape = (side, side)
        x = x.reshape((len(x),) + tuple(image_shape))
    if x.ndim != 3 and not (x.ndim == 4 and x.shape[-1] == 3):
        raise ValueError(
            f"expected images (N, H, W), (N, H, W, 1), (N, H, W, 3) or flat (N, H*W), got {x.shape}"
        )
    return x


def image_grid(x, cols=None, pad=1, value=1.0, image_shape=None):
    """Tiles images into one 2-D array, row by row.

    Args:
        x: images (N, H, W), (N, H, W, 1), colour (N, H, W, 3) or flat (N, H*W).
        cols: images per row (default: about the square root of N).
        pad: pixels between tiles.
        value: the padding's value.
        image_shape: (H, W) for flat input that is not square.

    Returns:
        A 2-D float array, or (rows, cols, 3) for colour images.

    Example:
        >>> image_grid(np.zeros((6, 784)), cols=3).shape  # 2 x 28 + 1, 3 x 28 + 2
        (57, 86)
    """
    x = _images(x, image_shape)
    n, h, w = x.shape[:3]
    colour = x.shape[3:]
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ValueError(f"pad must be an integer >= 0, got {pad!r}")
    if n == 0:
        raise ValueError(f"no images to tile: x has shape {x.shape}")
    cols = math.ceil(math.sqrt(n)) if cols is None else check_positive_int("cols", cols)
    rows = math.ceil(n / cols)
    # Each tile with its padding below and to the right, the grid cut to size.
    tiles = np.full((rows * cols, h + pad, w + pad, *colour), value, dtype=np.float32)
    tiles[:n, :h, :w] = x
    grid = tiles.reshape(rows, cols, h + pad, w + pad, *colour).swapaxes(1, 2)
    return grid.reshape(rows * (h + pad), cols * (w + pad), *colour)[
        : rows * (h + pad) - pad, : cols * (w + pad) - pad
    ]


def save_figure(fig, path, dpi=None):
    """Writes any matplotlib figure to exactly `path`, atomically.

    The format is `path`'s suffix (PNG if it has none); a failed write leaves
    an existing file as it was. `dpi` defaults to the figure's own.
    """
    path = Path(path)
    with atomic_output(path) as staged:
        # An explicit format, so matplotlib never appends a suffix of its own.
        fig.savefig(
            staged, format=path.suffix[1:].lower() or "png", dpi=dpi or fig.dpi, bbox_inches="tight"
        )
    return path


def _figure(width, height):
    return Figure(figsize=(width, height), dpi=100)


def _show(ax, image, title=None, vmin=0.0, vmax=1.0, cmap="gray"):
    if image.ndim == 3:  # RGB: imshow ignores vmin/vmax, so map them to [0, 1] here
        image = np.clip((image - vmin) / (vmax - vmin), 0.0, 1.0)
    ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9, loc="left")


def save_rows(rows, labels, path, title=None, vmin=0.0, vmax=1.0):
    """Writes rows of images, one labelled strip per row (e.g. input / output).

    Args:
        rows: list of image batches of equal length.
        labels: one label per row.
        path: the PNG to write.
        title: figure title.
        vmin, vmax: the grey-level range shown.
    """
    if len(labels) != len(rows) or not len(rows):
        raise ValueError(
            f"save_rows needs rows and one label per row: got {len(rows)} rows "
            f"and {len(labels)} labels {list(labels)}"
        )
    lengths = [len(row) for row in rows]
    if len(set(lengths)) > 1:  # a shorter row left its images under the wrong ones
        raise ValueError(f"save_rows needs rows of equal length, got {lengths}")
    fig = _figure(1.0 * len(rows[0]) * 0.6 + 1, 0.75 * len(rows) + (0.4 if title else 0))
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, row, label in zip(axes, rows, labels, strict=True):
        _show(ax, image_grid(row, cols=len(row)), vmin=vmin, vmax=vmax)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def save_reconstructions(
    x, x_hat, path, title="test images (top) and reconstructions (bottom)", vmin=0.0, vmax=1.0
):
    """Writes test images above their reconstructions."""
    return save_rows([x, x_hat], ["input", "output"], path, title=title, vmin=vmin, vmax=vmax)


def save_denoising(clean, noisy, denoised, path, title="dropout-mask denoising"):
    """Writes clean / corrupted / denoised rows."""
    return save_rows(
        [clean, noisy, denoised], ["clean", "corrupted", "denoised"], path, title=title
    )


def save_kernels(kernel, path, image_shape=(28, 28), cols=None, scale=1):
    """Shows every column of a first-layer kernel (input_size, units) as an image.

    Each filter is scaled to its own [min, max], the usual way to show
    learned features (Vincent et al. 2008, the lecture's kernel comparison).
    The tiles are written pixel for pixel as an 8-bit greyscale PNG (no
    resampling, which would blur 500 small filters into noise).

    Args:
        kernel: array (prod(image_shape), units).
        path: the PNG to write.
        image_shape: the shape of one input image.
        cols: tiles per row (default: about 1.25 times the square root of units).
        scale: integer magnification of every pixel.
    """
    scale = check_positive_int("scale", scale)
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 2 or kernel.shape[0] != math.prod(image_shape):
        raise ValueError(
            f"kernel must have shape ({math.prod(image_shape)}, units) for {image_shape} "
            f"images, got {kernel.shape}"
        )
    filters = kernel.T
    lo = filters.min(axis=1, keepdims=True)
    hi = filters.max(axis=1, keepdims=True)
    filters = (filters - lo) / np.maximum(hi - lo, 1e-8)
    cols = cols or math.ceil(math.sqrt(len(filters)) * 1.25)
    return save_grid_png(image_grid(filters, cols=cols, image_shape=image_shape), path, scale)


def save_grid_png(grid, path, scale=1):
    """Writes a 2-D array in [0, 1] as an 8-bit greyscale PNG, pixel for pixel."""
    from PIL import Image

    grid = np.clip(np.asarray(grid, dtype=np.float32), 0.0, 1.0)
    if scale > 1:
        grid = np.kron(grid, np.ones((scale, scale), dtype=np.float32))
    path = Path(path)
    with atomic_output(path) as staged:
        Image.fromarray(np.round(grid * 255).astype(np.uint8), mode="L").save(
            staged, format="PNG", optimize=True
        )
    return path


def save_samples(images, path, title="samples from the prior", cols=None):
    """Writes a grid of generated images."""
    grid = image_grid(images, cols=cols)
    fig = _figure(max(3.0, grid.shape[1] / 40.0), max(3.0, grid.shape[0] / 40.0) + 0.3)
    _show(fig.add_subplot(1, 1, 1), grid, title=title)
    return save_figure(fig, path)


def manifold(model, n=20, extent=0.95):
    """Decodes an n x n grid over a 2-D latent space, spaced by normal quantiles.

    Args:
        model: a model with `latent_dim == 2` and `decode`.
        n: points per axis.
        extent: the grid runs over the `[1 - extent, extent]` quantiles of N(0, 1).

    Returns:
        `(images, z)` with images (n*n, ...) in grid order (rows: z2 high to low).
    """
    if getattr(model, "latent_dim", None) != 2:
        raise ValueError(
            "a 2-D manifold needs a model with latent_dim=2, got "
            f"{getattr(model, 'latent_dim', type(model).__name__)!r}"
        )
    n = check_positive_int("n", n)
    if not 0.5 < extent < 1.0:
        raise ValueError(
            "extent must be in (0.5, 1): the grid spans the [1 - extent, extent] "
            f"quantiles of N(0, 1); got {extent!r}"
        )
    values = [NormalDist().inv_cdf(q) for q in np.linspace(1.0 - extent, extent, n)]
    z = np.array([[z1, z2] for z2 in values[::-1] for z1 in values], dtype=np.float32)
    return model.decode(z), z


def save_manifold(model, path, n=20, title="decoded 2-D latent manifold"):
    """Writes the decoded grid of `manifold(model, n)`."""
    images, _ = manifold(model, n)
    return save_samples(images, path, title=title, cols=n)


def interpolate(model, a, b, steps=10):
    """Pixel-space and latent-space interpolations between images `a` and `b`.

    Returns:
        `(pixel, latent)`: `steps` images each; `pixel` blends the pixels,
        `latent` decodes the blend of the two codes.
    """
    steps = check_positive_int("steps", steps)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.shape != b.shape:
        raise ValueError(f"a and b must be two samples of one shape, got {a.shape} and {b.shape}")
    shape = (steps,) + (1,) * a.ndim
    pixel = (1 - t.reshape(shape)) * a[None] + t.reshape(shape) * b[None]
    pair = np.stack([a, b])
    model_shape = getattr(model, "input_shape_", None)
    if model_shape is not None and a.size == math.prod(model_shape):
        pair = pair.reshape((2,) + tuple(model_shape))  # (28, 28) images for a (784,) model too
    za, zb = model.encode(pair)
    zshape = (steps,) + (1,) * za.ndim
    latent = model.decode(
        ((1 - t.reshape(zshape)) * za[None] + t.reshape(zshape) * zb[None]).astype(np.float32)
    )
    return pixel, latent


def save_interpolation(
    model,
    pairs,
    path,
    steps=10,
    title="pixel-space (odd rows) vs latent-space (even rows) interpolation",
):
    """Writes, for each image pair, the pixel blend above the latent blend."""
    rows, labels = [], []
    for i, (a, b) in enumerate(pairs):
        pixel, latent = interpolate(model, a, b, steps)
        rows += [pixel, latent]
        labels += [f"pixels {i + 1}", f"latent {i + 1}"]
    return save_rows(rows, labels, path, title=title)


def _class_colours(n):
    """A colour map with a distinct colour per class: the qualitative tab10 /
    tab20 up to 20 classes; past that tab20 would repeat its colours, so a
    continuous map (turbo) spreads the classes over its hues."""
    return "tab10" if n <= 10 else "tab20" if n <= 20 else "turbo"


def save_codes(z, labels, path, title="test codes (first two dimensions)"):
    """Scatter plot of 2-D codes coloured by class (labels: numbers, names or
    None for one colour)."""
    z = check_array(z, None, "z")
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"z must be codes of shape (N, 2) or wider, got shape {z.shape}")
    fig = _figure(5, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], s=2)
    else:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(z):
            raise ValueError(f"labels must hold one class per code ({len(z)}), got {len(labels)}")
        classes, index = np.unique(labels, return_inverse=True)
        points = ax.scatter(
            z[:, 0],
            z[:, 1],
            c=index,
            s=2,
            vmin=-0.5,
            vmax=len(classes) - 0.5,
            cmap=_class_colours(len(classes)),
        )
        fig.colorbar(points, ax=ax, ticks=range(len(classes))).ax.set_yticklabels(
            [str(c) for c in classes]
        )
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)
