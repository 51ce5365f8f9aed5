"""Copy pinned third-party front-end files from npm into the repo (no CDN, no internet at run time).

Run from anywhere: python vendor.py   (needs `npm` on PATH and registry access, once; then commit
static/vendor/ and tests/vendor/). Uses `npm pack`, so there is no node_modules and no install
scripts run. Each tarball's npm integrity (sha512) is pinned below: npm verifies the download
against the registry, and we check the registry still serves the tarball we reviewed.

To upgrade a package: change its version and integrity (`npm view <name>@<version> dist.integrity`),
run this script, review `git diff --stat static/vendor tests/vendor`, and update static/vendor/README.md.
"""
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

# name: (version, licence, npm dist.integrity)
HTMX = ("2.0.11", "0BSD",  # newest 2.0.x; npm's "latest" tag is 4.x, which changed swap semantics
        "sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==")
GOVUK = ("6.6.0", "MIT",
         "sha512-xctkWrQvLnvQt7fyjQ3MGX9S0wz0x0RQuLxCeoXF+s8EjGICG81/DYQGKN5qgO+0KVT12UAaRwUsGY6fulRcRg==")
SORTABLE = ("1.15.7", "MIT",
            "sha512-Kk8wLQPlS+yi1ZEf48a4+fzHa4yxjC30M/Sr2AnQu+f/MPwvvX9XjZ6OWejiz8crBsLwSq8GHqaxaET7u6ux0A==")
AXE = ("4.14.1", "MPL-2.0",  # test-only: kept out of static/ so it is never served
       "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==")

ROOT = Path(__file__).resolve().parent
STATIC_VENDOR = ROOT / "static" / "vendor"
TESTS_VENDOR = ROOT / "tests" / "vendor"
ASSET_URL = "/static/vendor/govuk/assets/"  # Flask's default static URL; nothing is copied there yet
# GDS Transport is licensed for use on gov.uk only, so marac uses a system font stack.
FONT_STACK = 'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif'

# govuk-frontend's npm tarball has no licence file; this is LICENSE.txt from alphagov/govuk-frontend.
GOVUK_LICENCE = """The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pack(name: str, pin: tuple[str, str, str], dest: Path) -> Path:
    """Download name@version with `npm pack`, check its integrity, unpack; return the package dir."""
    version, _licence, integrity = pin
    out = subprocess.run(["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(dest)],
                         check=True, capture_output=True, text=True).stdout
    info = json.loads(out)[0]
    if info["integrity"] != integrity:
        raise SystemExit(f"{name}@{version}: npm integrity {info['integrity']} != pinned {integrity}")
    tgz = dest / info["filename"]
    unpacked = dest / tgz.name.removesuffix(".tgz")
    with tarfile.open(tgz) as t:
        t.extractall(unpacked, filter="data")  # "data" filter: no absolute paths, links or devices
    return unpacked / "package"


def fresh_dir(path: Path) -> Path:
    """Empty a vendor folder so files dropped upstream do not linger."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def govuk_css(css: str) -> str:
    """Make the precompiled GOV.UK CSS fit a non-gov.uk service served by Flask."""
    # The font's licence comment says "customised for exclusive use on gov.uk": drop it, its
    # @font-face rules (which would also 404 on the absent font files) and every reference.
    css = re.sub(r"/\*! Copyright \(c\) 2011 by Margaret Calvert[^*]*\*/", "", css)
    css = re.sub(r"@font-face\{font-family:GDS Transport;[^}]*\}", "", css)
    css = css.replace("font-family:GDS Transport,arial,sans-serif", f"font-family:{FONT_STACK}")
    # The crest (crown) is GOV.UK branding and is not vendored: no URL may point at it, and the
    # footer's crest box is removed so it does not render as a solid block of colour.
    css = css.replace("url(/assets/images/govuk-crest.svg)", "none")
    css += ".govuk-footer__copyright-logo:before{content:none}"
    # Any remaining asset URL is absolute /assets/...; point it at where Flask serves static files.
    css = css.replace("url(/assets/", f"url({ASSET_URL}")
    css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css)  # the .map is not vendored
    assert "GDS Transport" not in css and "url(/assets/" not in css and "govuk-crest" not in css
    return css


