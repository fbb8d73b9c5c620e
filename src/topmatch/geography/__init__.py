"""Dutch geography: municipalities, places, provinces, labour-market regions, distances.

Vacancies are published to peers at municipality level, with the province and the
arbeidsmarktregio; matching asks for distances ("within 25 km of Waalwijk"). Everything here
is pure and reads only the data files shipped with the package (see ``data/SOURCES.md``).
"""

from topmatch.geography.places import (
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

__all__ = [
    "AmbiguousPlaceError",
    "Municipality",
    "PlaceInfo",
    "UnknownPlaceError",
    "distance_km",
    "municipalities",
    "municipality",
    "place",
    "suggest",
]
