"""`python -m keras_ae.cli`: the `keras-ae` command run as a module."""

import sys

from keras_ae.cli import main

if __name__ == "__main__":  # importing this module (a docs or module walk) runs nothing
    sys.exit(main())
