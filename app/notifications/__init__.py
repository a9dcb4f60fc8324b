"""Proactive notifications: triggers, policy (consent, quiet hours, caps, staleness), rendering, channels."""
