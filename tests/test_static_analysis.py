"""Static checks (SECURITY.md check 16): bandit finds nothing of medium severity or above in marac/;
no template marks data `|safe`; Markup() only where the markup is made by our own code (each use
listed here with its reason); no render_template_string; no SQL built by string formatting; no
inline <script> or style= in templates (the CSP forbids them)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARAC = ROOT / "marac"
TEMPLATES = ROOT / "templates"

# file -> why its Markup() holds no user data. A new use needs a reason here (and a test of its escaping).
MARKUP_ALLOWED = {
    "marac/second_factor.py": "the QR code: segno draws our own otpauth URI as paths (no text from the user)",
    "marac/charts.py": "report charts built with ElementTree, which escapes every text and attribute",
    "marac/reports.py": "chart markup from marac.charts, passed through",
    "marac/blueprints/reports.py": "the report body rendered by our own autoescaped template, kept for a minute",
}


def _python_files():
    return sorted(p for p in MARAC.rglob("*.py") if "__pycache__" not in p.parts)


def test_bandit_reports_nothing_of_medium_severity_or_above():
    pytest.importorskip("bandit", reason="bandit is in requirements-dev.txt")
    result = subprocess.run([sys.executable, "-m", "bandit", "-r", str(MARAC), "-ll", "-f", "json", "-q"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    report = json.loads(result.stdout)
    issues = [f"{i['filename']}:{i['line_number']} {i['test_id']} {i['issue_text']}" for i in report["results"]]
    assert not issues, "\n".join(issues)
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["metrics"]["_totals"]["loc"] > 5000  # it really scanned the package


def test_no_template_marks_data_safe():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\|\s*safe\b", line) or "autoescape false" in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_markup_only_where_our_own_code_makes_the_markup():
    users = set()
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bMarkup\(", text) or "markupsafe" in text:
            users.add(str(path.relative_to(ROOT)))
    unexplained = users - set(MARKUP_ALLOWED)
    assert not unexplained, f"Markup() on data needs a reason in MARKUP_ALLOWED: {sorted(unexplained)}"


def test_no_render_template_string_and_autoescape_stays_on():
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        assert "render_template_string" not in text, path
        assert "autoescape=False" not in text.replace(" ", ""), path
        assert "Environment(" not in text, f"{path}: use the app's Jinja environment (autoescaping on)"


def test_no_sql_built_by_string_formatting():
    pattern = re.compile(r"execute_sql\(\s*(f[\"']|[\"'][^\"']*[\"']\s*%|[\"'][^\"']*[\"']\s*\.format\()")
    offenders = []
    for path in _python_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) or re.search(r"\bSQL\(\s*f[\"']", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_no_inline_script_or_style_in_templates():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle\s*=|\son[a-z]+\s*=\s*[\"']|\bhx-on", text):
            line = text.count("\n", 0, match.start()) + 1
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0).strip()}")
    assert not offenders, "\n".join(offenders)
