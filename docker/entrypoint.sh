#!/bin/sh
# Migrate the database, then hand over to the command (gunicorn by default).
# Several replicas may start together: Alembic runs in one transaction, and on
# PostgreSQL a second runner waits for the first and then finds nothing to do.
set -eu
vault db upgrade
exec "$@"
