"""The worked example of docs/ledger.md (section 9), run and compared with the page.

The script in the section is executed as written; every block of output and every figure
the prose quotes (sizes, hashes, key hashes, the timestamp) must be what it prints and what
the ledger code computes. A change to canonical JSON, the entry model, leaf hashing, the
checkpoint or cosignature format shows up here before an auditor finds the page wrong.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import re
from pathlib import Path

import pytest

from topmatch.ledger import merkle, note

DOC = Path(__file__).resolve().parent.parent / "docs" / "ledger.md"


@pytest.fixture(scope="module")
def section() -> str:
    text = DOC.read_text()
    start = text.index("\n## 9. Worked example\n")
    return text[start : text.index("\n## 10. ", start)]


@pytest.fixture(scope="module")
def run(section: str) -> tuple[dict[str, object], list[str]]:
    """The script's globals and its printed lines."""
    script = re.search(r"```python\n(.*?)\n```", section, re.DOTALL)
    assert script is not None
    printed = io.StringIO()
    scope: dict[str, object] = {"__name__": "example"}
    with contextlib.redirect_stdout(printed):
        exec(compile(script[1], "docs/ledger.md (section 9)", "exec"), scope)  # noqa: S102 - our own doc
    return scope, printed.getvalue().splitlines()


def _blocks(section: str) -> list[str]:
    """The output blocks after the script, in order."""
    after = section[section.index("```python") :]
    after = after[after.index("\n```\n") + 5 :]
    return re.findall(r"```\n(.*?)\n```", after, re.DOTALL)


def test_every_output_block_is_what_the_script_prints(
    section: str, run: tuple[dict[str, object], list[str]]
) -> None:
    _, lines = run
    keys, signing, canonical_entry, leaf, signed_note, cosignature = _blocks(section)
    assert [line.split() for line in keys.splitlines()] == [line.split() for line in lines[:2]]
    assert signing == lines[2]
    assert canonical_entry == lines[3]
    assert leaf == lines[4]
    assert signed_note.splitlines() == lines[5:10]
    assert cosignature == lines[11]


def test_the_quoted_figures_are_recomputed(
    section: str, run: tuple[dict[str, object], list[str]]
) -> None:
    scope, lines = run
    signing = lines[2].encode()
    data = scope["data"]
    assert isinstance(data, bytes)
    assert f"are {len(signing)} bytes, with SHA-256\n`{hashlib.sha256(signing).hexdigest()}`" in (
        section
    )
    assert f"The canonical entry (`data`, {len(data)} bytes)" in section
    # the canonical bytes are the line of entries.jsonl and the leaf data
    assert lines[3].encode() == data
    leaf = merkle.leaf_hash(data)
    assert leaf.hex() == lines[4] == hashlib.sha256(b"\x00" + data).hexdigest()
    # the root of the one-entry log is its leaf hash, base64 on the checkpoint's third line
    assert merkle.root([leaf]) == leaf
    assert lines[7] == base64.b64encode(leaf).decode()
    vkey = lines[10]
    assert f"The vkey of alfa's log is\n`{vkey}`" in section
    key_hash = vkey.split("+")[1]
    assert f"Its key hash\n`{key_hash}` is the first 4 bytes" in section
    assert base64.b64decode(lines[9].rsplit(" ", 1)[1])[:4].hex() == key_hash


def test_the_cosignature_is_decoded_as_the_page_says(
    section: str, run: tuple[dict[str, object], list[str]]
) -> None:
    scope, lines = run
    raw = base64.b64decode(lines[11].rsplit(" ", 1)[1])
    charlie_vkey, timestamp, hexed = lines[12].split()
    assert int(timestamp) == int.from_bytes(raw[4:12], "big")
    assert hexed == hex(int(timestamp))
    assert (
        f"it is\n{len(raw)} bytes: the key hash `{raw[:4].hex()}`, the timestamp {timestamp} "
        f"(`{raw[4:12].hex()}`)"
    ) in section
    assert f"cosignature vkey is `{charlie_vkey}`" in section
    signed_note, cosignature = scope["signed_note"], scope["cosignature"]
    assert isinstance(signed_note, bytes)
    assert isinstance(cosignature, bytes)
    alfa = note.parse_verifier_key(lines[10])
    charlie = note.parse_verifier_key(charlie_vkey)
    opened = note.open_note(
        signed_note + cosignature, [alfa, charlie], require=["topmatch.ledger/alfa", "charlie"]
    )
    assert f"`verified_names = {opened.verified_names!r}`" in section
