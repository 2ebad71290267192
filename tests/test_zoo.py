"""The pretrained zoo: every entry re-measured against its card, and loading rules."""

import hashlib
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import check_more_samples_not_lower

from keras_ae import zoo
from keras_ae.models import VAE, Autoencoder, ConditionalVAE, SparseAutoencoder
from keras_ae.zoo import entry, registry
from keras_ae.zoo import protocols as zp

NAMES = zoo.list_models()
KERNEL_CARDS = ("ae500_mnist", "dae500_dropout_mnist", "sparse_l1_mnist", "sparse_kl_mnist")


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_entry(root, name, latent_dim=4, config=None):
    """Writes, by hand, a small entry of one's own (untrained Autoencoder) under
    `root`: the least an entry holds (metadata.json with its files' sha256)."""
    folder = root / name
    folder.mkdir(parents=True)
    model = Autoencoder(input_shape=(784,), latent_dim=latent_dim, seed=0)
    (folder / "config.json").write_text(
        json.dumps(config or keras.saving.serialize_keras_object(model))
    )
    model.save_weights(str(folder / "model.weights.h5"))
    files = {p.name: digest(p) for p in folder.iterdir()}
    (folder / "metadata.json").write_text(json.dumps({"name": name, "files": files}))
    return folder, model


@pytest.fixture
def tiny_zoo(tmp_path, monkeypatch):
    root = tmp_path / "zoo"
    for name in ("vae_tiny", "deep_tiny", "deep_small"):
        make_entry(root, name)
    monkeypatch.setenv(registry.ENV_ZOO_DIR, str(root))
    return root


# ------------------------------------------------------------ the real zoo
def test_zoo_has_every_issue_entry():
    expected = {
        "ae_tanh30_mnist",
        "ae500_mnist",
        "dae500_dropout_mnist",
        "tied_linear30_mnist",
        "deep_ae16_mnist",
        "deep_ae30_mnist",
        "conv_ae16_mnist",
        "conv_ae32_fashion",
        "deep_ae32_fashion",
        "sparse_l1_mnist",
        "sparse_kl_mnist",
        "cae30_mnist",
        "ae_sigmoid30_mnist",
        "conv_dae_mnist",
        "vae50_mnist",
        "vae2_mnist",
        "conv_vae32_fashion",
        "conv_ae64_cifar",
        "conv_ae256_cifar",
        "conv_dae_cifar",
        "conv_vae128_cifar",
        "cvae_mnist",
        "cvae_fashion",
        "vqvae_mnist",
        "vqvae_fashion",
        "iwae2_mnist",
    }
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_entry_reproduces_its_card(name, shared_data):
    """Loads the entry (checksums verified) and re-measures every CI figure."""
    results = zoo.evaluate(name, quick=True, data_dir=shared_data)
    assert results, f"{name} has no figure that CI re-measures"
    for r in results:
        assert r["ok"], (
            f"{name}: {r['name']} measured {r['measured']:.6f}, card says "
            f"{r['card']:.6f} (tolerance {r['tolerance']})"
        )


@pytest.mark.parametrize("name", NAMES)
def test_entry_files_and_card(name):
    meta = zoo.info(name)
    folder = zoo.entry_dir(name)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert size <= entry.MAX_ENTRY_BYTES
    on_disk = {p.name for p in folder.iterdir() if p.is_file()} - {"metadata.json"}
    assert set(meta["files"]) == on_disk  # every other file is checksummed
    for key in ("variant", "dataset", "preprocessing", "parameters", "training", "versions"):
        assert key in meta
    assert meta["training"]["command"].startswith("python scripts/train_zoo.py")
    card = (folder / "README.md").read_text()
    # issue 26: a command that works after pip install, an intended use, a license
    assert f"`keras-ae zoo evaluate {name}`" in card and "scripts/evaluate_zoo" not in card
    assert "\n## Intended use\n" in card and "\n## License\n" in card
    pngs = [f for f in meta["files"] if f.endswith(".png")]
    assert pngs and all(f"]({png})" in card for png in pngs)
    for m in meta["metrics"]:
        assert m["name"] in card
        if "bar" in m:  # a missed bar is shown as missed, never hidden
            assert zp.bar_met(m["value"], m["bar"]) == m["met"]
            assert ("**missed**" in card) == any(
                not x["met"] for x in meta["metrics"] if "bar" in x
            )


def test_whole_zoo_under_40_mb():
    total = sum(p.stat().st_size for p in zoo.zoo_dir().rglob("*") if p.is_file())
    assert total <= entry.MAX_ZOO_BYTES


@pytest.mark.parametrize("name", [n for n in KERNEL_CARDS if n in NAMES])
def test_overcomplete_cards_show_kernels(name):
    model = zoo.load(name)
    assert "kernels.png" in zoo.info(name)["files"]
    assert model.encoder.get_layer("code").kernel.shape[1] in (500, 1024)


