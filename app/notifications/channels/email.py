"""Email over SMTP: multipart plain text + HTML, per-shop sender name and reply-to, a stable Message-ID,
and RFC 8058 one-click List-Unsubscribe.

SMTP_URL: smtp://user:pass@host:587?starttls=1, smtps://host:465, or smtp://127.0.0.1:1025 (no auth).
"""

from __future__ import annotations

import atexit
import io
import os
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.charset import BASE64, QP, Charset
from email.errors import HeaderParseError
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from urllib.parse import parse_qs, unquote, urlparse

from app.notifications.channels import (
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    register,
)
from app.validation import email_address, has_control_characters

MAX_LINE = 998  # octets a line may hold on the wire (RFC 5321, RFC 5322), before CRLF
_WIRE = email_policy.compat32.clone(linesep="\r\n")
_UTF8_8BIT = Charset("utf-8")
_UTF8_8BIT.body_encoding = None  # as it is: Content-Transfer-Encoding 8bit
_UTF8_BASE64 = Charset("utf-8")
_UTF8_BASE64.body_encoding = BASE64
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP

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


@dataclass(frozen=True)
class ServerSupport:
    """What the receiving server announced in its EHLO reply that decides how a message is written."""

    eight_bit: bool = True  # 8BITMIME: UTF-8 bodies may go as they are, not base64
    utf8: bool = False  # SMTPUTF8: addresses (and headers) may hold UTF-8 as they are


