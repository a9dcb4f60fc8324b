"""Packing-slip inserts: a printable thank-you per order with QR codes to its tracking page and return portal."""
