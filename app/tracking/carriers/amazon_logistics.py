"""Amazon Logistics (Amazon's own delivery network): TBA numbers, from the public data set."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._dataset import data_set_formats


@register
class AmazonLogistics(Carrier):
    """TBA + 12 digits (jkeen/tracking_number_data); no check digit is published, so this is a heuristic.
    Page: track.amazon.com/tracking/ (medium confidence: Amazon's public page for TBA numbers, without
    sign-in)."""

    code = "amazon_logistics"
    name = "Amazon Logistics"
    aliases = ("Amazon", "Amazon Shipping", "Amazon Logistics US", "Amazon Logistics UK")
    url_template = "https://track.amazon.com/tracking/{number}"
    formats = data_set_formats("amazon_logistics")
