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
