"""The house's rules (docs/architecture.md): no import cycles, contracts that can fail, public names only across
packages, and every table holding customer data covered by the privacy registry."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from app.extensions import db
from app.privacy import PRIVACY

ROOT = Path(__file__).resolve().parents[1]


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over the module graph; components with more than one module are cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_among_the_apps_modules():
    graph = grimp.build_graph("app", exclude_type_checking_imports=True)
    assert _strongly_connected(graph) == []


def test_cycle_finder_sees_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _strongly_connected(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


@pytest.mark.parametrize(
    "module, wrong_import",
    [
        ("app/orders/services.py", "from app.returns import models as _returns_models"),  # the core imports a feature
        ("app/storefront/ratelimit.py", "import app.tracking.queries"),  # a kit knows a feature
        ("app/tracking/queries.py", "import app.returns.rules"),  # a feature arrow nobody listed
        ("app/events.py", "import app.subscribers"),  # the core reaches up to the wiring
    ],
)
def test_import_contracts_fail_on_an_arrow_the_wrong_way(tmp_path, module, wrong_import):
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = [str(Path(sys.executable).with_name("lint-imports")), "--config", "pyproject.toml", "--no-cache"]
    assert subprocess.run(lint, cwd=tmp_path, capture_output=True).returncode == 0
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{wrong_import}  # noqa\n")
    result = subprocess.run(lint, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_packages_use_only_each_others_public_names():
    """Across packages, `from app.x.y import name` names nothing private (`_name`, a `_module`)."""
    offences = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        importer = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("app."):
                continue
            if _package_of(node.module) == _package_of(importer):
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            if private or any(part.startswith("_") for part in node.module.split(".")):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import {private}")
    assert offences == []


# Columns that hold a customer's personal data, wherever they are.
_CUSTOMER_DATA = re.compile(r"(^|_)(email|phone|first_name|last_name|address|customer_id|customer_key|recipient)$")
# Tables whose personal data sits in free text or raw bodies, which no column name gives away.
_FREE_TEXT = {"webhook_events", "compliance_requests", "return_requests", "return_steps", "return_files"}
# Tables whose addresses are the merchant's own (sender, reply-to, support contact), never a shopper's.
_MERCHANT_OWN = {"notification_settings", "tracking_settings"}


def test_every_table_with_customer_data_is_covered_by_the_privacy_registry(ctx):
    covered = {table for entry in PRIVACY for table in entry.tables}
    holding = {
        table.name
        for table in db.metadata.sorted_tables
        if table.name in _FREE_TEXT or any(_CUSTOMER_DATA.search(column.name) for column in table.columns)
    } - _MERCHANT_OWN
    assert holding - covered == set(), "tables with customer data that no privacy entry erases and exports"
    assert covered - set(db.metadata.tables) == set(), "privacy entries naming tables that do not exist"
    assert "contact_preferences" in holding and "rec_order_baskets" in holding  # the rule does see them
