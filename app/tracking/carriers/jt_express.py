"""J&T Express Thailand: heuristic 12-digit and "JT" numbers."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register


@register
class JTExpress(Carrier):
    """J&T Thailand bills are 12 digits, seen starting with 6 or 8, and "JT" + digits on some
    cross-border labels. No check digit is published: heuristic, low-medium confidence. A
    12-digit number that also passes FedEx Express's check detects as FedEx unless the fulfilment
    names J&T. Page: jtexpress.co.th/service/track?billcode= (medium-low confidence)."""

    code = "jt_express"
    name = "J&T Express"
    country = "TH"
    aliases = ("J&T", "JT Express", "J&T Express Thailand", "J&T Express (Thailand)", "J and T Express")
    url_template = "https://www.jtexpress.co.th/service/track?billcode={number}"
    formats = (
        TrackingFormat("12-digit (heuristic)", r"[68][0-9]{11}", specificity=1),
        TrackingFormat("JT (heuristic)", r"JT[0-9]{10,16}", specificity=2),
    )
