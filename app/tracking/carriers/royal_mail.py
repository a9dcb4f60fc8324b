"""Royal Mail (UK): UPU S10 items ending in GB."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._s10 import s10_format


@register
class RoyalMail(Carrier):
    """Tracked and Special Delivery numbers are S10 with GB (e.g. AA473124829GB, the S10 example).
    Page: royalmail.com track-your-item#/tracking-results/ (high confidence)."""

    code = "royal_mail"
    name = "Royal Mail"
    country = "GB"
    url_template = "https://www.royalmail.com/track-your-item#/tracking-results/{number}"
    formats = (s10_format("GB"),)
