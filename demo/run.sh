#!/bin/bash
# The migration_split demo: a throwaway PostgreSQL 15 cluster with a small
# Django-style shop monolith (demo/shop.sql), split into domains with
# suggestions, then every static boundary report, the boundary graph
# rendered to demo/out/ (SVG when Graphviz is installed), the runtime monitor
# watching application traffic and enforcing the boundary of service
# "orders", and finally the extraction of domain "orders" into a second
# database with the migration-split replication job, verified row for row,
# cut over with the read path, rolled back, and cut over again.
#
#   bash demo/run.sh
#
# Works on a fresh Debian 12 machine: installs the packages it needs (sudo
# when not root), builds and installs the extension, and runs the server as
# the invoking user (as "postgres" when started as root) in a temporary
# directory on a free local port.  The cluster is stopped and removed at the
# end, also on failure or Ctrl-C.  Nothing touches an existing cluster.
#
# The demo is a list of steps (see "steps" at the bottom); each is a shell
# function.  Every step checks its results: a wrong result stops the demo
# with "demo check failed: ..." and a non-zero exit.  PG_CONFIG selects the
# PostgreSQL installation (default: pg_config on PATH); DEMO_PAUSE=1 waits
# for Enter between steps; DEMO_PORT is the first port tried (default 54321);
# the cluster lives in a new directory under TMPDIR (default /tmp).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/demo/out"
export PG_CONFIG=${PG_CONFIG:-pg_config}
work=""
runas=()
port=""

banner() {
	printf '\n\033[1m==== %s\033[0m\n' "$*"
}

# Run SQL against database $1, echoing each query like a psql session.
sql_on() {
	local db=$1
	shift
	"$bindir/psql" -X -h "$work" -p "$port" -U postgres -d "$db" \
		-v ON_ERROR_STOP=1 -e -P pager=off "$@"
}

# Run SQL against the demo database (the monolith).
sql() {
	sql_on shop "$@"
}

# The value of one query on database $1, unaligned, for checks.
value() {
	"$bindir/psql" -X -At -h "$work" -p "$port" -U postgres -d "$1" \
		-v ON_ERROR_STOP=1 -c "$2"
}

fail() {
	printf '\033[1;31mdemo check failed: %s\033[0m\n' "$*" >&2
	exit 1
}

# check WHAT QUERY: the query (on the monolith) must return true.
check() {
	local got
	got=$(value shop "$2") || fail "$1 (the check query failed)"
	[ "$got" = t ] || fail "$1 (query returned \"$got\": $2)"
	echo "ok: $1"
}

