/*
 * src/sql/boundaries.sql: part of the install script migration_split--1.1.sql
 */

-- Boundaries a team can act on: Django generic relations, loose foreign
-- keys, extraction plans and suggested moves (needs the reports, the
-- monitor and the summary, so it comes after them).

--------------------------------------------------------------------------
-- 8. Boundaries a team can act on
--------------------------------------------------------------------------

/*
 * Reading user data.  Unlike the other reports, generic relations and the
 * orphans of loose foreign keys are counted from the rows of user tables,
 * and the functions run with the caller's rights (often a superuser).
 * They never read through anything a less privileged owner's code could
 * run in:
 *
 *   - only plain tables (relkind 'r', not partitions), and for generic
 *     relations partitioned tables all of whose partitions are plain or
 *     partitioned tables (read through the partitioned table, without a
 *     WHERE clause, so no partition pruning compares values): no views or
 *     foreign tables, whose rules or FDWs could run code;
 *   - row_security = off is pinned, and tables where row-level security
 *     would apply to the caller (row_security_active()) are skipped, so no
 *     policy expression ever runs;
 *   - the columns compared or grouped are of built-in integer types (type
 *     columns) or compared with built-in operators only, and values are
 *     turned into text with their type's output function (format('%s'),
 *     never a cast, which a type's owner could define);
 *   - search_path is pinned and every operator is OPERATOR(pg_catalog.x).
 */

-- Pairs of columns of a Django generic relation (GenericForeignKey): a
-- type column with a foreign key to a table named django_content_type and
-- the id column named after it:
--   content_type_id               object_id, else object_pk
--   <name>_content_type_id        <name>_object_id
--   <name>_type_id                <name>_id
-- (Django's column names for the fields content_type/object_id,
-- <name>_content_type/<name>_object_id and <name>_type/<name>_id;
-- object_pk is django-guardian's and django-contrib-comments'.)  The
-- inheritance children of such a table (not partitions, whose foreign
-- keys are clones), at every level, inherit its columns but not its
-- foreign key: each is a pair too, with its parent's content types.  Read
-- from the catalog only.
CREATE FUNCTION migration_split.generic_relation_columns()
RETURNS TABLE (relid pg_catalog.oid, type_column pg_catalog.name,
			   id_column pg_catalog.name, content_types pg_catalog.oid)
LANGUAGE sql STABLE ROWS 20
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	WITH RECURSIVE declared AS (
		SELECT DISTINCT ON (c.conrelid, ta.attname)
			   c.conrelid AS rel, ta.attname AS typ, ia.attname AS idc, c.confrelid AS ctt
		  FROM pg_catalog.pg_constraint c
		  JOIN pg_catalog.pg_class ct
			ON ct.oid OPERATOR(pg_catalog.=) c.confrelid
		   AND ct.relname OPERATOR(pg_catalog.=) 'django_content_type'
		  JOIN pg_catalog.pg_attribute ta
			ON ta.attrelid OPERATOR(pg_catalog.=) c.conrelid
		   AND ta.attnum OPERATOR(pg_catalog.=) c.conkey[1]
		  CROSS JOIN LATERAL (VALUES
			(1, CASE WHEN ta.attname OPERATOR(pg_catalog.=) 'content_type_id' THEN 'object_id' END),
			(2, CASE WHEN ta.attname OPERATOR(pg_catalog.=) 'content_type_id' THEN 'object_pk' END),
			(3, pg_catalog.regexp_replace(ta.attname::text, '^(.+)_content_type_id$', E'\\1_object_id')),
			(4, pg_catalog.regexp_replace(ta.attname::text, '^(.+)_type_id$', E'\\1_id'))) AS cand(prio, name)
		  JOIN pg_catalog.pg_attribute ia
			ON ia.attrelid OPERATOR(pg_catalog.=) c.conrelid
		   AND ia.attname OPERATOR(pg_catalog.=) cand.name
		   AND ia.attname OPERATOR(pg_catalog.<>) ta.attname
		   AND ia.attnum OPERATOR(pg_catalog.>) 0
		   AND NOT ia.attisdropped
		 WHERE c.contype OPERATOR(pg_catalog.=) 'f'
		   AND c.conparentid OPERATOR(pg_catalog.=) 0
		   AND pg_catalog.cardinality(c.conkey) OPERATOR(pg_catalog.=) 1
		 ORDER BY c.conrelid, ta.attname, cand.prio
	),
	inherited AS (
		SELECT i.inhrelid AS rel, d.typ, d.idc, d.ctt
		  FROM declared d
		  JOIN pg_catalog.pg_inherits i ON i.inhparent OPERATOR(pg_catalog.=) d.rel
		  JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) i.inhrelid
		 WHERE NOT k.relispartition
		UNION
		SELECT i.inhrelid, h.typ, h.idc, h.ctt
		  FROM inherited h
		  JOIN pg_catalog.pg_inherits i ON i.inhparent OPERATOR(pg_catalog.=) h.rel
		  JOIN pg_catalog.pg_class k ON k.oid OPERATOR(pg_catalog.=) i.inhrelid
		 WHERE NOT k.relispartition
	)
	-- a child that declares the foreign key too is one pair (its own)
	SELECT DISTINCT ON (p.rel, p.typ) p.rel, p.typ, p.idc, p.ctt
	  FROM (SELECT d.*, 0 AS own FROM declared d
			UNION ALL
			SELECT h.*, 1 FROM inherited h) p
	 ORDER BY p.rel, p.typ, p.own
$$;

COMMENT ON FUNCTION migration_split.generic_relation_columns() IS
	'pairs of columns of Django generic relations (type column with a foreign key to django_content_type, id column named after it)';

