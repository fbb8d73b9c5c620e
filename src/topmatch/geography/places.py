"""Dutch municipalities and places: lookup, province, labour-market region and distance.

Pure: the only I/O is reading the CSV files shipped in ``topmatch/geography/data`` (loaded
once, on first use, and cached). ``data/SOURCES.md`` says where they come from and
``scripts/build_geography.py`` derives them.

Names are matched on a folded key: case, accents, spaces, hyphens and punctuation are ignored,
so "'s-Hertogenbosch", "s Hertogenbosch" and "SHERTOGENBOSCH" are one name, as are
"Súdwest-Fryslân" and "sudwest fryslan". A leading "Gemeente " is ignored. Aliases cover the
usual other names ("Den Bosch", "Den Haag", "The Hague") and every former municipality that
was merged whole into a current one ("Veghel" -> Meierijstad).

Place names repeat across the country ("Bergen" in Noord-Holland and in Limburg, "Hengelo" in
Overijssel and in Gelderland). :func:`place` resolves a name in this order:

1. The whole text as a place or municipality name. One match: that place. Several: the one
   that is the namesake of a municipality ("Hengelo" -> Hengelo, Overijssel, not the village
   in Bronckhorst), if exactly one is; otherwise :class:`AmbiguousPlaceError` lists the
   candidates, each in a form this function accepts ("Bergen (Limburg)").
2. A municipality's CBS name or an alias: the municipality's own place ("Bergen (NH.)",
   "Den Bosch" -> 's-Hertogenbosch).
3. A qualified name, "Bergen (NH)", "Bergen (L.)", "Bergen, Limburg" or "Hengelo, Bronckhorst":
   the qualifier is a province (name or usual abbreviation) or a municipality.

Every municipality is also a place, at its seat (see ``municipalities.csv``), under its own
name without the CBS qualifier ("Bergen (L.)" is the place "Bergen" in Bergen (L.)).
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from topmatch.errors import InputError

#: Mean Earth radius (IUGG), the usual choice for haversine distances.
EARTH_RADIUS_KM = 6371.0088

PROVINCE_ALIASES: dict[str, tuple[str, ...]] = {
    "Drenthe": ("Dr", "Dren"),
    "Flevoland": ("Fl", "Flevo"),
    "Fryslân": ("Friesland", "Fr", "Frl", "Fryslan"),
    "Gelderland": ("Gld", "Gl", "Gelder"),
    "Groningen": ("Gr", "Gn", "Gron"),
    "Limburg": ("L", "Lb", "Li", "Lim", "Limb"),
    "Noord-Brabant": ("NB", "N-Br", "NBr", "Brabant", "North Brabant"),
    "Noord-Holland": ("NH", "N-H", "North Holland"),
    "Overijssel": ("O", "Ov", "Ovl", "Overijsel"),
    "Utrecht": ("U", "Ut", "Utr"),
    "Zeeland": ("Z", "Zl", "Zld", "Zee"),
    "Zuid-Holland": ("ZH", "Z-H", "South Holland"),
}

_GEMEENTE = re.compile(r"^\s*gemeente\s+", re.IGNORECASE)
_PARENTHESISED = re.compile(r"^(?P<base>.+?)\s*\((?P<qualifier>[^()]+)\)\s*$")


class UnknownPlaceError(InputError):
    """No place or municipality by that name; ``suggestions`` holds the nearest names."""

    code = "unknown_place"

    def __init__(self, message: str, suggestions: list[str]) -> None:
        if suggestions:
            message = f"{message}; did you mean: {', '.join(suggestions)}?"
        super().__init__(message)
        self.suggestions = suggestions


class AmbiguousPlaceError(InputError):
    """The name fits several places; ``candidates`` are unambiguous ways to write each."""

    code = "ambiguous_place"

    def __init__(self, name: str, candidates: list[str]) -> None:
        choices = " or ".join(f"'{c}'" for c in candidates)
        super().__init__(f"'{name}' is ambiguous ({len(candidates)} places); say which: {choices}")
        self.candidates = candidates


@dataclass(frozen=True)
class Municipality:
    """A current municipality (gemeente), located at its seat."""

    name: str
    province: str
    arbeidsmarktregio: str
    lat: float
    lon: float


@dataclass(frozen=True)
class PlaceInfo:
    """A place (woonplaats, village, or a municipality at its seat)."""

    name: str
    municipality: str
    province: str
    lat: float
    lon: float


def fold(text: str) -> str:
    """The lookup key: lower case, no accents, nothing but letters and digits.

    Must stay identical to ``fold`` in ``scripts/build_geography.py``.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def _base_name(municipality_name: str) -> str:
    """A municipality's name without its CBS qualifier: "Bergen (L.)" -> "Bergen"."""
    return municipality_name.split(" (", 1)[0]


