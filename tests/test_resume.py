"""`keras-ae train --resume` after a crash at any moment (issue 23, item 2).

The windows a SIGKILL used to hit are rebuilt on disk, each as the crash
left it, then resumed; the last test kills a real training process at random
points and checks the run that comes out.
"""

import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_ae import cli

BATCHES = 2  # per epoch: --limit 64 at --batch-size 32


def args(out, data, *extra):
    return [
        "train",
        "Autoencoder",
        "--latent-dim",
        "2",
        "--limit",
        "64",
        "--batch-size",
        "32",
        "--param",
        "hidden_units=(8,)",
        "--out",
        str(out),
        "--data-dir",
        str(data),
        "--verbose",
        "0",
        *extra,
    ]


def epochs_in_history(out):
    with open(out / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def steps(path):
    """The optimizer's step count saved in a .keras file: the batches trained."""
    return int(keras.saving.load_model(path).optimizer.iterations)


def leftovers(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.partial"))


@pytest.fixture
def one_epoch(tmp_path, shared_data):
    """A run folder after one finished epoch."""
    out = tmp_path / "run"
    assert cli.main(args(out, shared_data, "--epochs", "1")) == 0
    return out


def test_killed_after_the_commit_model_keras_and_history_are_brought_level(
    one_epoch, shared_data, capsys
):
    """(a) Killed after the last epoch's backup, before model.keras: --resume
    used to say nothing was left to do and model.keras stayed an epoch behind."""
    out = one_epoch
    behind = {name: (out / name).read_bytes() for name in ("model.keras", "history.csv")}
    assert cli.main(args(out, shared_data, "--epochs", "2", "--resume")) == 0
    level = (out / "model.keras").read_bytes()
    for name, content in behind.items():  # what the kill left
        (out / name).write_bytes(content)
    capsys.readouterr()
    assert cli.main(args(out, shared_data, "--epochs", "2", "--resume")) == 0
    printed = capsys.readouterr().out
    assert (
        "brought model.keras and history.csv level with the run's last finished epoch (2)"
        in printed
    ), printed
    assert "nothing to do" in printed
    assert (out / "model.keras").read_bytes() == level
    assert epochs_in_history(out) == [0, 1]


def test_killed_between_weights_and_their_record_trains_no_extra_epoch(one_epoch, shared_data):
    """(b) Weights of epoch 2 saved, its record not: the resumed run used to
    take them for epoch 1's and train one epoch too many."""
    out = one_epoch
    shutil.copyfile(out / "model.keras", out / "state" / "epoch-000002.keras")  # uncommitted
    assert cli.main(args(out, shared_data, "--epochs", "3", "--resume")) == 0
    assert epochs_in_history(out) == [0, 1, 2]
    assert steps(out / "model.keras") == 3 * BATCHES  # each epoch trained once
    assert sorted(p.name for p in (out / "state").iterdir()) == ["epoch-000003.keras", "state.json"]


@pytest.mark.parametrize("name", ["state/state.json", "run.json"])
def test_a_truncated_record_is_named(one_epoch, shared_data, capsys, name):
    """(c) A truncated training_metadata.json failed every resume with
    "Expecting value: line 1 column 1 (char 0)", naming no file."""
    record = one_epoch / name
    record.write_text(record.read_text()[:7])
    capsys.readouterr()
    assert cli.main(args(one_epoch, shared_data, "--epochs", "2", "--resume")) == 2
    err = capsys.readouterr().err
    assert f"{record} is not valid JSON" in err, err
    assert len(err.strip().splitlines()) == 1


def test_killed_during_a_save_leaves_nothing_behind(one_epoch, shared_data):
    """(d) A kill during a checkpoint save left a .model.keras.*.partial/
    folder for good and history.csv lost that epoch's row."""
    out = one_epoch
    staged = [
        out / ".model.keras.k2x9a1b_.partial",
        out / ".history.csv.0pq81zzm.partial",
        out / "state" / ".epoch-000002.keras.a1b2c3d4.partial",
        out / "state" / ".state.json.w9w9w9w9.partial",
    ]
    for folder in staged:
        folder.mkdir()
        (folder / folder.name.split(".")[1]).write_bytes(b"PK\x03\x04 half a file")
    mine = [out / "notes.partial", out / ".mine.x.partial", out / "state" / "epoch-2.keras"]
    for path in mine:  # the user's own files, whatever their names, stay
        path.mkdir()
    assert cli.main(args(out, shared_data, "--epochs", "2", "--resume")) == 0
    assert not any(folder.exists() for folder in staged)
    assert all(path.is_dir() for path in mine)
    assert epochs_in_history(out) == [0, 1]
    assert keras.saving.load_model(out / "model.keras") is not None


def test_an_older_run_folder_or_a_folder_of_other_files_is_refused(tmp_path, shared_data, capsys):
    """A run folder from before the state record, or a folder holding a
    model.keras of the user's: resuming or starting a run there would replace
    model.keras and history.csv."""
    old = tmp_path / "old"
    (old / "backup").mkdir(parents=True)
    (old / "run.json").write_text(
        json.dumps(
            json.loads(
                json.dumps(
                    {
                        "variant": "Autoencoder",
                        "dataset": "mnist",
                        "latent_dim": 2,
                        "network": None,
                        "batch_size": 32,
                        "lr": 1e-3,
                        "limit": 64,
                        "seed": 0,
                        "params": {"hidden_units": [8]},
                    }
                )
            )
        )
    )
    (old / "model.keras").write_bytes(b"the user's")
    assert cli.main(args(old, shared_data, "--epochs", "2", "--resume")) == 2
    assert "started by an older keras-ae" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "model.keras").write_bytes(b"the user's")
    assert cli.main(args(mine, shared_data, "--epochs", "1")) == 2
    assert "already holds model.keras but no run.json" in capsys.readouterr().err
    assert (
        (old / "model.keras").read_bytes() == (mine / "model.keras").read_bytes() == b"the user's"
    )


def test_a_diverging_run_stops_and_keeps_its_last_good_epoch(
    tmp_path, shared_data, capsys, monkeypatch
):
    """--lr 1e30 used to train on through NaN, save NaN weights and exit 0."""
    out = tmp_path / "nan"
    code = cli.main(args(out, shared_data, "--epochs", "3", "--lr", "1e30"))
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "training stopped" in err and "epoch 1" in err and "nothing was saved" in err, err
    assert not (out / "model.keras").exists()
    # ... and the advice (a smaller --lr) can be taken in the same folder
    assert cli.main(args(out, shared_data, "--epochs", "1", "--lr", "1e-3")) == 0
    assert "starting afresh" in capsys.readouterr().out
    assert json.loads((out / "run.json").read_text())["lr"] == 1e-3
    assert epochs_in_history(out) == [0]

    # a run that diverges in its second epoch keeps the first
    class BlowUp(keras.callbacks.Callback):  # stands in for TensorBoard, after RunState
        def __init__(self, log_dir):
            super().__init__()

        def on_epoch_end(self, epoch, logs=None):
            self.model.optimizer.learning_rate.assign(1e30)

    monkeypatch.setattr(keras.callbacks, "TensorBoard", BlowUp)
    out = tmp_path / "late"
    code = cli.main(args(out, shared_data, "--epochs", "3"))
    err = capsys.readouterr().err
    assert code == 1, err
    assert "training stopped" in err and "of epoch 2" in err and "keep epoch 1" in err, err
    assert epochs_in_history(out) == [0]
    kept = keras.saving.load_model(out / "model.keras")
    assert all(np.isfinite(w).all() for w in kept.get_weights())
    assert steps(out / "model.keras") == BATCHES


def test_non_finite_weights_are_never_committed(tmp_path):
    """A finite epoch loss can hide weights the last step made non-finite."""
    from keras_ae.models import Autoencoder

    model = Autoencoder(input_shape=(4,), latent_dim=2)
    model.compile(optimizer="adam")
    weights = model.get_weights()
    weights[0][0, 0] = np.inf
    model.set_weights(weights)
    state = cli.RunState(tmp_path)
    state.set_model(model)
    with pytest.raises(cli.TrainingDiverged, match="weights"):
        state.on_epoch_end(0, {"loss": 1.0})
    assert list(tmp_path.iterdir()) == []


def committed(out):
    """Epochs in the run's record (which must parse whenever it exists)."""
    record = out / "state" / "state.json"
    return json.loads(record.read_text())["epochs"] if record.exists() else 0


def test_sigkill_at_random_points_then_resume(tmp_path, shared_data):
    """A real `keras-ae train` killed at random moments and resumed each time
    ends as an uninterrupted run would: every epoch once, in history.csv and in
    the optimizer's step count, model.keras equal to the final state, no
    staging leftovers."""
    epochs, out = 40, tmp_path / "run"
    state = out / "state"  # between commits: state.json and the epoch file it names
    command = [
        sys.executable,
        "-m",
        "keras_ae.cli",
        *args(out, shared_data, "--epochs", str(epochs)),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rng = random.Random(23)
    kills, epoch_times = 0, []

    def run_until(process, target):
        """Waits until `target` epochs are committed or `process` ends, timing the
        epochs between two commits of this process (start-up not included)."""
        seen, last = committed(out), None
        while seen < target and process.poll() is None:
            time.sleep(0.002)
            now = committed(out)
            if now != seen:
                moment = time.monotonic()
                if last is not None:
                    epoch_times.append((moment - last) / (now - seen))
                seen, last = now, moment

    def sleep_in_epoch(process, seconds):
        """Sleeps up to `seconds`, ending once another epoch commits: an epoch
        time measured while the machine was busier (another test worker) is
        too long later on, and would let the run slip whole epochs by."""
        start, until = committed(out), time.monotonic() + seconds
        while time.monotonic() < until and committed(out) == start and process.poll() is None:
            time.sleep(0.002)

    while kills < 8:
        resume = ["--resume"] if (out / "run.json").exists() else []
        process = subprocess.Popen(
            command + resume, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # Training is under way (and, until an epoch was timed, one epoch is timed):
        # kill moments scale with this machine's epoch time, whatever its speed.
        run_until(process, committed(out) + (1 if epoch_times else 2))
        epoch = statistics.median(epoch_times) if epoch_times else 0.3
        if kills % 2:  # a moment of the next epoch's save and commit (state/ has more)
            # The window can be shorter than a poll: once an epoch commits unseen,
            # the kill falls early in the epoch after (the run must not finish here).
            start = committed(out)
            while (
                len(list(state.iterdir())) <= 2
                and committed(out) == start
                and process.poll() is None
            ):
                time.sleep(0.001)
            sleep_in_epoch(process, rng.uniform(0, 0.2 * epoch))
        else:  # any moment of the next epoch
            sleep_in_epoch(process, rng.uniform(0, epoch))
        if process.poll() is not None:
            break
        process.kill()
        process.wait()
        kills += 1
    assert kills == 8, f"the run finished after {kills} kills; give it more epochs"
    final = subprocess.run(
        command + ["--resume"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert final.returncode == 0, final.stderr[-2000:]

    assert committed(out) == epochs
    assert epochs_in_history(out) == list(range(epochs))
    model = keras.saving.load_model(out / "model.keras")
    assert int(model.optimizer.iterations) == epochs * BATCHES
    state_file = out / "state" / json.loads((out / "state" / "state.json").read_text())["model"]
    final_state = keras.saving.load_model(state_file)
    for a, b in zip(model.get_weights(), final_state.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert leftovers(out) == []
    assert sorted(p.name for p in (out / "state").iterdir()) == [state_file.name, "state.json"]
