-- Run once by the postgres image, on an empty data volume (docker-entrypoint-initdb.d),
-- as POSTGRES_USER: one database per Topmatch node in compose.yaml, owned by that user.
-- Topmatch creates the tables itself (Alembic migrations at `topmatch serve`).
CREATE DATABASE werkpad;
CREATE DATABASE baanbrekers;
CREATE DATABASE stapverder;
