/*
 * src/sql/ownership.sql: part of the install script migration_split--1.1.sql
 */

-- Ownership: the catalog of domains and tags, the functions that change
-- them, and the suggestions derived from Django's content types and names.

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
--@begin ownership_changed_always
-- also under session_replication_role = replica (a data load, a logical
-- replication apply): a tag changed without it left every cache stale
ALTER TABLE migration_split.ownership ENABLE ALWAYS TRIGGER ownership_changed;
--@end ownership_changed_always

--@begin ownership_refuse_truncate
-- TRUNCATE is refused: it would give the table a new file, and logical
-- decoding, which reads it with historic snapshots, could then no longer
-- read the tags of any transaction before the TRUNCATE: every slot of the
-- database behind it would fail for good.  Tags are removed with DELETE,
-- whose row trigger above invalidates the caches.
CREATE FUNCTION migration_split.ownership_refuse_truncate()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'cannot truncate table migration_split.ownership'
		USING ERRCODE = 'feature_not_supported',
			  DETAIL = 'Logical decoding reads this table with historic snapshots: after a TRUNCATE, no replication slot of the database could decode the transactions before it.',
			  HINT = 'Use DELETE FROM migration_split.ownership.';
END
$$;

CREATE TRIGGER ownership_refuse_truncate
	BEFORE TRUNCATE ON migration_split.ownership
	FOR EACH STATEMENT EXECUTE FUNCTION migration_split.ownership_refuse_truncate();

REVOKE ALL ON FUNCTION migration_split.ownership_refuse_truncate() FROM PUBLIC;
--@end ownership_refuse_truncate

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
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'ms_table_domain';

REVOKE ALL ON migration_split.domains, migration_split.ownership FROM PUBLIC;
GRANT SELECT ON migration_split.domains, migration_split.ownership,
	migration_split.relation_domains TO PUBLIC;
GRANT USAGE ON SCHEMA migration_split TO PUBLIC;

--------------------------------------------------------------------------
-- 2. Ownership functions
--------------------------------------------------------------------------

/*
 * Privileges.  Who may tag a table is decided by the ownership table
 * itself: a BEFORE ROW trigger checks every insert, update and delete
 * against the current user (the table's owner or a member of its owning
 * role, a superuser, or a member of migration_split_admin).  What may be
 * tagged (tables, not partitions, ...) is checked by the functions.
 *
 * The functions below are SECURITY INVOKER on purpose: a SECURITY DEFINER
 * function cannot see who called it, and checking session_user instead
 * would let a trojan SECURITY DEFINER function or trigger tag tables with
 * the privileges of whoever happens to run it.  Every function pins
 * search_path to pg_catalog, pg_temp and qualifies every name and
 * operator.  Only the sql_drop event trigger, which must remove tags of
 * tables that no longer have an owner to check, runs as the extension's
 * owner.
 */

-- Lock a table against a concurrent DROP while its tag is written (C,
-- src/ownership.c); locks only tables the current user may tag.
CREATE FUNCTION migration_split.lock_table_for_tagging(rel pg_catalog.oid)
RETURNS boolean
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'ms_lock_table_for_tagging';

-- Raise the error for a relation that cannot carry a tag of its own:
-- anything but a table or partitioned table, a partition (it follows its
-- root), a temporary table, a system table.  The functions check this; the
-- catalog itself accepts any relation (an attached partition keeps its
-- tag, and the resolver and the reports handle it).
CREATE FUNCTION migration_split.check_taggable(rel regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	target		pg_catalog.oid := rel::pg_catalog.oid;
	c			record;
	parent		name;
	kind		text;
	hint		text;
BEGIN
	SELECT cl.relname, cl.relkind, cl.relispartition, cl.relpersistence, n.nspname
	  INTO c
	  FROM pg_catalog.pg_class cl
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) cl.relnamespace
	 WHERE cl.oid OPERATOR(pg_catalog.=) target;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', target
			USING ERRCODE = 'undefined_table';
	END IF;

	IF c.relkind NOT IN ('r', 'p') THEN
		kind := CASE c.relkind
			WHEN 'v' THEN 'a view'
			WHEN 'm' THEN 'a materialized view'
			WHEN 'i' THEN 'an index'
			WHEN 'I' THEN 'a partitioned index'
			WHEN 'S' THEN 'a sequence'
			WHEN 't' THEN 'a TOAST table'
			WHEN 'f' THEN 'a foreign table'
			WHEN 'c' THEN 'a composite type'
			ELSE 'not a table' END;
		hint := CASE WHEN c.relkind IN ('i', 'I')
					 THEN 'An index is part of its table: assign the table.'
					 WHEN c.relkind IN ('S', 't')
					 THEN 'TOAST tables and owned sequences follow the domain of their table.'
					 WHEN c.relkind IN ('v', 'm')
					 THEN 'Views belong to no domain; migration_split.cross_domain_dependencies shows which domains they read.'
					 ELSE 'Assign the tables that hold its data.' END;
		RAISE EXCEPTION '"%" is not a table', c.relname
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = pg_catalog.format('"%s" is %s; only tables and partitioned tables can be assigned to a domain.', c.relname, kind),
				  HINT = hint;
	END IF;

	IF c.relispartition THEN
		SELECT p.relname INTO parent
		  FROM pg_catalog.pg_inherits i
		  JOIN pg_catalog.pg_class p ON p.oid OPERATOR(pg_catalog.=) i.inhparent
		 WHERE i.inhrelid OPERATOR(pg_catalog.=) target;
		RAISE EXCEPTION 'cannot assign partition "%" to a domain', c.relname
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = pg_catalog.format('A partition belongs to the domain of its partitioned table "%s".', parent),
				  HINT = 'Assign the root partitioned table instead.';
	END IF;

	IF c.relpersistence OPERATOR(pg_catalog.=) 't' THEN
		RAISE EXCEPTION 'cannot assign temporary table "%" to a domain', c.relname
			USING ERRCODE = 'feature_not_supported';
	END IF;

	IF c.nspname IN ('pg_catalog', 'information_schema', 'migration_split') THEN
		RAISE EXCEPTION 'cannot assign system table "%" to a domain', c.relname
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = pg_catalog.format('Tables in schema %s belong to no domain.', c.nspname);
	END IF;
END
$$;

-- Row check on migration_split.ownership: who may change a tag.
CREATE FUNCTION migration_split.check_ownership_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	target		pg_catalog.oid;
	c			record;
	is_admin	boolean := pg_catalog.pg_has_role('migration_split_admin', 'MEMBER');
