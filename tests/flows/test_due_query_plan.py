"""The scheduler's due-step query uses the partial index on the active enrolments under PostgreSQL's generic plan,
the plan a prepared statement gets (psycopg prepares a statement on its fifth run). With `status` bound as a
parameter the generic plan could not match the index's predicate and read every enrolment (benchmarks/flows.py:
1.1 s a run at a million orders); this test failed on that code."""

from __future__ import annotations

import re

from sqlalchemy import text

from app.db import utcnow
from app.extensions import db
from app.flows import services


def _generic_plan(statement, parameters: dict) -> str:
    compiled = statement.compile(dialect=db.engine.dialect)
    names: list[str] = []

    def number(match: re.Match) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    sql = re.sub(r"%\((\w+)\)s", number, str(compiled))
    values = {**compiled.params, **parameters}
    db.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    db.session.execute(text(f"PREPARE due_plan AS {sql}"))
    # The generic plan does not look at the values; they are written in (EXECUTE takes no bound parameters).
    arguments = ", ".join(
        str(value) if isinstance(value, int) else f"'{value if isinstance(value, str) else value.isoformat()}'"
        for value in (values[name] for name in names)
    )
    plan = db.session.execute(text(f"EXPLAIN EXECUTE due_plan({arguments})")).scalars()
    result = "\n".join(plan)
    db.session.execute(text("DEALLOCATE due_plan"))
    db.session.rollback()
    return result


def test_due_steps_are_found_on_the_partial_index_under_a_generic_plan(ctx):
    captured = []
    real_execute = db.session.execute

    class Recorder:
        def execute(self, statement, *args, **kwargs):
            captured.append(statement)
            return real_execute(statement, *args, **kwargs)

    services.due_enrolments(Recorder(), utcnow())  # the statement exactly as the scheduler builds it
    [statement] = captured
    plan = _generic_plan(statement, {})
    assert "ix_flow_enrolments_due" in plan, plan
    assert "Seq Scan" not in plan, plan
