"""What the training benchmark races: models, contenders, and each one's network.

This module owns the definition of `bench_train.py`'s race: the models and
their titles, the contenders of each, the batch sizes, the layer shapes the
profile probes take apart, and the network each contender trains, all of one
architecture per model: the plain Keras model a keras.io reader writes
(`plain_keras`; for the VAE the keras.io pattern, `keras_io_vae`), keras_ae's
(`keras_ae_model`) and pythae's (`pythae_model`, PyTorch). Frameworks are
imported inside the functions: the module loads in the pythae venv's Python.
"""

MODELS = ("dense", "conv", "vae", "contractive", "hashing")
#: Models whose training step draws random numbers (the VAE's noise, the hashing AE's).
NOISY_MODELS = ("vae", "hashing")
MODEL_TITLES = {
    "dense": "dense AE 784-512-256-30",
    "conv": "conv AE (32, 64), code 16",
    "vae": "VAE 784-512-256-32, Bernoulli",
    "contractive": "contractive AE 784-30 sigmoid",
    "hashing": "semantic hashing 784-512-32",
}
PYTHAE_MODELS = ("dense", "conv", "vae")  # pythae has no contractive or hashing model
# keras_ae's defaults use XLA for MLP networks, so each of those also runs
# without it (`keras_ae_nojit`): the measurement behind that default; and 8
# batches per compiled call (`steps_per_execution="auto"`), so the dense AE
# and the VAE also run with XLA at 1 batch per call (`keras_ae_xla_spe1`).
CONTENDERS = {
    "dense": ("plain", "keras_ae", "keras_ae_xla", "keras_ae_nojit", "keras_ae_xla_spe1", "probe"),
    "conv": ("plain", "keras_ae", "keras_ae_xla", "probe"),
    "vae": ("plain", "keras_ae", "keras_ae_xla", "keras_ae_nojit", "keras_ae_xla_spe1", "probe"),
    "contractive": (
        "plain",
        "keras_ae",
        "keras_ae_xla",
        "keras_ae_nojit",
        "base_ae_nojit",
        "base_ae_xla",
    ),
    "hashing": ("plain", "keras_ae", "keras_ae_xla", "keras_ae_nojit"),
}
CONTENDER_TITLES = {
    "plain": "plain Keras `fit`",
    "keras_ae": "keras_ae (defaults)",
    "keras_ae_xla": "keras_ae `jit_compile=True`",
    "keras_ae_nojit": "keras_ae `jit_compile=False`",
    "keras_ae_xla_spe1": "keras_ae `jit_compile=True`, `steps_per_execution=1`",
    "pythae": "pythae (PyTorch CPU)",
    "pythae_loop": "pythae's model, hand-written PyTorch loop",
    "pythae_trainer": "pythae `TrainingPipeline` (its trainer)",
    "base_ae": "keras_ae `Autoencoder` 784-30 sigmoid (defaults)",
    "base_ae_nojit": "keras_ae `Autoencoder` 784-30 sigmoid, no XLA",
    "base_ae_xla": "keras_ae `Autoencoder` 784-30 sigmoid, XLA",
}
BATCH_SIZES = (128, 256)
#: What the per-process and whole-fit measurements race: each contender trained
#: from a fresh model in a fresh process (pythae's two only where it is installed).
FRESH_MODELS = ("dense", "vae")
FRESH_CONTENDERS = ("plain", "keras_ae", "pythae_loop", "pythae_trainer")
# Dense layer shapes (inputs, units), encoder then decoder, of the models the
# profile probes take apart. The VAE's encoder gives 2 x 32 values (mean and
# log-variance); its decoder reads the 32-wide sample.
DENSE_LAYERS = ((784, 512), (512, 256), (256, 30), (30, 256), (256, 512), (512, 784))
PROBE_LAYERS = {
    "dense": DENSE_LAYERS,
    "vae": ((784, 512), (512, 256), (256, 64), (32, 256), (256, 512), (512, 784)),
}
CEILING_N = 2048