def test_from_preset_checks_the_class():
    name = zoo.list_models("vae*")[0]
    assert isinstance(VAE.from_preset(name), VAE)
    with pytest.raises(ValueError, match="not a SparseAutoencoder"):
        SparseAutoencoder.from_preset(name)


@pytest.mark.parametrize("name", NAMES)
def test_loaded_entry_holds_the_arrays_of_its_weights_file(name):
    """Every array of model.weights.h5, read here with h5py, is one variable of
    the loaded model, value for value (float16 files: the float16 values)."""
    import h5py

    model = zoo.load(name)
    stored = []
    with h5py.File(zoo.entry_dir(name) / entry.WEIGHTS, "r") as f:
        f.visititems(
            lambda key, item: stored.append(item[()]) if isinstance(item, h5py.Dataset) else None
        )
    assert len(stored) == len(model.weights)

    def key(a):
        a = np.asarray(a)
        return (a.shape, a.astype(np.float64 if a.dtype.kind == "f" else a.dtype).tobytes())

    assert sorted(map(key, stored)) == sorted(
        key(keras.ops.convert_to_numpy(v)) for v in model.weights
    )


# --------------------------------------------------------------- the rules
def test_list_models_filters(tiny_zoo):
    assert zoo.list_models() == ["deep_small", "deep_tiny", "vae_tiny"]
    assert zoo.list_models("vae*") == ["vae_tiny"]
    assert zoo.list_models("deep_*") == ["deep_small", "deep_tiny"]
    assert zoo.list_models("nothing*") == []
    (tiny_zoo / "not_an_entry").mkdir()  # a folder without metadata.json is no entry
    assert "not_an_entry" not in zoo.list_models()


def test_load_gives_the_saved_model(tiny_zoo):
    _, expected = make_entry(tiny_zoo, "fresh", latent_dim=3)
    model = zoo.load("fresh")
    assert type(model) is Autoencoder and model.latent_dim == 3
    x = np.random.default_rng(1).random((3, 784)).astype("float32")
    np.testing.assert_array_equal(model.reconstruct(x), expected.reconstruct(x))


def test_unknown_name_lists_closest(tiny_zoo):
    with pytest.raises(zoo.ZooError, match="deep_tiny") as info:
        zoo.load("deep_tiyn")
    assert "did you mean" in str(info.value)
    with pytest.raises(zoo.ZooError, match="unknown zoo model"):
        zoo.info("zzzz")


@pytest.mark.parametrize(
    "bad", ["../x", "..", "a/b", "deep_tiny/../deep_tiny", "/etc/passwd", ".hidden", ""]
)
def test_path_like_names_are_refused(tiny_zoo, bad):
    with pytest.raises(zoo.ZooError):
        zoo.load(bad)


def test_flipped_byte_in_weights_names_the_file(tiny_zoo, tmp_path):
    copy = tiny_zoo / "deep_copy"
    shutil.copytree(tiny_zoo / "deep_tiny", copy)
    weights = copy / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(zoo.ChecksumError, match="model.weights.h5"):
        zoo.load("deep_copy")
    zoo.load("deep_tiny")  # the original still loads


def test_changed_config_is_refused_before_reading(tiny_zoo):
    config = tiny_zoo / "vae_tiny" / "config.json"
    config.write_text(config.read_text().replace('"latent_dim": 4', '"latent_dim": 5'))
    with pytest.raises(zoo.ChecksumError, match="config.json"):
        zoo.load("vae_tiny")


def test_missing_file_is_named(tiny_zoo):
    (tiny_zoo / "vae_tiny" / "model.weights.h5").unlink()
    with pytest.raises(zoo.ChecksumError, match="model.weights.h5.*missing"):
        zoo.load("vae_tiny")


def test_config_of_a_foreign_class_is_refused(tmp_path, monkeypatch):
    lam = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "registered_name": "Lambda",
        "config": {"function": "print"},
    }
    make_entry(tmp_path, "evil", config=lam)
    monkeypatch.setenv(registry.ENV_ZOO_DIR, str(tmp_path))
    with pytest.raises(zoo.ZooError, match="expected a keras_ae model"):
        zoo.load("evil")


def test_metric_tolerance_and_bars():
    assert zp.within(1.001, 1.0, {"rel": 0.002})
    assert not zp.within(1.01, 1.0, {"rel": 0.002})
    assert not zp.within(float("nan"), 1.0, {"abs": 1.0})
    assert zp.bar_met(0.06, {"op": "within", "value": 0.05, "margin": 0.02})
    assert not zp.bar_met(0.08, {"op": "within", "value": 0.05, "margin": 0.02})
    assert zp.bar_met(-86.0, {"op": ">=", "value": -86.76})
    assert not zp.bar_met(-89.0, {"op": ">=", "value": -86.76})


