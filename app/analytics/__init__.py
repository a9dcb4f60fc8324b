"""Analytics that prove the value (issue 19): daily rollups per shop, the dashboard, the weekly summary.

The one thing other packages call is `count_tracking_view` (the tracking page and widget count their opens and
lookups); everything else is read from the features' tables by the rollup jobs (app/analytics/rollups.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from app.extensions import db
from app.i18n import zone

log = logging.getLogger(__name__)

SURFACES = ("page", "widget", "link")


def count_tracking_view(shop_id: int, iana_timezone: str | None, surface: str, found_order: bool) -> None:
    """Count one open of the tracking page or widget on the shop's local day, and a lookup when it found an
    order. One short transaction of its own (never the page's), not waiting for a WAL flush; a failure is logged
    and dropped, since counting must never break a shopper's page."""
    from sqlalchemy.dialects import postgresql, sqlite

    from app.analytics.models import TrackingViewCount

    day = datetime.now(UTC).astimezone(zone(iana_timezone)).date()
    lookups = 1 if found_order else 0
    try:
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            table = TrackingViewCount.__table__
            insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
            stmt = insert(table).values(shop_id=shop_id, day=day, surface=surface, views=1, lookups=lookups)
            stmt = stmt.on_conflict_do_update(
                index_elements=["shop_id", "day", "surface"],
                set_={"views": table.c.views + 1, "lookups": table.c.lookups + lookups},
            )
            connection.execute(stmt)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not count a tracking view for shop %s", shop_id)
