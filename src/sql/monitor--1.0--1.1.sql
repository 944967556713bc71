--------------------------------------------------------------------------
-- monitor: changes since 1.0 (see src/sql/monitor.sql for the whole definition)
--------------------------------------------------------------------------


-- monitor_info: how full the shared dictionary of domain names is
DROP VIEW migration_split.monitor_info;
DROP FUNCTION migration_split.monitor_info_internal();
--@insert monitor_info_internal

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

--@insert domain_runtime_stats_internal

--@insert domain_runtime_stats

GRANT EXECUTE ON FUNCTION migration_split.domain_runtime_stats() TO PUBLIC;