BEGIN
	-- The old row: a tag can be removed by whoever may tag the table; a
	-- tag of a table that no longer exists can be removed by anyone.
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		SELECT cl.relowner, cl.relname INTO c
		  FROM pg_catalog.pg_class cl
		 WHERE cl.oid OPERATOR(pg_catalog.=) OLD.rel::pg_catalog.oid;
		IF FOUND AND NOT is_admin
		   AND NOT pg_catalog.pg_has_role(c.relowner, 'MEMBER') THEN
			RAISE EXCEPTION 'permission denied to change the domain of table "%"',
				c.relname
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = 'Only the owner of the table, a superuser or a member of migration_split_admin may change its domain.';
		END IF;
		IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
			RETURN OLD;
		END IF;
	END IF;

	IF NEW.rel IS NULL THEN
		RETURN NEW;				-- the primary key rejects it
	END IF;
	target := NEW.rel::pg_catalog.oid;
	-- Keep a concurrent DROP TABLE from leaving a tag on a dead OID.
	PERFORM migration_split.lock_table_for_tagging(target);

	SELECT cl.relname, cl.relowner INTO c
	  FROM pg_catalog.pg_class cl
	 WHERE cl.oid OPERATOR(pg_catalog.=) target;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', target
			USING ERRCODE = 'undefined_table';
	END IF;

	IF NOT is_admin AND NOT pg_catalog.pg_has_role(c.relowner, 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to change the domain of table "%"', c.relname
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only the owner of the table, a superuser or a member of migration_split_admin may change its domain.';
	END IF;

	-- Only administrators may write history (pg_restore does); everybody
	-- else's tags say who set them and when.
	IF NOT is_admin THEN
		NEW.assigned_at := pg_catalog.now();
		NEW.assigned_by := CURRENT_USER;
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER ownership_check
	BEFORE INSERT OR UPDATE OR DELETE ON migration_split.ownership
	FOR EACH ROW EXECUTE FUNCTION migration_split.check_ownership_change();
--@begin ownership_check_always
-- also under session_replication_role = replica: a role allowed to set it
-- (GRANT SET ON PARAMETER) could otherwise tag, move or untag any table
-- and write history, and a superuser tag a dead OID.  A restore still
-- loads the tags: it runs as a superuser (an administrator: no
-- permission check, history kept) into tables that exist, and
-- pg_restore --disable-triggers disables it (DISABLE TRIGGER ALL).
ALTER TABLE migration_split.ownership ENABLE ALWAYS TRIGGER ownership_check;
--@end ownership_check_always

GRANT INSERT, UPDATE, DELETE ON migration_split.ownership TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON migration_split.domains TO migration_split_admin;

-- Raise the error for a NULL argument.
CREATE FUNCTION migration_split.require_argument(value anyelement, argname text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF value IS NULL THEN
		RAISE EXCEPTION 'argument "%" must not be null', argname
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
END
$$;

--@begin count_text
-- "1 table", "0 tables", "2 tables": a number with its noun, in the
-- singular for exactly one, for the text of reports, plans and messages;
-- NULL for a NULL number.  Written so that PostgreSQL inlines it into the
-- query that calls it (no SET clause, not STRICT, immutable operators
-- only): suggest_moves() and extraction_plan() call it for every row, and
-- a call with a SET clause saves and restores search_path each time.  It
-- needs no pinned search_path: every name in it is schema-qualified.
CREATE FUNCTION migration_split.count_text(n numeric, singular text, plural text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN n IS NOT NULL THEN
		   n::pg_catalog.text OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||)
		   CASE WHEN n OPERATOR(pg_catalog.=) 1 THEN singular ELSE plural END
		   END
$$;
--@end count_text

--@begin require_relation
-- Raise the error for an OID that names no relation (0, a dropped
-- table's), as PostgreSQL words it, instead of looking it up further and
-- naming it "-" or by number.
CREATE FUNCTION migration_split.require_relation(rel regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c
				   WHERE c.oid OPERATOR(pg_catalog.=) rel::pg_catalog.oid) THEN
		RAISE EXCEPTION 'relation with OID % does not exist', rel::pg_catalog.oid
			USING ERRCODE = 'undefined_table';
	END IF;
END
$$;
--@end require_relation

--@begin require_domain
-- Raise the error for a domain that does not exist (the hint lowercases
-- as the C locale does, whatever the database's collation).
CREATE OR REPLACE FUNCTION migration_split.require_domain(domain text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM migration_split.require_argument(domain, 'domain');
	IF NOT EXISTS (SELECT FROM migration_split.domains d
				   WHERE d.domain OPERATOR(pg_catalog.=) require_domain.domain) THEN
		RAISE EXCEPTION 'domain "%" does not exist', domain
			USING ERRCODE = 'undefined_object',
				  HINT = CASE
					WHEN EXISTS (SELECT FROM migration_split.domains d
								 WHERE d.domain OPERATOR(pg_catalog.=) pg_catalog.lower(require_domain.domain COLLATE "C"))
					THEN pg_catalog.format('Domain names are lower case: did you mean "%s"?',
										   pg_catalog.lower(domain COLLATE "C"))
					ELSE 'Create it with migration_split.create_domain().'
				  END;
	END IF;
END
$$;
--@end require_domain

-- Raise the error for a caller who may not create or drop domains.
CREATE FUNCTION migration_split.require_admin(action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT pg_catalog.pg_has_role('migration_split_admin', 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to % domains', action
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only superusers and members of migration_split_admin may create or drop domains.';
	END IF;
END
$$;

--@begin create_domain
-- A domain names the service's schema on the target (migration-split's
-- default --target-schema): names that cannot name it, or name a schema
-- the target has for another purpose, are refused (domains of such names
-- made before 1.1 are kept).
CREATE OR REPLACE FUNCTION migration_split.create_domain(domain text, description text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM migration_split.require_argument(domain, 'domain');
	PERFORM migration_split.require_admin('create');
	IF domain OPERATOR(pg_catalog.!~) '^[a-z_][a-z0-9_]*$'
	   OR pg_catalog.length(domain) OPERATOR(pg_catalog.>) 63 THEN
		RAISE EXCEPTION 'invalid domain name "%"', domain
			USING ERRCODE = 'invalid_name',
				  DETAIL = 'A domain name is a lower-case identifier of at most 63 characters: a letter or underscore followed by letters, digits and underscores.',
				  HINT = 'Domain names become schema and service names, so they follow the rules for unquoted identifiers.';
	END IF;
	IF pg_catalog.left(domain, 3) OPERATOR(pg_catalog.=) 'pg_'
	   OR domain IN ('public', 'information_schema', 'migration_split', 'migration_split_job') THEN
		RAISE EXCEPTION 'domain name "%" is reserved', domain
			USING ERRCODE = 'reserved_name',
				  DETAIL = CASE
					WHEN pg_catalog.left(domain, 3) OPERATOR(pg_catalog.=) 'pg_'
					THEN 'The prefix "pg_" is reserved for system schemas: migration-split init cannot create the service''s schema of that name.'
					WHEN domain OPERATOR(pg_catalog.=) 'migration_split_job'
					THEN 'Schema "migration_split_job" holds the state of migration-split on the target: init refuses it as the service''s schema.'
					WHEN domain OPERATOR(pg_catalog.=) 'migration_split'
					THEN 'Schema "migration_split" holds this extension, which cutover installs in the service''s database: the service''s tables would be in the extension''s schema, and init --drop would drop the extension with it.'
					ELSE pg_catalog.format('Every database has schema "%s": migration-split init would put the service''s tables into it, and init --drop would drop it with all it holds.', domain) END,
				  HINT = 'Choose another name; the service''s schema is named after the domain.';
	END IF;
	IF EXISTS (SELECT FROM migration_split.domains d
			   WHERE d.domain OPERATOR(pg_catalog.=) create_domain.domain) THEN
		RAISE EXCEPTION 'domain "%" already exists', domain
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- another session creating the same domain has passed the check
	-- above too: the INSERT waits for it, then finds its row
	BEGIN
		INSERT INTO migration_split.domains (domain, description, created_at, created_by)
		VALUES (domain, description, pg_catalog.now(), CURRENT_USER);
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'domain "%" already exists', domain
			USING ERRCODE = 'duplicate_object',
				  DETAIL = 'Another session created it concurrently.';
	END;
END
$$;
--@end create_domain

COMMENT ON FUNCTION migration_split.create_domain(text, text) IS
	'create a business domain (a future service) that tables can be assigned to';

CREATE FUNCTION migration_split.drop_domain(domain text, force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ntables		bigint;
BEGIN
	PERFORM migration_split.require_argument(domain, 'domain');
	PERFORM migration_split.require_argument(force, 'force');
	PERFORM migration_split.require_admin('drop');
	PERFORM migration_split.require_domain(domain);

	-- Lock the domain row first so that no tag appears meanwhile.
	PERFORM FROM migration_split.domains d
	  WHERE d.domain OPERATOR(pg_catalog.=) drop_domain.domain FOR UPDATE;
	SELECT pg_catalog.count(*) INTO ntables FROM migration_split.ownership o
	 WHERE o.domain OPERATOR(pg_catalog.=) drop_domain.domain;
	IF ntables OPERATOR(pg_catalog.>) 0 AND NOT force THEN
		RAISE EXCEPTION 'cannot drop domain "%" because it owns tables', domain
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = pg_catalog.format('Domain "%s" owns %s table(s).', domain, ntables),
				  HINT = 'Unassign its tables first, or use force => true to remove their tags too.';
	END IF;
	DELETE FROM migration_split.ownership o
	 WHERE o.domain OPERATOR(pg_catalog.=) drop_domain.domain;
	DELETE FROM migration_split.domains d
	 WHERE d.domain OPERATOR(pg_catalog.=) drop_domain.domain;
END
$$;

COMMENT ON FUNCTION migration_split.drop_domain(text, boolean) IS
	'drop a domain; with force, also remove the tags of its tables';

-- Set the tag of one table; true when it was set or changed.  The row
-- trigger checks the caller's privileges.  (ON CONFLICT is not available
-- on a user_catalog_table, hence the retry.)
--@begin set_tag
CREATE OR REPLACE FUNCTION migration_split.set_tag(rel regclass, domain text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	current_domain	text;
BEGIN
	PERFORM migration_split.check_taggable(rel);
	-- The tag's foreign key waits for a drop_domain() running meanwhile
	-- and then fails: say that the domain does not exist (require_domain(),
	-- whose query sees the drop), not the foreign key's violation.
	SELECT o.domain INTO current_domain FROM migration_split.ownership o
	 WHERE o.rel OPERATOR(pg_catalog.=) set_tag.rel FOR UPDATE;
	IF NOT FOUND THEN
		BEGIN
			INSERT INTO migration_split.ownership (rel, domain, assigned_at, assigned_by)
			VALUES (rel, domain, pg_catalog.now(), CURRENT_USER);
		EXCEPTION
			WHEN unique_violation THEN
				-- A concurrent transaction tagged the table first and has
				-- committed: its row is there now; move it.
				RETURN migration_split.set_tag(rel, domain);
			WHEN foreign_key_violation THEN
				PERFORM migration_split.require_domain(domain);
				RAISE;
		END;
	ELSIF current_domain OPERATOR(pg_catalog.<>) domain THEN
		BEGIN
			UPDATE migration_split.ownership o
			   SET domain = set_tag.domain, assigned_at = pg_catalog.now(),
				   assigned_by = CURRENT_USER
			 WHERE o.rel OPERATOR(pg_catalog.=) set_tag.rel;
		EXCEPTION WHEN foreign_key_violation THEN
			PERFORM migration_split.require_domain(domain);
			RAISE;
		END;
	ELSE
		RETURN false;
	END IF;
	RETURN true;
END
$$;
--@end set_tag

CREATE FUNCTION migration_split.assign_table(rel regclass, domain text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM migration_split.require_argument(rel, 'rel');
	PERFORM migration_split.require_domain(domain);
	PERFORM migration_split.set_tag(rel, domain);
END
$$;

COMMENT ON FUNCTION migration_split.assign_table(regclass, text) IS
	'tag a table (with its partitions, inheritance children, TOAST table and owned sequences) with a domain';

CREATE FUNCTION migration_split.unassign_table(rel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	relname		name;
	via			record;
BEGIN
	PERFORM migration_split.require_argument(rel, 'rel');
	DELETE FROM migration_split.ownership o
	 WHERE o.rel OPERATOR(pg_catalog.=) unassign_table.rel;
	IF NOT FOUND THEN
		SELECT c.relname INTO relname FROM pg_catalog.pg_class c
		 WHERE c.oid OPERATOR(pg_catalog.=) rel::pg_catalog.oid;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'relation with OID % does not exist', rel::pg_catalog.oid
				USING ERRCODE = 'undefined_table';
		END IF;
		SELECT r.domain, t.relname INTO via
		  FROM migration_split.relation_domains r
		  JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) r.tagged_rel::pg_catalog.oid
		 WHERE r.rel OPERATOR(pg_catalog.=) unassign_table.rel;
		IF FOUND THEN
			RAISE EXCEPTION 'table "%" is not assigned to a domain', relname
				USING ERRCODE = 'undefined_object',
					  DETAIL = pg_catalog.format('It belongs to domain "%s" through "%s".', via.domain, via.relname),
					  HINT = pg_catalog.format('Unassign "%s" instead.', via.relname);
		END IF;
		-- A view, index, ... is "not a table" (42809), as in assign_table().
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c
					   WHERE c.oid OPERATOR(pg_catalog.=) rel::pg_catalog.oid
						 AND c.relkind IN ('r', 'p')) THEN
			PERFORM migration_split.check_taggable(rel);
		END IF;
		RAISE EXCEPTION 'table "%" is not assigned to a domain', relname
			USING ERRCODE = 'undefined_object';
	END IF;
END
$$;

COMMENT ON FUNCTION migration_split.unassign_table(regclass) IS
	'remove the tag of a table';

CREATE FUNCTION migration_split.assign_tables(pattern text, domain text, schema text DEFAULT 'public')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	nsp		pg_catalog.oid;
	n		integer;
BEGIN
	PERFORM migration_split.require_argument(pattern, 'pattern');
	PERFORM migration_split.require_argument(schema, 'schema');
	PERFORM migration_split.require_domain(domain);
	SELECT n.oid INTO nsp FROM pg_catalog.pg_namespace n
	 WHERE n.nspname OPERATOR(pg_catalog.=) assign_tables.schema;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'schema "%" does not exist', schema
			USING ERRCODE = 'invalid_schema_name';
	END IF;

	-- Tables only; partitions follow their root.  The row trigger checks
	-- privileges: one table the caller may not tag fails the whole call.
	SELECT pg_catalog.count(*) FILTER (WHERE migration_split.set_tag(t.rel, domain))
	  INTO n
	  FROM (SELECT c.oid::pg_catalog.regclass AS rel
			  FROM pg_catalog.pg_class c
			 WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
			   AND c.relkind IN ('r', 'p')
			   AND NOT c.relispartition
			   AND c.relpersistence OPERATOR(pg_catalog.<>) 't'
			   AND c.relname OPERATOR(pg_catalog.~~) pattern
			 ORDER BY c.relname) t;
	RETURN n;
END
$$;

COMMENT ON FUNCTION migration_split.assign_tables(text, text, text) IS
	'tag every table of a schema whose name matches a LIKE pattern; returns how many tags were set or changed';

-- One row per tagged table.
CREATE VIEW migration_split.table_owners AS
SELECT o.rel, n.nspname AS schema_name, c.relname AS table_name, o.domain,
	   o.assigned_at, o.assigned_by
  FROM migration_split.ownership o
  LEFT JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) o.rel::pg_catalog.oid
  LEFT JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace;

COMMENT ON VIEW migration_split.table_owners IS
	'every explicitly tagged table with its domain and who tagged it when';

-- The tables that need a domain, tagged or not: tables and partitioned
-- tables that are not partitions or inheritance children (those follow
-- their root), outside system schemas, not temporary, not members of an
-- extension.  unowned_tables and suggest_domains() list these.
--@begin user_tables
CREATE OR REPLACE FUNCTION migration_split.user_tables()
RETURNS TABLE (oid pg_catalog.oid, name text, nsp pg_catalog.oid, schema_name text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.oid, c.relname::text, c.relnamespace, n.nspname::text
	  FROM pg_catalog.pg_class c
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE c.relkind IN ('r', 'p')
	   AND NOT c.relispartition
	   AND c.relpersistence OPERATOR(pg_catalog.<>) 't'
	   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'migration_split')
	   AND c.oid NOT IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i)
	   -- extension members, found from the extensions (an index scan
	   -- each) rather than probing pg_depend for every table
	   AND c.oid NOT IN (SELECT d.objid
						   FROM pg_catalog.pg_extension x
						   JOIN pg_catalog.pg_depend d
							 ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
							AND d.refobjid OPERATOR(pg_catalog.=) x.oid
						  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
							AND d.deptype OPERATOR(pg_catalog.=) 'e')
$$;
--@end user_tables

-- Every user table that still needs a domain.
CREATE VIEW migration_split.unowned_tables AS
SELECT c.oid::pg_catalog.regclass AS rel, n.nspname AS schema_name,
	   c.relname AS table_name, c.relkind OPERATOR(pg_catalog.=) 'p' AS partitioned,
	   CASE WHEN c.reltuples OPERATOR(pg_catalog.>=) 0
			THEN c.reltuples::bigint END AS estimated_rows
  FROM migration_split.user_tables() u
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) u.oid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE NOT EXISTS (SELECT FROM migration_split.ownership o
				   WHERE o.rel::pg_catalog.oid OPERATOR(pg_catalog.=) c.oid);

COMMENT ON VIEW migration_split.unowned_tables IS
	'user tables that have no domain yet (partitions and inheritance children follow their root)';

GRANT SELECT ON migration_split.table_owners, migration_split.unowned_tables TO PUBLIC;

-- Tags follow the table: DROP TABLE, DROP SCHEMA ... CASCADE and DROP
-- OWNED remove the tags of the dropped tables, so that a reused OID never
-- inherits a stale tag.  Runs as the extension's owner because the
-- dropped table no longer has an owner to check.
CREATE FUNCTION migration_split.forget_dropped_tables()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- DROP EXTENSION drops the ownership table in the same command.
	IF pg_catalog.to_regclass('migration_split.ownership') IS NULL THEN
		RETURN;
	END IF;
	DELETE FROM migration_split.ownership o
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid OPERATOR(pg_catalog.=) 0
	   AND o.rel::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
END
$$;

REVOKE ALL ON FUNCTION migration_split.forget_dropped_tables() FROM PUBLIC;

CREATE EVENT TRIGGER migration_split_forget_dropped_tables ON sql_drop
	EXECUTE FUNCTION migration_split.forget_dropped_tables();
--@begin event_triggers_always_1
-- A table dropped with session_replication_role = replica (a restore, a
-- replication tool's session) is dropped all the same: the tag must go.
ALTER EVENT TRIGGER migration_split_forget_dropped_tables ENABLE ALWAYS;
--@end event_triggers_always_1

-- ALTER SEQUENCE ... OWNED BY moves a sequence to another table (and
-- domain) without invalidating it: tell the ownership caches (C,
-- src/ownership.c).
CREATE FUNCTION migration_split.invalidate_relation(rel pg_catalog.oid)
RETURNS void
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'ms_invalidate_relation';

REVOKE ALL ON FUNCTION migration_split.invalidate_relation(pg_catalog.oid) FROM PUBLIC;

CREATE FUNCTION migration_split.follow_sequence_owner()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM migration_split.invalidate_relation(c.objid)
	   FROM pg_catalog.pg_event_trigger_ddl_commands() c
	  WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
		AND c.object_type OPERATOR(pg_catalog.=) 'sequence';
END
$$;

REVOKE ALL ON FUNCTION migration_split.follow_sequence_owner() FROM PUBLIC;

CREATE EVENT TRIGGER migration_split_follow_sequence_owner ON ddl_command_end
	WHEN TAG IN ('ALTER SEQUENCE')
	EXECUTE FUNCTION migration_split.follow_sequence_owner();
--@begin event_triggers_always_2
ALTER EVENT TRIGGER migration_split_follow_sequence_owner ENABLE ALWAYS;
--@end event_triggers_always_2

--@begin keep_triggers_always
-- The triggers listed in keep_triggers_always() are enabled ALWAYS (each
-- capability's file says ALTER TABLE ... ENABLE ALWAYS TRIGGER after
-- creating one; a new one belongs in the list too), so that they act under
-- session_replication_role = replica.  ALTER TABLE ... ENABLE TRIGGER ALL,
-- which pg_restore --data-only --disable-triggers runs after loading a
-- table, makes them ordinary (origin) triggers again: set them back.  A
-- trigger disabled (or enabled REPLICA) on purpose is left as it is.  Runs
-- as the user of the ALTER TABLE, who owns the table.
CREATE FUNCTION migration_split.keep_triggers_always()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t	record;
BEGIN
	FOR t IN
		SELECT DISTINCT tg.tgrelid::pg_catalog.regclass AS rel, tg.tgname
		  FROM pg_catalog.pg_event_trigger_ddl_commands() c
		  JOIN pg_catalog.pg_trigger tg ON tg.tgrelid OPERATOR(pg_catalog.=) c.objid
		  JOIN (VALUES ('migration_split.ownership', 'ownership_changed'),
					   ('migration_split.ownership', 'ownership_check'),
					   ('migration_split.domains', 'domains_changed'),
					   ('migration_split.allowed_crossings', 'allowed_crossings_changed'),
					   ('migration_split.loose_foreign_key_definitions', 'loose_foreign_key_check'),
					   ('migration_split.loose_foreign_key_definitions', 'loose_foreign_key_queue_follow'))
			   a(tab, trg)
			ON tg.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(a.tab)
		   AND tg.tgname OPERATOR(pg_catalog.=) a.trg
		 WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
		   AND tg.tgenabled OPERATOR(pg_catalog.=) 'O'
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.rel, t.tgname);
	END LOOP;
END
$$;

CREATE EVENT TRIGGER migration_split_keep_triggers_always ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE')
	EXECUTE FUNCTION migration_split.keep_triggers_always();
ALTER EVENT TRIGGER migration_split_keep_triggers_always ENABLE ALWAYS;
--@end keep_triggers_always

--------------------------------------------------------------------------
-- 3. Suggestions
--------------------------------------------------------------------------

/*
 * suggest_domains() proposes a domain for every user table that is not a
 * partition or inheritance child (those follow their root).  Rules, first
 * match wins:
 *
 *   tag       the table is already tagged
 *   django    one of Django's own tables with a fixed name (django_session,
 *             django_admin_log, django_content_type, django_migrations,
 *             django_site, auth_*, ...): its app label
 *   model     <app_label>_<model> of a row of django_content_type in the
 *             same schema
 *   m2m       <app_label>_<model>_<field>: an automatic many-to-many table
 *   app       the name starts with a known app label (from content types
 *             or django_migrations) and "_"; the longest label wins:
 *             authtoken_token is not auth's
 *   db_table  a Meta.db_table that ends in the name of exactly one app's
 *             model
 *   schema    a table in a schema other than public that has no Django
 *             tables: the schema is the domain
 *   m2m       a table "<table>_<field>" referencing <table> goes with it
 *             (repeated until nothing changes)
 *   prefix    the longest prefix of the name, in whole words, shared with
 *             another table; not one that is itself a table's name (two
 *             words or more: orders_order_tags goes with orders_order)
 *   fk        foreign-key neighbourhood, repeated until nothing changes:
 *             many-to-many tables as above, otherwise the domain most of
 *             its neighbours belong to (references out count twice,
 *             references in once; a tie is no answer; tables referenced
 *             from three or more other domains, like auth_user, do not
 *             count)
 *   word      the first word of a name of several words (a one-table app)
 *
 * A table no rule places is returned with a NULL domain.  Domain names are
 * made valid (lower case, [a-z0-9_], at most 63 characters).  JIT is off:
 * catalog queries over set-returning functions are estimated far too big
 * and would spend most of their time compiling.
 */

--@begin domain_name_from
-- A valid domain name made from a Django app label, schema or prefix; one
-- that create_domain() refuses as reserved (tables named public_*) gets an
-- underscore in front, as one beginning with a digit does.  Lower case as
-- in the C locale (A-Z only; other characters become _), so that the
-- database's collation (tr-TR lowercases I to a dotless i) changes nothing.
CREATE OR REPLACE FUNCTION migration_split.domain_name_from(name text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN s OPERATOR(pg_catalog.~) '^[0-9]'
					 OR pg_catalog.left(s, 3) OPERATOR(pg_catalog.=) 'pg_'
					 OR s IN ('public', 'information_schema', 'migration_split', 'migration_split_job')
				THEN '_' OPERATOR(pg_catalog.||) s ELSE s END
	  FROM (SELECT pg_catalog.left(pg_catalog.regexp_replace(pg_catalog.lower(name COLLATE "C"),
									'[^a-z0-9_]', '_', 'g'), 62) AS s) t
	 WHERE s OPERATOR(pg_catalog.<>) ''
$$;
--@end domain_name_from

-- Suggestions from foreign keys for the tables in todo, given the tables
-- placed so far: many-to-many tables by name, then (unless m2m_only) the
-- domain most neighbours belong to.
--@begin foreign_key_suggestions
CREATE OR REPLACE FUNCTION migration_split.foreign_key_suggestions(
	known_oids pg_catalog.oid[], known_domains text[], todo pg_catalog.oid[],
	m2m_only boolean)
RETURNS TABLE (oid pg_catalog.oid, domain text, reason text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH known AS (
		SELECT u.oid, u.domain
		  FROM ROWS FROM (pg_catalog.unnest(known_oids), pg_catalog.unnest(known_domains)) AS u(oid, domain)
	),
	edges AS (
		-- references out (weight 2) and in (weight 1); partitions'
		-- inherited constraints are counted once, on their root
		SELECT f.conrelid AS me, f.confrelid AS other, 2 AS weight, true AS outgoing
		  FROM pg_catalog.pg_constraint f
		 WHERE f.contype OPERATOR(pg_catalog.=) 'f'
		   AND f.conrelid OPERATOR(pg_catalog.=) ANY (todo)
		   AND f.conparentid OPERATOR(pg_catalog.=) 0
		UNION ALL
		SELECT f.confrelid, f.conrelid, 1, false
		  FROM pg_catalog.pg_constraint f
		 WHERE f.contype OPERATOR(pg_catalog.=) 'f'
		   AND f.confrelid OPERATOR(pg_catalog.=) ANY (todo)
		   AND f.conparentid OPERATOR(pg_catalog.=) 0
	),
	m2m AS (
		SELECT DISTINCT ON (e.me) e.me, k.domain,
			   pg_catalog.format('named after %s, which it references (many-to-many or detail table)', o.relname) AS reason
		  FROM edges e
		  JOIN known k ON k.oid OPERATOR(pg_catalog.=) e.other
		  JOIN pg_catalog.pg_class me ON me.oid OPERATOR(pg_catalog.=) e.me
		  JOIN pg_catalog.pg_class o ON o.oid OPERATOR(pg_catalog.=) e.other
		 WHERE e.outgoing
		   AND pg_catalog.starts_with(me.relname::text, o.relname::text OPERATOR(pg_catalog.||) '_')
		 ORDER BY e.me, pg_catalog.length(o.relname) DESC
	),
	-- Tables referenced from three or more other domains (auth_user in a
	-- Django project) say nothing about where a table belongs.
	hubs AS (
		SELECT f.confrelid AS oid
		  FROM pg_catalog.pg_constraint f
		  JOIN known src ON src.oid OPERATOR(pg_catalog.=) f.conrelid
		  JOIN known dst ON dst.oid OPERATOR(pg_catalog.=) f.confrelid
		 WHERE f.contype OPERATOR(pg_catalog.=) 'f'
		   AND src.domain OPERATOR(pg_catalog.<>) dst.domain
		 GROUP BY f.confrelid
		HAVING pg_catalog.count(DISTINCT src.domain) OPERATOR(pg_catalog.>=) 3
	),
	votes AS (
		SELECT e.me, k.domain, pg_catalog.sum(e.weight) AS score,
			   pg_catalog.string_agg(DISTINCT o.relname, ', ') AS via
		  FROM edges e
		  JOIN known k ON k.oid OPERATOR(pg_catalog.=) e.other
		  JOIN pg_catalog.pg_class o ON o.oid OPERATOR(pg_catalog.=) e.other
		 WHERE e.other OPERATOR(pg_catalog.<>) e.me
		   AND NOT m2m_only
		   AND NOT EXISTS (SELECT FROM hubs WHERE hubs.oid OPERATOR(pg_catalog.=) e.other)
		 GROUP BY e.me, k.domain
	),
	ranked AS (
		SELECT v.*, pg_catalog.rank() OVER (PARTITION BY v.me ORDER BY v.score DESC) AS rnk,
			   pg_catalog.count(*) OVER (PARTITION BY v.me, v.score) AS tied,
			   pg_catalog.sum(v.score) OVER (PARTITION BY v.me) AS total
		  FROM votes v
	)
	SELECT m2m.me, m2m.domain, m2m.reason FROM m2m
	UNION ALL
	SELECT r.me, r.domain,
		   pg_catalog.format('foreign keys: %s of %s %s with domain %s (%s)',
							 r.score, migration_split.count_text(r.total, 'weighted reference', 'weighted references'),
							 CASE WHEN r.score OPERATOR(pg_catalog.=) 1 THEN 'is' ELSE 'are' END,
							 r.domain, r.via)
	  FROM ranked r
	 WHERE r.rnk OPERATOR(pg_catalog.=) 1 AND r.tied OPERATOR(pg_catalog.=) 1
	   AND NOT EXISTS (SELECT FROM m2m WHERE m2m.me OPERATOR(pg_catalog.=) r.me)
$$;
--@end foreign_key_suggestions

-- For every candidate table, the longest prefix of its name in whole words
-- that it shares with another table, unless a table is named after that
-- prefix or after a shorter prefix of two words or more (the longer names
-- are then that table's many-to-many or history tables).
CREATE FUNCTION migration_split.name_prefix_suggestions()
RETURNS TABLE (oid pg_catalog.oid, prefix text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH cand AS (SELECT * FROM migration_split.user_tables()),
	name_prefixes AS (
		SELECT cand.oid, cand.nsp, k.k,
			   pg_catalog.array_to_string(
				   (pg_catalog.string_to_array(cand.name, '_'))[1:k.k], '_') AS prefix
		  FROM cand,
			   pg_catalog.generate_series(1,
				   pg_catalog.cardinality(pg_catalog.string_to_array(cand.name, '_'))
				   OPERATOR(pg_catalog.-) 1) AS k(k)
	),
	prefix_use AS (
		SELECT np.nsp, np.prefix, pg_catalog.count(*) AS ntables
		  FROM name_prefixes np
		 GROUP BY 1, 2
	)
	SELECT DISTINCT ON (x.oid) x.oid, x.prefix
	  FROM (SELECT np.oid, np.k, np.prefix, pu.ntables,
				   pg_catalog.bool_or(np.k OPERATOR(pg_catalog.>=) 2 AND EXISTS (
						SELECT FROM cand c2
						 WHERE c2.nsp OPERATOR(pg_catalog.=) np.nsp
						   AND c2.name OPERATOR(pg_catalog.=) np.prefix))
					   OVER (PARTITION BY np.oid ORDER BY np.k) AS blocked
			  FROM name_prefixes np
			  JOIN prefix_use pu ON pu.nsp OPERATOR(pg_catalog.=) np.nsp
			   AND pu.prefix OPERATOR(pg_catalog.=) np.prefix) x
	 WHERE x.ntables OPERATOR(pg_catalog.>=) 2 AND NOT x.blocked
	   AND x.prefix OPERATOR(pg_catalog.<>) ''
	 ORDER BY x.oid, x.k DESC
$$;

--@begin suggest_domains
CREATE OR REPLACE FUNCTION migration_split.suggest_domains()
RETURNS TABLE (rel regclass, domain text, reason text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
SET row_security = off
AS $$
DECLARE
	ct_nsp		pg_catalog.oid[] := '{}';
	ct_app		text[] := '{}';
	ct_model	text[] := '{}';
	app_nsp		pg_catalog.oid[] := '{}';
	app_label	text[] := '{}';
	labels		text[];
	models		text[];
	t			record;
	found_oids	pg_catalog.oid[];
	found_doms	text[];
	found_why	text[];
	todo		pg_catalog.oid[];
	pass		integer;
	progress	boolean;
BEGIN
	-- Django's content types and migration history, in every schema we
	-- may read: the app labels and models of the project.  Whoever created
	-- a relation of that name must not get code run with our rights, so
	-- only what reads without running its owner's code is read: plain or
	-- partitioned tables (no views; no foreign tables, also not as
	-- partitions; ONLY, so no inheritance children), columns of built-in
	-- string types (no user-defined casts or operators), and no row level
	-- security policies (their expressions would run as us): a table with
	-- RLS enabled is skipped unless we bypass RLS, and row_security = off
	-- makes any policy that would still apply an error instead.
	FOR t IN
		SELECT n.oid AS nsp, n.nspname, c.relname, c.relkind,
			   pg_catalog.array_agg(a.attname::text) AS cols
		  FROM pg_catalog.pg_class c
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
		   AND a.attname IN ('app_label', 'model', 'app') AND NOT a.attisdropped
		   AND a.atttypid IN ('pg_catalog.text'::pg_catalog.regtype,
							  'pg_catalog.varchar'::pg_catalog.regtype,
							  'pg_catalog.bpchar'::pg_catalog.regtype,
							  'pg_catalog.name'::pg_catalog.regtype)
		 WHERE c.relname IN ('django_content_type', 'django_migrations')
		   AND c.relkind IN ('r', 'p')
		   AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')
		   AND (c.relpersistence OPERATOR(pg_catalog.<>) 't'
				OR c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema())
		   AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
		   AND NOT EXISTS (SELECT FROM pg_catalog.pg_partition_tree(c.oid) pt
						   JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) pt.relid
						   WHERE pc.relkind NOT IN ('r', 'p'))
		   AND (NOT c.relrowsecurity
				OR EXISTS (SELECT FROM pg_catalog.pg_roles r
						   WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
							 AND (r.rolsuper OR r.rolbypassrls)))
		 GROUP BY 1, 2, 3, 4
		 ORDER BY 3
	LOOP
		IF t.relname OPERATOR(pg_catalog.=) 'django_content_type'
		   AND t.cols OPERATOR(pg_catalog.@>) ARRAY['app_label', 'model'] THEN
			EXECUTE pg_catalog.format(
				'SELECT pg_catalog.array_agg(app_label::text ORDER BY app_label, model),
						pg_catalog.array_agg(model::text ORDER BY app_label, model)
				   FROM %s %I.%I WHERE app_label IS NOT NULL AND model IS NOT NULL',
				CASE t.relkind WHEN 'r' THEN 'ONLY' ELSE '' END, t.nspname, t.relname)
			   INTO labels, models;
			IF labels IS NOT NULL THEN
				ct_nsp := ct_nsp OPERATOR(pg_catalog.||)
					pg_catalog.array_fill(t.nsp, ARRAY[pg_catalog.cardinality(labels)]);
				ct_app := ct_app OPERATOR(pg_catalog.||) labels;
				ct_model := ct_model OPERATOR(pg_catalog.||) models;
				app_nsp := app_nsp OPERATOR(pg_catalog.||)
					pg_catalog.array_fill(t.nsp, ARRAY[pg_catalog.cardinality(labels)]);
				app_label := app_label OPERATOR(pg_catalog.||) labels;
			END IF;
		ELSIF t.relname OPERATOR(pg_catalog.=) 'django_migrations'
		   AND t.cols OPERATOR(pg_catalog.@>) ARRAY['app'] THEN
			-- apps whose content types are missing still have migrations
			EXECUTE pg_catalog.format(
				'SELECT pg_catalog.array_agg(DISTINCT app::text) FROM %s %I.%I WHERE app IS NOT NULL',
				CASE t.relkind WHEN 'r' THEN 'ONLY' ELSE '' END, t.nspname, t.relname)
			   INTO labels;
			IF labels IS NOT NULL THEN
				app_nsp := app_nsp OPERATOR(pg_catalog.||)
					pg_catalog.array_fill(t.nsp, ARRAY[pg_catalog.cardinality(labels)]);
				app_label := app_label OPERATOR(pg_catalog.||) labels;
			END IF;
		END IF;
	END LOOP;

	-- Rules by name, set at a time.
	WITH cand AS (SELECT * FROM migration_split.user_tables()),
	ct AS (
		SELECT u.nsp, u.app, u.model
		  FROM ROWS FROM (pg_catalog.unnest(ct_nsp), pg_catalog.unnest(ct_app),
						  pg_catalog.unnest(ct_model)) AS u(nsp, app, model)
	),
	apps AS (
		SELECT DISTINCT u.nsp, u.app
		  FROM ROWS FROM (pg_catalog.unnest(app_nsp), pg_catalog.unnest(app_label)) AS u(nsp, app)
	),
	django_tables (name, app, what) AS (
		VALUES ('django_migrations', 'django', 'Django''s migration history'),
			   ('django_content_type', 'contenttypes', 'django.contrib.contenttypes'),
			   ('django_session', 'sessions', 'django.contrib.sessions'),
			   ('django_admin_log', 'admin', 'django.contrib.admin'),
			   ('django_site', 'sites', 'django.contrib.sites'),
			   ('django_flatpage', 'flatpages', 'django.contrib.flatpages'),
			   ('django_flatpage_sites', 'flatpages', 'django.contrib.flatpages'),
			   ('django_redirect', 'redirects', 'django.contrib.redirects'),
			   ('auth_user', 'auth', 'django.contrib.auth'),
			   ('auth_group', 'auth', 'django.contrib.auth'),
			   ('auth_permission', 'auth', 'django.contrib.auth'),
			   ('auth_user_groups', 'auth', 'django.contrib.auth'),
			   ('auth_user_user_permissions', 'auth', 'django.contrib.auth'),
			   ('auth_group_permissions', 'auth', 'django.contrib.auth')
	),
	rules (oid, domain, reason, prio, specificity) AS (
		SELECT cand.oid, o.domain, 'already assigned to this domain', 0, 0
		  FROM cand JOIN migration_split.ownership o
			ON o.rel::pg_catalog.oid OPERATOR(pg_catalog.=) cand.oid
		UNION ALL
		SELECT cand.oid, dt.app,
			   pg_catalog.format('Django''s own table (%s)', dt.what), 1, 0
		  FROM cand JOIN django_tables dt ON dt.name OPERATOR(pg_catalog.=) cand.name
		UNION ALL
		SELECT cand.oid, migration_split.domain_name_from(ct.app),
			   pg_catalog.format('table of Django model %s.%s (django_content_type)', ct.app, ct.model),
			   2, 0
		  FROM cand JOIN ct ON ct.nsp OPERATOR(pg_catalog.=) cand.nsp
		   AND cand.name OPERATOR(pg_catalog.=) (ct.app OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) ct.model)
		UNION ALL
		SELECT cand.oid, migration_split.domain_name_from(ct.app),
			   pg_catalog.format('many-to-many table of Django model %s.%s', ct.app, ct.model),
			   3, pg_catalog.length(ct.app) OPERATOR(pg_catalog.+) pg_catalog.length(ct.model)
		  FROM cand JOIN ct ON ct.nsp OPERATOR(pg_catalog.=) cand.nsp
		   AND pg_catalog.starts_with(cand.name,
				ct.app OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) ct.model OPERATOR(pg_catalog.||) '_')
		UNION ALL
		SELECT cand.oid, migration_split.domain_name_from(apps.app),
			   pg_catalog.format('name starts with Django app label "%s"', apps.app),
			   4, pg_catalog.length(apps.app)
		  FROM cand JOIN apps ON apps.nsp OPERATOR(pg_catalog.=) cand.nsp
		   AND pg_catalog.starts_with(cand.name, apps.app OPERATOR(pg_catalog.||) '_')
		UNION ALL
		SELECT m.oid, migration_split.domain_name_from(m.app),
			   pg_catalog.format('Meta.db_table ending in the name of Django model %s.%s', m.app, m.model),
			   5, 0
		  FROM (SELECT cand.oid, ct.app, ct.model,
					   pg_catalog.min(ct.app) OVER (PARTITION BY cand.oid) AS first_app,
					   pg_catalog.max(ct.app) OVER (PARTITION BY cand.oid) AS last_app
				  FROM cand JOIN ct ON ct.nsp OPERATOR(pg_catalog.=) cand.nsp
				   AND (cand.name OPERATOR(pg_catalog.=) ct.model
						OR pg_catalog.right(cand.name, pg_catalog.length(ct.model) OPERATOR(pg_catalog.+) 1)
						   OPERATOR(pg_catalog.=) ('_' OPERATOR(pg_catalog.||) ct.model))) m
		 WHERE m.first_app OPERATOR(pg_catalog.=) m.last_app
		UNION ALL
		SELECT cand.oid, migration_split.domain_name_from(cand.schema_name),
			   pg_catalog.format('table of schema %s', pg_catalog.quote_ident(cand.schema_name)), 6, 0
		  FROM cand
		 WHERE cand.schema_name OPERATOR(pg_catalog.<>) 'public'
		   AND NOT EXISTS (SELECT FROM apps WHERE apps.nsp OPERATOR(pg_catalog.=) cand.nsp)
	),
	best AS (
		SELECT DISTINCT ON (r.oid) r.oid, r.domain, r.reason
		  FROM rules r
		 WHERE r.domain IS NOT NULL
		 ORDER BY r.oid, r.prio, r.specificity DESC, r.domain
	)
	SELECT COALESCE((SELECT pg_catalog.array_agg(b.oid ORDER BY b.oid) FROM best b), '{}'),
		   COALESCE((SELECT pg_catalog.array_agg(b.domain ORDER BY b.oid) FROM best b), '{}'),
		   COALESCE((SELECT pg_catalog.array_agg(b.reason ORDER BY b.oid) FROM best b), '{}'),
		   COALESCE((SELECT pg_catalog.array_agg(cand.oid ORDER BY cand.oid) FROM cand
					  WHERE NOT EXISTS (SELECT FROM best b
										WHERE b.oid OPERATOR(pg_catalog.=) cand.oid)), '{}')
	  INTO found_oids, found_doms, found_why, todo;

	-- Then many-to-many tables by name, name prefixes, and foreign-key
	-- neighbourhood, each pass until nothing changes.
	FOR pass IN 1..3 LOOP
		IF pass OPERATOR(pg_catalog.=) 2 THEN
			FOR t IN
				SELECT p.oid, migration_split.domain_name_from(p.prefix) AS domain,
					   pg_catalog.format('name prefix "%s_" shared with other tables', p.prefix) AS reason
				  FROM migration_split.name_prefix_suggestions() p
				 WHERE p.oid OPERATOR(pg_catalog.=) ANY (todo)
				 ORDER BY p.oid
			LOOP
				found_oids := found_oids OPERATOR(pg_catalog.||) t.oid;
				found_doms := found_doms OPERATOR(pg_catalog.||) t.domain;
				found_why := found_why OPERATOR(pg_catalog.||) t.reason;
				todo := pg_catalog.array_remove(todo, t.oid);
			END LOOP;
			CONTINUE;
		END IF;
		progress := true;
		WHILE progress AND pg_catalog.cardinality(todo) OPERATOR(pg_catalog.>) 0 LOOP
			progress := false;
			FOR t IN
				SELECT f.oid, f.domain, f.reason
				  FROM migration_split.foreign_key_suggestions(found_oids, found_doms, todo,
															   pass OPERATOR(pg_catalog.=) 1) f
				 ORDER BY f.oid
			LOOP
				found_oids := found_oids OPERATOR(pg_catalog.||) t.oid;
				found_doms := found_doms OPERATOR(pg_catalog.||) t.domain;
				found_why := found_why OPERATOR(pg_catalog.||) t.reason;
				todo := pg_catalog.array_remove(todo, t.oid);
				progress := true;
			END LOOP;
		END LOOP;
	END LOOP;

	-- Last, the first word of a name of several words: a one-table app.
	FOR t IN
		SELECT c.oid, migration_split.domain_name_from(pg_catalog.split_part(c.relname, '_', 1)) AS domain,
			   pg_catalog.format('first word of the name ("%s_")', pg_catalog.split_part(c.relname, '_', 1)) AS reason
		  FROM pg_catalog.pg_class c
		 WHERE c.oid OPERATOR(pg_catalog.=) ANY (todo)
		   AND c.relname OPERATOR(pg_catalog.~) '^[^_]+_.'
		 ORDER BY c.oid
	LOOP
		found_oids := found_oids OPERATOR(pg_catalog.||) t.oid;
		found_doms := found_doms OPERATOR(pg_catalog.||) t.domain;
		found_why := found_why OPERATOR(pg_catalog.||) t.reason;
		todo := pg_catalog.array_remove(todo, t.oid);
	END LOOP;

	RETURN QUERY
		SELECT u.oid::pg_catalog.regclass, u.domain, u.reason
		  FROM ROWS FROM (pg_catalog.unnest(found_oids), pg_catalog.unnest(found_doms),
						  pg_catalog.unnest(found_why)) AS u(oid, domain, reason)
		UNION ALL
		SELECT u.oid::pg_catalog.regclass, NULL::text,
			   'no rule applies: assign it yourself'
		  FROM pg_catalog.unnest(todo) AS u(oid)
		 ORDER BY 2 NULLS LAST, 1;
END
$$;
--@end suggest_domains

COMMENT ON FUNCTION migration_split.suggest_domains() IS
	'a suggested domain for every table, from Django content types and naming, schemas, name prefixes and foreign keys, with the reason';

-- Tag every table that has a suggestion and no domain yet, creating the
-- suggested domains that do not exist.  Returns how many tables were tagged.
CREATE FUNCTION migration_split.apply_suggestions()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s		record;
	n		integer := 0;
BEGIN
	FOR s IN
		SELECT g.rel, g.domain
		  FROM migration_split.suggest_domains() g
		 WHERE g.domain IS NOT NULL
		   AND migration_split.table_domain(g.rel) IS NULL
		 ORDER BY g.rel::pg_catalog.oid
	LOOP
		IF NOT EXISTS (SELECT FROM migration_split.domains d
					   WHERE d.domain OPERATOR(pg_catalog.=) s.domain) THEN
			PERFORM migration_split.create_domain(s.domain,
												  'created by migration_split.apply_suggestions()');
		END IF;
		IF migration_split.set_tag(s.rel, s.domain) THEN
			n := n OPERATOR(pg_catalog.+) 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;

COMMENT ON FUNCTION migration_split.apply_suggestions() IS
	'tag every still unowned table with its suggested domain, creating missing domains; returns how many were tagged';

