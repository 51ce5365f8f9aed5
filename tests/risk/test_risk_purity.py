"""marac.risk stays pure: standard library only, never Flask or Peewee."""
import ast
from pathlib import Path

import marac.risk

RISK_DIR = Path(marac.risk.__file__).parent
ALLOWED = {"collections", "dataclasses", "datetime", "enum", "json", "typing"}


def _imported_modules():
    for path in sorted(RISK_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path.name, alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                yield path.name, node.module


def test_there_is_source_to_scan():
    assert len(list(RISK_DIR.rglob("*.py"))) >= 4


def test_no_flask_or_peewee():
    for filename, module in _imported_modules():
        top = module.split(".")[0]
        assert top not in {"flask", "peewee", "playhouse", "flask_wtf", "flask_login"}, filename


def test_standard_library_only():
    for filename, module in _imported_modules():
        assert module.split(".")[0] in ALLOWED, f"{filename} imports {module}"


def test_no_star_imports():
    for path in RISK_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert all(alias.name != "*" for alias in node.names), path.name
