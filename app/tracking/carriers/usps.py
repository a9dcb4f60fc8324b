"""USPS: IMpb and 20-digit numbers from the public data set, and international S10 items ending in US."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._dataset import data_set_formats
from app.tracking.carriers._s10 import s10_format


@register
class USPS(Carrier):
    """Formats from jkeen/tracking_number_data (USPS Publication 199, IMpb): "USPS 91" (the package
    identification code, optionally after the 420 ZIP routing code), "USPS 34v2" (420 + ZIP+4 + code) and
    "USPS 20" (20 digits whose service code is one the data set lists), each with a GS1 mod 10 check
    digit; plus our S10 items ending in US. Page: tools.usps.com TrackConfirmAction (high)."""

    code = "usps"
    name = "USPS"
    country = "US"
    aliases = ("United States Postal Service", "US Postal Service", "U.S. Postal Service")
    url_template = "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"
    formats = (*data_set_formats("usps"), s10_format("US"))
