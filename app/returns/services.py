"""The returns workflow: what the rules allow for an order, creating a request, and moving it through
requested -> approved/declined -> awaiting shipment -> in transit -> received -> inspected -> resolved/closed.

Every step is recorded (who, when) and becomes a domain event (notifications); every change Shopify must
know about is an outbox row (`ReturnSyncOp`, unique per return and operation) worked by a job after commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.events import record_event
from app.jobs import enqueue_after_commit, job_id
from app.orders.models import Customer, Fulfillment, Order, shown_variant_title
from app.returns.models import (
    OPEN_STATUSES,
    CustomerLoyalty,
    ReturnFile,
    ReturnLine,
    ReturnPolicy,
    ReturnProductFacts,
    ReturnRequest,
    ReturnStep,
    ReturnSyncOp,
)
from app.returns.rules import (
    CENT,
    CustomerFacts,
    Decision,
    ItemFacts,
    OrderFacts,
    Policy,
    decide,
    policy_from_dict,
    quote,
)
from app.returns.tiers import default_policy, default_reasons, is_seller_fault
from app.storefront.uploads import MAX_PHOTO_BYTES, PHOTO_TYPES, Upload, check_upload

LABEL_TYPES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n"}
MAX_LABEL_BYTES = 2 * 1024 * 1024
MAX_COMMENT = 1000

# Which status may follow which; anything else is refused with TransitionError.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "requested": ("approved", "declined", "canceled"),
    "approved": ("awaiting_shipment", "in_transit", "received", "resolved", "canceled"),
    "awaiting_shipment": ("in_transit", "received", "canceled"),
    "in_transit": ("received",),
    "received": ("inspected", "resolved"),
    "inspected": ("resolved",),
    "resolved": ("closed",),
    "declined": ("requested",),
    "closed": ("requested", "approved"),
    "canceled": (),
}


class ReturnInputError(ValueError):
    """The shopper's (or merchant's) input cannot be used; `errors` maps a field to a catalog key."""

    def __init__(self, errors: dict[str, str], values: dict[str, Any] | None = None) -> None:
        super().__init__(json.dumps(errors))
        self.errors = errors
        self.values = values or {}


class TransitionError(ValueError):
    """The return is not in a state where this step can happen."""


@dataclass
class RequestedLine:
    line_item_id: int
    quantity: int
    exchange_variant_id: int | None = None


@dataclass
class ItemView:
    """One order line as the portal shows it."""

    line_item_id: int
    title: str
    variant_title: str | None
    product_id: int | None
    variant_id: int | None
    unit_price: Decimal
    returnable_quantity: int
    image_url: str | None
    exchange_variants: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PortalView:
    order: Order
    policy: Policy
    decision: Decision
    items: list[ItemView]
    reasons: list[dict[str, Any]]
    currency: str
    # What an item may be exchanged for when the shopper wants a different product (not its own).
    exchange_products: list[ExchangeOption] = field(default_factory=list)


@dataclass(frozen=True)
class ExchangeOption:
    product_id: int
    variant_id: int
    title: str  # "Linen shirt - L"; a product without options is its title alone
    price: Decimal


MAX_EXCHANGE_OPTIONS = 40


def _variant_label(product_title: str | None, variant_title: str | None) -> str:
    """ "Linen shirt - L"; Shopify's "Default Title" of a product without options is not shown."""
    shown = shown_variant_title(variant_title)
    return f"{product_title} - {shown}" if shown else str(product_title or "")


