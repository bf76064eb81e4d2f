#!/usr/bin/env bash
# Start the machine's local PostgreSQL cluster (if PostgreSQL is installed) and
# create a fresh test database for the storage tests. Prints the database URL
# on stdout, nothing when PostgreSQL is not installed. Under CI=true a cluster
# that is installed but will not start is an error, never a silent skip.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "counter: PostgreSQL is not installed; PostgreSQL tests will be skipped" >&2
    exit 0
fi
version=$(ls /etc/postgresql | sort -n | tail -1)
fail() {
    echo "counter: $*" >&2
    if [[ "${CI:-}" == "true" ]]; then exit 1; fi
    exit 0
}
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
    if [[ $(id -u) -eq 0 ]]; then
        # pg_ctlcluster prints notices such as "Removed stale pid file." on
        # stdout; only the URL may go there.
        pg_ctlcluster "$version" main start >&2 || fail "PostgreSQL $version would not start"
    else
        fail "PostgreSQL $version is stopped; start it with: sudo pg_ctlcluster $version main start"
    fi
fi
psql_as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then su postgres -c "psql -v ON_ERROR_STOP=1 -qAt $*"; else psql -v ON_ERROR_STOP=1 -qAt "$@"; fi
}
for _ in $(seq 1 30); do
    psql_as_postgres "-c 'select 1'" >/dev/null 2>&1 && break
    sleep 0.5
done
psql_as_postgres "-c \"select 1 from pg_roles where rolname='counter'\"" | grep -q 1 \
    || psql_as_postgres "-c \"create role counter login superuser password 'counter'\"" >/dev/null \
    || fail "could not create the counter role"
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
echo "postgresql+psycopg://counter:counter@127.0.0.1:${port}/postgres"
