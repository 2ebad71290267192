"""`python -m keras_ae.cli`: the `keras-ae` command run as a module."""

import sys

from keras_ae.cli import main

sys.exit(main())