def exchange_product_options(session: Session, shop_id: int) -> list[ExchangeOption]:
    """Available variants of the shop's products, from the returns facts (merchant-curated) or else the synced
    catalogue; capped so the portal stays a short list."""
    options: dict[int, ExchangeOption] = {}
    for product in session.execute(
        select(ReturnProductFacts).where(ReturnProductFacts.shop_id == shop_id).order_by(ReturnProductFacts.title)
    ).scalars():
        for variant in product.variants or []:
            if variant.get("available", True) and str(variant.get("id", "")).isdigit():
                options[int(variant["id"])] = ExchangeOption(
                    product.shopify_product_id,
                    int(variant["id"]),
                    _variant_label(product.title, variant.get("title")),
                    Decimal(str(variant.get("price") or "0")),
                )
    if len(options) < MAX_EXCHANGE_OPTIONS:
        from app.recommendations.models import CatalogProduct, CatalogVariant

        rows = session.execute(
            select(CatalogProduct.shopify_product_id, CatalogProduct.title, CatalogVariant)
            .join(
                CatalogVariant,
                (CatalogVariant.shop_id == CatalogProduct.shop_id)
                & (CatalogVariant.shopify_product_id == CatalogProduct.shopify_product_id),
            )
            .where(
                CatalogProduct.shop_id == shop_id,
                CatalogProduct.deleted_at.is_(None),
                CatalogProduct.status == "active",
                CatalogProduct.is_published.is_(True),
                CatalogVariant.is_available.is_(True),
            )
            .order_by(CatalogProduct.title, CatalogVariant.position)
            .limit(MAX_EXCHANGE_OPTIONS)
        ).all()
        for product_id, title, variant in rows:
            options.setdefault(
                variant.shopify_variant_id,
                ExchangeOption(
                    product_id,
                    variant.shopify_variant_id,
                    _variant_label(title, variant.title),
                    variant.price or Decimal("0"),
                ),
            )
    return list(options.values())[:MAX_EXCHANGE_OPTIONS]


# --- policy --------------------------------------------------------------------------------------------


def seller_fault_reasons(session: Session, shop_id: int) -> set[str]:
    """The codes of the shop's return reasons that are the shop's own fault (damaged, wrong item)."""
    return {r["code"] for r in policy_row(session, shop_id).reasons or [] if is_seller_fault(r)}


def policy_row(session: Session, shop_id: int) -> ReturnPolicy:
    """The shop's policy row, created with the defaults the first time it is needed."""
    row = session.execute(select(ReturnPolicy).where(ReturnPolicy.shop_id == shop_id)).scalar_one_or_none()
    if row is not None:
        return row
    stmt = (
        dialect_insert(session, ReturnPolicy.__table__)
        .values(
            shop_id=shop_id,
            published=default_policy(),
            reasons=default_reasons(),
            instructions={
                "en": "Pack the items in their original packaging, attach the label and drop the parcel at any "
                "post office. Keep the receipt until your return is resolved.",
                "th": "แพ็กสินค้าในบรรจุภัณฑ์เดิม ติดใบปะหน้า แล้วส่งที่ที่ทำการไปรษณีย์ใดก็ได้ เก็บใบเสร็จไว้จนกว่าการคืนสินค้าจะเสร็จสิ้น",
            },
            is_enabled=True,
            published_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["shop_id"])
    )
    session.execute(stmt)
    return session.execute(select(ReturnPolicy).where(ReturnPolicy.shop_id == shop_id)).scalar_one()


def published_policy(session: Session, shop_id: int) -> Policy:
    return policy_from_dict(policy_row(session, shop_id).published)


def save_draft(session: Session, shop_id: int, raw: dict[str, Any]) -> Policy:
    """Validate and keep a changed policy as the draft (the simulator compares it). Raises PolicyError."""
    policy = policy_from_dict(raw)
    row = policy_row(session, shop_id)
    row.draft = raw
    return policy


def publish_draft(session: Session, shop_id: int) -> bool:
    row = policy_row(session, shop_id)
    if not row.draft:
        return False
    policy_from_dict(row.draft)
    row.published, row.draft, row.published_at = row.draft, None, utcnow()
    return True


# --- facts for the rules engine ------------------------------------------------------------------------


def delivered_on(session: Session, order: Order) -> date | None:
    """When the order arrived: the last parcel's delivery, or None while anything is undelivered."""
    rows = session.execute(
        select(Fulfillment.delivered_at, Fulfillment.shipment_state).where(
            Fulfillment.shop_id == order.shop_id, Fulfillment.shopify_order_id == order.shopify_order_id
        )
    ).all()
    live = [(at, state) for at, state in rows if state != "cancelled"]
    if not live or any(at is None for at, _ in live):
        return None
    return max(at for at, _ in live).date()


def product_facts(session: Session, shop_id: int, product_ids: list[int]) -> dict[int, ReturnProductFacts]:
    """Tags, type, collections and variants per product: the returns table first, else the catalogue the
    recommendations package syncs from Shopify (app/recommendations/catalog.py), read-only."""
    if not product_ids:
        return {}
    rows = session.execute(
        select(ReturnProductFacts).where(
            ReturnProductFacts.shop_id == shop_id, ReturnProductFacts.shopify_product_id.in_(product_ids)
        )
    ).scalars()
    found = {row.shopify_product_id: row for row in rows}
    missing = [p for p in product_ids if p not in found]
    if missing:
        found.update(_catalog_facts(session, shop_id, missing))
    return found


