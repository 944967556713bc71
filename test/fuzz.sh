#!/bin/bash
# Fuzz the runtime monitor with sqlsmith: random SELECT, INSERT, UPDATE,
# DELETE and MERGE statements over tables tagged with three domains, views
# across domains, an allowlist entry, from a login role bound to a service
# with enforcement on, on a throwaway cluster that preloads migration_split.
# Fails when the server log shows a backend terminated by a signal (a crash
# or an assertion), or when sqlsmith could not run at all.
#
#   bash test/fuzz.sh                  # FUZZ_SECONDS=75, FUZZ_SEED=4242
#   FUZZ_SELFTEST=1 bash test/fuzz.sh  # kills a backend with SIGSEGV: must fail
#
# The library must be installed for PG_CONFIG (test/run.sh does that and
# runs this script in a full run).  Bounded in time (FUZZ_SECONDS) with a
# fixed seed (FUZZ_SEED); sqlsmith's statements still race with the clock,
# so two runs need not execute exactly the same statements.  The cluster
# listens on a Unix socket in its own directory only (no TCP port), under
# TMPDIR, and is removed at the end unless FUZZ_KEEP=1.  Run as root, the
# server runs as "postgres".
set -uo pipefail

export PG_CONFIG=${PG_CONFIG:-pg_config}
seconds=${FUZZ_SECONDS:-75}
seed=${FUZZ_SEED:-4242}

if [ "$(id -u)" -eq 0 ]; then
	exec runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" FUZZ_SECONDS="$seconds" \
		FUZZ_SEED="$seed" FUZZ_KEEP="${FUZZ_KEEP:-}" TMPDIR="${TMPDIR:-/tmp}" \
		bash "$(cd "$(dirname "$0")" && pwd)/fuzz.sh"
fi

command -v sqlsmith >/dev/null || { echo "fuzz: sqlsmith is not installed (apt-get install sqlsmith)"; exit 1; }
bindir=$($PG_CONFIG --bindir)
work=$(mktemp -d "${TMPDIR:-/tmp}/migration_split_fuzz.XXXXXX")
data="$work/data"
log="$work/server.log"
port=5432

cleanup() {
	"$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
	if [ -z "${FUZZ_KEEP:-}" ] && [ "${status:-1}" -eq 0 ]; then
		rm -rf "$work"
	else
		echo "fuzz: files kept in $work"
	fi
}
trap cleanup EXIT

"$bindir/initdb" -D "$data" -A trust -U postgres --no-sync >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log"; status=1; exit 1; }
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
shared_preload_libraries = 'migration_split'
compute_query_id = on
migration_split.track = all
fsync = off
log_min_messages = log
log_min_error_statement = panic
EOF
"$bindir/pg_ctl" -D "$data" -l "$log" -w start >/dev/null || { cat "$log"; status=1; exit 1; }

psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE fuzz" || { status=1; exit 1; }
"${psql[@]}" -d fuzz <<'EOF' || { status=1; exit 1; }
CREATE EXTENSION migration_split;
SELECT migration_split.create_domain(d) FROM unnest(ARRAY['orders', 'inventory', 'billing']) d;
CREATE TABLE customer (id int PRIMARY KEY, name text, email text);
CREATE TABLE orders_order (id int PRIMARY KEY, customer_id int REFERENCES customer,
	total numeric, placed date, note text);
CREATE TABLE orders_line (order_id int REFERENCES orders_order ON DELETE CASCADE,
	sku text, qty int);
CREATE TABLE stock (sku text PRIMARY KEY, qty int, updated timestamptz);
CREATE TABLE stock_move (id bigserial PRIMARY KEY, sku text REFERENCES stock, delta int)
	PARTITION BY HASH (id);