@dataclass(frozen=True)
class _Index:
    municipalities: dict[str, Municipality]  # folded name -> municipality
    by_base: dict[str, list[Municipality]]  # folded name without CBS qualifier
    aliases: dict[str, str]  # folded alias -> municipality name
    places: dict[str, list[PlaceInfo]]  # folded name -> places of that name
    provinces: dict[str, str]  # folded province name or abbreviation -> province
    vocabulary: dict[str, str]  # folded name -> how to show it, for suggestions


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("topmatch.geography").joinpath("data", filename).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@functools.cache
def _index() -> _Index:
    municipalities = {
        fold(r["name"]): Municipality(
            r["name"], r["province"], r["arbeidsmarktregio"], float(r["lat"]), float(r["lon"])
        )
        for r in _rows("municipalities.csv")
    }
    by_base: dict[str, list[Municipality]] = defaultdict(list)
    for muni in municipalities.values():
        by_base[fold(_base_name(muni.name))].append(muni)
    places: dict[str, list[PlaceInfo]] = defaultdict(list)
    for r in _rows("places.csv"):
        info = PlaceInfo(
            r["name"], r["municipality"], r["province"], float(r["lat"]), float(r["lon"])
        )
        places[fold(info.name)].append(info)
    aliases = {fold(r["alias"]): r["municipality"] for r in _rows("aliases.csv")}
    provinces = {fold(p): p for p in PROVINCE_ALIASES}
    provinces.update({fold(a): p for p, names in PROVINCE_ALIASES.items() for a in names})
    vocabulary = {fold(r["alias"]): r["alias"] for r in _rows("aliases.csv")}
    vocabulary.update({key: found[0].name for key, found in places.items()})
    vocabulary.update({key: muni.name for key, muni in municipalities.items()})
    return _Index(municipalities, dict(by_base), aliases, dict(places), provinces, vocabulary)


def municipalities() -> list[Municipality]:
    """All current municipalities, in alphabetical order of their folded names."""
    index = _index()
    return [index.municipalities[key] for key in sorted(index.municipalities)]


def municipality(name: str) -> Municipality:
    """The municipality called ``name`` (or an alias of it, or a former municipality merged
    into it), matched on the folded key. "Bergen, Limburg" and "Bergen (NH)" pick one of the
    two Bergens.

    Raises :class:`UnknownPlaceError` (with suggestions) or, for a bare "Bergen",
    :class:`AmbiguousPlaceError`.
    """
    index = _index()
    text = _GEMEENTE.sub("", name)
    key = fold(text)
    if key in index.municipalities:
        return index.municipalities[key]
    if key in index.aliases:
        return index.municipalities[fold(index.aliases[key])]
    candidates = index.by_base.get(key, [])
    if len(candidates) > 1:
        raise AmbiguousPlaceError(name, sorted(m.name for m in candidates))
    for base, qualifier in _qualified_forms(text):
        wanted = _qualifier_municipalities(qualifier)
        found = [m for m in index.by_base.get(fold(base), []) if m.name in wanted]
        if len(found) == 1:
            return found[0]
    # A place, not a municipality: suggest the municipalities it lies in first.
    homes = sorted({p.municipality for p in index.places.get(key, [])})
    similar = _close(key, [k for k in index.vocabulary if _names_municipality(k)])
    raise UnknownPlaceError(f"unknown municipality '{name}'", _unique([*homes, *similar])[:5])