-- Whether the rows of a table may be read by the data-reading reports
-- (see "Reading user data" above): a plain table the caller may read (SELECT
-- on it, USAGE on its schema; not another session's temporary table),
-- without row-level security for the caller.
CREATE FUNCTION migration_split.readable_plain_table(rel pg_catalog.oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
					WHERE c.oid OPERATOR(pg_catalog.=) rel
					  AND c.relkind OPERATOR(pg_catalog.=) 'r'
					  AND NOT c.relispartition
					  AND (c.relpersistence OPERATOR(pg_catalog.<>) 't'
						   OR c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema())
					  AND pg_catalog.has_schema_privilege(c.relnamespace, 'USAGE'))
		   AND pg_catalog.has_table_privilege(rel, 'SELECT')
		   AND NOT pg_catalog.row_security_active(rel)
$$;

-- Whether the rows of a table with a generic relation pair may be read:
-- a plain table as readable_plain_table() says, or a partitioned table
-- (not itself a partition) whose partitions, at every level, are plain or
-- partitioned tables, that the caller may read without row-level security
-- (read through the partitioned table, only its privileges and policies
-- apply, as for any query of it).
CREATE FUNCTION migration_split.readable_generic_table(rel pg_catalog.oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT migration_split.readable_plain_table(rel)
		OR (EXISTS (SELECT FROM pg_catalog.pg_class c
					 WHERE c.oid OPERATOR(pg_catalog.=) rel
					   AND c.relkind OPERATOR(pg_catalog.=) 'p'
					   AND NOT c.relispartition
					   AND (c.relpersistence OPERATOR(pg_catalog.<>) 't'
							OR c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema())
					   AND pg_catalog.has_schema_privilege(c.relnamespace, 'USAGE'))
			AND NOT EXISTS (SELECT FROM pg_catalog.pg_partition_tree(rel) t
							  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.relid
							 WHERE c.relkind NOT IN ('r', 'p'))
			AND pg_catalog.has_table_privilege(rel, 'SELECT')
			AND NOT pg_catalog.row_security_active(rel))
$$;

-- Every generic relation pair with the tables its rows point at, same
-- domain or not: one row per pair and target table.  Content types are
-- mapped to tables as suggest_domains() maps models: the table named
-- <app_label>_<model> in the schema of django_content_type, Django's own
-- tables by their fixed names (admin.logentry is django_admin_log, ...),
-- else the one table of that schema whose name ends in _<model>.  Rows of
-- a content type that maps to no table have a NULL to_table.
--
-- estimate => false counts the rows: one scan of each table with a pair
-- (GROUP BY the type column; parallel workers help on large tables); a
-- partitioned table is read whole (its partitions hold the rows) and its
-- pairs are counted once, under it.
-- estimate => true reads pg_stats instead (most_common_vals and
-- most_common_freqs of the type column times pg_class.reltuples): no
-- table is read, but only what ANALYZE saw is known, and a table never
-- analyzed gives no rows.
CREATE FUNCTION migration_split.generic_relations(estimate boolean DEFAULT false)
RETURNS TABLE (from_table pg_catalog.regclass, from_domain text,
			   type_column text, id_column text,
			   to_table pg_catalog.regclass, to_domain text, rows bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET row_security = off
SET jit = off
AS $function$
DECLARE
	t			record;
	ids			bigint[];
	apps		text[];
	models		text[];
	keys		bigint[];
	counts		bigint[];
	map_ctt		pg_catalog.oid[] := '{}';
	map_id		bigint[] := '{}';
	map_rel		pg_catalog.oid[] := '{}';
	acc_rel		pg_catalog.oid[] := '{}';
	acc_type	text[] := '{}';
	acc_id		text[] := '{}';
	acc_ctt		pg_catalog.oid[] := '{}';
	acc_key		bigint[] := '{}';
	acc_n		bigint[] := '{}';
	g_rel		pg_catalog.oid[];
	g_type		pg_catalog.name[];
	g_id		pg_catalog.name[];
	g_ctt		pg_catalog.oid[];
BEGIN
	PERFORM migration_split.require_argument(estimate, 'estimate');

	-- the pairs, read from the catalog once
	SELECT pg_catalog.array_agg(c.relid), pg_catalog.array_agg(c.type_column),
		   pg_catalog.array_agg(c.id_column), pg_catalog.array_agg(c.content_types)
	  INTO g_rel, g_type, g_id, g_ctt
	  FROM migration_split.generic_relation_columns() c;
	IF g_rel IS NULL THEN
		RETURN;
	END IF;

	-- The content types of every django_content_type table that a pair
	-- references, mapped to tables of its schema.
	FOR t IN
		SELECT DISTINCT g.content_types AS ctt, n.nspname, c.relname, c.relnamespace
		  FROM pg_catalog.unnest(g_ctt) AS g(content_types)
		  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.content_types
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		 WHERE migration_split.readable_plain_table(c.oid)
		   AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a
				 WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid AND NOT a.attisdropped
				   AND ((a.attname OPERATOR(pg_catalog.=) 'id'
						 AND a.atttypid IN ('pg_catalog.int2'::pg_catalog.regtype,
											'pg_catalog.int4'::pg_catalog.regtype,
											'pg_catalog.int8'::pg_catalog.regtype))
						OR a.attname IN ('app_label', 'model')))
			   OPERATOR(pg_catalog.=) 3
	LOOP
		EXECUTE pg_catalog.format(
			'SELECT pg_catalog.array_agg(id::pg_catalog.int8),
					pg_catalog.array_agg(pg_catalog.format(''%%s'', app_label)),
					pg_catalog.array_agg(pg_catalog.format(''%%s'', model))
			   FROM ONLY %I.%I', t.nspname, t.relname)
		   INTO ids, apps, models;
		IF ids IS NULL THEN
			CONTINUE;
		END IF;
		WITH ct AS (
			SELECT u.id, u.app, u.model
			  FROM ROWS FROM (pg_catalog.unnest(ids), pg_catalog.unnest(apps),
							  pg_catalog.unnest(models)) AS u(id, app, model)
		),
		cand AS MATERIALIZED (
			SELECT u.oid, u.name FROM migration_split.user_tables() u
			 WHERE u.nsp OPERATOR(pg_catalog.=) t.relnamespace
		),
		contrib (app, model, name) AS (
			VALUES ('admin', 'logentry', 'django_admin_log'),
				   ('contenttypes', 'contenttype', 'django_content_type'),
				   ('sessions', 'session', 'django_session'),
				   ('sites', 'site', 'django_site'),
				   ('flatpages', 'flatpage', 'django_flatpage'),
				   ('redirects', 'redirect', 'django_redirect'),
				   ('migrations', 'migration', 'django_migrations')
		),
		-- every name, and every part of it after an underscore: the
		-- table a Meta.db_table ending in _<model> may name (only names
		-- with an underscore are split; only the models asked for count)
		suffixes AS (
			SELECT c.oid, c.name AS suffix
			  FROM cand c
			UNION ALL
			SELECT c.oid, pg_catalog.substr(c.name, p.p OPERATOR(pg_catalog.+) 1)
			  FROM cand c,
				   LATERAL (SELECT pg_catalog.generate_series(1, pg_catalog.length(c.name)) AS p) p
			 WHERE pg_catalog.strpos(c.name, '_') OPERATOR(pg_catalog.>) 0
			   AND pg_catalog.substr(c.name, p.p, 1) OPERATOR(pg_catalog.=) '_'
		),
		by_suffix AS (
			SELECT s.suffix, pg_catalog.min(s.oid) AS oid
			  FROM suffixes s
			 WHERE s.suffix IN (SELECT ct.model FROM ct)
			 GROUP BY s.suffix
			HAVING pg_catalog.count(DISTINCT s.oid) OPERATOR(pg_catalog.=) 1
		)
		SELECT map_ctt OPERATOR(pg_catalog.||) pg_catalog.array_agg(t.ctt),
			   map_id OPERATOR(pg_catalog.||) pg_catalog.array_agg(ct.id),
			   map_rel OPERATOR(pg_catalog.||) pg_catalog.array_agg(COALESCE(e.oid, d.oid, b.oid))
		  INTO map_ctt, map_id, map_rel
		  FROM ct
		  LEFT JOIN cand e
			ON e.name OPERATOR(pg_catalog.=) (ct.app OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) ct.model)
		  LEFT JOIN (SELECT x.app, x.model, c.oid
					   FROM contrib x JOIN cand c ON c.name OPERATOR(pg_catalog.=) x.name) d
			ON d.app OPERATOR(pg_catalog.=) ct.app AND d.model OPERATOR(pg_catalog.=) ct.model
		  LEFT JOIN by_suffix b ON b.suffix OPERATOR(pg_catalog.=) ct.model;
	END LOOP;

	-- The rows of every pair, by content type.
	FOR t IN
		SELECT g.relid, g.type_column, g.id_column, g.content_types,
			   n.nspname, c.relname, c.relkind,
			   CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'p'
					THEN (SELECT COALESCE(pg_catalog.sum(GREATEST(pc.reltuples, 0)), 0)
							FROM pg_catalog.pg_partition_tree(g.relid) pt
							JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) pt.relid
						   WHERE pc.relkind OPERATOR(pg_catalog.=) 'r')
					ELSE c.reltuples END AS reltuples
		  FROM ROWS FROM (pg_catalog.unnest(g_rel), pg_catalog.unnest(g_type),
						  pg_catalog.unnest(g_id), pg_catalog.unnest(g_ctt))
			   AS g(relid, type_column, id_column, content_types)
		  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.relid
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		  JOIN pg_catalog.pg_attribute a
			ON a.attrelid OPERATOR(pg_catalog.=) g.relid
		   AND a.attname OPERATOR(pg_catalog.=) g.type_column
		 WHERE migration_split.readable_generic_table(g.relid)
		   AND a.atttypid IN ('pg_catalog.int2'::pg_catalog.regtype,
							  'pg_catalog.int4'::pg_catalog.regtype,
							  'pg_catalog.int8'::pg_catalog.regtype)
		 ORDER BY g.relid, g.type_column
	LOOP
		IF estimate THEN
			SELECT s.most_common_vals::text::bigint[],
				   (SELECT pg_catalog.array_agg(pg_catalog.round(f OPERATOR(pg_catalog.*)
								GREATEST(t.reltuples, 0))::bigint ORDER BY o)
					  FROM pg_catalog.unnest(s.most_common_freqs) WITH ORDINALITY AS u(f, o))
			  INTO keys, counts
			  FROM pg_catalog.pg_stats s
			 WHERE s.schemaname OPERATOR(pg_catalog.=) t.nspname
			   AND s.tablename OPERATOR(pg_catalog.=) t.relname
			   AND s.attname OPERATOR(pg_catalog.=) t.type_column
			   AND s.inherited OPERATOR(pg_catalog.=) (t.relkind OPERATOR(pg_catalog.=) 'p');
		ELSIF t.relkind OPERATOR(pg_catalog.=) 'p' THEN
			-- no WHERE clause: nothing for partition pruning to compare
			EXECUTE pg_catalog.format(
				'SELECT pg_catalog.array_agg(s.k) FILTER (WHERE s.k IS NOT NULL),
						pg_catalog.array_agg(s.n) FILTER (WHERE s.k IS NOT NULL)
				   FROM (SELECT %1$I::pg_catalog.int8 AS k, pg_catalog.count(*) AS n
						   FROM %2$I.%3$I
						  GROUP BY 1) s',
				t.type_column, t.nspname, t.relname)
			   INTO keys, counts;
		ELSE
			EXECUTE pg_catalog.format(
				'SELECT pg_catalog.array_agg(s.k), pg_catalog.array_agg(s.n)
				   FROM (SELECT %1$I::pg_catalog.int8 AS k, pg_catalog.count(*) AS n
						   FROM ONLY %2$I.%3$I
						  WHERE %1$I IS NOT NULL
						  GROUP BY 1) s',
				t.type_column, t.nspname, t.relname)
			   INTO keys, counts;
		END IF;
		IF keys IS NULL THEN
			CONTINUE;
		END IF;
		acc_rel := acc_rel OPERATOR(pg_catalog.||)
			pg_catalog.array_fill(t.relid, ARRAY[pg_catalog.cardinality(keys)]);
		acc_type := acc_type OPERATOR(pg_catalog.||)
			pg_catalog.array_fill(t.type_column::text, ARRAY[pg_catalog.cardinality(keys)]);
		acc_id := acc_id OPERATOR(pg_catalog.||)
			pg_catalog.array_fill(t.id_column::text, ARRAY[pg_catalog.cardinality(keys)]);
		acc_ctt := acc_ctt OPERATOR(pg_catalog.||)
			pg_catalog.array_fill(t.content_types, ARRAY[pg_catalog.cardinality(keys)]);
		acc_key := acc_key OPERATOR(pg_catalog.||) keys;
		acc_n := acc_n OPERATOR(pg_catalog.||) counts;
	END LOOP;

	RETURN QUERY
	WITH pairs AS (
		SELECT u.rel, u.typ, u.idc, m.rel AS target, pg_catalog.sum(u.n)::bigint AS n
		  FROM ROWS FROM (pg_catalog.unnest(acc_rel), pg_catalog.unnest(acc_type),
						  pg_catalog.unnest(acc_id), pg_catalog.unnest(acc_ctt),
						  pg_catalog.unnest(acc_key), pg_catalog.unnest(acc_n))
			   AS u(rel, typ, idc, ctt, key, n)
		  LEFT JOIN ROWS FROM (pg_catalog.unnest(map_ctt), pg_catalog.unnest(map_id),
							   pg_catalog.unnest(map_rel)) AS m(ctt, id, rel)
			ON m.ctt OPERATOR(pg_catalog.=) u.ctt AND m.id OPERATOR(pg_catalog.=) u.key
		 WHERE u.n OPERATOR(pg_catalog.>) 0
		 GROUP BY 1, 2, 3, 4
	)
	SELECT p.rel::pg_catalog.regclass, migration_split.report_domain(p.rel), p.typ, p.idc,
		   p.target::pg_catalog.regclass, migration_split.report_domain(p.target), p.n
	  FROM pairs p
	 ORDER BY p.rel::pg_catalog.regclass::text COLLATE "C", p.typ COLLATE "C",
			  p.target::pg_catalog.regclass::text COLLATE "C" NULLS LAST;
END
$function$;

COMMENT ON FUNCTION migration_split.generic_relations(boolean) IS
	'Django generic relations: per pair of columns and table pointed at, the rows (counted, or estimated from pg_stats)';

-- The generic relations whose two ends are in different domains (an
-- unowned end has a NULL domain; two unowned ends do not cross), counted
-- from the data.
CREATE VIEW migration_split.cross_domain_generic_relations AS
SELECT g.from_table, g.from_domain, g.type_column, g.id_column,
	   g.to_table, g.to_domain, g.rows
  FROM migration_split.generic_relations(false) g
 WHERE g.from_domain IS DISTINCT FROM g.to_domain;

COMMENT ON VIEW migration_split.cross_domain_generic_relations IS
	'Django generic relations (content type and object id) whose rows point at tables of another domain, with the number of rows';

GRANT SELECT ON migration_split.cross_domain_generic_relations TO PUBLIC;
GRANT EXECUTE ON FUNCTION migration_split.generic_relation_columns(),
	migration_split.readable_plain_table(pg_catalog.oid),
	migration_split.readable_generic_table(pg_catalog.oid),
	migration_split.generic_relations(boolean) TO PUBLIC;

--------------------------------------------------------------------------
-- Loose foreign keys
--------------------------------------------------------------------------

/*
 * A loosened foreign key is dropped from the catalog and remembered here;
 * deletes and key updates of the referenced rows are queued by statement
 * triggers on the referenced table, and process_loose_foreign_keys()
 * applies the clean-ups later, in batches, as PostgreSQL's own ON DELETE
 * actions would have (the check that the key is gone runs as the owner
 * of the referenced table, the DELETE or UPDATE of the referencing rows as
 * the owner of the referencing table, like the RI triggers).
 *
 * Privileges: loosening and tightening drop or add the constraint on the
 * referencing table and triggers on the referenced table, so the caller
 * must have the privileges of the owners of both tables (or be a
 * superuser); membership in migration_split_admin alone is not enough,
 * the functions are SECURITY INVOKER like the rest of the extension.  The
 * row trigger on loose_foreign_key_definitions enforces the same rule on
 * direct writes.  Only trigger functions are SECURITY DEFINER: the queue
 * trigger function writes the queue, which no user may write directly, and
 * runs no user code (it reads the transition tables and turns key values
 * into text with their type's output function); the row trigger that
 * forgets or follows a key's queue under session_replication_role =
 * replica runs after the row check; the event trigger function that
 * forgets the keys of a dropped table has no owner to check.
 */

-- One row per loosened foreign key: enough to put it back.  Columns are
-- kept by name (attribute numbers change across dump and restore), the
-- equality operators as regoperator (likewise).
CREATE TABLE migration_split.loose_foreign_key_definitions (
	rel				regclass NOT NULL,
	constraint_name	name NOT NULL,
	referenced		regclass NOT NULL,
	from_columns	name[] NOT NULL,
	to_columns		name[] NOT NULL,
	pf_operators	regoperator[] NOT NULL,
	pp_operators	regoperator[] NOT NULL,
	on_delete		text NOT NULL,
	definition		text NOT NULL,
	options			text NOT NULL,
	loosened_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	loosened_by		name NOT NULL DEFAULT CURRENT_USER,
	PRIMARY KEY (rel, constraint_name),
	CONSTRAINT loose_foreign_key_definitions_on_delete_check
		CHECK (on_delete IN ('cascade', 'set null', 'none'))
);

CREATE INDEX loose_foreign_key_definitions_referenced_idx
	ON migration_split.loose_foreign_key_definitions (referenced);

CREATE SEQUENCE migration_split.loose_foreign_key_queue_id_seq;

-- Pending clean-ups: one row per key of a referenced row that was deleted
-- or whose key changed, for each loosened key with an action.  attempts
-- and last_error: clean-ups of the entry that failed, and the last error.
CREATE TABLE migration_split.loose_foreign_key_queue (
	id				bigint PRIMARY KEY
					DEFAULT pg_catalog.nextval('migration_split.loose_foreign_key_queue_id_seq'),
	rel				regclass NOT NULL,
	constraint_name	name NOT NULL,
	key				text[] NOT NULL,
	queued_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	attempts		integer NOT NULL DEFAULT 0,
	last_error		text,
	FOREIGN KEY (rel, constraint_name)
		REFERENCES migration_split.loose_foreign_key_definitions (rel, constraint_name)
		ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE INDEX loose_foreign_key_queue_key_idx
	ON migration_split.loose_foreign_key_queue (rel, constraint_name);

ALTER SEQUENCE migration_split.loose_foreign_key_queue_id_seq
	OWNED BY migration_split.loose_foreign_key_queue.id;

SELECT pg_catalog.pg_extension_config_dump('migration_split.loose_foreign_key_definitions', '');
SELECT pg_catalog.pg_extension_config_dump('migration_split.loose_foreign_key_queue', '');
SELECT pg_catalog.pg_extension_config_dump('migration_split.loose_foreign_key_queue_id_seq', '');

-- Raise the error for a caller who may not loosen or tighten the foreign
-- key of rel to referenced.
CREATE FUNCTION migration_split.require_owner_of_both(rel regclass, referenced regclass,
													  constraint_name name, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (EXISTS (SELECT FROM pg_catalog.pg_roles r
					 WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER AND r.rolsuper)
			OR (EXISTS (SELECT FROM pg_catalog.pg_class c
						 WHERE c.oid OPERATOR(pg_catalog.=) rel
						   AND pg_catalog.pg_has_role(c.relowner, 'USAGE'))
				AND EXISTS (SELECT FROM pg_catalog.pg_class c
							 WHERE c.oid OPERATOR(pg_catalog.=) referenced
							   AND pg_catalog.pg_has_role(c.relowner, 'USAGE')))) THEN
		RAISE EXCEPTION 'permission denied to % foreign key "%" of table "%"', action, constraint_name, rel
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('Only the owners of both tables "%s" and "%s" and superusers may %s it.',
											 rel, referenced, action);
	END IF;
END
$$;

-- Whether options is what loosen_foreign_key() writes: the clauses of
-- the constraint after its columns, appended to ALTER TABLE ... ADD
-- CONSTRAINT by tighten_foreign_key().  The table may be written by hand
-- (by the owners of both tables), so anything else, which could carry SQL
-- for whoever tightens, is refused: [ MATCH FULL] ON UPDATE <action> ON
-- DELETE <action>[ (<columns as quote_ident() writes them>)][ DEFERRABLE[
-- INITIALLY DEFERRED]].
CREATE FUNCTION migration_split.loose_foreign_key_options_valid(options text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT options OPERATOR(pg_catalog.~) (
		'^( MATCH FULL)?'
		OPERATOR(pg_catalog.||) ' ON UPDATE (NO ACTION|RESTRICT|CASCADE|SET NULL|SET DEFAULT)'
		OPERATOR(pg_catalog.||) ' ON DELETE (NO ACTION|RESTRICT|CASCADE|SET NULL|SET DEFAULT)'
		OPERATOR(pg_catalog.||) E'( \\(([a-z_][a-z0-9_]*|"([^"]|"")+")(, ([a-z_][a-z0-9_]*|"([^"]|"")+"))*\\))?'
		OPERATOR(pg_catalog.||) '( DEFERRABLE( INITIALLY DEFERRED)?)?$')
$$;

-- Raise the error for options that loosen_foreign_key() does not write.
CREATE FUNCTION migration_split.require_loose_foreign_key_options(rel regclass, constraint_name name,
																  options text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT COALESCE(migration_split.loose_foreign_key_options_valid(options), false) THEN
		RAISE EXCEPTION 'invalid options for loose foreign key "%" of table "%"', constraint_name, rel
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = pg_catalog.format('Options %L are not what loosen_foreign_key() writes.', options),
				  HINT = 'Options are [ MATCH FULL] ON UPDATE <action> ON DELETE <action>[ (<columns>)][ DEFERRABLE[ INITIALLY DEFERRED]].';
	END IF;
END
$$;

-- Row check on loose_foreign_key_definitions: who may write a row, and
-- that a row written by hand is one loosen_foreign_key() could write
-- (options, columns that exist, one operator of each kind per column).
CREATE FUNCTION migration_split.check_loose_foreign_key_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	missing	text;
BEGIN
	IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN
		PERFORM migration_split.require_owner_of_both(OLD.rel, OLD.referenced,
													  OLD.constraint_name, 'change');
	END IF;
	IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN
		PERFORM migration_split.require_owner_of_both(NEW.rel, NEW.referenced,
													  NEW.constraint_name, 'change');
		PERFORM migration_split.require_loose_foreign_key_options(NEW.rel, NEW.constraint_name,
																  NEW.options);
		-- the key's columns, one operator of each kind per column
		IF pg_catalog.cardinality(NEW.from_columns) OPERATOR(pg_catalog.<) 1
		   OR pg_catalog.cardinality(NEW.to_columns) OPERATOR(pg_catalog.<>) pg_catalog.cardinality(NEW.from_columns)
		   OR pg_catalog.cardinality(NEW.pf_operators) OPERATOR(pg_catalog.<>) pg_catalog.cardinality(NEW.from_columns)
		   OR pg_catalog.cardinality(NEW.pp_operators) OPERATOR(pg_catalog.<>) pg_catalog.cardinality(NEW.from_columns) THEN
			RAISE EXCEPTION 'invalid definition of loose foreign key "%" of table "%"', NEW.constraint_name, NEW.rel
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'It needs as many columns on both sides and operators of each kind, at least one.';
		END IF;
		SELECT pg_catalog.format('Column "%s" of table "%s" does not exist.', m.col, m.tbl) INTO missing
		  FROM (SELECT NEW.rel AS tbl, c.col FROM pg_catalog.unnest(NEW.from_columns) c(col)
				UNION ALL
				SELECT NEW.referenced, c.col FROM pg_catalog.unnest(NEW.to_columns) c(col)) m
		 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
							WHERE a.attrelid OPERATOR(pg_catalog.=) m.tbl::pg_catalog.oid
							  AND a.attname OPERATOR(pg_catalog.=) m.col
							  AND a.attnum OPERATOR(pg_catalog.>) 0
							  AND NOT a.attisdropped)
		 LIMIT 1;
		IF missing IS NOT NULL THEN
			RAISE EXCEPTION 'invalid definition of loose foreign key "%" of table "%"', NEW.constraint_name, NEW.rel
				USING ERRCODE = 'undefined_column', DETAIL = missing;
		END IF;
		RETURN NEW;
	END IF;
	RETURN OLD;
END
$$;

CREATE TRIGGER loose_foreign_key_check
	BEFORE INSERT OR UPDATE OR DELETE ON migration_split.loose_foreign_key_definitions
	FOR EACH ROW EXECUTE FUNCTION migration_split.check_loose_foreign_key_change();

-- The row check also with session_replication_role = replica, which a
-- role may be allowed to set (GRANT SET ON PARAMETER) and under which
-- ordinary triggers do not fire.
ALTER TABLE migration_split.loose_foreign_key_definitions ENABLE ALWAYS TRIGGER loose_foreign_key_check;

-- With session_replication_role = replica, do what the queue's foreign key
-- does otherwise (its action triggers do not fire then): forget the queue
-- of a forgotten key, follow a renamed one.  After the row check, which
-- allowed the change; SECURITY DEFINER, as no user may write the queue.
CREATE FUNCTION migration_split.loose_foreign_key_queue_follow()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.<>) 'replica' THEN
		RETURN NULL;
	END IF;
	IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
		DELETE FROM migration_split.loose_foreign_key_queue q
		 WHERE q.rel OPERATOR(pg_catalog.=) OLD.rel
		   AND q.constraint_name OPERATOR(pg_catalog.=) OLD.constraint_name;
	ELSIF NEW.rel OPERATOR(pg_catalog.<>) OLD.rel
		  OR NEW.constraint_name OPERATOR(pg_catalog.<>) OLD.constraint_name THEN
		UPDATE migration_split.loose_foreign_key_queue q
		   SET rel = NEW.rel, constraint_name = NEW.constraint_name
		 WHERE q.rel OPERATOR(pg_catalog.=) OLD.rel
		   AND q.constraint_name OPERATOR(pg_catalog.=) OLD.constraint_name;
	END IF;
	RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION migration_split.loose_foreign_key_queue_follow() FROM PUBLIC;

CREATE TRIGGER loose_foreign_key_queue_follow
	AFTER UPDATE OR DELETE ON migration_split.loose_foreign_key_definitions
	FOR EACH ROW EXECUTE FUNCTION migration_split.loose_foreign_key_queue_follow();
ALTER TABLE migration_split.loose_foreign_key_definitions ENABLE ALWAYS TRIGGER loose_foreign_key_queue_follow;

-- Statement trigger function on a referenced table: queue the keys that
-- disappeared (deleted, or changed by an UPDATE) for every loosened key
-- with an action.  Transition tables old_rows (and new_rows for UPDATE).
-- Keys are written as text with the settings that define text I/O pinned
-- (as process_loose_foreign_keys() reads them), whatever the deleting
-- session set (a date written with DateStyle DMY would be read back as
-- another date).
-- A statement trigger fires only on the table the statement names, so a
-- partitioned referenced table has the triggers on every member of its
-- partition tree (sync_loose_foreign_key_triggers): a delete made directly
-- on a partition queues the keys of the loose keys referencing the
-- partition, any of its ancestors or any of its own partitions (the rows
-- deleted may belong to each of them; process_loose_foreign_keys() checks
-- that a key is gone from the referenced table before cleaning up).
CREATE FUNCTION migration_split.loose_foreign_key_enqueue()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET row_security = off
SET DateStyle = 'ISO'
SET IntervalStyle = 'postgres'
SET TimeZone = 'UTC'
SET extra_float_digits = 3
SET lc_monetary = 'C'
AS $$
DECLARE
	k		record;
	old_key	text;
	new_key	text;
	present	text;
BEGIN
	IF TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER'
	   OR TG_OP NOT IN ('DELETE', 'UPDATE') THEN
		RAISE EXCEPTION 'function % must be fired AFTER DELETE or UPDATE FOR EACH STATEMENT',
			'migration_split.loose_foreign_key_enqueue()'
			USING ERRCODE = 'triggered_action_exception';
	END IF;
	-- old_rows and new_rows below must be the trigger's transition tables:
	-- a name that is not one would be looked up as a relation, in the
	-- session's pg_temp too, where a temporary view could run anything
	-- with this function's rights.
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
					WHERE t.tgrelid OPERATOR(pg_catalog.=) TG_RELID
					  AND t.tgname OPERATOR(pg_catalog.=) TG_NAME
					  AND t.tgoldtable OPERATOR(pg_catalog.=) 'old_rows'
					  AND (TG_OP OPERATOR(pg_catalog.=) 'DELETE'
						   OR t.tgnewtable OPERATOR(pg_catalog.=) 'new_rows')) THEN
		RAISE EXCEPTION 'function % must be fired by a trigger with the transition tables old_rows and, for UPDATE, new_rows',
			'migration_split.loose_foreign_key_enqueue()'
			USING ERRCODE = 'triggered_action_exception',
				  DETAIL = pg_catalog.format('Trigger "%s" on table "%s" does not declare them.',
											 TG_NAME, TG_RELID::pg_catalog.regclass),
				  HINT = 'Only the triggers that loosen_foreign_key() creates may use it.';
	END IF;
	FOR k IN
		SELECT l.rel, l.constraint_name, l.to_columns
		  FROM migration_split.loose_foreign_key_definitions l
		 WHERE l.on_delete OPERATOR(pg_catalog.<>) 'none'
		   AND (l.referenced::pg_catalog.oid OPERATOR(pg_catalog.=) TG_RELID
				OR l.referenced IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors(TG_RELID) a)
				OR l.referenced IN (SELECT t.relid FROM pg_catalog.pg_partition_tree(TG_RELID) t))
		 ORDER BY l.rel, l.constraint_name
	LOOP
		SELECT pg_catalog.string_agg(pg_catalog.format('pg_catalog.format(''%%s'', o.%I)', c), ', '),
			   pg_catalog.string_agg(pg_catalog.format('pg_catalog.format(''%%s'', n.%I)', c), ', '),
			   pg_catalog.string_agg(pg_catalog.format('o.%I IS NOT NULL', c), ' AND ')
		  INTO old_key, new_key, present
		  FROM pg_catalog.unnest(k.to_columns) AS u(c);
		IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
			EXECUTE pg_catalog.format(
				'INSERT INTO migration_split.loose_foreign_key_queue (rel, constraint_name, key)
				 SELECT DISTINCT $1, $2, ARRAY[%s] FROM old_rows o WHERE %s',
				old_key, present)
			  USING k.rel, k.constraint_name;
		ELSE
			EXECUTE pg_catalog.format(
				'INSERT INTO migration_split.loose_foreign_key_queue (rel, constraint_name, key)
				 SELECT $1, $2, x.key
				   FROM (SELECT ARRAY[%s] AS key FROM old_rows o WHERE %s
						 EXCEPT
						 SELECT ARRAY[%s] FROM new_rows n) x',
				old_key, present, new_key)
			  USING k.rel, k.constraint_name;
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;

-- Create or drop the queue triggers of a referenced table: present while
-- a loosened key with an action references it.  For a table in a
-- partition tree, on every plain or partitioned member of the tree
-- (statement triggers are not cloned to partitions, and a delete may name
-- any member): present while a loosened key with an action references
-- any member.  Foreign partitions cannot have transition tables and get
-- none.  With within, only the members of within's own partition tree
-- (within and its partitions, at every level) are looked at, and only
-- when some member of the tree has the triggers: the event trigger below
-- passes the table a CREATE TABLE or ALTER TABLE touched.
-- The tree and its triggers are read as the catalog shows them now
-- (relation_tree_now(), extraction.sql), the keys with the transaction's snapshot:
-- in REPEATABLE READ or SERIALIZABLE, which may not show a key another
-- session loosened after the snapshot was taken, a tree some member of
-- which has the triggers wants them too (that session created them on
-- every member it saw; a member made since would lack them).
CREATE FUNCTION migration_split.sync_loose_foreign_key_triggers(referenced regclass,
																within regclass DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tree	pg_catalog.oid[];
	has		boolean;
	wanted	boolean;
	m		record;
BEGIN
	SELECT pg_catalog.array_agg(t.member::pg_catalog.oid), COALESCE(pg_catalog.bool_or(t.has_trigger), false)
	  INTO tree, has
	  FROM migration_split.relation_tree_now(sync_loose_foreign_key_triggers.referenced,
												  'migration_split_loose_fk_delete') t;
	IF tree IS NULL THEN
		RETURN;					-- dropped meanwhile
	END IF;
	wanted := EXISTS (SELECT FROM migration_split.loose_foreign_key_definitions l
					   WHERE l.referenced::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (tree)
						 AND l.on_delete OPERATOR(pg_catalog.<>) 'none')
			  OR (has AND pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.<>) 'read committed');
	-- From the event trigger, triggers are added only to a tree that has
	-- them already: while pg_restore rebuilds a database (constraints are
	-- added by ALTER TABLE after the definitions are loaded), none has,
	-- and the dump's own CREATE TRIGGER then adds them.
	IF within IS NOT NULL AND wanted AND NOT has THEN
		RETURN;
	END IF;
	FOR m IN
		SELECT t.member, t.has_trigger
		  FROM migration_split.relation_tree_now(sync_loose_foreign_key_triggers.referenced,
												  'migration_split_loose_fk_delete') t
		 WHERE t.relkind IN ('r', 'p')
		   AND (within IS NULL
				OR t.member::pg_catalog.oid IN (SELECT w.relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree(within) w))
		 ORDER BY t.member::pg_catalog.oid
	LOOP
		-- In REPEATABLE READ or SERIALIZABLE, the snapshot may not show
		-- a key that another session loosened after it was taken: the
		-- triggers are created OR REPLACE (the other session may create
		-- them on a member at the same time), and dropped only in READ
		-- COMMITTED (where each statement sees what committed before the
		-- caller's DDL got its locks); unneeded triggers queue nothing,
		-- and a later call in READ COMMITTED drops them.
		IF wanted AND NOT m.has_trigger THEN
			EXECUTE pg_catalog.format(
				'CREATE OR REPLACE TRIGGER migration_split_loose_fk_delete AFTER DELETE ON %s
				 REFERENCING OLD TABLE AS old_rows
				 FOR EACH STATEMENT EXECUTE FUNCTION migration_split.loose_foreign_key_enqueue()',
				m.member);
			EXECUTE pg_catalog.format(
				'CREATE OR REPLACE TRIGGER migration_split_loose_fk_update AFTER UPDATE ON %s
				 REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
				 FOR EACH STATEMENT EXECUTE FUNCTION migration_split.loose_foreign_key_enqueue()',
				m.member);
		ELSIF m.has_trigger AND NOT wanted
			  AND pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.=) 'read committed' THEN
			EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS migration_split_loose_fk_delete ON %s',
									  m.member);
			EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS migration_split_loose_fk_update ON %s',
									  m.member);
		END IF;
	END LOOP;
