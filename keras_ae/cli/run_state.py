"""The crash-consistent record of a `keras-ae train` run, which `--resume` restores.

`RunState` is the Keras callback that commits each finished epoch (weights,
optimizer state and the whole history) in one rename, derives the run's
`model.keras` and `history.csv` from that commit, and on `--resume` brings
them level and removes only the leftovers of an interrupted commit. It lives
with the command rather than in the library because its layout is the run
folder's and its messages speak of `--out`, `--resume` and `--lr`.
"""

import csv
import io
import json
import math
import re
import shutil
from pathlib import Path

import keras
import numpy as np

from keras_ae.cli.errors import TrainingDiverged, UsageError, read_json
from keras_ae.utils.files import atomic_output


class RunState(keras.callbacks.Callback):
    """The record of a `keras-ae train` run that `--resume` restores.

    At each epoch end the model, with its optimizer state, is saved to a new
    `state/epoch-NNNNNN.keras`; then `state/state.json` (that file's name, the
    count of finished epochs and the whole history) replaces the previous one
    in one rename, which is the commit. `model.keras` and `history.csv` are
    copies derived from the committed state. A process killed at any moment
    leaves the previous commit or the new one; `recover` brings the derived
    files level with it and removes what an interrupted commit left behind
    (the package's own staging files and uncommitted epoch files only).
    A non-finite loss or weight is never committed.

    Args:
        out: the run folder.
    """

    _EPOCH_FILE = re.compile(r"epoch-\d{6}\.keras")
    # atomic_output's staging folders: ".<name>.<random>.partial"
    _STAGING = re.compile(
        r"\.(model\.keras|history\.csv|run\.json|state\.json|scaler\.json|"
        r"epoch-\d{6}\.keras)\.\w+\.partial"
    )

    def __init__(self, out):
        super().__init__()
        self.out = Path(out)
        self.dir = self.out / "state"
        self.file = self.dir / "state.json"
        self.epochs, self.history, self.weights = 0, [], None

    def check_fresh(self):
        """Refuses to start a run over files that a fresh run would replace."""
        for name in ("state", "model.keras", "history.csv"):
            if (self.out / name).exists():
                raise UsageError(
                    f"{self.out} already holds {name} but no run.json; choose "
                    "another --out (a new run would replace it)"
                )

    def recover(self):
        """Reads the last commit; rewrites model.keras and history.csv from it
        where they differ and removes leftovers of an interrupted commit."""
        if self.file.is_file():
            record = read_json(self.file)
            try:
                self.epochs, self.history = int(record["epochs"]), list(record["history"])
                self.weights = self.dir / record["model"]
                ok = (
                    self._EPOCH_FILE.fullmatch(record["model"])
                    and self.weights.is_file()
                    and len(self.history) == self.epochs
                )
            except (KeyError, TypeError, ValueError):
                ok = False
            if not ok:
                raise UsageError(
                    f"{self.file} does not describe a run keras-ae wrote (epochs, "
                    "history and a state/epoch-NNNNNN.keras file that exists)"
                )
            restored = self._derive()
            if restored:
                print(
                    f"brought {' and '.join(restored)} level with the run's last finished "
                    f"epoch ({self.epochs}); the previous run stopped before writing them"
                )
        elif (self.out / "model.keras").exists() or (self.out / "backup").exists():
            raise UsageError(
                f"{self.out} holds no {self.file.relative_to(self.out)}: it was "
                "started by an older keras-ae whose backup --resume no longer "
                "reads; its model.keras is kept, start again with another --out"
            )
        self._clean()

    def restore(self, model):
        """Loads the committed weights and optimizer state into `model`."""
        if self.weights is not None:
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            model.load_weights(str(self.weights))

    def kept(self):
        """Says what a stopped run keeps (for its error message)."""
        if not self.epochs:
            return "no epoch finished, so nothing was saved"
        return f"model.keras and the run's state keep epoch {self.epochs}, the last good one"

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if not bad and not all(np.isfinite(w).all() for w in self.model.get_weights()):
            bad = {"weights": "non-finite"}
        if bad:
            raise TrainingDiverged(
                f"training stopped at the end of epoch {epoch + 1}: "
                f"{bad}; {self.kept()} (a smaller --lr may help)"
            )
        if epoch != self.epochs:
            raise RuntimeError(f"epoch {epoch} follows the {self.epochs} recorded")
        weights = self.dir / f"epoch-{epoch + 1:06d}.keras"
        self.model.save(weights)
        history = [*self.history, {"epoch": epoch, **logs}]
        with atomic_output(self.file) as staged:  # the commit
            staged.write_text(
                json.dumps(
                    {"epochs": epoch + 1, "model": weights.name, "history": history}, indent=1
                )
            )
        self.epochs, self.history, self.weights = epoch + 1, history, weights
        self._derive()
        self._clean()

    def _derive(self):
        """Writes model.keras and history.csv from the state where they differ;
        returns the names of those it rewrote."""
        rewritten = []
        model_file = self.out / "model.keras"
        if not model_file.is_file() or model_file.read_bytes() != self.weights.read_bytes():
            with atomic_output(model_file) as staged:
                shutil.copyfile(self.weights, staged)
            rewritten.append(model_file.name)
        history_file = self.out / "history.csv"
        text = _history_csv(self.history)
        if not history_file.is_file() or history_file.read_text() != text:
            with atomic_output(history_file) as staged:
                staged.write_text(text)
            rewritten.append(history_file.name)
        return rewritten

    def _clean(self):
        """Removes the staging folders and uncommitted epoch files the package
        left behind; nothing else is touched."""
        for folder in (self.out, self.dir):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.is_dir() and not path.is_symlink() and self._STAGING.fullmatch(path.name):
                    shutil.rmtree(path, ignore_errors=True)
                elif (
                    folder == self.dir
                    and self._EPOCH_FILE.fullmatch(path.name)
                    and path.is_file()
                    and path != self.weights
                ):
                    path.unlink()


def _history_csv(rows):
    """history.csv as keras.callbacks.CSVLogger writes it: epoch, then the
    metrics in sorted order, one row per finished epoch."""
    buffer = io.StringIO()
    keys = sorted({k for row in rows for k in row} - {"epoch"})
    writer = csv.DictWriter(buffer, fieldnames=["epoch", *keys], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
