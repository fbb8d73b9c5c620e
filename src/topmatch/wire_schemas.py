"""JSON Schemas of every wire format, generated from the pydantic models.

``topmatch schemas export`` writes them to ``schemas/``; a test fails when the committed
files differ from what the models generate, so the published schemas cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from topmatch import wiretext
from topmatch.api.errors import Problem
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger.bundle import Manifest
from topmatch.ledger.schemas import SignedEntry
from topmatch.matching.schemas import CandidateAnswer, CandidateQuery
from topmatch.publishing.schemas import BaanopeningSummary, FeedPage, VacancySummary
from topmatch.referrals.schemas import (
    Handover,
    IntroductionDecision,
    IntroductionRequest,
    IntroductionWithdrawal,
)
from topmatch.roster.models import Roster
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
    "introduction-withdrawal": IntroductionWithdrawal,
    "introduction-handover": Handover,
    "introduction-request": IntroductionRequest,
    "ledger-bundle-manifest": Manifest,
    "ledger-entry": SignedEntry,
    "netting-proposal": NettingProposal,
    "peer-descriptor": PeerDescriptor,
    "problem": Problem,
    "roster": Roster,
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


# --- every field that leaves a node, for docs/privacy.md ------------------------------

#: String fields of wire models that are neither free text (``wiretext.FreeText``) nor
#: constrained to an identifier or code (a pattern, an enum, a constant, a date, a URL),
#: each with why it is not free text that needs scrubbing. ``tests/test_privacy_gate.py``
#: fails for a plain string field that is not listed here, and for a stale entry.
NOT_FREE_TEXT: dict[str, str] = {
    "AgreementRef.version": "the fee agreement's version label, as the agreement states it",
    "AnonymousCandidate.region": "an arbeidsmarktregio name from the geography data, or `onbekend`",
    "FieldError.field": "the name of a field in the request, written by the code",
    "FieldError.message": "what is wrong with the peer's own request, written by the code",
    "Manifest.note_key": "the verifier key of the log's checkpoint signatures",
    "Manifest.origin": "the checkpoint origin line, `topmatch.ledger/<node id>`",
    "OccupationRef.esco_uri": "an ESCO occupation URI from the code list",
    "PeerDescriptor.name": "the bureau's own name, public in its `node.json`",
    "Place.arbeidsmarktregio": "one of the 35 labour-market regions (geography data)",
    "Place.municipality": "a CBS municipality name or `onbekend` (geography data)",
    "Place.province": "a province name from the geography data",
    "PlacementFacts.introduction_id": "the introduction's id (random hex)",
    "PlacementFacts.summary_id": "the opening's summary id (HMAC-derived)",
    "Problem.code": "an error code, written by the code",
    "Problem.detail": "what went wrong with the peer's own request, written by the code",
    "Problem.title": "the HTTP status phrase",
    "Problem.type": "`about:blank`",
    "PublicKey.key_id": "RFC 7638 thumbprint of a public key",
    "PublicKey.public_key": "a raw Ed25519 public key, base64url",
    "RosterMember.base_url": "the bureau's public base URL, as its roster entry states it",
    "RosterMember.name": "the bureau's own name, public in the federation roster",
    "RosterSigned.federation": "the federation's name, chosen by its coordinator",
    "SignatureItem.key_id": "the signing key's id",
    "AgreementSignature.key_id": "the signing key's id",
}

_BEGIN = "<!-- wire-fields:begin -->"
_END = "<!-- wire-fields:end -->"


@dataclass(frozen=True)
class WireField:
    """One field of one wire model, as its JSON Schema describes it."""

    model: str
    name: str
    kind: str
    content: str
    plain_text: bool = False

    @property
    def key(self) -> str:
        return f"{self.model}.{self.name}"


def _code(value: object) -> str:
    return "`" + str(value).replace("|", "\\|") + "`"


def _limits(schema: dict[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if "exclusiveMinimum" in schema:
        return f"more than {schema['exclusiveMinimum']}"
    if low is None and high is None:
        return ""
    if high is None:
        return f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"{low} to {high}"


def _string(schema: dict[str, Any]) -> Kind:
    length = f"at most {schema['maxLength']} characters" if "maxLength" in schema else ""
    if schema.get("$comment") == wiretext.FREE_TEXT_COMMENT:
        return "free text, **scrubbed**", length, False
    if "pattern" in schema:
        return "identifier or code", _code(schema["pattern"]), False
    formats = {"date": "date", "date-time": "date and time", "uri": "URL"}
    if schema.get("format") in formats:
        return formats[schema["format"]], "", False
    return "text", length, True


Kind = tuple[str, str, bool]  # (kind, content, plain text?)


def _ref(schema: dict[str, Any], defs: dict[str, Any]) -> Kind:
    name = schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in defs[name]:
        return "code", "one of " + ", ".join(_code(v) for v in defs[name]["enum"]), False
    return "object", f"`{name}`", False


def _union(options: list[dict[str, Any]], defs: dict[str, Any]) -> Kind:
    parts = [_classify(s, defs) for s in options if s.get("type") != "null"]
    nullable = any(s.get("type") == "null" for s in options)
    kind = " or ".join(dict.fromkeys(p[0] for p in parts)) + (" or null" * nullable)
    return kind, "; ".join(p[1] for p in parts if p[1]), any(p[2] for p in parts)


def _array(schema: dict[str, Any], defs: dict[str, Any]) -> Kind:
    inner, content, plain = _classify(schema.get("items", {}), defs)
    most = f"at most {schema['maxItems']}: " if "maxItems" in schema else ""
    return f"list of {inner}", most + content, plain


def _fixed(schema: dict[str, Any]) -> Kind:
    if "const" in schema:
        return "constant", _code(schema["const"]), False
    return "code", "one of " + ", ".join(_code(v) for v in schema["enum"]), False


def _classify(schema: dict[str, Any], defs: dict[str, Any]) -> Kind:
    """What one property schema holds, for the table and the check of plain text."""
    if "$ref" in schema:
        return _ref(schema, defs)
    union = schema.get("anyOf", schema.get("oneOf"))
    if union is not None:
        return _union(union, defs)
    if "const" in schema or "enum" in schema:
        return _fixed(schema)
    kind = schema.get("type")
    if kind == "string":
        return _string(schema)
    if kind == "array":
        return _array(schema, defs)
    return str(kind or "any"), _limits(schema), False


def _objects(name: str, model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    schema = model.model_json_schema(mode="serialization")
    defs: dict[str, Any] = schema.get("$defs", {})
    return {schema.get("title", name): schema, **defs}


def wire_fields() -> list[WireField]:
    """Every field of every wire model (nested models included), once, sorted."""
    found: dict[str, WireField] = {}
    for name, model in WIRE_MODELS.items():
        schema = model.model_json_schema(mode="serialization")
        defs: dict[str, Any] = schema.get("$defs", {})
        for title, obj in _objects(name, model).items():
            for field_name, prop in obj.get("properties", {}).items():
                kind, content, plain = _classify(prop, defs)
                description = prop.get("description", "")
                item = WireField(
                    title,
                    field_name,
                    kind,
                    "; ".join(x for x in (content, description) if x),
                    plain,
                )
                if found.setdefault(item.key, item) != item:
                    raise ValueError(f"two wire models are called {title}: rename one")
    return sorted(found.values(), key=lambda f: (f.model, f.name))


def plain_text_fields() -> list[str]:
    """Fields holding strings that are neither scrubbed free text nor a constrained code."""
    return [f.key for f in wire_fields() if f.plain_text]


def privacy_table() -> str:
    """The generated section of docs/privacy.md: every field that leaves a node."""
    lines = [
        _BEGIN,
        "<!-- generated from the wire models by `topmatch schemas export`; do not edit -->",
        "",
        "| Schema | Root model |",
        "|---|---|",
        *(f"| `{n}.schema.json` | `{m.__name__}` |" for n, m in sorted(WIRE_MODELS.items())),
        "",
        "| Model | Field | Kind | Content |",
        "|---|---|---|---|",
    ]
    for item in wire_fields():
        content = item.content
        if item.plain_text:
            content = "; ".join(
                x
                for x in (
                    content,
                    "not free text: "
                    + NOT_FREE_TEXT.get(item.key, "**not listed in NOT_FREE_TEXT**"),
                )
                if x
            )
        lines.append(f"| `{item.model}` | `{item.name}` | {item.kind} | {content} |")
    return "\n".join([*lines, "", _END])


def _replace_section(text: str) -> str:
    start, end = text.find(_BEGIN), text.find(_END)
    if start < 0 or end < start:
        raise ValueError(f"no section between {_BEGIN} and {_END}")
    return text[:start] + privacy_table() + text[end + len(_END) :]


def update_privacy_doc(path: Path) -> bool:
    """Rewrite the generated section of ``path``; True when it changed."""
    text = path.read_text()
    updated = _replace_section(text)
    if updated != text:
        path.write_text(updated)
    return updated != text


def privacy_doc_differs(path: Path) -> bool:
    text = path.read_text()
    return _replace_section(text) != text
