"""Presets from anywhere (issue 26 item 3): folders, http(s) URLs and hf:// load
the same verified entry; bad input is refused and leaves nothing in the cache;
`keras-ae zoo pack` of a `keras-ae train` run is re-measured by `zoo evaluate`.

URLs are served from 127.0.0.1 by http.server in a thread; `hf://` by a local
server speaking the Hub's file download protocol (HF_ENDPOINT points at it).
"""

import base64
import hashlib
import http.server
import json
import multiprocessing
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from keras_ae import cli, zoo
from keras_ae.models import DeepAutoencoder, SparseAutoencoder
from keras_ae.zoo import remote

CARD = {"license": "mit", "figures": {"mse": 0.25}, "description": "a tiny test entry"}


@pytest.fixture(autouse=True)
def keras_home(tmp_path, monkeypatch):
    """A fresh Keras cache folder per test; no proxy between us and 127.0.0.1."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return tmp_path / "keras_home"


def cached(home):
    """What the cache holds besides lock files: entry folders and any leftover."""
    root = home / "keras_ae" / "presets"
    names = root.iterdir() if root.is_dir() else ()
    return sorted(p.name for p in names if not p.name.endswith(".lock"))


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    """A tiny entry of one's own, with the figure its author reported."""
    model = DeepAutoencoder(input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0)
    folder = tmp_path_factory.mktemp("zoo") / "tiny_ae"
    zoo.save_preset(model, folder, card=CARD)
    return folder


