"""Shipment tracking: carriers, delivery estimates, delay and stall detection."""
