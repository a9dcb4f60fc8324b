"""Render the theme app extension's Liquid block the way the storefront would, for the browser tests.

This is not a Liquid engine. It understands exactly the subset the block uses, and raises on anything else,
so the browser tests always run the block's real markup (and fail loudly if the block outgrows the harness):

- ``{% comment %}…{% endcomment %}`` and ``{% schema %}…{% endschema %}`` (the schema is parsed and returned);
- ``{% if <variable> %}…{% endif %}`` on a truthy setting;
- ``{{ <'string' | variable> | filter … }}`` with the filters ``t`` (with ``name: 'value'`` arguments),
  ``json`` and ``escape``;
- whitespace control (``{%-``, ``-%}``, ``{{-``, ``-}}``).

``t`` reads the extension's ``locales/<locale>.json`` and falls back to ``en.default.json``, like Shopify.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXTENSION = Path(__file__).resolve().parents[2] / "extensions" / "order-tracking"
BLOCK = EXTENSION / "blocks" / "order-tracking.liquid"

_TOKEN = re.compile(r"(\{%-?.*?-?%\}|\{\{-?.*?-?\}\})", re.S)
_TAG = re.compile(r"\{%(-?)\s*(\w+)(.*?)\s*(-?)%\}", re.S)
_OUTPUT = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
_ARG = re.compile(r"\s*(\w+)\s*:\s*('[^']*'|\"[^\"]*\"|[\w.]+)\s*,?")
_INTERPOLATION = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class UnsupportedLiquid(Exception):
    """The block uses Liquid that this harness does not implement."""


@dataclass
class Rendered:
    html: str
    schema: dict[str, Any]


@dataclass
class Context:
    locale: str = "en"
    root_url: str = "/"
    block_id: str = "AbCd1234"
    settings: dict[str, Any] = field(default_factory=dict)
    # Another extension's block (default: the order-tracking block), and the Liquid objects it reads (`product`).
    extension: Path = EXTENSION
    block_file: str = "order-tracking.liquid"
    objects: dict[str, Any] = field(default_factory=dict)


def load_locale(name: str, extension: Path = EXTENSION) -> dict[str, Any]:
    return json.loads((extension / "locales" / f"{name}.json").read_text(encoding="utf-8"))


def _lookup(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _split_pipes(expr: str) -> list[str]:
    parts, buf, quote = [], "", ""
    for ch in expr:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "|":
            parts.append(buf.strip())
            buf = ""
            continue
        buf += ch
    parts.append(buf.strip())
    return parts


def schema_of(source: str) -> dict[str, Any]:
    match = re.search(r"\{%-?\s*schema\s*-?%\}(.*?)\{%-?\s*endschema\s*-?%\}", source, re.S)
    if not match:
        raise UnsupportedLiquid("block has no {% schema %}")
    return json.loads(match.group(1))


class _Renderer:
    def __init__(self, ctx: Context, schema: dict[str, Any]) -> None:
        defaults = {s["id"]: s.get("default") for s in schema.get("settings", []) if "id" in s}
        self.vars: dict[str, Any] = {
            "block": {
                "id": ctx.block_id,
                "settings": {**defaults, **ctx.settings},
                "shopify_attributes": "",
            },
            "routes": {"root_url": ctx.root_url},
            "request": {"locale": {"iso_code": ctx.locale}},
            **ctx.objects,
        }
        self.default_locale = load_locale("en.default", ctx.extension)
        path = ctx.extension / "locales" / f"{ctx.locale}.json"
        self.locale = load_locale(ctx.locale, ctx.extension) if path.exists() else {}

    def value(self, token: str) -> Any:
        token = token.strip()
        if token[:1] in "'\"" and token[-1:] == token[:1]:
            return token[1:-1]
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if not re.fullmatch(r"[a-z_][\w.]*", token):
            raise UnsupportedLiquid(f"expression {token!r}")
        root = token.split(".", 1)[0]
        if root not in self.vars:
            raise UnsupportedLiquid(f"unknown object {root!r}")
        found = _lookup(self.vars, token)
        return "" if found is None else found

    def translate(self, key: str, args: dict[str, Any]) -> str:
        text = _lookup(self.locale, key)
        if not isinstance(text, str):
            text = _lookup(self.default_locale, key)
        if not isinstance(text, str):
            raise UnsupportedLiquid(f"translation missing: {key}")
        return _INTERPOLATION.sub(lambda m: str(args.get(m.group(1), m.group(0))), text)

    def output(self, expr: str) -> str:
        head, *filters = _split_pipes(expr)
        value: Any = self.value(head)
        for spec in filters:
            name, _, rest = spec.partition(":")
            name = name.strip()
            args = {m.group(1): self.value(m.group(2)) for m in _ARG.finditer(rest)}
            if name == "t":
                value = self.translate(str(value), args)
            elif name == "json":
                value = json.dumps(value, ensure_ascii=False)
            elif name == "escape":
                value = html.escape(str(value), quote=True)
            else:
                raise UnsupportedLiquid(f"filter {name!r}")
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def render(self, source: str) -> str:
        tokens = _TOKEN.split(source)
        # Whitespace control first: a '-' trims the neighbouring text token.
        for i, tok in enumerate(tokens):
            if i % 2 == 0:
                continue
            if tok[2:3] == "-" and i > 0:
                tokens[i - 1] = tokens[i - 1].rstrip()
            if tok[-3:-2] == "-" and i + 1 < len(tokens):
                tokens[i + 1] = tokens[i + 1].lstrip()
        out: list[str] = []
        showing: list[bool] = []
        raw_until = ""
        for i, tok in enumerate(tokens):
            if raw_until:
                if i % 2 and (m := _TAG.fullmatch(tok)) and m.group(2) == raw_until:
                    raw_until = ""
                continue
            if i % 2 == 0:
                if all(showing):
                    out.append(tok)
                continue
            if m := _TAG.fullmatch(tok):
                tag, arg = m.group(2), m.group(3).strip()
                if tag in ("comment", "schema"):
                    raw_until = "end" + tag
                elif tag == "if":
                    if not re.fullmatch(r"[a-z_][\w.]*", arg):
                        raise UnsupportedLiquid(f"{{% if {arg} %}}")
                    showing.append(bool(self.value(arg)))
                elif tag == "endif":
                    showing.pop()
                else:
                    raise UnsupportedLiquid(f"tag {tag!r}")
                continue
            m = _OUTPUT.fullmatch(tok)
            if not m:
                raise UnsupportedLiquid(tok)
            if all(showing):
                out.append(self.output(m.group(2)))
        if showing or raw_until:
            raise UnsupportedLiquid("unclosed tag")
        return "".join(out)


def render_block(ctx: Context) -> Rendered:
    source = (ctx.extension / "blocks" / ctx.block_file).read_text(encoding="utf-8")
    schema = schema_of(source)
    return Rendered(html=_Renderer(ctx, schema).render(source), schema=schema)