END
$$;

-- After CREATE TABLE and ALTER TABLE, for the tables the command touched
-- (pg_event_trigger_ddl_commands()), never others, so that a command of a
-- user who owns none of a loose key's tables never fails because of it:
--   - a key column of a loose key that is gone was renamed (a dropped
--     one forgot the key, forget_dropped_loose_foreign_keys()): refused,
--     the definition names its columns;
--   - a partition created (CREATE TABLE ... PARTITION OF) or attached
--     (ALTER TABLE ... ATTACH PARTITION) in the partition tree of a
--     loosened referenced table gets the queue triggers, with its own
--     partitions (sync_loose_foreign_key_triggers() within each member
--     of the touched tables' trees that this transaction made a
--     partition).
-- Costs one query of loose_foreign_key_definitions while no key is loose,
-- in READ COMMITTED; in REPEATABLE READ or SERIALIZABLE, a look at the
-- partition tree of each partitioned table or partition touched.
-- Runs as the user of the DDL, who owns the touched table.
CREATE FUNCTION migration_split.sync_loose_foreign_key_partitions()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r		record;
	touched	pg_catalog.oid[];
	rc		boolean;
BEGIN
	rc := pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.=) 'read committed';
	IF pg_catalog.to_regclass('migration_split.loose_foreign_key_definitions') IS NULL
	   OR (rc AND NOT EXISTS (SELECT FROM migration_split.loose_foreign_key_definitions)) THEN
		RETURN;
	END IF;
	SELECT pg_catalog.array_agg(DISTINCT d.objid) INTO touched
	  FROM pg_catalog.pg_event_trigger_ddl_commands() d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass;
	IF touched IS NULL THEN
		RETURN;
	END IF;

	FOR r IN
		SELECT l.rel, l.constraint_name, m.tbl, m.col
		  FROM migration_split.loose_foreign_key_definitions l
		 CROSS JOIN LATERAL (SELECT l.rel AS tbl, c.col FROM pg_catalog.unnest(l.from_columns) c(col)
							 UNION ALL
							 SELECT l.referenced, c.col FROM pg_catalog.unnest(l.to_columns) c(col)) m
		 WHERE m.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (touched)
		   AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
							WHERE a.attrelid OPERATOR(pg_catalog.=) m.tbl::pg_catalog.oid
							  AND a.attname OPERATOR(pg_catalog.=) m.col
							  AND a.attnum OPERATOR(pg_catalog.>) 0
							  AND NOT a.attisdropped)
		 ORDER BY l.rel, l.constraint_name
		 LIMIT 1
	LOOP
		RAISE EXCEPTION 'cannot rename column "%" of table "%"', r.col, r.tbl
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = pg_catalog.format('It is a key column of loose foreign key "%s" of table "%s", whose definition names its columns.',
											 r.constraint_name, r.rel),
				  HINT = 'Tighten the foreign key with migration_split.tighten_foreign_key(), rename the column, then loosen the key again.';
	END LOOP;

	-- The members of the touched tables' trees that this transaction made
	-- partitions, each with its own partitions: not a tree whose other
	-- members lack the triggers for another reason (pg_restore -j creates
	-- the dump's triggers in parallel with the constraints' ALTER TABLE).
	-- In READ COMMITTED, only the trees that a loosened key references;
	-- otherwise every tree touched, as the snapshot may not show a key
	-- another session loosened since (sync_loose_foreign_key_triggers()
	-- then looks at the triggers of the tree).
	FOR r IN
		SELECT DISTINCT t.member AS within
		  FROM pg_catalog.pg_class c
		 CROSS JOIN LATERAL migration_split.relation_tree_now(c.oid::pg_catalog.regclass,
														 'migration_split_loose_fk_delete') t
		 WHERE c.oid OPERATOR(pg_catalog.=) ANY (touched)
		   AND (c.relkind OPERATOR(pg_catalog.=) 'p' OR c.relispartition)
		   AND t.attached_now
		   AND (NOT rc
				OR EXISTS (SELECT FROM migration_split.loose_foreign_key_definitions l
							WHERE l.on_delete OPERATOR(pg_catalog.<>) 'none'
							  AND l.referenced::pg_catalog.oid IN
								  (SELECT p.relid FROM pg_catalog.pg_partition_tree(
														COALESCE(pg_catalog.pg_partition_root(c.oid), c.oid)) p)))
		 ORDER BY 1
	LOOP
		PERFORM migration_split.sync_loose_foreign_key_triggers(r.within, r.within);
	END LOOP;
