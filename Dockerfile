# A Topmatch node: `topmatch serve` as user topmatch (uid 10001), state in the /data volume,
# settings from TOPMATCH_* variables. See docs/operations.md, "Running in containers".
#
#   docker build -t topmatch .
#   docker run --rm -v topmatch-data:/data topmatch init --node-id werkpad \
#       --name "Werkpad Re-integratie" --url https://topmatch.werkpad.nl
#   docker run -d -p 127.0.0.1:8000:8000 -v topmatch-data:/data topmatch
#
# The build needs the Python package index and nothing else (no apt, no compiler): every
# dependency has a manylinux wheel for CPython 3.11 on this glibc (checked for x86_64). RUN
# --mount and COPY --chmod need BuildKit, Docker's default builder since version 23.

# --- stage 1: wheels of the project and of every dependency ----------------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
# Only what the wheel is built from (pyproject's readme is part of its metadata).
COPY pyproject.toml README.md ./
COPY src ./src
# One command builds the project's wheel and fetches (or builds) a wheel of every dependency.
RUN pip wheel --wheel-dir /wheels .

# --- stage 2: the runtime image --------------------------------------------------------
FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="Topmatch node" \
      org.opencontainers.image.description="Federated matching and fee ledger for Dutch re-integration bureaus" \
      org.opencontainers.image.licenses="EUPL-1.2"

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system --gid 10001 topmatch \
    && useradd --system --uid 10001 --gid topmatch --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin topmatch \
    && install -d -o topmatch -g topmatch -m 0700 /data /data/peers

# The wheels are mounted from stage 1, not copied: they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels topmatch

# The alternative entry point for several uvicorn workers (docs/operations.md).
COPY --chmod=0755 docker/serve-workers.sh /usr/local/bin/topmatch-serve-workers

# Key, secret, descriptor, topmatch.toml, peers and (without TOPMATCH_DATABASE_URL) the
# SQLite database all live in /data. A fresh named volume takes /data's owner and mode.
ENV TOPMATCH_DATA_DIR=/data \
    TOPMATCH_PEERS_DIR=/data/peers \
    TOPMATCH_HOST=0.0.0.0 \
    TOPMATCH_PORT=8000 \
    PYTHONUNBUFFERED=1
VOLUME /data
WORKDIR /data
EXPOSE 8000

# No curl in the slim image: Python's urllib. Fails on a refused connection or any 4xx/5xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TOPMATCH_PORT', '8000'), timeout=4)"]

USER topmatch
ENTRYPOINT ["topmatch"]
CMD ["serve"]
