"""Return label adapters: one interface, a registry, and the built-in adapter that gives instructions and
serves a label the merchant uploaded. Carrier integrations (buying a label) register here too."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.returns.models import ReturnFile, ReturnPolicy, ReturnRequest


class LabelAdapter(Protocol):
    code: str

    def prepare(self, session: Session, request: ReturnRequest) -> None:
        """Called when a return is approved and something must be sent back (e.g. buy a label)."""

    def instructions(self, session: Session, request: ReturnRequest, locale: str) -> str | None:
        """How the shopper sends the items back, in their language."""

    def label(self, session: Session, request: ReturnRequest) -> ReturnFile | None:
        """The label file to download, if there is one."""


class InstructionsAdapter:
    """Built in: the shop's own instructions, plus a label file the merchant uploads on the return."""

    code = "instructions"

    def prepare(self, session: Session, request: ReturnRequest) -> None:
        return None

    def instructions(self, session: Session, request: ReturnRequest, locale: str) -> str | None:
        texts = (
            session.execute(
                select(ReturnPolicy.instructions).where(ReturnPolicy.shop_id == request.shop_id)
            ).scalar_one_or_none()
            or {}
        )
        return texts.get(locale) or texts.get("en")

    def label(self, session: Session, request: ReturnRequest) -> ReturnFile | None:
        return session.execute(
            select(ReturnFile)
            .where(
                ReturnFile.shop_id == request.shop_id,
                ReturnFile.return_request_id == request.id,
                ReturnFile.kind == "label",
            )
            .order_by(ReturnFile.id.desc())
            .limit(1)
        ).scalar_one_or_none()


ADAPTERS: dict[str, LabelAdapter] = {InstructionsAdapter.code: InstructionsAdapter()}


def adapter_for(code: str | None) -> LabelAdapter:
    return ADAPTERS.get(code or "", ADAPTERS["instructions"])
