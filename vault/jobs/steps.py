"""The scheduled jobs: each one calls the feature service that owns its rule.

A job takes a `Context`, does what is due, commits (each unit on its own
where a unit deletes blobs: the row first, then the blob, §1.5) and returns
`Done`: how many items it handled and a summary made of counts only. No job
prints or logs a name, a title or a person's id; the services it calls write
each vault's own journal where the person has something to read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

import storage
from vault.access import grants
from vault.accounts import opening, sessions
from vault.documents import blobs
from vault.lifecycle import retention
from vault.sharing import links

# Blobs younger than this may belong to an upload still in flight (`vault storage gc`'s default).
ORPHAN_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class Context:
    db: Session
    store: storage.BlobStore
    now: datetime
    retention_years: int


@dataclass(frozen=True)
class Done:
    items: int
    summary: str


def run_retention(ctx: Context) -> Done:
    """Retention notices, cancelled notices, deletions whose notice ran out, counsellors' access.

    The same rule as `vault retention run` (vault/lifecycle/retention.py):
    each action is planned, then applied under a lock of the person's row and
    committed on its own; a deleted vault's blobs go after its commit.
    """
    today = ctx.now.date()
    done: Counter[str] = Counter()
    for action in retention.plan(ctx.db, today=today, years=ctx.retention_years):
        outcome = retention.apply(ctx.db, action, today=today, years=ctx.retention_years)
        ctx.db.commit()
        if not outcome.applied:
            continue
        if outcome.closed is not None:
            blobs.delete_blobs(ctx.store, outcome.closed.blobs)
        done[action.kind] += 1
    return Done(
        sum(done.values()),
        f"{done['notice']} notice(s), {done['cancel']} cancelled, {done['delete']} vault(s) "
        f"deleted, {done['end_access']} counsellor access ended",
    )


def run_shares(ctx: Context) -> Done:
    """Keys of shares past their end date deleted (the share stays, expired)."""
    count = grants.drop_expired_share_keys(ctx.db, ctx.now)
    ctx.db.commit()
    return Done(count, f"{count} expired share(s) cleared of their keys")


def run_links(ctx: Context) -> Done:
    """Sealed keys of external links that expired or reached their cap deleted."""
    count = links.forget_finished(ctx.db, ctx.now)
    ctx.db.commit()
    return Done(count, f"{count} finished link(s) cleared of their key")


def run_activations(ctx: Context) -> Done:
    """Activation slots of codes past their date deleted (the accounts stay pending)."""
    count = opening.retire_expired_activations(ctx.db, ctx.now)
    ctx.db.commit()
    return Done(count, f"{count} expired activation code(s) retired")


def run_sessions(ctx: Context) -> Done:
    """Server sessions past their end deleted (each holds a user key sealed to a cookie)."""
    count = sessions.purge_expired(ctx.db, now=ctx.now)
    ctx.db.commit()
    return Done(count, f"{count} expired session(s) removed")


def run_storage(ctx: Context) -> Done:
    """Blobs no row names, older than the grace period, deleted (`vault storage gc --delete`)."""
    cutoff = ctx.now - ORPHAN_GRACE
    count = size = 0
    for info in blobs.orphans(ctx.db, ctx.store, cutoff):
        ctx.store.delete(info.key)
        count += 1
        size += info.size
    ctx.db.rollback()  # it only read
    swept = 0
    if isinstance(ctx.store, storage.LocalBlobStore):
        swept = ctx.store.sweep_partials(older_than=int(ORPHAN_GRACE.total_seconds()))
    return Done(count, f"{count} orphan blob(s) deleted ({size} bytes), {swept} partial file(s)")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Context], Done]


# In this order: retention may leave orphans and expired keys that the later jobs clear.
JOBS: tuple[Job, ...] = (
    Job("retention", run_retention),
    Job("shares", run_shares),
    Job("links", run_links),
    Job("activations", run_activations),
    Job("sessions", run_sessions),
    Job("storage", run_storage),
)