cleanup() {
	local status=$?
	if [ -n "$work" ] && [ -d "$work" ]; then
		if [ "$status" -ne 0 ] && [ -f "$work/server.log" ]; then
			echo "--- server log (last lines) ---" >&2
			tail -20 "$work/server.log" >&2 || true
		fi
		if [ -f "$work/data/postmaster.pid" ]; then
			"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 ||
				"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
		fi
		rm -rf "$work"
	fi
	[ "$status" -ne 0 ] && echo "demo failed (exit $status)" >&2
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nobody listens on, from DEMO_PORT (default 54321) up.
free_port() {
	local p first=${DEMO_PORT:-54321}
	for p in $(seq "$first" $((first + 99))); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			[ ! -e "/tmp/.s.PGSQL.$p" ]; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port in $first-$((first + 99))" >&2
	return 1
}

step_build() {
	banner "Installing packages, building and installing migration_split"
	bash "$top/test/install-deps.sh"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	[ -w "$($PG_CONFIG --pkglibdir)" ] && sudo=""
	make -s -C "$top" PG_CONFIG="$PG_CONFIG" >/dev/null
	$sudo make -s -C "$top" PG_CONFIG="$PG_CONFIG" install >/dev/null
	echo "installed into $($PG_CONFIG --pkglibdir)"
}

step_cluster() {
	banner "Starting a throwaway cluster"
	bindir=$($PG_CONFIG --bindir)
	work=$(mktemp -d "${TMPDIR:-/tmp}/migration_split_demo.XXXXXX")
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$work"
		runas=(runuser -u postgres --)
	fi
	port=$(free_port)
	"${runas[@]}" "$bindir/initdb" -D "$work/data" -U postgres \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null
	cat >> "$work/data/postgresql.conf" <<CONF
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '$work'
shared_preload_libraries = 'migration_split'
compute_query_id = on
wal_level = logical
$(bash "$top/test/plugin-libraries-conf.sh" "$bindir" pgoutput test_decoding migration_split)
max_replication_slots = 10
max_wal_senders = 10
fsync = off
CONF
	"${runas[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
	echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on port $port, data in $work/data"
	echo "connect with: psql -h $work -p $port -U postgres shop"
}

step_load() {
	banner "Loading the shop monolith (demo/shop.sql)"
	"$bindir/createdb" -h "$work" -p "$port" -U postgres shop
	"$bindir/psql" -X -q -h "$work" -p "$port" -U postgres -d shop -v ON_ERROR_STOP=1 \
		-f "$top/demo/shop.sql"
	sql -c '\dt'
}

step_suggest() {
	banner "Which table belongs to which domain? Suggestions"
	sql -c 'CREATE EXTENSION migration_split' \
		-c 'SELECT * FROM migration_split.unowned_tables ORDER BY rel::text' \
		-c 'SELECT * FROM migration_split.suggest_domains()'
	banner "Accepting the suggestions, then one decision of our own"
	sql -c 'SELECT migration_split.apply_suggestions()' \
		-c "-- sessions hold logged-in customers: they move with accounts
SELECT migration_split.assign_table('django_session', 'accounts')" \
		-c "SELECT migration_split.drop_domain('sessions')" \
		-c 'SELECT rel, domain, assigned_by FROM migration_split.table_owners ORDER BY domain, rel::text' \
		-c 'SELECT * FROM migration_split.unowned_tables ORDER BY rel::text' \
		-c "SELECT rel, domain, via FROM migration_split.relation_domains
			 WHERE via <> 'tag' AND rel::text NOT LIKE 'pg_toast.%' ORDER BY rel::text"
	check "every table has a domain" \
		"SELECT NOT EXISTS (SELECT FROM migration_split.unowned_tables)"
	check "the 20 tables are tagged with their Django app (django_session: accounts)" \
		"SELECT count(*) = 20 AND bool_and(domain = CASE
				WHEN table_name = 'django_session' THEN 'accounts'
				WHEN table_name = 'django_admin_log' THEN 'admin'
				WHEN table_name = 'django_content_type' THEN 'contenttypes'
				WHEN table_name = 'django_migrations' THEN 'django'
				ELSE split_part(table_name, '_', 1) END)
		   FROM migration_split.table_owners"
}

step_reports() {
	banner "Boundary violations: foreign keys across domains"
	sql -c 'SELECT constraint_name, from_table, from_domain, to_table, to_domain, on_delete
			  FROM migration_split.cross_domain_foreign_keys'
	banner "Ghost dependencies: views, shared sequences, triggers"
	sql -c 'SELECT kind, from_object, from_domain, to_object, to_domain, detail
			  FROM migration_split.cross_domain_dependencies'
	banner "Extraction readiness per domain"
	sql -c 'SELECT domain, tables, total_size_pretty, estimated_rows, fks_out, fks_in,
				   dependencies, blockers, ready
			  FROM migration_split.domain_summary'
	check "9 foreign keys cross domains, orders has 3 out and 1 in" \
		"SELECT count(*) = 9 AND count(*) FILTER (WHERE from_domain = 'orders') = 3
			AND count(*) FILTER (WHERE to_domain = 'orders') = 1
		   FROM migration_split.cross_domain_foreign_keys"
	check "the ghost dependencies: the shared sequence, the trigger's two writes, the view's four tables" \
		"SELECT array_agg(kind ORDER BY kind) = '{sequence default,trigger,trigger,view,view,view,view}'
		   FROM migration_split.cross_domain_dependencies"
	check "only the django domain is ready for extraction" \
		"SELECT count(*) = 8 AND array_agg(domain) FILTER (WHERE ready) = '{django}'
		   FROM migration_split.domain_summary"
}

