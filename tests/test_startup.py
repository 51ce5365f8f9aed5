"""The README's first command ends in `python app.py`: it must serve the login page and print
a one-time setup link on a fresh instance folder, with no default account anywhere."""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    env = dict(os.environ, MARAC_INSTANCE=str(tmp_path / "instance"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Serving on"):
            break
    yield port, "".join(lines), tmp_path / "instance"
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()


def test_first_start_serves_login_and_prints_setup_link(server):
    port, output, instance = server
    assert f"Serving on http://127.0.0.1:{port}" in output, output
    match = re.search(r"http://127\.0\.0\.1:\d+(/setup/\S+)", output)
    assert match, output
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as r:  # noqa: S310 (loopback)
        body = r.read().decode()
        assert r.status == 200 and "Sign in" in body
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{match.group(1)}", timeout=10) as r:  # noqa: S310
        assert "Set up the first coordinator account" in r.read().decode()
    # A secret key and the database were created in the instance folder, not in the repo.
    assert (instance / "secret_key").exists() and (instance / "marac.db").exists()
    assert len((instance / "secret_key").read_text().strip()) >= 32


def test_send_reminders_command_sends_nothing_without_a_relay(tmp_path, monkeypatch, capsys):
    from marac.cli import main

    monkeypatch.setenv("MARAC_INSTANCE", str(tmp_path / "instance"))
    assert main(["send-reminders"]) == 0
    assert "MAIL_HOST is not set" in capsys.readouterr().out
