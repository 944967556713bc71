--------------------------------------------------------------------------
-- monitor: changes since 1.0 (see src/sql/monitor.sql for the whole definition)
--------------------------------------------------------------------------


-- pg_dump keeps the allowlist's identity sequence too (pg_restore gave a
-- new entry the id of a restored one)
--@insert allowed_crossings_id_seq

-- the allowlist is reloaded whatever session_replication_role says
--@insert allowed_crossings_changed_always

-- the runtime figures of a domain follow its renames and go with it
--@insert domains_changed

-- monitor_info: how full the shared dictionary of domain names is
DROP VIEW migration_split.monitor_info;
DROP FUNCTION migration_split.monitor_info_internal();
--@insert monitor_info_internal

GRANT SELECT ON migration_split.monitor_info TO PUBLIC;

-- cross_domain_transactions names the statements that wrote: query ids,
-- users and normalized texts of the samples.
DROP VIEW migration_split.cross_domain_transactions;
DROP FUNCTION migration_split.cross_domain_transactions_internal();

--@insert cross_domain_transactions_internal

CREATE VIEW migration_split.cross_domain_transactions AS
	SELECT * FROM migration_split.cross_domain_transactions_internal();

GRANT SELECT ON migration_split.cross_domain_transactions TO PUBLIC;

-- cross_domain_queries records remote calls too (statements that read the
-- read path of a domain): the domains reached that way, rows and time.
DROP VIEW migration_split.cross_domain_queries;
DROP FUNCTION migration_split.cross_domain_queries_internal();

--@insert cross_domain_queries_internal

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
