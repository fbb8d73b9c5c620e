"""Use cases after a card-box write: publish what changed (and show it in our own openings
list), and the AVG erasure of a client followed by a re-publish.

Both the API routers and the web pages call these; they run in the caller's transaction,
so a vacancy and its feed entry are stored together or not at all. Kept out of
:mod:`topmatch.publishing.service` because erasure reaches referrals and matching, which
themselves use that service.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from topmatch.audit.service import Actor
from topmatch.cardbox import service as cardbox
from topmatch.federation import replication
from topmatch.matching import candidates
from topmatch.publishing import service as publishing
from topmatch.publishing.service import Publisher
from topmatch.referrals import service as referrals


def erase_client(
    *, session: Session, publisher: Publisher, client_id: str, actor: Actor, now: datetime
) -> None:
    """AVG erasure, then re-publish: the client's names stay scrubbed (as keyed digests)
    and any text that mentioned them is published again without them."""
    names = cardbox.names_of_client(session=session, client_id=client_id)
    publishing.suppress_names(session=session, publisher=publisher, names=names)
    candidates.forget_client(session=session, client_id=client_id)
    referrals.forget_client(session, client_id=client_id)  # no handover after erasure
    cardbox.erase_client(session=session, client_id=client_id, actor=actor, now=now)
    publish_all(session=session, publisher=publisher, now=now)


def publish_all(*, session: Session, publisher: Publisher, now: datetime) -> None:
    """Re-check every record: a client's name may now need scrubbing everywhere."""
    publishing.refresh(session=session, publisher=publisher, now=now)
    replication.mirror_own_feed(session, origin=publisher.origin, now=now)


def publish(
    *,
    session: Session,
    publisher: Publisher,
    now: datetime,
    vacancy_ids: Iterable[str] | None = None,
    baanopening_ids: Iterable[str] | None = None,
    employer_id: str | None = None,
) -> None:
    """Publish the named records (or every record of ``employer_id``) again and mirror our
    feed into our own openings list."""
    if employer_id is not None:
        publishing.refresh_employer(
            session=session, publisher=publisher, now=now, employer_id=employer_id
        )
    else:
        publishing.refresh(
            session=session,
            publisher=publisher,
            now=now,
            vacancy_ids=vacancy_ids or [],
            baanopening_ids=baanopening_ids or [],
        )
    replication.mirror_own_feed(session, origin=publisher.origin, now=now)
