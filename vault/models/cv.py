"""CV and cover-letter drafts: one sealed record per vault and kind.

Everything the person typed is in `sealed`, a JSON record wrapped under the
vault key (vault.core.envelope.cv_draft_aad), like a document's title: the
row itself says only that a draft of this kind exists and when it changed
(docs/cv.md, D-131).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, StrEnumColumn, UTCDateTime, uuid_pk


class DraftKind(StrEnum):
    CV = "cv"
    LETTER = "letter"


class CvDraft(Base):
    __tablename__ = "cv_drafts"
    __table_args__ = (UniqueConstraint("vault_id", "kind"),)

    id: Mapped[uuid_pk]
    vault_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[DraftKind] = mapped_column(StrEnumColumn(DraftKind, 16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
