"""Email over SMTP: multipart plain text + HTML, per-shop sender name and reply-to, a stable Message-ID,
and RFC 8058 one-click List-Unsubscribe.

SMTP_URL: smtp://user:pass@host:587?starttls=1, smtps://host:465, or smtp://127.0.0.1:1025 (no auth).
"""

from __future__ import annotations

import smtplib
import ssl
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import parse_qs, unquote, urlparse

from app.notifications.channels import (
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    register,
)

# RFC 5322 allows 998 characters a line; signed unsubscribe URLs are long and have no spaces to fold at,
# and a folded-by-encoding List-Unsubscribe is unreadable to mail clients.
_POLICY = email_policy.SMTP.clone(max_line_length=998)


def build_email(message: OutgoingMessage, mail_from: str) -> EmailMessage:
    email = EmailMessage(policy=_POLICY)
    email["Subject"] = message.subject or ""
    email["From"] = formataddr((message.sender_name or "", mail_from))
    email["To"] = message.recipient
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Date"] = formatdate(localtime=False, usegmt=True)
    # Stable across retries: a resend after a crash carries the same id, so mailboxes can drop the copy.
    email["Message-ID"] = f"<{message.idempotency_key}@{mail_from.split('@')[-1]}>"
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    email["Content-Language"] = message.locale  # after set_content, which drops Content-* headers
    return email


@register
class SmtpEmailChannel:
    name = "email"

    def __init__(self, url: str, mail_from: str, timeout: float = 10.0):
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or (465 if parsed.scheme == "smtps" else 25)
        self.use_ssl = parsed.scheme == "smtps"
        self.starttls = parse_qs(parsed.query).get("starttls", ["0"])[0] in ("1", "true")
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.mail_from = mail_from
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings):
        if not settings.smtp_url:
            if settings.env == "demo":
                from app.notifications.channels.capture import CapturedEmailChannel

                return CapturedEmailChannel()
            return None
        return cls(settings.smtp_url, settings.mail_from or "notifications@localhost")

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, message: OutgoingMessage) -> SendResult:
        email = build_email(message, self.mail_from)
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self.password or "")
                refused = client.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if any(code >= 500 for code in codes):
                raise PermanentSendError(f"recipient refused by the mail server ({codes})") from exc
            raise TransientSendError(f"recipient temporarily refused ({codes})") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentSendError("the mail server refused our credentials (check SMTP_URL)") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentSendError(f"mail server answered {exc.smtp_code}") from exc
            raise TransientSendError(f"mail server answered {exc.smtp_code}") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransientSendError(f"mail server unreachable: {exc}") from exc
        if refused:
            raise PermanentSendError(f"recipient refused: {refused}")
        return SendResult(provider_message_id=email["Message-ID"])
