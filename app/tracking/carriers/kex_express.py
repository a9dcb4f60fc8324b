"""KEX Express, formerly Kerry Express Thailand: heuristic SHP / KEX / KERDO numbers."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register


@register
class KEXExpress(Carrier):
    """No check digit or length is published. Labels show "SHP" + digits for shop shipments and
    "KEX" / "KERDO" prefixes for other services; the digit counts are kept loose (6-15). Heuristic,
    medium confidence in the prefixes. Page: th.kerryexpress.com/th/track/?track= (medium
    confidence; the brand moved to KEX in 2023 and the old domain is the long-documented one)."""

    code = "kex_express"
    name = "KEX Express (Kerry Express)"
    country = "TH"
    aliases = (
        "KEX",
        "KEX Express",
        "KEX Express Thailand",
        "Kerry",
        "Kerry Express",
        "Kerry Express Thailand",
        "Kerry Express (Thailand)",
        "เคอรี่",
        "เคอรี่ เอ็กซ์เพรส",
    )
    url_template = "https://th.kerryexpress.com/th/track/?track={number}"
    formats = (TrackingFormat("SHP / KEX / KERDO (heuristic)", r"(?:SHP|KEX|KERDO)[0-9]{6,15}", specificity=3),)
