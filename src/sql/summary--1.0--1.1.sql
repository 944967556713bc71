--------------------------------------------------------------------------
-- summary: changes since 1.0 (see src/sql/summary.sql for the whole definition)
--------------------------------------------------------------------------


-- report_domain_summary: sizes and counts from report_domain_sizes() (no
-- walk over the data directory), domains from report_domain() (issue 12,
-- reports at scale).
CREATE OR REPLACE FUNCTION migration_split.report_domain_summary()
RETURNS TABLE (domain pg_catalog.text, tables pg_catalog.int8,
			   total_size pg_catalog.int8, total_size_pretty pg_catalog.text,
			   estimated_rows pg_catalog.int8, fks_out pg_catalog.int8,
			   fks_in pg_catalog.int8, dependencies pg_catalog.int8,
			   crossing_queries pg_catalog.int8, crossing_calls pg_catalog.int8,
			   crossing_transactions pg_catalog.int8,
			   last_violation pg_catalog.timestamptz,
			   blockers pg_catalog.int8, ready boolean)
LANGUAGE sql STABLE ROWS 20
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $function$
WITH sizes AS (
	SELECT z.domain, z.tables, z.total_size, z.estimated_rows
	  FROM migration_split.report_domain_sizes() z
),
-- the rows of cross_domain_foreign_keys (domains from report_domain(),
-- as there); sql/domain_summary.sql checks that they agree
fks AS MATERIALIZED (
	SELECT c.from_domain, c.to_domain
	  FROM (SELECT migration_split.report_domain(k.conrelid) AS from_domain,
				   migration_split.report_domain(k.confrelid) AS to_domain
			  FROM pg_catalog.pg_constraint k
			 WHERE k.contype OPERATOR(pg_catalog.=) 'f'
			   AND k.conparentid OPERATOR(pg_catalog.=) 0
			OFFSET 0) c
	 WHERE c.from_domain IS DISTINCT FROM c.to_domain
),
fks_out AS (
	SELECT f.from_domain AS domain, pg_catalog.count(*) AS n
	  FROM fks f
	 GROUP BY f.from_domain
),
fks_in AS (
	SELECT f.to_domain AS domain, pg_catalog.count(*) AS n
	  FROM fks f
	 GROUP BY f.to_domain
),
deps AS (
	SELECT e.domain, pg_catalog.count(*) AS n
	  FROM migration_split.report_cross_domain_dependencies() d,
		   LATERAL (VALUES (d.from_domain), (d.to_domain)) AS e(domain)
	 GROUP BY e.domain
),
runtime AS (
	SELECT s.domain, s.crossing_queries, s.crossing_calls,
		   s.crossing_transactions, s.last_violation
	  FROM migration_split.domain_runtime_stats() s
),
summary AS (
	SELECT d.domain,
		   COALESCE(s.tables, 0) AS tables,
		   COALESCE(s.total_size, 0)::pg_catalog.int8 AS total_size,
		   s.estimated_rows,
		   COALESCE(fo.n, 0) AS fks_out,
		   COALESCE(fi.n, 0) AS fks_in,
		   COALESCE(dp.n, 0) AS dependencies,
		   rt.crossing_queries, rt.crossing_calls, rt.crossing_transactions,
		   rt.last_violation
	  FROM migration_split.domains d
	  LEFT JOIN sizes s ON s.domain OPERATOR(pg_catalog.=) d.domain
	  LEFT JOIN fks_out fo ON fo.domain OPERATOR(pg_catalog.=) d.domain
	  LEFT JOIN fks_in fi ON fi.domain OPERATOR(pg_catalog.=) d.domain
	  LEFT JOIN deps dp ON dp.domain OPERATOR(pg_catalog.=) d.domain
	  LEFT JOIN runtime rt ON rt.domain OPERATOR(pg_catalog.=) d.domain
)
SELECT s.domain, s.tables, s.total_size,
	   pg_catalog.pg_size_pretty(s.total_size) AS total_size_pretty,
	   s.estimated_rows, s.fks_out, s.fks_in, s.dependencies,
	   s.crossing_queries, s.crossing_calls, s.crossing_transactions,
	   s.last_violation,
	   s.fks_out OPERATOR(pg_catalog.+) s.fks_in
		 OPERATOR(pg_catalog.+) s.dependencies
		 OPERATOR(pg_catalog.+) COALESCE(s.crossing_queries, 0) AS blockers,
	   s.fks_out OPERATOR(pg_catalog.+) s.fks_in
		 OPERATOR(pg_catalog.+) s.dependencies
		 OPERATOR(pg_catalog.+) COALESCE(s.crossing_queries, 0)
		 OPERATOR(pg_catalog.=) 0 AS ready
  FROM summary s
 ORDER BY s.domain COLLATE "C"
$function$;

-- domain_summary gains the lifecycle state as its last column.
-- state (new in 1.1, hence the last column) is the domain's lifecycle state.
CREATE OR REPLACE VIEW migration_split.domain_summary AS
SELECT s.domain, s.tables, s.total_size, s.total_size_pretty, s.estimated_rows,
	   s.fks_out, s.fks_in, s.dependencies, s.crossing_queries, s.crossing_calls,
	   s.crossing_transactions, s.last_violation, s.blockers, s.ready,
	   l.state
  FROM migration_split.report_domain_summary() s
  LEFT JOIN migration_split.domain_lifecycle l
	ON l.domain OPERATOR(pg_catalog.=) s.domain;

COMMENT ON VIEW migration_split.domain_summary IS
	'per domain: tables, size, rows, cross-domain foreign keys and dependencies, runtime crossings, readiness for extraction, and lifecycle state';
