"""UPS: 1Z numbers and Mail Innovations sequence numbers, from the public data set."""

from __future__ import annotations

from app.tracking.carriers import Carrier, register
from app.tracking.carriers._dataset import data_set_formats


@register
class UPS(Carrier):
    """Formats from jkeen/tracking_number_data: "1Z" + shipper + a service code from the data set's list
    + package number + check digit (letters count as (ord - 63) mod 10, see `_checks.ups_1z`), and the
    18-digit Mail Innovations sequence number ("80" + 16 digits, no check digit: heuristic). A 1Z number
    with a valid check digit but a service code the data set does not list is not detected; the
    fulfilment's own link is kept. Tracking page: ups.com/track?tracknum= (high confidence)."""

    code = "ups"
    name = "UPS"
    aliases = ("United Parcel Service", "UPS Thailand")
    url_template = "https://www.ups.com/track?tracknum={number}"
    formats = data_set_formats("ups")
