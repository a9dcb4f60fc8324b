"""Static checks of the theme app extension extensions/product-reviews (the product page's "Product reviews" block):
Shopify's Theme Check with no offences, JS within the 10 KB budget, no cookies, storage or other hosts, and the
same keys in every language; every string the script reads is handed to it by the block."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.extensions.test_theme_extension import FORBIDDEN, JS_GZIP_LIMIT, THEME_CHECK_JS_LIMIT, _flatten

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "extensions" / "product-reviews"
RUNNER = Path(__file__).with_name("run_theme_check.js")
BLOCK = EXTENSION / "blocks" / "product-reviews.liquid"
SCRIPT = EXTENSION / "assets" / "product-reviews.js"


def _locale(name: str) -> dict[str, Any]:
    return _flatten(json.loads((EXTENSION / "locales" / name).read_text(encoding="utf-8")))


def _schema() -> dict[str, Any]:
    match = re.search(r"\{%-?\s*schema\s*-?%\}(.*?)\{%-?\s*endschema\s*-?%\}", BLOCK.read_text(encoding="utf-8"), re.S)
    assert match
    return json.loads(match.group(1))


def test_theme_check_passes_with_no_offences() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed for Theme Check"
    if not (REPO / "node_modules" / "@shopify" / "theme-check-node").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REPO, check=True, timeout=600)
    proc = subprocess.run(
        [node, str(RUNNER), str(EXTENSION.resolve())], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout)
    assert report["context"] == "app" and "blocks/product-reviews.liquid" in report["files"]
    for check in ("AppBlockValidTags", "AssetSizeAppBlockJavaScript", "ValidSchema", "TranslationKeyExists"):
        assert check in report["checks"]
    offences = "\n".join(f"{o['file']}:{o['line']} {o['check']}: {o['message']}" for o in report["offenses"])
    assert report["offenses"] == [], offences


def test_javascript_is_within_the_budget(capsys: pytest.CaptureFixture[str]) -> None:
    raw = SCRIPT.read_bytes()
    gz = len(gzip.compress(raw, compresslevel=9, mtime=0))
    with capsys.disabled():
        print(f"\n[extension size] product-reviews.js: {len(raw)} B raw, {gz} B gzipped")
    assert gz <= JS_GZIP_LIMIT and len(raw) <= THEME_CHECK_JS_LIMIT


def test_layout_schema_and_settings() -> None:
    assert tomllib.loads((EXTENSION / "shopify.extension.toml").read_text(encoding="utf-8"))["type"] == "theme"
    schema = _schema()
    assert schema["target"] == "section" and schema["name"].startswith("t:")
    assert (EXTENSION / "assets" / schema["javascript"]).is_file()
    assert (EXTENSION / "assets" / schema["stylesheet"]).is_file()
    settings = {s["id"]: s for s in schema["settings"]}
    assert settings["proxy_path"]["default"] == "apps/aftercart"
    css = (EXTENSION / "assets" / schema["stylesheet"]).read_text(encoding="utf-8")
    assert "var(--ac-min-h" in css and "aspect-ratio" in css  # space kept: no layout shift


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_no_cookies_storage_or_third_party_urls(name: str) -> None:
    hits = [
        f"{path.name}:{number}"
        for path in sorted(EXTENSION.rglob("*"))
        if path.suffix in {".js", ".css", ".liquid", ".json"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN[name].search(line)
    ]
    assert not hits, hits


def test_the_script_requests_only_the_app_proxy_and_same_origin_photos() -> None:
    js = SCRIPT.read_text(encoding="utf-8")
    assert js.count("fetch(") == 1 and "'/reviews/product/'" in js
    assert ".filter(sameOrigin)" in js


@pytest.mark.parametrize(
    ("default", "other"), [("en.default.json", "th.json"), ("en.default.schema.json", "th.schema.json")]
)
def test_locales_have_the_same_keys_and_every_string_is_used(default: str, other: str) -> None:
    base, translated = _locale(default), _locale(other)
    assert set(base) == set(translated)
    for key in base:
        assert base[key].strip() and translated[key].strip() and base[key] != translated[key], key
        assert set(re.findall(r"\{(\w+)\}", base[key])) == set(re.findall(r"\{(\w+)\}", translated[key])), key
    source = BLOCK.read_text(encoding="utf-8")
    if default == "en.default.json":
        used = set(re.findall(r"'([\w.]+)'\s*\|\s*t\b", source))
        assert used == set(base)
        handed = set(re.findall(r'"(\w+)":\s*\{\{', source))
        read = set(re.findall(r"\bt\.(\w+)", SCRIPT.read_text(encoding="utf-8")))
        assert read <= handed
    else:
        assert set(re.findall(r'"t:([\w.]+)"', json.dumps(_schema()))) <= set(base)