END
$$;

CREATE EVENT TRIGGER migration_split_loose_foreign_key_partitions ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
	EXECUTE FUNCTION migration_split.sync_loose_foreign_key_partitions();

-- Also with session_replication_role = replica: a rename made then would
-- leave a definition naming a column that is gone.
ALTER EVENT TRIGGER migration_split_loose_foreign_key_partitions ENABLE ALWAYS;

-- Drop a cross-domain foreign key and clean up after deletes of the
-- referenced rows asynchronously instead: on_delete 'cascade' deletes the
-- referencing rows, 'set null' sets the key columns to NULL, 'none' only
-- lets loose_foreign_key_orphans() list them.
CREATE FUNCTION migration_split.loosen_foreign_key(rel regclass, constraint_name name,
												   on_delete text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	con			record;
	action		text := pg_catalog.lower(on_delete COLLATE "C");
	from_dom	text;
	to_dom		text;
	notnull_col	name;
	violated	text;
BEGIN
	PERFORM migration_split.require_argument(rel, 'rel');
	PERFORM migration_split.require_argument(constraint_name, 'constraint_name');
	PERFORM migration_split.require_argument(on_delete, 'on_delete');
	PERFORM migration_split.require_relation(rel);
	IF action NOT IN ('cascade', 'set null', 'none') THEN
		RAISE EXCEPTION 'unknown on_delete action "%"', on_delete
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Valid actions are "cascade", "set null" and "none".';
	END IF;
	IF EXISTS (SELECT FROM migration_split.loose_foreign_key_definitions l
				WHERE l.rel OPERATOR(pg_catalog.=) loosen_foreign_key.rel
				  AND l.constraint_name OPERATOR(pg_catalog.=) loosen_foreign_key.constraint_name) THEN
		RAISE EXCEPTION 'foreign key "%" of table "%" is already loose', constraint_name, rel
			USING ERRCODE = 'duplicate_object',
				  HINT = 'See migration_split.loose_foreign_keys; migration_split.tighten_foreign_key() restores it.';
	END IF;
	SELECT c.* INTO con
	  FROM pg_catalog.pg_constraint c
	 WHERE c.conrelid OPERATOR(pg_catalog.=) rel
	   AND c.conname OPERATOR(pg_catalog.=) constraint_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'constraint "%" of relation "%" does not exist', constraint_name, rel
			USING ERRCODE = 'undefined_object';
	END IF;
	IF con.contype OPERATOR(pg_catalog.<>) 'f' THEN
		RAISE EXCEPTION 'constraint "%" of relation "%" is not a foreign key', constraint_name, rel
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF con.conparentid OPERATOR(pg_catalog.<>) 0 THEN
		RAISE EXCEPTION 'foreign key "%" of relation "%" is inherited', constraint_name, rel
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = pg_catalog.format('It belongs to partitioned table "%s".',
					(SELECT p.conrelid::pg_catalog.regclass FROM pg_catalog.pg_constraint p
					  WHERE p.oid OPERATOR(pg_catalog.=) con.conparentid)),
				  HINT = 'Loosen the foreign key of the partitioned table.';
	END IF;
	PERFORM migration_split.require_owner_of_both(rel, con.confrelid, constraint_name, 'loosen');
	from_dom := migration_split.table_domain(rel);
	to_dom := migration_split.table_domain(con.confrelid);
	IF from_dom IS NOT DISTINCT FROM to_dom THEN
		RAISE EXCEPTION 'foreign key "%" of table "%" does not cross a domain boundary', constraint_name, rel
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = CASE WHEN from_dom IS NULL
							THEN pg_catalog.format('Neither "%s" nor "%s" belongs to a domain.', rel,
												   con.confrelid::pg_catalog.regclass)
							ELSE pg_catalog.format('Both "%s" and "%s" belong to domain "%s".', rel,
												   con.confrelid::pg_catalog.regclass, from_dom) END,
				  HINT = 'Only the foreign keys of migration_split.cross_domain_foreign_keys can be loosened.';
	END IF;
	IF action OPERATOR(pg_catalog.=) 'set null' THEN
		SELECT a.attname INTO notnull_col
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid OPERATOR(pg_catalog.=) rel
		   AND a.attnum OPERATOR(pg_catalog.=) ANY (con.conkey)
		   AND a.attnotnull
		 ORDER BY a.attnum LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'cannot loosen foreign key "%" of table "%" with on_delete "set null"', constraint_name, rel
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = pg_catalog.format('Column "%s" is NOT NULL.', notnull_col),
					  HINT = 'Use "cascade" or "none", or drop the NOT NULL constraint first.';
		END IF;
	END IF;

	-- Another session loosening the same key concurrently has passed the check
	-- above too: the INSERT waits for it, then finds its row (whatever the
	-- isolation level: the snapshot may still show the constraint).
	BEGIN
		INSERT INTO migration_split.loose_foreign_key_definitions
			(rel, constraint_name, referenced, from_columns, to_columns,
			 pf_operators, pp_operators, on_delete, definition, options)
		VALUES (rel, constraint_name, con.confrelid,
				migration_split.column_names(rel, con.conkey)::name[],
				migration_split.column_names(con.confrelid, con.confkey)::name[],
				con.conpfeqop::regoperator[], con.conppeqop::regoperator[], action,
				pg_catalog.pg_get_constraintdef(con.oid),
				CASE con.confmatchtype WHEN 'f' THEN ' MATCH FULL' ELSE '' END
				OPERATOR(pg_catalog.||) ' ON UPDATE ' OPERATOR(pg_catalog.||)
				CASE con.confupdtype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
					 WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END
				OPERATOR(pg_catalog.||) ' ON DELETE ' OPERATOR(pg_catalog.||)
				CASE con.confdeltype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
					 WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END
				OPERATOR(pg_catalog.||)
				COALESCE(' (' OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(n), ', ')
								  FROM pg_catalog.unnest(migration_split.column_names(rel, con.confdelsetcols)) n)
						 OPERATOR(pg_catalog.||) ')', '')
				OPERATOR(pg_catalog.||)
				CASE WHEN NOT con.condeferrable THEN ''
					 WHEN con.condeferred THEN ' DEFERRABLE INITIALLY DEFERRED'
					 ELSE ' DEFERRABLE' END);
	EXCEPTION WHEN unique_violation THEN
		GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
		IF violated IS DISTINCT FROM 'loose_foreign_key_definitions_pkey' THEN
			RAISE;
		END IF;
		RAISE EXCEPTION 'foreign key "%" of table "%" is already loose', constraint_name, rel
			USING ERRCODE = 'duplicate_object',
				  DETAIL = 'Another session loosened it concurrently.',
				  HINT = 'See migration_split.loose_foreign_keys; migration_split.tighten_foreign_key() restores it.';
	END;
	EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', rel, constraint_name);
	PERFORM migration_split.sync_loose_foreign_key_triggers(con.confrelid);
END
$$;

COMMENT ON FUNCTION migration_split.loosen_foreign_key(regclass, name, text) IS
	'drop a cross-domain foreign key, remember it, and queue deletes of the referenced rows for process_loose_foreign_keys()';

-- Restore a loosened foreign key (validated: fails while orphans exist)
-- and forget it, with its pending clean-ups.
CREATE FUNCTION migration_split.tighten_foreign_key(rel regclass, constraint_name name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l	record;
	add	text;
BEGIN
	PERFORM migration_split.require_argument(rel, 'rel');
	PERFORM migration_split.require_argument(constraint_name, 'constraint_name');
	PERFORM migration_split.require_relation(rel);
	SELECT d.* INTO l
	  FROM migration_split.loose_foreign_key_definitions d
	 WHERE d.rel OPERATOR(pg_catalog.=) tighten_foreign_key.rel
	   AND d.constraint_name OPERATOR(pg_catalog.=) tighten_foreign_key.constraint_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'foreign key "%" of table "%" is not loose', constraint_name, rel
			USING ERRCODE = 'undefined_object',
				  HINT = 'See migration_split.loose_foreign_keys.';
	END IF;
	PERFORM migration_split.require_owner_of_both(rel, l.referenced, constraint_name, 'tighten');
	PERFORM migration_split.require_loose_foreign_key_options(rel, constraint_name, l.options);
	add := pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %s (%s)%s',
		rel, constraint_name,
		(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(n), ', ') FROM pg_catalog.unnest(l.from_columns) n),
		l.referenced,
		(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(n), ', ') FROM pg_catalog.unnest(l.to_columns) n),
		l.options);
	BEGIN
		-- Adding the constraint checks the rows with its operators and the
		-- casts that reach them.  When one of them is not built in, its
		-- code could be another role's (the definition may have been
		-- written by hand), so the constraint is added as the referencing
		-- table's owner (run_as_table_owner()), who needs REFERENCES on the
		-- referenced table, as for any foreign key it adds.
		IF EXISTS (SELECT FROM pg_catalog.unnest(l.pf_operators) o
					WHERE o::pg_catalog.oid OPERATOR(pg_catalog.>=) 16384)
		   OR migration_split.loose_key_user_cast(l.rel, l.from_columns, l.referenced, l.to_columns) IS NOT NULL THEN
			PERFORM migration_split.run_as_table_owner(rel, add, '{}', '{}', '{}', NULL);
		ELSE
			EXECUTE add;
		END IF;
	EXCEPTION WHEN foreign_key_violation THEN
		RAISE EXCEPTION 'cannot tighten foreign key "%" of table "%": orphaned rows exist', constraint_name, rel
			USING ERRCODE = 'foreign_key_violation',
				  DETAIL = SQLERRM,
				  HINT = 'List them with migration_split.loose_foreign_key_orphans(), then delete or fix them.';
	END;
	-- Forget it, with its queue entries, once the constraint holds both
	-- tables (deletes of the referenced rows, which queue entries after
	-- locking the referenced table, wait).  A process_loose_foreign_keys()
	-- that holds entries of it does not wait for the referencing table
	-- (it takes it NOWAIT), so waiting for its entries here cannot
	-- deadlock.
	DELETE FROM migration_split.loose_foreign_key_definitions d
	 WHERE d.rel OPERATOR(pg_catalog.=) tighten_foreign_key.rel
	   AND d.constraint_name OPERATOR(pg_catalog.=) tighten_foreign_key.constraint_name;
	PERFORM migration_split.sync_loose_foreign_key_triggers(l.referenced);
