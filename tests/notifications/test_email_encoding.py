"""How a message is written on the wire: Thai headers and bodies, line limits, what the server announced,
and internationalised addresses; every case read back by a real SMTP server (aiosmtpd) or parser."""

from __future__ import annotations

import email
import email.policy

import pytest
from aiosmtpd.controller import Controller

from app.notifications.channels import OutgoingMessage, PermanentSendError
from app.notifications.channels.email import ServerSupport, SmtpEmailChannel, as_bytes, build_email
from tests.notifications.conftest import Mailbox, SmtpServer

THAI_TEXT = "สวัสดีค่ะ คุณแอน\nคำสั่งซื้อ #1001 ของคุณจัดส่งแล้ว\nติดตามพัสดุ: https://aftercart.test/l/c/abc"
THAI_HTML = '<p style="color:#333">สวัสดีค่ะ คุณแอน</p><p>คำสั่งซื้อ #1001 ของคุณจัดส่งแล้ว</p>'


class EnvelopeMailbox(Mailbox):
    """Also keeps what the client said around the message: MAIL FROM options, RCPT TO, the raw bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[tuple[list[str], list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        raw = envelope.original_content or envelope.content
        self.envelopes.append((list(envelope.mail_options), list(envelope.rcpt_tos), raw))
        return await super().handle_DATA(server, session, envelope)


class SevenBitMailbox(EnvelopeMailbox):
    """A server that does not offer 8BITMIME (aiosmtpd always would): its EHLO reply without that line."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd's hook)
        session.host_name = hostname
        return [line for line in responses if "8BITMIME" not in line.upper()]


class Server(SmtpServer):
    def __init__(self, smtputf8: bool, mailbox: EnvelopeMailbox | None = None) -> None:
        super().__init__()
        self.mailbox = mailbox or EnvelopeMailbox()
        self.smtputf8 = smtputf8

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8)
        self.controller.start()


@pytest.fixture(params=[False, True], ids=["plain", "smtputf8"])
def server(request):
    server = Server(smtputf8=request.param)
    server.start()
    yield server
    server.stop()


def _message(recipient: str = "ann@example.com", **changes) -> OutgoingMessage:
    fields = {
        "notification_id": 7,
        "shop_domain": "thai.myshopify.com",
        "channel": "email",
        "recipient": recipient,
        "subject": "คำสั่งซื้อ #1001 จัดส่งแล้ว",
        "text": THAI_TEXT,
        "html": THAI_HTML,
        "sender_name": "ร้านสโนว์ เดวิล",
        "reply_to": "help@snowdevil.test",
        "idempotency_key": "aftercart-3-7",
        "unsubscribe_url": "https://aftercart.test/l/u/" + "x" * 300,
        "locale": "th",
    }
    fields.update(changes)
    return OutgoingMessage(**fields)


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _content(part: email.message.EmailMessage) -> str:
    return part.get_content().replace("\r\n", "\n").rstrip("\n")


def test_a_thai_message_arrives_readable_in_8bit_with_its_headers_encoded(server):
    SmtpEmailChannel(server.url, "updates@aftercart.test").send(_message())
    [(options, recipients, raw)] = server.mailbox.envelopes
    assert "BODY=8BITMIME" in options and recipients == ["ann@example.com"]
    message = _parse(raw)
    assert message["Subject"] == "คำสั่งซื้อ #1001 จัดส่งแล้ว"
    assert message["From"] == "ร้านสโนว์ เดวิล <updates@aftercart.test>"
    assert message["Content-Language"] == "th" and message["Reply-To"] == "help@snowdevil.test"
    assert message["List-Unsubscribe"] == "<https://aftercart.test/l/u/" + "x" * 300 + ">"  # one line, unfolded
    text, html = message.get_payload()
    assert [part["Content-Transfer-Encoding"] for part in (text, html)] == ["8bit", "8bit"]
    assert _content(text) == THAI_TEXT and _content(html) == THAI_HTML
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # headers never carry raw UTF-8 for an ASCII address
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and b"\n" not in raw.replace(b"\r\n", b"")


