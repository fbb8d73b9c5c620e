"""JSON Schemas of every wire format, generated from the pydantic models.

``topmatch schemas export`` writes them to ``schemas/``; a test fails when the committed
files differ from what the models generate, so the published schemas cannot drift.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from topmatch.api.errors import Problem
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger.bundle import Manifest
from topmatch.ledger.schemas import SignedEntry
from topmatch.matching.schemas import CandidateAnswer, CandidateQuery
from topmatch.publishing.schemas import BaanopeningSummary, FeedPage, VacancySummary
from topmatch.referrals.schemas import Handover, IntroductionDecision, IntroductionRequest
from topmatch.settlement.schemas import (
    BilateralStatement,
    NettingProposal,
    SignedAgreement,
    Statement,
)

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://topmatch.example/schemas/"

#: file stem -> model. Add every model that crosses a node boundary here.
WIRE_MODELS: dict[str, type[BaseModel]] = {
    "baanopening-summary": BaanopeningSummary,
    "bilateral-statement": BilateralStatement,
    "candidate-answer": CandidateAnswer,
    "candidate-query": CandidateQuery,
    "fee-agreement": SignedAgreement,
    "feed-page": FeedPage,
    "introduction-decision": IntroductionDecision,
    "introduction-handover": Handover,
    "introduction-request": IntroductionRequest,
    "ledger-bundle-manifest": Manifest,
    "ledger-entry": SignedEntry,
    "netting-proposal": NettingProposal,
    "peer-descriptor": PeerDescriptor,
    "problem": Problem,
    "statement": Statement,
    "vacancy-summary": VacancySummary,
}


def render(name: str, model: type[BaseModel]) -> str:
    schema = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{BASE_ID}{name}.schema.json",
        **model.model_json_schema(mode="serialization"),
    }
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    return {f"{name}.schema.json": render(name, model) for name, model in WIRE_MODELS.items()}


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in rendered().items():
        path = directory / filename
        path.write_text(text)
        written.append(path)
    return written


def differences(directory: Path) -> list[str]:
    """Files that are missing, stale or unexpected in ``directory``."""
    expected = rendered()
    problems = []
    for filename, text in expected.items():
        path = directory / filename
        if not path.exists():
            problems.append(f"{filename}: missing")
        elif path.read_text() != text:
            problems.append(f"{filename}: differs from the models")
    for path in sorted(directory.glob("*.schema.json")):
        if path.name not in expected:
            problems.append(f"{path.name}: no model generates it")
    return problems
