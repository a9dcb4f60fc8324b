"""DHL Express: 10- and 11-digit waybills with a mod 7 check digit, JJD piece IDs and JVGL references."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register
from app.tracking.carriers._dataset import data_set_formats


@register
class DHLExpress(Carrier):
    """The waybills (9 or 10 digits + mod 7) come from jkeen/tracking_number_data. JJD piece licence
    plates and JVGL references are ours: known prefixes with no published length or check digit, so
    heuristic, lengths kept loose. DHL eCommerce is a different network and is not this carrier.
    Page: dhl.com tracking-express with submit=1&tracking-id= (high confidence)."""

    code = "dhl_express"
    name = "DHL Express"
    aliases = ("DHL", "DHL Express Thailand", "DHL Express (Thailand)")
    url_template = "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}"
    formats = (
        *data_set_formats("dhl_express"),
        TrackingFormat("JJD piece ID (heuristic)", r"JJD[0-9]{8,20}", specificity=3),
        TrackingFormat("JVGL reference (heuristic)", r"JVGL[0-9]{6,20}", specificity=4),
    )
