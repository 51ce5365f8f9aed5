"""scripts/ci_skips.py: CI fails when a test skipped in one run (SQLite or PostgreSQL) passed in no other."""
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ci_skips.py"
spec = importlib.util.spec_from_file_location("ci_skips", SCRIPT)
ci_skips = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ci_skips)


def report(tmp_path, name, cases):
    body = "".join(f'<testcase classname="tests.{c}" name="{n}">{inner}</testcase>' for c, n, inner in cases)
    path = tmp_path / name
    path.write_text(f'<testsuites><testsuite name="pytest">{body}</testsuite></testsuites>', encoding="utf-8")
    return str(path)


SKIP = '<skipped type="pytest.skip" message="PostgreSQL only" />'


def test_a_skip_covered_by_the_other_engine_passes(tmp_path, capsys):
    sqlite = report(tmp_path, "s.xml", [("test_a", "one", ""), ("test_pg", "dump", SKIP)])
    postgres = report(tmp_path, "p.xml", [("test_pg", "dump", ""), ("test_a", "pragma", SKIP)])
    sqlite_more = report(tmp_path, "s2.xml", [("test_a", "pragma", "")])
    assert ci_skips.main([sqlite, postgres, sqlite_more]) == 0
    assert "every test skipped in one run passed in another" in capsys.readouterr().out


def test_a_test_skipped_everywhere_fails_ci(tmp_path, capsys):
    sqlite = report(tmp_path, "s.xml", [("test_pg", "dump", SKIP), ("test_a", "one", "")])
    postgres = report(tmp_path, "p.xml", [("test_pg", "dump", SKIP)])
    assert ci_skips.main([sqlite, postgres]) == 1
    assert "tests.test_pg::dump" in capsys.readouterr().err


def test_a_skip_whose_other_run_failed_fails_ci(tmp_path):
    sqlite = report(tmp_path, "s.xml", [("test_pg", "dump", SKIP)])
    postgres = report(tmp_path, "p.xml", [("test_pg", "dump", '<failure message="boom" />')])
    assert ci_skips.main([sqlite, postgres]) == 1
