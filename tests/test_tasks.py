"""keras_ae.tasks on small slices of the real data: restoration, anomaly
detection, imputation, AEkNN, Hamming search, clustering scores, metrics."""

import itertools

import keras
import numpy as np
import pytest

from keras_ae import corruption, datasets, models, tasks


@pytest.fixture(scope="module")
def mnist_model(mnist):
    """A small dropout-denoising MLP autoencoder trained briefly on 10,000 MNIST images."""
    (x_train, _), _ = mnist
    keras.utils.set_random_seed(0)
    model = models.DenoisingAutoencoder(
        input_shape=(784,),
        latent_dim=32,
        hidden_units=(128,),
        noise="dropout",
        noise_params={"rate": 0.3},
        seed=0,
        reconstruction_loss="bce",
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x_train[:10000], epochs=3, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def satimage(shared_data):
    """Satimage scaled to [0, 1] with the training split's min and max."""
    (x_train, y_train), (x_test, y_test) = datasets.load_satimage(shared_data)
    lo, hi = x_train.min(axis=0), x_train.max(axis=0)

    def scale(x):
        return ((x - lo) / (hi - lo)).astype("float32")

    return (scale(x_train), y_train), (scale(x_test), y_test)


@pytest.fixture(scope="module")
def satimage_model(satimage):
    (x_train, _), _ = satimage
    keras.utils.set_random_seed(0)
    model = models.DenoisingAutoencoder(
        input_shape=(36,),
        latent_dim=8,
        hidden_units=(64,),
        noise="dropout",
        noise_params={"rate": 0.2},
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x_train, epochs=15, batch_size=64, verbose=0)
    return model


# ------------------------------------------------------------------ restoration
def test_denoise_keeps_layout_and_is_better_than_the_noisy_input(mnist_model, mnist_small):
    _, x_test = mnist_small
    noisy = np.asarray(corruption.dropout_mask(x_test, 0.3, seed=1))
    images = noisy.reshape(-1, 28, 28)
    out = tasks.denoise(mnist_model, images)
    assert out.shape == (256, 28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.reshape(256, 784), mnist_model.reconstruct(noisy), atol=1e-6)
    assert tasks.psnr(x_test, out.reshape(256, 784)) > tasks.psnr(x_test, noisy)


def test_inpaint_changes_only_the_masked_pixels(mnist_model, mnist_small):
    _, x_test = mnist_small
    bad, mask = corruption.block_mask(
        x_test, 8, seed=2, value=0.5, image_shape=(28, 28), return_mask=True
    )
    bad, mask = np.asarray(bad), np.asarray(mask)
    out = tasks.inpaint(mnist_model, bad, mask, iterations=2)
    observed = mask == 0
    np.testing.assert_array_equal(out[observed], bad[observed])
    assert np.isfinite(out).all()
    assert not np.allclose(out[~observed], 0.5)  # the grey patch was replaced
    # The filled patch is closer to the truth than the grey value was.
    err_out = np.mean((out - x_test)[~observed] ** 2)
    err_bad = np.mean((bad - x_test)[~observed] ** 2)
    assert err_out < err_bad


def test_inpaint_rejects_a_mask_of_the_wrong_shape(mnist_model, mnist_small):
    _, x_test = mnist_small
    with pytest.raises(ValueError, match="mask must have the shape of x"):
        tasks.inpaint(mnist_model, x_test, np.zeros((256, 28, 28)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        tasks.inpaint(mnist_model, x_test, np.full(x_test.shape, 0.5))
    with pytest.raises(ValueError, match="784 values each"):
        tasks.denoise(mnist_model, x_test[:, :700])


def test_upsample_and_upscale(mnist_model, mnist_small):
    _, x_test = mnist_small
    low = np.asarray(corruption.downsample(x_test, 2, image_shape=(28, 28)))  # (256, 196) flat
    up = tasks.upsample(low, 28)
    assert up.shape == (256, 784)
    const = tasks.upsample(np.full((2, 7, 7), 0.25), (28, 28))
    np.testing.assert_allclose(const, 0.25, atol=1e-6)
    out = tasks.upscale(mnist_model, low.reshape(-1, 14, 14))
    assert out.shape == (256, 28, 28) and np.isfinite(out).all()
    np.testing.assert_allclose(out.reshape(256, 784), mnist_model.reconstruct(up), atol=1e-5)
    with pytest.raises(ValueError, match="at most 28x28"):
        tasks.upscale(mnist_model, np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match="method must be one of"):
        tasks.upsample(low, 28, method="lanczos7")
    with pytest.raises(ValueError, match=r"size must be \(H, W\) or an int, got 28.0"):
        tasks.upsample(low, 28.0)
    np.testing.assert_array_equal(tasks.upsample(low, np.array([28, 28])), up)
    # bicubic overshoots [0, 1] near strokes; with clip the model reads the
    # clipped resize (what training on upsample(..., clip=clip) gives it)
    clipped = tasks.upsample(low, 28, clip=(0, 1))
    assert (up < 0).any() or (up > 1).any()
    residual = tasks.upscale(mnist_model, low, residual=True, clip=(0, 1))
    np.testing.assert_allclose(
        residual, np.clip(clipped + mnist_model.reconstruct(clipped), 0, 1), atol=1e-5
    )
    with pytest.raises(ValueError, match="clip must have low < high"):
        tasks.upscale(mnist_model, low, clip=(1, 0))
    with pytest.raises(ValueError, match="clip must be None or a"):
        tasks.upsample(low, 28, clip="0-1")


def test_residual_super_resolution_beats_bicubic(mnist):
    """A conv model trained on (bicubic, original - bicubic) pairs adds detail."""
    (x_train, _), (x_test, _) = mnist

    def down(x):
        return np.asarray(corruption.downsample(x, 2, image_shape=(28, 28)))

    up = tasks.upsample(down(x_train[:4096]), 28, clip=(0, 1))
    keras.utils.set_random_seed(0)
    model = models.ConvAutoencoder(
        input_shape=(28, 28, 1),
        latent_dim=14 * 14 * 8,
        filters=(16, 16),
        strides=(1, 2),
        code_layer="conv",
        output_activation="linear",
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    model.fit(
        up.reshape(-1, 28, 28, 1),
        (x_train[:4096] - up).reshape(-1, 28, 28, 1),
        epochs=3,
        batch_size=64,
        verbose=0,
    )
    low = down(x_test[:256])
    bicubic = tasks.upsample(low, 28, clip=(0, 1))
    sr = tasks.upscale(model, low, residual=True, clip=(0, 1))
    assert sr.shape == (256, 784)
    gain = tasks.psnr(x_test[:256], sr) - tasks.psnr(x_test[:256], bicubic)
    assert gain > 3.0, f"residual super-resolution gained only {gain:.2f} dB over bicubic"


# ---------------------------------------------------------------------- anomaly
def test_anomaly_threshold_from_training_data_flags_planted_anomalies(mnist_model, mnist_small):
    x_train, x_test = mnist_small
    detector = tasks.AnomalyDetector(mnist_model, k=1.0).fit(x_train)
    errors = np.mean((mnist_model.reconstruct(x_train) - x_train) ** 2, axis=1)
    assert detector.threshold_ == pytest.approx(errors.mean() + errors.std(), rel=1e-5)
    # Planted anomalies: inverted digits (white background) are nothing like MNIST.
    planted = 1.0 - x_test[:64]
    x = np.concatenate([x_test, planted])
    flags = detector.predict(x)
    assert set(np.unique(flags)) <= {0, 1}
    assert flags[256:].all()  # every planted anomaly is caught
    assert flags[:256].mean() < 0.3  # and most normal test digits are not
    scores = detector.score(x)
    assert scores[256:].min() > scores[:256].max()


def test_anomaly_detector_errors(mnist_model, mnist_small):
    _, x_test = mnist_small
    detector = tasks.AnomalyDetector(mnist_model, error="mae")
    with pytest.raises(ValueError, match="not fitted"):
        detector.predict(x_test)
    with pytest.raises(ValueError, match="at least 2"):
        detector.fit(x_test[:1])
    with pytest.raises(ValueError, match="error must be one of"):
        tasks.AnomalyDetector(mnist_model, error="rmse")
    with pytest.raises(ValueError, match="keras_ae Autoencoder"):
        tasks.AnomalyDetector(object())


# ------------------------------------------------------------------- imputation
def test_impute_keeps_observed_entries_and_fills_missing_ones(satimage_model, satimage):
    _, (x_test, _) = satimage
    x_missing, mask = corruption.random_missing(x_test, 0.3, seed=3)
    x_missing, mask = np.asarray(x_missing), np.asarray(mask)
    out = tasks.impute(satimage_model, x_missing, mask)
    observed = mask == 0
    np.testing.assert_array_equal(out[observed], x_missing[observed])
    assert np.isfinite(out).all()
    # Missing entries come from the model, not from the zeros or the means.
    means = np.nanmean(np.where(observed, x_missing, np.nan), axis=0)
    assert not np.allclose(out[~observed], np.broadcast_to(means, out.shape)[~observed])
    rmse_ae = np.sqrt(np.mean((out - x_test)[~observed] ** 2))
    rmse_zero = np.sqrt(np.mean((x_missing - x_test)[~observed] ** 2))
    assert rmse_ae < rmse_zero
    # NaN marks the same entries as the mask does.
    nan_input = np.where(observed, x_missing, np.nan)
    np.testing.assert_allclose(tasks.impute(satimage_model, nan_input), out, atol=1e-6)
    # With a mask, missing entries may hold anything, infinities included.
    inf_input = np.where(observed, x_missing, np.inf)
    np.testing.assert_array_equal(tasks.impute(satimage_model, inf_input, mask), out)


def test_impute_errors(satimage_model, satimage):
    _, (x_test, _) = satimage
    with pytest.raises(ValueError, match="no NaN"):
        tasks.impute(satimage_model, x_test)
    with pytest.raises(ValueError, match=r"36 infinite value\(s\): only NaN marks a missing"):
        tasks.impute(satimage_model, np.where(np.eye(len(x_test), 36), np.inf, x_test))
    with pytest.raises(ValueError, match="mask must have the shape of x"):
        tasks.impute(satimage_model, x_test, np.zeros((len(x_test), 35)))
    with pytest.raises(ValueError, match="one value per feature"):
        tasks.impute(satimage_model, x_test, np.zeros(x_test.shape), fill=np.zeros(5))
    with pytest.raises(ValueError, match="iterations must be a positive integer"):
        tasks.impute(satimage_model, x_test, np.zeros(x_test.shape), iterations=0)


# ------------------------------------------------------------------------ AEkNN
def test_aeknn_on_satimage(satimage_model, satimage):
    (x_train, y_train), (x_test, y_test) = satimage
    x_train, y_train, x_test, y_test = (
        x_train[:1500],
        y_train[:1500],
        x_test[:500],
        y_test[:500],
    )
    raw = tasks.AEKNNClassifier(None, k=5).fit(x_train, y_train)
    from sklearn.neighbors import KNeighborsClassifier

    reference = KNeighborsClassifier(5).fit(x_train, y_train).predict(x_test)
    np.testing.assert_array_equal(raw.predict(x_test), reference)
    ae = tasks.AEKNNClassifier(satimage_model, k=5).fit(x_train, y_train)
    assert ae.transform(x_test).shape == (500, 8)
    acc = ae.score(x_test, y_test)
    assert acc > 0.7  # six classes: chance is about 0.24
    assert set(np.unique(ae.predict(x_test))) <= set(np.unique(y_train))


def test_aeknn_errors(satimage_model, satimage):
    (x_train, y_train), _ = satimage
    clf = tasks.AEKNNClassifier(satimage_model, k=5)
    with pytest.raises(ValueError, match="not fitted"):
        clf.predict(x_train[:3])
    with pytest.raises(ValueError, match="larger than the training set"):
        tasks.AEKNNClassifier(satimage_model, k=10).fit(x_train[:4], y_train[:4])
    with pytest.raises(ValueError, match="one label per sample"):
        clf.fit(x_train[:10], y_train[:9])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        tasks.AEKNNClassifier(satimage_model, k=0)
    with pytest.raises(ValueError, match="model must be a keras_ae Autoencoder, an encoder"):
        tasks.AEKNNClassifier("abc")  # a str has an .encode too
    proba = clf.fit(x_train[:200], y_train[:200]).predict_proba(x_train[:5])
    assert proba.shape == (5, len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(x_train[:5]))


def test_aeknn_is_a_scikit_learn_classifier(satimage_model, satimage):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    (x_train, y_train), _ = satimage
    x, y = x_train[:300], y_train[:300]
    clf = tasks.AEKNNClassifier(satimage_model, k=5)
    copy = clone(clf)
    assert copy.model is satimage_model and copy.get_params() == clf.get_params()
    scores = cross_val_score(clf, x, y, cv=3)
    codes = clf.transform(x)
    expected = cross_val_score(KNeighborsClassifier(5), codes, y, cv=3)
    np.testing.assert_allclose(scores, expected)
    search = GridSearchCV(clf, {"k": [1, 7]}, cv=3).fit(x, y)
    assert search.best_params_["k"] in (1, 7) and search.best_estimator_.model is satimage_model
    with pytest.raises(ValueError, match="k must be a positive integer"):
        clf.set_params(k=0).fit(x, y)


# ---------------------------------------------------------------------- hashing
def _brute_force(db_bits, q_bits):
    return (q_bits[:, None, :] != db_bits[None, :, :]).sum(axis=-1)


@pytest.mark.parametrize("n_bits", [13, 64, 96])
def test_hamming_index_matches_brute_force_on_mnist_hashes(mnist_small, n_bits):
    x_train, x_test = mnist_small
    model = models.SemanticHashingAE(
        input_shape=(784,), latent_dim=n_bits, hidden_units=(32,), seed=n_bits
    )
    db, q = model.hash(x_train), model.hash(x_test[:40])
    assert db.dtype == np.uint8 and db.shape == (1024, -(-n_bits // 8))
    db_bits = np.unpackbits(db, axis=1)[:, :n_bits]
    q_bits = np.unpackbits(q, axis=1)[:, :n_bits]
    dist = _brute_force(db_bits, q_bits)
    index = tasks.HammingIndex(db, n_bits=n_bits)
    np.testing.assert_array_equal(index.distances(q), dist)
    idx, d = index.query(q, k=25)
    order = np.lexsort((np.broadcast_to(np.arange(1024), dist.shape), dist), axis=1)[:, :25]
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_array_equal(d, np.take_along_axis(dist, order, axis=1))
    radius = int(np.median(dist.min(axis=1))) + 1
    found, found_d = index.within(q, radius)
    for i in range(len(q)):
        assert set(found[i].tolist()) == set(np.flatnonzero(dist[i] <= radius).tolist())
        assert (np.diff(found_d[i]) >= 0).all()
        np.testing.assert_array_equal(found_d[i], dist[i, found[i]])


def test_hamming_index_edge_cases_and_errors():
    rng = np.random.default_rng(0)
    db = np.packbits(rng.random((30, 64)) > 0.5, axis=1)
    index = tasks.HammingIndex(db)
    idx, d = index.query(db[4], k=1)  # one query -> 1-D results
    assert idx.tolist() == [4] and d.tolist() == [0]
    everything, _ = index.query(db[:2], k=30)
    assert sorted(everything[0].tolist()) == list(range(30))
    with pytest.raises(ValueError, match="larger than the index"):
        index.query(db[:2], k=31)
    with pytest.raises(ValueError, match="8 bytes wide"):
        index.query(np.packbits(rng.random((2, 32)) > 0.5, axis=1), k=3)
    with pytest.raises(ValueError, match="dtype uint8"):
        index.query(db[:2].astype(np.int64), k=3)
    with pytest.raises(ValueError, match="radius must be an integer"):
        index.within(db[:2], -1)
    with pytest.raises(ValueError, match="packed into 2 bytes"):
        tasks.HammingIndex(db, n_bits=16)
    with pytest.raises(ValueError, match="empty"):
        tasks.HammingIndex(np.zeros((0, 8), np.uint8))
    assert index.distances(db[:0]).shape == (0, 30)
    # padding bits set past n_bits would be counted: refused, for the index and queries
    with pytest.raises(ValueError, match=r"bits set past n_bits=9 \(the last 7 bits"):
        tasks.HammingIndex(np.array([[0, 0], [255, 255]], np.uint8), n_bits=9)
    nine = tasks.HammingIndex(np.packbits(rng.random((5, 9)) > 0.5, axis=1), n_bits=9)
    with pytest.raises(ValueError, match=r"q has bits set past n_bits=9"):
        nine.query(np.array([[255, 255]], np.uint8), k=1)
    # distances of up to 256 bits do not wrap around in a uint8 counter
    wide = np.zeros((2, 32), np.uint8)
    wide[1] = 255
    assert tasks.HammingIndex(wide, n_bits=256).distances(wide[0]).tolist() == [0, 256]


def test_retrieval_precision_single_and_multi_label():
    neighbors = np.array([[0, 1, 2], [2, 3, 0]])
    assert tasks.retrieval_precision(neighbors, [1, 2], [1, 1, 2, 2]) == pytest.approx(
        (2 / 3 + 2 / 3) / 2
    )
    db_topics = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    q_topics = np.array([[0, 1], [1, 0]])
    assert tasks.retrieval_precision(neighbors, q_topics, db_topics) == pytest.approx(
        (2 / 3 + 2 / 3) / 2
    )
    ragged = [np.array([0, 2]), np.array([], dtype=np.int64)]
    assert tasks.retrieval_precision(ragged, [1, 2], [1, 1, 2, 2]) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="1-D labels or both 2-D multi-hot"):
        tasks.retrieval_precision(neighbors, q_topics, [1, 1, 2, 2])


# ------------------------------------------------------------------- clustering
def test_cluster_accuracy_is_the_best_matching(rng):
    y = rng.integers(0, 4, 200)
    perm = np.array([2, 0, 3, 1])
    assert tasks.cluster_accuracy(y, perm[y]) == 1.0
    pred = rng.integers(0, 4, 200)
    best = max(np.mean(np.array(p)[pred] == y) for p in itertools.permutations(range(4)))
    assert tasks.cluster_accuracy(y, pred) == pytest.approx(best)
    with pytest.raises(ValueError, match="equal length"):
        tasks.cluster_accuracy(y, pred[:-1])


def test_nmi_matches_scikit_learn(rng):
    from sklearn.metrics import normalized_mutual_info_score

    y, pred = rng.integers(0, 5, 300), rng.integers(0, 7, 300)
    assert tasks.nmi(y, pred) == pytest.approx(normalized_mutual_info_score(y, pred))
    assert tasks.nmi(y, y + 10) == pytest.approx(1.0)


# ---------------------------------------------------------------------- metrics
def test_psnr_and_ssim(mnist_small, rng):
    _, x_test = mnist_small
    x = x_test[:32]
    for metric in (tasks.psnr, tasks.ssim):
        for bad in (0, -1.0, "1"):
            with pytest.raises(ValueError, match="data_range must be a number > 0"):
                metric(x.reshape(-1, 28, 28), x.reshape(-1, 28, 28), data_range=bad)
    noisy = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    mse = np.mean((noisy - x) ** 2, axis=1)
    np.testing.assert_allclose(tasks.psnr(x, noisy, reduction="none"), 10 * np.log10(1 / mse))
    # The batch value is the PSNR of the mean MSE: finite even when one image is exact.
    exact = noisy.copy()
    exact[0] = x[0]
    assert np.isinf(tasks.psnr(x, exact, reduction="none")[0])
    assert tasks.psnr(x, exact) == pytest.approx(
        10 * np.log10(1 / np.mean(np.mean((exact - x) ** 2, axis=1)))
    )
    assert tasks.ssim(x, x) == pytest.approx(1.0, abs=1e-5)
    s_small = tasks.ssim(x, np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1))
    s_large = tasks.ssim(x, np.clip(x + rng.normal(0, 0.3, x.shape), 0, 1))
    assert 1.0 > s_small > s_large
    assert tasks.ssim(x.reshape(-1, 28, 28), noisy.reshape(-1, 28, 28), reduction="none").shape == (
        32,
    )
    with pytest.raises(ValueError, match="same shape"):
        tasks.psnr(x, noisy[:5])
    with pytest.raises(ValueError, match="square"):
        tasks.ssim(x[:, :700], x[:, :700])


def test_tasks_refuse_data_on_another_scale(mnist_small):
    """uint8 pixels (0-255) given to a model of [0, 1] images were denoised,
    scored and classified as they were: PSNR 16 dB instead of 19, every sample
    an anomaly, kNN accuracy 0.66 instead of 0.87, psnr -25 dB."""
    x = mnist_small[1][:64]
    pixels = np.round(x * 255)
    model = models.Autoencoder(input_shape=(784,), latent_dim=4)
    message = r"x holds values in \[0, 255\], far outside \[0, 1\].*divide by 255"
    for call in (
        lambda: tasks.denoise(model, pixels),
        lambda: tasks.inpaint(model, pixels, np.zeros_like(pixels)),
        lambda: tasks.impute(model, pixels, np.zeros_like(pixels)),
        lambda: tasks.AnomalyDetector(model).fit(pixels),
        lambda: tasks.AEKNNClassifier(model).fit(x, np.arange(64) % 2).predict(pixels),
    ):
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match=r"x_low holds values in \[0, 255\]"):
        tasks.upscale(model, pixels.reshape(-1, 28, 28)[:, ::2, ::2])
    with pytest.raises(ValueError, match=r"far outside data_range=1.0: pass data_range=255"):
        tasks.psnr(pixels, pixels * 0.9)
    np.testing.assert_allclose(
        tasks.psnr(pixels, pixels * 0.9, data_range=255), tasks.psnr(x, x * 0.9), rtol=1e-3
    )
    noisy = x + np.random.default_rng(0).normal(0, 0.5, x.shape)  # noise is not another scale
    assert tasks.denoise(model, noisy).shape == x.shape and np.isfinite(tasks.psnr(x, noisy))


def test_task_arguments_that_reached_library_errors_are_named(mnist_small):
    x, labels = mnist_small[1][:40], np.arange(40) % 4
    model = models.Autoencoder(input_shape=(784,), latent_dim=3)
    with pytest.raises(ValueError, match="inpaint needs a mask of x's shape.*got None"):
        tasks.inpaint(model, x, None)
    # a Keras encoder reads images in its own layout, as the keras_ae model does
    knn = tasks.AEKNNClassifier(model.encoder, k=3).fit(x.reshape(-1, 28, 28), labels)
    np.testing.assert_array_equal(
        knn.predict(x.reshape(-1, 28, 28)),
        tasks.AEKNNClassifier(model, k=3).fit(x, labels).predict(x),
    )
    with pytest.raises(
        ValueError,
        match=r"samples of 784 values for an encoder with input "
        r"shape \(784,\); got shape \(40, 10\)",
    ):
        tasks.AEKNNClassifier(model.encoder).fit(x[:, :10], labels)
    for call, message in [
        (lambda: tasks.cluster_accuracy(None, None), "y must be a 1-D array"),
        (
            lambda: tasks.nmi([[0, 1], [1, 0]], [0, 1, 1, 0]),
            r"y must be a 1-D array of labels, got shape \(2, 2\)",
        ),
        (
            lambda: tasks.retrieval_precision(np.array([[0, -1]]), [1], [1, 2]),
            r"integer indices in \[0, 2\).*from -1 to 0",
        ),
        (
            lambda: tasks.retrieval_precision(np.zeros((0, 3), int), [], [1]),
            "non-zero number of queries",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            call()


def test_labels_that_are_not_finite_are_refused():
    """cluster_accuracy of NaN labels returned 0.5 (each NaN its own class),
    and retrieval_precision counted NaN labels as never relevant."""
    pred = np.array([0, 1, 1, 0])
    for call in (
        lambda: tasks.cluster_accuracy(np.array([np.nan, np.nan, 1, 0]), pred),
        lambda: tasks.nmi(np.array([np.inf, 0, 1, 0]), pred),
        lambda: tasks.retrieval_precision(
            np.array([[0, 1]]), np.array([np.nan]), np.array([1.0, 2.0])
        ),
    ):
        with pytest.raises(ValueError, match=r"holds \d NaN or infinite label\(s\)"):
            call()
    with pytest.raises(ValueError, match=r"empty must be a finite number"):
        tasks.retrieval_precision([[0]], np.array([1]), np.array([1]), empty=float("nan"))
    model = models.Autoencoder(input_shape=(4,), latent_dim=2)
    with pytest.raises(ValueError, match=r"y holds 1 NaN"):
        tasks.AEKNNClassifier(model, k=1).fit(np.zeros((2, 4)), np.array([0.0, np.nan]))


def test_tasks_refuse_integer_and_complex_input():
    """An integer batch the model reads is refused, as by the model itself,
    rather than read as floats (impute cast it to float32 first)."""
    model = models.Autoencoder(input_shape=(16,), latent_dim=2)
    ints = np.zeros((2, 16), "int32")
    message = r"x has integer dtype int32; keras_ae models read floats"
    for call in (
        lambda: tasks.denoise(model, ints),
        lambda: tasks.impute(model, ints, np.zeros_like(ints)),
        lambda: tasks.inpaint(model, ints, np.zeros_like(ints)),
        lambda: tasks.AnomalyDetector(model).fit(ints),
        lambda: tasks.AEKNNClassifier(model, k=1).fit(ints, [0, 1]),
    ):
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match=r"x_low has integer dtype"):
        tasks.upscale(model, np.zeros((2, 2, 2), "uint8"))
    for call in (
        lambda: tasks.denoise(model, ints + 1j),
        lambda: tasks.impute(model, np.full((2, 16), np.nan) + 1j),
    ):
        with pytest.raises(ValueError, match=r"real numbers, got complex dtype"):
            call()
    with pytest.raises(ValueError, match=r"beyond the range of float32"):
        tasks.impute(model, np.where(np.eye(2, 16) > 0, np.nan, 1e300))
    np.testing.assert_array_equal(
        tasks.AEKNNClassifier(None, k=1).fit(ints, [0, 1]).predict(ints), [0, 0]
    )  # no model: plain kNN takes integer features
