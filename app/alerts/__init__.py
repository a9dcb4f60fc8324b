"""Merchant alerts: parcels that need the shop's attention (an exception, a failed attempt, a parcel going back,
a delay past its estimate, a stall, an order not shipped in time), kept in an attention queue and told to the
merchant by email and an optional signed webhook, as they happen or as a daily digest.

Other features ask one thing of it: whether the shop was really told about a parcel (`shop_was_told`).
"""

from app.alerts.services import shop_was_told

__all__ = ["shop_was_told"]