def _catalog_facts(session: Session, shop_id: int, product_ids: list[int]) -> dict[int, ReturnProductFacts]:
    from app.recommendations.models import CatalogCollection, CatalogProduct, CatalogVariant

    products = session.execute(
        select(CatalogProduct).where(
            CatalogProduct.shop_id == shop_id,
            CatalogProduct.shopify_product_id.in_(product_ids),
            CatalogProduct.deleted_at.is_(None),
        )
    ).scalars()
    facts: dict[int, ReturnProductFacts] = {}
    for product in products:
        variants = session.execute(
            select(CatalogVariant)
            .where(CatalogVariant.shop_id == shop_id, CatalogVariant.shopify_product_id == product.shopify_product_id)
            .order_by(CatalogVariant.position)
        ).scalars()
        collections = session.execute(
            select(CatalogCollection.title).where(
                CatalogCollection.shop_id == shop_id, CatalogCollection.shopify_product_id == product.shopify_product_id
            )
        ).scalars()
        # Transient (never added to the session): the catalogue stays the one stored copy.
        facts[product.shopify_product_id] = ReturnProductFacts(
            shop_id=shop_id,
            shopify_product_id=product.shopify_product_id,
            title=product.title,
            product_type=product.product_type,
            tags=list(product.tags or []),
            collections=[c for c in collections if c],
            variants=[
                {
                    "id": v.shopify_variant_id,
                    "title": v.title,
                    "price": str(v.price or "0"),
                    "available": v.is_available,
                }
                for v in variants
            ],
            image_url=product.image_url,
        )
    return facts


def _item_images(
    session: Session, shop_id: int, items: list[dict[str, Any]], facts: dict[int, ReturnProductFacts]
) -> dict[int, str]:
    """Each line's picture: its variant's in the catalogue, else its product's (returns facts, then catalogue).

    Shopify's order line items carry no image, and the returns facts of a product often have none either;
    the catalogue the recommendations package syncs does."""
    from app.recommendations.models import CatalogProduct, CatalogVariant

    variant_ids = {int(i["variant_id"]) for i in items if str(i.get("variant_id") or "").isdigit()}
    product_ids = {int(i["product_id"]) for i in items if str(i.get("product_id") or "").isdigit()}
    variant_images = dict(
        session.execute(
            select(CatalogVariant.shopify_variant_id, CatalogVariant.image_url).where(
                CatalogVariant.shop_id == shop_id,
                CatalogVariant.shopify_variant_id.in_(variant_ids),
                CatalogVariant.image_url.is_not(None),
            )
        ).all()
        if variant_ids
        else []
    )
    product_images = {p: f.image_url for p, f in facts.items() if f.image_url}
    lacking = product_ids - set(product_images)
    if lacking:
        product_images.update(
            session.execute(
                select(CatalogProduct.shopify_product_id, CatalogProduct.image_url).where(
                    CatalogProduct.shop_id == shop_id,
                    CatalogProduct.shopify_product_id.in_(lacking),
                    CatalogProduct.image_url.is_not(None),
                )
            ).all()
        )
    images = {}
    for item in items:
        if not str(item.get("id") or "").isdigit():
            continue
        variant = int(item["variant_id"]) if str(item.get("variant_id") or "").isdigit() else None
        product = int(item["product_id"]) if str(item.get("product_id") or "").isdigit() else None
        image = variant_images.get(variant) or product_images.get(product)
        if image:
            images[int(item["id"])] = image
    return images


