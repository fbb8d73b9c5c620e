# The commands a newcomer needs (run, test). Each sets itself up (.venv) on first use.
.PHONY: run test check simulate

run:  ## set up and run the demo: three bureau nodes and a walk through every step
	@scripts/bootstrap.sh
	.venv/bin/topmatch demo

test:  ## set up and run every check and test (SQLite and PostgreSQL)
	@scripts/test.sh

SCHEDULES ?= 5000
simulate:  ## long run of the federation simulation with random seeds (docs/adr/0014-deterministic-simulation.md)
	@scripts/bootstrap.sh
	PYTHONPATH=src .venv/bin/python -m tests.simulation --schedules $(SCHEDULES) --seed random --keep-going
