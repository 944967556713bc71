--------------------------------------------------------------------------
-- summary: changes since 1.0 (see src/sql/summary.sql for the whole definition)
--------------------------------------------------------------------------


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
