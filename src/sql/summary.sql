/*
 * src/sql/summary.sql: part of the install script migration_split--1.1.sql
 */

-- Summary: one row per domain with static and runtime figures (needs
-- the reports and the monitor, so it comes last).

--------------------------------------------------------------------------
-- 7. Summary
--------------------------------------------------------------------------

-- The disk space of every relation file of the database, by tablespace and
-- relfilenode (all forks), from one walk over the database's directories.
CREATE FUNCTION migration_split.storage_sizes()
RETURNS TABLE (tablespace pg_catalog.oid, relfilenode pg_catalog.oid,
			   bytes pg_catalog.int8)
LANGUAGE C STRICT VOLATILE ROWS 10000
AS 'MODULE_PATHNAME', 'ms_storage_sizes';

COMMENT ON FUNCTION migration_split.storage_sizes() IS
	'disk space of every relation file of the current database by tablespace (0: default) and relfilenode, all forks summed';

-- One row per domain: how big it is, what ties it to other domains, and
-- whether it is ready to be extracted (no blockers: no cross-domain foreign
-- keys in either direction, no cross-domain dependencies, no crossing
-- queries seen by the runtime monitor).  tables, total_size and
-- estimated_rows come from report_domain_sizes(): pg_class.relpages of the
-- domain's tables, partitions, materialized views, TOAST tables, indexes
-- and sequences (as of the last VACUUM or ANALYZE; no relation file is
-- read), reltuples of the tables that have been analyzed or vacuumed
-- (NULL when none has).  Before 1.1, total_size came from a walk over the
-- data directory (storage_sizes(), still there for exact bytes on disk),
-- whose stat() per file cost more than the rest of the summary.
--@begin report_domain_summary
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
SELECT migration_split.report_fill_domains();
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
--@end report_domain_summary

-- Planned with jit = off, like cross_domain_dependencies.
--@begin domain_summary
-- state (new in 1.1, hence the last column) is the domain's lifecycle state.
CREATE OR REPLACE VIEW migration_split.domain_summary AS
SELECT s.domain, s.tables, s.total_size, s.total_size_pretty, s.estimated_rows,
	   s.fks_out, s.fks_in, s.dependencies, s.crossing_queries, s.crossing_calls,
	   s.crossing_transactions, s.last_violation, s.blockers, s.ready,
	   l.state
  FROM migration_split.report_domain_summary() s
  LEFT JOIN migration_split.domain_lifecycle l
	ON l.domain OPERATOR(pg_catalog.=) s.domain
 ORDER BY s.domain COLLATE "C";

COMMENT ON VIEW migration_split.domain_summary IS
	'per domain: tables, size, rows, cross-domain foreign keys and dependencies, runtime crossings, readiness for extraction, and lifecycle state';
--@end domain_summary

GRANT SELECT ON migration_split.domain_summary TO PUBLIC;
GRANT EXECUTE ON FUNCTION migration_split.report_domain_summary() TO PUBLIC;
GRANT EXECUTE ON FUNCTION migration_split.domain_runtime_stats(),
	migration_split.storage_sizes() TO PUBLIC;
