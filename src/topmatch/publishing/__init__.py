"""Anonymised summaries of our vacancies and baanopeningen, and the feed that offers them.

``summarise`` is the one place where private card-box records become publishable data;
everything it emits is built from allow-listed fields and scrubbed free text.
"""
