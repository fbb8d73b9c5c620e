"""The federation roster: the signed list of member bureaus and their keys (issue 14).

``models`` holds the ``topmatch.roster/1`` document, ``verify`` its pure verification (TUF
root metadata rules), ``files`` reading and storing roster files. See
docs/adr/0015-federation-roster.md and ``peers/README.md``.
"""
