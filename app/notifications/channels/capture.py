"""The demo's mailbox: without SMTP_URL, outside production, email is captured in the delivery log
(rendered in full, marked sent) and shown in the admin instead of leaving the machine."""

from __future__ import annotations

from app.notifications.channels import OutgoingMessage, SendResult


class CapturedEmailChannel:
    name = "email"

    def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult(provider_message_id=f"captured:{message.idempotency_key}")
