"""The real app served by waitress in a separate process, and a small signed-in HTTP client.

Used by the benchmark (bench/run.py) and the reliability drills (bench/drills/, tests/test_drills.py).
The server is `python app.py serve` with MARAC_INSTANCE pointing at a throw-away instance folder,
so it runs exactly as deployed: instance/config.py, migrations, start-up check, waitress settings.
"""
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CSRF_PATTERNS = (
    re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"'),
    re.compile(r'value="([^"]+)"[^>]*?name="csrf_token"'),
    re.compile(r'"X-CSRFToken":\s*"([^"]+)"'),
)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def write_instance(instance: Path, config: dict | None = None, database: Path | None = None) -> Path:
    """An instance folder: config.py with a fresh secret key plus `config`, and a copy of `database`."""
    instance = Path(instance)
    instance.mkdir(parents=True, exist_ok=True)
    # Many sessions of one account sign in within seconds, and a TOTP code works once: the second
    # factor is off here (it costs nothing per page once signed in, which is what is measured).
    settings = {"REQUIRE_SECOND_FACTOR": False, **(config or {})}
    lines = [f"SECRET_KEY = {secrets.token_hex(32)!r}"]
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    (instance / "config.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if database is not None:
        for suffix in ("-wal", "-shm"):
            Path(str(instance / "marac.db") + suffix).unlink(missing_ok=True)
        shutil.copyfile(database, instance / "marac.db")
    return instance


def database_path(instance: Path) -> Path:
    return Path(instance) / "marac.db"


def process_memory_mb(pid: int) -> dict:
    """Peak (VmHWM) and current (VmRSS) resident memory of a process, in MB (Linux /proc; psutil elsewhere)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
        values = {}
        for key in ("VmHWM", "VmRSS"):
            match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
            values[key] = int(match.group(1)) / 1024 if match else None
        return {"peak": values["VmHWM"], "current": values["VmRSS"]}
    except OSError:
        try:
            import psutil  # optional: only where /proc is missing
        except ImportError:
            return {"peak": None, "current": None}
        info = psutil.Process(pid).memory_info()
        return {"peak": getattr(info, "peak_wset", info.rss) / 2**20, "current": info.rss / 2**20}


class Server:
    """`python app.py serve` on a free loopback port, in its own process."""

    def __init__(self, instance: Path, port: int | None = None, threads: int | None = None):
        self.instance = Path(instance)
        self.port = port or free_port()
        self.threads = threads
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None
        self._out_lines: list[str] = []
        self._reader: threading.Thread | None = None
        self._err_file = None

    @property
    def address(self) -> tuple[str, int]:
        return HOST, self.port

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, timeout: float = 120) -> float:
        """Start the server; return the seconds from process start to "Serving on" (port bound)."""
        cmd = [sys.executable, str(ROOT / "app.py"), "serve", "--host", HOST, "--port", str(self.port)]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        env = dict(os.environ, MARAC_INSTANCE=str(self.instance), PYTHONUNBUFFERED="1")
        self._err_file = open(self.instance / "server.err", "ab")  # noqa: SIM115 (closed in _closed)
        started = time.perf_counter()
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self._err_file,
                                        stdin=subprocess.DEVNULL, text=True, encoding="utf-8")
        ready = threading.Event()

        def read():
            for line in self.process.stdout:
                self._out_lines.append(line)
                if line.startswith("Serving on"):
                    ready.set()
            self.process.stdout.close()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(timeout) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError(f"server did not start:\n{self.output()}")
        self.startup_seconds = time.perf_counter() - started
        return self.startup_seconds

    def output(self) -> str:
        """What the server printed (stdout and stderr so far)."""
        err = (self.instance / "server.err").read_text(encoding="utf-8", errors="replace") \
            if (self.instance / "server.err").exists() else ""
        return "".join(self._out_lines) + err

    def memory_mb(self) -> dict:
        return process_memory_mb(self.pid)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the crash drill)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
        self._closed()

    def stop(self) -> None:
        """Stop politely, then by force."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT if os.name != "nt" else signal.CTRL_BREAK_EVENT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._closed()

    def _closed(self) -> None:
        if self.process:
            self.process.wait()
        if self._reader:
            self._reader.join(5)
        if self._err_file:
            self._err_file.close()
            self._err_file = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


# --- a signed-in client ------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict
    text: str
    seconds: float = 0.0
    location: str = field(default="")


class Browser:
    """A tiny keep-alive HTTP client with a cookie jar and the CSRF token of its session."""

    def __init__(self, address: tuple[str, int], timeout: float = 30):
        self.address = address
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None
        self.email: str | None = None
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __del__(self):  # a drill that failed half-way must not leave a socket for the next test's warnings
        self.close()

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None,
                body: bytes | None = None) -> Response:
        """One request; a dropped keep-alive connection is retried once (for GET only)."""
        hdrs = {"Host": f"{self.address[0]}:{self.address[1]}"}
        if self.cookies:
            hdrs["Cookie"] = self.cookie_header()
        if data is not None:
            body = urlencode(data, doseq=True).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(*self.address, timeout=self.timeout)
            started = time.perf_counter()
            try:
                self._conn.request(method, path, body=body, headers=hdrs)
                raw = self._conn.getresponse()
                text = raw.read().decode("utf-8", errors="replace")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2 or method != "GET":
                    raise
                continue
            seconds = time.perf_counter() - started
            for name, value in raw.getheaders():
                if name.lower() == "set-cookie":
                    self._store_cookie(value)
            if raw.getheader("Connection", "").lower() == "close":
                self.close()
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, text, seconds,
                            raw.getheader("Location", ""))
        raise AssertionError("unreachable")

    def _store_cookie(self, value: str) -> None:
        first, *attrs = value.split(";")
        name, _, val = first.strip().partition("=")
        expired = any(a.strip().lower().startswith(("max-age=0", "expires=thu, 01 jan 1970")) for a in attrs)
        if expired or not val:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = val

    def get(self, path: str, **kw) -> Response:
        response = self.request("GET", path, **kw)
        token = find_csrf(response.text)
        if token:
            self.csrf = token
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kw) -> Response:
        data = dict(data or {})
        if csrf and self.csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf
        return self.request("POST", path, data=data, **kw)

    def login(self, email: str, password: str) -> None:
        """Sign in through the real form (GET for the CSRF token, POST), then pick up the new session's token."""
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        if response.status != 302:
            raise RuntimeError(f"sign-in as {email} failed: HTTP {response.status}")
        home = self.get("/")
        if home.status != 200 or not self.csrf:
            raise RuntimeError(f"after sign-in as {email}: HTTP {home.status}, no CSRF token")
        self.email = email


def find_csrf(html: str) -> str | None:
    for pattern in CSRF_PATTERNS:
        match = pattern.search(html)
        if match:
            return match.group(1)
    return None
