#!/bin/bash
# Benchmark of the static boundary reports on a generated monolith:
# 10,000 tables over 20 domains with 20,000 foreign keys, plus views, views
# of views, materialized views, cross-domain sequence defaults, triggers
# with PL/pgSQL functions, inheritance children and partitioned tables, a
# Django generic relation table (100,000 rows over 1,000 content types) and
# 20 loosened foreign keys.
# Times every report several times in one new session (psql \timing of
# the full query, results sent to the client and discarded, and the
# server's CPU time from log_statement_stats), prints the median of each
# and the first run (cold caches: the catalog caches and the ownership
# cache of a new backend), wall and server CPU time, and fails when a
# median exceeds the limit.
#
#   bash bench/reports.sh
#
# Environment (all optional):
#   PG_CONFIG       PostgreSQL installation to use (default: pg_config on PATH)
#   BENCH_PORT      port of the temporary cluster (default 55590)
#   BENCH_TABLES    number of tables, partitions included (default 10000)
#   BENCH_FKS       number of foreign keys (default: twice the tables)
#   BENCH_DOMAINS   number of domains (default 20)
#   BENCH_RUNS      runs per report (default 5)
#   BENCH_LIMIT_MS  limit for the median of each report (default 300)
#   BENCH_LIMIT_ON  what the limit applies to: "wall" (elapsed time seen by
#                   psql, default) or "cpu" (user + system time of the server
#                   process, from log_statement_stats: meaningful on a machine
#                   shared with other work, where wall time mostly measures
#                   waiting for a CPU)
#   BENCH_HUGE_PAGES  the cluster's huge_pages: try (PostgreSQL's default:
#                   huge pages when the kernel has them reserved, see
#                   vm.nr_hugepages), on or off.  The first run of a report
#                   in a new session mostly pays for page faults on the
#                   shared memory mapping, one per 4 kB page it touches
#                   first; with huge pages, one per 2 MB.  The script prints
#                   which the cluster got.
#   BENCH_KEEP=1    keep the cluster (and print how to reach it)
#
# The cluster runs as the invoking user, or as "postgres" when that is root,
# on a Unix socket in its own temporary directory.  The extension must be
# installed (make install) into PG_CONFIG's installation.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$("$PG_CONFIG" --bindir)
port=${BENCH_PORT:-55590}
tables=${BENCH_TABLES:-10000}
fks=${BENCH_FKS:-$((tables * 2))}
domains=${BENCH_DOMAINS:-20}
runs=${BENCH_RUNS:-5}
limit_ms=${BENCH_LIMIT_MS:-300}
limit_on=${BENCH_LIMIT_ON:-wall}
huge_pages=${BENCH_HUGE_PAGES:-try}
case "$limit_on" in wall|cpu) ;; *) echo "BENCH_LIMIT_ON must be wall or cpu" >&2; exit 2;; esac
case "$huge_pages" in try|on|off) ;; *) echo "BENCH_HUGE_PAGES must be try, on or off" >&2; exit 2;; esac
dir=$(mktemp -d /tmp/migration_split_bench.XXXXXX)

runas=()
if [ "$(id -u)" -eq 0 ]; then
	runas=(runuser -u postgres --)
	chown postgres: "$dir"
fi

cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "cluster kept: psql -h $dir -p $port -d postgres; stop with: pg_ctl -D $dir/data stop"
		return
	fi
	"${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

echo "generating $tables tables, $fks foreign keys, $domains domains (cluster in $dir, port $port)"
"${runas[@]}" "$bindir/initdb" -D "$dir/data" -A trust >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = off
synchronous_commit = off
full_page_writes = off
max_locks_per_transaction = 512
autovacuum = off
huge_pages = $huge_pages
CONF
"${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
# PostgreSQL 15 does not say whether "try" got huge pages: the postmaster's
# main shared memory mapping is /anon_hugepage when it did.
if grep -q anon_hugepage "/proc/$(head -1 "$dir/data/postmaster.pid")/maps" 2>/dev/null; then
	shmem_pages="huge pages (2 MB)"
else
	shmem_pages="4 kB pages (huge_pages = $huge_pages; vm.nr_hugepages = $(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo unknown))"
fi
echo "shared memory: $shmem_pages"

