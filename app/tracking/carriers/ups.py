"""UPS: "1Z" + 6-character shipper + 2-character service + 7-digit package number + check digit."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register
from app.tracking.carriers._checks import ups_1z


@register
class UPS(Carrier):
    """Only the 1Z format: UPS Mail Innovations and freight numbers have no documented shape we trust.
    Tracking page: ups.com/track?tracknum=, UPS's public tracking link format (high confidence)."""

    code = "ups"
    name = "UPS"
    aliases = ("United Parcel Service", "UPS Thailand")
    url_template = "https://www.ups.com/track?tracknum={number}"
    formats = (TrackingFormat("1Z", r"1Z(?P<payload>[0-9A-Z]{15})(?P<check>[0-9])", ups_1z, specificity=2),)
