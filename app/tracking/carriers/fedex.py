"""FedEx: 12-digit Express, 15-digit Ground and the 22-digit "96" Ground barcode."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register
from app.tracking.carriers._checks import fedex_express, gs1_mod10


@register
class FedEx(Carrier):
    """Express: 11 digits + mod 11 check (weights 1, 3, 7). Ground: 14 digits + GS1 mod 10 check,
    e.g. 041441760228964. "96" barcode: 96 + 5-digit service/shipper prefix + the 15-digit Ground
    number, e.g. 9611020987654312345672. Sources: FedEx label specifications as reproduced by open
    tracking-number libraries, checked against FedEx sandbox numbers (medium-high confidence).
    FedEx SmartPost numbers are USPS IMpb and detect as USPS. Page: fedex.com/fedextrack (high)."""

    code = "fedex"
    name = "FedEx"
    aliases = ("Federal Express", "FedEx Express", "FedEx Ground", "FedEx Thailand")
    url_template = "https://www.fedex.com/fedextrack/?trknbr={number}"
    formats = (
        TrackingFormat("Express 12-digit", r"(?P<payload>[0-9]{11})(?P<check>[0-9])", fedex_express),
        TrackingFormat("Ground 15-digit", r"(?P<payload>[0-9]{14})(?P<check>[0-9])", gs1_mod10),
        TrackingFormat(
            "Ground 96 barcode", r"96[0-9]{5}(?P<payload>[0-9]{14})(?P<check>[0-9])", gs1_mod10, specificity=2
        ),
    )