def test_static_binarize_is_a_fixed_bernoulli_draw():
    x = np.full((200, 784), 0.3, dtype="float32")
    a, b = zp.static_binarize(x, 123), zp.static_binarize(x, 123)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, 1.0}
    assert abs(a.mean() - 0.3) < 0.01
    assert not np.array_equal(a, zp.static_binarize(x, 124))


def test_links_and_unlisted_files_are_refused(tiny_zoo, tmp_path):
    """Every listed file was checked, but a symbolic link (to a file outside
    the entry) and files metadata.json does not list passed unnoticed."""
    outside = tmp_path / "weights_elsewhere.h5"
    shutil.copy(tiny_zoo / "deep_tiny" / "model.weights.h5", outside)
    linked = tiny_zoo / "deep_tiny" / "model.weights.h5"
    linked.unlink()
    linked.symlink_to(outside)
    with pytest.raises(zoo.ZooError, match=r"model\.weights\.h5: a symbolic link"):
        zoo.load("deep_tiny")
    (tiny_zoo / "vae_tiny" / "evil.py").write_text("print('hi')")
    with pytest.raises(zoo.ZooError, match=r"evil\.py: not listed in metadata\.json"):
        zoo.load("vae_tiny")
    zoo.load("deep_small")  # an untouched entry still loads


def test_a_config_that_cannot_build_names_the_file(tmp_path, monkeypatch):
    config = keras.saving.serialize_keras_object(Autoencoder(input_shape=(784,), latent_dim=4))
    config["config"]["units"] = 3
    make_entry(tmp_path, "odd", config=config)
    monkeypatch.setenv(registry.ENV_ZOO_DIR, str(tmp_path))
    with pytest.raises(
        zoo.ZooError,
        match=r"odd/config\.json: cannot build the "
        r"'keras_ae>Autoencoder'.*units",
    ):
        zoo.load("odd")


def test_vae_log_likelihood_against_integrating_the_2d_code_on_a_grid(shared_data):
    """vae2_mnist's code is 2-D, so log p(x) = log ∫ p(x|z) N(z; 0, I) dz can be
    summed on a grid: the importance-sampled estimate must not lie above it, and
    matches it where q(z|x) covers the posterior; where the posterior has a mode
    q misses it is several nats low (what VAE.log_likelihood's docstring says)."""
    from scipy.special import logsumexp

    from keras_ae import datasets

    (_, _), (x_test, _) = datasets.load_mnist(shared_data)
    x = zp.static_binarize((x_test.reshape(len(x_test), -1) / 255.0).astype("float32"), 123)[:8]
    vae = zoo.load("vae2_mnist")
    grid = np.linspace(-5.0, 5.0, 201)
    z = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2).astype("float32")
    p = np.clip(vae.decode(z).astype("float64"), 1e-7, 1 - 1e-7)
    log_prior = -0.5 * np.sum(z.astype("float64") ** 2, axis=1) - np.log(2 * np.pi)
    exact = np.array(
        [logsumexp(np.log(p) @ xi + np.log1p(-p) @ (1 - xi) + log_prior) for xi in x]
    ) + 2 * np.log(grid[1] - grid[0])
    zp.reseed(vae, 0)
    gap = vae.log_likelihood(x, num_samples=1000) - exact
    assert np.all(gap < 0.3), gap  # a lower bound in expectation
    assert np.sum(np.abs(gap) < 0.3) >= 5, gap  # exact where q covers the posterior
    assert np.min(gap) < -3.0, gap  # ... and far low where it misses a mode


def test_two_layer_log_likelihood_at_50000_samples_is_not_below_5000(shared_data):
    """iwae2_mnist's card figure is a k=5000 estimate: on the first binarized
    test images k=50,000 (which can only be higher in expectation) is not
    lower, so the card is not inflated by a lucky draw at k=5000."""
    from keras_ae import datasets

    (_, _), (x_test, _) = datasets.load_mnist(shared_data)
    x = zp.static_binarize((x_test.reshape(len(x_test), -1) / 255.0).astype("float32"), 123)[:4]
    estimates, more = check_more_samples_not_lower(zoo.load("iwae2_mnist"), x)
    assert np.all(estimates > -200), estimates  # a trained model, not a fresh one


# ------------------------------------------------ the manifest and tampering
def rehash(folder):
    """Recomputes an entry's metadata.json hashes, as a tamperer would."""
    meta = json.loads((folder / "metadata.json").read_text())
    meta["files"] = {p.name: digest(p) for p in folder.iterdir() if p.name != "metadata.json"}
    (folder / "metadata.json").write_text(json.dumps(meta))


@pytest.fixture
def pinned_zoo(tiny_zoo):
    for name in ("vae_tiny", "deep_tiny", "deep_small"):
        entry.pin_entry(tiny_zoo, name)
    return tiny_zoo


