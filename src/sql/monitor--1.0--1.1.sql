--------------------------------------------------------------------------
-- monitor: changes since 1.0 (see src/sql/monitor.sql for the whole definition)
--------------------------------------------------------------------------


-- monitor_info: how full the shared dictionary of domain names is
DROP VIEW migration_split.monitor_info;
DROP FUNCTION migration_split.monitor_info_internal();
CREATE FUNCTION migration_split.monitor_info_internal(
	OUT evictions bigint,
	OUT stats_reset timestamptz,
	OUT statements bigint,
	OUT transactions bigint,
	OUT max integer,
	OUT shared_memory_bytes bigint,
	OUT statement_entry_bytes bigint,
	OUT transaction_entry_bytes bigint,
	OUT domain_names integer,
	OUT domain_names_max integer,
	OUT domain_names_refused bigint)
RETURNS record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_monitor_info';

-- Evictions since the last reset, how full the hashes are, and how full
-- the shared dictionary of domain names is (domain_names_refused: names
-- not recorded because it was full, since the server started).
CREATE VIEW migration_split.monitor_info AS
	SELECT * FROM migration_split.monitor_info_internal();

GRANT SELECT ON migration_split.monitor_info TO PUBLIC;

-- cross_domain_transactions names the statements that wrote: query ids,
-- users and normalized texts of the samples.
DROP VIEW migration_split.cross_domain_transactions;
DROP FUNCTION migration_split.cross_domain_transactions_internal();

CREATE FUNCTION migration_split.cross_domain_transactions_internal(
	OUT dbid oid,
	OUT domains text[],
	OUT count bigint,
	OUT first_seen timestamptz,
	OUT last_seen timestamptz,
	OUT sample_queryids bigint[],
	OUT sample_userids oid[],
	OUT sample_queries text[])
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_cross_domain_transactions';

CREATE VIEW migration_split.cross_domain_transactions AS
	SELECT * FROM migration_split.cross_domain_transactions_internal();

GRANT SELECT ON migration_split.cross_domain_transactions TO PUBLIC;

-- cross_domain_queries records remote calls too (statements that read the
-- read path of a domain): the domains reached that way, rows and time.
DROP VIEW migration_split.cross_domain_queries;
DROP FUNCTION migration_split.cross_domain_queries_internal();

CREATE FUNCTION migration_split.cross_domain_queries_internal(
	OUT queryid bigint,
	OUT userid oid,
	OUT dbid oid,
	OUT domains text[],
	OUT tables text[],
	OUT kind text,
	OUT calls bigint,
	OUT first_seen timestamptz,
	OUT last_seen timestamptz,
	OUT application_name text,
	OUT query text,
	OUT remote_domains text[],
	OUT rows bigint,
	OUT total_time double precision)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_cross_domain_queries';

CREATE VIEW migration_split.cross_domain_queries AS
	SELECT * FROM migration_split.cross_domain_queries_internal();

GRANT SELECT ON migration_split.cross_domain_queries TO PUBLIC;

-- domain_runtime_stats: remote calls into the domain and its lifecycle
-- state (domain_lifecycle, from extraction.sql, which runs before this).
DROP FUNCTION migration_split.domain_runtime_stats();
DROP FUNCTION migration_split.domain_runtime_stats_internal();

CREATE FUNCTION migration_split.domain_runtime_stats_internal(
	OUT domain text,
	OUT crossing_queries bigint,
	OUT crossing_calls bigint,
	OUT crossing_transactions bigint,
	OUT last_violation timestamptz,
	OUT remote_queries bigint,
	OUT remote_calls bigint,
	OUT remote_rows bigint,
	OUT remote_time double precision)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_domain_runtime_stats';

CREATE FUNCTION migration_split.domain_runtime_stats()
RETURNS TABLE (domain text, crossing_queries bigint, crossing_calls bigint,
			   crossing_transactions bigint, last_violation timestamptz,
			   remote_queries bigint, remote_calls bigint, remote_rows bigint,
			   remote_time double precision, state text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT d.domain,
		   coalesce(s.crossing_queries, 0),
		   coalesce(s.crossing_calls, 0),
		   coalesce(s.crossing_transactions, 0),
		   s.last_violation,
		   coalesce(s.remote_queries, 0),
		   coalesce(s.remote_calls, 0),
		   coalesce(s.remote_rows, 0),
		   coalesce(s.remote_time, 0),
		   l.state
	  FROM migration_split.domains d
	  LEFT JOIN migration_split.domain_runtime_stats_internal() s
		ON s.domain = d.domain
	  LEFT JOIN migration_split.domain_lifecycle l
		ON l.domain = d.domain
	 WHERE migration_split.monitor_loaded()
	 ORDER BY d.domain
$$;

GRANT EXECUTE ON FUNCTION migration_split.domain_runtime_stats() TO PUBLIC;
