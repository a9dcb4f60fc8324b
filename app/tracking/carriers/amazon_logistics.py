"""Amazon Logistics (Amazon's own delivery network): TBA numbers."""

from __future__ import annotations

from app.tracking.carriers import Carrier, TrackingFormat, register


@register
class AmazonLogistics(Carrier):
    """TBA + 12 digits, as printed on Amazon Shipping labels; no check digit is published, so this is
    a heuristic (high confidence in the prefix, medium in the length). Page: track.amazon.com/tracking/
    (medium confidence: Amazon's public page for TBA numbers, without sign-in)."""

    code = "amazon_logistics"
    name = "Amazon Logistics"
    aliases = ("Amazon", "Amazon Shipping", "Amazon Logistics US", "Amazon Logistics UK")
    url_template = "https://track.amazon.com/tracking/{number}"
    formats = (TrackingFormat("TBA (heuristic)", r"TBA[0-9]{12}", specificity=3),)