END
$$;

COMMENT ON FUNCTION migration_split.tighten_foreign_key(regclass, name) IS
	'restore a loosened foreign key (validated) and drop its queue';

-- The SQL text of the comparison of the key columns of a loosened foreign
-- key: "<left>.<to column> OPERATOR(op) <right>.<from column> AND ...",
-- with the constraint's own operators (PK = FK, or PK = PK).
CREATE FUNCTION migration_split.loose_key_match(lcols name[], ops regoperator[],
												rcols name[], lalias text, ralias text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.string_agg(pg_catalog.format('%s.%I OPERATOR(%I.%s) %s.%I',
								 lalias, u.l, n.nspname, o.oprname, ralias, u.r), ' AND ' ORDER BY u.ord)
	  FROM ROWS FROM (pg_catalog.unnest(lcols), pg_catalog.unnest(ops),
					  pg_catalog.unnest(rcols)) WITH ORDINALITY AS u(l, op, r, ord)
	  JOIN pg_catalog.pg_operator o ON o.oid OPERATOR(pg_catalog.=) u.op::pg_catalog.oid
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
$$;

-- Run a statement of process_loose_foreign_keys() as the owner of rel:
-- $1 subscripts, $2, $3, ... the key columns as arrays of their types
-- (key_types, key_typmods), made from keys (one row per queued key, as
-- text) with the types' input functions, so that the statement names no
-- type and runs no cast from text.  Returns the number of rows processed
-- and the first column of the first row.  Switches the user id as
-- PostgreSQL's RI triggers do (src/loose_foreign_keys.c): the owner's
-- triggers, CHECKs and casts that the statement runs cannot SET ROLE back
-- to the caller.  The caller must be a member of the owning role.
CREATE FUNCTION migration_split.run_as_table_owner(rel regclass, query text,
												   keys text[], key_types pg_catalog.oid[],
												   key_typmods integer[], subscripts integer[],
												   OUT processed bigint, OUT result integer[])
RETURNS record
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'ms_run_as_table_owner';

-- Callable by all (tighten_foreign_key() runs it for owners of tables):
-- it checks the membership itself.
GRANT EXECUTE ON FUNCTION migration_split.run_as_table_owner(regclass, text, text[], pg_catalog.oid[], integer[], integer[])
	TO PUBLIC;

-- Apply queued clean-ups, oldest first (entries whose clean-up failed
-- before come after the others, fewest failures first), at most max_rows
-- queue entries; returns the number of referencing rows deleted or set to
-- NULL.  A clean-up that fails (a trigger or a constraint of the
-- referencing table, a lock timeout, ...) is rolled back alone and reported
-- as a warning; its entries stay queued with attempts and last_error, and
-- the others go on, so that one table cannot hold back the clean-ups of
-- all.  Entries
-- locked by a concurrent call are skipped (FOR UPDATE SKIP LOCKED), so
-- several calls can run at once; entries whose key exists again in the
-- referenced table are dropped without a clean-up.  Only entries whose
-- two tables' owners the caller is a member of are taken: the check runs
-- as the referenced table's owner, the clean-up as the referencing
-- table's owner, with the user id switched as PostgreSQL's ON DELETE
-- actions switch it (run_as_table_owner()), so their triggers and
-- policies run with their owners' rights, never the caller's, and cannot
-- SET ROLE.
CREATE FUNCTION migration_split.process_loose_foreign_keys(max_rows integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO'
SET IntervalStyle = 'postgres'
SET TimeZone = 'UTC'
SET extra_float_digits = 3
SET lc_monetary = 'C'
AS $$
DECLARE
	b			record;
	gone		integer[];
	n			bigint;
	cleaned		bigint := 0;
	key_cols	text;
	key_types	pg_catalog.oid[];
	key_typmods	integer[];
	key_rel		text;
	err			text;
	err_state	text;
BEGIN
	PERFORM migration_split.require_argument(max_rows, 'max_rows');
	IF max_rows OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'max_rows must be at least 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR b IN
		WITH picked AS (
			SELECT q.id, q.rel, q.constraint_name, q.key, q.attempts
			  FROM migration_split.loose_foreign_key_queue q
			  JOIN pg_catalog.pg_class fc ON fc.oid OPERATOR(pg_catalog.=) q.rel::pg_catalog.oid
			  JOIN migration_split.loose_foreign_key_definitions l
				ON l.rel OPERATOR(pg_catalog.=) q.rel
			   AND l.constraint_name OPERATOR(pg_catalog.=) q.constraint_name
			  JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) l.referenced::pg_catalog.oid
			 WHERE pg_catalog.pg_has_role(fc.relowner, 'MEMBER')
			   AND pg_catalog.pg_has_role(pc.relowner, 'MEMBER')
			 ORDER BY q.attempts, q.id
			 LIMIT max_rows
			   FOR UPDATE OF q SKIP LOCKED
		)
		SELECT l.rel, l.constraint_name, l.referenced, l.from_columns, l.to_columns,
			   l.pf_operators, l.pp_operators, l.on_delete,
			   fc.relkind AS fkind, pc.relkind AS pkind,
			   pg_catalog.array_agg(p.id ORDER BY p.id) AS ids,
			   pg_catalog.array_agg(p.key ORDER BY p.id) AS keys
		  FROM picked p
		  JOIN migration_split.loose_foreign_key_definitions l
			ON l.rel OPERATOR(pg_catalog.=) p.rel
		   AND l.constraint_name OPERATOR(pg_catalog.=) p.constraint_name
		  JOIN pg_catalog.pg_class fc ON fc.oid OPERATOR(pg_catalog.=) l.rel::pg_catalog.oid
		  JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) l.referenced::pg_catalog.oid
		 GROUP BY l.rel, l.constraint_name, fc.relkind, pc.relkind, fc.relowner, pc.relowner
		 ORDER BY pg_catalog.min(p.attempts), pg_catalog.min(p.id)
	LOOP
		BEGIN
			-- the keys as a relation k(i, k1, k2, ...) typed like the
			-- referenced columns ($2, $3, ... of run_as_table_owner())
			SELECT pg_catalog.string_agg(pg_catalog.format('$%s[g.i] AS %I', u.ord OPERATOR(pg_catalog.+) 1,
														   'k' OPERATOR(pg_catalog.||) u.ord), ', ' ORDER BY u.ord),
				   pg_catalog.array_agg(a.atttypid ORDER BY u.ord),
				   pg_catalog.array_agg(a.atttypmod ORDER BY u.ord)
			  INTO key_cols, key_types, key_typmods
			  FROM pg_catalog.unnest(b.to_columns) WITH ORDINALITY AS u(c, ord)
			  JOIN pg_catalog.pg_attribute a
				ON a.attrelid OPERATOR(pg_catalog.=) b.referenced::pg_catalog.oid
			   AND a.attname OPERATOR(pg_catalog.=) u.c
			   AND a.attnum OPERATOR(pg_catalog.>) 0
			   AND NOT a.attisdropped;
			key_rel := pg_catalog.format('(SELECT g.i, %s FROM pg_catalog.generate_subscripts($2, 1) g(i)) k', key_cols);

			-- which keys are still gone, as the referenced table's owner;
			-- the table is taken NOWAIT, as the referencing table below
			PERFORM migration_split.run_as_table_owner(b.referenced, pg_catalog.format(
				'LOCK TABLE %s %s IN ACCESS SHARE MODE NOWAIT',
				CASE WHEN b.pkind OPERATOR(pg_catalog.=) 'r' THEN 'ONLY' ELSE '' END, b.referenced), '{}', '{}', '{}', NULL);
			SELECT r.result INTO gone
			  FROM migration_split.run_as_table_owner(b.referenced, pg_catalog.format(
				'SELECT pg_catalog.array_agg(k.i) FROM %s
				  WHERE NOT EXISTS (SELECT FROM %s %s p WHERE %s)',
				key_rel, CASE WHEN b.pkind OPERATOR(pg_catalog.=) 'r' THEN 'ONLY' ELSE '' END, b.referenced,
				migration_split.loose_key_match(b.to_columns, b.pp_operators,
					(SELECT pg_catalog.array_agg(('k' OPERATOR(pg_catalog.||) o)::name ORDER BY o)
					   FROM pg_catalog.generate_series(1, pg_catalog.cardinality(b.to_columns)) o),
					'p', 'k')), b.keys, key_types, key_typmods, NULL) r;

			-- the clean-up, as the referencing table's owner; the table is
			-- taken NOWAIT: while this holds queue entries, a session that
			-- holds the table may be waiting for them (tighten_foreign_key()
			-- or DROP forgetting the key); the entries are then retried
			-- later
			n := 0;
			IF gone IS NOT NULL AND b.on_delete OPERATOR(pg_catalog.<>) 'none' THEN
				PERFORM migration_split.run_as_table_owner(b.rel, pg_catalog.format(
					'LOCK TABLE %s %s IN ROW EXCLUSIVE MODE NOWAIT',
					CASE WHEN b.fkind OPERATOR(pg_catalog.=) 'r' THEN 'ONLY' ELSE '' END, b.rel), '{}', '{}', '{}', NULL);
				SELECT r.processed INTO n
				  FROM migration_split.run_as_table_owner(b.rel, pg_catalog.format(
					'%s %s %s t %s WHERE EXISTS (SELECT FROM %s WHERE k.i OPERATOR(pg_catalog.=) ANY ($1) AND %s)',
					CASE b.on_delete WHEN 'cascade' THEN 'DELETE FROM' ELSE 'UPDATE' END,
					CASE WHEN b.fkind OPERATOR(pg_catalog.=) 'r' THEN 'ONLY' ELSE '' END, b.rel,
					CASE b.on_delete WHEN 'cascade' THEN ''
						 ELSE 'SET ' OPERATOR(pg_catalog.||)
							  (SELECT pg_catalog.string_agg(pg_catalog.format('%I = NULL', c), ', ')
								 FROM pg_catalog.unnest(b.from_columns) c) END,
					key_rel,
					migration_split.loose_key_match(
						(SELECT pg_catalog.array_agg(('k' OPERATOR(pg_catalog.||) o)::name ORDER BY o)
						   FROM pg_catalog.generate_series(1, pg_catalog.cardinality(b.to_columns)) o),
						b.pf_operators, b.from_columns, 'k', 't')), b.keys, key_types, key_typmods, gone) r;
			END IF;

			DELETE FROM migration_split.loose_foreign_key_queue q
			 WHERE q.id OPERATOR(pg_catalog.=) ANY (b.ids);
			cleaned := cleaned OPERATOR(pg_catalog.+) n;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, err_state = RETURNED_SQLSTATE;
			UPDATE migration_split.loose_foreign_key_queue q
			   SET attempts = q.attempts OPERATOR(pg_catalog.+) 1, last_error = err
			 WHERE q.id OPERATOR(pg_catalog.=) ANY (b.ids);
			RAISE WARNING 'could not clean up after loose foreign key "%" of table "%"', b.constraint_name, b.rel
				USING DETAIL = pg_catalog.format('The clean-up of %s queue %s failed: %s (SQLSTATE %s).',
												 pg_catalog.cardinality(b.ids),
												 CASE pg_catalog.cardinality(b.ids) WHEN 1 THEN 'entry' ELSE 'entries' END,
												 err, err_state),
					  HINT = 'The entries stay queued and are retried after the others; see last_error in migration_split.loose_foreign_key_queue.';
		END;
	END LOOP;
	RETURN cleaned;
END
$$;

COMMENT ON FUNCTION migration_split.process_loose_foreign_keys(integer) IS
	'apply at most max_rows queued clean-ups of loosened foreign keys; returns the referencing rows deleted or set to NULL';

-- The types of the key columns of a loosened foreign key, of their
-- domains' base types and of their arrays' element types, at every level.
CREATE FUNCTION migration_split.loose_key_types(rel regclass, from_columns name[],
												referenced regclass, to_columns name[])
