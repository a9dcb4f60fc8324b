"""The dialect helpers in app/db.py behave the same on PostgreSQL and on SQLite (the demo's database)."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Column, MetaData, Table, create_engine, event, select

from app.db import in_ids

metadata = MetaData()
items = Table("in_ids_items", metadata, Column("id", BigInteger, primary_key=True))


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, base_settings):
    engine = create_engine(base_settings.database_url if request.param == "postgresql" else "sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(items.insert(), [{"id": i} for i in (1, 2, 3, 9_007_199_254_740_993)])
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


@pytest.mark.parametrize(
    ("ids", "expected"),
    [([2, 3], [2, 3]), ([], []), ([7], []), ([9_007_199_254_740_993, 1], [1, 9_007_199_254_740_993])],
)
def test_in_ids_selects_exactly_the_listed_ids(engine, ids, expected):
    statement = select(items.c.id).where(in_ids(items.c.id, "ids")).order_by(items.c.id)
    with engine.connect() as conn:
        assert list(conn.execute(statement, {"ids": ids}).scalars()) == expected


def test_in_ids_renders_one_statement_text_whatever_the_list_length(engine):
    statement = select(items.c.id).where(in_ids(items.c.id, "ids"))
    texts = set()
    with engine.connect() as conn:

        def remember(_conn, _cursor, text, _params, _context, _executemany):
            texts.add(text)

        event.listen(engine, "before_cursor_execute", remember)
        try:
            for ids in ([1], [1, 2], list(range(50))):
                conn.execute(statement, {"ids": ids}).all()
        finally:
            event.remove(engine, "before_cursor_execute", remember)
    assert len(texts) == 1


# How a request's transaction ends (app.db.commit_read_only_requests), on the app's own PostgreSQL engine.


def _count_endings(app):
    from app.extensions import db

    endings = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", lambda conn: endings.append("commit"))
    event.listen(engine, "rollback", lambda conn: endings.append("rollback"))
    return engine, endings


def test_a_read_only_request_ends_in_commit_and_keeps_prepared_statements(make_app):
    from sqlalchemy import text

    from app.extensions import db

    app = make_app()
    _, endings = _count_endings(app)
    for _ in range(6):  # psycopg prepares a statement text on its fifth run
        with app.app_context():
            db.session.execute(text("SELECT count(*) FROM shops WHERE id > :id"), {"id": 0}).scalar()
    assert endings == ["commit"] * 6
    with app.app_context():
        prepared = db.session.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT count(*) FROM shops%'")
        ).scalar()
    assert prepared == 1


def test_a_request_that_wrote_without_committing_is_rolled_back(make_app):
    from sqlalchemy import text

    from app.extensions import db

    app = make_app()
    _, endings = _count_endings(app)
    with app.app_context():
        db.session.execute(text("CREATE TEMP TABLE IF NOT EXISTS scratch (n int)"))
        db.session.execute(text("SELECT 1")).scalar()
    with app.app_context():
        db.session.execute(
            text("UPDATE shops SET name = name WHERE id = -1")  # a write that matches nothing is still a write
        )
    assert endings == ["rollback", "rollback"]


def test_a_failed_request_is_rolled_back_even_if_it_only_read(make_app):
    from sqlalchemy import text

    from app.extensions import db

    app = make_app()
    _, endings = _count_endings(app)
    with pytest.raises(RuntimeError):
        with app.app_context():
            db.session.execute(text("SELECT 1")).scalar()
            raise RuntimeError("the view failed")
    assert endings == ["rollback"]


def test_an_unflushed_change_is_not_committed_by_the_teardown(make_app):
    from sqlalchemy import text

    from app.extensions import db
    from app.shopify.models import Shop

    app = make_app()
    _, endings = _count_endings(app)
    with app.app_context():
        db.session.execute(text("SELECT 1")).scalar()
        db.session.add(Shop(domain="never-saved.myshopify.com"))
    with app.app_context():
        assert db.session.execute(select(Shop).where(Shop.domain == "never-saved.myshopify.com")).first() is None
    assert endings == ["rollback", "commit"]


# Pooled connections are tested only after being idle (app.db.ping_idle_connections).


def _kill_pooled_connections(engine):
    with engine.connect() as conn:
        pids = [conn.connection.driver_connection.info.backend_pid]
    import psycopg

    url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pids


def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(base_settings):
    from sqlalchemy import text

    from app.db import ping_idle_connections

    engine = create_engine(base_settings.database_url, pool_size=1, max_overflow=0)
    ping_idle_connections(engine, after_s=0.0)
    try:
        (killed,) = _kill_pooled_connections(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
            assert conn.connection.driver_connection.info.backend_pid != killed
    finally:
        engine.dispose()


def test_a_recently_used_connection_is_not_pinged(base_settings):
    from sqlalchemy import text

    from app.db import ping_idle_connections

    engine = create_engine(base_settings.database_url, pool_size=1, max_overflow=0)
    ping_idle_connections(engine, after_s=3600.0)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        # Without a test query, the dead connection is handed out as it is (its first statement would fail).
        (killed,) = _kill_pooled_connections(engine)
        with engine.connect() as conn:
            assert conn.connection.driver_connection.info.backend_pid == killed
            conn.invalidate()
    finally:
        engine.dispose()


def test_the_apps_connections_keep_generic_plans_for_prepared_statements(make_app):
    from sqlalchemy import text

    from app.extensions import db

    app = make_app()
    with app.app_context():
        assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"