CREATE TABLE stock_move_0 PARTITION OF stock_move FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE stock_move_1 PARTITION OF stock_move FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE invoice (id int PRIMARY KEY, order_id int REFERENCES orders_order, amount numeric);
CREATE TABLE invoice_archive () INHERITS (invoice);
CREATE TABLE untagged (id int, payload jsonb);
SELECT migration_split.assign_table('orders_order', 'orders'),
	   migration_split.assign_table('orders_line', 'orders'),
	   migration_split.assign_table('customer', 'orders'),
	   migration_split.assign_table('stock', 'inventory'),
	   migration_split.assign_table('stock_move', 'inventory'),
	   migration_split.assign_table('invoice', 'billing');
INSERT INTO customer SELECT g, 'c' || g, 'c' || g || '@x' FROM generate_series(1, 50) g;
INSERT INTO orders_order SELECT g, 1 + g % 50, g * 1.5, date '2026-01-01' + g, NULL
  FROM generate_series(1, 200) g;
INSERT INTO stock SELECT 'sku' || g, g, now() FROM generate_series(1, 40) g;
INSERT INTO orders_line SELECT 1 + g % 200, 'sku' || (1 + g % 40), g % 7 FROM generate_series(1, 400) g;
INSERT INTO stock_move (sku, delta) SELECT 'sku' || (1 + g % 40), g FROM generate_series(1, 100) g;
INSERT INTO invoice SELECT g, g, g * 1.5 FROM generate_series(1, 100) g;
INSERT INTO untagged SELECT g, jsonb_build_object('g', g) FROM generate_series(1, 20) g;
CREATE VIEW order_stock AS
	SELECT o.id, l.sku, s.qty FROM orders_order o JOIN orders_line l ON l.order_id = o.id
	  JOIN stock s ON s.sku = l.sku;
CREATE VIEW billed_orders AS
	SELECT o.*, i.amount FROM orders_order o LEFT JOIN invoice i ON i.order_id = o.id;
CREATE VIEW stock_only AS SELECT * FROM stock WHERE qty > 3;
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason)
	VALUES ('orders', 'billing', 'invoice', 'fuzz');
-- the fuzzer: a service bound to orders with enforcement on
CREATE ROLE fuzzer LOGIN;
GRANT ALL ON ALL TABLES IN SCHEMA public TO fuzzer;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO fuzzer;
ALTER ROLE fuzzer SET migration_split.service = 'orders';
ALTER ROLE fuzzer SET migration_split.enforce = 'warn';
ALTER ROLE fuzzer SET statement_timeout = '2s';
ALTER ROLE fuzzer SET client_min_messages = error;
EOF

echo "fuzz: sqlsmith for ${seconds}s, seed $seed"
timeout --signal=INT "$seconds" sqlsmith --seed="$seed" --exclude-catalog --verbose \
	--target="host=$work port=$port dbname=fuzz user=fuzzer" >"$work/sqlsmith.log" 2>&1
rc=$?
# timeout exits 124 when time ran out; sqlsmith itself ends only on errors
if [ "$rc" -ne 124 ] && [ "$rc" -ne 0 ]; then
	tail -20 "$work/sqlsmith.log"
	echo "fuzz: sqlsmith failed (exit $rc)"
	status=1
	exit 1
fi
# FUZZ_SELFTEST=1 crashes a backend on purpose: the check below must fail
if [ -n "${FUZZ_SELFTEST:-}" ]; then
	"${psql[@]}" -d fuzz -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
	sleep 1
	kill -SEGV "$("${psql[@]}" -d fuzz -Atc "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")"
	wait
	sleep 2
fi
queries=$(grep -o 'queries: [0-9]*' "$work/sqlsmith.log" | tail -1 | grep -o '[0-9]*')
echo "fuzz: ${queries:-?} statements generated"

if grep -E "terminated by signal|was terminated by exception|server process .* was terminated" "$log"; then
	echo "fuzz: a backend crashed (server log: $log)"
	status=1
	exit 1
fi
# the server must still be up and the monitor working
if ! "${psql[@]}" -d fuzz -Atc "SELECT count(*) >= 0 FROM migration_split.cross_domain_queries" >/dev/null; then
	echo "fuzz: the server is not answering after the run"
	status=1
	exit 1
fi
status=0
echo "fuzz: no crash"
exit 0