psql=("${runas[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d postgres)
# The timed sessions also log each statement's CPU time to the server log.
psql_stats=("${runas[@]}" env "PGOPTIONS=-c log_statement_stats=on" "$bindir/psql" -X -q
	-v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d postgres)

started=$SECONDS
"${psql[@]}" -v tables="$tables" -v fks="$fks" -v domains="$domains" <<'SQL'
CREATE EXTENSION migration_split;
SELECT set_config('bench.tables', :'tables', false),
	   set_config('bench.fks', :'fks', false),
	   set_config('bench.domains', :'domains', false) \gset
SELECT setseed(0.42) \gset

INSERT INTO migration_split.domains (domain)
SELECT format('d%s', lpad(d::text, 2, '0')) FROM generate_series(0, :domains - 1) d;

-- Entities t1, t2, ...: every 100th is partitioned by hash in 4 (the
-- partitions count as tables); entity e belongs to domain e mod domains.
-- Each has an owned sequence (bigserial) and three columns for keys.
CREATE PROCEDURE pg_temp.make_tables()
LANGUAGE plpgsql AS $$
DECLARE
	n int := current_setting('bench.tables')::int;
	e int := 0;
	made int := 0;
BEGIN
	WHILE made < n LOOP
		e := e + 1;
		IF e % 100 = 0 AND made + 5 <= n THEN
			EXECUTE format('CREATE TABLE t%s (id bigserial PRIMARY KEY, c1 bigint, c2 bigint, c3 bigint,
							note text) PARTITION BY HASH (id)', e);
			FOR p IN 0..3 LOOP
				EXECUTE format('CREATE TABLE t%s_p%s PARTITION OF t%s
								FOR VALUES WITH (MODULUS 4, REMAINDER %s)', e, p, e, p);
			END LOOP;
			made := made + 5;
		ELSE
			EXECUTE format('CREATE TABLE t%s (id bigserial PRIMARY KEY, c1 bigint, c2 bigint, c3 bigint,
							note text)', e);
			made := made + 1;
		END IF;
		IF e % 500 = 0 THEN
			COMMIT;
		END IF;
	END LOOP;
	PERFORM set_config('bench.entities', e::text, false);
END
$$;
CALL pg_temp.make_tables();
SELECT current_setting('bench.entities') AS entities \gset

INSERT INTO migration_split.ownership (rel, domain)
SELECT format('t%s', e)::regclass, format('d%s', lpad((e % :domains)::text, 2, '0'))
  FROM generate_series(1, :entities) e;

-- Foreign keys: half inside the source's domain, half to any table.
CREATE PROCEDURE pg_temp.make_fks()
LANGUAGE plpgsql AS $$
DECLARE
	n int := current_setting('bench.fks')::int;
	ne int := current_setting('bench.entities')::int;
	nd int := current_setting('bench.domains')::int;
	src int;
	dst int;
BEGIN
	FOR k IN 0..n - 1 LOOP
		src := 1 + k % ne;
		IF random() < 0.5 THEN
			dst := src % nd + nd * floor(random() * ((ne - src % nd) / nd))::int;
			IF dst < 1 THEN dst := src; END IF;
		ELSE
			dst := 1 + floor(random() * ne)::int;
		END IF;
		EXECUTE format('ALTER TABLE t%s ADD FOREIGN KEY (c%s) REFERENCES t%s', src, 1 + k / ne, dst);
		IF k % 1000 = 999 THEN
			COMMIT;
		END IF;
	END LOOP;
END
$$;
CALL pg_temp.make_fks();

-- 500 views over 3 random tables, 100 views of those views, 50
-- materialized views, 500 defaults on another table's sequence, 200
-- triggers whose PL/pgSQL function writes another table, 100 inheritance
-- children (half of them tagged to another domain).
SELECT format('CREATE VIEW v%s AS SELECT x.id, y.id AS y, z.id AS z FROM t%s x, t%s y, t%s z',
			  v, 1 + floor(random() * :entities)::int, 1 + floor(random() * :entities)::int,
			  1 + floor(random() * :entities)::int)
  FROM generate_series(1, 500) v \gexec
SELECT format('CREATE VIEW vv%s AS SELECT a.id, b.y FROM v%s a, v%s b', v,
			  1 + floor(random() * 500)::int, 1 + floor(random() * 500)::int)
  FROM generate_series(1, 100) v \gexec
SELECT format('CREATE MATERIALIZED VIEW m%s AS SELECT x.id FROM t%s x, t%s y WITH NO DATA', v,
			  1 + floor(random() * :entities)::int, 1 + floor(random() * :entities)::int)
  FROM generate_series(1, 50) v \gexec
SELECT format('ALTER TABLE t%s ALTER COLUMN c3 SET DEFAULT nextval(%L)', e,
			  format('t%s_id_seq', 1 + floor(random() * :entities)::int))
  FROM generate_series(1, :entities, greatest(1, :entities / 500)) e \gexec
SELECT format($f$CREATE FUNCTION f%s() RETURNS trigger LANGUAGE plpgsql AS $b$
BEGIN
	INSERT INTO t%s (note) VALUES ('written by a trigger');
	UPDATE t%s SET note = 'touched' WHERE id = NEW.id;
	RETURN NEW;
END
$b$$f$, g, 1 + floor(random() * :entities)::int, 1 + floor(random() * :entities)::int)
  FROM generate_series(1, 200) g \gexec
SELECT format('CREATE TRIGGER tg%s AFTER INSERT ON t%s FOR EACH ROW EXECUTE FUNCTION f%s()',
			  g, 1 + floor(random() * :entities)::int, g)
  FROM generate_series(1, 200) g \gexec
SELECT format('CREATE TABLE ih%s () INHERITS (t%s)', g, 2 + 100 * ((g * 7) % (:entities / 100)))
  FROM generate_series(1, 95) g \gexec
INSERT INTO migration_split.ownership (rel, domain)
SELECT format('ih%s', g)::regclass, 'd00' FROM generate_series(1, 95, 2) g;

-- Django generic relations: content types for 1,000 entity tables (model
-- t<e>, mapped by name) and a tagged table of 100,000 generic rows
-- pointing at them; 20 cross-domain foreign keys loosened.
CREATE TABLE django_content_type (id int PRIMARY KEY, app_label text, model text);
INSERT INTO django_content_type SELECT e, 'app', format('t%s', e) FROM generate_series(1, 1000) e;
CREATE TABLE generic_tag (id bigserial PRIMARY KEY,
	content_type_id int REFERENCES django_content_type, object_id bigint);
INSERT INTO generic_tag (content_type_id, object_id)
SELECT 1 + (g % 1000), g FROM generate_series(1, 100000) g;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('generic_tag', 'd00');
SELECT migration_split.loosen_foreign_key(f.from_table, f.constraint_name, 'cascade')
  FROM (SELECT from_table, constraint_name FROM migration_split.cross_domain_foreign_keys
		 WHERE from_domain IS NOT NULL AND to_domain IS NOT NULL
		   AND from_table::text ~ '^t[0-9]+$' AND to_table::text ~ '^t[0-9]+$'
		 ORDER BY from_table::text, constraint_name LIMIT 20) f;

VACUUM ANALYZE;
SQL

"${psql[@]}" -At <<'SQL'
SELECT format('%s tables, %s partitioned, %s foreign keys (%s declared, %s cross-domain), %s views, %s materialized views, %s user triggers, %s tags',
	count(*) FILTER (WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace),
	count(*) FILTER (WHERE relkind = 'p'),
	(SELECT count(*) FROM pg_constraint WHERE contype = 'f'),
	(SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conparentid = 0),
	(SELECT count(*) FROM migration_split.cross_domain_foreign_keys),
	count(*) FILTER (WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace),
	count(*) FILTER (WHERE relkind = 'm'),
	(SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal),
	(SELECT count(*) FROM migration_split.ownership))
  FROM pg_class;
SQL
echo "(generation took $((SECONDS - started)) s)"

reports=(
	"relation_domains|SELECT * FROM migration_split.relation_domains"
	"cross_domain_foreign_keys|SELECT * FROM migration_split.cross_domain_foreign_keys"
	"cross_domain_dependencies|SELECT * FROM migration_split.cross_domain_dependencies"
	"domain_summary|SELECT * FROM migration_split.domain_summary"
	"boundary_graph('dot')|SELECT migration_split.boundary_graph('dot')"
	"boundary_graph('mermaid')|SELECT migration_split.boundary_graph('mermaid')"
	"boundary_graph(domain, d03)|SELECT migration_split.boundary_graph('dot', 'domain', 'd03')"
	"boundary_graph(table, d03)|SELECT migration_split.boundary_graph('dot', 'table', 'd03')"
	"boundary_graph(mermaid,tbl,d03)|SELECT migration_split.boundary_graph('mermaid', 'table', 'd03')"
	"boundary_graph(table)|SELECT migration_split.boundary_graph('dot', 'table')"
	"boundary_graph(mermaid, table)|SELECT migration_split.boundary_graph('mermaid', 'table')"
	"domain_crossings|SELECT * FROM migration_split.domain_crossings"
	"cross_domain_generic_relations|SELECT * FROM migration_split.cross_domain_generic_relations"
	"generic_relations(estimate)|SELECT * FROM migration_split.generic_relations(estimate => true)"
	"loose_foreign_keys|SELECT * FROM migration_split.loose_foreign_keys"
	"loose_foreign_key_orphans|SELECT o.* FROM migration_split.loose_foreign_keys l, LATERAL migration_split.loose_foreign_key_orphans(l.from_table, l.constraint_name) o"
	"extraction_plan('d01')|SELECT * FROM migration_split.extraction_plan('d01')"
	"extraction_plan markdown|SELECT * FROM migration_split.extraction_plan('d01', 'markdown')"
	"suggest_moves()|SELECT * FROM migration_split.suggest_moves()"
	# A reference, not judged: PostgreSQL alone naming every relation, what
	# the first run of relation_domains cannot do without (regclass output).
	"ref: oid::regclass of pg_class|SELECT oid::regclass FROM pg_class"
)

failed=0
printf '\n%-31s %6s %11s %9s %9s %11s %11s %10s\n' report rows "median ms" "min ms" "max ms" "first ms" "median cpu" "first cpu"
for entry in "${reports[@]}"; do
	name=${entry%%|*}
	query=${entry#*|}
	rows=$("${psql[@]}" -At -c "SELECT count(*) FROM ($query) s")
	# All runs in one new session: the first pays for cold catalog caches.
	script="\\timing on"$'\n'"\\o /dev/null"$'\n'
	for _ in $(seq "$runs"); do
		script+="$query;"$'\n'
	done
	logged=$(wc -l <"$dir/log")
	mapfile -t raw < <(printf '%s' "$script" | "${psql_stats[@]}" 2>&1 |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	sleep 0.2
	mapfile -t cpu_raw < <(tail -n +$((logged + 1)) "$dir/log" |
		sed -n 's/^.*!.\([0-9.]*\) s user, \([0-9.]*\) s system, .* s elapsed$/\1 \2/p' |
		awk '{ printf "%.1f\n", ($1 + $2) * 1000 }')
	mapfile -t cpu < <(printf '%s\n' "${cpu_raw[@]}" | sort -n)
	if [ "${#raw[@]}" -ne "$runs" ] || [ "${#cpu[@]}" -ne "$runs" ]; then
		echo "$name: could not time the query" >&2
		failed=1
		continue
	fi
	mapfile -t times < <(printf '%s\n' "${raw[@]}" | sort -n)
	median=${times[$((runs / 2))]}
	median_cpu=${cpu[$((runs / 2))]}
	judged=$median
	[ "$limit_on" = cpu ] && judged=$median_cpu
	verdict=""
	if [ "${name#ref: }" != "$name" ]; then
		verdict="  (PostgreSQL alone, not judged)"
	elif awk -v m="$judged" -v l="$limit_ms" 'BEGIN { exit !(m > l) }'; then
		verdict="  TOO SLOW ($limit_on limit $limit_ms ms)"
		failed=1
	fi
	printf '%-31s %6s %11.1f %9.1f %9.1f %11.1f %11.1f %10.1f%s\n' "$name" "$rows" "$median" "${times[0]}" \
		"${times[$((runs - 1))]}" "${raw[0]}" "$median_cpu" "${cpu_raw[0]}" "$verdict"
done
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; shared memory: $shmem_pages)"

if [ "$failed" -ne 0 ]; then
	echo "FAILED: a report is slower than $limit_ms ms ($limit_on time, median of $runs runs)" >&2
	exit 1
fi
echo "ok: every report under $limit_ms ms ($limit_on time, median of $runs runs)"