def customer_facts(session: Session, order: Order) -> CustomerFacts:
    """Lifetime figures from Shopify (CustomerLoyalty, refreshed by a job) or, until then, from our own
    orders; past returns from our return requests."""
    customer_id = order.shopify_customer_id
    own_orders = session.execute(
        select(func.count(), func.coalesce(func.sum(Order.total_price), 0)).where(
            Order.shop_id == order.shop_id,
            (Order.shopify_customer_id == customer_id) if customer_id else (Order.email == order.email),
        )
    ).one()
    orders_count, spent, tags = int(own_orders[0]), Decimal(str(own_orders[1])), ()
    if customer_id:
        loyalty = session.execute(
            select(CustomerLoyalty).where(
                CustomerLoyalty.shop_id == order.shop_id, CustomerLoyalty.shopify_customer_id == customer_id
            )
        ).scalar_one_or_none()
        if loyalty is not None:
            orders_count = max(orders_count, loyalty.orders_count)
            spent = max(spent, loyalty.amount_spent)
            tags = tuple(loyalty.tags or ())
        else:
            stored = session.execute(
                select(Customer.orders_count).where(
                    Customer.shop_id == order.shop_id, Customer.shopify_customer_id == customer_id
                )
            ).scalar()
            orders_count = max(orders_count, stored or 0)
    past_returns = session.execute(
        select(func.count(func.distinct(ReturnRequest.shopify_order_id)))
        .join(
            Order, (Order.shop_id == ReturnRequest.shop_id) & (Order.shopify_order_id == ReturnRequest.shopify_order_id)
        )
        .where(
            ReturnRequest.shop_id == order.shop_id,
            ReturnRequest.status.notin_(("declined", "canceled")),
            ReturnRequest.shopify_order_id != order.shopify_order_id,
            (Order.shopify_customer_id == customer_id) if customer_id else (Order.email == order.email),
        )
    ).scalar_one()
    return CustomerFacts(
        orders_count=orders_count,
        amount_spent=spent,
        tags=tags,
        past_return_count=int(past_returns),
        past_order_count=max(orders_count - 1, 0),
    )


def already_returned(session: Session, order: Order) -> dict[int, int]:
    """Quantity per line item already in a live (not declined or canceled) return."""
    rows = session.execute(
        select(ReturnLine.shopify_line_item_id, func.sum(ReturnLine.quantity))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_request_id)
        .where(
            ReturnRequest.shop_id == order.shop_id,
            ReturnRequest.shopify_order_id == order.shopify_order_id,
            ReturnRequest.status.notin_(("declined", "canceled")),
        )
        .group_by(ReturnLine.shopify_line_item_id)
    ).all()
    return {int(line_id): int(qty) for line_id, qty in rows}


def order_facts(session: Session, order: Order) -> tuple[OrderFacts, list[ItemView]]:
    items = order.line_items or []
    facts = product_facts(session, order.shop_id, [int(i["product_id"]) for i in items if i.get("product_id")])
    images = _item_images(session, order.shop_id, items, facts)
    returned = already_returned(session, order)
    item_facts, views = [], []
    for item in items:
        if not str(item.get("id") or "").isdigit():
            continue
        line_id = int(item["id"])
        product = facts.get(int(item["product_id"])) if item.get("product_id") else None
        price = Decimal(str(item.get("price") or "0"))
        quantity = int(item.get("quantity") or 0)
        item_facts.append(
            ItemFacts(
                line_item_id=line_id,
                title=str(item.get("title") or ""),
                unit_price=price,
                quantity=quantity,
                product_tags=tuple(product.tags or ()) if product else (),
                product_type=product.product_type if product else None,
                collections=tuple(product.collections or ()) if product else (),
                discount_percent=_discount_percent(item, price, quantity),
            )
        )
        variants = [
            v
            for v in (product.variants or [] if product else [])
            if v.get("available", True) and str(v.get("id")) != str(item.get("variant_id"))
        ]
        views.append(
            ItemView(
                line_item_id=line_id,
                title=str(item.get("title") or ""),
                variant_title=item.get("variant_title"),
                product_id=int(item["product_id"]) if item.get("product_id") else None,
                variant_id=int(item["variant_id"]) if item.get("variant_id") else None,
                unit_price=price,
                returnable_quantity=max(0, quantity - returned.get(line_id, 0)),
                image_url=images.get(line_id),
                exchange_variants=variants,
            )
        )
    order_facts_ = OrderFacts(
        order_value=order.total_price or Decimal("0"),
        currency=order.currency or "USD",
        delivered_on=delivered_on(session, order),
        destination_country=order.shipping_country,
        items=tuple(item_facts),
    )
    return order_facts_, views


LOYALTY_MAX_AGE_HOURS = 24


