"""Shared fixtures. Two logical CPU devices are made before TensorFlow starts,
so distribution tests can run 2 replicas on one machine."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_AE_OFFLINE", "1")  # tests never touch the network

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

REPO = Path(__file__).resolve().parents[1]


def data_dir():
    """`KERAS_AE_DATA_DIR`, else `../shared/data` beside the repository."""
    env = os.environ.get("KERAS_AE_DATA_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path


@pytest.fixture(scope="session")
def shared_data():
    path = data_dir()
    if not (path / "mnist").is_dir():
        pytest.skip(f"real data not found at {path} (set KERAS_AE_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def mnist(shared_data):
    """MNIST as float32 in [0, 1], flattened: (x_train, y_train), (x_test, y_test)."""
    from keras_ae import datasets

    (x_train, y_train), (x_test, y_test) = datasets.load_mnist(shared_data)
    prep = lambda x: (x.reshape(len(x), -1) / 255.0).astype("float32")  # noqa: E731
    return (prep(x_train), y_train), (prep(x_test), y_test)


@pytest.fixture(scope="session")
def mnist_small(mnist):
    """1,024 training and 256 test images of real MNIST, flattened."""
    (x_train, _), (x_test, _) = mnist
    return x_train[:1024], x_test[:256]


@pytest.fixture(scope="session")
def strategies():
    """A one-device and a two-device (mirrored) strategy, one of each for the
    whole session: TensorFlow's collective keys clash between several
    MirroredStrategy objects in one process."""
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    assert len(devices) == 2
    return tf.distribute.OneDeviceStrategy(devices[0]), tf.distribute.MirroredStrategy(devices)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