def test_bundled_manifest_pins_every_entry_as_it_is():
    """A retrain that forgot to record its entry in MANIFEST.json fails here."""
    root = registry.bundled_dir()
    on_disk = {
        p.name
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "metadata.json").exists()
    }
    pins = json.loads((root / entry.MANIFEST).read_text())
    assert set(pins) == on_disk
    for name, pin in pins.items():
        assert digest(root / name / "metadata.json") == pin, name


def test_changed_weights_with_recomputed_hashes_are_refused_by_name(pinned_zoo):
    """Used to load: the metadata's own hashes were all that was checked."""
    folder = pinned_zoo / "deep_tiny"
    other = Autoencoder(input_shape=(784,), latent_dim=4, seed=1)
    other.save_weights(str(folder / "model.weights.h5"))
    rehash(folder)
    entry.verify_entry(folder)  # consistent in itself ...
    with pytest.raises(
        zoo.ChecksumError,
        match=r"deep_tiny/metadata\.json: sha256 .* pinned "
        r"in the zoo's MANIFEST\.json",
    ):
        zoo.load("deep_tiny")
    with pytest.raises(zoo.ChecksumError, match="pinned"):
        zoo.info("deep_tiny")
    # ... and loaded by path, the folder is trusted as what it is
    x = np.random.default_rng(0).random((2, 784)).astype("float32")
    np.testing.assert_array_equal(zoo.load_entry(folder).reconstruct(x), other.reconstruct(x))
    zoo.load("deep_small")  # an untouched entry still loads


def test_entry_folder_linked_out_of_the_zoo_is_refused(pinned_zoo, tmp_path):
    """A symlink `zoo/<name>` to a folder elsewhere used to load as the entry."""
    elsewhere, _ = make_entry(tmp_path / "elsewhere", "deep_tiny", latent_dim=2)
    shutil.rmtree(pinned_zoo / "deep_tiny")
    (pinned_zoo / "deep_tiny").symlink_to(elsewhere, target_is_directory=True)
    entry.pin_entry(pinned_zoo, "deep_tiny")  # even pinned, the link is refused
    with pytest.raises(zoo.ZooError, match=r"deep_tiny: a symbolic link"):
        zoo.load("deep_tiny")
    with pytest.raises(zoo.ZooError, match="a symbolic link"):
        zoo.info("deep_tiny")
    assert zoo.load_entry(elsewhere).latent_dim == 2  # by path, it is what it is


def test_folder_the_manifest_does_not_pin_is_not_an_entry(pinned_zoo):
    make_entry(pinned_zoo, "dropped_in")
    assert "dropped_in" not in zoo.list_models()
    with pytest.raises(
        zoo.ZooError,
        match=r"dropped_in: not an entry of this zoo .*does not "
        r"pin it.*load_entry",
    ):
        zoo.load("dropped_in")
    assert zoo.load_entry(pinned_zoo / "dropped_in").latent_dim == 4


def test_the_bundled_zoo_without_its_manifest_is_refused(tiny_zoo, monkeypatch):
    monkeypatch.delenv(registry.ENV_ZOO_DIR)
    monkeypatch.setattr(registry, "bundled_dir", lambda: tiny_zoo)
    with pytest.raises(zoo.ZooError, match=r"MANIFEST\.json: missing"):
        zoo.load("deep_tiny")
    with pytest.raises(zoo.ZooError, match=r"MANIFEST\.json: missing"):
        zoo.list_models()


def test_a_malformed_manifest_is_named(pinned_zoo):
    (pinned_zoo / entry.MANIFEST).write_text('{"deep_tiny": "abc"}')
    with pytest.raises(
        zoo.ZooError,
        match=r"MANIFEST\.json: expected a JSON object of entry "
        r"name -> sha256",
    ):
        zoo.load("deep_tiny")
    (pinned_zoo / entry.MANIFEST).write_bytes(b"\xff\xfe{}")
    with pytest.raises(zoo.ZooError, match=r"MANIFEST\.json: not a zoo manifest: not UTF-8"):
        zoo.list_models()


@pytest.mark.parametrize("file", ["metadata.json", "config.json"])
def test_non_utf8_json_is_a_clear_error(tiny_zoo, file):
    """Used to raise UnicodeDecodeError."""
    folder = tiny_zoo / "deep_tiny"
    (folder / file).write_bytes((folder / file).read_bytes().replace(b'"', b'\xff"', 1))
    if file != "metadata.json":
        rehash(folder)
    with pytest.raises(zoo.ZooError, match=rf"deep_tiny/{file}: not a .*: not UTF-8 text"):
        zoo.load("deep_tiny")


