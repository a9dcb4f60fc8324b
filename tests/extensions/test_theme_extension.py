"""Static checks of the theme app extension extensions/order-tracking (the storefront "Order tracking" block).

- Shopify Theme Check (@shopify/theme-check-node, pinned in package.json) with its theme-app-extension
  config on the extension's absolute path: zero offences.
- Every JS asset is small (gzip) and within Theme Check's raw-size threshold.
- No cookies, no storage, no absolute URLs to other hosts anywhere in the extension.
- Storefront and editor locale files have the same keys (and the same placeholders) in every language.
"""

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

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "extensions" / "order-tracking"
RUNNER = Path(__file__).with_name("run_theme_check.js")
BLOCK = EXTENSION / "blocks" / "order-tracking.liquid"
LOCALES = EXTENSION / "locales"

JS_GZIP_LIMIT = 10_000  # bytes, gzip -9: the storefront budget for the block's JavaScript
THEME_CHECK_JS_LIMIT = 10_000  # AssetSizeAppBlockJavaScript in the theme-app-extension config (raw bytes)
LOCALE_FILE_LIMIT = 15_000  # Shopify's per-file limit for locale files
LIQUID_TOTAL_LIMIT = 100_000  # the conservative (older, documented) total Liquid limit for blocks + snippets
ALLOWED = {  # Shopify CLI (specifications/theme.ts): which files each top-level directory may hold
    "assets": {".jpg", ".jpeg", ".json", ".js", ".css", ".png", ".svg", ".wasm"},
    "blocks": {".liquid"},
    "snippets": {".liquid"},
    "locales": {".json"},
}


def _text_files() -> list[Path]:
    return sorted(p for p in EXTENSION.rglob("*") if p.is_file() and p.suffix in {".js", ".css", ".liquid", ".json"})


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def _locale(name: str) -> dict[str, Any]:
    return _flatten(json.loads((LOCALES / name).read_text(encoding="utf-8")))


def _schema() -> dict[str, Any]:
    source = BLOCK.read_text(encoding="utf-8")
    match = re.search(r"\{%-?\s*schema\s*-?%\}(.*?)\{%-?\s*endschema\s*-?%\}", source, re.S)
    assert match, "the block has no {% schema %}"
    return json.loads(match.group(1))