def vendor_htmx(tmp: Path) -> None:
    pkg = npm_pack("htmx.org", HTMX, tmp)
    out = fresh_dir(STATIC_VENDOR / "htmx")
    shutil.copy(pkg / "dist/htmx.min.js", out / "htmx.min.js")
    shutil.copy(pkg / "LICENSE", out / "LICENSE")
    write_text(out / "VERSION", f"htmx.org {HTMX[0]}, {HTMX[1]}, sha256 {sha256(out / 'htmx.min.js')}\n")


def vendor_govuk(tmp: Path) -> None:
    pkg = npm_pack("govuk-frontend", GOVUK, tmp)
    dist = pkg / "dist/govuk"
    out = fresh_dir(STATIC_VENDOR / "govuk")
    write_text(out / "govuk-frontend.min.css",
               govuk_css((dist / "govuk-frontend.min.css").read_text(encoding="utf-8")))
    # An ES module (ends in export{...initAll...}): load it through static/js/app.js, type="module".
    js = (dist / "govuk-frontend.min.js").read_text(encoding="utf-8")
    write_text(out / "govuk-frontend.min.js", re.sub(r"//# sourceMappingURL=\S+", "", js))
    shutil.copy(pkg / "package.json", out / "package.json")  # records version and "license": "MIT"
    write_text(out / "LICENCE", GOVUK_LICENCE)
    # Fonts, images (crown, crest, favicons) and manifest.json are GOV.UK branding: never copied.
    write_text(out / "VERSION",
               f"govuk-frontend {GOVUK[0]}, {GOVUK[1]}, npm dist/govuk; CSS modified by vendor.py "
               "(no GDS Transport, system font stack, no crest, asset URLs under "
               f"{ASSET_URL})\n"
               f"sha256 {sha256(out / 'govuk-frontend.min.css')}  govuk-frontend.min.css\n"
               f"sha256 {sha256(out / 'govuk-frontend.min.js')}  govuk-frontend.min.js\n")


def vendor_sortable(tmp: Path) -> None:
    pkg = npm_pack("sortablejs", SORTABLE, tmp)
    out = fresh_dir(STATIC_VENDOR / "sortable")
    shutil.copy(pkg / "Sortable.min.js", out / "Sortable.min.js")  # UMD: sets window.Sortable
    shutil.copy(pkg / "LICENSE", out / "LICENSE")
    write_text(out / "VERSION",
               f"sortablejs {SORTABLE[0]}, {SORTABLE[1]}, sha256 {sha256(out / 'Sortable.min.js')}\n")


def vendor_axe(tmp: Path) -> None:
    pkg = npm_pack("axe-core", AXE, tmp)
    TESTS_VENDOR.mkdir(parents=True, exist_ok=True)  # not emptied: tests/vendor may hold other files
    shutil.copy(pkg / "axe.min.js", TESTS_VENDOR / "axe.min.js")
    shutil.copy(pkg / "LICENSE", TESTS_VENDOR / "axe-core.LICENSE")
    # axe.min.js bundles third-party code; its notices travel with it.
    shutil.copy(pkg / "LICENSE-3RD-PARTY.txt", TESTS_VENDOR / "axe-core.LICENSE-3RD-PARTY.txt")
    write_text(TESTS_VENDOR / "VERSION",
               f"axe-core {AXE[0]}, {AXE[1]}, sha256 {sha256(TESTS_VENDOR / 'axe.min.js')}  axe.min.js\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        vendor_htmx(tmp_path)
        vendor_govuk(tmp_path)
        vendor_sortable(tmp_path)
        vendor_axe(tmp_path)
    print(f"vendored: htmx.org {HTMX[0]}, govuk-frontend {GOVUK[0]}, sortablejs {SORTABLE[0]}, "
          f"axe-core {AXE[0]} (tests only)")


if __name__ == "__main__":
    main()
