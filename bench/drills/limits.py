"""Drill 35b: an oversize request body gets 413; idle keep-alive connections do not lock new users out.

With the connection limit filled by idle connections (some after a request, some silent), a new
user is served once waitress closes the idle ones: within CHANNEL_TIMEOUT plus its idle check
(marac/cli.py runs it every few seconds), not the minutes waitress's defaults allow.
"""
import socket
import time
from pathlib import Path

from bench.drills.common import fetch, prepare
from bench.server import HOST


def cleanup_interval(channel_timeout: int) -> int:
    """How often waitress looks for idle connections (marac/cli.py)."""
    return max(1, min(5, channel_timeout))


def raw_request(address, head: str, timeout: float = 10) -> tuple[str, float]:
    """Send request headers only; return the status line and the seconds it took."""
    started = time.perf_counter()
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(head.encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace"), time.perf_counter() - started


def idle_connections(address, count: int) -> list[socket.socket]:
    """Open idle connections: first a third that finish one keep-alive request, then the rest, which never
    send anything (opening those never waits, so the limit fills at once)."""
    sockets = []
    for n in range(count):
        sock = socket.create_connection(address, timeout=10)
        if n < count // 3:
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n\r\n".encode())
            received = b""
            while not received.endswith(b"ok"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        sockets.append(sock)
    return sockets


def run(folder: Path, max_content_length: int = 1024 * 1024, connection_limit: int = 20, channel_timeout: int = 3,
        log=print) -> dict:
    borough = prepare(folder, {"MAX_CONTENT_LENGTH": max_content_length, "CONNECTION_LIMIT": connection_limit,
                               "CHANNEL_TIMEOUT": channel_timeout})
    problems: list[str] = []
    result = {"drill": "limits"}
    server = borough.server()
    server.start()
    address = (HOST, server.port)
    try:
        # 1. A body over MAX_CONTENT_LENGTH (but under waitress's own limit): the app's 413 page.
        from bench.server import Browser

        browser = Browser(address)
        try:
            response = browser.request("POST", "/login", body=b"a=" + b"x" * (max_content_length + 1024),
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        finally:
            browser.close()
        result["app_413"] = response.status
        if response.status != 413:
            problems.append(f"a body over MAX_CONTENT_LENGTH got HTTP {response.status}, not 413")
        # 2. A declared body far over the limit: refused before it is read.
        huge = max_content_length + 64 * 1024 * 1024
        head = (f"POST /login HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {huge}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        status_line, _seconds = raw_request(address, head)
        result["declared_413"] = status_line
        if " 413 " not in status_line + " ":
            problems.append(f"a declared {huge // 2**20} MB body got '{status_line}', not 413")
        # 3. Idle connections below the limit change nothing for a new user.
        some = idle_connections(address, connection_limit // 2)
        started = time.perf_counter()
        status = fetch(address, "/login").status
        result["below_limit_s"] = round(time.perf_counter() - started, 2)
        for sock in some:
            sock.close()
        if status != 200 or result["below_limit_s"] > 1.0:
            problems.append(f"with idle connections below the limit a new user waited {result['below_limit_s']}s "
                            f"(HTTP {status})")
        time.sleep(0.5)  # waitress drops connections the client closed at once
        # 4. The limit filled with idle connections: a new user is served once they time out.
        idle = idle_connections(address, connection_limit + 2)
        started = time.perf_counter()
        filled = "reached the connection limit" in server.output()
        bound = channel_timeout + cleanup_interval(channel_timeout) + 3
        try:
            status = fetch(address, "/login", timeout=bound + 30).status
        except Exception as exc:
            status = repr(exc)
        result["over_limit_s"] = round(time.perf_counter() - started, 2)
        for sock in idle:
            sock.close()
        result["limit_reached"] = filled or "reached the connection limit" in server.output()
        if not result["limit_reached"]:
            problems.append("the idle connections did not fill the connection limit (waitress said nothing)")
        if status != 200 or result["over_limit_s"] > bound:
            problems.append(f"with the connection limit filled by idle connections a new user waited "
                            f"{result['over_limit_s']}s (bound {bound}s), HTTP {status}")
    finally:
        server.stop()
    result["problems"] = problems
    log(f"limits: oversize body HTTP {result.get('app_413')}, declared huge body '{result.get('declared_413')}', "
        f"new user with idle connections below the limit {result.get('below_limit_s')}s, with the limit filled "
        f"{result.get('over_limit_s')}s (channel_timeout {channel_timeout}s); problems: {len(problems)}")
    return result
