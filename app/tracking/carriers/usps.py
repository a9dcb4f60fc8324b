"""USPS: Intelligent Mail package barcodes (IMpb), legacy 20-digit numbers and international S10 items."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register
from app.tracking.carriers._checks import gs1_mod10
from app.tracking.carriers._s10 import s10_format

# GS1 AI 420 + destination ZIP or ZIP+4, printed before the package identification code on IMpb labels.
_ZIP_ROUTING = r"(?:420(?:[0-9]{5}|[0-9]{9}))?"


@register
class USPS(Carrier):
    """Formats from USPS Publication 199 (IMpb): a 22-digit package identification code starting with
    channel application identifier 91-95 and ending in a GS1 mod 10 check digit, optionally preceded
    by the 420 ZIP routing code (high confidence); legacy 20-digit numbers with the same check digit
    (medium confidence); S10 items ending in US. Page: tools.usps.com TrackConfirmAction (high)."""

    code = "usps"
    name = "USPS"
    country = "US"
    aliases = ("United States Postal Service", "US Postal Service", "U.S. Postal Service")
    url_template = "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"
    formats = (
        TrackingFormat(
            "IMpb 22-digit",
            rf"{_ZIP_ROUTING}(?P<payload>9[1-5][0-9]{{19}})(?P<check>[0-9])",
            gs1_mod10,
            specificity=1,
        ),
        TrackingFormat("20-digit", rf"{_ZIP_ROUTING}(?P<payload>[0-9]{{19}})(?P<check>[0-9])", gs1_mod10),
        s10_format("US"),
    )
