"""The long reliability drills: `.venv/bin/python -m bench.drills [mixed crash diskfull lock limits backup]`.

CI runs short versions of the same drills (tests/test_drills.py). These use the service defaults:
60 s of mixed load, 20 kills, busy_timeout 5 s, the real connection limit and channel timeout.
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.drills import backup, crash, diskfull, limits, lock, mixed

LONG = {
    "mixed": lambda folder: mixed.run(folder, duration=60.0, clients=16),
    "crash": lambda folder: crash.run(folder, rounds=20, writers=6),
    "diskfull": lambda folder: diskfull.run(folder, attempts=20),
    "lock": lambda folder: lock.run(folder, busy_timeout_ms=5000, clients=16),
    "limits": lambda folder: limits.run(folder, max_content_length=16 * 1024 * 1024, connection_limit=200,
                                        channel_timeout=30),
    "backup": lambda folder: backup.run(folder, seconds_before=10.0, seconds_after=5.0, writers=8),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run the long reliability drills.")
    parser.add_argument("drills", nargs="*", help=f"some of: {' '.join(LONG)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.drills if name not in LONG]
    if unknown:
        parser.error(f"no drill {', '.join(unknown)}: choose from {' '.join(LONG)}")
    results = {}
    for name in args.drills or list(LONG):
        if name == "backup" and not backup.available():
            print("backup: skipped (no backup command yet)")
            continue
        with tempfile.TemporaryDirectory(prefix=f"marac-drill-{name}-") as folder:
            results[name] = LONG[name](Path(folder))
    failed = {name: r["problems"] for name, r in results.items() if r["problems"]}
    print(json.dumps(failed, indent=1) if failed else "all drills passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
