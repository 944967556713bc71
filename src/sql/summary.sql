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
-- queries seen by the runtime monitor).  total_size is what
-- pg_total_relation_size() gives summed over the domain's tables,
-- partitions, materialized views and owned sequences (indexes and TOAST
-- included), but read from one walk over the data directory instead of
-- opening every relation.  estimated_rows sums pg_class.reltuples of the
-- tables that have been analyzed or vacuumed (NULL when none has).
CREATE FUNCTION migration_split.report_domain_summary()
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
WITH rd AS MATERIALIZED (
	SELECT r.relid, r.domain, r.via
	  FROM migration_split.report_relation_domains() r
),
counts AS (
	SELECT rd.domain,
		   pg_catalog.count(*) FILTER (WHERE c.relkind IN ('r', 'p', 'f')
									 AND rd.via IN ('tag', 'inheritance')) AS tables,
		   pg_catalog.sum(c.reltuples)
			 FILTER (WHERE c.relkind IN ('r', 'm')
					   AND c.reltuples OPERATOR(pg_catalog.>=) 0) AS estimated_rows
	  FROM rd
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) rd.relid
	 GROUP BY rd.domain
),
-- every relation file of a domain: its tables, partitions, materialized
-- views, sequences and TOAST tables, and the indexes of all of them
storage AS (
	SELECT rd.domain, c.reltablespace, c.relfilenode
	  FROM rd
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) rd.relid
	 WHERE c.relkind IN ('r', 'm', 'S', 't')
	UNION ALL
	SELECT rd.domain, ic.reltablespace, ic.relfilenode
	  FROM rd
	  JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) rd.relid
	  JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
),
sizes AS (
	SELECT s.domain, pg_catalog.sum(f.bytes) AS total_size
	  FROM storage s
	  JOIN migration_split.storage_sizes() f
		ON f.tablespace OPERATOR(pg_catalog.=) s.reltablespace
	   AND f.relfilenode OPERATOR(pg_catalog.=) s.relfilenode
	 GROUP BY s.domain
),
-- the rows of cross_domain_foreign_keys, reusing rd (the view would
-- compute it again); sql/domain_summary.sql checks that they agree
fks AS MATERIALIZED (
	SELECT f.domain AS from_domain, t.domain AS to_domain
	  FROM pg_catalog.pg_constraint c
	  LEFT JOIN rd f ON f.relid OPERATOR(pg_catalog.=) c.conrelid
	  LEFT JOIN rd t ON t.relid OPERATOR(pg_catalog.=) c.confrelid
	 WHERE c.contype OPERATOR(pg_catalog.=) 'f'
	   AND c.conparentid OPERATOR(pg_catalog.=) 0
	   AND f.domain IS DISTINCT FROM t.domain
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
	  FROM migration_split.cross_domain_dependencies d,
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
		   COALESCE(n.tables, 0) AS tables,
		   COALESCE(s.total_size, 0)::pg_catalog.int8 AS total_size,
		   pg_catalog.round(n.estimated_rows)::pg_catalog.int8 AS estimated_rows,
		   COALESCE(fo.n, 0) AS fks_out,
		   COALESCE(fi.n, 0) AS fks_in,
		   COALESCE(dp.n, 0) AS dependencies,
		   rt.crossing_queries, rt.crossing_calls, rt.crossing_transactions,
		   rt.last_violation
	  FROM migration_split.domains d
	  LEFT JOIN counts n ON n.domain OPERATOR(pg_catalog.=) d.domain
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

-- Planned with jit = off, like cross_domain_dependencies.
-- state (new in 1.1, hence the last column) is the domain's lifecycle state.
CREATE VIEW migration_split.domain_summary AS
SELECT s.domain, s.tables, s.total_size, s.total_size_pretty, s.estimated_rows,
	   s.fks_out, s.fks_in, s.dependencies, s.crossing_queries, s.crossing_calls,
	   s.crossing_transactions, s.last_violation, s.blockers, s.ready,
	   l.state
  FROM migration_split.report_domain_summary() s
  LEFT JOIN migration_split.domain_lifecycle l
	ON l.domain OPERATOR(pg_catalog.=) s.domain;

COMMENT ON VIEW migration_split.domain_summary IS
	'per domain: tables, size, rows, cross-domain foreign keys and dependencies, runtime crossings, readiness for extraction, and lifecycle state';

GRANT SELECT ON migration_split.domain_summary TO PUBLIC;
GRANT EXECUTE ON FUNCTION migration_split.report_domain_summary() TO PUBLIC;
GRANT EXECUTE ON FUNCTION migration_split.domain_runtime_stats(),
	migration_split.storage_sizes() TO PUBLIC;
