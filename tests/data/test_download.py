"""Downloads (data/download.py): checksums verified, files cached, failures one clear error,
a local folder in place of a download, and one cache folder."""

import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest

from vaekit import load_dataset, VaekitError
from vaekit.data.download import fetch, Remote
from vaekit.data.idx import load_idx_dataset, MNIST


def test_local_folder_override(fake_mnist, monkeypatch):
    monkeypatch.setenv("VAEKIT_MNIST_DIR", str(fake_mnist))
    d = load_dataset("mnist")
    assert d.train.shape == (40, 1, 28, 28) and d.test.shape == (20, 1, 28, 28)
    assert d.levels == 256 and d.train.dtype == np.uint8


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def http_server(fake_mnist):
    """Serve the fake MNIST folder on 127.0.0.1 (an ephemeral port); count the requests."""
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            hits.append(self.path)

    handler = partial(Handler, directory=str(fake_mnist))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", fake_mnist, hits
    server.shutdown()
    server.server_close()


def test_download_verifies_checksums_and_caches(http_server, tmp_path):
    url, folder, hits = http_server
    remote = Remote("fake", url, {f.name: _md5(f) for f in sorted(folder.iterdir())})
    d = load_idx_dataset(remote, directory=tmp_path / "cache")
    assert d.train.shape == (40, 1, 28, 28)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(remote.md5)
    n = len(hits)
    load_idx_dataset(remote, directory=tmp_path / "cache")   # cached: no new requests
    assert len(hits) == n


def test_download_refuses_a_file_with_the_wrong_checksum(http_server, tmp_path):
    url, _, _ = http_server
    # the real MNIST checksums do not match the fake files served here
    with pytest.raises(VaekitError, match="failed its checksum"):
        fetch(MNIST, base_url=url, directory=tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("*.gz"))


def test_download_failure_is_one_clear_error(tmp_path):
    remote = Remote("gone", "http://127.0.0.1:9/", {"a.gz": "0" * 32})  # discard port
    with pytest.raises(VaekitError, match="could not download a.gz"):
        fetch(remote, directory=tmp_path)


def test_one_cache_folder_for_downloads_and_classifiers(monkeypatch, tmp_path):
    from vaekit import fid
    from vaekit.data import download
    assert fid.cache_dir is download.cache_dir
    monkeypatch.delenv("VAEKIT_CACHE", raising=False)
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "old"))       # the name before 0.4
    assert download.cache_dir() == tmp_path / "old"
    monkeypatch.setenv("VAEKIT_CACHE", str(tmp_path / "new"))      # wins when both are set
    assert download.cache_dir() == tmp_path / "new"
