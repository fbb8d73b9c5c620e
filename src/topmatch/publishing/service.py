"""Keeping our feed in step with the card-box.

:func:`refresh` compares what each vacancy and baanopening *should* look like to peers
with what we last published, and appends an upsert or a tombstone to the feed only when
that differs. It is idempotent: running it twice appends nothing the second time. It runs
after every card-box write (for the records written) and periodically for all records
(closing dates pass, and a newly registered client's name must be scrubbed from texts
published before).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from topmatch.cardbox import service as cardbox
from topmatch.cardbox.models import Baanopening, Employer, Vacancy
from topmatch.publishing import summarise
from topmatch.publishing.anonymise import Scrubber, name_words, word_digest
from topmatch.publishing.models import FeedEntry, PublishedRecord, SuppressedName
from topmatch.publishing.schemas import (
    BaanopeningSummary,
    Tombstone,
    TombstoneReason,
    Upsert,
    VacancySummary,
)

Record = Vacancy | Baanopening
OPEN = "open"


@dataclass(frozen=True)
class Publisher:
    """Who we are when publishing: our node id and the secret that derives summary ids."""

    origin: str
    secret: bytes


def derive_publishing_secret(cardbox_secret: bytes) -> bytes:
    """A key of its own for summary ids, derived from the node's card-box secret (HKDF)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"topmatch summary ids"
    ).derive(cardbox_secret)


@dataclass
class RefreshReport:
    upserts: int = 0
    tombstones: int = 0


def _reason(record: Record, now: datetime) -> TombstoneReason | None:
    """Why a record must not be (or no longer be) visible to peers; None when it may be."""
    if record.status != OPEN:
        return TombstoneReason(record.status)
    closing = getattr(record, "closing_date", None)
    if closing is not None and closing < now.date():
        return TombstoneReason.expired
    if not record.published:
        return TombstoneReason.unpublished
    return None


def _content_digest(summary: VacancySummary | BaanopeningSummary) -> str:
    content = summary.model_dump(mode="json", exclude={"version", "updated_at"})
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _summarise(
    record: Record,
    *,
    employer: Employer,
    scrubber: Scrubber,
    publisher: Publisher,
    version: int,
    now: datetime,
) -> VacancySummary | BaanopeningSummary:
    common = {
        "employer": employer,
        "scrubber": scrubber,
        "secret": publisher.secret,
        "origin": publisher.origin,
        "version": version,
        "updated_at": now,
    }
    if isinstance(record, Vacancy):
        return summarise.vacancy_summary(vacancy=record, **common)  # type: ignore[arg-type]
    return summarise.baanopening_summary(opening=record, **common)  # type: ignore[arg-type]


FEED_LOCK = 0x746F706D  # "topm": the advisory lock that orders feed appends (PostgreSQL)


def _append(session: Session, summary_id: str, item: Upsert | Tombstone, now: datetime) -> None:
    """Append an item, dropping the summary's older items: the feed is compacted.

    A peer reading from the start gets only each opening's latest state, so text that was
    re-scrubbed, withdrawn or erased is never served again. On PostgreSQL, appends are
    serialised with a transaction-scoped advisory lock: sequence numbers then become
    visible in the order they were given, and no reader's cursor can skip one that
    commits late.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK})
    session.execute(delete(FeedEntry).where(col(FeedEntry.summary_id) == summary_id))
    body = item.model_dump(mode="json", exclude={"seq"})
    session.add(FeedEntry(summary_id=summary_id, op=item.op, body=body, created_at=now))


def _refresh_one(
    session: Session,
    *,
    record: Record,
    scrubber: Scrubber,
    publisher: Publisher,
    now: datetime,
    report: RefreshReport,
) -> None:
    kind: Literal["vacancy", "baanopening"] = (
        "vacancy" if isinstance(record, Vacancy) else "baanopening"
    )
    state = session.exec(
        select(PublishedRecord).where(PublishedRecord.record_id == record.id)
    ).first()
    reason = _reason(record, now)
    if reason is not None:
        if state is not None and state.live:
            state.version += 1
            state.live = False
            _append(
                session,
                state.summary_id,
                Tombstone(
                    seq=1,
                    id=state.summary_id,
                    type=kind,
                    origin=publisher.origin,
                    version=state.version,
                    reason=reason,
                    at=now,
                ),
                now,
            )
            report.tombstones += 1
        return
    employer = session.get(Employer, record.employer_id)
    assert employer is not None  # noqa: S101 - a foreign key guarantees it
    version = (state.version + 1) if state is not None else 1
    summary = _summarise(
        record, employer=employer, scrubber=scrubber, publisher=publisher, version=version, now=now
    )
    digest = _content_digest(summary)
    if state is not None and state.live and state.digest == digest:
        return
    if state is None:
        state = PublishedRecord(
            summary_id=summary.id,
            kind=kind,
            record_id=record.id,
            version=version,
            digest=digest,
            live=True,
        )
    else:
        state.version, state.digest, state.live = version, digest, True
    session.add(state)
    _append(session, summary.id, Upsert(seq=1, summary=summary), now)
    report.upserts += 1


def scrubber_for(session: Session, key: bytes = b"") -> Scrubber:
    """A scrubber that knows every name in the card-box, and those of erased clients."""
    suppressed = frozenset(session.exec(select(SuppressedName.digest)).all())
    return Scrubber(cardbox.personal_names(session=session), suppressed=suppressed, key=key)


def suppress_names(*, session: Session, publisher: Publisher, names: Iterable[str]) -> None:
    """Keep scrubbing these names after their owner is erased (stored as keyed digests)."""
    for word in name_words(names):
        digest = word_digest(publisher.secret, word)
        if session.get(SuppressedName, digest) is None:
            session.add(SuppressedName(digest=digest))
    session.flush()


def _records(
    session: Session, vacancy_ids: Iterable[str] | None, baanopening_ids: Iterable[str] | None
) -> list[Record]:
    if vacancy_ids is None and baanopening_ids is None:
        return [*session.exec(select(Vacancy)).all(), *session.exec(select(Baanopening)).all()]
    records: list[Record] = []
    if vacancy_ids:
        records.extend(
            session.exec(select(Vacancy).where(col(Vacancy.id).in_(list(vacancy_ids)))).all()
        )
    if baanopening_ids:
        query = select(Baanopening).where(col(Baanopening.id).in_(list(baanopening_ids)))
        records.extend(session.exec(query).all())
    return records


def refresh(
    *,
    session: Session,
    publisher: Publisher,
    now: datetime,
    vacancy_ids: Iterable[str] | None = None,
    baanopening_ids: Iterable[str] | None = None,
) -> RefreshReport:
    """Publish what changed. With no ids given, every record is checked."""
    report = RefreshReport()
    scrubber = scrubber_for(session, publisher.secret)
    for record in _records(session, vacancy_ids, baanopening_ids):
        _refresh_one(
            session, record=record, scrubber=scrubber, publisher=publisher, now=now, report=report
        )
    session.flush()
    return report


def refresh_employer(
    *, session: Session, publisher: Publisher, now: datetime, employer_id: str
) -> RefreshReport:
    """Re-publish an employer's openings (its name may have changed: scrub the new one)."""
    return refresh(
        session=session,
        publisher=publisher,
        now=now,
        vacancy_ids=session.exec(
            select(Vacancy.id).where(Vacancy.employer_id == employer_id)
        ).all(),
        baanopening_ids=session.exec(
            select(Baanopening.id).where(Baanopening.employer_id == employer_id)
        ).all(),
    )
