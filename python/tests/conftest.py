"""Fixtures: seeded data, an embedded database in a temporary folder, a real `engram serve`."""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import engram

TOKEN = "py-t0k"


def rng(seed=0):
    return np.random.default_rng(seed)


def unit_rows(n, d, seed=0):
    x = rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def db(tmp_path):
    with engram.open(tmp_path / "db") as d:
        yield d


def _engram_bin():
    env = os.environ.get("ENGRAM_BIN")
    if env:
        return env
    # Without ctest: the build folder beside the package (PYTHONPATH=<build>/python).
    here = Path(engram.__file__).resolve().parent  # <build>/python/engram
    return str(here.parent.parent / "cli" / "engram")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A real server process on a free loopback port; yields its URL."""
    binary = _engram_bin()
    if not os.path.exists(binary):
        pytest.fail(f"engram binary not found at {binary}: set ENGRAM_BIN")
    folder = tmp_path_factory.mktemp("server")
    log_path = folder / "log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([binary, "serve", "--data", str(folder / "data"), "--port", "0",
                                 "--threads", "2", "--token", TOKEN], stdout=log, stderr=subprocess.STDOUT)
    try:
        port = None
        for _ in range(200):
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log_path.read_text())
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if port is None:
            pytest.fail("server did not start:\n" + log_path.read_text())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def remote(server):
    with engram.connect(server, token=TOKEN) as r:
        yield r
