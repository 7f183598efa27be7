#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schemas to the server's version. Idempotent: run it
# before every start of the server (docker-compose.yml's `temporal-schema` runs it in the admin-tools image) and after
# an upgrade of the server image. It replaces the deprecated auto-setup image.
#
# Reads the variables of deploy/temporal.env (DB, POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, DBNAME, VISIBILITY_DBNAME)
# and POSTGRES_PWD (deploy/secrets/temporal-db.env). Outside the admin-tools image, point at the tool and at the schema
# files of the server's version:
#   TEMPORAL_SQL_TOOL   the temporal-sql-tool binary (default: temporal-sql-tool on PATH)
#   TEMPORAL_SCHEMA_DIR the postgresql/v12 schema directory (default: /etc/temporal/schema/postgresql/v12)
set -eu

: "${POSTGRES_SEEDS:?set POSTGRES_SEEDS (deploy/temporal.env)}"
: "${POSTGRES_USER:?set POSTGRES_USER (deploy/temporal.env)}"
: "${POSTGRES_PWD:?set POSTGRES_PWD (deploy/secrets/temporal-db.env: deploy/make-secrets.sh writes it)}"
DB=${DB:-postgres12}
DB_PORT=${DB_PORT:-5432}
DBNAME=${DBNAME:-temporal}
VISIBILITY_DBNAME=${VISIBILITY_DBNAME:-temporal_visibility}
SQL_TOOL=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
SCHEMA_DIR=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

# The tool reads the password from the environment: never on a command line.
SQL_PASSWORD=$POSTGRES_PWD
export SQL_PASSWORD

for kind in temporal visibility; do
  if [ "$kind" = temporal ]; then database=$DBNAME; else database=$VISIBILITY_DBNAME; fi
  if [ ! -d "$SCHEMA_DIR/$kind/versioned" ]; then
    echo "setup-schema: no schema directory $SCHEMA_DIR/$kind/versioned (set TEMPORAL_SCHEMA_DIR)" >&2
    exit 1
  fi
  echo "setup-schema: $database ($kind) on $POSTGRES_SEEDS:$DB_PORT"
  # create: an existing database is fine; setup-schema -v 0.0: never lowers a newer version; update-schema: applies
  # only the versions above the current one.
  "$SQL_TOOL" --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --db "$database" create
  "$SQL_TOOL" --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --db "$database" setup-schema -v 0.0
  "$SQL_TOOL" --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --db "$database" \
    update-schema -d "$SCHEMA_DIR/$kind/versioned"
done
echo "setup-schema: done"
