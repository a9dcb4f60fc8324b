"""FedEx: Express, Ground, SmartPost, SSCC-18 and the "96" Ground barcodes, from the public data set."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._dataset import data_set_formats


@register
class FedEx(Carrier):
    """Formats from jkeen/tracking_number_data, each with its check digit: Express 12 and 34 digits
    (weights 1, 3, 7, mod 11), Ground 15, SSCC-18 and the "96" 22- and 34-digit (GSN) barcodes, and
    SmartPost (IMpb, delivered by USPS: a 22-digit 92… number valid for both detects as FedEx).
    Page: fedex.com/fedextrack (high)."""

    code = "fedex"
    name = "FedEx"
    aliases = ("Federal Express", "FedEx Express", "FedEx Ground", "FedEx Thailand")
    url_template = "https://www.fedex.com/fedextrack/?trknbr={number}"
    formats = data_set_formats("fedex")