# --- (1) Shopify Theme Check ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def theme_check_report() -> dict[str, Any]:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed for Theme Check (apt-get install -y nodejs npm)"
    if not (REPO / "node_modules" / "@shopify" / "theme-check-node").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REPO, check=True, timeout=600)
    proc = subprocess.run(
        [node, str(RUNNER), str(EXTENSION.resolve())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"theme check did not run:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


def test_theme_check_passes_with_no_offences(theme_check_report: dict[str, Any]) -> None:
    report = theme_check_report
    assert report["root"] == str(EXTENSION.resolve())
    assert report["config"] == "theme-check:theme-app-extension"
    assert report["context"] == "app"
    # The app-extension checks really ran, and on the real files.
    for check in ("AppBlockValidTags", "AssetSizeAppBlockJavaScript", "ValidSchema", "TranslationKeyExists"):
        assert check in report["checks"]
    assert "blocks/order-tracking.liquid" in report["files"]
    assert "locales/th.json" in report["files"]
    offences = "\n".join(f"{o['file']}:{o['line']} {o['check']}: {o['message']}" for o in report["offenses"])
    assert report["offenses"] == [], f"Theme Check offences:\n{offences}"


# --- (2) JavaScript size ------------------------------------------------------------------------------------


def test_javascript_assets_are_small(capsys: pytest.CaptureFixture[str]) -> None:
    scripts = sorted((EXTENSION / "assets").glob("*.js"))
    assert scripts, "no JavaScript asset found"
    sizes = {}
    for path in scripts:
        raw = path.read_bytes()
        sizes[path.name] = (len(raw), len(gzip.compress(raw, compresslevel=9, mtime=0)))
    with capsys.disabled():
        for name, (raw, gz) in sizes.items():
            print(f"\n[extension size] {name}: {raw} B raw, {gz} B gzipped")
    for name, (raw, gz) in sizes.items():
        assert gz <= JS_GZIP_LIMIT, f"{name} is {gz} B gzipped (limit {JS_GZIP_LIMIT})"
        assert raw <= THEME_CHECK_JS_LIMIT, f"{name} is {raw} B raw (Theme Check limit {THEME_CHECK_JS_LIMIT})"


def test_extension_layout_and_limits() -> None:
    toml = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text(encoding="utf-8"))
    assert toml["type"] == "theme"
    assert toml["name"]
    for path in EXTENSION.rglob("*"):
        if path.is_file() and path.name != "shopify.extension.toml":
            top = path.relative_to(EXTENSION).parts[0]
            assert top in ALLOWED, f"{path}: directory {top!r} is not allowed in a theme app extension"
            assert path.suffix in ALLOWED[top], f"{path}: {path.suffix} files are not allowed in {top}/"
    for path in LOCALES.glob("*.json"):
        assert path.stat().st_size <= LOCALE_FILE_LIMIT, f"{path.name} is over {LOCALE_FILE_LIMIT} B"
    liquid = sum(p.stat().st_size for d in ("blocks", "snippets") for p in (EXTENSION / d).glob("*.liquid"))
    assert liquid <= LIQUID_TOTAL_LIMIT

    schema = _schema()
    assert schema["target"] == "section"
    assert (EXTENSION / "assets" / schema["javascript"]).is_file()  # loaded by Shopify with defer
    assert (EXTENSION / "assets" / schema["stylesheet"]).is_file()
    settings = {s["id"]: s for s in schema["settings"] if "id" in s}
    assert settings["proxy_path"]["default"] == "apps/aftercart"
    for key in ("accent_color", "text_color", "border_radius"):
        assert key in settings
    css = (EXTENSION / "assets" / schema["stylesheet"]).read_text(encoding="utf-8")
    for prop in ("--ac-accent", "--ac-text", "--ac-radius", "--ac-min-h"):
        assert f"var({prop}" in css, f"the stylesheet does not use {prop}"


# --- (3) Privacy: no cookies, no storage, no other hosts ----------------------------------------------------

FORBIDDEN = {
    "cookies": re.compile(r"document\s*\.\s*cookie|cookieStore", re.I),
    "storage": re.compile(r"localStorage|sessionStorage|indexedDB", re.I),
    "absolute URL": re.compile(r"\bhttps?://", re.I),
    "protocol-relative URL": re.compile(r"""["'(=]\s*//[\w-]+(\.[\w-]+)+""", re.I),
    "CSS import": re.compile(r"@import", re.I),
    "beacon / XHR": re.compile(r"sendBeacon|XMLHttpRequest|WebSocket|EventSource", re.I),
    "innerHTML": re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", re.I),
}


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_no_cookies_storage_or_third_party_urls(name: str) -> None:
    pattern = FORBIDDEN[name]
    hits = []
    for path in _text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not hits, f"{name} found:\n" + "\n".join(hits)


def test_javascript_requests_only_the_app_proxy() -> None:
    js = (EXTENSION / "assets" / "order-tracking.js").read_text(encoding="utf-8")
    assert js.count("fetch(") == 1
    assert "fetch(endpoint" in js
    assert "'/api/track'" in js
    assert "src.origin === location.origin" in js  # item images: same origin only


# --- (4) Translations ---------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@pytest.mark.parametrize(
    ("default", "other"), [("en.default.json", "th.json"), ("en.default.schema.json", "th.schema.json")]
)
def test_locales_have_the_same_keys(default: str, other: str) -> None:
    base, translated = _locale(default), _locale(other)
    assert sorted(set(base) - set(translated)) == [], f"missing in {other}"
    assert sorted(set(translated) - set(base)) == [], f"missing in {default}"
    for key, text in base.items():
        assert isinstance(text, str) and text.strip(), f"{default}: {key} is empty"
        assert translated[key].strip(), f"{other}: {key} is empty"
        assert set(_PLACEHOLDER.findall(text)) == set(_PLACEHOLDER.findall(translated[key])), key


def test_every_string_is_translated() -> None:
    # Every block of the extension shares the locale files (order tracking, returns portal).
    source = "".join(p.read_text(encoding="utf-8") for p in sorted((EXTENSION / "blocks").glob("*.liquid")))
    storefront = {"en.default.json": _locale("en.default.json"), "th.json": _locale("th.json")}
    used = set(re.findall(r"'([\w.]+)'\s*\|\s*t\b", source))
    assert used
    for name, strings in storefront.items():
        assert sorted(used - set(strings)) == [], f"keys used by the block but missing in {name}"
        assert sorted(set(strings) - used) == [], f"keys in {name} that the block never uses"

    schema_text = json.dumps(_schema())
    schema_keys = set(re.findall(r'"t:([\w.]+)"', schema_text))
    for name in ("en.default.schema.json", "th.schema.json"):
        assert sorted(schema_keys - set(_locale(name))) == [], f"schema keys missing in {name}"
    # Every label, info, content and the name go through t: keys.
    for setting in _schema()["settings"]:
        for attr in ("label", "info", "content"):
            if attr in setting:
                assert setting[attr].startswith("t:"), f"{setting} {attr} is not translated"
    assert _schema()["name"].startswith("t:")

    # Every string the script reads (t.key or t[key]) is handed to it by the block.
    js = (EXTENSION / "assets" / "order-tracking.js").read_text(encoding="utf-8")
    handed = set(re.findall(r'"(\w+)":\s*\{\{', source))
    read = set(re.findall(r"\bt\.(\w+)", js)) | {"not_found", "invalid", "rate_limited", "error"}
    assert sorted(read - handed) == []
