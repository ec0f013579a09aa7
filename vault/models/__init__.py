"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

from vault.models.account import (
    AccountStatus,
    Establishment,
    KeySlot,
    Lifecycle,
    LinkPolicy,
    PersonProfile,
    Role,
    ServerSession,
    SignInThrottle,
    SlotKind,
    User,
)
from vault.models.base import Base
from vault.models.blob import Blob
from vault.models.cv import CvDraft, DraftKind
from vault.models.document import Document, DocumentVersion, VaultIndex
from vault.models.jobs import JobOutcome, JobRun
from vault.models.journal import JournalEvent, JournalHead
from vault.models.lifecycle import (
    NoticeStatus,
    RecoveryKind,
    RecoveryRequest,
    RecoveryStatus,
    RetentionNotice,
    Setting,
    Transfer,
)
from vault.models.sharing import (
    Assignment,
    DocumentRequest,
    ExternalLink,
    LinkStatus,
    LinkStopReason,
    RequestStatus,
    Share,
    ShareKey,
)

__all__ = [
    "AccountStatus",
    "Assignment",
    "Base",
    "Blob",
    "CvDraft",
    "Document",
    "DocumentRequest",
    "DocumentVersion",
    "DraftKind",
    "Establishment",
    "ExternalLink",
    "JobOutcome",
    "JobRun",
    "JournalEvent",
    "JournalHead",
    "KeySlot",
    "Lifecycle",
    "LinkPolicy",
    "LinkStatus",
    "LinkStopReason",
    "NoticeStatus",
    "PersonProfile",
    "RecoveryKind",
    "RecoveryRequest",
    "RecoveryStatus",
    "RequestStatus",
    "RetentionNotice",
    "Role",
    "ServerSession",
    "Setting",
    "Share",
    "ShareKey",
    "SignInThrottle",
    "SlotKind",
    "Transfer",
    "User",
    "VaultIndex",
]