def request_loyalty_refresh(session: Session, order: Order) -> bool:
    """Queue a refresh of the customer's Shopify figures when ours are missing or a day old (job id
    `loyalty-<shop>-<customer>`, unique). Until it lands, tiers use our own orders of that customer."""
    from datetime import timedelta

    from app.returns.jobs import refresh_customer_loyalty

    if not order.shopify_customer_id or current_app.config["SETTINGS"].env == "demo":
        return False
    refreshed_at = session.execute(
        select(CustomerLoyalty.refreshed_at).where(
            CustomerLoyalty.shop_id == order.shop_id, CustomerLoyalty.shopify_customer_id == order.shopify_customer_id
        )
    ).scalar()
    if refreshed_at is not None and refreshed_at > utcnow() - timedelta(hours=LOYALTY_MAX_AGE_HOURS):
        return False
    enqueue_after_commit(
        session,
        refresh_customer_loyalty,
        order.shop_id,
        order.shopify_customer_id,
        queue="default",
        job_id=job_id("loyalty", order.shop_id, order.shopify_customer_id),
        unique=True,
    )
    return True


def _discount_percent(item: dict[str, Any], unit_price: Decimal, quantity: int) -> Decimal:
    """The share of the line's price that discounts took off, in percent (0 when unknown)."""
    full = unit_price * quantity
    try:
        discount = Decimal(str(item.get("discount") or "0"))
    except (ArithmeticError, ValueError):
        return Decimal("0")
    if full <= 0 or discount <= 0:
        return Decimal("0")
    return min(Decimal("100"), (discount / full * 100).quantize(Decimal("0.01")))


def portal_view(session: Session, order: Order, today: date | None = None) -> PortalView:
    """Everything the portal shows for an order: each item, what the rules allow for it, and why not."""
    policy = published_policy(session, order.shop_id)
    facts, views = order_facts(session, order)
    decision = decide(policy, facts, customer_facts(session, order), today or utcnow().date())
    return PortalView(
        order=order,
        policy=policy,
        decision=decision,
        items=views,
        reasons=policy_row(session, order.shop_id).reasons,
        currency=facts.currency,
        exchange_products=(
            exchange_product_options(session, order.shop_id)
            if any("exchange_product" in decision.item(i.line_item_id).allowed_resolutions for i in views)
            else []
        ),
    )


# --- uploads -------------------------------------------------------------------------------------------


# --- creating a request --------------------------------------------------------------------------------


def _idempotency_key(order: Order, lines: list[RequestedLine], resolution: str) -> str:
    body = json.dumps(
        [
            order.shopify_order_id,
            sorted((x.line_item_id, x.quantity, x.exchange_variant_id or 0) for x in lines),
            resolution,
        ]
    )
    return "portal:" + hashlib.sha256(body.encode()).hexdigest()[:40]


