# The two commands a newcomer needs. Each sets itself up (.venv) on first use.
.PHONY: run test check

run:  ## set up and run the demo: three bureau nodes and a walk through every step
	@scripts/bootstrap.sh
	.venv/bin/topmatch demo

test:  ## set up and run every check and test (SQLite and PostgreSQL)
	@scripts/test.sh
