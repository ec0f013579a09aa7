#!/bin/sh
# Migrate the database, then hand over to the command (gunicorn by default).
# Several replicas may start together: on PostgreSQL `vault db upgrade` holds an
# advisory lock for the whole migration, so a second one waits for the first
# and then finds nothing to do.
set -eu
vault db upgrade
# On the very first start only, opens an administrator and prints its one-time
# activation code to the container log; afterwards it does nothing. Replicas
# serialise on an advisory lock, so only one administrator is opened.
vault accounts first-admin --quiet
exec "$@"