def dense_step_flops(batch, layers=DENSE_LAYERS):
    """Matmul FLOPs of one training step at `batch` of an MLP of `layers`.

    Forward: 2*b*m*n per layer. Backward: the weight gradient (2*b*m*n) of
    every layer and the input gradient (2*b*m*n) of every layer but the
    first (nothing asks for d loss / d x). Bias adds, activations and the
    optimizer are not counted.
    """
    macs = sum(m * n for m, n in layers)
    first = layers[0][0] * layers[0][1]
    return 2 * batch * (3 * macs - first)


def plain_keras(model, keras):
    """The model a keras.io reader writes: functional, built-in loss."""
    from keras import layers, ops

    if model == "dense":
        inputs = keras.Input((784,))
        h = layers.Dense(512, activation="relu")(inputs)
        h = layers.Dense(256, activation="relu")(h)
        code = layers.Dense(30)(h)
        h = layers.Dense(256, activation="relu")(code)
        h = layers.Dense(512, activation="relu")(h)
        outputs = layers.Dense(784, activation="sigmoid")(h)
        net = keras.Model(inputs, outputs)
    elif model == "conv":
        inputs = keras.Input((28, 28, 1))
        h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
        h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)
        code = layers.Dense(16)(layers.Flatten()(h))
        h = layers.Dense(7 * 7 * 64, activation="relu")(code)
        h = layers.Reshape((7, 7, 64))(h)
        h = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(h)
        h = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(h)
        outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h)
        net = keras.Model(inputs, outputs)
    elif model == "contractive":
        # The closed-form penalty a Keras user adds with `add_loss`.
        class JacobianPenalty(layers.Layer):
            def __init__(self, dense, weight, **kwargs):
                super().__init__(**kwargs)
                self.dense, self.weight = dense, weight

            def call(self, h):
                row_norms = ops.sum(ops.square(self.dense.kernel), axis=0)
                penalty = ops.sum(ops.square(h * (1.0 - h)) * row_norms, axis=-1)
                self.add_loss(self.weight * ops.mean(penalty))
                return h

        inputs = keras.Input((784,))
        encode = layers.Dense(30, activation="sigmoid")
        code = JacobianPenalty(encode, 0.1)(encode(inputs))
        outputs = layers.Dense(784, activation="sigmoid")(code)
        net = keras.Model(inputs, outputs)
    elif model == "hashing":
        inputs = keras.Input((784,))
        h = layers.Dense(512, activation="relu")(inputs)
        logits = layers.Dense(32)(h)
        # Noise of std 2 on the logits (GaussianNoise takes a std of at most 1).
        noisy = layers.Rescaling(2.0)(layers.GaussianNoise(1.0)(layers.Rescaling(0.5)(logits)))
        code = layers.Activation("sigmoid")(noisy)
        h = layers.Dense(512, activation="relu")(code)
        outputs = layers.Dense(784, activation="sigmoid")(h)
        net = keras.Model(inputs, outputs)
    elif model == "vae":
        net = keras_io_vae(keras)
        net.compile(optimizer="adam")
        return net, False
    net.compile(optimizer="adam", loss="mse")
    return net, True


