--------------------------------------------------------------------------
-- monitor: changes since 1.0 (see src/sql/monitor.sql for the whole definition)
--------------------------------------------------------------------------


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