@pytest.mark.parametrize(
    "bad, message",
    [
        ("a" * 5000, "at most 100 characters, got 'aaaa.*5000 characters"),
        ("deep\x00tiny", "printable"),
        ("deep\ntiny", "printable"),
    ],
)
def test_long_or_unprintable_names_are_clear_errors(tiny_zoo, bad, message):
    """A 5,000-character name used to raise OSError (File name too long)."""
    for fn in (zoo.load, zoo.info, zoo.entry_dir):
        with pytest.raises(zoo.ZooError, match=message):
            fn(bad)


def test_files_table_with_a_bad_digest_is_named(tiny_zoo):
    meta_path = tiny_zoo / "deep_tiny" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["files"]["config.json"] = 5
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(zoo.ZooError, match=r"'files' maps a file name to the 64 hex digits"):
        zoo.load("deep_tiny")


def test_weights_that_are_no_weights_file_are_named(tiny_zoo):
    """A folder of one's own whose (rehashed) weights are not HDF5 used to
    raise h5py's OSError."""
    folder = tiny_zoo / "deep_tiny"
    (folder / "model.weights.h5").write_bytes(b"not hdf5")
    rehash(folder)
    with pytest.raises(zoo.ZooError, match=r"model\.weights\.h5: cannot load the weights"):
        zoo.load_entry(folder)


def test_a_mistyped_zoo_dir_is_named(monkeypatch, tmp_path):
    """A KERAS_AE_ZOO_DIR that does not exist used to list no models, silently."""
    monkeypatch.setenv(registry.ENV_ZOO_DIR, str(tmp_path / "zooo"))
    with pytest.raises(zoo.ZooError, match=r"KERAS_AE_ZOO_DIR=.*zooo'.*no such directory"):
        zoo.list_models()


