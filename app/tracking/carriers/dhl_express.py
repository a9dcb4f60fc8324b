"""DHL Express: 10-digit waybills with a mod 7 check digit, JJD piece IDs and JVGL references."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register
from app.tracking.carriers._checks import mod7


@register
class DHLExpress(Carrier):
    """The 10-digit waybill (9 digits + mod 7) is documented (medium-high confidence). JJD piece
    licence plates and JVGL references are known prefixes with no published length or check
    digit: heuristic, lengths kept loose. DHL eCommerce is a different network and is not this
    carrier. Page: dhl.com tracking-express with submit=1&tracking-id= (high confidence)."""

    code = "dhl_express"
    name = "DHL Express"
    aliases = ("DHL", "DHL Express Thailand", "DHL Express (Thailand)")
    url_template = "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}"
    formats = (
        TrackingFormat("waybill 10-digit", r"(?P<payload>[0-9]{9})(?P<check>[0-9])", mod7),
        TrackingFormat("JJD piece ID (heuristic)", r"JJD[0-9]{8,20}", specificity=3),
        TrackingFormat("JVGL reference (heuristic)", r"JVGL[0-9]{6,20}", specificity=4),
    )
