"""The email channel keeps its SMTP session open between messages, and never trusts one the server dropped."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.notifications.channels import OutgoingMessage
from app.notifications.channels.email import SmtpEmailChannel, close_idle_connections
from tests.notifications.conftest import Mailbox, SmtpServer


class SessionCountingMailbox(Mailbox):
    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[int] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.sessions.append(id(session))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture()
def server():
    close_idle_connections()
    server = SmtpServer()
    server.mailbox = SessionCountingMailbox()
    server.start()
    yield server
    server.stop()
    close_idle_connections()


def _message(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=n,
        shop_domain="reuse.myshopify.com",
        channel="email",
        recipient=f"shopper{n}@example.com",
        subject=f"Order #{n} shipped",
        text="Your order is on its way.",
        html="<p>Your order is on its way.</p>",
        sender_name="Reuse Shop",
        reply_to=None,
        idempotency_key=f"aftercart-1-{n}",
    )


def test_consecutive_messages_share_one_smtp_session(server):
    channel = SmtpEmailChannel(server.url, "updates@aftercart.test")
    for n in range(3):
        channel.send(_message(n))
    assert [m["To"] for m in server.mailbox.messages] == [f"shopper{n}@example.com" for n in range(3)]
    assert len(set(server.mailbox.sessions)) == 1


def test_a_session_the_server_dropped_is_replaced_and_the_message_sent_once(server):
    channel = SmtpEmailChannel(server.url, "updates@aftercart.test")
    channel.send(_message(1))
    server.stop()  # closes every client session; the channel still holds its idle one
    server.start()
    channel.send(_message(2))
    assert [m["To"] for m in server.mailbox.messages] == ["shopper1@example.com", "shopper2@example.com"]
    assert len(set(server.mailbox.sessions)) == 2


def test_a_refused_recipient_is_permanent_and_the_session_serves_the_next_message(server):
    from app.notifications.channels import PermanentSendError

    class Refusing(SessionCountingMailbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            if address.startswith("bounce"):
                return "550 No such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    server.stop()
    server.mailbox = Refusing()
    server.start()
    channel = SmtpEmailChannel(server.url, "updates@aftercart.test")
    with pytest.raises(PermanentSendError, match="550"):
        channel.send(replace(_message(1), recipient="bounce@example.com"))
    channel.send(_message(2))
    assert [m["To"] for m in server.mailbox.messages] == ["shopper2@example.com"]