def create_return_request(
    session: Session,
    order: Order,
    lines: list[RequestedLine],
    *,
    reason_code: str,
    resolution: str,
    comment: str | None = None,
    photo: Upload | None = None,
    locale: str = "en",
    actor: str = "shopper",
    today: date | None = None,
) -> ReturnRequest:
    """Create a return request for `lines` of `order`, if the published policy allows every part of it.

    Idempotency key: the order, lines and resolution (a double submit returns the first request).
    Raises ReturnInputError naming each bad field with a catalog key. Queues the Shopify sync after commit.
    """
    key = _idempotency_key(order, lines, resolution)
    existing = session.execute(
        select(ReturnRequest).where(ReturnRequest.shop_id == order.shop_id, ReturnRequest.idempotency_key == key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    view = portal_view(session, order, today)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    chosen = [line for line in lines if line.quantity > 0]
    if not chosen:
        errors["items"] = "returns.no_items_chosen"
    reason = next((r for r in view.reasons if r.get("code") == reason_code), None)
    if reason is None:
        errors["reason"] = "returns.choose_reason"
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    if reason and reason.get("comment") and not comment:
        errors["comment"] = "returns.comment_required"
    if photo is not None and photo.data:
        problem = check_upload(photo, PHOTO_TYPES, MAX_PHOTO_BYTES)
        if problem:
            errors["photo"] = f"returns.photo_{problem}"
            values["max_mb"] = MAX_PHOTO_BYTES // (1024 * 1024)
    elif reason and reason.get("photo"):
        errors["photo"] = "returns.photo_required"
        values["max_mb"] = MAX_PHOTO_BYTES // (1024 * 1024)
    items_by_id = {item.line_item_id: item for item in view.items}
    for line in chosen:
        item = items_by_id.get(line.line_item_id)
        if item is None or line.quantity > item.returnable_quantity:
            errors[f"item.{line.line_item_id}"] = "returns.no.already_returned" if item else "returns.invalid_choice"
            continue
        decision = view.decision.item(line.line_item_id)
        if not decision.is_eligible or resolution not in decision.allowed_resolutions:
            errors[f"item.{line.line_item_id}"] = "returns.invalid_choice"
        if resolution == "exchange_variant":
            options = {int(v["id"]): v for v in item.exchange_variants}
            if line.exchange_variant_id not in options:
                errors[f"item.{line.line_item_id}"] = "returns.no.no_other_variant"
        if resolution == "exchange_product":
            options = {o.variant_id for o in view.exchange_products if o.product_id != item.product_id}
            if line.exchange_variant_id not in options:
                errors[f"item.{line.line_item_id}"] = "returns.no.choose_product"
    if errors:
        raise ReturnInputError(errors, values)

    policy = view.policy
    decisions = [view.decision.item(line.line_item_id) for line in chosen]
    shop_pays_shipping = policy.seller_fault_free_shipping and is_seller_fault(reason)
    request = ReturnRequest(
        shop_id=order.shop_id,
        shopify_order_id=order.shopify_order_id,
        order_id=order.id,
        idempotency_key=key,
        source="portal",
        status="requested",
        resolution=resolution,
        reason_code=reason_code,
        comment=comment,
        locale=locale,
        tier_code=view.decision.tier,
        currency=view.currency,
        is_auto_approved=all(d.auto_approve for d in decisions),
        is_free_shipping=shop_pays_shipping or all(d.free_return_shipping for d in decisions),
        decision={
            "tier": view.decision.tier,
            "items": {
                str(d.line_item_id): {
                    "matched_rules": list(d.matched_rules),
                    "window_days": d.window_days,
                    "window_ends_on": d.window_ends_on.isoformat() if d.window_ends_on else None,
                    "credit_bonus_percent": str(d.credit_bonus_percent),
                    "free_return_shipping": d.free_return_shipping,
                    "auto_approve": d.auto_approve,
                }
                for d in decisions
            },
        },
        label_adapter="instructions",
    )
    totals = {k: Decimal("0.00") for k in ("subtotal", "restocking_fee", "shipping_fee", "bonus", "total")}
    new_items_value = Decimal("0.00")
    for index, (line, decision) in enumerate(zip(chosen, decisions, strict=True)):
        item = items_by_id[line.line_item_id]
        # The return shipping fee is charged once per request, not per item.
        figures = quote(
            decision,
            item.unit_price,
            line.quantity,
            resolution,
            shipping_fee=policy.return_shipping_fee if index == 0 and not shop_pays_shipping else Decimal("0"),
        )
        for name in totals:
            totals[name] += figures[name]
        exchange_title, exchange_price = _exchange_target(session, order.shop_id, item, line)
        if exchange_price is not None:
            new_items_value += exchange_price * line.quantity
        request.lines.append(
            ReturnLine(
                shop_id=order.shop_id,
                shopify_line_item_id=line.line_item_id,
                shopify_product_id=item.product_id,
                shopify_variant_id=item.variant_id,
                title=item.title,
                variant_title=item.variant_title,
                quantity=line.quantity,
                unit_price=item.unit_price,
                exchange_variant_id=line.exchange_variant_id if resolution.startswith("exchange") else None,
                exchange_title=exchange_title,
                exchange_unit_price=exchange_price,
            )
        )
    request.subtotal = totals["subtotal"]
    request.restocking_fee = totals["restocking_fee"]
    request.shipping_fee = totals["shipping_fee"]
    request.credit_bonus = totals["bonus"]
    if resolution == "store_credit":
        request.credit_amount = totals["total"]
    elif resolution in ("refund", "keep"):
        request.refund_amount = totals["total"]
    else:
        request.price_difference = (new_items_value - totals["total"]).quantize(CENT)
        request.refund_amount = max(Decimal("0.00"), -request.price_difference)
    session.add(request)
    session.flush()
    if photo is not None and photo.data:
        session.add(
            ReturnFile(
                shop_id=order.shop_id,
                return_request_id=request.id,
                kind="photo",
                content_type=photo.content_type,
                size=len(photo.data),
                data=photo.data,
            )
        )
    record_step(session, request, "requested", actor)
    if request.is_auto_approved:
        record_step(session, request, "approved", "system", note="auto-approved by the return policy")
        request.status = "approved"
        _after_approval(session, request)
    # A reviewed exchange is created in Shopify on approval (returnCreate carries exchange items;
    # returnRequest cannot), everything else at once.
    if request.is_auto_approved or not resolution.startswith("exchange"):
        schedule_sync(session, request, "create")
    return request


def _exchange_target(
    session: Session, shop_id: int, item: ItemView, line: RequestedLine
) -> tuple[str | None, Decimal | None]:
    if not line.exchange_variant_id:
        return None, None
    for variant in item.exchange_variants:
        if int(variant["id"]) == line.exchange_variant_id:
            return _variant_label(item.title, variant.get("title")), Decimal(
                str(variant.get("price") or item.unit_price)
            )
    for option in exchange_product_options(session, shop_id):
        if option.variant_id == line.exchange_variant_id:
            return option.title, option.price
    return None, None


# --- steps and transitions -----------------------------------------------------------------------------


def record_step(
    session: Session,
    request: ReturnRequest,
    status: str,
    actor: str,
    *,
    note: str | None = None,
    key: str | None = None,
    happened_at: datetime | None = None,
) -> bool:
    """Record one step (who, when) and its domain event; a repeated `key` (e.g. a webhook) records nothing.
    `happened_at` dates the event when its source says when it happened (a refund's time)."""
    dedupe = key or f"{request.id}:{status}:{len([s for s in request.steps if s.status == status])}"
    stmt = (
        dialect_insert(session, ReturnStep.__table__)
        .values(
            shop_id=request.shop_id,
            return_request_id=request.id,
            status=status,
            actor=actor[:80],
            note=note,
            dedupe_key=dedupe[:200],
            occurred_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "dedupe_key"])
    )
    inserted = session.execute(stmt.returning(ReturnStep.__table__.c.id)).scalar()
    if inserted is None:
        return False
    session.expire(request, ["steps"])
    record_event(
        session,
        request.shop_id,
        "return.status_changed",
        f"return:{request.id}:step:{inserted}",
        shopify_order_id=request.shopify_order_id,
        data={"return_id": request.id, "to": status, "resolution": request.resolution},
        happened_at=happened_at,
    )
    return True


def _move(session: Session, request: ReturnRequest, status: str, actor: str, note: str | None = None) -> None:
    if status not in TRANSITIONS.get(request.status, ()):
        raise TransitionError(f"a return that is {request.status} cannot become {status}")
    request.status = status
    record_step(session, request, status, actor, note=note)


def _after_approval(session: Session, request: ReturnRequest) -> None:
    """Approved: nothing to send back for "keep"; otherwise the label adapter gives instructions or a label."""
    if request.resolution == "keep":
        return
    from app.returns.labels import adapter_for

    adapter_for(request.label_adapter).prepare(session, request)
    request.status = "awaiting_shipment"
    record_step(session, request, "awaiting_shipment", "system")


def get_return(session: Session, shop_id: int, return_id: int) -> ReturnRequest | None:
    return session.execute(
        select(ReturnRequest).where(ReturnRequest.shop_id == shop_id, ReturnRequest.id == return_id)
    ).scalar_one_or_none()


def approve_return(session: Session, request: ReturnRequest, actor: str) -> None:
    """Merchant approves. Shopify: returnApproveRequest (or returnCreate for a reviewed exchange)."""
    _move(session, request, "approved", actor)
    _after_approval(session, request)
    if request.resolution and request.resolution.startswith("exchange") and request.shopify_return_id is None:
        schedule_sync(session, request, "create")
    else:
        schedule_sync(session, request, "approve")


DECLINE_REASONS = ("RETURN_PERIOD_ENDED", "FINAL_SALE", "OTHER")


def decline_return(session: Session, request: ReturnRequest, actor: str, reason: str, note: str | None) -> None:
    """Merchant declines with a reason (Shopify's ReturnDeclineReason) and a note for the shopper."""
    if reason not in DECLINE_REASONS:
        raise ReturnInputError({"decline_reason": f"one of {', '.join(DECLINE_REASONS)}"})
    _move(session, request, "declined", actor, note=note)
    request.decline_reason, request.decline_note = reason, (note or "").strip()[:500] or None
    if request.shopify_return_id is not None or _has_op(session, request, "create"):
        schedule_sync(session, request, "decline")


def add_tracking(session: Session, request: ReturnRequest, actor: str, company: str | None, number: str) -> None:
    """The parcel is on its way back: tracked like any shipment (carrier detection and link from
    app/tracking/carriers); Shopify gets a reverse delivery with the tracking."""
    from app.tracking.carriers import detect_carrier, normalize_tracking_number, tracking_link

    number = normalize_tracking_number(number)
    if not number:
        raise ReturnInputError({"tracking_number": "returns.invalid_choice"})
    carrier, url = tracking_link(number, company, None)
    request.tracking_company, request.tracking_number, request.tracking_url = carrier or company, number, url
    detected = detect_carrier(number, hint=company)
    request.carrier_code = detected.code if detected else None  # app/returns/tracking.py polls its scans
    _move(session, request, "in_transit", actor)
    schedule_sync(session, request, "reverse_delivery")


def mark_received(session: Session, request: ReturnRequest, actor: str) -> None:
    _move(session, request, "received", actor)


def mark_inspected(session: Session, request: ReturnRequest, actor: str, note: str | None = None) -> None:
    _move(session, request, "inspected", actor, note=note)


def resolve_return(session: Session, request: ReturnRequest, actor: str) -> None:
    """Issue the resolution. Shopify: returnProcess (refund or exchange), then store credit if chosen."""
    _move(session, request, "resolved", actor, note=request.resolution)
    request.resolved_at = utcnow()
    schedule_sync(session, request, "process")
    if request.resolution == "store_credit" and request.credit_amount > 0:
        schedule_sync(session, request, "credit")


def close_return(session: Session, request: ReturnRequest, actor: str) -> None:
    _move(session, request, "closed", actor)


# --- the Shopify outbox --------------------------------------------------------------------------------


def _has_op(session: Session, request: ReturnRequest, operation: str) -> bool:
    return (
        session.execute(
            select(ReturnSyncOp.id).where(
                ReturnSyncOp.return_request_id == request.id, ReturnSyncOp.operation == operation
            )
        ).scalar()
        is not None
    )


def schedule_sync(session: Session, request: ReturnRequest, operation: str) -> int | None:
    """Queue one Shopify mutation for the return, once (unique on return + operation); the job runs after
    commit with job id `return-sync-<op id>`. Returns the op id, or None when it was already queued."""
    from app.returns.jobs import run_return_sync

    stmt = (
        dialect_insert(session, ReturnSyncOp.__table__)
        .values(
            shop_id=request.shop_id,
            return_request_id=request.id,
            operation=operation,
            status="pending",
            attempts=0,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["return_request_id", "operation"])
    )
    op_id = session.execute(stmt.returning(ReturnSyncOp.__table__.c.id)).scalar()
    if op_id is None or current_app.config["SETTINGS"].env == "demo":
        return op_id  # the demo has no Shopify to talk to: the op stays pending, shown in the admin
    enqueue_after_commit(
        session, run_return_sync, op_id, queue="default", job_id=job_id("return-sync", op_id), unique=True
    )
    return op_id


def retry_failed_sync(session: Session, shop_id: int, op_id: int) -> bool:
    """Merchant retries a failed (or unknown-outcome) sync after checking Shopify."""
    from app.returns.jobs import run_return_sync

    op = session.execute(
        select(ReturnSyncOp).where(ReturnSyncOp.shop_id == shop_id, ReturnSyncOp.id == op_id)
    ).scalar_one_or_none()
    if op is None or op.status not in ("failed", "sending"):
        return False
    op.status, op.last_error = "pending", None
    enqueue_after_commit(
        session, run_return_sync, op.id, queue="default", job_id=job_id("return-sync", op.id), unique=True
    )
    return True


def lines_for(session: Session, request: ReturnRequest) -> list[ReturnLine]:
    return list(request.lines)


def return_history(session: Session, shop_id: int, since: datetime) -> list[ReturnRequest]:
    return list(
        session.execute(
            select(ReturnRequest)
            .where(ReturnRequest.shop_id == shop_id, ReturnRequest.requested_at >= since)
            .order_by(ReturnRequest.id)
        ).scalars()
    )


def open_return_for_order(session: Session, shop_id: int, shopify_order_id: int) -> list[ReturnRequest]:
    return list(
        session.execute(
            select(ReturnRequest).where(
                ReturnRequest.shop_id == shop_id,
                ReturnRequest.shopify_order_id == shopify_order_id,
                ReturnRequest.status.in_(OPEN_STATUSES),
            )
        ).scalars()
    )
