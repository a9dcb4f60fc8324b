"""Flash Express (Thailand): heuristic "TH" + digits numbers."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register


@register
class FlashExpress(Carrier):
    """Numbers seen on Flash labels: "TH", 4 digits, 5-7 more digits or letters, a digit and an
    optional final letter (TH0123456789A, TH012345678901). No check digit is published: heuristic,
    low-medium confidence in anything past the TH prefix. It cannot take an S10 …TH number, which
    ends in two letters. Page: flashexpress.co.th/fle/tracking?se= (medium confidence)."""

    code = "flash_express"
    name = "Flash Express"
    country = "TH"
    aliases = ("Flash", "Flash Express Thailand", "แฟลช เอ็กซ์เพรส")
    url_template = "https://www.flashexpress.co.th/fle/tracking?se={number}"
    formats = (TrackingFormat("TH… (heuristic)", r"TH[0-9]{4}[0-9A-Z]{5,7}[0-9][A-Z]?", specificity=2),)