step_graph() {
	banner "The boundary graph"
	mkdir -p "$out"
	"$bindir/psql" -X -At -h "$work" -p "$port" -U postgres -d shop \
		-c 'SELECT migration_split.boundary_graph()' > "$out/boundary.dot"
	"$bindir/psql" -X -At -h "$work" -p "$port" -U postgres -d shop \
		-c "SELECT migration_split.boundary_graph('dot', level => 'table')" > "$out/boundary_tables.dot"
	"$bindir/psql" -X -At -h "$work" -p "$port" -U postgres -d shop \
		-c "SELECT migration_split.boundary_graph('mermaid', 'table')" > "$out/boundary.mmd"
	echo "wrote $out/boundary.dot (domains), $out/boundary_tables.dot and $out/boundary.mmd (tables)"
	head -1 "$out/boundary.dot" | grep -q '^digraph ' &&
		grep -q '^	"orders" -> "accounts" \[label="[0-9]* foreign key' "$out/boundary.dot" ||
		fail "boundary_graph() did not return a DOT graph with the edge from orders to accounts"
	grep -q '"cluster_orders"' "$out/boundary_tables.dot" ||
		fail "boundary_graph('dot', level => 'table') did not return a cluster for domain orders"
	head -1 "$out/boundary.mmd" | grep -q '^flowchart ' && grep -q 'public.orders_order"' "$out/boundary.mmd" ||
		fail "boundary_graph('mermaid') did not return a Mermaid flowchart with the orders tables"
	if command -v dot >/dev/null; then
		dot -Tsvg "$out/boundary.dot" -o "$out/boundary.svg"
		dot -Tsvg "$out/boundary_tables.dot" -o "$out/boundary_tables.svg"
		echo "wrote $out/boundary.svg and $out/boundary_tables.svg"
	else
		echo "Graphviz (dot) is not installed: no SVG"
	fi
}

step_monitor() {
	banner "Runtime monitor: the application's traffic"
	sql -c 'SELECT migration_split.reset()'
	# What the shop's web application runs (psql plays the application).
	PGAPPNAME=shop-web sql <<'SQL'
-- the order page: an order's lines with what is left in stock (3 times)
SELECT i.product_id, i.quantity, s.quantity AS in_stock
  FROM orders_orderitem i
  JOIN inventory_stock s ON s.product_id = i.product_id AND s.warehouse_id = 1
 WHERE i.order_id = 7;
SELECT i.product_id, i.quantity, s.quantity AS in_stock
  FROM orders_orderitem i
  JOIN inventory_stock s ON s.product_id = i.product_id AND s.warehouse_id = 1
 WHERE i.order_id = 8;
SELECT i.product_id, i.quantity, s.quantity AS in_stock
  FROM orders_orderitem i
  JOIN inventory_stock s ON s.product_id = i.product_id AND s.warehouse_id = 1
 WHERE i.order_id = 9;
-- the back office's report view: its base tables count
SELECT status, count(*) FROM order_fulfilment GROUP BY status ORDER BY status;
-- a statement of one domain only: not recorded
SELECT count(*) FROM orders_order WHERE status = 'new';
-- checkout: a new order and its stock reservation in one transaction
BEGIN;
INSERT INTO orders_order (customer_id, status) VALUES (3, 'paid');
UPDATE inventory_stock SET quantity = quantity - 2 WHERE product_id = 5 AND warehouse_id = 1;
COMMIT;
-- adding an order line: the trigger also writes inventory and notifications
INSERT INTO orders_orderitem (order_id, product_id, quantity, unit_price)
VALUES (currval('orders_order_id_seq'), 5, 2, 9.90);
SQL
	banner "Which statements crossed domains, and which transactions wrote to several"
	sql -c 'SELECT domains, tables, kind, calls, application_name, query
			  FROM migration_split.cross_domain_queries ORDER BY calls DESC, query' \
		-c 'SELECT domains, count, sample_queryids FROM migration_split.cross_domain_transactions
			 ORDER BY domains' \
		-c 'SELECT domain, crossing_queries, crossing_calls, crossing_transactions, last_violation, ready
			  FROM migration_split.domain_summary'
	check "the order page query crossed orders and inventory, 3 calls" \
		"SELECT EXISTS (SELECT FROM migration_split.cross_domain_queries
			 WHERE domains = '{inventory,orders}' AND kind = 'select' AND calls = 3
			   AND application_name = 'shop-web' AND query LIKE '%WHERE i.order_id = \$2')"
	check "the report view's statement crossed orders and inventory" \
		"SELECT EXISTS (SELECT FROM migration_split.cross_domain_queries
			 WHERE domains = '{inventory,orders}' AND query LIKE '%FROM order_fulfilment%')"
	check "the single-domain statement was not recorded" \
		"SELECT NOT EXISTS (SELECT FROM migration_split.cross_domain_queries
			 WHERE query LIKE '%FROM orders_order WHERE status%')"
	check "the checkout transaction wrote orders and inventory" \
		"SELECT EXISTS (SELECT FROM migration_split.cross_domain_transactions
			 WHERE domains = '{inventory,orders}' AND count = 1)"
	check "the order line's trigger made a transaction of three domains" \
		"SELECT EXISTS (SELECT FROM migration_split.cross_domain_transactions
			 WHERE domains = '{inventory,notifications,orders}' AND count = 1)"
	check "domain_summary counts the crossings of orders" \
		"SELECT crossing_queries = 2 AND crossing_calls = 4 AND crossing_transactions = 2
		   FROM migration_split.domain_summary WHERE domain = 'orders'"
}

