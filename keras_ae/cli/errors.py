"""What the `keras-ae` command reports as an error, and how it reads its own records.

Two kinds of failure end a command with one line on stderr and no traceback:
`UsageError` (bad input: an unknown name, a missing file, a bad argument;
exit code 2) and `TrainingDiverged` (a training run whose loss or weights
turned non-finite; exit code 1). `read_json` reads a JSON file the package
wrote (run.json, state.json) and names the file when it was damaged.
"""

import json
from pathlib import Path


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit code 2."""


class TrainingDiverged(Exception):
    """Training met a non-finite loss or weights: one line, exit code 1."""


def read_json(path):
    """A JSON file the package wrote; an unreadable one is named in the error."""
    try:
        return json.loads(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(
            f"{path} is not valid JSON ({e}); it was changed or damaged outside keras-ae"
        ) from None
