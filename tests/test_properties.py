"""Random shapes, dtypes and values through the models' public methods and the
corruptions: each call gives a correct result or a ValueError (NonFiniteError
is one), never another exception, and never a NaN or infinity from finite input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_ae import corruption, models

FEATURES = 12
LATENT = 3
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
DTYPES = ("uint8", "int32", "float16", "float32", "float64", "bool", "complex128")
VALUES = (0.0, 0.5, 1.0, -3.0, 250.0, 7e4, 1e300, -1e300, np.nan, np.inf, -np.inf)


@st.composite
def batches(draw, width=FEATURES):
    """`(array, finite)`: a batch of a random dtype, shape and values, and
    whether all its values are finite numbers once read as float32."""
    dtype = draw(st.sampled_from(DTYPES))
    rows = draw(st.integers(0, 4))
    cols = draw(st.sampled_from((width, width, width, 1, width + 1)))
    n = rows * cols
    if dtype == "bool":
        arr = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    elif dtype in ("uint8", "int32"):
        arr = np.array(draw(st.lists(st.integers(0, 255), min_size=n, max_size=n)), dtype)
    else:
        values = np.array(
            draw(st.lists(st.sampled_from(VALUES), min_size=n, max_size=n)), "float64"
        )
        with np.errstate(all="ignore"):
            arr = values.astype(dtype)
    arr = arr.reshape(rows, cols)
    with np.errstate(all="ignore"):
        finite = dtype != "complex128" and bool(np.isfinite(arr.astype("float32")).all())
    return arr, finite


@pytest.fixture(scope="module")
def built():
    """Small models of three kinds, built once for every example."""
    return {
        "ae": models.Autoencoder(
            input_shape=(FEATURES,), latent_dim=LATENT, output_activation="linear"
        ),
        "vae": models.VAE(input_shape=(FEATURES,), latent_dim=LATENT, hidden_units=(8,)),
        "hashing": models.SemanticHashingAE(
            input_shape=(FEATURES,), latent_dim=LATENT, hidden_units=(8,)
        ),
    }


def _outcome(call):
    """The call's result, or None for a ValueError; any other exception fails."""
    try:
        return call()
    except ValueError:
        return None


def _check(result, arr, finite, integers_refused=True):
    ok_input = (
        finite
        and arr.ndim == 2
        and len(arr) > 0
        and not (integers_refused and arr.dtype.kind in "iu")
    )
    if result is None:
        return
    assert ok_input, f"accepted {arr.dtype} {arr.shape} {arr.ravel()[:4]}"
    out = np.asarray(result)
    if out.dtype.kind == "f":
        assert np.isfinite(out).all(), "a NaN or infinity from finite input"


@SETTINGS
@given(
    data=batches(),
    kind=st.sampled_from(("ae", "vae", "hashing")),
    method=st.sampled_from(("encode", "reconstruct", "predict")),
)
def test_model_methods_on_random_batches(built, data, kind, method):
    arr, finite = data
    model = built[kind]
    fn = getattr(model, method)
    result = _outcome(lambda: fn(arr, verbose=0) if method == "predict" else fn(arr))
    _check(result, arr, finite and arr.shape[1:] == (FEATURES,))
    if result is not None:
        assert len(result) == len(arr)


@SETTINGS
@given(data=batches(width=LATENT), kind=st.sampled_from(("ae", "vae")))
def test_decode_on_random_codes(built, data, kind):
    arr, finite = data
    result = _outcome(lambda: built[kind].decode(arr))
    # Integer codes are codes, read as they are; a finite code too large for
    # the decoder's computation is refused (NonFiniteError), not returned.
    _check(result, arr, finite and arr.shape[1:] == (LATENT,), integers_refused=False)


@SETTINGS
@given(data=batches(), num_samples=st.sampled_from((1, 3, 0, -1, 2.5)))
def test_vae_log_likelihood_on_random_batches(built, data, num_samples):
    arr, finite = data
    result = _outcome(lambda: built["vae"].log_likelihood(arr, num_samples=num_samples))
    in_range = (
        finite
        and arr.size
        and np.nanmin(arr.astype("float64")) >= 0
        and (np.nanmax(arr.astype("float64")) <= 1)
    )
    _check(
        result,
        arr,
        bool(in_range)
        and arr.shape[1:] == (FEATURES,)
        and isinstance(num_samples, int)
        and num_samples > 0,
    )


@SETTINGS
@given(data=batches())
def test_hash_on_random_batches(built, data):
    arr, finite = data
    result = _outcome(lambda: built["hashing"].hash(arr))
    _check(result, arr, finite and arr.shape[1:] == (FEATURES,))
    if result is not None:
        assert result.dtype == np.uint8 and result.shape == (len(arr), 1)


@SETTINGS
@given(
    n=st.one_of(st.integers(-2, 6), st.sampled_from((10**12, 2.0, "3", None))),
    seed=st.one_of(st.none(), st.integers(-(2**70), 2**70), st.sampled_from((1.5, "0"))),
)
def test_vae_sample_with_random_arguments(built, n, seed):
    result = _outcome(lambda: built["vae"].sample(n, seed=seed))
    valid_n = isinstance(n, int) and 0 < n < 10**6
    valid_seed = seed is None or (isinstance(seed, int) and -(2**63) <= seed < 2**63)
    if result is None:
        assert not (valid_n and valid_seed), f"refused n={n!r}, seed={seed!r}"
        return
    assert valid_n and valid_seed
    assert result.shape == (n, FEATURES) and np.isfinite(result).all()


CORRUPTIONS = {
    "dropout": lambda x, p, s: corruption.dropout_mask(x, p, seed=s),
    "gaussian": lambda x, p, s: corruption.gaussian_noise(x, p, seed=s),
    "salt_and_pepper": lambda x, p, s: corruption.salt_and_pepper(x, p, seed=s),
    "missing": lambda x, p, s: corruption.random_missing(x, p, seed=s)[0],
    "block": lambda x, p, s: corruption.block_mask(x, 2, seed=s, value=p, image_shape=(2, 6)),
}


@SETTINGS
@given(
    data=batches(),
    kind=st.sampled_from(tuple(CORRUPTIONS)),
    param=st.sampled_from((0.0, 0.3, 0.99, 1.0, -0.5, 1e39, np.nan, np.inf, "0.5", None)),
    seed=st.one_of(st.integers(-(2**64), 2**64), st.sampled_from((None, 1.5))),
)
def test_corruptions_on_random_batches(data, kind, param, seed):
    arr, finite = data
    try:
        result = np.asarray(CORRUPTIONS[kind](arr, param, seed))
    except ValueError:
        return
    assert arr.dtype.kind != "c", "complex input accepted"
    assert isinstance(param, float) and np.isfinite(param)
    assert seed is None or (isinstance(seed, int) and -(2**63) <= seed < 2**63)
    assert result.shape == arr.shape
    if finite and arr.size:
        assert np.isfinite(result).all(), f"{kind} made a NaN or infinity from finite input"