def script_module(name):
    """scripts/<name>.py as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_zoo_module():
    """scripts/train_zoo.py as a module."""
    return script_module("train_zoo")


def test_train_zoo_step_schedule_resumes_where_it_stopped(tmp_path):
    """A cosine schedule in steps (not wall time, which gave other weights on
    every machine): a run stopped after 2 of 4 epochs and resumed takes the
    same learning rates and reaches the same weights as one uninterrupted
    run, and ends at lr_end. A record written before these settings existed
    still resumes."""
    tz = train_zoo_module()
    spec = {"name": "s", "epochs": 4, "steps_per_epoch": 3, "lr": 1e-2, "lr_end": 1e-4}
    spec.update(lr_schedule="cosine", batch_size=8, kwargs={})
    x = np.random.default_rng(0).random((24, 16)).astype("float32")

    def model_and_data():
        keras.utils.set_random_seed(0)  # the initial weights (seed= is the sampling generator's)
        model = Autoencoder(input_shape=(16,), latent_dim=2, hidden_units=(8,), seed=0)
        model.compile(optimizer=keras.optimizers.Adam(tz.learning_rate(spec)))
        return model, tf.data.Dataset.from_tensor_slices(x).batch(8).repeat()

    whole, ds = model_and_data()
    whole.fit(ds, epochs=4, steps_per_epoch=3, verbose=0)
    assert float(whole.optimizer.learning_rate) == pytest.approx(1e-4)

    first, ds = model_and_data()
    state = tz.resumable(tmp_path / "run", False, spec, 0, first)
    first.fit(ds, epochs=2, steps_per_epoch=3, verbose=0, callbacks=[state])
    assert float(first.optimizer.learning_rate) > 1e-3  # halfway down the cosine
    again, ds = model_and_data()
    state = tz.resumable(tmp_path / "run", True, spec, 0, again)
    again.fit(ds, epochs=4, steps_per_epoch=3, verbose=0, callbacks=[state], initial_epoch=2)
    assert int(again.optimizer.iterations) == 12
    for a, b in zip(whole.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    with pytest.raises(
        ValueError, match="lr_schedule must be 'cosine' with steps_per_epoch or 'burda'"
    ):
        tz.learning_rate({**spec, "steps_per_epoch": None})
    # A time-budget entry (lr_end, steps_per_epoch, no schedule) whose run was
    # recorded before the schedule existed, with the keys recorded then:
    budget = {k: v for k, v in spec.items() if k != "lr_schedule"}
    old = tmp_path / "old"
    tz.resumable(old, False, budget, 0, model_and_data()[0])
    keys = ("name", "epochs", "kwargs", "batch_size", "lr", "lr_decay", "validation")
    written = {"seed": 0, **{k: budget.get(k) for k in keys}}
    assert json.loads((old / "zoo_run.json").read_text()) == written
    tz.resumable(old, True, budget, 0, model_and_data()[0])  # no SystemExit


def test_docs_zoo_table_lists_every_entry_as_its_card_says():
    """docs/zoo.md's entries table is the cards' table (`scripts/evaluate_zoo.py
    --write-table docs/zoo.md` writes it): an entry added or re-measured
    without rewriting it fails here, as eight entries once went missing."""
    ev = script_module("evaluate_zoo")
    page = (Path(__file__).resolve().parents[1] / "docs" / "zoo.md").read_text()
    lines = page.split("\n")
    start, end = ev.table_rows(lines, "docs/zoo.md")
    assert "\n".join(lines[start:end]) == ev.table(zoo.list_models()), (
        "docs/zoo.md's entries table differs from the cards: run "
        "python scripts/evaluate_zoo.py --write-table docs/zoo.md"
    )


def test_train_zoo_held_out_keeps_a_conditional_models_labels():
    """The held-out images of a conditional entry go to fit with their labels
    (the split once dropped them, and ConditionalVAE.fit refused the run); an
    unconditional entry's stay images alone."""
    tz = train_zoo_module()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    y = np.arange(40) % 10
    prep = {"scale": "unit", "layout": "image", "binarize": "dynamic"}
    x_train, y_train, validation = tz.held_out({"validation": 8}, x, y, prep)
    assert x_train.shape == (32, 28, 28) and y_train.tolist() == y[:32].tolist()
    x_val, y_val = validation
    assert x_val.shape == (8, 28, 28, 1) and set(np.unique(x_val)) <= {0.0, 1.0}
    assert y_val.tolist() == y[32:].tolist()
    _, none, (alone,) = tz.held_out({"validation": 8}, x, None, prep)
    assert none is None and alone.shape == (8, 28, 28, 1)

    model = ConditionalVAE(input_shape=(28, 28, 1), latent_dim=2, network="conv", num_classes=10)
    model.compile(optimizer="adam")
    images = zp.prepare(x_train, prep)
    history = model.fit(images, y_train, validation_data=validation, epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"][0])


def test_train_zoo_pins_the_entry_it_writes(tmp_path, monkeypatch):
    """scripts/train_zoo.py writes through entry.write_entry, the manifest's
    one writer: each entry it moves into the zoo is pinned, so a retrain
    cannot leave the manifest behind."""
    tz = train_zoo_module()
    monkeypatch.setattr(tz, "write_figures", lambda *a: [])
    monkeypatch.setattr(tz, "card_text", lambda spec, meta, figures: "card")
    root = tmp_path / "zoo"
    make_entry(root, "old")
    entry.pin_entry(root, "old")
    model = Autoencoder(input_shape=(784,), latent_dim=4, seed=3)
    entry_spec = {
        "name": "new",
        "variant": "Autoencoder",
        "description": "d",
        "preprocessing": {},
        "metrics": [],
    }
    tz.finish_entry(entry_spec, model, root, None, {}, {}, "float32")
    pins = json.loads((root / entry.MANIFEST).read_text())
    assert set(pins) == {"old", "new"}
    assert pins["new"] == digest(root / "new" / "metadata.json")
    monkeypatch.setenv(registry.ENV_ZOO_DIR, str(root))
    assert zoo.list_models() == ["new", "old"]
    x = np.random.default_rng(0).random((3, 784)).astype("float32")
    np.testing.assert_array_equal(zoo.load("new").reconstruct(x), model.reconstruct(x))


# ------------------------------------------------------- the format's writer
def full_metadata(entry_name, model, **changes):
    """Every field write_entry needs, for a small untrained model."""
    return {
        "name": entry_name,
        "variant": type(model).__name__,
        "description": "a test entry",
        "dataset": "mnist",
        "split": {},
        "preprocessing": {"scale": "unit", "layout": "flat"},
        "input_shape": list(model.input_shape_),
        "latent_dim": model.latent_dim,
        "parameters": int(model.count_params()),
        "weights_dtype": "float32",
        "training": {},
        "versions": {},
        "created": "2026-01-01T00:00:00+00:00",
        "metrics": [],
        **changes,
    }


def test_write_entry_writes_what_read_entry_loads_and_pins_it(tmp_path):
    root = tmp_path / "zoo"
    model = Autoencoder(input_shape=(784,), latent_dim=4, seed=0)
    figure = tmp_path / "drawn.png"
    figure.write_bytes(b"\x89PNG not really")
    meta = zoo.write_entry(
        model,
        root / "mine",
        full_metadata("mine", model),
        {"README.md": "# mine", "kernels.png": figure},
    )
    folder = root / "mine"
    on_disk = {p.name: digest(p) for p in folder.iterdir() if p.name != "metadata.json"}
    assert meta["files"] == on_disk  # every other file, hashed here independently
    assert set(on_disk) == {"config.json", "model.weights.h5", "README.md", "kernels.png"}
    assert (folder / "README.md").read_text() == "# mine"
    assert sorted(p.name for p in root.iterdir()) == ["MANIFEST.json", "mine"]  # no staging left
    assert json.loads((root / "MANIFEST.json").read_text()) == {
        "mine": digest(folder / "metadata.json")
    }
    loaded, read = zoo.read_entry(folder)
    assert read == meta == json.loads((folder / "metadata.json").read_text())
    assert "compile_config" not in json.loads((folder / "config.json").read_text())
    x = np.random.default_rng(0).random((3, 784)).astype("float32")
    np.testing.assert_array_equal(loaded.reconstruct(x), model.reconstruct(x))


def test_float16_entries_hold_what_round_trip_measured(tmp_path):
    import h5py

    model = Autoencoder(input_shape=(784,), latent_dim=4, seed=0)
    measured = entry.round_trip(model, "float16")
    zoo.write_entry(model, tmp_path / "half", full_metadata("half", model, weights_dtype="float16"))
    with h5py.File(tmp_path / "half" / "model.weights.h5", "r") as f:
        kinds = set()
        f.visititems(
            lambda k, item: (
                kinds.add(item.dtype.name)
                if isinstance(item, h5py.Dataset) and item.dtype.kind == "f"
                else None
            )
        )
    assert kinds == {"float16"}
    x = np.random.default_rng(0).random((3, 784)).astype("float32")
    shipped = zoo.load_entry(tmp_path / "half").reconstruct(x)
    np.testing.assert_array_equal(shipped, measured.reconstruct(x))
    assert not np.array_equal(shipped, model.reconstruct(x))  # float16 rounding did happen


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"created": None}, r"lacks \['created'\]"),
        ({"colour": "red"}, r"unknown fields \['colour'\]"),
        ({"latent_dim": "4"}, r"field 'latent_dim' must be a JSON integer, got '4'"),
        ({"metrics": {}}, r"field 'metrics' must be a JSON array"),
        ({"weights_dtype": "int8"}, r"weights_dtype must be one of \('float32', 'float16'\)"),
        ({"name": "other"}, r"the metadata names 'other'; an entry's folder is its name"),
    ],
)
def test_write_entry_refuses_metadata_off_the_schema_before_writing(tmp_path, changes, message):
    model = Autoencoder(input_shape=(784,), latent_dim=4, seed=0)
    meta = full_metadata("mine", model, **changes)
    meta = {k: v for k, v in meta.items() if v is not None}
    with pytest.raises(zoo.ZooError, match=message):
        zoo.write_entry(model, tmp_path / "mine", meta)
    assert not tmp_path.joinpath("mine").exists()


