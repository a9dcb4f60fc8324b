"""Declarative base, shared column types, the ShopScoped mixin and dialect-aware upserts."""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    bindparam,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column, registry
from sqlalchemy.pool import Pool
from sqlalchemy.sql.functions import FunctionElement

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every dialect (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class IdList(TypeDecorator):
    """A list of integer ids bound as ONE parameter: a BIGINT[] on PostgreSQL, a JSON array on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(BigInteger))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        ids = [int(v) for v in value or ()]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class _InIds(FunctionElement):
    type = Boolean()
    inherit_cache = True
    name = "in_ids"


@compiles(_InIds, "postgresql")
def _in_ids_postgresql(element: _InIds, compiler: Any, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} = ANY({compiler.process(ids, **kw)})"


@compiles(_InIds)
def _in_ids_default(element: _InIds, compiler: Any, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} IN (SELECT value FROM json_each({compiler.process(ids, **kw)}))"


def in_ids(column: Any, name: str) -> Any:
    """`column IN <the ids bound to name>`, with one statement text whatever the number of ids.

    An expanding IN renders one text per list length, and SQLAlchemy re-renders it on every execution
    (0.6 ms a request on the recommendations path). One text is also what psycopg needs to prepare a statement
    (see `commit_read_only_requests`)."""
    return _InIds(column, bindparam(name, type_=IdList()))


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class ShopScoped:
    """Mixin for tenant rows: every one carries shop_id and every query filters on it."""

    @declared_attr
    def shop_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(BigIntPK, ForeignKey("shops.id", ondelete="CASCADE"), index=True, nullable=False)


def lock_until_commit(session: Session, name: str) -> None:
    """Hold the lock called `name` until the session's transaction ends; another transaction asking for the same
    name waits. For work whose rows may not exist yet: a row another transaction is inserting is invisible, so no
    row lock can serialise it. PostgreSQL: a transaction-level advisory lock (PgBouncer's transaction mode allows
    it). SQLite: nothing to do, it runs one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_ADVISORY_LOCK, {"name": name})


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def dialect_insert(session: Session, table: Any):
    """INSERT construct of the session's dialect, for ON CONFLICT clauses (PostgreSQL and SQLite)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect: {name}")


# SQLAlchemy never caches the compiled form of an INSERT .. ON CONFLICT (the dialects' Insert constructs opt out),
# so each one was compiled anew on every webhook. The same SQL as text, built once per shape, is cached.
@functools.cache
def _insert_on_conflict(
    table: Any, columns: tuple[str, ...], conflict: tuple[str, ...], updated: tuple[str, ...], newer_by: str | None
) -> Any:
    name = {c: table.c[c].name for c in {*columns, *conflict}}  # keys as the caller gives them; names in SQL
    sql = (
        f"INSERT INTO {table.name} ({', '.join(name[c] for c in columns)}) "
        f"VALUES ({', '.join(f':{c}' for c in columns)}) ON CONFLICT ({', '.join(name[c] for c in conflict)}) "
    )
    if newer_by is None:
        sql += "DO NOTHING"
    else:
        version = table.c[newer_by].name
        sql += (
            f"DO UPDATE SET {', '.join(f'{name[c]} = excluded.{name[c]}' for c in updated)} "
            f"WHERE {table.name}.{version} IS NULL OR {table.name}.{version} < excluded.{version}"
        )
    return text(sql + " RETURNING id").bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


def _with_defaults(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The values plus the Python-side defaults of the columns they leave out, as Core's insert() adds them."""
    row = dict(values)
    for column in table.columns:
        default = column.default
        if column.key in row or column.primary_key or default is None or default.is_sequence:
            continue
        row[column.key] = default.arg(None) if default.is_callable else default.arg
    return row


def insert_unless_present(session: Session, table: Any, values: dict[str, Any], conflict: list[str]) -> int | None:
    """INSERT .. ON CONFLICT (conflict) DO NOTHING: the new row's id, or None when it was already there
    (PostgreSQL and SQLite)."""
    row = _with_defaults(table, values)
    stmt = _insert_on_conflict(table, tuple(row), tuple(conflict), (), None)
    return session.execute(stmt, row).scalar()