RETURNS TABLE (t pg_catalog.oid)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE types(t) AS (
		SELECT a.atttypid
		  FROM pg_catalog.pg_attribute a
		 WHERE (a.attrelid OPERATOR(pg_catalog.=) rel
				AND a.attname OPERATOR(pg_catalog.=) ANY (from_columns))
			OR (a.attrelid OPERATOR(pg_catalog.=) referenced
				AND a.attname OPERATOR(pg_catalog.=) ANY (to_columns))
		UNION
		SELECT x.next
		  FROM types
		  JOIN pg_catalog.pg_type y ON y.oid OPERATOR(pg_catalog.=) types.t
		 CROSS JOIN LATERAL (VALUES (CASE WHEN y.typtype OPERATOR(pg_catalog.=) 'd' THEN y.typbasetype END),
									(CASE WHEN y.typcategory OPERATOR(pg_catalog.=) 'A' THEN y.typelem END)) x(next)
		 WHERE x.next OPERATOR(pg_catalog.<>) 0
	)
	SELECT types.t FROM types
$$;

-- The first implicit cast that is not built in and by which PostgreSQL
-- may compare the key columns of a loosened foreign key (it accepts a
-- foreign key through one), as 'source to target', or NULL.  The types
-- are those of loose_key_types(); the casts that matter go to a built-in
-- type (the operators of pg_catalog take only those) or to one of these
-- types.
CREATE FUNCTION migration_split.loose_key_user_cast(rel regclass, from_columns name[],
													referenced regclass, to_columns name[])
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.format('%s to %s', c.castsource::pg_catalog.regtype, c.casttarget::pg_catalog.regtype)
	  FROM pg_catalog.pg_cast c
	 WHERE c.oid OPERATOR(pg_catalog.>=) 16384
	   AND c.castcontext OPERATOR(pg_catalog.=) 'i'
	   AND c.castmethod OPERATOR(pg_catalog.<>) 'b'
	   AND c.castsource IN (SELECT k.t FROM migration_split.loose_key_types(rel, from_columns,
																	   referenced, to_columns) k)
	   AND (c.casttarget OPERATOR(pg_catalog.<) 16384
			OR c.casttarget IN (SELECT k.t FROM migration_split.loose_key_types(rel, from_columns,
																			 referenced, to_columns) k))
	 ORDER BY c.oid LIMIT 1
$$;

-- The referencing rows of a loosened foreign key whose key is not in the
-- referenced table, grouped by key.  Reads both tables as the caller,
-- under the rules of "Reading user data" above: plain or partitioned
-- tables the caller may read without row-level security, compared with
-- built-in operators only.
CREATE FUNCTION migration_split.loose_foreign_key_orphans(rel regclass, constraint_name name)
RETURNS TABLE (key text[], rows bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET row_security = off
AS $$
DECLARE
	l		record;
	bad		text;
BEGIN
	PERFORM migration_split.require_argument(rel, 'rel');
	PERFORM migration_split.require_argument(constraint_name, 'constraint_name');
	PERFORM migration_split.require_relation(rel);
	SELECT d.* INTO l
	  FROM migration_split.loose_foreign_key_definitions d
	 WHERE d.rel OPERATOR(pg_catalog.=) loose_foreign_key_orphans.rel
	   AND d.constraint_name OPERATOR(pg_catalog.=) loose_foreign_key_orphans.constraint_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'foreign key "%" of table "%" is not loose', constraint_name, rel
			USING ERRCODE = 'undefined_object',
				  HINT = 'See migration_split.loose_foreign_keys.';
	END IF;
	SELECT pg_catalog.format('%s', c.oid::pg_catalog.regclass) INTO bad
	  FROM pg_catalog.pg_class c
	 WHERE c.oid IN (l.rel::pg_catalog.oid, l.referenced::pg_catalog.oid)
	   AND (c.relkind NOT IN ('r', 'p')
			OR NOT pg_catalog.has_schema_privilege(c.relnamespace, 'USAGE')
			OR NOT pg_catalog.has_table_privilege(c.oid, 'SELECT')
			OR pg_catalog.row_security_active(c.oid))
	 ORDER BY c.oid LIMIT 1;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cannot read table "%" to list orphans', bad
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Orphans are listed by reading both tables with the caller''s privileges, without row-level security.';
	END IF;
	-- a foreign table among the partitions (possible on the referencing
	-- side once the foreign key is gone) is never read
	SELECT pg_catalog.format('%s', x.oid::pg_catalog.regclass) INTO bad
	  FROM pg_catalog.pg_class c
	 CROSS JOIN LATERAL pg_catalog.pg_partition_tree(c.oid) t
	  JOIN pg_catalog.pg_class x ON x.oid OPERATOR(pg_catalog.=) t.relid
	 WHERE c.oid IN (l.rel::pg_catalog.oid, l.referenced::pg_catalog.oid)
	   AND c.relkind OPERATOR(pg_catalog.=) 'p'
	   AND x.relkind NOT IN ('r', 'p')
	 ORDER BY x.oid LIMIT 1;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cannot list orphans of foreign key "%" of table "%"', constraint_name, rel
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = pg_catalog.format('Partition "%s" is not a table: it is not read.', bad);
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.unnest(l.pf_operators) o
				WHERE o::pg_catalog.oid OPERATOR(pg_catalog.>=) 16384) THEN
		RAISE EXCEPTION 'cannot list orphans of foreign key "%" of table "%"', constraint_name, rel
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Its key is compared with an operator that is not built in.';
	END IF;
	-- A built-in operator may still be reached through an implicit cast
	-- of the key's types: one that is not built in would run as the
	-- caller.
	bad := migration_split.loose_key_user_cast(l.rel, l.from_columns, l.referenced, l.to_columns);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cannot list orphans of foreign key "%" of table "%"', constraint_name, rel
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = pg_catalog.format('Its key could be compared through the implicit cast from %s, which is not built in.', bad),
				  HINT = 'The owner of the cast can list the orphans with a query of both tables.';
	END IF;
	-- a plain table is read ONLY, as the foreign key checked it (not its
	-- inheritance children, which may be foreign tables); a partitioned
	-- table whole, its partitions being tables (above)
	-- MATCH FULL: a row with some key columns NULL, not all, is an orphan
	-- (the constraint refuses it); its key shows the NULLs
	RETURN QUERY EXECUTE pg_catalog.format(
		'SELECT ARRAY[%s], pg_catalog.count(*) FROM %s %s t
		  WHERE (%s AND NOT EXISTS (SELECT FROM %s %s p WHERE %s))%s
		  GROUP BY 1 ORDER BY 1',
		(SELECT pg_catalog.string_agg(pg_catalog.format('CASE WHEN t.%1$I IS NOT NULL THEN pg_catalog.format(''%%s'', t.%1$I) END', c), ', ')
		   FROM pg_catalog.unnest(l.from_columns) c),
		(SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'r' THEN 'ONLY' ELSE '' END
		   FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) l.rel::pg_catalog.oid),
		l.rel,
		(SELECT pg_catalog.string_agg(pg_catalog.format('t.%I IS NOT NULL', c), ' AND ')
		   FROM pg_catalog.unnest(l.from_columns) c),
		(SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'r' THEN 'ONLY' ELSE '' END
		   FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) l.referenced::pg_catalog.oid),
		l.referenced,
		migration_split.loose_key_match(l.to_columns, l.pf_operators, l.from_columns, 'p', 't'),
		CASE WHEN l.options LIKE ' MATCH FULL%' AND pg_catalog.cardinality(l.from_columns) OPERATOR(pg_catalog.>) 1
			 THEN pg_catalog.format(' OR (NOT (%s) AND NOT (%s))',
					(SELECT pg_catalog.string_agg(pg_catalog.format('t.%I IS NULL', c), ' AND ')
					   FROM pg_catalog.unnest(l.from_columns) c),
					(SELECT pg_catalog.string_agg(pg_catalog.format('t.%I IS NOT NULL', c), ' AND ')
					   FROM pg_catalog.unnest(l.from_columns) c))
			 ELSE '' END);
END
$$;

COMMENT ON FUNCTION migration_split.loose_foreign_key_orphans(regclass, name) IS
	'referencing rows of a loosened foreign key whose key is not in the referenced table, by key';

-- What was loosened, with the clean-ups waiting in the queue.
CREATE VIEW migration_split.loose_foreign_keys AS
SELECT l.constraint_name,
	   l.rel AS from_table,
	   migration_split.table_domain(l.rel) AS from_domain,
	   l.from_columns,
	   l.referenced AS to_table,
	   migration_split.table_domain(l.referenced) AS to_domain,
	   l.to_columns,
	   l.on_delete,
	   l.definition,
	   l.loosened_at,
	   l.loosened_by,
	   COALESCE(q.pending, 0) AS pending,
	   q.oldest_pending,
	   COALESCE(q.failing, 0) AS failing
  FROM migration_split.loose_foreign_key_definitions l
  LEFT JOIN (SELECT q.rel, q.constraint_name, pg_catalog.count(*) AS pending,
					pg_catalog.min(q.queued_at) AS oldest_pending,
					pg_catalog.count(*) FILTER (WHERE q.attempts OPERATOR(pg_catalog.>) 0) AS failing
			   FROM migration_split.loose_foreign_key_queue q
			  GROUP BY q.rel, q.constraint_name) q
	ON q.rel OPERATOR(pg_catalog.=) l.rel
   AND q.constraint_name OPERATOR(pg_catalog.=) l.constraint_name
 ORDER BY l.rel::text COLLATE "C", l.constraint_name;

COMMENT ON VIEW migration_split.loose_foreign_keys IS
	'loosened foreign keys: definition, action, and the clean-ups pending in the queue (failing: those whose last clean-up failed)';

REVOKE ALL ON migration_split.loose_foreign_key_definitions,
	migration_split.loose_foreign_key_queue FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON migration_split.loose_foreign_key_definitions TO PUBLIC;
GRANT SELECT, UPDATE, DELETE ON migration_split.loose_foreign_key_queue TO migration_split_admin;
GRANT SELECT ON migration_split.loose_foreign_keys TO PUBLIC;

-- DROP TABLE of either table, or DROP COLUMN of one of the key's columns
-- (the foreign key would have gone with it), forgets the loosened key (and
-- its queue); the queue triggers of a referenced table that is left go
-- when no other loose key needs them.  Runs as the extension's owner: the
-- dropped table has no owner to check, and the triggers are the
-- extension's.
CREATE FUNCTION migration_split.forget_dropped_loose_foreign_keys()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r	regclass;
BEGIN
	-- DROP EXTENSION drops the table in the same command.
	IF pg_catalog.to_regclass('migration_split.loose_foreign_key_definitions') IS NULL THEN
		RETURN;
	END IF;
	FOR r IN
		WITH dropped AS (
			SELECT d.objid, d.objsubid, d.address_names
			  FROM pg_catalog.pg_event_trigger_dropped_objects() d
			 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
		),
		forgotten AS (
			DELETE FROM migration_split.loose_foreign_key_definitions l
			 WHERE EXISTS (SELECT FROM dropped d
							WHERE d.objsubid OPERATOR(pg_catalog.=) 0
							  AND d.objid IN (l.rel::pg_catalog.oid, l.referenced::pg_catalog.oid))
				OR EXISTS (SELECT FROM dropped d
							WHERE d.objsubid OPERATOR(pg_catalog.<>) 0
							  AND ((d.objid OPERATOR(pg_catalog.=) l.rel::pg_catalog.oid
									AND d.address_names[3] OPERATOR(pg_catalog.=) ANY (l.from_columns::text[]))
								   OR (d.objid OPERATOR(pg_catalog.=) l.referenced::pg_catalog.oid
									   AND d.address_names[3] OPERATOR(pg_catalog.=) ANY (l.to_columns::text[]))))
			RETURNING l.referenced
		)
		SELECT DISTINCT f.referenced FROM forgotten f
		 WHERE NOT EXISTS (SELECT FROM dropped d
							WHERE d.objsubid OPERATOR(pg_catalog.=) 0
							  AND d.objid OPERATOR(pg_catalog.=) f.referenced::pg_catalog.oid)
	LOOP
		PERFORM migration_split.sync_loose_foreign_key_triggers(r);
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION migration_split.forget_dropped_loose_foreign_keys() FROM PUBLIC;

CREATE EVENT TRIGGER migration_split_forget_dropped_loose_foreign_keys ON sql_drop
	EXECUTE FUNCTION migration_split.forget_dropped_loose_foreign_keys();

-- Also with session_replication_role = replica: a drop made then would
-- leave a definition of a table or column that is gone.
ALTER EVENT TRIGGER migration_split_forget_dropped_loose_foreign_keys ENABLE ALWAYS;

--------------------------------------------------------------------------
-- Extraction plan
--------------------------------------------------------------------------

