"""Shop domains: strict validation, and finding or creating the shop row for a domain."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import dialect_insert
from app.shopify.models import Shop

# Anchored: a subdomain of myshopify.com and nothing else (SSRF and token theft otherwise).
SHOP_DOMAIN_RE = re.compile(r"\A[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com\Z")


class InvalidShopDomain(ValueError):
    pass


def normalize_shop_domain(value: str | None) -> str:
    """Return the canonical `name.myshopify.com`, or raise InvalidShopDomain."""
    domain = (value or "").strip().lower()
    if domain.startswith("https://"):
        domain = domain[len("https://") :]
    domain = domain.rstrip("/")
    if not SHOP_DOMAIN_RE.match(domain):
        raise InvalidShopDomain(f"not a myshopify.com shop domain: {value!r}")
    return domain


def is_valid_shop_domain(value: str | None) -> bool:
    try:
        normalize_shop_domain(value)
    except InvalidShopDomain:
        return False
    return True


# Shop rows are never deleted (shop/redact erases their data, not the row), so ids can be cached.
_shop_id_cache: dict[str, int] = {}


def shop_id_for_domain(session: Session, domain: str) -> int:
    """The id of the shop row for a validated domain, creating the row on first sight."""
    cached = _shop_id_cache.get(domain)
    if cached is not None:
        return cached
    shop_id = session.execute(select(Shop.id).where(Shop.domain == domain)).scalar()
    if shop_id is not None:
        _shop_id_cache[domain] = shop_id  # a committed row (or one another transaction committed)
        return shop_id
    stmt = dialect_insert(session, Shop.__table__).values(domain=domain, is_installed=False)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["domain"]))
    # Not cached yet: this transaction may still roll back the row it just inserted.
    return session.execute(select(Shop.id).where(Shop.domain == domain)).scalar_one()


def get_shop(session: Session, domain: str) -> Shop | None:
    return session.execute(select(Shop).where(Shop.domain == domain)).scalar_one_or_none()