step_enforce() {
	banner "Enforcement: a session of service \"orders\" reaches into inventory"
	local log="$work/enforce.log"
	# ON_ERROR_STOP is off here: the error is what this step shows.
	"$bindir/psql" -X -h "$work" -p "$port" -U postgres -d shop -a -P pager=off \
		>"$log" 2>&1 <<'SQL' || true
SET migration_split.service = 'orders';
-- warn: the statement runs, with a WARNING
SET migration_split.enforce = 'warn';
SELECT quantity FROM inventory_stock WHERE product_id = 5 AND warehouse_id = 1;
-- error: the statement fails with SQLSTATE MS001, which the application can catch
SET migration_split.enforce = 'error';
SELECT quantity FROM inventory_stock WHERE product_id = 5 AND warehouse_id = 1;
\echo SQLSTATE :SQLSTATE
-- the DBA allows this one crossing, for 30 days, until inventory has an API
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason, expires_at)
VALUES ('orders', 'inventory', 'inventory_stock', 'order page shows stock until the inventory API ships',
		now() + interval '30 days');
SELECT quantity FROM inventory_stock WHERE product_id = 5 AND warehouse_id = 1;
\echo SQLSTATE :SQLSTATE
-- other tables of inventory are still refused
SELECT price FROM inventory_product WHERE id = 5;
\echo SQLSTATE :SQLSTATE
SQL
	cat "$log"
	grep -q '^WARNING:  service "orders" must not access table "public.inventory_stock" of domain "inventory"$' "$log" ||
		fail "enforce = warn: no WARNING for service \"orders\" reading public.inventory_stock"
	echo "ok: enforce = warn raised the WARNING"
	grep -q '^ERROR:  service "orders" must not access table "public.inventory_stock" of domain "inventory"$' "$log" ||
		fail "enforce = error: no ERROR for service \"orders\" reading public.inventory_stock"
	# the SQLSTATE after each \echo: error, allowed by the entry, error
	[ "$(grep '^SQLSTATE ' "$log" | tr '\n' ' ')" = "SQLSTATE MS001 SQLSTATE 00000 SQLSTATE MS001 " ] ||
		fail "expected SQLSTATE MS001 (error), 00000 (allowlisted), MS001 (other table); got: $(grep '^SQLSTATE ' "$log" | tr '\n' ' ')"
	echo "ok: enforce = error failed the statements with SQLSTATE MS001"
	grep -q '^ERROR:  service "orders" must not access table "public.inventory_product" of domain "inventory"$' "$log" ||
		fail "the entry for inventory_stock also let inventory_product through"
	echo "ok: the allowlist entry let exactly inventory_stock through"
	sql -c 'SELECT from_domain, to_domain, rel, reason, expired, exemptions, last_exempted
			  FROM migration_split.allowed_crossings_usage' \
		-c 'SELECT domain, crossing_queries, crossing_calls, crossing_transactions, last_violation
			  FROM migration_split.domain_summary'
	check "the allowlist entry counts its exemption" \
		"SELECT exemptions = 1 FROM migration_split.allowed_crossings_usage
		  WHERE from_domain = 'orders' AND rel = 'inventory_stock'::regclass"
	check "domain_summary shows the last violation of orders" \
		"SELECT last_violation > now() - interval '1 minute'
		   FROM migration_split.domain_summary WHERE domain = 'orders'"
}

