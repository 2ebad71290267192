"""Layers the conv networks use in place of Keras's own."""

import keras


@keras.saving.register_keras_serializable(package="keras_ae", name="Conv2D")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D`, computed faster when it reduces channels.

    On TensorFlow, a stride-1 `"same"` convolution with an odd kernel and
    fewer output than input channels (a decoder's output layer: 32 -> 1 for
    MNIST) is computed as the transposed convolution with the kernel flipped
    and its channel axes swapped: the same function, up to float rounding,
    but TensorFlow's CPU kernels then take the forward pass and both
    gradients through their fast orientation. On this project's 2-core CPU
    the conv AE's 32 -> 1 output layer took 0.29x Keras's time forward +
    backward at batch 128 (`docs/benchmarks/conv_layers.md`); a one-off
    check of other 3x3 convolutions on 128 images of 28x28 gave 0.34x for
    32 -> 3 channels, 0.26x for 64 -> 1, 0.67x for 16 -> 8 and 0.80x for
    64 -> 32, but 1.17x for 32 -> 32 and 2.8x for 1 -> 32, which is why only
    channel-reducing layers take this path.
    Everything else (weights, their layout, config, other backends and
    shapes) is Keras's `Conv2D`, and the class keeps its name so saved
    weight files address it as before.
    """

    def _transposed_form(self, inputs, kernel):
        return (
            keras.backend.backend() == "tensorflow"
            and self.data_format == "channels_last"
            and self.padding == "same"
            and self.groups == 1
            and tuple(self.strides) == (1, 1)
            and tuple(self.dilation_rate) == (1, 1)
            and all(k % 2 == 1 for k in self.kernel_size)
            and kernel.shape[-1] < kernel.shape[-2]
        )

    def convolution_op(self, inputs, kernel):
        if not self._transposed_form(inputs, kernel):
            return super().convolution_op(inputs, kernel)
        import tensorflow as tf

        # conv2d(x, k)[i, j, o] = sum_{a, b, c} x[i + a - r, j + b - s, c] k[a, b, c, o], and
        # conv2d_transpose(x, f) correlates x with f flipped in space, its channel axes read
        # as (out, in): so f = k flipped in space, channel axes swapped.
        flipped = tf.transpose(tf.reverse(kernel, axis=[0, 1]), [0, 1, 3, 2])
        shape = tf.concat([tf.shape(inputs)[:3], [tf.shape(kernel)[-1]]], axis=0)
        return tf.nn.conv2d_transpose(inputs, flipped, shape, strides=1, padding="SAME")