def test_metadata_off_the_schema_is_named_on_read(tiny_zoo):
    folder = tiny_zoo / "deep_tiny"
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "parameters": [1]}))
    with pytest.raises(
        zoo.ZooError,
        match=r"deep_tiny/metadata\.json: metadata field "
        r"'parameters' must be a JSON integer",
    ):
        zoo.load("deep_tiny")


def test_an_entry_over_the_size_limit_leaves_the_old_one(tmp_path, monkeypatch):
    root = tmp_path / "zoo"
    small = Autoencoder(input_shape=(784,), latent_dim=2, seed=0)
    zoo.write_entry(small, root / "mine", full_metadata("mine", small))
    pins = (root / "MANIFEST.json").read_text()
    big = Autoencoder(input_shape=(784,), latent_dim=64, seed=1)
    monkeypatch.setattr(entry, "MAX_ENTRY_BYTES", 100_000)
    with pytest.raises(
        zoo.ZooError,
        match=r"mine: the entry is 0\.\d+ MiB, over the 0 MiB "
        r"limit of one entry",
    ):
        zoo.write_entry(big, root / "mine", full_metadata("mine", big))
    assert sorted(p.name for p in root.iterdir()) == ["MANIFEST.json", "mine"]
    assert (root / "MANIFEST.json").read_text() == pins
    assert zoo.load_entry(root / "mine").latent_dim == 2


