/*
 * src/sql/monitor.sql: part of the install script migration_split--1.1.sql
 */

-- Runtime monitor: cross-domain statements and transactions seen in
-- shared memory, enforcement per service, the allowlist.

--------------------------------------------------------------------------
-- 5. Runtime monitor
--------------------------------------------------------------------------

-- The runtime functions read shared memory and need the library in
-- shared_preload_libraries; without it they fail with a clear error,
-- except domain_runtime_stats(), which then returns no rows.

CREATE FUNCTION migration_split.monitor_loaded()
RETURNS boolean
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_monitor_loaded';

--@begin cross_domain_queries_internal
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
--@end cross_domain_queries_internal

-- Statements that reached tables of two or more domains, or the read path
-- of a domain (remote calls: remote_domains lists the domains whose
-- foreign tables the statement read; rows and total_time, in
-- milliseconds, add up its executions; both NULL for other statements).
CREATE VIEW migration_split.cross_domain_queries AS
	SELECT * FROM migration_split.cross_domain_queries_internal();

--@begin cross_domain_transactions_internal
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
--@end cross_domain_transactions_internal

-- Committed transactions that wrote to tables of two or more domains,
-- grouped by the set of domains written.
CREATE VIEW migration_split.cross_domain_transactions AS
	SELECT * FROM migration_split.cross_domain_transactions_internal();

--@begin monitor_info_internal
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
--@end monitor_info_internal

-- Forget all runtime statistics.
CREATE FUNCTION migration_split.reset()
RETURNS void
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_monitor_reset';

--@begin domains_changed
-- A domain renamed or dropped: once the change commits, its runtime
-- figures follow it to its new name, or go with it (src/monitor_stats.c).
-- Enabled ALWAYS, like the invalidation of the tags.
CREATE FUNCTION migration_split.domains_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ms_domains_changed';

CREATE TRIGGER domains_changed
	AFTER UPDATE OF domain OR DELETE ON migration_split.domains
	FOR EACH ROW EXECUTE FUNCTION migration_split.domains_changed();
ALTER TABLE migration_split.domains ENABLE ALWAYS TRIGGER domains_changed;
--@end domains_changed

--@begin domain_runtime_stats_internal
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
--@end domain_runtime_stats_internal

-- Runtime figures per domain of this database, for domain_summary: one row
-- per domain (zeros when nothing was seen), no rows at all when the library
-- is not preloaded.  crossing_*: statements and transactions with another
-- domain; remote_*: statements of the monolith that read the domain's read
-- path (its foreign tables, after enable_read_path()), their calls, rows
-- and time in milliseconds; state: the domain's lifecycle state.
--@begin domain_runtime_stats
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
--@end domain_runtime_stats

-- Known, time-boxed crossings that enforcement lets through: statements of
-- service from_domain may touch tables of to_domain (only rel, when given)
-- until expires_at (for ever when NULL).  rel must be a tagged table of
-- to_domain (checked by the row trigger below; its partitions and children
-- follow it); untagging or dropping it removes the entry.  The foreign key
-- also makes pg_dump restore the tags before the entries.
CREATE TABLE migration_split.allowed_crossings (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	from_domain	text NOT NULL
				REFERENCES migration_split.domains (domain)
				ON UPDATE CASCADE ON DELETE CASCADE,
	to_domain	text NOT NULL
				REFERENCES migration_split.domains (domain)
				ON UPDATE CASCADE ON DELETE CASCADE,
	rel			regclass
				REFERENCES migration_split.ownership (rel) ON DELETE CASCADE,
	reason		text NOT NULL,
	expires_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by	name NOT NULL DEFAULT CURRENT_USER,
	CONSTRAINT allowed_crossings_check CHECK (from_domain OPERATOR(pg_catalog.<>) to_domain)
);

SELECT pg_catalog.pg_extension_config_dump('migration_split.allowed_crossings', '');
--@begin allowed_crossings_id_seq
-- and its identity sequence's value: without it, a restored database gave
-- the next entry an id a restored entry had (duplicate key)
SELECT pg_catalog.pg_extension_config_dump('migration_split.allowed_crossings_id_seq', '');
--@end allowed_crossings_id_seq

-- Row check on migration_split.allowed_crossings: rel, when given, is a
-- table tagged with to_domain itself (enforcement matches an entry against
-- the tagged table, so an entry naming a partition would never apply).
CREATE FUNCTION migration_split.check_allowed_crossing()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tag_domain text;
	rd record;
