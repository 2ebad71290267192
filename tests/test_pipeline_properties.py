"""Property tests: random shapes, dtypes, values and settings through `preprocess`
and `make_dataset`.

Each call either returns the documented result (float32, finite, in the promised
range, equal to a float64 reference of the rule) or raises a ValueError whose
message names one of the problems the input has; it never returns a non-finite
value, never succeeds on input the rule refuses, and never raises another type.
"""

import re

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_ae import datasets

DTYPES = (
    "uint8",
    "uint16",
    "uint32",
    "int16",
    "int32",
    "float16",
    "float32",
    "float64",
    "bool",
    "complex64",
)
F32_MAX = float(np.finfo(np.float32).max)
SETTINGS = settings(
    max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def arrays(draw):
    """Any of `DTYPES` and shapes of rank 0-4; floats either in [0, 1] (valid
    intensities) or anything the dtype holds (NaN, infinities, huge, negative)."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if draw(st.integers(0, 7)):  # mostly batches; sometimes a scalar, a vector or empty
        shape = draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4))
    else:
        shape = draw(st.sampled_from([(), (3,), (0, 2), (0, 2, 2)]))
    if dtype.kind == "f" and draw(st.integers(0, 2)):
        elements = st.floats(0, 1, width=8 * dtype.itemsize)
    elif dtype == np.float64 and draw(st.booleans()):
        elements = st.sampled_from([1e300, -1e39, 3e38, np.nan, -np.inf, 0.5, -2.0])
    else:
        elements = hnp.from_dtype(dtype)
    return draw(hnp.arrays(dtype, shape, elements=elements))


thresholds = st.one_of(
    st.floats(0, 1, exclude_max=True),
    st.sampled_from([0.5, 0.5, 0.0, 1.0, 2.0, -0.1, np.nan, np.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
)
layouts = st.sampled_from(
    [(False, False)] * 3 + [(True, False)] * 2 + [(False, True)] * 2 + [(True, True)]
)


def problems(x, scale, binarize, flatten, channels, threshold, pipeline, seed=None):
    """Patterns of the errors the documented rule gives for this call (empty: it must work)."""
    out = []
    if flatten and channels:
        out.append("exclude each other")
    if not (np.isfinite(threshold) and 0 <= threshold < 1):
        out.append("threshold must be")
    if binarize == "dynamic" and not pipeline:
        out.append("needs make_dataset")
    if seed is not None and not -(2**63) <= seed < 2**63:
        out.append("seed must be")
    if x.dtype.kind == "c":
        return out + ["is complex"]
    if x.ndim < 2:
        return out + ["batch of samples"]
    if pipeline and not len(x):
        out.append("is empty")
    intensity = scale is not None or binarize is not None
    if intensity and x.dtype.kind == "i":
        out.append("signed integer dtype")
    if x.dtype.kind == "f" and x.size:
        values = x.astype(np.float64)
        if not np.isfinite(values).all():
            out.append("NaN or infinite")
        elif intensity and (values.min() < -1e-6 or values.max() > 1 + 1e-6):
            out.append("float array with values in")
        elif np.abs(values).max() > F32_MAX:
            out.append("beyond float32's range")
    return out


def check(call, x, expected, scale, binarize, flatten, channels, threshold):
    """Runs `call`; asserts the error or the result the rule gives."""
    event(f"refused: {expected[0]}" if expected else f"accepted {x.dtype}")
    try:
        out = call()
    except ValueError as e:
        assert expected, f"refused input the rule accepts: {e}"
        assert any(re.search(p, str(e)) for p in expected), (str(e), expected)
        return
    assert not expected, f"accepted input the rule refuses ({expected})"
    assert out.dtype == np.float32 and np.isfinite(out).all()
    ref = x.astype(np.float64)
    if scale is not None or binarize is not None:
        if x.dtype.kind == "u":
            ref = ref / np.iinfo(x.dtype).max
        assert ((0 <= out) & (out <= 1) | (scale == "symmetric")).all()
        if binarize is not None:
            binary = out if scale != "symmetric" else (out + 1) / 2
            assert np.isin(binary, (0, 1)).all()
            sure = np.abs(ref - (threshold if binarize == "static" else 0.5)) > 1e-6
            if binarize == "static":
                np.testing.assert_array_equal(
                    binary.reshape(ref.shape)[sure], (ref > threshold)[sure]
                )
            else:  # a Bernoulli draw: 0 and 1 intensities are certain
                np.testing.assert_array_equal(binary.reshape(ref.shape)[ref == 0], 0)
                np.testing.assert_array_equal(binary.reshape(ref.shape)[ref == 1], 1)
            return
        if scale == "symmetric":
            ref = 2 * ref - 1
            assert ((-1 <= out) & (out <= 1)).all()
    shape = ref.shape
    if flatten:
        shape = (len(ref), int(np.prod(ref.shape[1:])))
    elif channels and ref.ndim == 3:
        shape = ref.shape + (1,)
    assert out.shape == shape
    np.testing.assert_allclose(out.reshape(ref.shape), ref, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(
    x=arrays(),
    scale=st.sampled_from(datasets.pipeline.SCALES),
    binarize=st.sampled_from(datasets.pipeline.BINARIZE),
    layout=layouts,
    threshold=thresholds,
)
def test_preprocess_gives_the_rule_or_a_value_error(x, scale, binarize, layout, threshold):
    flatten, channels = layout
    kwargs = {
        "scale": scale,
        "binarize": binarize,
        "flatten": flatten,
        "channels": channels,
        "threshold": threshold,
    }
    expected = problems(x, pipeline=False, **kwargs)
    check(lambda: datasets.preprocess(x, **kwargs), x, expected, **kwargs)


@SETTINGS
@given(
    x=arrays(),
    scale=st.sampled_from(datasets.pipeline.SCALES),
    binarize=st.sampled_from(datasets.pipeline.BINARIZE),
    layout=layouts,
    threshold=thresholds,
    batch_size=st.integers(1, 5),
    seed=st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-(2**80), 2**80)),
)
def test_make_dataset_gives_the_rule_or_a_value_error(
    x, scale, binarize, layout, threshold, batch_size, seed
):
    flatten, channels = layout
    kwargs = {
        "scale": scale,
        "binarize": binarize,
        "flatten": flatten,
        "channels": channels,
        "threshold": threshold,
    }
    expected = problems(x, pipeline=True, seed=seed, **kwargs)

    def run():
        ds = datasets.make_dataset(x, batch_size=batch_size, shuffle=False, seed=seed, **kwargs)
        batches = [np.asarray(b) for b in ds]
        assert all(len(b) <= batch_size for b in batches)
        return np.concatenate(batches)

    check(run, x, expected, **kwargs)
