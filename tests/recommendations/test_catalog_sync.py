"""Initial catalogue sync through Shopify's bulk operations, against the fake Admin API (throttling included)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.extensions import db
from app.jobs import QUEUES
from app.recommendations import catalog
from app.recommendations.jobs import queue_catalog_sync
from app.recommendations.models import CatalogCollection, CatalogProduct, CatalogSync, CatalogVariant
from app.shopify.graphql import AdminClient
from tests.conftest import SHOP
from tests.fakes.shopify_bulk import product_node
from tests.notifications.conftest import release_scheduled_jobs

# The test app's secret is short; Shopify's real secrets are long enough for PyJWT.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture()
def catalogue(fake_shopify):
    products = fake_shopify.shop(SHOP).bulk_state.products
    for node in (
        product_node(1, "Cotton Tee", sizes=["S", "M", "L"], collections=[(77, "Summer")]),
        product_node(2, "Linen Shorts", product_type="Bottoms", collections=[(77, "Summer"), (78, "Sale")]),
        product_node(3, "Sold-out Cap", product_type="Accessories", available=False),
        product_node(4, "Draft Scarf", product_type="Accessories", status="DRAFT"),
    ):
        products[node["id"]] = node
    return products


def _work(app, redis_conn) -> None:
    SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
    db.session.remove()


def _imported() -> dict[int, CatalogProduct]:
    return {p.shopify_product_id: p for p in db.session.execute(select(CatalogProduct)).scalars()}


def test_bulk_sync_imports_products_variants_collections_and_availability(
    fake_app,
    install_shop,
    fake_shopify,
    catalogue,
):
    shop_id = install_shop()
    seen = []
    with AdminClient(shop_id) as client:
        sync = catalog.start_bulk_sync(db.session, shop_id, client)
        assert sync.status == "running" and sync.bulk_operation_id == "gid://shopify/BulkOperation/1"
        assert catalog.poll_bulk_sync(db.session, sync, client) == "running"
        assert sync.object_count > 0
        assert (
            catalog.poll_bulk_sync(db.session, sync, client, on_progress=lambda s: seen.append(s.imported_products))
            == "completed"
        )
    products = _imported()
    assert set(products) == {1, 2, 3, 4}
    tee = products[1]
    assert (tee.title, tee.handle, tee.product_type, tee.size_option) == ("Cotton Tee", "cotton-tee", "Tops", 1)
    assert tee.image_url == "https://cdn.shopify.com/s/files/1.jpg" and tee.collection_ids == [77]
    assert tee.is_recommendable and not products[3].is_recommendable and not products[4].is_recommendable
    sizes = (
        db.session.execute(
            select(CatalogVariant.option1)
            .where(CatalogVariant.shopify_product_id == 1)
            .order_by(CatalogVariant.position)
        )
        .scalars()
        .all()
    )
    assert sizes == ["S", "M", "L"]
    assert sorted(db.session.execute(select(CatalogCollection.shopify_collection_id)).scalars()) == [77, 77, 78]
    assert sync.imported_products == 4 and sync.finished_at is not None and seen[-1] == 4
    download = [r for r in fake_shopify.requests if r.method == "GET"]
    assert len(download) == 1 and "x-shopify-access-token" not in download[0].headers


def test_a_throttled_answer_is_waited_out_and_the_sync_still_completes(
    fake_app,
    install_shop,
    fake_shopify,
    catalogue,
):
    shop_id = install_shop()
    fake_shopify.set_bucket(SHOP, maximum=100, available=0, restore_rate=50)
    with AdminClient(shop_id) as client:
        sync = catalog.start_bulk_sync(db.session, shop_id, client)
        while catalog.poll_bulk_sync(db.session, sync, client) == "running":
            pass
    throttled = [r for r in fake_shopify.graphql_requests(SHOP) if "THROTTLED" in str(r.response)]
    assert throttled, "the first request should have met an empty bucket"
    assert sync.status == "completed" and len(_imported()) == 4


def test_an_export_already_running_is_reported_not_retried(fake_app, install_shop, fake_shopify, catalogue):
    shop_id = install_shop()
    with AdminClient(shop_id) as client:
        catalog.start_bulk_sync(db.session, shop_id, client)
        with pytest.raises(catalog.BulkSyncError, match="already in progress"):
            catalog.start_bulk_sync(db.session, shop_id, client)
    statuses = db.session.execute(select(CatalogSync.status).order_by(CatalogSync.id)).scalars().all()
    assert statuses == ["running", "failed"]


def test_a_failed_export_is_recorded_with_shopifys_error_code(fake_app, install_shop, fake_shopify, catalogue):
    shop_id = install_shop()
    fake_shopify.shop(SHOP).bulk_state.fail_with = "INTERNAL_SERVER_ERROR"
    with AdminClient(shop_id) as client:
        sync = catalog.start_bulk_sync(db.session, shop_id, client)
        while catalog.poll_bulk_sync(db.session, sync, client) == "running":
            pass
    assert sync.status == "failed" and "INTERNAL_SERVER_ERROR" in sync.error
    assert _imported() == {}


def test_the_sync_job_retries_a_long_throttle_then_polls_imports_and_rebuilds(
    fake_app,
    install_shop,
    fake_shopify,
    catalogue,
    redis_conn,
):
    shop_id = install_shop()
    fake_shopify.set_bucket(SHOP, maximum=100, available=0, restore_rate=0.01)  # far longer than a client waits
    queue_catalog_sync(shop_id)
    _work(fake_app, redis_conn)
    assert db.session.execute(select(CatalogSync)).first() is None  # nothing started: RQ will retry the job
    fake_shopify.set_bucket(SHOP)
    for _ in range(5):  # the retry, then each poll, are scheduled: let their time come
        release_scheduled_jobs(redis_conn)
        _work(fake_app, redis_conn)
    sync = db.session.execute(select(CatalogSync)).scalar_one()
    assert sync.status == "completed" and len(_imported()) == 4


def test_webhooks_and_a_sync_converge_whatever_the_order(fake_app, install_shop, fake_shopify, catalogue):
    from app.recommendations.catalog import product_from_rest, upsert_product
    from tests.recommendations.conftest import T0, product_payload

    shop_id = install_shop()
    # A webhook newer than the export: the export must not overwrite it.
    newer = product_payload(2, "Linen Shorts v2", "Bottoms", updated=T0 + timedelta(days=60))
    upsert_product(db.session, shop_id, product_from_rest(newer))
    db.session.commit()
    with AdminClient(shop_id) as client:
        sync = catalog.start_bulk_sync(db.session, shop_id, client)
        while catalog.poll_bulk_sync(db.session, sync, client) == "running":
            pass
    assert _imported()[2].title == "Linen Shorts v2"


def test_the_cli_syncs_with_a_progress_bar_and_rebuilds(fake_app, install_shop, fake_shopify, catalogue):
    install_shop()
    result = fake_app.test_cli_runner().invoke(args=["recs", "sync", "--shop", SHOP, "--poll-every", "0"])
    assert result.exit_code == 0, result.output
    assert "exporting [" in result.output and "importing [" in result.output
    assert "imported 4 products; models rebuilt from 0 orders" in result.output
    assert len(_imported()) == 4


def test_the_cli_names_an_unknown_shop(fake_app):
    result = fake_app.test_cli_runner().invoke(args=["recs", "sync", "--shop", "nope.myshopify.com"])
    assert result.exit_code != 0 and "no shop nope.myshopify.com" in result.output


def test_bulk_operations_finish_webhook_imports_at_once(
    fake_app, install_shop, fake_shopify, catalogue, post_webhook, redis_conn
):
    shop_id = install_shop()
    fake_shopify.shop(SHOP).bulk_state.polls_before_done = 0
    with AdminClient(shop_id) as client:
        sync = catalog.start_bulk_sync(db.session, shop_id, client)
    sync_id, operation_id = sync.id, sync.bulk_operation_id
    finished = {
        "admin_graphql_api_id": operation_id,
        "completed_at": "2026-11-23T01:00:00Z",
        "created_at": "2026-11-23T00:59:00Z",
        "error_code": None,
        "status": "completed",
        "type": "query",
    }
    assert post_webhook("bulk_operations/finish", finished, via=fake_app.test_client()).status_code == 200
    _work(fake_app, redis_conn)  # the webhook's job, then the import it queues (no 5 s poll wait)
    assert db.session.get(CatalogSync, sync_id).status == "completed" and len(_imported()) == 4
