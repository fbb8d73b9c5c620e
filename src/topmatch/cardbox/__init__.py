"""The private card-box (kaartenbak): clients, employers, vacancies and baanopeningen.

Everything personal lives here and nowhere else. Other packages see card-box data only
through the small, named mapping in ``topmatch.publishing`` (an import-linter contract
keeps federation code out).
"""
