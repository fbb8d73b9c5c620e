"""Plain typed factories for test data: valid by default, override what the test is about."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

# Valid BSNs (11-proof) reserved for tests; none belongs to a real person we know of.
BSNS = ["111222333", "123456782", "999999990", "100000009", "012345672"]


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def employer_data(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Bakkerij De Korenaar",
        "kvk_number": "12345678",
        "contact_name": "Marieke Jansen",
        "contact_phone": "013-5551234",
        "contact_email": "marieke@korenaar.example",
        "sector": "C",
        "municipality": "Waalwijk",
        "size_class": "micro",
        **overrides,
    }


def client_data(**overrides: Any) -> dict[str, Any]:
    return {
        "first_name": "Sanne",
        "name_prefix": "van",
        "last_name": "Dijk",
        "bsn": BSNS[0],
        "date_of_birth": "1999-04-12",
        "phone": "06-12345678",
        "email": "sanne@example.nl",
        "street": "Grotestraat",
        "house_number": "12a",
        "postcode": "5141 JA",
        "city": "Waalwijk",
        "municipality": "Waalwijk",
        "benefit_type": "wajong",
        "doelgroepregister": True,
        "education_level": "mbo-2",
        "skills": ["orderpicken", "heftruck"],
        "desired_occupations": [{"label": "Magazijnmedewerker", "isco08": "9321"}],
        "hours_min": 24,
        "hours_max": 24,
        "max_travel_km": 15,
        "languages": ["nl"],
        "driving_licences": ["B"],
        "available_from": "2026-12-01",
        "consent_share_profile": True,
        "notes": "Wil graag in de logistiek werken.",
        **overrides,
    }


def vacancy_data(employer_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "employer_id": employer_id,
        "title": "Magazijnmedewerker dagdienst",
        "occupation": {"label": "Magazijnmedewerker", "isco08": "9321"},
        "skills_required": ["orderpicken"],
        "skills_nice": ["heftruck"],
        "education_level": "mbo-2",
        "hours_min": 24,
        "hours_max": 32,
        "contract_type": "tijdelijk",
        "wage_min": 2300,
        "wage_max": 2600,
        "postcode": "5141 AB",
        "municipality": "Waalwijk",
        "start_date": "2027-01-04",
        "description": "Orderpicken in een overzichtelijk magazijn.",
        **overrides,
    }


def baanopening_data(employer_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "employer_id": employer_id,
        "title": "Ondersteuning productie en inpak",
        "tasks": ["dozen vouwen", "etiketten plakken", "lichte schoonmaak"],
        "hours_min": 12,
        "hours_max": 20,
        "sector": "C",
        "municipality": "Waalwijk",
        "suitable_profile": "Iemand die van structuur en herhaling houdt.",
        **overrides,
    }


def agreement_document(
    members: list[str] | None = None, version: str = "2026-1", **overrides: Any
) -> dict[str, Any]:
    """A fee agreement as the six bureaus might sign it: EUR 3,000 for a temporary
    placement (half at the start, half after 6 months), 21 % VAT."""
    return {
        "format": "topmatch.fee-agreement/1",
        "version": version,
        "title": "Topmatch vergoedingen 2026",
        "valid_from": "2026-01-01",
        "valid_to": "2027-12-31",
        "vat_rate_bp": 2100,
        "members": members or ["alfa", "bravo", "charlie"],
        "placement_fees": [
            {"contract_type": "tijdelijk", "min_hours": 0, "max_hours": 60, "fee_cents": 300_000},
            {"contract_type": "vast", "min_hours": 0, "max_hours": 23, "fee_cents": 300_000},
            {"contract_type": "vast", "min_hours": 24, "max_hours": 60, "fee_cents": 450_000},
        ],
        "start_share_bp": 5000,
        "retention_months": 6,
        "handover_fee_cents": 50_000,
        "licences": [
            {
                "method": "baanbrekers-training",
                "title": "Training Baan in zicht",
                "owner": "alfa",
                "fee_cents_per_participant": 12_500,
            }
        ],
        **overrides,
    }


def agreement_ref(document: dict[str, Any] | None = None) -> dict[str, str]:
    """The {version, sha256} a ledger entry names for this agreement."""
    from topmatch.settlement import agreement as pricing  # noqa: PLC0415
    from topmatch.settlement.schemas import FeeAgreement  # noqa: PLC0415

    terms = FeeAgreement.model_validate_json(json.dumps(document or agreement_document()))
    return {"version": terms.version, "sha256": pricing.sha256(terms)}


def signed_agreement(document: dict[str, Any] | None = None, *signers: Any) -> Any:
    """The agreement (``agreement_document()`` by default) signed by each of ``signers``
    (objects with ``node_id`` and ``identity``, as tests.fednodes.FakePeer), as a
    SignedAgreement."""
    from topmatch.ledger import canonical  # noqa: PLC0415
    from topmatch.settlement import agreement as pricing  # noqa: PLC0415
    from topmatch.settlement.schemas import FeeAgreement, SignedAgreement  # noqa: PLC0415

    terms = FeeAgreement.model_validate_json(json.dumps(document or agreement_document()))
    body = pricing.body(terms)  # signed as hashed: with every default filled in
    for signer in signers:
        body = canonical.sign_entry(
            body,
            key=signer.identity.private_key,
            key_id=signer.identity.key_id,
            party=signer.node_id,
        )
    return SignedAgreement.model_validate_json(json.dumps(body))


def web_sign_in(client: Any, token: str, *, next: str = "/", follow_redirects: bool = True) -> Any:
    """Sign in through the web form as a browser does: fetch the form (which sets the
    pre-session cookie and holds its CSRF token), then post it with the token."""
    form = client.get("/inloggen")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found is not None, "the sign-in form has no CSRF token"
    return client.post(
        "/inloggen",
        data={"token": token, "next": next, "csrf": found.group(1)},
        follow_redirects=follow_redirects,
    )


def run_cli_here(env: dict[str, str], argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ``topmatch argv`` in this process with exactly ``env`` as the environment, and
    its output captured, as a child process would (for set-up steps; tests of the CLI
    itself call ``main`` or a child)."""
    from topmatch.cli import main  # noqa: PLC0415 - the CLI pulls in the whole app

    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["topmatch", *argv], code, out.getvalue(), err.getvalue())