def upsert_newer(
    session: Session,
    table: Any,
    values: dict[str, Any],
    key_columns: list[str],
    version_column: str,
) -> bool:
    """Insert a row, or update it only when `version_column` is newer than what is stored.

    This is what makes webhook handling order-insensitive: an older payload delivered late
    can never overwrite a newer one. Returns True when the row was inserted or changed.
    An update sets just the columns in `values`.
    """
    row = _with_defaults(table, values)
    updated = tuple(c for c in values if c not in key_columns)
    stmt = _insert_on_conflict(table, tuple(row), tuple(key_columns), updated, version_column)
    return session.execute(stmt, row).first() is not None


def wrote_row(session: Session, stmt: Any, table: Any) -> bool:
    """Execute an INSERT .. ON CONFLICT and tell whether it wrote a row (rowcount is unreliable here)."""
    return session.execute(stmt.returning(table.c.id)).first() is not None


# Anything but a plain SELECT counts as a write (WITH may hold a data-modifying CTE; SAVEPOINT, SET...).
_READ_ONLY = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_WROTE = "aftercart_wrote"


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    if executemany or not _READ_ONLY.match(statement):
        conn.info[_WROTE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_writes(conn: Any) -> None:
    conn.info.pop(_WROTE, None)


@event.listens_for(Pool, "checkout")
def _fresh_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    record.info.pop(_WROTE, None)


def commit_read_only_requests(app: Any, db: Any) -> None:
    """End a request that wrote nothing with COMMIT instead of the ROLLBACK that removing the session issues.

    For a read-only transaction the two are the same, except to psycopg: at ROLLBACK it forgets every
    statement it has prepared on the connection, so without this no storefront query is ever prepared and each
    one is planned afresh (1.4 ms for the recommendations union). A request that failed, or that executed any
    statement but a SELECT without committing it, still ends in ROLLBACK. Registered after Flask-SQLAlchemy,
    so it runs before its teardown removes the session."""

    @app.teardown_appcontext
    def _commit_if_read_only(exc: BaseException | None) -> None:
        if exc is not None or not db.session.registry.has():
            return
        session = db.session()
        if not session.in_transaction() or session.new or session.dirty or session.deleted:
            return
        try:
            if session.connection().info.get(_WROTE):
                return
            session.commit()
        except Exception:  # noqa: BLE001 - e.g. a failed statement the job caught; the removal rolls back
            log.debug("read-only transaction not committed; rolled back instead", exc_info=True)


# Like PgBouncer's server_check_delay: a connection back in the pool less than this long ago is handed out
# without a test query; one idle longer is pinged first (and replaced if dead). pool_pre_ping would cost a
# round trip on every checkout, 0.3-0.5 ms of every request here.
PING_AFTER_IDLE_S = 10.0


def ping_idle_connections(engine: Engine, after_s: float = PING_AFTER_IDLE_S) -> None:
    """Test a pooled connection before use only when it has been idle `after_s` seconds or more. A database
    restarted within that window fails the statements of the request in flight (answered 5xx, so Shopify
    redelivers; the storefront's recommendations show nothing); the pool is then invalidated and refilled."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info["aftercart_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("aftercart_idle_since")
        if since is None or time.monotonic() - since < after_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - the driver's own error for a dead connection
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"pooled connection failed its test query: {exc}") from exc


def use_generic_plans(engine: Engine) -> None:
    """Statements psycopg prepares (a text run 5 times on a connection) keep one generic plan instead of being
    planned again for each set of values: PostgreSQL's own choice re-plans every query bound to an id array (it
    cannot cost an array of unknown length), 1.4 ms of planning for the recommendations union's 0.5 ms of work.

    The trade: a plan chosen without the values. For the indexed, shop-scoped lookups that repeat it is the same
    plan; a report over an unusual date range may get a slower one. Set per new connection, not as a startup
    option, which PgBouncer refuses unless told to ignore it."""

    @event.listens_for(engine, "connect")
    def _set_plan_cache_mode(dbapi_connection: Any, record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET plan_cache_mode = force_generic_plan")
        finally:
            dbapi_connection.autocommit = autocommit
