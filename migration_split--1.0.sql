/* migration_split--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION migration_split" to load this file. \quit

/*
 * This script is the single source of truth for the extension's catalog
 * tables, views and function signatures.  It is organised in sections, one
 * per capability:
 *
 *   1. Ownership catalog        (domains, ownership, privileges)
 *   2. Ownership functions      (create_domain, assign_table, ...)
 *   3. Suggestions              (suggest_domains, apply_suggestions)
 *   4. Static boundary reports  (cross_domain_foreign_keys, ...)
 *   5. Runtime monitor          (cross_domain_queries, enforcement, ...)
 *   6. Extraction               (output plugin support)
 */

--------------------------------------------------------------------------
-- 1. Ownership catalog
--------------------------------------------------------------------------

-- Members of this role may tag any table; table owners may tag their own.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
				   WHERE rolname = 'migration_split_admin') THEN
		CREATE ROLE migration_split_admin NOLOGIN;
	END IF;
END
$$;

-- One row per business domain (a future service).  Domain names are
-- lower-case identifiers so that they can name the service's schema.
CREATE TABLE migration_split.domains (
	domain		text PRIMARY KEY,
	description	text,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by	name NOT NULL DEFAULT CURRENT_USER,
	CONSTRAINT domains_domain_check
		CHECK (domain OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_]*$'
			   AND pg_catalog.length(domain) OPERATOR(pg_catalog.<=) 63)
);

-- Explicit tags: one row per tagged table.  Partitions, inheritance
-- children, TOAST tables and owned sequences follow their table without a
-- row of their own (see relation_domains).  The regclass column keeps tags
-- attached to the table across renames and makes pg_dump/pg_restore map
-- them by name.  user_catalog_table lets the output plugin read tags with
-- the historic snapshot, so a tag takes effect in the change stream exactly
-- at its commit.
CREATE TABLE migration_split.ownership (
	rel			regclass PRIMARY KEY,
	domain		text NOT NULL
				REFERENCES migration_split.domains (domain) ON UPDATE CASCADE,
	assigned_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	assigned_by	name NOT NULL DEFAULT CURRENT_USER
) WITH (user_catalog_table = true);

CREATE INDEX ownership_domain_idx ON migration_split.ownership (domain);

SELECT pg_catalog.pg_extension_config_dump('migration_split.domains', '');
SELECT pg_catalog.pg_extension_config_dump('migration_split.ownership', '');

-- Every change of a tag invalidates the cached answer in all backends and
-- in decoding walsenders (src/ownership.c).
CREATE FUNCTION migration_split.ownership_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ms_ownership_changed';

CREATE TRIGGER ownership_changed
	AFTER INSERT OR UPDATE OR DELETE ON migration_split.ownership
	FOR EACH ROW EXECUTE FUNCTION migration_split.ownership_changed();

REVOKE ALL ON migration_split.domains, migration_split.ownership FROM PUBLIC;
GRANT SELECT ON migration_split.domains, migration_split.ownership TO PUBLIC;
GRANT USAGE ON SCHEMA migration_split TO PUBLIC;

--------------------------------------------------------------------------
-- 2. Ownership functions
--------------------------------------------------------------------------

--------------------------------------------------------------------------
-- 3. Suggestions
--------------------------------------------------------------------------

--------------------------------------------------------------------------
-- 4. Static boundary reports
--------------------------------------------------------------------------

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
	OUT query text)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_cross_domain_queries';

-- Statements that reached tables of two or more domains.
CREATE VIEW migration_split.cross_domain_queries AS
	SELECT * FROM migration_split.cross_domain_queries_internal();

CREATE FUNCTION migration_split.cross_domain_transactions_internal(
	OUT dbid oid,
	OUT domains text[],
	OUT count bigint,
	OUT first_seen timestamptz,
	OUT last_seen timestamptz,
	OUT sample_queryids bigint[])
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_cross_domain_transactions';

-- Committed transactions that wrote to tables of two or more domains,
-- grouped by the set of domains written.
CREATE VIEW migration_split.cross_domain_transactions AS
	SELECT * FROM migration_split.cross_domain_transactions_internal();

CREATE FUNCTION migration_split.monitor_info_internal(
	OUT evictions bigint,
	OUT stats_reset timestamptz,
	OUT statements bigint,
	OUT transactions bigint,
	OUT max integer,
	OUT shared_memory_bytes bigint,
	OUT statement_entry_bytes bigint,
	OUT transaction_entry_bytes bigint)
RETURNS record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_monitor_info';

-- Evictions since the last reset, and how full the hashes are.
CREATE VIEW migration_split.monitor_info AS
	SELECT * FROM migration_split.monitor_info_internal();

-- Forget all runtime statistics.
CREATE FUNCTION migration_split.reset()
RETURNS void
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_monitor_reset';

CREATE FUNCTION migration_split.domain_runtime_stats_internal(
	OUT domain text,
	OUT crossing_queries bigint,
	OUT crossing_calls bigint,
	OUT crossing_transactions bigint,
	OUT last_violation timestamptz)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_domain_runtime_stats';

-- Runtime figures per domain of this database, for domain_summary: one row
-- per domain (zeros when nothing was seen), no rows at all when the library
-- is not preloaded.
CREATE FUNCTION migration_split.domain_runtime_stats()
RETURNS TABLE (domain text, crossing_queries bigint, crossing_calls bigint,
			   crossing_transactions bigint, last_violation timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT d.domain,
		   coalesce(s.crossing_queries, 0),
		   coalesce(s.crossing_calls, 0),
		   coalesce(s.crossing_transactions, 0),
		   s.last_violation
	  FROM migration_split.domains d
	  LEFT JOIN migration_split.domain_runtime_stats_internal() s
		ON s.domain = d.domain
	 WHERE migration_split.monitor_loaded()
	 ORDER BY d.domain
$$;

-- Known, time-boxed crossings that enforcement lets through: statements of
-- service from_domain may touch tables of to_domain (only rel, when given)
-- until expires_at (for ever when NULL).
CREATE TABLE migration_split.allowed_crossings (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	from_domain	text NOT NULL
				REFERENCES migration_split.domains (domain)
				ON UPDATE CASCADE ON DELETE CASCADE,
	to_domain	text NOT NULL
				REFERENCES migration_split.domains (domain)
				ON UPDATE CASCADE ON DELETE CASCADE,
	rel			regclass,
	reason		text NOT NULL,
	expires_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by	name NOT NULL DEFAULT CURRENT_USER,
	CONSTRAINT allowed_crossings_check CHECK (from_domain OPERATOR(pg_catalog.<>) to_domain)
);

SELECT pg_catalog.pg_extension_config_dump('migration_split.allowed_crossings', '');

-- Every change reloads the cached allowlist in all backends.
CREATE FUNCTION migration_split.allowed_crossings_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'ms_allowlist_changed';

CREATE TRIGGER allowed_crossings_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON migration_split.allowed_crossings
	FOR EACH STATEMENT EXECUTE FUNCTION migration_split.allowed_crossings_changed();

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


--------------------------------------------------------------------------
-- 6. Extraction
--------------------------------------------------------------------------
