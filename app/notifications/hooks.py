"""Provider callbacks under /hooks: Twilio delivery status and inbound SMS keywords, and LINE webhook events.

Each provider proves itself with its own signature (Twilio: HMAC-SHA1 over URL + sorted form params with
the Auth Token, or a Webhooks Rule's SharedKey and algorithm, e.g. HMAC-SHA256; LINE: HMAC-SHA256 over the
raw body). Handlers change a few rows, commit and answer at once; a LINE
reply goes through a job after commit. Answers never depend on which shops exist.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select, union
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.extensions import db
from app.jobs import enqueue_after_commit, job_id
from app.notifications.channels.line import (
    REPLY_RETRY,
    USER_ID,
    find_connect_code,
    read_line_connect_code,
    send_line_reply,
)
from app.notifications.channels.sms import (
    NOTIFICATION_PARAM,
    OPTED_OUT_CODE,
    SIGNATURE_SETTINGS_HEADER,
    signature_algorithm,
    verify_twilio_signature,
)
from app.notifications.models import ContactPreference, Notification
from app.notifications.preferences import normalise_phone, record_opt_in, record_opt_out
from app.shopify.models import Shop
from app.shopify.signatures import verify_webhook_hmac

log = logging.getLogger(__name__)

provider_hooks_bp = Blueprint("provider_hooks", __name__, url_prefix="/hooks")

# Twilio's default opt-out/opt-in/help keywords (https://help.twilio.com/articles/223134027), the
# FCC's OPTOUT and REVOKE, and their Thai equivalents.
OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke", "หยุด"})
# A message opening with one of these ("Stop please", "หยุดส่ง") opts out too; "Cancel my order" does not.
_OPT_OUT_OPENINGS = ("stop", "stopall", "unsubscribe", "optout")
OPT_IN_KEYWORDS = frozenset({"start", "yes", "unstop", "เริ่ม"})
HELP_KEYWORDS = frozenset({"help", "info", "ช่วยเหลือ"})
_OPT_OUT_TYPES = {"STOP": "stop", "START": "start", "HELP": "help"}

# The sending number is shared by every shop, so the texts speak for the service, not for one shop.
REPLIES: dict[str, tuple[str, str]] = {
    "stop": (
        "You're unsubscribed from order updates by SMS and will get no more messages from this number. "
        "Reply START to subscribe again.",
        "คุณยกเลิกการรับข้อความแจ้งสถานะคำสั่งซื้อทาง SMS แล้ว และจะไม่ได้รับข้อความจากหมายเลขนี้อีก "
        "ตอบกลับ START หรือ เริ่ม เพื่อรับข้อความอีกครั้ง",
    ),
    "start": (
        "You're subscribed again to order updates by SMS. Reply STOP to unsubscribe, HELP for help.",
        "คุณกลับมารับข้อความแจ้งสถานะคำสั่งซื้อทาง SMS แล้ว ตอบกลับ STOP หรือ หยุด เพื่อยกเลิก หรือ HELP เพื่อขอความช่วยเหลือ",
    ),
    "help": (
        "Order and delivery updates from shops you bought from. Msg & data rates may apply. "
        "Reply STOP to unsubscribe, START to subscribe again. For questions about an order, contact the shop.",
        "ข้อความแจ้งสถานะคำสั่งซื้อและการจัดส่งจากร้านค้าที่คุณสั่งซื้อ อาจมีค่าบริการส่งข้อความ "
        "ตอบกลับ STOP หรือ หยุด เพื่อยกเลิก หรือ START หรือ เริ่ม เพื่อรับข้อความอีกครั้ง "
        "หากมีคำถามเกี่ยวกับคำสั่งซื้อ โปรดติดต่อร้านค้า",
    ),
    "line_connected": (
        "You're connected: your order updates will arrive in this chat. Block this account at any time to stop them.",
        "เชื่อมต่อเรียบร้อยแล้ว ข้อมูลอัปเดตคำสั่งซื้อของคุณจะส่งมาที่แชทนี้ บล็อกบัญชีนี้ได้ทุกเมื่อเพื่อหยุดรับข้อความ",
    ),
    "line_code_invalid": (
        "This code is not valid or has expired. Open your order's tracking page and tap “Get updates on LINE” again.",
        "รหัสนี้ไม่ถูกต้องหรือหมดอายุแล้ว โปรดเปิดหน้าติดตามคำสั่งซื้อแล้วแตะ “รับข้อมูลอัปเดตทาง LINE” อีกครั้ง",
    ),
}


def bilingual(kind: str) -> str:
    english, thai = REPLIES[kind]
    return f"{english}\n\n{thai}"


def _mask(address: str | None) -> str:
    return f"…{address[-4:]}" if address else "?"


def shops_reaching(session: Session, channel: str, address: str) -> list[int]:
    """Ids of the shops that know this address on this channel: a preference row or a notification sent."""
    known = union(
        select(ContactPreference.shop_id).where(
            ContactPreference.channel == channel, ContactPreference.address == address
        ),
        select(Notification.shop_id).where(Notification.channel == channel, Notification.recipient == address),
    )
    return sorted(session.execute(known).scalars())


# --- Twilio -----------------------------------------------------------------------------------------


def apply_twilio_status(session: Session, params: Mapping[str, str], notification_hint: str | None = None) -> str:
    """Record a Twilio delivery report on the SMS notification it is about; returns what happened.

    Idempotent: a repeated report finds the row already in that state. `delivered` is final (a late
    failure report does not undo it); error 21610 also opts the number out at that shop.
    """
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not sid or status not in ("delivered", "undelivered", "failed"):
        return "ignored"
    notification = session.execute(
        select(Notification)
        .where(Notification.channel == "sms", Notification.provider_message_id == sid)
        .order_by(Notification.id)
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if notification is None and notification_hint and notification_hint.isdigit():
        # The report beat the send job's commit of the sid: the signed callback URL names the row.
        candidate = session.get(Notification, int(notification_hint), with_for_update=True)
        if candidate is not None and candidate.channel == "sms" and candidate.provider_message_id in (None, sid):
            notification = candidate
            notification.provider_message_id = sid
    if notification is None:
        return "unknown"
    if status == "delivered":
        if notification.status != "delivered":
            notification.status = "delivered"
            notification.delivered_at = utcnow()
            notification.reason = None
        return "delivered"
    if notification.status == "delivered":
        return "ignored"
    error_code = (params.get("ErrorCode") or "").strip()
    notification.status = "failed"
    notification.reason = f"Twilio {error_code or status}"
    if error_code == OPTED_OUT_CODE:
        address = notification.recipient or params.get("To") or ""
        record_opt_out(session, notification.shop_id, "sms", address, source=f"twilio:{OPTED_OUT_CODE}")
    return "failed"


def classify_sms_keyword(body: str | None, opt_out_type: str | None = None) -> str | None:
    """Classify an inbound SMS as "stop", "start", "help", or None (no keyword).

    Twilio's own classification (`OptOutType`, with Advanced Opt-Out) wins. Otherwise the whole
    message is the keyword, case-insensitive; opting out is read generously ("Stop please", "หยุดส่ง").
    """
    if opt_out_type and opt_out_type.strip().upper() in _OPT_OUT_TYPES:
        return _OPT_OUT_TYPES[opt_out_type.strip().upper()]
    text = " ".join((body or "").split()).casefold().strip(" .!?,;:'\"")
    if not text:
        return None
    first_word = text.split(" ", 1)[0].strip(" .!?,;:'\"")
    if text in OPT_OUT_KEYWORDS or first_word in _OPT_OUT_OPENINGS or text.startswith("หยุด"):
        return "stop"
    if text in OPT_IN_KEYWORDS:
        return "start"
    if text in HELP_KEYWORDS:
        return "help"
    return None


def apply_sms_keyword(session: Session, keyword: str, phone: str) -> int:
    """Opt the number out of (STOP) or back into (START) SMS at every shop that knows it; returns how many.

    The number we send from is shared by all shops, and a STOP to it means no more messages from it.
    Idempotent.
    """
    shop_ids = shops_reaching(session, "sms", phone)
    for shop_id in shop_ids:
        if keyword == "stop":
            record_opt_out(session, shop_id, "sms", phone, source="twilio:stop")
        elif keyword == "start":
            record_opt_in(session, shop_id, "sms", phone, source="twilio:start")
    return len(shop_ids)


def _signed_urls() -> list[str]:
    """The URLs Twilio may have signed: our public app URL, the URL as seen through ProxyFix, and the
    origin of the configured status callback, each with this request's path and query."""
    settings = current_app.config["SETTINGS"]
    query = request.query_string.decode("utf-8", "replace")
    path = request.script_root + request.path + (f"?{query}" if query else "")
    urls = [settings.shopify_app_url.rstrip("/") + path, request.url]
    callback = settings.extra.get("TWILIO_STATUS_CALLBACK_URL")
    if callback:
        parts = urlsplit(callback)
        urls.append(f"{parts.scheme}://{parts.netloc}{path}")
    return urls