def test_the_installed_layout_ships_and_checks_the_manifest(tmp_path, monkeypatch):
    """setup.py's package data holds MANIFEST.json, and an installed copy pins
    its entries with it (the suite otherwise imports keras_ae from the clone)."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build", "--build-base", str(tmp_path / "build")],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    package = tmp_path / "build" / "lib" / "keras_ae"
    installed = package / "_zoo_files"
    assert (installed / entry.MANIFEST).is_file()
    monkeypatch.delenv(registry.ENV_ZOO_DIR, raising=False)
    # bundled_dir finds the package from its own module's file
    monkeypatch.setattr(registry, "__file__", str(package / "zoo" / "registry.py"))
    assert registry.bundled_dir() == installed
    assert zoo.list_models() == NAMES
    name = NAMES[0]
    zoo.load(name)
    meta = json.loads((installed / name / "metadata.json").read_text())
    meta["description"] = "changed"
    (installed / name / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(zoo.ChecksumError, match="pinned"):
        zoo.load(name)


@pytest.mark.parametrize(
    "metric, message",
    [
        (
            {"name": "mse", "kind": "mse", "value": 0.1},
            r"metrics\[0\] must be an object with name, "
            r"kind, value, tolerance",
        ),
        ({"name": "mse", "kind": "rm -rf", "value": 0.1, "tolerance": {}}, "has kind 'rm -rf'"),
        (
            {"name": "mse", "kind": "mse", "value": 0.1, "tolerance": {}, "params": {"bogus": 1}},
            r"metric 'mse' takes params among .*bogus",
        ),
    ],
)
def test_a_card_of_ones_own_that_cannot_be_measured_is_named(tiny_zoo, metric, message):
    """An entry of one's own is checked only against its own metadata: a card
    lacking a field used to fail with KeyError or TypeError mid-measurement."""
    folder = tiny_zoo / "deep_tiny"
    meta = json.loads((folder / "metadata.json").read_text())
    meta.update(
        preprocessing={"scale": "unit", "layout": "flat"}, dataset="mnist", metrics=[metric]
    )
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(zoo.ZooError, match=message):
        zoo.evaluate("deep_tiny", data_dir="/nonexistent")


def test_write_entry_never_deletes_what_it_did_not_write(tmp_path):
    model = Autoencoder(input_shape=(784,), latent_dim=4, seed=0)
    mine = tmp_path / "zoo" / "mine"
    (mine / "mydata").mkdir(parents=True)
    (mine / "NOTES.md").write_text("my notes")
    with pytest.raises(zoo.ZooError, match=r"not an entry's \(NOTES\.md, mydata/\)"):
        zoo.write_entry(model, mine, full_metadata("mine", model))
    assert (mine / "NOTES.md").read_text() == "my notes" and (mine / "mydata").is_dir()
    other = tmp_path / "zoo" / "other"
    other.write_text("important")
    with pytest.raises(zoo.ZooError, match="exists and is not an entry folder"):
        zoo.write_entry(model, other, full_metadata("other", model))
    assert other.read_text() == "important"
    # an entry it wrote is replaced, card included
    entry_dir = tmp_path / "zoo" / "again"
    zoo.write_entry(model, entry_dir, full_metadata("again", model), {"README.md": "# one"})
    zoo.write_entry(model, entry_dir, full_metadata("again", model), {"README.md": "# two"})
    assert (entry_dir / "README.md").read_text() == "# two"


def test_train_zoo_burda_schedule_takes_its_stages_and_resumes_on_them(tmp_path):
    """Burda et al.'s schedule: stage i lasts 3**i epochs at lr * 10**(-i/7),
    3,280 epochs in all. A run resumed after epoch 2 takes epoch 3's rate
    from the schedule, not the optimizer's first one."""
    tz = train_zoo_module()
    ends = np.cumsum([3**i for i in range(8)])  # 1, 4, 13, ..., 3280
    assert ends[-1] == 3280
    for stage, end in enumerate(ends):
        assert tz.burda_rate(end - 1, 1e-3) == pytest.approx(1e-3 * 10 ** (-stage / 7))
        if stage < 7:
            assert tz.burda_rate(end, 1e-3) == pytest.approx(1e-3 * 10 ** (-(stage + 1) / 7))
    assert tz.burda_rate(5000, 1e-3) == pytest.approx(1e-4)  # past the end: the last stage

    spec = {"name": "b", "epochs": 6, "lr": 1e-2, "lr_schedule": "burda", "batch_size": 8}
    spec["kwargs"] = {}
    x = np.random.default_rng(0).random((16, 16)).astype("float32")
    rates = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: rates.append(float(model.optimizer.learning_rate))
    )
    model = Autoencoder(input_shape=(16,), latent_dim=2, hidden_units=(8,), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(tz.learning_rate(spec)))
    state = tz.resumable(tmp_path / "run", False, spec, 0, model)
    model.fit(x, epochs=2, batch_size=8, verbose=0, callbacks=[*tz.rate_callbacks(spec), state])
    model = Autoencoder(input_shape=(16,), latent_dim=2, hidden_units=(8,), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(tz.learning_rate(spec)))
    state = tz.resumable(tmp_path / "run", True, spec, 0, model)
    model.fit(
        x,
        epochs=6,
        batch_size=8,
        verbose=0,
        initial_epoch=2,
        callbacks=[*tz.rate_callbacks(spec), state, record],
    )
    expected = [1e-2 * 10 ** (-s / 7) for s in (1, 1, 2, 2)]  # epochs 2-5
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    recorded = json.loads((tmp_path / "run" / "zoo_run.json").read_text())
    assert recorded["lr_schedule"] == "burda"

    with pytest.raises(ValueError, match="lr_schedule='burda' sets every epoch's rate"):
        tz.learning_rate({**spec, "lr_decay": 0.99})
    with pytest.raises(ValueError, match="a time budget sets the rate by wall time"):
        tz.rate_callbacks({"name": "t", "lr": 1e-3, "lr_decay": 0.9, "time_budget": 60})
