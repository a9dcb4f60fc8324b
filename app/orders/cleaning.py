"""Making a signed payload's fields fit what we store, and saying what was changed.

A correctly signed webhook is Shopify's word, so a field we cannot store as sent (a NUL in a name, a phone
longer than its column, an object where text belongs) must not lose the whole order: control characters
are removed, text is cut to its column's length (read from the table, never restated here), and a field
of the wrong type is dropped. Every change is one short note naming the field, never its value (notes
are shown to the merchant and kept with the delivery, so they must not copy personal data).

Pure functions, no database: the caller passes a list to collect notes in. `collecting_payload_notes`
and `add_notes` carry them on the session to the webhook job, which stores them on the delivery.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, String, Table
from sqlalchemy.orm import Session

# C0 controls and DEL, except tab, newline and carriage return (free text such as a note keeps its lines).
# PostgreSQL text cannot hold NUL at all; the others are never meant in a name, an address or an id.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_NOTES = 20

# Session.info key under which a webhook job gathers notes (see `collecting_payload_notes`).
NOTES_KEY = "aftercart_payload_notes"

# What an order payload's fields must be, where we read them: `dict` for an object, `list` for a list of
# objects, `str` for text (a number is accepted as text), a nested mapping for an object we look inside.
# A field of another type is dropped (None, or an empty list) with a note; unknown fields are left alone.
CONSENT: Mapping[str, Any] = {"state": str, "phone": str}
CUSTOMER: Mapping[str, Any] = {
    "first_name": str,
    "email": str,
    "phone": str,
    "locale": str,
    "email_marketing_consent": CONSENT,
    "sms_marketing_consent": CONSENT,
}
ADDRESS: Mapping[str, Any] = {"country_code": str, "province_code": str, "province": str}
FULFILLMENT: Mapping[str, Any] = {
    "name": str,
    "status": str,
    "shipment_status": str,
    "tracking_company": str,
    "tracking_number": str,
    "tracking_url": str,
    "tracking_numbers": list,
    "tracking_urls": list,
    "line_items": list,
    "destination": ADDRESS,
}
ORDER: Mapping[str, Any] = {
    "name": str,
    "email": str,
    "contact_email": str,
    "phone": str,
    "sms_marketing_phone": str,
    "customer_locale": str,
    "financial_status": str,
    "fulfillment_status": str,
    "customer": CUSTOMER,
    "shipping_address": ADDRESS,
    "line_items": list,
    "fulfillments": list,
}
TRACKING_EVENT: Mapping[str, Any] = {"status": str, "message": str, "city": str, "province": str, "country": str}
REFUND: Mapping[str, Any] = {
    "note": str,
    "transactions": list,
    "refund_line_items": list,
    "return": {},
}


def add_note(notes: list[str], note: str) -> None:
    if note not in notes and len(notes) < MAX_NOTES:
        notes.append(note)


def strip_controls(value: Any, path: str, notes: list[str]) -> Any:
    """`value` with control characters removed from every string in it (keys too), noting each field once."""
    if isinstance(value, str):
        cleaned = _CONTROL.sub("", value)
        if cleaned != value:
            add_note(notes, f"{path}: control characters removed")
        return cleaned
    if isinstance(value, dict):
        return {
            strip_controls(key, path, notes): strip_controls(item, f"{path}.{key}" if path else str(key), notes)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [strip_controls(item, f"{path}[]", notes) for item in value]
    return value


def conform(obj: dict[str, Any], shape: Mapping[str, Any], path: str, notes: list[str]) -> dict[str, Any]:
    """A copy of `obj` whose fields named in `shape` have the type it gives (see ORDER); others untouched."""
    out = dict(obj)
    for key, expected in shape.items():
        value = out.get(key)
        if value is None:
            continue
        where = f"{path}.{key}" if path else key
        if isinstance(expected, Mapping):
            if not isinstance(value, dict):
                add_note(notes, f"{where}: not an object, dropped")
                out[key] = None
            elif expected:
                out[key] = conform(value, expected, where, notes)
        elif expected is list:
            if not isinstance(value, list):
                add_note(notes, f"{where}: not a list, dropped")
                out[key] = []
            elif key not in ("tracking_numbers", "tracking_urls") and not all(isinstance(i, dict) for i in value):
                add_note(notes, f"{where}: entries that are not objects dropped")
                out[key] = [i for i in value if isinstance(i, dict)]
            elif key in ("tracking_numbers", "tracking_urls") and not all(_is_text(i) for i in value):
                add_note(notes, f"{where}: entries that are not text dropped")
                out[key] = [i for i in value if _is_text(i)]
        elif expected is str and not _is_text(value):
            add_note(notes, f"{where}: not text, dropped")
            out[key] = None
    return out


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))


def fit_to_columns(table: Table, values: dict[str, Any], path: str, notes: list[str]) -> dict[str, Any]:
    """`values` (column -> value for `table`) with text cut to each column's length and wrong types dropped.

    Lengths come from the table's own column types, so a migration that widens a column widens this too.
    """
    out = dict(values)
    for column in table.columns:
        if column.key not in out or out[column.key] is None:
            continue
        value = out[column.key]
        where = f"{path}.{column.key}"
        if isinstance(column.type, String):
            if not _is_text(value):
                add_note(notes, f"{where}: not text, dropped")
                out[column.key] = None
                continue
            text = strip_controls(str(value), where, notes)
            length = column.type.length
            if length is not None and len(text) > length:
                add_note(notes, f"{where}: cut to {length} characters")
                text = text[:length]
            out[column.key] = text
        elif isinstance(column.type, JSON):
            out[column.key] = strip_controls(value, where, notes)
    return out


@contextmanager
def collecting_payload_notes(session: Session) -> Iterator[list[str]]:
    """Inside, `add_notes(session, ...)` gathers notes into the yielded list (a webhook job stores them)."""
    notes: list[str] = []
    session.info[NOTES_KEY] = notes
    try:
        yield notes
    finally:
        session.info.pop(NOTES_KEY, None)


def add_notes(session: Session, notes: list[str]) -> None:
    """Hand notes to the webhook job collecting them, if any (reconciliation has none: they are dropped)."""
    collected = session.info.get(NOTES_KEY)
    if collected is None:
        return
    for note in notes:
        add_note(collected, note)
