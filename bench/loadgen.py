"""A small closed-loop HTTP load generator, run in its own process (`python -m bench.loadgen`).

It reads a JSON plan on stdin: {"host", "port", "concurrency", "duration", "warmup", "clients": [...]}
where each client is a list of requests {"method", "path", "headers", "body"} that the client
repeats in turn on one keep-alive connection, as fast as answers come back (no think time).
It prints one JSON result: requests, seconds, req_per_s, p50/p95/p99/max in ms, status counts,
and how many bodies said "database is locked". Only requests finished after the warm-up count.

asyncio in one process keeps the client cheap: on a 2-core machine the client must not steal
the server's CPU more than it has to.
"""
import asyncio
import json
import sys
import time


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def build_request(host: str, port: int, spec: dict) -> bytes:
    body = spec.get("body", "").encode()
    lines = [f"{spec.get('method', 'GET')} {spec['path']} HTTP/1.1", f"Host: {host}:{port}"]
    for name, value in (spec.get("headers") or {}).items():
        lines.append(f"{name}: {value}")
    if body or spec.get("method", "GET") != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server closes) for one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body = await reader.read()
        close = True
    return status, body, close


async def client(plan: dict, requests: list[bytes], stats: dict, start: float, measure_from: float, end: float):
    host, port = plan["host"], plan["port"]
    reader = writer = None
    i = 0
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        request = requests[i % len(requests)]
        i += 1
        sent = time.perf_counter()
        try:
            writer.write(request)
            await writer.drain()
            status, body, close = await read_response(reader)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            stats["connection_errors"] += 1
            stats["error_samples"].append(repr(exc)[:200])
            writer.close()
            writer = None
            await asyncio.sleep(0.01)
            continue
        done = time.perf_counter()
        if close:
            writer.close()
            writer = None
        if sent >= measure_from:
            stats["latencies"].append(done - sent)
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
            if status >= 500 or b"database is locked" in body:
                if b"database is locked" in body:
                    stats["locked"] += 1
                if len(stats["error_samples"]) < 5:
                    stats["error_samples"].append(f"HTTP {status}: {body[:200]!r}")
            stats["bytes"] += len(body)
    if writer is not None:
        writer.close()


async def run(plan: dict) -> dict:
    host, port = plan["host"], plan["port"]
    concurrency = plan.get("concurrency", 16)
    clients = plan["clients"]
    built = [[build_request(host, port, spec) for spec in clients[n % len(clients)]] for n in range(concurrency)]
    stats = {"latencies": [], "statuses": {}, "locked": 0, "connection_errors": 0, "error_samples": [], "bytes": 0}
    start = time.perf_counter()
    measure_from = start + plan.get("warmup", 1.0)
    end = measure_from + plan["duration"]
    await asyncio.gather(*(client(plan, reqs, stats, start, measure_from, end) for reqs in built))
    seconds = time.perf_counter() - measure_from
    lat = sorted(stats["latencies"])
    ms = [v * 1000 for v in lat]
    return {
        "requests": len(lat),
        "seconds": round(seconds, 3),
        "req_per_s": round(len(lat) / seconds, 1) if seconds > 0 else 0,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1] if ms else None,
        "statuses": {str(k): v for k, v in sorted(stats["statuses"].items())},
        "locked": stats["locked"],
        "connection_errors": stats["connection_errors"],
        "error_samples": stats["error_samples"][:5],
        "mean_bytes": round(stats["bytes"] / len(lat)) if lat else 0,
    }


def main() -> int:
    plan = json.load(sys.stdin)
    result = asyncio.run(run(plan))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
