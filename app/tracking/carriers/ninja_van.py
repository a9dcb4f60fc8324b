"""Ninja Van (Thailand): heuristic NV… and NLTH… numbers."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register


@register
class NinjaVan(Carrier):
    """Ninja Van numbers start with "NV" (shipper-prefixed, e.g. NVTH…) or "NLTH" (Ninja's own
    Thai labels), followed by letters and digits. No check digit: heuristic, medium confidence in
    the prefixes, lengths kept loose. Page: ninjavan.co/th-th/tracking?id= (medium-high)."""

    code = "ninja_van"
    name = "Ninja Van"
    country = "TH"
    aliases = ("NinjaVan", "Ninja Van Thailand", "Ninja Van (Thailand)", "นินจาแวน")
    url_template = "https://www.ninjavan.co/th-th/tracking?id={number}"
    formats = (
        TrackingFormat("NLTH (heuristic)", r"NLTH[0-9A-Z]{8,20}", specificity=4),
        TrackingFormat("NV (heuristic)", r"NV[0-9A-Z]{8,22}", specificity=2),
    )
