#!/bin/sh
# Temporal's databases on PostgreSQL, created once and brought to the schema of this server
# version on every start (each step leaves what exists alone). Run by docker/compose.yaml's
# temporal-schema job in temporalio/admin-tools.
set -eu
SQL_PASSWORD="$(cat /run/secrets/postgres_password)"
export SQL_PASSWORD
schema=/etc/temporal/schema/postgresql/v12

sql() { # sql DATABASE COMMAND...
    db="$1"
    shift
    temporal-sql-tool --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" \
        --db "$db" "$@"
}

until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do
    echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT"
    sleep 1
done

for db in temporal temporal_visibility; do
    case "$db" in temporal) dir=temporal ;; *) dir=visibility ;; esac
    sql "$db" create
    sql "$db" setup-schema -v 0.0
    sql "$db" update-schema -d "$schema/$dir/versioned"
done
echo "schema ready"
