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
