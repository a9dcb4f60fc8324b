"""Email over SMTP: multipart plain text + HTML, per-shop sender name and reply-to, a stable Message-ID,
and RFC 8058 one-click List-Unsubscribe.

SMTP_URL: smtp://user:pass@host:587?starttls=1, smtps://host:465, or smtp://127.0.0.1:1025 (no auth).
"""

from __future__ import annotations

import atexit
import os
import smtplib
import ssl
import threading
import time
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

# A connection is kept open between messages (per process, per server and account): a new one per message
# costs the TCP handshake, the banner, EHLO, STARTTLS and AUTH, most of a send. One idle longer than this
# is closed rather than trusted (servers drop idle clients after a minute or more; RFC 5321 asks 5 minutes).
IDLE_REUSE_S = 30.0
_idle: dict[tuple, tuple[smtplib.SMTP, float, int]] = {}  # key -> (client, idle since, pid)
_idle_lock = threading.Lock()


def _take_idle(key: tuple) -> smtplib.SMTP | None:
    with _idle_lock:
        entry = _idle.pop(key, None)
    if entry is None:
        return None
    client, since, pid = entry
    if pid != os.getpid():  # inherited through a fork: the parent's socket, not ours to use
        return None
    if time.monotonic() - since > IDLE_REUSE_S:
        _quietly_close(client)
        return None
    try:
        # One round trip tells a live session from one the server has dropped, before a message is at stake.
        if client.noop()[0] == 250:
            return client
    except (smtplib.SMTPException, OSError):
        pass
    _quietly_close(client)
    return None


def _put_idle(key: tuple, client: smtplib.SMTP) -> None:
    with _idle_lock:
        previous = _idle.get(key)
        _idle[key] = (client, time.monotonic(), os.getpid())
    if previous is not None and previous[0] is not client:
        _quietly_close(previous[0])


def _quietly_close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


@atexit.register
def close_idle_connections() -> None:
    with _idle_lock:
        entries = list(_idle.values())
        _idle.clear()
    for client, _, _ in entries:
        _quietly_close(client)


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

    def _key(self) -> tuple:
        return (self.host, self.port, self.use_ssl, self.starttls, self.username, self.password)

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls and not self.use_ssl:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: OutgoingMessage) -> SendResult:
        email = build_email(message, self.mail_from)
        key = self._key()
        client = None
        try:
            client = _take_idle(key) or self._connect()
            refused = client.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            _put_idle(key, client)  # smtplib reset the transaction: the session serves the next message
            codes = [code for code, _ in exc.recipients.values()]
            if any(code >= 500 for code in codes):
                raise PermanentSendError(f"recipient refused by the mail server ({codes})") from exc
            raise TransientSendError(f"recipient temporarily refused ({codes})") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            if client is not None:  # a session in an unknown state is not reused
                client.close()
            raise _send_error(exc) from exc
        _put_idle(key, client)
        if refused:
            raise PermanentSendError(f"recipient refused: {refused}")
        return SendResult(provider_message_id=email["Message-ID"])


def _send_error(exc: Exception) -> Exception:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentSendError("the mail server refused our credentials (check SMTP_URL)")
    if isinstance(exc, smtplib.SMTPResponseException):
        if 500 <= exc.smtp_code < 600:
            return PermanentSendError(f"mail server answered {exc.smtp_code}")
        return TransientSendError(f"mail server answered {exc.smtp_code}")
    return TransientSendError(f"mail server unreachable: {exc}")
