"""Canada Post: UPU S10 items ending in CA."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._s10 import s10_format


@register
class CanadaPost(Carrier):
    """Only S10 (CA): the 12- and 16-digit domestic PINs have no check digit documented well enough to
    guess from. Page: canadapost-postescanada.ca track-reperage search (medium-high confidence)."""

    code = "canada_post"
    name = "Canada Post"
    country = "CA"
    aliases = ("Postes Canada", "Canada Post / Postes Canada")
    url_template = "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}"
    formats = (s10_format("CA"),)
