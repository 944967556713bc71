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

-- Every relation that has a domain, with the rule that gives it: its own
-- tag, its partition or inheritance parent (first parent), or for TOAST
-- tables and owned sequences (serial, identity, OWNED BY) its table.  This
-- is the set-oriented twin of the C cache in src/ownership_cache.c (used
-- by table_domain() and the hot paths); the two must agree.
CREATE VIEW migration_split.relation_domains AS
WITH RECURSIVE owned (relid, domain, tagged_rel, via) AS (
	SELECT o.rel::pg_catalog.oid, o.domain, o.rel, 'tag'::text
	  FROM migration_split.ownership o
	UNION ALL
	SELECT i.inhrelid, p.domain, p.tagged_rel,
		   CASE WHEN c.relispartition THEN 'partition' ELSE 'inheritance' END
	  FROM owned p
	  JOIN pg_catalog.pg_inherits i ON i.inhparent OPERATOR(pg_catalog.=) p.relid
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
	 WHERE p.via OPERATOR(pg_catalog.<>) 'dependent'
	   AND i.inhseqno OPERATOR(pg_catalog.=) 1
	   AND NOT EXISTS (SELECT FROM migration_split.ownership o2
					   WHERE o2.rel::pg_catalog.oid OPERATOR(pg_catalog.=) i.inhrelid)
)
SELECT o.relid::pg_catalog.regclass AS rel, o.domain, o.tagged_rel, o.via
  FROM owned o
UNION ALL
SELECT d.objid::pg_catalog.regclass, o.domain, o.tagged_rel,
	   CASE c.relkind WHEN 't' THEN 'toast' ELSE 'sequence' END
  FROM owned o
  JOIN pg_catalog.pg_depend d
	ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.refobjid OPERATOR(pg_catalog.=) o.relid
   AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.deptype IN ('i', 'a')
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid
 WHERE c.relkind IN ('t', 'S');

COMMENT ON VIEW migration_split.relation_domains IS
	'every relation with an owning domain, and whether it is tagged itself or follows a partition root, inheritance parent or table';

-- The effective domain of one relation, from the backend's ownership cache.
CREATE FUNCTION migration_split.table_domain(rel regclass)
RETURNS text
LANGUAGE C STRICT STABLE
AS 'MODULE_PATHNAME', 'ms_table_domain';

REVOKE ALL ON migration_split.domains, migration_split.ownership FROM PUBLIC;
GRANT SELECT ON migration_split.domains, migration_split.ownership,
	migration_split.relation_domains TO PUBLIC;
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

--------------------------------------------------------------------------
-- 6. Extraction
--------------------------------------------------------------------------
