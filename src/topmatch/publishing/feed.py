"""Reading our own feed. Touches only publishing tables: federation code may import it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from topmatch.publishing.models import FeedEntry, PublishedRecord
from topmatch.publishing.schemas import (
    MAX_PAGE_ITEMS,
    BaanopeningSummary,
    FeedPage,
    Upsert,
    VacancySummary,
)


def latest_seq(*, session: Session) -> int:
    newest = session.exec(select(func.max(FeedEntry.seq))).one()
    return newest or 0


def feed_page(*, session: Session, origin: str, after: int, limit: int) -> FeedPage:
    """Our own changes after ``after``, oldest first; at most ``limit`` of them."""
    limit = max(1, min(limit, MAX_PAGE_ITEMS))
    rows: Sequence[FeedEntry] = session.exec(
        select(FeedEntry)
        .where(col(FeedEntry.seq) > after)
        .order_by(col(FeedEntry.seq))
        .limit(limit)
    ).all()
    items = [{**row.body, "seq": row.seq} for row in rows]
    return FeedPage.model_validate(
        {
            "origin": origin,
            "after": after,
            "items": items,
            "latest_seq": latest_seq(session=session),
        }
    )


def own_summaries(*, session: Session) -> list[VacancySummary | BaanopeningSummary]:
    """Our currently published summaries, as peers see them (from the latest upserts)."""
    live = select(PublishedRecord.summary_id).where(col(PublishedRecord.live))
    newest = (
        select(FeedEntry.summary_id, func.max(FeedEntry.seq).label("seq"))
        .where(col(FeedEntry.summary_id).in_(live))
        .group_by(col(FeedEntry.summary_id))
        .subquery()
    )
    rows = session.exec(select(FeedEntry).join(newest, col(FeedEntry.seq) == newest.c.seq)).all()
    return [Upsert.model_validate({**r.body, "seq": r.seq}).summary for r in rows]