def _twilio_request_is_signed() -> bool:
    extra = current_app.config["SETTINGS"].extra
    signature_settings = request.headers.get(SIGNATURE_SETTINGS_HEADER)
    algorithm = signature_algorithm(signature_settings)
    if algorithm is None:
        log.warning("Twilio request refused: unsupported signature settings %r", signature_settings)
        return False
    if signature_settings:
        # A Webhooks Rule signed it with its SharedKey, never with the Auth Token (nor without the header).
        secret = extra.get("TWILIO_WEBHOOK_SHARED_KEY_SECRET")
        if not secret:
            log.error("Twilio request signed by a Webhooks Rule refused: TWILIO_WEBHOOK_SHARED_KEY_SECRET is not set")
            return False
    else:
        secret = extra.get("TWILIO_AUTH_TOKEN")
    return verify_twilio_signature(
        secret, _signed_urls(), request.form.items(multi=True), request.headers.get("X-Twilio-Signature"), algorithm
    )


def twiml(text: str | None) -> Response:
    """A TwiML answer: one SMS back with `text`, or none."""
    inner = f"<Message>{escape(text)}</Message>" if text else ""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return Response(xml, status=200, mimetype="application/xml")


def _forbidden() -> Response:
    return Response("invalid signature\n", status=403, mimetype="text/plain")


