"""CI never passes by skipping: every test skipped in one of CI's runs must have passed in another.

.ci/run runs the suite on SQLite (where the PostgreSQL-only tests skip) and again on PostgreSQL (where
the SQLite-only tests skip), each writing a JUnit XML report. This reads them all and fails, naming the
tests, when a test was skipped in every run that collected it, or skipped in one run and never passed
in another.

    python scripts/ci_skips.py sqlite.xml postgres.xml
"""
import sys
import xml.etree.ElementTree as ET  # nosec B405 - our own pytest's report, not untrusted input


def outcomes(path: str) -> dict[str, str]:
    """test id -> passed / skipped / failed, from one JUnit XML report."""
    result = {}
    for case in ET.parse(path).getroot().iter("testcase"):  # nosec B314 - as above
        test_id = f"{case.get('classname')}::{case.get('name')}"
        if case.find("skipped") is not None:
            result[test_id] = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            result[test_id] = "failed"
        else:
            result[test_id] = "passed"
    return result


def never_passed_skips(reports: dict[str, dict[str, str]]) -> list[str]:
    """Tests skipped somewhere that passed nowhere."""
    skipped = {t for runs in reports.values() for t, outcome in runs.items() if outcome == "skipped"}
    passed = {t for runs in reports.values() for t, outcome in runs.items() if outcome == "passed"}
    return sorted(skipped - passed)


def main(paths: list[str]) -> int:
    if len(paths) < 2:
        print("usage: ci_skips.py REPORT.xml REPORT.xml [...]", file=sys.stderr)
        return 2
    reports = {path: outcomes(path) for path in paths}
    for path, runs in reports.items():
        counts = {k: sum(1 for v in runs.values() if v == k) for k in ("passed", "skipped", "failed")}
        print(f"ci_skips: {path}: {counts['passed']} passed, {counts['skipped']} skipped, {counts['failed']} failed")
    missing = never_passed_skips(reports)
    if missing:
        print(f"ci_skips: {len(missing)} test(s) skipped and never run in any CI run:", file=sys.stderr)
        for test_id in missing:
            print(f"  {test_id}", file=sys.stderr)
        return 1
    print("ci_skips: every test skipped in one run passed in another")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
