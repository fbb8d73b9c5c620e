"""topmatch.geography: municipalities, places, regions and distances.

Reference distances are great-circle distances between town centres, checked against an
independent computation from the towns' published coordinates (Tilburg 51°33'N 5°05'E,
Waalwijk 51°41'N 5°04'E: 13.7 km; the 16-20 km often quoted is the road distance), and
Amsterdam-Groningen, commonly given as about 146-147 km as the crow flies.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topmatch.errors import InputError
from topmatch.geography import (
    AmbiguousPlaceError,
    Municipality,
    PlaceInfo,
    UnknownPlaceError,
    distance_km,
    municipalities,
    municipality,
    place,
    suggest,
)
from topmatch.geography.places import fold

DATA = Path(__file__).resolve().parent.parent / "src" / "topmatch" / "geography" / "data"
ALL = municipalities()


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- the data ----------------------------------------------------------------------------


def test_there_are_342_municipalities_in_12_provinces_and_35_regions() -> None:
    assert len(ALL) == 342
    assert len({m.name for m in ALL}) == 342
    assert {m.province for m in ALL} == {
        "Drenthe", "Flevoland", "Fryslân", "Gelderland", "Groningen", "Limburg",
        "Noord-Brabant", "Noord-Holland", "Overijssel", "Utrecht", "Zeeland", "Zuid-Holland",
    }  # fmt: skip
    assert len({m.arbeidsmarktregio for m in ALL}) == 35


def test_every_municipality_maps_to_exactly_one_region() -> None:
    rows = _csv("municipalities.csv")
    assert sorted(r["name"] for r in rows) == sorted(m.name for m in ALL)
    assert all(r["arbeidsmarktregio"].strip() for r in rows)
    regions = {m.arbeidsmarktregio for m in ALL}
    assert "Midden-Brabant" in regions
    assert "Regio Zwolle" in regions  # renamed from IJsselvechtstreek


def test_every_place_lies_in_a_known_municipality_of_the_same_province() -> None:
    by_name = {m.name: m for m in ALL}
    places = _csv("places.csv")
    assert len(places) > 1500
    for row in places:
        assert row["municipality"] in by_name, row
        assert by_name[row["municipality"]].province == row["province"], row


def test_every_municipality_is_itself_a_place_near_its_seat() -> None:
    for muni in ALL:
        own = place(muni.name)
        assert own.municipality == muni.name
        assert distance_km(own, muni) == pytest.approx(0.0, abs=1e-6)


def test_coordinates_lie_in_the_netherlands() -> None:
    for muni in ALL:
        assert 50.7 < muni.lat < 53.6, muni
        assert 3.3 < muni.lon < 7.3, muni


def test_municipality_names_stay_distinct_after_folding() -> None:
    keys = [fold(m.name) for m in ALL]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("name", "province", "region"),
    [
        ("Waalwijk", "Noord-Brabant", "Midden-Brabant"),
        ("Tilburg", "Noord-Brabant", "Midden-Brabant"),
        ("Amsterdam", "Noord-Holland", "Groot Amsterdam"),
        ("Groningen", "Groningen", "Groningen"),
        ("Assen", "Drenthe", "Groningen"),
        ("'s-Hertogenbosch", "Noord-Brabant", "Noordoost-Brabant"),
        ("Vijfheerenlanden", "Utrecht", "Gorinchem"),
        ("Hardinxveld-Giessendam", "Zuid-Holland", "Drechtsteden"),
        ("West Betuwe", "Gelderland", "Rivierenland"),
        ("Voorne aan Zee", "Zuid-Holland", "Rijnmond"),
        ("Land van Cuijk", "Noord-Brabant", "Noordoost-Brabant"),
        ("Eemnes", "Utrecht", "Gooi en Vechtstreek"),
        ("Renswoude", "Utrecht", "Food Valley"),
        ("Mook en Middelaar", "Limburg", "Rijk van Nijmegen"),
        ("Súdwest-Fryslân", "Fryslân", "Friesland"),
    ],
)
def test_known_municipalities(name: str, province: str, region: str) -> None:
    muni = municipality(name)
    assert (muni.name, muni.province, muni.arbeidsmarktregio) == (name, province, region)


# --- lookups -----------------------------------------------------------------------------


def test_waalwijk() -> None:
    waalwijk = municipality("Waalwijk")
    assert waalwijk.name == "Waalwijk"
    assert waalwijk.province == "Noord-Brabant"
    assert waalwijk.arbeidsmarktregio == "Midden-Brabant"
    assert (waalwijk.lat, waalwijk.lon) == pytest.approx((51.68, 5.07), abs=0.02)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sudwest-fryslan", "Súdwest-Fryslân"),
        ("SUDWEST FRYSLAN", "Súdwest-Fryslân"),
        ("Súdwest Fryslân", "Súdwest-Fryslân"),
        ("Sûdwest-Fryslân", "Súdwest-Fryslân"),
        ("s hertogenbosch", "'s-Hertogenbosch"),
        ("’s-Hertogenbosch", "'s-Hertogenbosch"),
        ("Den Bosch", "'s-Hertogenbosch"),
        ("den haag", "'s-Gravenhage"),
        ("The Hague", "'s-Gravenhage"),
        ("Gemeente Waalwijk", "Waalwijk"),
        ("waal wijk", "Waalwijk"),
        ("capelle a/d ijssel", None),  # not an alias we know: must fail, not guess
        ("Nuenen", "Nuenen, Gerwen en Nederwetten"),
        ("Bergen (NH)", "Bergen (NH.)"),
        ("Bergen (L)", "Bergen (L.)"),
        ("Bergen, Limburg", "Bergen (L.)"),
        ("bergen noord-holland", None),
        ("Hengelo (O)", "Hengelo"),
        ("Veghel", "Meierijstad"),  # former municipality
        ("Weesp", "Amsterdam"),
        ("Westvoorne", "Voorne aan Zee"),
    ],
)
def test_municipality_folds_case_accents_spaces_and_hyphens(
    text: str, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(UnknownPlaceError):
            municipality(text)
    else:
        assert municipality(text).name == expected


def test_bare_bergen_is_an_ambiguous_municipality() -> None:
    with pytest.raises(AmbiguousPlaceError) as caught:
        municipality("Bergen")
    assert caught.value.candidates == ["Bergen (L.)", "Bergen (NH.)"]
    assert isinstance(caught.value, InputError)


def test_unknown_municipality_suggests_and_points_from_a_place_to_its_municipality() -> None:
    with pytest.raises(UnknownPlaceError) as caught:
        municipality("Walwijk")
    assert "Waalwijk" in caught.value.suggestions
    with pytest.raises(UnknownPlaceError) as caught:
        municipality("Nijverdal")  # a town, not a municipality
    assert caught.value.suggestions[0] == "Hellendoorn"


def test_place_finds_towns_and_villages() -> None:
    veghel = place("Veghel")
    assert (veghel.municipality, veghel.province) == ("Meierijstad", "Noord-Brabant")
    nijverdal = place("nijverdal")
    assert nijverdal.municipality == "Hellendoorn"
    assert place("Den Haag").municipality == "'s-Gravenhage"
    assert place("Den Bosch").municipality == "'s-Hertogenbosch"


def test_unknown_place_suggests_waalwijk() -> None:
    with pytest.raises(UnknownPlaceError) as caught:
        place("Walwijk")
    error = caught.value
    assert error.code == "unknown_place"
    assert isinstance(error, InputError)
    assert "Waalwijk" in error.suggestions
    assert error.message.startswith("unknown place 'Walwijk'; did you mean: Waalwijk")
    assert "Waalwijk" in suggest("Walwijk")
    assert suggest("Walwijk", limit=1) == ["Waalwijk"]


def test_nonsense_has_no_suggestions() -> None:
    with pytest.raises(UnknownPlaceError) as caught:
        place("xqzzyv")
    assert caught.value.suggestions == []
    assert caught.value.message == "unknown place 'xqzzyv'"


# --- duplicate names ---------------------------------------------------------------------


def test_bare_ambiguous_name_prefers_the_municipality_of_that_name() -> None:
    hengelo = place("Hengelo")
    assert (hengelo.municipality, hengelo.province) == ("Hengelo", "Overijssel")
    assert place("Beek").municipality == "Beek"
    assert place("Laren").province == "Noord-Holland"


def test_bare_ambiguous_name_without_such_municipality_lists_candidates() -> None:
    with pytest.raises(AmbiguousPlaceError) as caught:
        place("Bergen")
    error = caught.value
    assert error.code == "ambiguous_place"
    assert error.candidates == ["Bergen (Limburg)", "Bergen (Noord-Holland)"]
    assert "'Bergen (Limburg)' or 'Bergen (Noord-Holland)'" in error.message


@pytest.mark.parametrize("name", ["Bergen", "Valkenburg", "Nes", "Rossum"])
def test_every_candidate_label_resolves_to_a_distinct_place(name: str) -> None:
    with pytest.raises(AmbiguousPlaceError) as caught:
        place(name)
    found = [place(label) for label in caught.value.candidates]
    assert len(set(found)) == len(found) >= 2
    assert all(fold(p.name) == fold(name) for p in found)


@pytest.mark.parametrize(
    ("text", "municipality_name", "province"),
    [
        ("Bergen (NH)", "Bergen (NH.)", "Noord-Holland"),
        ("Bergen (NH.)", "Bergen (NH.)", "Noord-Holland"),
        ("Bergen (L)", "Bergen (L.)", "Limburg"),
        ("Bergen, Limburg", "Bergen (L.)", "Limburg"),
        ("bergen , noord-holland", "Bergen (NH.)", "Noord-Holland"),
        ("Hengelo (Gld)", "Bronckhorst", "Gelderland"),
        ("Hengelo, Bronckhorst", "Bronckhorst", "Gelderland"),
        ("Hengelo (Gelderland)", "Bronckhorst", "Gelderland"),
        ("Valkenburg (ZH)", "Katwijk", "Zuid-Holland"),
        ("Valkenburg, Valkenburg aan de Geul", "Valkenburg aan de Geul", "Limburg"),
    ],
)
def test_place_accepts_province_or_municipality_qualifiers(
    text: str, municipality_name: str, province: str
) -> None:
    found = place(text)
    assert (found.municipality, found.province) == (municipality_name, province)


def test_qualifier_that_excludes_every_candidate_is_an_unknown_place() -> None:
    with pytest.raises(UnknownPlaceError) as caught:
        place("Bergen (ZH)")
    assert caught.value.suggestions == ["Bergen (Limburg)", "Bergen (Noord-Holland)"]
    with pytest.raises(UnknownPlaceError) as caught:
        place("Bergen (Atlantis)")
    assert "neither a province nor a municipality" in caught.value.message


# --- distances ---------------------------------------------------------------------------


def test_tilburg_waalwijk_is_about_14_km_as_the_crow_flies() -> None:
    tilburg, waalwijk = place("Tilburg"), place("Waalwijk")
    assert 13.0 <= distance_km(tilburg, waalwijk) <= 15.5
    assert distance_km(municipality("Tilburg"), municipality("Waalwijk")) == pytest.approx(
        distance_km(tilburg, waalwijk)
    )


def test_amsterdam_groningen_is_about_147_km() -> None:
    assert 145.0 <= distance_km(place("Amsterdam"), place("Groningen")) <= 150.0


def test_distance_is_zero_to_itself_and_mixes_places_and_municipalities() -> None:
    waalwijk = place("Waalwijk")
    assert distance_km(waalwijk, waalwijk) == 0.0
    assert distance_km(waalwijk, municipality("Waalwijk")) == pytest.approx(0.0, abs=1e-6)


def test_haversine_known_answer() -> None:
    # One degree of latitude along a meridian: pi/180 * 6371.0088 km.
    a = PlaceInfo("a", "m", "p", lat=52.0, lon=5.0)
    b = PlaceInfo("b", "m", "p", lat=53.0, lon=5.0)
    assert distance_km(a, b) == pytest.approx(111.19508, abs=1e-4)


def test_within_25_km_of_waalwijk() -> None:
    waalwijk = municipality("Waalwijk")
    near = {m.name for m in ALL if distance_km(waalwijk, m) <= 25}
    assert {"Waalwijk", "Tilburg", "Heusden", "Loon op Zand", "'s-Hertogenbosch"} <= near
    assert "Amsterdam" not in near


municipalities_st = st.sampled_from(ALL)


@given(municipalities_st, municipalities_st)
def test_distance_is_symmetric_and_non_negative(a: Municipality, b: Municipality) -> None:
    assert distance_km(a, b) == pytest.approx(distance_km(b, a), abs=1e-9)
    assert distance_km(a, b) >= 0.0
    assert distance_km(a, a) == 0.0


@given(municipalities_st, municipalities_st, municipalities_st)
def test_distance_satisfies_the_triangle_inequality(
    a: Municipality, b: Municipality, c: Municipality
) -> None:
    assert distance_km(a, c) <= distance_km(a, b) + distance_km(b, c) + 1e-9


def test_no_two_municipalities_share_a_seat() -> None:
    for a, b in itertools.combinations(ALL, 2):
        assert distance_km(a, b) > 0.5, (a.name, b.name)