def test_bodies_go_as_base64_when_the_server_takes_no_8bit_or_a_line_is_too_long():
    seven_bit_only = _parse(as_bytes(build_email(_message(), "updates@aftercart.test", ServerSupport(eight_bit=False))))
    long_line = "ก" * 400  # 1,200 octets in UTF-8: over SMTP's 998
    too_long = _parse(as_bytes(build_email(_message(html=f"<p>{long_line}</p>"), "updates@aftercart.test")))
    for message, html in ((seven_bit_only, THAI_HTML), (too_long, f"<p>{long_line}</p>")):
        text_part, html_part = message.get_payload()
        assert html_part["Content-Transfer-Encoding"] == "base64"
        assert _content(html_part) == html
        assert _content(text_part) == THAI_TEXT
    assert seven_bit_only.get_payload()[0]["Content-Transfer-Encoding"] == "base64"
    assert too_long.get_payload()[0]["Content-Transfer-Encoding"] == "8bit"


def test_a_server_without_8bitmime_gets_thai_bodies_in_base64():
    server = Server(smtputf8=False, mailbox=SevenBitMailbox())
    server.start()
    try:
        SmtpEmailChannel(server.url, "updates@aftercart.test").send(_message())
    finally:
        server.stop()
    [(options, _, raw)] = server.mailbox.envelopes
    assert "BODY=8BITMIME" not in options and raw.isascii()
    text, html = _parse(raw).get_payload()
    assert [part["Content-Transfer-Encoding"] for part in (text, html)] == ["base64", "base64"]
    assert _content(text) == THAI_TEXT and _content(html) == THAI_HTML


def test_english_with_a_line_too_long_for_smtp_goes_quoted_printable():
    long_line = "<td style='padding:0'>Your order is on its way.</td>" * 30  # 1,560 octets
    message = _parse(as_bytes(build_email(_message(subject="Shipped", html=long_line), "updates@aftercart.test")))
    html_part = message.get_payload()[1]
    assert html_part["Content-Transfer-Encoding"] == "quoted-printable" and _content(html_part) == long_line
    assert all(len(line) <= 998 for line in as_bytes(build_email(_message(html=long_line), "u@a.test")).split(b"\r\n"))


def test_an_english_message_is_plain_7bit_and_text_only_when_there_is_no_html():
    message = _parse(
        as_bytes(
            build_email(
                _message(subject="Order #1001 shipped", text="Hi Ann", html=None, sender_name="Snow"), "u@a.test"
            )
        )
    )
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    assert message["Content-Transfer-Encoding"] == "7bit" and _content(message) == "Hi Ann"
    assert message["Subject"] == "Order #1001 shipped" and message["From"] == "Snow <u@a.test>"


def test_an_internationalised_domain_is_sent_in_its_ascii_form(server):
    message = _message("ann@ตัวอย่าง.ไทย", reply_to="help@ตัวอย่าง.ไทย")
    SmtpEmailChannel(server.url, "updates@aftercart.test").send(message)
    [(options, recipients, raw)] = server.mailbox.envelopes
    assert recipients == ["ann@xn--72c1a1bt4awk9o.xn--o3cw4h"] and "SMTPUTF8" not in options
    assert _parse(raw)["To"] == "ann@xn--72c1a1bt4awk9o.xn--o3cw4h"
    assert _parse(raw)["Reply-To"] == "help@xn--72c1a1bt4awk9o.xn--o3cw4h"


def test_a_non_ascii_mailbox_name_needs_a_server_with_smtputf8(server):
    channel = SmtpEmailChannel(server.url, "updates@aftercart.test")
    if not server.smtputf8:
        with pytest.raises(PermanentSendError, match="SMTPUTF8"):
            channel.send(_message("แอน@example.com"))
        channel.send(_message("ann@example.com"))  # the session serves the next message
        assert [recipients for _, recipients, _ in server.mailbox.envelopes] == [["ann@example.com"]]
        return
    channel.send(_message("แอน@example.com"))
    [(options, recipients, raw)] = server.mailbox.envelopes
    assert "SMTPUTF8" in options and recipients == ["แอน@example.com"]
    message = _parse(raw)
    assert message["To"] == "แอน@example.com" and message["Subject"] == "คำสั่งซื้อ #1001 จัดส่งแล้ว"