@provider_hooks_bp.post("/twilio/status")
def twilio_status() -> Any:
    if not _twilio_request_is_signed():
        return _forbidden()
    try:
        outcome = apply_twilio_status(db.session, request.form, request.args.get(NOTIFICATION_PARAM))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("Twilio status report not stored: database unavailable")
        return Response("temporarily unavailable\n", status=503, mimetype="text/plain")
    log.info("Twilio status %s for %s: %s", request.form.get("MessageStatus"), request.form.get("MessageSid"), outcome)
    return Response(status=200)  # the same for an unknown sid: nothing to do, nothing to tell


@provider_hooks_bp.post("/twilio/inbound")
def twilio_inbound() -> Any:
    if not _twilio_request_is_signed():
        return _forbidden()
    keyword = classify_sms_keyword(request.form.get("Body"), request.form.get("OptOutType"))
    if keyword is None:
        return twiml(None)
    phone = normalise_phone(request.form.get("From"))
    if keyword in ("stop", "start") and phone:
        try:
            changed = apply_sms_keyword(db.session, keyword, phone)
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("SMS %s from %s not stored: database unavailable", keyword.upper(), _mask(phone))
            return Response("temporarily unavailable\n", status=503, mimetype="text/plain")
        log.info("SMS %s from %s applied at %d shop(s)", keyword.upper(), _mask(phone), changed)
    # With Twilio's Advanced Opt-Out on, Twilio answers STOP/START/HELP itself and drops this reply.
    return twiml(bilingual(keyword))


# --- LINE -------------------------------------------------------------------------------------------


def apply_line_event(session: Session, event: Mapping[str, Any]) -> str | None:
    """Apply one LINE webhook event; returns the reply to send (a REPLIES key), if any.

    unfollow (blocked) opts the user out at every shop that knows them; a message carrying a valid
    connect code records consent for that shopper at that shop. Idempotent, so LINE's redeliveries
    change nothing twice.
    """
    source = event.get("source") if isinstance(event.get("source"), Mapping) else {}
    user_id = str(source.get("userId") or "")
    if source.get("type") != "user" or not USER_ID.match(user_id):
        return None
    kind = event.get("type")
    if kind == "follow":
        log.info("LINE user %s followed the account", _mask(user_id))
        return None
    if kind == "unfollow":
        for shop_id in shops_reaching(session, "line", user_id):
            record_opt_out(session, shop_id, "line", user_id, source="line:unfollow")
        return None
    message = event.get("message") if isinstance(event.get("message"), Mapping) else {}
    if kind != "message" or message.get("type") != "text":
        return None
    code = find_connect_code(str(message.get("text") or ""))
    if code is None:
        return None
    target = read_line_connect_code(code)
    if target is None or session.get(Shop, target.shop_id) is None:
        return "line_code_invalid"
    record_opt_in(
        session,
        target.shop_id,
        "line",
        user_id,
        source="line:connect",
        email=target.email,
        shopify_customer_id=target.shopify_customer_id,
    )
    return "line_connected"


@provider_hooks_bp.post("/line")
def line_webhook() -> Any:
    body = request.get_data(cache=False)  # the signature is over these exact bytes
    secret = current_app.config["SETTINGS"].extra.get("LINE_CHANNEL_SECRET")
    if not verify_webhook_hmac(body, request.headers.get("X-Line-Signature"), (secret,)):
        return jsonify(error="invalid signature"), 401
    try:
        payload = json.loads(body)
    except ValueError:
        return jsonify(error="body is not JSON"), 400
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        return jsonify(error="no events list"), 400
    try:
        for event in events:
            if not isinstance(event, Mapping):
                continue
            reply = apply_line_event(db.session, event)
            token = event.get("replyToken")
            # In standby mode another module owns the chat and the reply token.
            if reply and isinstance(token, str) and token and event.get("mode", "active") == "active":
                enqueue_after_commit(
                    db.session,
                    send_line_reply,
                    token,
                    [bilingual(reply)],
                    queue="notifications",
                    retry=REPLY_RETRY,
                    job_id=job_id("line_reply", event.get("webhookEventId") or token),
                    unique=True,
                )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("LINE webhook not applied: database unavailable")
        return jsonify(error="temporarily unavailable"), 503  # LINE redelivers when redelivery is on
    return jsonify({}), 200