def build_email(message: OutgoingMessage, mail_from: str, server: ServerSupport = ServerSupport()) -> Message:
    """The message as sent: plain text, and HTML when there is some, as multipart/alternative.

    Built with the email package's compat32 classes rather than `EmailMessage`: the modern API parses every
    header back through its header registry and cost about three times as much per message, which told on
    the worker's CPU (benchmarks/notifications.py). Non-ASCII headers are RFC 2047 encoded; a body goes as
    7bit when it is ASCII, else as 8bit UTF-8 where the server takes it (8BITMIME); a line longer than SMTP
    allows, or no 8BITMIME, makes it quoted-printable (ASCII) or base64.

    Raises PermanentSendError when an address or a header value is malformed (see `refuse_malformed`)."""
    refuse_malformed(message, mail_from)
    text_part = _body_part(message.text, "plain", server)
    if message.html:
        email: Message = MIMEMultipart("alternative")
        email.attach(text_part)
        email.attach(_body_part(message.html, "html", server))
        for part in email.get_payload():
            del part["MIME-Version"]
    else:
        email = text_part
    subject = message.subject or ""
    email["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    email["From"] = formataddr((message.sender_name or "", mail_from), charset="utf-8")
    email["To"] = _address_header(message.recipient)
    if message.reply_to:
        email["Reply-To"] = _address_header(message.reply_to)
    # RFC 5322 writes UTC as +0000; the "GMT" of usegmt is the obsolete form.
    email["Date"] = format_datetime(datetime.now(UTC))
    # Stable across retries: a resend after a crash carries the same id, so mailboxes can drop the copy.
    email["Message-ID"] = f"<{message.idempotency_key}@{mail_from.split('@')[-1]}>"
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email["Content-Language"] = message.locale
    return email


def refuse_malformed(message: OutgoingMessage, mail_from: str) -> None:
    """Raise PermanentSendError unless every address is one valid address and no header value we write holds a
    control character. The email package writes a CR or LF in a value as it is (Python 3.11 does not refuse
    it), which would add a header line or a recipient of the sender's choosing; a message like that will
    never be right, so it fails for good rather than being retried."""
    for role, address in (("recipient", message.recipient), ("reply-to", message.reply_to)):
        if role == "reply-to" and not address:
            continue
        if email_address(address) is None or address != address.strip():
            raise PermanentSendError(f"the {role} is not a valid email address")
    for header, value in (
        ("From", mail_from),  # the operator's MAIL_FROM (it may be @localhost in development)
        ("Subject", message.subject),
        ("From", message.sender_name),
        ("List-Unsubscribe", message.unsubscribe_url),
        ("Message-ID", message.idempotency_key),
        ("Content-Language", message.locale),
    ):
        if value and has_control_characters(value):
            raise PermanentSendError(f"the {header} header would hold a control character")


# Signed so that a receiver can trust the one-click unsubscribe (RFC 8058 asks for List-Unsubscribe and
# List-Unsubscribe-Post under a DKIM signature).
DKIM_HEADERS = (
    b"from",
    b"to",
    b"reply-to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"content-language",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


@dataclass(frozen=True)
class DkimKey:
    """DKIM signing for operators whose relay does not sign (DKIM_SELECTOR, DKIM_PRIVATE_KEY, DKIM_DOMAIN)."""

    selector: bytes
    domain: bytes
    private_key: bytes

    @classmethod
    def from_settings(cls, extra: Mapping[str, str], mail_from: str) -> DkimKey | None:
        selector, key = extra.get("DKIM_SELECTOR"), extra.get("DKIM_PRIVATE_KEY")
        if not (selector and key):
            return None
        if not key.lstrip().startswith("-----BEGIN"):
            with open(key, "rb") as fh:  # a path to the PEM file
                key = fh.read().decode()
        domain = extra.get("DKIM_DOMAIN") or mail_from.rsplit("@", 1)[-1]
        return cls(selector.encode(), domain.encode(), key.replace("\\n", "\n").encode())

    def sign(self, message: bytes) -> bytes:
        """The DKIM-Signature header line (relaxed/relaxed, rsa-sha256) for the message as it goes on the wire."""
        import dkim

        head = message.split(b"\r\n\r\n", 1)[0]
        present = [name for name in DKIM_HEADERS if re.search(rb"(?im)^" + re.escape(name) + rb":", head)]
        return dkim.sign(
            message,
            self.selector,
            self.domain,
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=present,
        )


def envelope_address(address: str) -> str:
    """The address with an internationalised domain in its ASCII form (IDNA), which every server takes."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def _address_header(address: str) -> str:
    """A bare address for a header. Only one whose local part is not ASCII stays so (the recipient's then
    goes with SMTPUTF8): written as raw UTF-8, as RFC 6532 has it (an encoded word is not allowed in an
    address), smuggled through compat32's ASCII strings as surrogate escapes."""
    ascii_form = envelope_address(address)
    return ascii_form if ascii_form.isascii() else ascii_form.encode().decode("ascii", "surrogateescape")


def as_bytes(email: Message) -> bytes:
    """The message on the wire: CRLF line ends and headers left unfolded (RFC 5322 allows 998 characters a
    line; signed unsubscribe URLs are long and have no spaces to fold at, and a List-Unsubscribe folded by
    encoding is unreadable to mail clients). Encoded headers fold themselves."""
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, maxheaderlen=0, policy=_WIRE).flatten(email)
    return out.getvalue()


def _body_part(body: str, subtype: str, server: ServerSupport) -> MIMEText:
    fits = all(len(line.encode()) <= MAX_LINE for line in body.splitlines())
    if body.isascii() and fits:
        return MIMEText(body, subtype, "us-ascii")
    if fits and server.eight_bit:
        return MIMEText(body, subtype, _UTF8_8BIT)
    # Encoded text carries its line ends inside: CRLF, MIME's canonical form (RFC 2046 §4.1.1). ASCII with
    # long lines stays readable and about its size as quoted-printable; Thai would triple, so it is base64.
    canonical = "\r\n".join(body.splitlines()) + "\r\n"
    return MIMEText(canonical, subtype, _UTF8_QP if body.isascii() else _UTF8_BASE64)


@register
class SmtpEmailChannel:
    name = "email"

    def __init__(self, url: str, mail_from: str, timeout: float = 10.0, dkim: DkimKey | None = None):
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
        self.dkim = dkim

    @classmethod
    def from_settings(cls, settings):
        if not settings.smtp_url:
            if settings.env == "demo":
                from app.notifications.channels.capture import CapturedEmailChannel

                return CapturedEmailChannel()
            return None
        mail_from = settings.mail_from or "notifications@localhost"
        return cls(settings.smtp_url, mail_from, dkim=DkimKey.from_settings(settings.extra, mail_from))

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
        refuse_malformed(message, self.mail_from)  # before a connection is taken: nothing to hand back
        key = self._key()
        client = None
        try:
            client = _take_idle(key) or self._connect()
            client.ehlo_or_helo_if_needed()
            server = ServerSupport(eight_bit=client.has_extn("8bitmime"), utf8=client.has_extn("smtputf8"))
            recipient = envelope_address(message.recipient)
            if not recipient.isascii() and not server.utf8:
                _put_idle(key, client)
                raise PermanentSendError("the address needs SMTPUTF8, which the mail server does not offer")
            try:
                email = build_email(message, self.mail_from, server)
            except (HeaderParseError, ValueError) as exc:
                # What the email package cannot write will not be writable on a retry either.
                _put_idle(key, client)
                raise PermanentSendError(f"the message could not be written: {type(exc).__name__}") from exc
            options = ["BODY=8BITMIME"] if server.eight_bit else []
            if not recipient.isascii():
                options.append("SMTPUTF8")
            data = as_bytes(email)
            if self.dkim is not None:
                data = self.dkim.sign(data) + data
            refused = client.sendmail(self.mail_from, [recipient], data, options)
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
