"""The gate in the wire models: free text is scrubbed whatever code builds a message.

Every string field of every wire model is either declared free text (scrubbed) or an
identifier, code or geography name on an explicit list; docs/privacy.md lists every field,
generated from the models; a countersigner refuses an entry whose reason was not scrubbed
before it was signed.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import agreement_document
from tests.fednodes import FakePeer
from topmatch import wire_schemas, wiretext
from topmatch.errors import InputError
from topmatch.ledger import canonical
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import ENTRY_FORMAT, EntryBody, entry_id_for
from topmatch.publishing.anonymise import Scrubber
from topmatch.referrals.schemas import IntroductionDecision, IntroductionRequest
from topmatch.settlement.schemas import FeeAgreement

ROOT = Path(__file__).parent.parent
NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)
INTRO = "a" * 32


def test_every_plain_string_field_is_free_text_or_listed_as_not() -> None:
    unlisted = set(wire_schemas.plain_text_fields()) - set(wire_schemas.NOT_FREE_TEXT)
    assert unlisted == set(), (
        f"{sorted(unlisted)}: declare free text as Annotated[str, FreeText(...)] (scrubbed), "
        "or add the field to wire_schemas.NOT_FREE_TEXT with why it is no free text"
    )


def test_the_list_of_fields_that_are_not_free_text_has_no_stale_entry() -> None:
    assert set(wire_schemas.NOT_FREE_TEXT) - set(wire_schemas.plain_text_fields()) == set()


def test_the_known_free_text_fields_are_gated() -> None:
    gated = {f.key for f in wire_schemas.wire_fields() if "scrubbed" in f.kind}
    assert {
        "IntroductionRequest.note",
        "IntroductionDecision.reason",
        "SignedEntry.reason",
        "SignedAgreement.title",
        "Licence.title",
        "Line.note",
        "VacancySummary.description",
        "VacancySummary.title",
        "BaanopeningSummary.tasks",
        "BaanopeningSummary.suitable_profile",
        "OccupationRef.label",
        "AnonymousCandidate.explanation",
        "AnonymousCandidate.skills",
    } <= gated


def test_privacy_doc_lists_every_field_of_every_wire_model() -> None:
    doc = ROOT / "docs" / "privacy.md"
    assert not wire_schemas.privacy_doc_differs(doc), "run `topmatch schemas export`"
    text = doc.read_text()
    for item in wire_schemas.wire_fields():
        assert f"| `{item.model}` | `{item.name}` |" in text


def test_privacy_doc_drift_is_detected_and_repaired(tmp_path: Path) -> None:
    doc = tmp_path / "privacy.md"
    original = (ROOT / "docs" / "privacy.md").read_text()
    doc.write_text(original.replace("| `IntroductionDecision` | `reason` |", "| `X` | `y` |"))
    assert wire_schemas.privacy_doc_differs(doc)
    assert wire_schemas.update_privacy_doc(doc)
    assert doc.read_text() == original


def test_the_gate_scrubs_patterns_always_and_names_within_a_scope() -> None:
    text = "Nee: Sanne (06-12345678, sanne@example.nl) wil niet; BSN 111222333"
    plain = IntroductionDecision(id=INTRO, decision="declined", reason=text)
    assert plain.reason == "Nee: Sanne ([telefoon], [e-mail]) wil niet; BSN [nummer]"
    with wiretext.scrubbing(Scrubber(["Sanne de Vries"])):
        scoped = IntroductionDecision(id=INTRO, decision="declined", reason=text)
    assert scoped.reason == "Nee: [naam] ([telefoon], [e-mail]) wil niet; BSN [nummer]"
    parsed = IntroductionDecision.model_validate_json(json.dumps({**plain.model_dump()}))
    assert parsed == plain  # scrubbed text is not changed again


def test_scrubbed_text_that_grew_is_cut_to_the_field_maximum() -> None:
    note = ("123456 " * 72)[:500]
    request = IntroductionRequest.model_validate(
        {
            "id": INTRO,
            "kind": "candidate_for_vacancy",
            "note": note,
            "handle": "c-" + "x" * 20,
            "vacancy": {
                "occupation": {"label": "Kok"},
                "hours_min": 8,
                "hours_max": 16,
                "contract_type": "vast",
                "place": {"municipality": "Tilburg"},
            },
        }
    )
    assert len(request.note) <= 500
    assert "123456" not in request.note


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=10)


@given(
    first=_word,
    last=_word,
    number=st.integers(min_value=100_000, max_value=999_999_999),
    cut=st.integers(min_value=5, max_value=80),
    text=st.text(alphabet="ab 0123456789-/.@", max_size=120),
)
def test_scrubbing_is_idempotent(first: str, last: str, number: int, cut: int, text: str) -> None:
    scrubber = Scrubber([f"{first} {last}"])
    once = scrubber.scrub(f"{text} {first} {number} {text} {last}", max_length=cut)
    assert scrubber.scrub(once, max_length=cut) == once
    assert len(once) <= cut


def test_free_text_in_the_json_schemas_is_marked() -> None:
    schema = json.loads((ROOT / "schemas" / "introduction-decision.schema.json").read_text())
    assert schema["properties"]["reason"]["$comment"] == wiretext.FREE_TEXT_COMMENT


def test_a_fee_agreement_title_is_scrubbed_before_it_is_signed() -> None:
    document = {**agreement_document(), "title": "Afspraak, contact Jan 06-12345678"}
    parsed = FeeAgreement.model_validate_json(json.dumps(document))
    assert parsed.title == "Afspraak, contact Jan [telefoon]"


# --- the countersigner -----------------------------------------------------------------


def _signed(reason: str, alfa: FakePeer, bravo: FakePeer) -> dict[str, Any]:
    """A dispute signed by alfa, built as an older node would: reason as typed."""
    placement = entry_id_for("placement.started", "intro-1")
    body = {
        "format": ENTRY_FORMAT,
        "entry_id": entry_id_for("placement.disputed", f"{placement}:1", placement),
        "type": "placement.disputed",
        "refers_to": placement,
        "at": NOW.isoformat(),
        "proposer": "alfa",
        "payer": "alfa",
        "payee": "bravo",
        "amount_cents": 0,
        "currency": "EUR",
        "reason": reason,
    }
    signed = canonical.sign_entry(
        body, key=alfa.identity.private_key, key_id=alfa.identity.key_id, party="alfa"
    )
    return canonical.sign_entry(
        signed, key=bravo.identity.private_key, key_id=bravo.identity.key_id, party="bravo"
    )


def test_the_countersigner_refuses_an_entry_whose_reason_was_not_scrubbed() -> None:
    alfa, bravo = FakePeer.make("alfa", NOW), FakePeer.make("bravo", NOW)
    book = KeyBook([alfa.descriptor, bravo.descriptor])
    leaky = _signed("Sanne de Vries belde vanaf 06-12345678", alfa, bravo)
    with pytest.raises(InputError) as refused:
        ledger.body_of(leaky)  # the first check of a proposal we are asked to countersign
    assert refused.value.field == "reason"
    with pytest.raises(InputError, match="must be scrubbed before the entry is signed"):
        ledger.check_entry(leaky, me="bravo", book=book, now=NOW)  # nor do we append it
    clean = _signed("Sanne de Vries belde vanaf [telefoon]", alfa, bravo)
    assert ledger.check_entry(clean, me="bravo", book=book, now=NOW).reason == clean["reason"]


def test_an_event_entry_built_in_a_scope_is_scrubbed_before_signing() -> None:
    rnd = random.Random(3)
    phone = f"06-{rnd.randrange(10**7, 10**8)}"
    with wiretext.scrubbing(Scrubber(["Sanne de Vries"])):
        body = EntryBody(
            format=ENTRY_FORMAT,
            entry_id=entry_id_for("placement.voided", "x:1", "b" * 64),
            type="placement.voided",
            refers_to="b" * 64,
            at=NOW + timedelta(days=1),
            proposer="alfa",
            payer="alfa",
            payee="bravo",
            amount_cents=0,
            reason=f"Sanne vertrok, bel {phone}",
        )
    assert body.reason == "[naam] vertrok, bel [telefoon]"