def place(name: str) -> PlaceInfo:
    """The place (woonplaats) or municipality called ``name``; see the module docstring for how
    duplicates and qualifiers ("Bergen (NH)", "Bergen, Limburg") are resolved.

    Raises :class:`UnknownPlaceError` (with suggestions) or :class:`AmbiguousPlaceError`.
    """
    index = _index()
    text = _GEMEENTE.sub("", name)
    key = fold(text)
    if key in index.places:
        return _pick(name, key, index.places[key])
    if key in index.municipalities:  # "Bergen (NH.)": its own place is named "Bergen"
        return _own_place(index.municipalities[key])
    if key in index.aliases:
        return _own_place(index.municipalities[fold(index.aliases[key])])
    forms = _qualified_forms(text)
    for base, qualifier in forms:
        wanted = _qualifier_municipalities(qualifier)
        if not wanted:
            continue
        everywhere = index.places.get(fold(base), [])
        found = [p for p in everywhere if p.municipality in wanted]
        if found:
            return _pick(name, fold(base), found)
        raise UnknownPlaceError(f"no place '{base}' in {qualifier}", _labels(everywhere))
    for base, qualifier in forms:
        if fold(base) in index.places:
            raise UnknownPlaceError(
                f"'{qualifier}' in '{name}' is neither a province nor a municipality",
                _labels(index.places[fold(base)]),
            )
    raise UnknownPlaceError(f"unknown place '{name}'", suggest(name))


def distance_km(a: PlaceInfo | Municipality, b: PlaceInfo | Municipality) -> float:
    """Great-circle (haversine) distance in kilometres on a sphere of radius 6371.0088 km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def suggest(name: str, limit: int = 5) -> list[str]:
    """Up to ``limit`` known place, municipality or alias names closest to ``name``."""
    index = _index()
    return _close(fold(_GEMEENTE.sub("", name)), list(index.vocabulary), limit)


def _close(key: str, keys: list[str], limit: int = 5) -> list[str]:
    vocabulary = _index().vocabulary
    matches = difflib.get_close_matches(key, keys, n=limit, cutoff=0.6)
    return _unique(vocabulary[k] for k in matches)


def _names_municipality(key: str) -> bool:
    index = _index()
    return key in index.municipalities or key in index.aliases


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _own_place(muni: Municipality) -> PlaceInfo:
    """The place that stands for the municipality itself (built in for every municipality)."""
    found = _index().places[fold(_base_name(muni.name))]
    return next(p for p in found if p.municipality == muni.name)


def _pick(name: str, key: str, found: list[PlaceInfo]) -> PlaceInfo:
    """One place out of the places sharing a name: the only one, or the municipality's
    namesake, or none (AmbiguousPlaceError)."""
    if len(found) == 1:
        return found[0]
    namesakes = [p for p in found if fold(_base_name(p.municipality)) == key]
    if len(namesakes) == 1:
        return namesakes[0]
    raise AmbiguousPlaceError(name, _labels(found))


def _labels(found: list[PlaceInfo]) -> list[str]:
    """Inputs that pick each place: "Name (Province)" where that is enough, else
    "Name (Municipality)"."""
    provinces = [p.province for p in found]
    return sorted(
        f"{p.name} ({p.province if provinces.count(p.province) == 1 else p.municipality})"
        for p in found
    )


def _qualified_forms(text: str) -> list[tuple[str, str]]:
    """The ways to read ``text`` as name plus qualifier: "A, B" and "A (B)"."""
    forms = []
    if "," in text:
        base, qualifier = text.rsplit(",", 1)
        forms.append((base.strip(), qualifier.strip()))
    match = _PARENTHESISED.match(text)
    if match:
        forms.append((match["base"].strip(), match["qualifier"].strip()))
    return forms


def _qualifier_municipalities(qualifier: str) -> set[str]:
    """The municipalities a qualifier denotes: a whole province and/or one municipality."""
    index = _index()
    key = fold(qualifier)
    names: set[str] = set()
    if key in index.provinces:
        province = index.provinces[key]
        names.update(m.name for m in index.municipalities.values() if m.province == province)
    if key in index.municipalities:
        names.add(index.municipalities[key].name)
    elif key in index.aliases:
        names.add(index.aliases[key])
    return names
