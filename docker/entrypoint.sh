#!/bin/sh
# Migrate the database, then hand over to the command (gunicorn by default).
# Several replicas may start together: on PostgreSQL `vault db upgrade` holds an
# advisory lock for the whole migration, so a second one waits for the first
# and then finds nothing to do.
set -eu
vault db upgrade
exec "$@"
