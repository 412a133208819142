"""The store: every number the bot knows and every operation on it (SQLAlchemy 2 async, SQLite or PostgreSQL).

Never an API key, a token or an OTP: operations keep what a person typed minus the OTP, and what the
provider answered.
"""

from bot.store.models import (
    Base,
    Batch,
    Number,
    Operation,
    OutboxItem,
    Outcome,
    SandboxNumber,
    StoreUse,
    utcnow,
)
from bot.store.schema import Schema, StoreNewerThanCode, head_revision
from bot.store.store import (
    AuditRow,
    BatchLost,
    DuplicateBatch,
    DuplicateIntent,
    Finished,
    Lease,
    MoveRefused,
    Store,
    StoreServesOther,
    StoreUnavailable,
    Transition,
)

__all__ = [
    "AuditRow",
    "Base",
    "Batch",
    "BatchLost",
    "DuplicateBatch",
    "DuplicateIntent",
    "Finished",
    "Lease",
    "MoveRefused",
    "Number",
    "Operation",
    "OutboxItem",
    "Outcome",
    "SandboxNumber",
    "Schema",
    "Store",
    "StoreNewerThanCode",
    "StoreServesOther",
    "StoreUnavailable",
    "StoreUse",
    "Transition",
    "head_revision",
    "utcnow",
]