BEGIN
	IF NEW.rel IS NULL THEN
		RETURN NEW;
	END IF;
	SELECT o.domain INTO tag_domain
	  FROM migration_split.ownership o
	 WHERE o.rel OPERATOR(pg_catalog.=) NEW.rel;
	IF FOUND THEN
		IF tag_domain OPERATOR(pg_catalog.<>) NEW.to_domain THEN
			RAISE EXCEPTION 'table "%" does not belong to domain "%"', NEW.rel, NEW.to_domain
				USING ERRCODE = 'check_violation',
					  DETAIL = pg_catalog.format('Table "%s" belongs to domain "%s".', NEW.rel, tag_domain),
					  HINT = 'The table of an allowlist entry must be a table of its to_domain.';
		END IF;
		RETURN NEW;
	END IF;
	SELECT r.domain, r.tagged_rel INTO rd
	  FROM migration_split.relation_domains r
	 WHERE r.rel OPERATOR(pg_catalog.=) NEW.rel;
	IF FOUND THEN
		RAISE EXCEPTION 'relation "%" has no domain tag of its own', NEW.rel
			USING ERRCODE = 'check_violation',
				  DETAIL = pg_catalog.format('It follows table "%s" of domain "%s".', rd.tagged_rel, rd.domain),
				  HINT = 'Name the tagged table in the entry; the entry then covers its partitions and children as well.';
	END IF;
	RAISE EXCEPTION 'relation "%" does not belong to any domain', NEW.rel
		USING ERRCODE = 'check_violation',
			  DETAIL = 'Only tables tagged with a domain can be named in an allowlist entry.',
			  HINT = 'Tag the table with migration_split.assign_table(), or leave rel empty.';
END
$$;

CREATE TRIGGER check_allowed_crossing
	BEFORE INSERT OR UPDATE ON migration_split.allowed_crossings
	FOR EACH ROW EXECUTE FUNCTION migration_split.check_allowed_crossing();

-- Every change reloads the cached allowlist in all backends.
CREATE FUNCTION migration_split.allowed_crossings_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ms_allowlist_changed';

CREATE TRIGGER allowed_crossings_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON migration_split.allowed_crossings
	FOR EACH STATEMENT EXECUTE FUNCTION migration_split.allowed_crossings_changed();
--@begin allowed_crossings_changed_always
-- also under session_replication_role = replica (a data load, a logical
-- replication apply): an entry written without it was not seen
ALTER TABLE migration_split.allowed_crossings
	ENABLE ALWAYS TRIGGER allowed_crossings_changed;
--@end allowed_crossings_changed_always

REVOKE ALL ON migration_split.allowed_crossings FROM PUBLIC;
GRANT SELECT ON migration_split.allowed_crossings TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON migration_split.allowed_crossings TO migration_split_admin;

CREATE FUNCTION migration_split.allowed_crossings_usage_internal(
	OUT id bigint,
	OUT exemptions bigint,
	OUT last_exempted timestamptz)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_allowlist_usage';

-- Allowlist entries with how often and when they last exempted a statement
-- (since the last reset); expired tells whether the entry still applies.
CREATE VIEW migration_split.allowed_crossings_usage AS
	SELECT a.id, a.from_domain, a.to_domain, a.rel, a.reason, a.expires_at,
		   a.expires_at IS NOT NULL AND a.expires_at <= pg_catalog.now() AS expired,
		   coalesce(u.exemptions, 0) AS exemptions,
		   u.last_exempted
	  FROM migration_split.allowed_crossings a
	  LEFT JOIN migration_split.allowed_crossings_usage_internal() u ON u.id = a.id;

-- Allowlist entries that exempted nothing during the last "unused_for"
-- (default 7 days): candidates for removal, so the list only shrinks.
CREATE FUNCTION migration_split.unused_allowed_crossings(
	unused_for interval DEFAULT '7 days')
RETURNS TABLE (id bigint, from_domain text, to_domain text, rel regclass,
			   reason text, expires_at timestamptz, expired boolean,
			   last_exempted timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT migration_split.require_argument(unused_for, 'unused_for');
	SELECT u.id, u.from_domain, u.to_domain, u.rel, u.reason, u.expires_at,
		   u.expired, u.last_exempted
	  FROM migration_split.allowed_crossings_usage u
	 WHERE u.last_exempted IS NULL OR u.last_exempted < now() - unused_for
	 ORDER BY u.id
$$;

-- Cross-domain statements among the texts pg_stat_statements has already
-- collected in this database (works without preloading migration_split).
CREATE FUNCTION migration_split.analyze_statements(
	OUT queryid bigint,
	OUT userid oid,
	OUT calls bigint,
	OUT kind text,
	OUT domains text[],
	OUT tables text[],
	OUT query text)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'ms_analyze_statements';

REVOKE ALL ON FUNCTION migration_split.reset() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION migration_split.reset() TO migration_split_admin;
GRANT SELECT ON migration_split.cross_domain_queries,
	migration_split.cross_domain_transactions,
	migration_split.monitor_info,
	migration_split.allowed_crossings_usage TO PUBLIC;