def keras_io_vae(keras):
    """The keras.io VAE pattern on the 784-512-256-32 MLP."""
    import tensorflow as tf
    from keras import layers, ops

    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * eps

    inputs = keras.Input((784,))
    h = layers.Dense(512, activation="relu")(inputs)
    h = layers.Dense(256, activation="relu")(h)
    z_mean = layers.Dense(32)(h)
    z_log_var = layers.Dense(32)(h)
    encoder = keras.Model(inputs, [z_mean, z_log_var, Sampling()([z_mean, z_log_var])])
    latent = keras.Input((32,))
    h = layers.Dense(256, activation="relu")(latent)
    h = layers.Dense(512, activation="relu")(h)
    decoder = keras.Model(latent, layers.Dense(784, activation="sigmoid")(h))

    class KerasIoVAE(keras.Model):
        def __init__(self, encoder, decoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder, self.decoder = encoder, decoder
            self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
            self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
            self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

        @property
        def metrics(self):
            return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

        def train_step(self, data):
            with tf.GradientTape() as tape:
                z_mean, z_log_var, z = self.encoder(data)
                reconstruction = self.decoder(z)
                per_pixel = keras.losses.binary_crossentropy(
                    ops.expand_dims(data, -1), ops.expand_dims(reconstruction, -1)
                )
                reconstruction_loss = ops.mean(ops.sum(per_pixel, axis=1))
                kl = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
                kl_loss = ops.mean(ops.sum(kl, axis=1))
                total_loss = reconstruction_loss + kl_loss
            grads = tape.gradient(total_loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
            self.total_loss_tracker.update_state(total_loss)
            self.reconstruction_loss_tracker.update_state(reconstruction_loss)
            self.kl_loss_tracker.update_state(kl_loss)
            return {m.name: m.result() for m in self.metrics}

    return KerasIoVAE(encoder, decoder)


def keras_ae_model(model, contender):
    """keras_ae's model for `model`, compiled as `contender` asks (XLA, batches per call)."""
    import keras_ae

    if contender.startswith("base_ae"):
        net = keras_ae.Autoencoder(input_shape=(784,), latent_dim=30, latent_activation="sigmoid")
    elif model == "dense":
        net = keras_ae.DeepAutoencoder(input_shape=(784,), latent_dim=30)
    elif model == "conv":
        net = keras_ae.ConvAutoencoder(input_shape=(28, 28, 1), latent_dim=16)
    elif model == "vae":
        net = keras_ae.VAE(input_shape=(784,), latent_dim=32)
    elif model == "contractive":
        net = keras_ae.ContractiveAutoencoder(input_shape=(784,), latent_dim=30)
    elif model == "hashing":
        net = keras_ae.SemanticHashingAE(input_shape=(784,), latent_dim=32)
    jit = True if "_xla" in contender else False if "_nojit" in contender else "auto"
    steps = 1 if contender.endswith("_spe1") else "auto"
    net.compile(optimizer="adam", jit_compile=jit, steps_per_execution=steps)
    return net


def pythae_model(model):
    """pythae's AE or VAE of `model`'s architecture, on PyTorch layers."""
    from pythae.models import AE, VAE, AEConfig, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from torch import nn

    class DenseEncoder(BaseEncoder):
        def __init__(self, latent, variational):
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU()
            )
            self.variational = variational
            self.head = nn.Linear(256, 2 * latent if variational else latent)

        def forward(self, x):
            out = self.head(self.body(x.reshape(x.shape[0], -1)))
            if self.variational:
                mean, log_var = out.chunk(2, dim=-1)
                return ModelOutput(embedding=mean, log_covariance=log_var)
            return ModelOutput(embedding=out)

    class DenseDecoder(BaseDecoder):
        def __init__(self, latent):
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(latent, 256),
                nn.ReLU(),
                nn.Linear(256, 512),
                nn.ReLU(),
                nn.Linear(512, 784),
                nn.Sigmoid(),
            )

        def forward(self, z):
            return ModelOutput(reconstruction=self.body(z))

    class ConvEncoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(1, 32, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(32, 64, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(7 * 7 * 64, 16),
            )

        def forward(self, x):
            return ModelOutput(embedding=self.body(x))

    class ConvDecoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.project = nn.Sequential(nn.Linear(16, 7 * 7 * 64), nn.ReLU())
            self.body = nn.Sequential(
                nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1),
                nn.ReLU(),
                nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1),
                nn.ReLU(),
                nn.Conv2d(32, 1, 3, padding=1),
                nn.Sigmoid(),
            )

        def forward(self, z):
            return ModelOutput(reconstruction=self.body(self.project(z).reshape(-1, 64, 7, 7)))

    if model == "dense":
        return AE(
            AEConfig(input_dim=(784,), latent_dim=30),
            encoder=DenseEncoder(30, False),
            decoder=DenseDecoder(30),
        )
    if model == "conv":
        return AE(
            AEConfig(input_dim=(1, 28, 28), latent_dim=16),
            encoder=ConvEncoder(),
            decoder=ConvDecoder(),
        )
    if model == "vae":
        return VAE(
            VAEConfig(input_dim=(784,), latent_dim=32, reconstruction_loss="bce"),
            encoder=DenseEncoder(32, True),
            decoder=DenseDecoder(32),
        )
    raise ValueError(f"pythae has no {model} model")