-- The runtime crossings of a domain for extraction_plan(): section 7
-- (statements, most calls first) and 8 (write transactions), nothing when
-- the monitor is not preloaded.
CREATE FUNCTION migration_split.plan_runtime_crossings(domain text)
RETURNS TABLE (section integer, ord integer, kind text, object text, action text, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET DateStyle = 'ISO'
AS $function$
DECLARE
	dom		text := plan_runtime_crossings.domain;
BEGIN
	IF NOT migration_split.monitor_loaded() THEN
		RETURN;
	END IF;
	RETURN QUERY
	SELECT 7, pg_catalog.row_number() OVER (ORDER BY q.calls DESC, q.queryid)::int,
		   'query', pg_catalog.format('query id %s', q.queryid),
		   'move the statement''s other tables behind an API, or split the statement',
		   pg_catalog.format('%s, domains %s, tables %s, last seen %s: %s',
							 migration_split.count_text(q.calls, 'call', 'calls'),
							 pg_catalog.array_to_string(q.domains, ', '),
							 pg_catalog.array_to_string(q.tables, ', '), q.last_seen,
							 COALESCE(q.query, '<query text not visible>'))
	  FROM migration_split.cross_domain_queries q
	 WHERE dom OPERATOR(pg_catalog.=) ANY (q.domains)
	   AND q.dbid OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
											WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database());
	RETURN QUERY
	SELECT 8, pg_catalog.row_number() OVER (ORDER BY t.count DESC, t.domains::text COLLATE "C")::int,
		   'transaction', pg_catalog.format('writes to %s', pg_catalog.array_to_string(t.domains, ', ')),
		   'split the transaction (outbox, saga) or keep its tables in one domain',
		   pg_catalog.format('%s, last seen %s; statements: %s',
							 migration_split.count_text(t.count, 'transaction', 'transactions'), t.last_seen,
							 COALESCE(pg_catalog.array_to_string(t.sample_queryids, ', '), 'unknown'))
	  FROM migration_split.cross_domain_transactions t
	 WHERE dom OPERATOR(pg_catalog.=) ANY (t.domains)
	   AND t.dbid OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
											WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database());
END
$function$;

-- The ordered steps to extract one domain into its own service:
--   readiness             blocking items left (counted as domain_summary
--                         counts them), last violation, size (as
--                         domain_summary has it: pg_class.relpages of the
--                         domain's relations and their indexes, as of the
--                         last VACUUM or ANALYZE), and the expected copy
--                         time (that size at 60 MB/s, what
--                         bench/job_copy.sh measured for init)
--   foreign key out / in  every cross-domain foreign key (loosen it, or
--                         replace it by an API call or an event)
--   loose foreign key     keys already loosened (keep processing the queue)
--   view, materialized view, sequence default, trigger, inheritance,
--   partition             the ties of cross_domain_dependencies
--   generic relation      the rows of cross_domain_generic_relations
--   query, transaction    crossings the monitor saw (when preloaded)
--   init, stream, verify, cutover   the migration-split commands
-- format 'markdown' returns one row (kind 'markdown') whose detail is the
-- whole plan as a Markdown document to paste into a ticket.  Times in detail
-- are ISO 8601 with the offset of the reader's TimeZone, whatever the
-- reader's DateStyle (with 'SQL, DMY', 07/12/2026 would be read as July by
-- others).
CREATE FUNCTION migration_split.extraction_plan(domain text, format text DEFAULT 'table')
RETURNS TABLE (step integer, kind text, object text, action text, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
SET DateStyle = 'ISO'
AS $function$
DECLARE
	fmt		text := pg_catalog.lower(format COLLATE "C");
	dom		text := extraction_plan.domain;
	md		text;
	kinds	text[];
	objects	text[];
	actions	text[];
	details	text[];
BEGIN
	PERFORM migration_split.require_domain(dom);
	IF format IS NULL THEN
		RAISE EXCEPTION 'plan format must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Valid formats are "table" and "markdown".';
	END IF;
	IF fmt NOT IN ('table', 'markdown') THEN
		RAISE EXCEPTION 'unknown plan format "%"', format
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Valid formats are "table" and "markdown".';
	END IF;

	PERFORM migration_split.report_fill_domains();
	SELECT pg_catalog.array_agg(p.kind ORDER BY p.section, p.ord),
		   pg_catalog.array_agg(p.object ORDER BY p.section, p.ord),
		   pg_catalog.array_agg(p.action ORDER BY p.section, p.ord),
		   pg_catalog.array_agg(p.detail ORDER BY p.section, p.ord)
	  INTO kinds, objects, actions, details
	  FROM (
	WITH fk AS MATERIALIZED (
		SELECT c.conname AS constraint_name,
			   c.conrelid::pg_catalog.regclass AS from_table, c.from_domain,
			   migration_split.column_names(c.conrelid, c.conkey) AS from_columns,
			   c.confrelid::pg_catalog.regclass AS to_table, c.to_domain,
			   migration_split.column_names(c.confrelid, c.confkey) AS to_columns,
			   CASE c.confdeltype WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
					WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' ELSE 'no action' END AS on_delete
		  FROM (SELECT k.*, migration_split.report_domain(k.conrelid) AS from_domain,
					   migration_split.report_domain(k.confrelid) AS to_domain
				  FROM pg_catalog.pg_constraint k
				 WHERE k.contype OPERATOR(pg_catalog.=) 'f'
				   AND k.conparentid OPERATOR(pg_catalog.=) 0
				OFFSET 0) c
		 WHERE c.from_domain IS DISTINCT FROM c.to_domain
		   AND (c.from_domain OPERATOR(pg_catalog.=) dom OR c.to_domain OPERATOR(pg_catalog.=) dom)
	),
	dep AS MATERIALIZED (
		SELECT d.* FROM migration_split.cross_domain_dependencies d
		 WHERE d.from_domain IS NOT DISTINCT FROM dom OR d.to_domain IS NOT DISTINCT FROM dom
	),
	rt AS MATERIALIZED (
		SELECT r.* FROM migration_split.plan_runtime_crossings(dom) r
	),
	-- tables, size and rows as domain_summary counts them
	-- (report_domain_sizes(): pg_class, as of the last VACUUM or ANALYZE)
	sz AS (
		SELECT COALESCE(pg_catalog.max(z.tables), 0) AS tables,
			   COALESCE(pg_catalog.max(z.total_size), 0) AS total_size,
			   pg_catalog.max(z.estimated_rows) AS estimated_rows
		  FROM migration_split.report_domain_sizes() z
		 WHERE z.domain OPERATOR(pg_catalog.=) dom
	),
	counts AS (
		SELECT (SELECT pg_catalog.count(*) FROM fk WHERE fk.from_domain IS NOT DISTINCT FROM dom) AS fks_out,
			   (SELECT pg_catalog.count(*) FROM fk WHERE fk.from_domain IS DISTINCT FROM dom) AS fks_in,
			   (SELECT pg_catalog.count(*) FROM dep) AS dependencies,
			   CASE WHEN migration_split.monitor_loaded()
					THEN (SELECT pg_catalog.count(*) FROM rt WHERE rt.section OPERATOR(pg_catalog.=) 7) END AS crossing_queries,
			   (SELECT x.last_violation FROM migration_split.domain_runtime_stats() x
				 WHERE x.domain OPERATOR(pg_catalog.=) dom) AS last_violation,
			   sz.tables, sz.total_size, pg_catalog.pg_size_pretty(sz.total_size) AS total_size_pretty,
			   sz.estimated_rows
		  FROM sz
	),
	s AS (
		SELECT n.*,
			   n.fks_out OPERATOR(pg_catalog.+) n.fks_in OPERATOR(pg_catalog.+) n.dependencies
				 OPERATOR(pg_catalog.+) COALESCE(n.crossing_queries, 0) AS blockers
		  FROM counts n
	)
	SELECT v.* FROM s, LATERAL (VALUES (1, 1, 'readiness', 'blocking items',
			CASE WHEN s.blockers OPERATOR(pg_catalog.=) 0 THEN 'none left' ELSE 'resolve the steps below' END,
			pg_catalog.format('%s blocking: %s out, %s in, %s, %s',
							  s.blockers, migration_split.count_text(s.fks_out, 'foreign key', 'foreign keys'),
							  s.fks_in, migration_split.count_text(s.dependencies, 'other dependency', 'other dependencies'),
							  COALESCE(migration_split.count_text(s.crossing_queries, 'crossing statement', 'crossing statements'),
									   'unknown crossing statements (monitor not preloaded)'))),
		   (1, 2, 'readiness', 'last violation',
			CASE WHEN s.last_violation IS NULL THEN 'none seen' ELSE 'check the runtime crossings below' END,
			COALESCE(s.last_violation::text, 'none recorded since the last reset')),
		   (1, 3, 'readiness', 'size', 'review',
			pg_catalog.format('%s, %s, %s', migration_split.count_text(s.tables, 'table', 'tables'),
							  s.total_size_pretty,
							  COALESCE('about ' OPERATOR(pg_catalog.||) migration_split.count_text(s.estimated_rows, 'row', 'rows'),
									   'rows not estimated (no table analyzed)'))),
		   -- rounded to the unit shown: under 119.5 s in seconds, under
		   -- 119.5 min in minutes, then hours
		   (1, 4, 'readiness', 'expected copy time', 'plan the init window',
			(SELECT pg_catalog.format('%s at 60 MB/s',
					CASE WHEN c.secs OPERATOR(pg_catalog.<) 1 THEN 'under 1 s'
						 WHEN c.secs OPERATOR(pg_catalog.<) 119.5
						 THEN 'about ' OPERATOR(pg_catalog.||) pg_catalog.round(c.secs)::text OPERATOR(pg_catalog.||) ' s'
						 WHEN c.secs OPERATOR(pg_catalog.<) 7170
						 THEN 'about ' OPERATOR(pg_catalog.||) pg_catalog.round(c.secs OPERATOR(pg_catalog./) 60)::text OPERATOR(pg_catalog.||) ' min'
						 ELSE 'about ' OPERATOR(pg_catalog.||) pg_catalog.round(c.secs OPERATOR(pg_catalog./) 3600, 1)::text OPERATOR(pg_catalog.||) ' h' END)
			   FROM (SELECT s.total_size::numeric OPERATOR(pg_catalog./) 60000000 AS secs) c))) v
	UNION ALL
	SELECT CASE WHEN f.from_domain IS NOT DISTINCT FROM dom THEN 2 ELSE 3 END,
		   pg_catalog.row_number() OVER (ORDER BY f.from_table::text COLLATE "C", f.constraint_name)::int,
		   CASE WHEN f.from_domain IS NOT DISTINCT FROM dom THEN 'foreign key out' ELSE 'foreign key in' END,
		   pg_catalog.format('%s.%I', f.from_table, f.constraint_name),
		   CASE WHEN f.from_domain IS NOT DISTINCT FROM dom
				THEN pg_catalog.format('loosen with migration_split.loosen_foreign_key(%L, %L, ...), or replace it by an API call to %s',
									   f.from_table::text, f.constraint_name, COALESCE(f.to_domain, 'the owner of ' OPERATOR(pg_catalog.||) f.to_table::text))
				ELSE pg_catalog.format('loosen with migration_split.loosen_foreign_key(%L, %L, ...), or replace it by an event from %s',
									   f.from_table::text, f.constraint_name, dom) END,
		   pg_catalog.format('(%s) references %s (%s) of %s; on delete %s',
							 pg_catalog.array_to_string(f.from_columns, ', '), f.to_table,
							 pg_catalog.array_to_string(f.to_columns, ', '),
							 COALESCE('domain ' OPERATOR(pg_catalog.||) CASE WHEN f.from_domain IS NOT DISTINCT FROM dom THEN f.to_domain ELSE f.from_domain END,
									  'no domain'),
							 f.on_delete)
	  FROM fk f
	UNION ALL
	SELECT 4, pg_catalog.row_number() OVER (ORDER BY l.from_table::text COLLATE "C", l.constraint_name)::int,
		   'loose foreign key', pg_catalog.format('%s.%I', l.from_table, l.constraint_name),
		   CASE WHEN l.failing OPERATOR(pg_catalog.>) 0
				THEN 'remove the cause of the failing clean-ups (last_error in migration_split.loose_foreign_key_queue), then run migration_split.process_loose_foreign_keys() until the queue is empty'
				WHEN l.pending OPERATOR(pg_catalog.>) 0 THEN 'run migration_split.process_loose_foreign_keys() until the queue is empty'
				ELSE 'keep migration_split.process_loose_foreign_keys() scheduled' END,
		   pg_catalog.format('on delete %s; %s pending%s%s', l.on_delete, l.pending,
							 CASE WHEN l.failing OPERATOR(pg_catalog.>) 0
								  THEN pg_catalog.format(', %s failing', l.failing) ELSE '' END,
							 COALESCE(', oldest ' OPERATOR(pg_catalog.||) l.oldest_pending::text, ''))
	  FROM migration_split.loose_foreign_keys l
	 WHERE l.from_domain IS NOT DISTINCT FROM dom OR l.to_domain IS NOT DISTINCT FROM dom
	UNION ALL
	SELECT 5, pg_catalog.row_number() OVER (ORDER BY d.kind COLLATE "C", d.from_object COLLATE "C", d.to_object COLLATE "C")::int,
		   d.kind, pg_catalog.format('%s -> %s', d.from_object, d.to_object),
		   CASE d.kind
				WHEN 'view' THEN 'rewrite the view: read the other domain through its API, or move the view'
				WHEN 'materialized view' THEN 'rewrite the materialized view: feed it from events, or move it'
				WHEN 'sequence default' THEN 'give the table a sequence of its own domain'
				WHEN 'trigger' THEN 'move what the trigger writes into the service (API call or event)'
				ELSE 'detach the child or tag it with its parent''s domain' END,
		   d.detail
	  FROM dep d
	UNION ALL
	SELECT 6, pg_catalog.row_number() OVER (ORDER BY g.from_table::text COLLATE "C", g.type_column COLLATE "C",
											 g.to_table::text COLLATE "C")::int,
		   'generic relation',
		   pg_catalog.format('%s (%s, %s) -> %s', g.from_table, g.type_column, g.id_column,
							 COALESCE(g.to_table::text, 'a content type without table')),
		   CASE WHEN g.from_domain IS NOT DISTINCT FROM dom
				THEN pg_catalog.format('resolve the objects through an API of %s', COALESCE(g.to_domain, 'their owner'))
				ELSE pg_catalog.format('publish events from %s for the rows pointed at, or move the table', dom) END,
		   migration_split.count_text(g.rows, 'row', 'rows')
	  FROM migration_split.cross_domain_generic_relations g
	 WHERE g.from_domain IS NOT DISTINCT FROM dom OR g.to_domain IS NOT DISTINCT FROM dom
	UNION ALL
	SELECT r.* FROM rt r
	UNION ALL
	SELECT * FROM (VALUES (9, 1, 'init', dom, pg_catalog.format('migration-split init --domain %s ...', dom),
			'copy the schema and the rows of the domain''s tables to the service''s database'),
		   (9, 2, 'stream', dom, pg_catalog.format('migration-split stream --domain %s ...', dom),
			'apply the changes since init continuously until cut-over'),
		   (9, 3, 'verify', dom, pg_catalog.format('migration-split verify --domain %s ...', dom),
			'compare source and target table by table'),
		   (9, 4, 'cutover', dom, pg_catalog.format('migration-split cutover --domain %s ...', dom),
			'freeze writes on the source, drain the stream, switch the service to its database')) v
	) p(section, ord, kind, object, action, detail);

	IF fmt OPERATOR(pg_catalog.=) 'table' THEN
		RETURN QUERY
			SELECT u.n::int, u.kind, u.object, u.action, u.detail
			  FROM ROWS FROM (pg_catalog.unnest(kinds), pg_catalog.unnest(objects),
							  pg_catalog.unnest(actions), pg_catalog.unnest(details))
				   WITH ORDINALITY AS u(kind, object, action, detail, n)
			 ORDER BY u.n;
		RETURN;
	END IF;

	SELECT pg_catalog.format(E'# Extraction plan: domain %s\n\n', dom)
		   OPERATOR(pg_catalog.||) E'| step | kind | object | action | detail |\n|---:|---|---|---|---|\n'
		   OPERATOR(pg_catalog.||) pg_catalog.string_agg(
				pg_catalog.format(E'| %s | %s | %s | %s | %s |\n', x.n,
					migration_split.markdown_cell(x.kind), migration_split.markdown_cell(x.object),
					migration_split.markdown_cell(x.action), migration_split.markdown_cell(x.detail)),
				'' ORDER BY x.n)
	  INTO md
	  FROM ROWS FROM (pg_catalog.unnest(kinds), pg_catalog.unnest(objects),
					  pg_catalog.unnest(actions), pg_catalog.unnest(details))
		   WITH ORDINALITY AS x(kind, object, action, detail, n);
	RETURN QUERY SELECT NULL::int, 'markdown'::text, dom, NULL::text, md;
END
$function$;

COMMENT ON FUNCTION migration_split.extraction_plan(text, text) IS
	'the ordered steps to extract a domain: readiness, ties to cut, runtime crossings, then init, stream, verify, cutover (''table'' or ''markdown'')';

-- Text for one cell of a Markdown table, shown as text whatever it holds
-- (names and query texts are written by other users): \ ` * ~ [ ] | and
-- _ escaped with a backslash (no code span, emphasis, strikethrough, link
-- or broken cell), & < as HTML entities (no HTML), line breaks (CR LF,
-- LF, CR) as <br>.  An _ between two letters or digits is left as it is:
-- it can neither open nor close emphasis there (CommonMark), and names
-- like orders_order stay readable.  No SET clause, so that PostgreSQL
-- inlines it into the query that calls it for every cell of a plan (a call
-- with one saves and restores search_path each time); every name in it is
-- schema-qualified.
CREATE FUNCTION migration_split.markdown_cell(value text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT pg_catalog.regexp_replace(
		   pg_catalog.replace(pg_catalog.replace(
		   pg_catalog.regexp_replace(
		   pg_catalog.regexp_replace(COALESCE(value, ''), E'[\\\\`*~|[\\]]', E'\\\\\\&', 'g'),
		   '(?<![[:alnum:]])_|_(?![[:alnum:]])', E'\\\\\\&', 'g'),
		   '&', '&amp;'), '<', '&lt;'),
		   E'\r\n|\n|\r', '<br>', 'g')
