"""The UI extensions on Shopify's own pages (extensions/order-status, extensions/thank-you): they build with
esbuild from the pinned packages (extensions/build.mjs, what `make extensions` runs), every bundle stays under
Shopify's 64 KB compressed limit, each shopify.extension.toml names targets that the pinned
@shopify/ui-extensions knows for its API version, and the blocks' rendering tests pass under `node --test`."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "node_modules" / "@shopify" / "ui-extensions"
BUNDLE_LIMIT = 64 * 1024
UI_EXTENSIONS = sorted(
    path.parent
    for path in (REPO / "extensions").glob("*/shopify.extension.toml")
    if tomllib.loads(path.read_text()).get("extensions", [{}])[0].get("type") == "ui_extension"
)


@pytest.fixture(scope="module")
def built() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed for the UI extensions (apt-get install -y nodejs npm)"
    if not (REPO / "node_modules" / "esbuild").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REPO, check=True, timeout=600)
    subprocess.run([node, "extensions/build.mjs"], cwd=REPO, check=True, timeout=300, capture_output=True)
    return REPO / "build"


def _pinned_api_version() -> str:
    version = json.loads((PACKAGE / "package.json").read_text())["version"]  # 2026.7.4 -> 2026-07
    year, month = version.split(".")[:2]
    return f"{year}-{int(month):02d}"


def _known_targets() -> set[str]:
    surfaces = PACKAGE / "build" / "ts" / "surfaces"
    return {path.name.removesuffix(".d.ts") for path in surfaces.glob("*/targets/*.d.ts")}


def test_there_are_the_two_extensions():
    assert {path.name for path in UI_EXTENSIONS} == {"order-status", "thank-you"}


@pytest.mark.parametrize("extension", UI_EXTENSIONS, ids=lambda p: p.name)
def test_each_toml_names_valid_targets_for_the_pinned_api_version(extension: Path):
    config = tomllib.loads((extension / "shopify.extension.toml").read_text())
    assert config["api_version"] == _pinned_api_version()
    [declared] = config["extensions"]
    known = _known_targets()
    assert known, "the pinned @shopify/ui-extensions lists no targets"
    for targeting in declared["targeting"]:
        assert targeting["target"] in known, targeting["target"]
        assert (extension / targeting["module"]).is_file()
    assert declared["capabilities"]["network_access"] is True
    prefix = "customer-account.order-status." if extension.name == "order-status" else "purchase.thank-you."
    assert all(t["target"].startswith(prefix) for t in declared["targeting"])


def test_the_order_status_extension_has_the_block_and_the_fulfilment_slot():
    config = tomllib.loads((REPO / "extensions" / "order-status" / "shopify.extension.toml").read_text())
    assert {t["target"] for t in config["extensions"][0]["targeting"]} == {
        "customer-account.order-status.block.render",
        "customer-account.order-status.fulfillment-details.render-after",
    }


@pytest.mark.parametrize("extension", UI_EXTENSIONS, ids=lambda p: p.name)
def test_each_bundle_is_under_64_kb_compressed(built: Path, extension: Path):
    handle = tomllib.loads((extension / "shopify.extension.toml").read_text())["extensions"][0]["handle"]
    bundle = (built / "extensions" / f"{handle}.js").read_bytes()
    compressed = len(gzip.compress(bundle, compresslevel=9))
    assert 0 < compressed < BUNDLE_LIMIT, f"{handle}: {compressed} bytes compressed"
    assert b"shopify.extend(" in bundle or b"shopify.extend" in bundle


def test_the_blocks_render_every_state_in_english_and_thai(built: Path):
    proc = subprocess.run(
        [shutil.which("node") or "node", "--test", "--test-reporter=tap", str(built / "extension-tests")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 0" not in proc.stdout
