"""Exports never delete what they did not write, fail clearly on a full disk or
a bad path, and their runners check inputs as the Keras models do (issue 23).

One small untrained model (12 inputs) keeps these fast: what is tested is
file handling and input checks, not accuracy.
"""

import errno
import os
import shutil
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_ae import export
from keras_ae.export.signatures import build_archive
from keras_ae.models import Autoencoder


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return Autoencoder(input_shape=(12,), latent_dim=3, hidden_units=(8,), seed=0)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).random((40, 12)).astype("float32")


@pytest.fixture(scope="module")
def exports(model, x, tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    return {
        "saved_model": export.SavedModelRunner(export.export_saved_model(model, root / "sm")),
        "float": export.TFLiteModel(export.export_tflite(model, root / "f.tflite")),
        "int8": export.TFLiteModel(
            export.export_tflite(model, root / "q.tflite", quantize="int8", representative_data=x)
        ),
        "int8_io": export.TFLiteModel(
            export.export_tflite(
                model, root / "io.tflite", quantize="int8", representative_data=x, int8_io=True
            )
        ),
        "encoder": export.TFLiteModel(
            export.export_tflite(model, root / "e.tflite", part="encoder")
        ),
        "decoder": export.TFLiteModel(
            export.export_tflite(model, root / "d.tflite", part="decoder")
        ),
    }


def _listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


# ------------------------------------------------ never delete the user's files
def test_saved_model_export_keeps_a_folder_of_a_model_and_the_users_files(model, tmp_path):
    """A SavedModel folder with the user's NOTES.md and mydata/ was replaced
    whole: both were deleted."""
    target = tmp_path / "sm"
    export.export_saved_model(model, target)
    (target / "NOTES.md").write_text("keep me")
    (target / "mydata").mkdir()
    (target / "mydata" / "a.npy").write_bytes(b"data")
    before = _tree(target)
    with pytest.raises(
        ValueError,
        match=r"sm holds a SavedModel and other files that an export "
        r"does not write \(NOTES\.md, mydata/\).*move those",
    ):
        export.export_saved_model(model, target)
    assert _tree(target) == before
    assert (target / "NOTES.md").read_text() == "keep me"


def test_a_stray_saved_model_pb_does_not_get_the_folder_deleted(model, tmp_path):
    """A `saved_model.pb` next to `main.py` made the folder look like an
    earlier export: main.py was deleted."""
    (tmp_path / "saved_model.pb").write_bytes(b"stray")
    (tmp_path / "main.py").write_text("print('hello')")
    with pytest.raises(ValueError, match=r"other files that an export does not write \(main\.py\)"):
        export.export_saved_model(model, tmp_path)
    assert _tree(tmp_path) == ["main.py", "saved_model.pb"]


@pytest.mark.parametrize("extra", ["variables/notes.txt", "assets/vocab.txt"])
def test_files_inside_a_saved_models_own_folders_are_the_users_too(model, tmp_path, extra):
    target = tmp_path / "sm"
    export.export_saved_model(model, target)
    (target / extra).write_text("mine")
    with pytest.raises(ValueError, match=rf"other files .*\({extra}\)"):
        export.export_saved_model(model, target)
    assert (target / extra).read_text() == "mine"


def test_an_earlier_export_is_still_replaced(model, tmp_path):
    target = tmp_path / "sm"
    export.export_saved_model(model, target)
    export.export_saved_model(model, target)
    assert _listing(target) == ["assets", "fingerprint.pb", "saved_model.pb", "variables"]
    assert _listing(tmp_path) == ["sm"]  # no staging folder left


def test_files_added_while_exporting_are_kept(model, x, tmp_path, monkeypatch):
    """The target is checked again just before the swap: a file written into
    it during a long export or verification survives."""
    from keras_ae.export import verify

    target = tmp_path / "sm"
    export.export_saved_model(model, target)
    real = verify.verify_export

    def verify_while_user_writes(*args, **kwargs):
        (target / "NOTES.md").write_text("written meanwhile")
        return real(*args, **kwargs)

    monkeypatch.setattr(verify, "verify_export", verify_while_user_writes)
    with pytest.raises(ValueError, match=r"other files .*\(NOTES\.md\)"):
        export.export_saved_model(model, target, verify_data=x)
    assert (target / "NOTES.md").read_text() == "written meanwhile"
    assert _listing(tmp_path) == ["sm"]  # nothing staged left


def test_tflite_export_never_overwrites_another_kind_of_file(model, tmp_path):
    main = tmp_path / "main.py"
    main.write_text("print('hello')")
    with pytest.raises(ValueError, match=r"main\.py exists and is not a \.tflite model"):
        export.export_tflite(model, main)
    assert main.read_text() == "print('hello')"
    target = tmp_path / "m.tflite"
    target.touch()  # an empty file, or an earlier model, is replaced
    export.export_tflite(model, target)
    export.export_tflite(model, target)
    assert target.read_bytes()[4:8] == b"TFL3"


def test_export_refuses_a_symlink_target(model, tmp_path):
    """A link to the user's model would be replaced by a new file or folder."""
    real = tmp_path / "real.tflite"
    export.export_tflite(model, real)
    link = tmp_path / "link.tflite"
    link.symlink_to(real)
    with pytest.raises(ValueError, match=r"link\.tflite is a symbolic link \(to .*real\.tflite\)"):
        export.export_tflite(model, link)
    assert link.is_symlink()


def test_tflite_path_ending_in_a_separator_is_refused(model, tmp_path):
    """`export_tflite(m, "new/")` wrote a file named `new`."""
    target = str(tmp_path / "new") + "/"
    with pytest.raises(
        ValueError,
        match=r"ends in a separator, so it names a directory; give "
        r"the file to write, e\.g\. .*new/model\.tflite",
    ):
        export.export_tflite(model, target)
    assert _tree(tmp_path) == []
    (tmp_path / "existing").mkdir()
    with pytest.raises(ValueError, match=r"existing exists as a directory; expected a file"):
        export.export_tflite(model, tmp_path / "existing")


def test_saved_model_path_may_end_in_a_separator(model, tmp_path):
    result = export.export_saved_model(model, str(tmp_path / "sm") + "/")
    assert (tmp_path / "sm" / "saved_model.pb").is_file() and result.path == tmp_path / "sm"


# ------------------------------------------------------------- a full disk
@pytest.mark.parametrize(
    "error",
    [
        tf.errors.ResourceExhaustedError(
            None,
            None,
            "{{function_node __wrapped__SaveV2}} /x/.sm"
            ".partial/variables_temp/part-0; No space left on device",
        ),
        tf.errors.OutOfRangeError(
            None,
            None,
            "{{function_node __wrapped__SaveV2}} /x/.sm.partial/"
            "variables_temp/part-0; File too large [Op:SaveV2]",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["saved_model", "tflite"])
def test_a_full_disk_is_named_and_leaves_nothing(model, tmp_path, monkeypatch, error, fmt):
    """A full disk (or a file size limit) raised TensorFlow's error with a
    function_node dump naming the hidden staging file."""
    target = tmp_path / ("sm" if fmt == "saved_model" else "m.tflite")

    def write_out(archive, export_dir, *args, **kwargs):
        Path(export_dir).mkdir(parents=True, exist_ok=True)
        (Path(export_dir) / "saved_model.pb").write_bytes(b"half")
        raise error

    # (At the archive both exports write through: a patch of tf.saved_model.save
    # was not seen by Keras in every process.)
    monkeypatch.setattr(type(build_archive(model)), "write_out", write_out)
    fn = export.export_saved_model if fmt == "saved_model" else export.export_tflite
    with pytest.raises(
        OSError,
        match=rf"could not write the export to {target}: (no space left "
        r"on the device|a file grew past the size limit).*nothing "
        r"was written",
    ) as info:
        fn(model, target)
    assert info.value.errno in (errno.ENOSPC, errno.EFBIG)
    assert "function_node" not in str(info.value) and info.value.__suppress_context__
    assert _tree(tmp_path) == []


def test_a_full_tflite_write_is_named(model, tmp_path, monkeypatch):
    target = tmp_path / "m.tflite"

    def write_bytes(self, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(OSError, match=rf"could not write the export to {target}: no space left"):
        export.export_tflite(model, target)
    monkeypatch.undo()
    assert _tree(tmp_path) == []


def test_other_errors_pass_through(model, tmp_path, monkeypatch):
    def write_out(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    monkeypatch.setattr(type(build_archive(model)), "write_out", write_out)
    with pytest.raises(tf.errors.ResourceExhaustedError, match="OOM when allocating"):
        export.export_saved_model(model, tmp_path / "sm")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (root only, where mounts are allowed)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_really_full_disk(tmp_path, tiny_disk):
    big = Autoencoder(input_shape=(784,), latent_dim=32, hidden_units=(64,), seed=0)  # 400 KB
    (tiny_disk / "keep.txt").write_text("mine")
    for fn, name in ((export.export_saved_model, "sm"), (export.export_tflite, "m.tflite")):
        with pytest.raises(
            OSError,
            match=rf"could not write the export to {tiny_disk / name}: "
            "no space left on the device",
        ):
            fn(big, tiny_disk / name)
        assert _tree(tiny_disk) == ["keep.txt"]


# ------------------------------------------------------- loading what is not one
def test_saved_model_runner_on_a_folder_that_is_no_saved_model(exports, tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(
        ValueError,
        match=rf"{tmp_path} is not a SavedModel: expected a directory "
        r"holding saved_model\.pb .*found notes\.txt",
    ):
        export.SavedModelRunner(tmp_path)
    with pytest.raises(
        ValueError,
        match=r"no SavedModel at .*missing: expected a directory .*"
        "found nothing",
    ):
        export.SavedModelRunner(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"no SavedModel at .*notes\.txt.*found a file"):
        export.SavedModelRunner(tmp_path / "notes.txt")


@pytest.mark.parametrize("damage", ["garbage pb", "no variables", "truncated variables"])
def test_saved_model_runner_on_a_damaged_saved_model(exports, tmp_path, damage):
    target = tmp_path / "sm"
    shutil.copytree(exports["saved_model"].path, target)
    if damage == "garbage pb":
        (target / "saved_model.pb").write_bytes(b"garbage\x00\xff")
    elif damage == "no variables":
        shutil.rmtree(target / "variables")
    else:
        data = next((target / "variables").glob("variables.data-*"))
        data.write_bytes(data.read_bytes()[:3])
    with pytest.raises(
        ValueError,
        match=rf"the SavedModel at {target} could not be loaded, it is "
        "damaged or incomplete",
    ):
        export.SavedModelRunner(target)


def test_tflite_model_on_a_file_that_is_no_model(exports, tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(exports["float"].path.read_bytes()[:200])
    with pytest.raises(ValueError, match=rf"{bad} is not a valid \.tflite model"):
        export.TFLiteModel(bad)


# ------------------------------------------- runners check input as the model does
RUNNERS = ["keras", "saved_model", "float", "int8", "int8_io"]

BAD_INPUTS = {
    # (issue 23, item 8) int8 LiteRT turned NaN into finite garbage; float
    # LiteRT and SavedModelRunner passed it through.
    "nan": (np.full((2, 12), np.nan, "float32"), r"x contains 24 NaN or infinite value"),
    "inf": (np.full((2, 12), -np.inf), r"x contains 24 NaN or infinite value"),
    # (item 5) finite in float64, infinite once cast to float32.
    "1e300": (np.full((2, 12), 1e300), r"x holds values up to 1e\+300 .* range of float32"),
    # (item 6) uint8 pixels were read as floats 0-255, int 0/1 as floats.
    "uint8": (np.full((2, 12), 255, np.uint8), r"x has integer dtype uint8"),
    "int64": (np.ones((2, 12), np.int64), r"x has integer dtype int64"),
    "complex": (np.ones((2, 12), np.complex64), r"x must hold real numbers, got complex"),
    "empty": (np.zeros((0, 12), "float32"), r"x is empty \(shape \(0, 12\)\)"),
    "scalar": (np.float32(3), r"x must be a batch of samples"),
    "none": (None, r"x must (have a numeric dtype|be a numpy array)"),
    "wrong shape": (np.zeros((2, 11), "float32"), r"shape .*\(2, 11\)"),
}


def _runner(name, model, exports):
    return model if name == "keras" else exports[name]


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("runner", RUNNERS)
def test_runners_refuse_what_the_keras_model_refuses(model, exports, runner, case):
    data, message = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=message):
        _runner(runner, model, exports).reconstruct(data)


def test_shape_errors_name_the_expected_shape(exports):
    with pytest.raises(
        ValueError,
        match=r"the 'encode' signature takes batches of shape "
        r"\(n, 12\), got \(2, 11\)",
    ):
        exports["saved_model"].encode(np.zeros((2, 11), "float32"))
    with pytest.raises(
        ValueError,
        match=r"q\.tflite \(full\) takes batches of shape \(n, 12\), "
        r"got \(2, 3, 4\)",
    ):
        exports["int8"].reconstruct(np.zeros((2, 3, 4), "float32"))


@pytest.mark.parametrize("runner", ["keras", "saved_model", "decoder"])
def test_decoders_take_integer_codes_as_values_and_refuse_nan(model, exports, runner):
    run = _runner(runner, model, exports)
    codes = np.array([[0, 1, 1], [1, 0, 2]])
    np.testing.assert_allclose(run.decode(codes), run.decode(codes.astype("float32")))
    with pytest.raises(ValueError, match=r"z contains 1 NaN or infinite value"):
        run.decode(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"z holds values up to 1e\+200 .* float32"):
        run.decode(np.full((1, 3), 1e200))


def test_runners_agree_with_the_model_on_good_input(model, exports, x):
    want = model.reconstruct(x)
    for name in ("saved_model", "float"):
        np.testing.assert_allclose(exports[name].reconstruct(x.astype("float64")), want, atol=1e-5)
    binary = x > 0.5  # bool is 0/1, as in the Keras model
    np.testing.assert_allclose(
        exports["float"].reconstruct(binary), model.reconstruct(binary), atol=1e-5
    )
    codes = exports["encoder"].encode(x)
    np.testing.assert_allclose(exports["decoder"].decode(codes), model.decode(codes), atol=1e-5)
    io = exports["int8_io"]
    scale, zero = io._input["quantization"]
    quantized = np.clip(np.round(x / scale) + zero, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(io.reconstruct(quantized), io.reconstruct(x))  # its own codes


def test_export_data_arguments_follow_the_same_rule(model, x, tmp_path):
    """representative_data of uint8 pixels calibrated an int8 file on 0-255,
    and verify_data of 1e300 (float64) became infinities after the check."""
    with pytest.raises(ValueError, match=r"representative_data has integer dtype uint8"):
        export.export_tflite(
            model,
            tmp_path / "q.tflite",
            quantize="int8",
            representative_data=(x * 255).astype(np.uint8),
        )
    with pytest.raises(ValueError, match=r"verify_data holds values up to 1e\+300"):
        export.export_saved_model(model, tmp_path / "sm", verify_data=np.full((2, 12), 1e300))
    codes = np.random.default_rng(0).integers(0, 2, (40, 3))  # integer codes are values
    export.export_tflite(
        model, tmp_path / "d.tflite", part="decoder", quantize="int8", representative_data=codes
    )
    assert _listing(tmp_path) == ["d.tflite"]


def test_a_non_finite_output_is_an_error(tmp_path):
    """Finite input that overflows inside the exported graph gives a
    NonFiniteError naming the export, as the Keras model's own does."""
    from keras_ae.models.finite import NonFiniteError

    huge = Autoencoder(
        input_shape=(4,), latent_dim=2, hidden_units=(), seed=0, output_activation="linear"
    )
    huge.set_weights([np.full(w.shape, 1e30, "float32") for w in huge.get_weights()])
    x = np.ones((2, 4), "float32")
    runners = [
        export.SavedModelRunner(export.export_saved_model(huge, tmp_path / "sm")),
        export.TFLiteModel(export.export_tflite(huge, tmp_path / "h.tflite")),
    ]
    for runner in runners:
        with pytest.raises(NonFiniteError, match=r"gave \d+ NaN or infinite value"):
            runner.reconstruct(x)


def test_sample_refuses_seeds_and_sizes_it_cannot_take(tmp_path):
    from keras_ae.models import VAE

    runner = export.SavedModelRunner(
        export.export_saved_model(
            VAE(input_shape=(4,), latent_dim=2, hidden_units=(), seed=0), tmp_path / "vae"
        )
    )
    with pytest.raises(ValueError, match=r"seed must be two integers in \[-2\*\*63"):
        runner.sample(2, seed=np.array([2**63, 0], np.uint64))  # wrapped to -2**63 before
    with pytest.raises(ValueError, match=r"n must be at most 2\*\*31 - 1 .* got 4294967296"):
        runner.sample(2**32)
    assert runner.sample(3, seed=(1, 2)).shape == (3, 4)


@pytest.mark.parametrize("tolerance", [float("inf"), float("nan"), True, "0.1"])
def test_verify_export_refuses_a_tolerance_that_checks_nothing(model, x, exports, tolerance):
    """An infinite tolerance passed every export unchecked; True read as 1."""
    with pytest.raises(ValueError, match=r"tolerance must be a (finite )?number"):
        export.verify_export(model, exports["float"], x, tolerance=tolerance)


@pytest.mark.parametrize("threads", [0, -1, "2", 2.5, True])
def test_tflite_model_names_a_bad_thread_count(exports, threads):
    """LiteRT's own error about num_threads read as a damaged file."""
    with pytest.raises(
        ValueError,
        match=rf"num_threads must be a positive integer, got "
        rf"{threads!r}",
    ):
        export.TFLiteModel(exports["float"].path, num_threads=threads)


@pytest.mark.parametrize("path", [None, 5, b"m.tflite"])
def test_a_path_that_is_no_path_is_named(model, path):
    """os.fspath's TypeError named no argument."""
    message = r"path must be a str or os.PathLike naming a file or directory, got"
    for call in (
        lambda: export.export_tflite(model, path),
        lambda: export.export_saved_model(model, path),
        lambda: export.SavedModelRunner(path),
        lambda: export.TFLiteModel(path),
    ):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("runner", ["int8", "int8_io"])
def test_int8_files_refuse_data_far_outside_their_calibration(exports, x, runner):
    """Quantization clipped 0-255 floats given to a file calibrated on [0, 1]
    to its top level: finite garbage, no word why."""
    lite = exports[runner]
    low, high = lite.input_range
    assert low <= 0.0 and 0.95 <= high <= 1.05  # what x spans
    with pytest.raises(
        ValueError,
        match=r"x holds values in \[0, 255\], far outside \[.*\], "
        r"the range (q|io)\.tflite's int8 input was "
        "calibrated on",
    ):
        lite.reconstruct(np.linspace(0, 255, 24).reshape(2, 12))
    assert np.isfinite(lite.reconstruct(x * 1.5)).all()  # past the range, not far: clipped
    assert exports["float"].input_range is None


# ------------------------------------------------- property: runner == model
DTYPES = ("uint8", "int8", "int64", "float16", "float32", "float64", "bool", "complex64")
VALUES = (0.0, 0.25, 1.0, -2.0, 250.0, 7e4, 1e30, 1e300, -1e300, np.nan, np.inf, -np.inf)


@st.composite
def _batches(draw):
    dtype = draw(st.sampled_from(DTYPES))
    rows, cols = draw(st.integers(0, 3)), draw(st.sampled_from((12, 12, 12, 11, 1)))
    n = rows * cols
    if dtype == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool).reshape(
            rows, cols
        )
    if "int" in dtype:
        info = np.iinfo(dtype)
        values = draw(
            st.lists(st.integers(max(info.min, -300), min(info.max, 300)), min_size=n, max_size=n)
        )
        return np.array(values, dtype).reshape(rows, cols)
    values = np.array(draw(st.lists(st.sampled_from(VALUES), min_size=n, max_size=n)), "float64")
    with np.errstate(all="ignore"):
        return values.astype(dtype).reshape(rows, cols)


def _outcome(fn, x):
    try:
        return fn(x)
    except ValueError as err:  # NonFiniteError is one; any other type fails the test
        return err


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(x=_batches())
def test_runners_give_the_models_answer_or_its_error(model, exports, x):
    """Random dtypes, shapes and values: each runner refuses (ValueError) what
    the Keras model refuses, and otherwise gives a finite output close to the
    model's; only an int8 file may refuse more (input far outside its
    calibration), and only the int8-I/O file takes int8 arrays (its own codes)."""
    want = _outcome(model.reconstruct, x)
    for name in ("saved_model", "float", "int8", "int8_io"):
        got = _outcome(exports[name].reconstruct, x)
        if name == "int8_io" and x.dtype == np.int8 and x.shape[1:] == (12,) and len(x):
            assert np.isfinite(got).all() and got.shape == x.shape
            continue
        if isinstance(want, ValueError):
            assert isinstance(got, ValueError), f"{name} accepted what Keras refused: {want}"
        elif isinstance(got, ValueError):
            assert name.startswith("int8") and "calibrated on" in str(got), got
        else:
            assert got.dtype == np.float32 and got.shape == want.shape
            assert np.isfinite(got).all()
            np.testing.assert_allclose(
                got, want, atol=1e-5 if name in ("saved_model", "float") else 0.1
            )


def test_a_model_litert_cannot_convert_gets_one_clear_error(tmp_path):
    """An LSTM decoder (TensorList ops) failed with the converter's MLIR dump."""
    from keras_ae import models

    model = models.Autoencoder(input_shape=(10, 3), latent_dim=4, network="lstm", hidden_units=(8,))
    with pytest.raises(ValueError, match=r"LiteRT cannot convert part='full' .*SavedModel"):
        export.export_tflite(model, tmp_path / "lstm.tflite")
    assert list(tmp_path.iterdir()) == []