class Server:
    """Serves a folder on 127.0.0.1; counts GETs per path; `cut` paths send half
    their bytes under a full Content-Length; `slow` paths wait first."""

    def __init__(self, root, hub=False):
        self.root, self.hub, self.gets, self.cut, self.slow = Path(root), hub, {}, set(), set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self):
                server.respond(self, body=False)

            def do_GET(self):
                server.respond(self, body=True)

            def do_POST(self):
                server.receive(self)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    COMMIT = "a" * 40

    def respond(self, h, body):
        path = h.path.split("?")[0]
        if self.hub:  # /{owner}/{repo}/resolve/{revision}/{file}
            parts = path.strip("/").split("/", 4)
            if len(parts) < 5 or parts[2] != "resolve":
                h.send_response(404)
                h.send_header("X-Error-Code", "RepoNotFound")
                h.end_headers()
                return
            path = "/" + parts[4]
        file = self.root / path.lstrip("/")
        if not file.is_file():
            h.send_response(404)
            h.send_header("X-Error-Code", "EntryNotFound")
            h.send_header("X-Repo-Commit", self.COMMIT)
            h.end_headers()
            return
        data = file.read_bytes()
        if body:
            self.gets[path] = self.gets.get(path, 0) + 1
        if path in self.slow and body:
            time.sleep(0.5)
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        if self.hub:
            h.send_header("X-Repo-Commit", self.COMMIT)
            h.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        h.end_headers()
        if body:
            h.wfile.write(data[: len(data) // 2] if path in self.cut else data)
            if path in self.cut:
                h.close_connection = True

    def receive(self, h):
        """The Hub's upload API as `HfApi.upload_folder` calls it: create the
        repository, validate the card, ask each file's upload mode (all
        "regular": inline in the commit), then the NDJSON commit, stored."""
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if h.headers.get("Transfer-Encoding") == "chunked":
            while size := int(h.rfile.readline().strip(), 16):
                body += h.rfile.read(size)
                h.rfile.readline()
            h.rfile.readline()
        path = h.path.split("?")[0]
        if path == "/api/repos/create":
            reply = {"url": f"{self.url}/someone/pushed", "name": "someone/pushed"}
        elif path == "/api/validate-yaml":
            reply = {"errors": [], "warnings": []}
        elif "/preupload/" in path:
            files = json.loads(body)["files"]
            modes = [dict(path=f["path"], uploadMode="regular", shouldIgnore=False) for f in files]
            reply = {"files": modes}
        elif "/commit/" in path:
            for line in body.splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    file = self.root / item["value"]["path"]
                    file.parent.mkdir(parents=True, exist_ok=True)
                    file.write_bytes(base64.b64decode(item["value"]["content"]))
            reply = {"commitUrl": f"{self.url}/someone/pushed/commit/{self.COMMIT}"}
            reply["commitOid"] = self.COMMIT
        else:
            reply = None
        data = json.dumps(reply or {}).encode()
        h.send_response(200 if reply else 404)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(entry, tmp_path):
    """The entry's folder served at `<url>/zoo/tiny_ae` (a copy, to tamper with)."""
    root = tmp_path / "www"
    shutil.copytree(entry, root / "zoo" / "tiny_ae")
    server = Server(root)
    yield server, f"{server.url}/zoo/tiny_ae", root / "zoo" / "tiny_ae"
    server.close()


def outputs(model):
    x = np.linspace(0, 1, 16, dtype="float32").reshape(2, 8)
    return model.reconstruct(x)


# ------------------------------------------------------------------ loading
def test_folder_url_and_from_preset_load_the_same_model(entry, served, keras_home):
    server, url, _ = served
    local = zoo.load(entry)
    by_url = zoo.load(url)
    np.testing.assert_array_equal(outputs(by_url), outputs(local))
    assert isinstance(DeepAutoencoder.from_preset(url + "/"), DeepAutoencoder)
    assert isinstance(DeepAutoencoder.from_preset(str(entry)), DeepAutoencoder)
    with pytest.raises(ValueError, match="not a SparseAutoencoder"):
        SparseAutoencoder.from_preset(url)
    # one verified copy, fetched once; later loads read the cache
    (folder,) = cached(keras_home)
    assert server.gets["/zoo/tiny_ae/model.weights.h5"] == 1
    assert zoo.locate(url)[0].name == folder
    assert zoo.info(url)["metrics"][0]["value"] == 0.25
    server.close()  # offline: the verified copy in the cache, said so
    with pytest.warns(UserWarning, match="the download failed .* loading the copy cached in"):
        assert isinstance(zoo.load(url), DeepAutoencoder)


def test_a_copy_changed_in_the_cache_is_not_trusted(entry, served, keras_home):
    """A self-consistent entry planted under the cache name of a URL (other
    weights, metadata to match) is fetched over again, not loaded."""
    server, url, _ = served
    expected = outputs(zoo.load(url))
    (name,) = cached(keras_home)
    copy = keras_home / "keras_ae" / "presets" / name
    other = DeepAutoencoder(input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=1)
    planted = keras_home / "planted"
    zoo.save_preset(other, planted, card=CARD)
    shutil.rmtree(copy)
    planted.rename(copy)
    assert not np.array_equal(outputs(zoo.load(copy)), expected)
    np.testing.assert_array_equal(outputs(zoo.load(url)), expected)
    assert server.gets["/zoo/tiny_ae/model.weights.h5"] == 2


def test_presets_lists_the_bundled_entries_of_the_class():
    from keras_ae.models import VAE, VARIANTS, Autoencoder

    names = VAE.presets  # a VAE's or a subclass's (VAE.from_preset loads those too)
    assert names and all(issubclass(VARIANTS[zoo.info(n)["variant"]], VAE) for n in names)
    assert "vae50_mnist" in names and "conv_ae16_mnist" not in names
    assert set(names) < set(Autoencoder.presets) == set(zoo.list_models())


def test_tampered_file_on_the_server_is_refused(served, keras_home):
    _, url, folder = served
    weights = folder / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(zoo.ChecksumError, match=r"model.weights.h5: sha256 \w+ does not match"):
        zoo.load(url)
    assert cached(keras_home) == []  # nothing half-written


def test_download_cut_short_is_refused(served, keras_home):
    server, url, _ = served
    server.cut.add("/zoo/tiny_ae/model.weights.h5")
    with pytest.raises(zoo.ZooError, match=r"cut short \(\d+ of \d+ bytes\)"):
        zoo.load(url)
    assert cached(keras_home) == []


def test_metadata_listing_a_path_outside_the_entry_is_refused(served, keras_home, tmp_path):
    _, url, folder = served
    meta = json.loads((folder / "metadata.json").read_text())
    meta["files"]["../../outside.txt"] = "0" * 64
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(zoo.ZooError, match="'../../outside.txt', a path outside the entry"):
        zoo.load(url)
    assert cached(keras_home) == []
    assert not list(tmp_path.rglob("outside.txt"))


def _fetch(url, home, queue):
    import os

    os.environ["KERAS_HOME"] = home
    try:
        queue.put(str(remote.fetch_url(url)))
    except Exception as e:  # reported to the test
        queue.put(repr(e))


def test_two_processes_fetching_one_url_share_one_copy(served, keras_home):
    server, url, _ = served
    server.slow.add("/zoo/tiny_ae/model.weights.h5")  # both start before either finishes
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_fetch, args=(url, str(keras_home), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert got[0] == got[1] and Path(got[0]).is_dir(), got
    assert cached(keras_home) == [Path(got[0]).name]
    assert server.gets["/zoo/tiny_ae/model.weights.h5"] == 1
    assert isinstance(zoo.load(url), DeepAutoencoder)


# ------------------------------------------------------------------ hf://
@pytest.fixture
def hub_server(entry, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    server = Server(entry, hub=True)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf_cache"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    yield server
    server.close()


def test_hf_uri_loads_through_the_hub_protocol(entry, hub_server, keras_home):
    model = zoo.load("hf://someone/tiny_ae")
    np.testing.assert_array_equal(outputs(model), outputs(zoo.load(entry)))
    at_commit = f"hf://someone/tiny_ae@{Server.COMMIT}"
    assert isinstance(DeepAutoencoder.from_preset(at_commit), DeepAutoencoder)
    (folder,) = cached(keras_home)  # one copy per commit, however it was named
    assert Server.COMMIT in folder
    with pytest.raises(zoo.ZooError, match="hf://owner/repo"):
        zoo.load("hf://no-repo-here")


def test_push_then_load_through_the_hub_protocol(entry, tmp_path, monkeypatch, capsys):
    pytest.importorskip("huggingface_hub")
    (tmp_path / "repo").mkdir()
    server = Server(tmp_path / "repo", hub=True)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf_cache"))
    try:
        code, out = run(capsys, "zoo", "push", entry, "hf://someone/pushed")
        assert code == 0 and f"/someone/pushed/commit/{Server.COMMIT}" in out, out
        pushed = sorted(p.name for p in (tmp_path / "repo").iterdir())
        assert pushed == sorted([*zoo.info(entry)["files"], "metadata.json"])
        model = zoo.load("hf://someone/pushed")
    finally:
        server.close()
    np.testing.assert_array_equal(outputs(model), outputs(zoo.load(entry)))


def test_missing_huggingface_hub_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(zoo.ZooError, match=r"keras_ae\[hub\]"):
        zoo.load("hf://someone/tiny_ae")


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "preset, message",
    [
        (42, "a preset is a zoo name"),
        ("", "a preset is a zoo name"),
        ("ftp://example.org/x", "ftp:// is not a supported scheme"),
        ("no/such/folder", "no such folder"),
        ("vae50_mnst", "did you mean 'vae50_mnist'"),
    ],
)
def test_a_preset_of_none_of_the_forms_is_refused(preset, message):
    with pytest.raises(zoo.ZooError, match=message):
        zoo.load(preset)


def test_a_card_without_figures_is_refused_and_nothing_written(tmp_path):
    model = DeepAutoencoder(input_shape=(8,), latent_dim=2, hidden_units=(16,))
    with pytest.raises(zoo.ZooError, match="a card without figures"):
        zoo.save_preset(model, tmp_path / "e", card={"license": "mit"})
    with pytest.raises(zoo.ZooError, match="must be a finite number"):
        zoo.save_preset(model, tmp_path / "e", card={"figures": {"mse": float("nan")}})
    with pytest.raises(zoo.ZooError, match="card takes description, license"):
        zoo.save_preset(model, tmp_path / "e", card={"licence": "mit", "figures": {"mse": 1}})
    with pytest.raises(zoo.ZooError, match="takes a built keras_ae model"):
        zoo.save_preset(object(), tmp_path / "e", card=CARD)
    assert not (tmp_path / "e").exists() and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ pack
def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_pack_of_a_train_run_is_reproduced_by_zoo_evaluate(tmp_path, capsys):
    rows = np.random.default_rng(0).normal(size=(160, 6))
    table = tmp_path / "table.csv"
    np.savetxt(table, rows, delimiter=",", header="a,b,c,d,e,f", comments="", fmt="%.5f")
    run_dir, folder = tmp_path / "run", tmp_path / "my_ae"
    code, out = run(
        capsys, "train", "DeepAutoencoder", "--dataset", f"csv:{table}", "--epochs", "1",
        "--validation-split", "0.25", "--latent-dim", "2", "--param", "hidden_units=(16,)",
        "--out", run_dir, "--verbose", "0",
    )  # fmt: skip
    assert code == 0, out
    code, out = run(capsys, "zoo", "pack", run_dir, "--out", folder, "--license", "cc-by-4.0")
    assert code == 0, out
    meta = zoo.info(folder)
    figures = {m["name"]: m["value"] for m in meta["metrics"]}
    assert set(figures) == {"mse", "loss", "reconstruction_loss"}
    assert meta["split"]["samples"] == 40  # the run's validation split
    card = (folder / "README.md").read_text()
    for text in ("license: cc-by-4.0", "## Intended use", "keras-ae zoo evaluate", "| mse |"):
        assert text in card
    assert f"{figures['mse']:.6g}" in card and "scaler.json" in meta["files"]

    code, out = run(capsys, "zoo", "evaluate", folder)
    assert code == 0, out
    assert out.count(" ok") == 3 and "0 differ from the card" in out

    server = Server(tmp_path)  # the same entry by URL, re-measured from the cache
    try:
        code, out = run(capsys, "zoo", "evaluate", f"{server.url}/my_ae")
    finally:
        server.close()
    assert code == 0 and "0 differ from the card" in out, out

    # evaluate really re-measures: a card whose figure was changed differs
    meta_file = folder / "metadata.json"
    changed = json.loads(meta_file.read_text())
    changed["metrics"][0]["value"] *= 1.5
    meta_file.write_text(json.dumps(changed))
    code, out = run(capsys, "zoo", "evaluate", folder)
    assert code == 1 and "DIFFERS" in out

    # a run record may only name a scaler that is one of the entry's own files
    changed["preprocessing"]["run"]["scaler"] = "../outside.json"
    meta_file.write_text(json.dumps(changed))
    code, out = run(capsys, "zoo", "evaluate", folder)
    assert code != 0 and "not one of the entry's checksummed files" in out, out


def test_pack_refuses_what_is_not_a_finished_run(tmp_path, capsys):
    code, out = run(capsys, "zoo", "pack", tmp_path, "--out", tmp_path / "e")
    assert code == 2 and "not a keras-ae train run folder (no run.json)" in out
    (tmp_path / "run.json").write_text("{}")
    with pytest.raises(zoo.ZooError, match="zoo pack"):
        zoo.load(tmp_path)  # a run folder given as a preset says how to pack it


def test_save_preset_measures_its_data_and_evaluate_agrees(tmp_path):
    rows = np.random.default_rng(1).normal(size=(120, 5))
    table = tmp_path / "t.csv"
    np.savetxt(table, rows, delimiter=",", header="a,b,c,d,e", comments="", fmt="%.5f")
    model = DeepAutoencoder(input_shape=(5,), latent_dim=2, hidden_units=(8,), seed=0)
    meta = zoo.save_preset(model, tmp_path / "mine", data=f"csv:{table}", card={"license": "mit"})
    assert meta["split"]["samples"] == 120  # a table without a test split: its rows
    results = zoo.evaluate(tmp_path / "mine")
    assert [r["name"] for r in results] == ["mse", "loss", "reconstruction_loss"]
    assert all(r["ok"] for r in results), results
    with pytest.raises(zoo.ZooError, match=r"gives model inputs of shape \[5\]"):
        zoo.save_preset(
            DeepAutoencoder(input_shape=(4,), latent_dim=2), tmp_path / "x", data=f"csv:{table}"
        )


def test_save_preset_names_bad_data_with_the_datasets_error(tmp_path):
    """save_preset is the Python API: a data source that is wrong raises
    keras_ae.datasets.DatasetError (a ValueError), not an exception class of
    the command line (the data record used to come from keras_ae.cli), and
    nothing is written."""
    from keras_ae.datasets import DatasetError

    model = DeepAutoencoder(input_shape=(5,), latent_dim=2, hidden_units=(8,), seed=0)
    for data, message in (
        (f"csv:{tmp_path / 'none.csv'}", "no such file"),
        ("photos", "'photos' is none of the forms"),
    ):
        with pytest.raises(DatasetError, match=message):
            zoo.save_preset(model, tmp_path / "mine", data=data, card={"license": "mit"})
    assert list(tmp_path.iterdir()) == []


def test_push_refuses_before_any_upload(entry, tmp_path):
    with pytest.raises(zoo.ZooError, match="expected hf://owner/repo"):
        zoo.push(entry, "https://example.org/repo")
    shutil.copytree(entry, tmp_path / "e")
    (tmp_path / "e" / "extra.txt").write_text("x")
    with pytest.raises(zoo.ZooError, match="not listed in metadata.json"):
        zoo.push(tmp_path / "e", "hf://someone/e")