$$;

GRANT EXECUTE ON FUNCTION migration_split.extraction_plan(text, text),
	migration_split.plan_runtime_crossings(text),
	migration_split.markdown_cell(text) TO PUBLIC;

--------------------------------------------------------------------------
-- Suggested moves
--------------------------------------------------------------------------

-- Tables whose move to another domain would remove more crossings than it
-- adds.  A crossing is one foreign key, one generic relation pair and
-- table pointed at (cross_domain_generic_relations, counted from the
-- data), or one statement of cross_domain_queries of this database (its
-- calls in detail).  Moving table T from domain D to E removes the ties
-- between T and tables of E, and adds the ties between T and the other
-- tables of D; ties with unowned tables or a third domain cross either
-- way.  A statement is removed when all its other tables are in E; no
-- statement is added (statements within one domain are not recorded).
-- A statement counts once, with the calls of all its entries (one per set
-- of domains crossed).
-- Partitions, inheritance children without a tag of their own, TOAST
-- tables and sequences move with their table.  One row per table: the
-- domain with the best net gain, best first.
CREATE FUNCTION migration_split.suggest_moves()
RETURNS TABLE (rel pg_catalog.regclass, from_domain text, to_domain text,
			   removed bigint, added bigint, net bigint, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $function$
DECLARE
	q_rel	pg_catalog.oid[] := '{}';
	q_to	text[] := '{}';
	q_calls	bigint[] := '{}';
BEGIN
	-- statements: for each table of a crossing statement, the one domain
	-- all its other tables are in (when there is one).  The monitor names
	-- tables schema-qualified and quoted: matched as text, not looked up
	-- (to_regclass() fails in a schema the caller has no USAGE on).
	IF migration_split.monitor_loaded() THEN
		WITH rd AS MATERIALIZED (
			SELECT r.relid, CASE WHEN r.via OPERATOR(pg_catalog.=) 'tag' THEN r.relid ELSE r.root END AS node,
				   r.domain, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
			  FROM migration_split.report_relation_domains() r
			  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.relid
			  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		),
		-- a statement has one entry per set of domains its calls crossed
		-- (a table re-tagged since gives it another): one statement, with
		-- the calls of all its entries
		qs AS MATERIALIZED (
			SELECT q.queryid, q.userid, q.calls, q.tables
			  FROM migration_split.cross_domain_queries q
			 WHERE q.dbid OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
												   WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
		),
		qc AS (
			SELECT qs.queryid, qs.userid, pg_catalog.sum(qs.calls)::bigint AS calls
			  FROM qs
			 GROUP BY 1, 2
		),
		st AS (
			SELECT DISTINCT qs.queryid, qs.userid, qc.calls, rd.node, rd.domain
			  FROM qs
			  JOIN qc ON qc.queryid OPERATOR(pg_catalog.=) qs.queryid
					 AND qc.userid OPERATOR(pg_catalog.=) qs.userid
			 CROSS JOIN LATERAL pg_catalog.unnest(qs.tables) AS t(name)
			  JOIN rd ON rd.name OPERATOR(pg_catalog.=) t.name
		),
		per_table AS (
			SELECT a.queryid, a.userid, a.calls, a.node, a.domain AS own,
				   pg_catalog.array_agg(DISTINCT b.domain) AS others
			  FROM (SELECT DISTINCT st.queryid, st.userid, st.calls, st.node, st.domain FROM st) a
			  JOIN st b ON b.queryid OPERATOR(pg_catalog.=) a.queryid
					   AND b.userid OPERATOR(pg_catalog.=) a.userid
					   AND b.node OPERATOR(pg_catalog.<>) a.node
			 GROUP BY 1, 2, 3, 4, 5
		)
		SELECT COALESCE(pg_catalog.array_agg(p.node), '{}'), COALESCE(pg_catalog.array_agg(p.others[1]), '{}'),
			   COALESCE(pg_catalog.array_agg(p.calls), '{}')
		  INTO q_rel, q_to, q_calls
		  FROM per_table p
		 WHERE pg_catalog.cardinality(p.others) OPERATOR(pg_catalog.=) 1
		   AND p.others[1] OPERATOR(pg_catalog.<>) p.own;
	END IF;

	-- Each end drawn as the tagged relation that gives it its domain
	-- (report_domain_root(), a hash lookup; NULL for an end without one,
	-- which no pair has); the domain of such a node is its tag.
	PERFORM migration_split.report_fill_domains();
	RETURN QUERY
	WITH pairs AS MATERIALIZED (
		SELECT e.a, e.b, e.kind
		  FROM (SELECT migration_split.report_domain_root(c.conrelid) AS a,
					   migration_split.report_domain_root(c.confrelid) AS b, 'fk' AS kind
				  FROM pg_catalog.pg_constraint c
				 WHERE c.contype OPERATOR(pg_catalog.=) 'f'
				   AND c.conparentid OPERATOR(pg_catalog.=) 0
				UNION ALL
				SELECT migration_split.report_domain_root(g.from_table::pg_catalog.oid),
					   migration_split.report_domain_root(g.to_table::pg_catalog.oid), 'generic'
				  FROM migration_split.generic_relations(false) g) e
		 WHERE e.a IS NOT NULL AND e.b IS NOT NULL
	),
	-- each tie seen from both ends, with the domain of the other end
	ties AS (
		SELECT p.a AS node, migration_split.report_domain(p.b) AS other, p.kind
		  FROM pairs p
		 WHERE p.a OPERATOR(pg_catalog.<>) p.b
		UNION ALL
		SELECT p.b, migration_split.report_domain(p.a), p.kind
		  FROM pairs p
		 WHERE p.a OPERATOR(pg_catalog.<>) p.b
	),
	-- the tagged relations
	home AS (
		SELECT r.relid AS node, r.domain
		  FROM migration_split.report_relation_domains() r
		 WHERE r.via OPERATOR(pg_catalog.=) 'tag'
	),
	per_domain AS (
		SELECT t.node, t.other,
			   pg_catalog.count(*) FILTER (WHERE t.kind OPERATOR(pg_catalog.=) 'fk') AS fks,
			   pg_catalog.count(*) FILTER (WHERE t.kind OPERATOR(pg_catalog.=) 'generic') AS generics
		  FROM ties t
		 GROUP BY t.node, t.other
	),
	stmts AS (
		SELECT u.node, u.other, pg_catalog.count(*) AS statements, pg_catalog.sum(u.calls)::bigint AS calls
		  FROM ROWS FROM (pg_catalog.unnest(q_rel), pg_catalog.unnest(q_to), pg_catalog.unnest(q_calls))
			   AS u(node, other, calls)
		 GROUP BY u.node, u.other
	),
	candidates AS (
		SELECT h.node, h.domain AS own, c.other,
			   COALESCE(pd.fks, 0) AS fks, COALESCE(pd.generics, 0) AS generics,
			   COALESCE(s.statements, 0) AS statements, COALESCE(s.calls, 0) AS calls,
			   COALESCE(mine.fks, 0) AS own_fks, COALESCE(mine.generics, 0) AS own_generics
		  FROM home h
		  JOIN (SELECT pd.node, pd.other FROM per_domain pd
				UNION
				SELECT s.node, s.other FROM stmts s) c ON c.node OPERATOR(pg_catalog.=) h.node
		  LEFT JOIN per_domain pd ON pd.node OPERATOR(pg_catalog.=) c.node AND pd.other OPERATOR(pg_catalog.=) c.other
		  LEFT JOIN stmts s ON s.node OPERATOR(pg_catalog.=) c.node AND s.other OPERATOR(pg_catalog.=) c.other
		  LEFT JOIN per_domain mine ON mine.node OPERATOR(pg_catalog.=) h.node AND mine.other OPERATOR(pg_catalog.=) h.domain
		 WHERE c.other OPERATOR(pg_catalog.<>) h.domain
	),
	scored AS (
		SELECT c.*, c.fks OPERATOR(pg_catalog.+) c.generics OPERATOR(pg_catalog.+) c.statements AS gain,
			   c.own_fks OPERATOR(pg_catalog.+) c.own_generics AS loss
		  FROM candidates c
	)
	SELECT b.node::pg_catalog.regclass, b.own, b.other, b.gain, b.loss, b.gain OPERATOR(pg_catalog.-) b.loss,
		   pg_catalog.format('removes %s, %s, %s (%s); adds %s, %s',
							 migration_split.count_text(b.fks, 'foreign key', 'foreign keys'),
							 migration_split.count_text(b.generics, 'generic relation', 'generic relations'),
							 migration_split.count_text(b.statements, 'statement', 'statements'),
							 migration_split.count_text(b.calls, 'call', 'calls'),
							 migration_split.count_text(b.own_fks, 'foreign key', 'foreign keys'),
							 migration_split.count_text(b.own_generics, 'generic relation', 'generic relations'))
	  FROM (SELECT DISTINCT ON (s.node) s.*
			  FROM scored s
			 WHERE s.gain OPERATOR(pg_catalog.>) s.loss
			 ORDER BY s.node, s.gain OPERATOR(pg_catalog.-) s.loss DESC, s.calls DESC, s.other COLLATE "C") b
	 ORDER BY b.gain OPERATOR(pg_catalog.-) b.loss DESC, b.calls DESC,
			  b.node::pg_catalog.regclass::text COLLATE "C";
END
$function$;

COMMENT ON FUNCTION migration_split.suggest_moves() IS
	'tables whose move to another domain removes more crossings (foreign keys, generic relations, crossing statements) than it adds';

GRANT EXECUTE ON FUNCTION migration_split.suggest_moves() TO PUBLIC;