# Run the replication job, showing the command; it must exit 0.
job() {
	local status=0
	printf '\n$ migration-split %s\n' "$*"
	"$bindir/migration-split" "$@" || status=$?
	[ "$status" -eq 0 ] || fail "migration-split $1 exited with status $status (expected 0)"
}

# "count md5" of a table's rows, in a fixed order.
table_digest() {
	value "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\")), '-')
				  FROM $2 t"
}

step_extract() {
	banner "Extraction: copying domain orders into a new service database"
	"$bindir/createdb" -h "$work" -p "$port" -U postgres orders_service
	echo "created database orders_service (the orders service's own database)"
	local src="host=$work port=$port user=postgres dbname=shop"
	local tgt="host=$work port=$port user=postgres dbname=orders_service"
	job init --source "$src" --target "$tgt" --domain orders --jobs 2 --no-progress

	banner "The shop keeps selling while the orders service catches up"
	sql <<'SQL'
BEGIN;
INSERT INTO orders_order (customer_id, status) VALUES (11, 'new'), (12, 'new');
INSERT INTO orders_orderitem (order_id, product_id, quantity, unit_price)
SELECT id, 10 + k, k, 4.50 FROM orders_order, generate_series(1, 3) k WHERE customer_id IN (11, 12) AND status = 'new';
COMMIT;
UPDATE orders_order SET status = 'shipped' WHERE status = 'paid';
UPDATE orders_coupon SET percent_off = 20 WHERE code = 'SPRING';
INSERT INTO orders_order_coupons (order_id, coupon_id)
SELECT max(id), 2 FROM orders_order;
DELETE FROM orders_order_coupons WHERE order_id = 10;
DELETE FROM orders_orderitem WHERE order_id = 20 AND quantity = 3;
-- another domain's write: not part of the stream
UPDATE inventory_product SET price = price + 1 WHERE id = 1;
SQL
	job stream --source "$src" --target "$tgt" --domain orders --until-caught-up --status-interval=0
	job status --source "$src" --target "$tgt" --domain orders

	banner "Verifying: every orders table, source against target, row for row"
	local tables t n=0 s d
	tables=$(value shop "SELECT table_name FROM migration_split.table_owners
						  WHERE domain = 'orders' ORDER BY table_name")
	[ -n "$tables" ] || fail "no tables of domain orders on the source"
	printf '%-22s %-40s %s\n' table "source: rows md5" "target: rows md5"
	for t in $tables; do
		s=$(table_digest shop "public.$t") || fail "cannot read public.$t on the source"
		d=$(table_digest orders_service "orders.$t") || fail "table orders.$t missing on the target"
		printf '%-22s %-40s %s\n' "$t" "$s" "$d"
		[ "$s" = "$d" ] || fail "orders.$t on the target differs from public.$t on the source"
		n=$((n + 1))
	done
	[ "$(value orders_service "SELECT count(*) FROM pg_tables WHERE schemaname = 'orders'")" -eq "$n" ] ||
		fail "the target schema orders does not hold exactly the $n tables of the domain"
	echo "verified: $n tables identical"
}

# --- report (issue 14): the one-page HTML boundary report ---
step_report() {
	banner "The boundary report: one HTML page to hand to the team"
	"$bindir/migration-split" report --source "host=$work port=$port user=postgres dbname=shop" \
		--html "$out/report.html" --markdown "$out/report.md"
	grep -q '<section class="domain" id="domain-orders">' "$out/report.html" ||
		fail "the report has no section for domain orders"
	echo "open the report: file://$out/report.html (Markdown: $out/report.md)"
}
# --- end report ---

# The proof before the switch: verify compares both sides at one source
# position while the stream runs and the shop keeps writing.
step_verify() {
	banner "migration-split verify: both sides at one source position, under live writes"
	local src="host=$work port=$port user=postgres dbname=shop"
	local tgt="host=$work port=$port user=postgres dbname=orders_service"
	local spid
	"$bindir/migration-split" stream --source "$src" --target "$tgt" --domain orders \
		--status-interval=0 >"$work/stream.log" 2>&1 &
	spid=$!
	echo "stream running in the background (pid $spid)"
	sql <<'SQL'
UPDATE orders_order SET status = 'paid' WHERE status = 'new';
INSERT INTO orders_order (customer_id, status) VALUES (13, 'new');
SQL
	job verify --source "$src" --target "$tgt" --domain orders --jobs 2 --no-progress
	kill -TERM "$spid" 2>/dev/null
	wait "$spid" || true
	[ "$(value orders_service "SELECT last_verify_equal FROM migration_split_job.jobs
							   WHERE domain = 'orders'")" = t ] ||
		fail "the equal verification is not recorded on the target"
	echo "ok: the equal verification is recorded for cutover"
}

# ---- cutover (issue 11): begin ----
step_cutover() {
	banner "Cut-over: the orders service takes over domain orders, the monolith reads it through postgres_fdw"
	local src="host=$work port=$port user=postgres dbname=shop"
	local tgt="host=$work port=$port user=postgres dbname=orders_service"
	local err id
	job cutover --source "$src" --target "$tgt" --domain orders --read-path
	check "domain orders is extracted" \
		"SELECT state = 'extracted' FROM migration_split.domain_lifecycle WHERE domain = 'orders'"

	banner "The monolith refuses writes to orders (SQLSTATE MS002) and still reads them"
	if err=$("$bindir/psql" -X -h "$work" -p "$port" -U postgres -d shop -v ON_ERROR_STOP=1 \
		-c '\set VERBOSITY verbose' \
		-c "UPDATE migration_split_archive.orders_order SET status = 'cancelled' WHERE id = 1" 2>&1); then
		fail "the monolith accepted a write to a frozen orders table"
	fi
	echo "$err"
	grep -q 'ERROR:  MS002: cannot update table "migration_split_archive.orders_order"' <<<"$err" ||
		fail "the refused write did not fail with SQLSTATE MS002"
	[ "$(value shop "SELECT count(*) FROM orders_order")" = \
	  "$(value orders_service "SELECT count(*) FROM orders.orders_order")" ] ||
		fail "the monolith does not read the service's orders through the read path"
	echo "ok: the monolith reads orders_order from the service"

	banner "The service takes a new order; the monolith's reports see it"
	id=$(value orders_service "WITH n AS (INSERT INTO orders.orders_order (customer_id, status)
							   VALUES (11, 'new') RETURNING id) SELECT id FROM n")
	echo "the service created order $id"
	check "the new order is readable in the monolith, joined with accounts" \
		"SELECT count(*) = 1 FROM orders_order o JOIN accounts_user u ON u.user_ptr_id = o.customer_id
		  WHERE o.id = $id"
	check "the monolith's archived copy is kept, without the new order" \
		"SELECT count(*) = 0 FROM migration_split_archive.orders_order WHERE id = $id"
}
# ---- cutover (issue 11): end ----

# ---- rollback (issue 11): begin ----
# Every table of domain orders: the monolith's public.T against the
# service's orders.T, row for row.
compare_orders() {
	local t s d n=0
	for t in $(value shop "SELECT table_name FROM migration_split.table_owners
						  WHERE domain = 'orders' ORDER BY table_name"); do
		s=$(table_digest shop "public.$t") || fail "cannot read public.$t in the monolith"
		d=$(table_digest orders_service "orders.$t") || fail "cannot read orders.$t in the service"
		[ "$s" = "$d" ] || fail "$1: orders.$t in the service ($d) differs from public.$t in the monolith ($s)"
		n=$((n + 1))
	done
	echo "ok: $1 ($n tables identical)"
}

step_rollback() {
	banner "Rollback: the service's writes go back to the monolith, which owns orders again"
	local src="host=$work port=$port user=postgres dbname=shop"
	local tgt="host=$work port=$port user=postgres dbname=orders_service"
	local err id
	sql_on orders_service <<'SQL'
UPDATE orders.orders_order SET status = 'paid' WHERE id = (SELECT max(id) FROM orders.orders_order);
INSERT INTO orders.orders_orderitem (order_id, product_id, quantity, unit_price)
SELECT max(id), 10, 2, 9.90 FROM orders.orders_order;
SQL
	job rollback --source "$src" --target "$tgt" --domain orders
	check "domain orders streams from the monolith again" \
		"SELECT state = 'streaming' FROM migration_split.domain_lifecycle WHERE domain = 'orders'"
	check "the read path is gone: orders_order is the monolith's table again" \
		"SELECT relkind = 'r' FROM pg_class WHERE oid = 'public.orders_order'::regclass"
	compare_orders "every write the service took is in the monolith"
	if err=$("$bindir/psql" -X -h "$work" -p "$port" -U postgres -d orders_service -v ON_ERROR_STOP=1 \
		-c '\set VERBOSITY verbose' \
		-c "UPDATE orders.orders_order SET status = 'cancelled' WHERE id = 1" 2>&1); then
		fail "the service accepted a write to domain orders after the rollback"
	fi
	echo "$err"
	grep -q 'ERROR:  MS002: cannot update table "orders.orders_order"' <<<"$err" ||
		fail "the service's refused write did not fail with SQLSTATE MS002"

	banner "The monolith sells again; the stream carries it to the service, nothing twice"
	id=$(value shop "WITH n AS (INSERT INTO orders_order (customer_id, status) VALUES (12, 'new')
					 RETURNING id) SELECT id FROM n")
	echo "the monolith created order $id"
	sql <<SQL
INSERT INTO orders_orderitem (order_id, product_id, quantity, unit_price) VALUES ($id, 11, 1, 4.50);
SQL
	job stream --source "$src" --target "$tgt" --domain orders --until-caught-up --status-interval=0
	compare_orders "the service follows the monolith again"
}

step_cutover_again() {
	banner "Cut-over again: the service takes domain orders back"
	local src="host=$work port=$port user=postgres dbname=shop"
	local tgt="host=$work port=$port user=postgres dbname=orders_service"
	local id spid
	# the verification before the first cutover does not count after a
	# rollback: verify again, with the stream running
	"$bindir/migration-split" stream --source "$src" --target "$tgt" --domain orders \
		--status-interval=0 >>"$work/stream.log" 2>&1 &
	spid=$!
	job verify --source "$src" --target "$tgt" --domain orders --jobs 2 --no-progress
	kill -TERM "$spid" 2>/dev/null
	wait "$spid" || true
	job cutover --source "$src" --target "$tgt" --domain orders --read-path
	check "domain orders is extracted again" \
		"SELECT state = 'extracted' FROM migration_split.domain_lifecycle WHERE domain = 'orders'"
	id=$(value orders_service "WITH n AS (INSERT INTO orders.orders_order (customer_id, status)
							   VALUES (13, 'new') RETURNING id) SELECT id FROM n")
	echo "the service created order $id"
	check "the monolith reads it through the read path" \
		"SELECT count(*) = 1 FROM orders_order WHERE id = $id"
}
# ---- rollback (issue 11): end ----

steps=(step_build step_cluster step_load step_suggest step_reports step_graph
	step_monitor step_enforce step_report step_extract step_verify step_cutover
	step_rollback step_cutover_again)
built_at=0
for step in "${steps[@]}"; do
	"$step"
	[ "$step" = step_build ] && built_at=$SECONDS
	if [ "${DEMO_PAUSE:-0}" = 1 ]; then
		read -r -p "[Enter] " _
	fi
done
echo "the demo took $((SECONDS - built_at)) s after the build"
banner "Done: the cluster is stopped and removed; the graph stays in demo/out/"
