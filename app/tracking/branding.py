"""Merchant branding as validated design tokens: colours, a font from a list, a radius. Never raw CSS."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.validation import web_url

HEX_COLOR = re.compile(r"\A#[0-9a-fA-F]{6}\Z")
FONTS: dict[str, str] = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    "sans": '"Helvetica Neue", Arial, "Noto Sans Thai", sans-serif',
    "serif": 'Georgia, "Times New Roman", "Noto Serif Thai", serif',
    "rounded": '"Nunito", "Varela Round", "Prompt", system-ui, sans-serif',
    "thai": '"Sarabun", "Noto Sans Thai", "Leelawadee UI", Tahoma, sans-serif',
    "mono": 'ui-monospace, "SFMono-Regular", Menlo, monospace',
}
MAX_RADIUS = 24


class BrandingError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class DesignTokens:
    accent: str
    text: str
    background: str
    font_stack: str
    radius_px: int

    def css_variables(self) -> str:
        """A CSS declaration list built only from validated values."""
        return (
            f"--ac-accent:{self.accent};--ac-text:{self.text};--ac-bg:{self.background};"
            f"--ac-font:{self.font_stack};--ac-radius:{self.radius_px}px;"
        )


def tokens_for(settings: Any) -> DesignTokens:
    """Tokens from stored settings; anything invalid falls back to the default rather than leaking."""

    def color(value: str | None, default: str) -> str:
        return value if value and HEX_COLOR.match(value) else default

    radius = settings.radius_px if isinstance(settings.radius_px, int) else 8
    return DesignTokens(
        accent=color(settings.accent_color, "#2563eb"),
        text=color(settings.text_color, "#1f2937"),
        background=color(settings.background_color, "#ffffff"),
        font_stack=FONTS.get(settings.font or "system", FONTS["system"]),
        radius_px=min(MAX_RADIUS, max(0, radius)),
    )


def validate_branding(form: dict[str, Any]) -> dict[str, Any]:
    """Check the branding fields a form carries; return their clean values (a field it does not carry is left
    out, so saving it changes nothing) or raise BrandingError naming each bad field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for field in ("accent_color", "text_color", "background_color"):
        if field not in form:
            continue
        value = str(form[field] or "").strip()
        if not HEX_COLOR.match(value):
            errors[field] = "admin.tracking.err.colour"
        else:
            clean[field] = value.lower()
    if "font" in form:
        font = str(form["font"] or "system").strip()
        if font not in FONTS:
            errors["font"] = "admin.tracking.err.font"
        else:
            clean["font"] = font
    if "radius_px" in form:
        try:
            radius = int(str(form["radius_px"] if form["radius_px"] is not None else "8").strip())
            if not 0 <= radius <= MAX_RADIUS:
                raise ValueError
            clean["radius_px"] = radius
        except ValueError:
            errors["radius_px"] = "admin.tracking.err.radius"
    if "logo_url" in form:
        logo = str(form["logo_url"] or "").strip()
        if logo and (len(logo) > 1000 or web_url(logo, https_only=True) is None):
            errors["logo_url"] = "admin.tracking.err.logo_url"
        else:
            clean["logo_url"] = logo or None
    if errors:
        raise BrandingError(errors)
    return clean
