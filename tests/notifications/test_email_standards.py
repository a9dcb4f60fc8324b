"""Every email parses strictly, dates its Date header in the RFC 5322 form, and, when the operator gives a key,
carries a DKIM signature over the one-click unsubscribe headers that verifies with the same library."""

from __future__ import annotations

import base64
import email
import email.policy
import re

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rq import Queue, SimpleWorker

from app.extensions import db
from app.jobs import QUEUES
from tests.notifications.test_email_flow import _name_shop
from tests.tracking.test_timeline import T0, order_payload

STRICT = email.policy.default.clone(raise_on_defect=True)


def _work(app, redis_conn) -> None:
    with app.app_context():
        SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
        db.session.remove()


def _send_an_email(app, post_webhook, redis_conn) -> None:
    assert post_webhook("orders/create", order_payload(T0), via=app.test_client()).status_code == 200
    _name_shop(app)
    _work(app, redis_conn)


def test_every_email_parses_strictly_and_dates_itself_plus_0000(mail_app, post_webhook, smtp, redis_conn):
    _send_an_email(mail_app, post_webhook, redis_conn)
    assert smtp.mailbox.raw
    for raw in smtp.mailbox.raw:
        message = email.message_from_bytes(raw, policy=STRICT)
        # As written on the wire (the parser would show any form as +0000).
        date = re.search(rb"(?m)^Date: ([^\r\n]*)", raw).group(1).decode()
        assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", date), date
        assert "DKIM-Signature" not in message  # no key given: the relay signs, if anyone


def test_a_dkim_key_signs_the_unsubscribe_headers_verifiably(make_app, smtp, post_webhook, redis_conn):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    app = make_app(
        smtp_url=smtp.url,
        mail_from="updates@aftercart.test",
        extra={"DKIM_SELECTOR": "ac2026", "DKIM_PRIVATE_KEY": pem.replace("\n", "\\n")},
    )
    _send_an_email(app, post_webhook, redis_conn)
    [raw] = smtp.mailbox.raw

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"ac2026._domainkey.aftercart.test."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert dkim.verify(raw, dnsfunc=dns)
    signature = email.message_from_bytes(raw, policy=STRICT)["DKIM-Signature"]
    signed = {h.strip().lower() for h in re.search(r"h=([^;]+)", str(signature).replace(" ", "")).group(1).split(":")}
    assert {"from", "to", "subject", "date", "list-unsubscribe", "list-unsubscribe-post"} <= signed
    assert not dkim.verify(
        raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x"), dnsfunc=dns
    )
