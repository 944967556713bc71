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
 *   - only plain tables (relkind 'r', not partitions): no views, foreign
 *     tables or partitioned tables, whose rules, FDWs or partitions could
 *     run code;
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
--   content_type_id               object_id
--   <name>_content_type_id        <name>_object_id
--   <name>_type_id                <name>_id
-- (Django's column names for the fields content_type/object_id,
-- <name>_content_type/<name>_object_id and <name>_type/<name>_id.)  Read
-- from the catalog only.
CREATE FUNCTION migration_split.generic_relation_columns()
RETURNS TABLE (relid pg_catalog.oid, type_column pg_catalog.name,
			   id_column pg_catalog.name, content_types pg_catalog.oid)
LANGUAGE sql STABLE ROWS 20
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT DISTINCT ON (c.conrelid, ta.attname)
		   c.conrelid, ta.attname, ia.attname, c.confrelid
	  FROM pg_catalog.pg_constraint c
	  JOIN pg_catalog.pg_class ct
		ON ct.oid OPERATOR(pg_catalog.=) c.confrelid
	   AND ct.relname OPERATOR(pg_catalog.=) 'django_content_type'
	  JOIN pg_catalog.pg_attribute ta
		ON ta.attrelid OPERATOR(pg_catalog.=) c.conrelid
	   AND ta.attnum OPERATOR(pg_catalog.=) c.conkey[1]
	  CROSS JOIN LATERAL (VALUES
		(1, CASE WHEN ta.attname OPERATOR(pg_catalog.=) 'content_type_id' THEN 'object_id' END),
		(2, pg_catalog.regexp_replace(ta.attname::text, '^(.+)_content_type_id$', '\1_object_id')),
		(3, pg_catalog.regexp_replace(ta.attname::text, '^(.+)_type_id$', '\1_id'))) AS cand(prio, name)
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
$$;

COMMENT ON FUNCTION migration_split.generic_relation_columns() IS
	'pairs of columns of Django generic relations (type column with a foreign key to django_content_type, id column named after it)';

-- Whether the rows of a table may be read by the data-reading reports
-- (see "Reading user data" above): a plain table the caller may read,
-- without row-level security for the caller.
CREATE FUNCTION migration_split.readable_plain_table(rel pg_catalog.oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
					WHERE c.oid OPERATOR(pg_catalog.=) rel
					  AND c.relkind OPERATOR(pg_catalog.=) 'r'
					  AND NOT c.relispartition)
		   AND pg_catalog.has_table_privilege(rel, 'SELECT')
		   AND NOT pg_catalog.row_security_active(rel)
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
-- (GROUP BY the type column; parallel workers help on large tables).
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
BEGIN
	PERFORM migration_split.require_argument(estimate, 'estimate');

	-- The content types of every django_content_type table that a pair
	-- references, mapped to tables of its schema.
	FOR t IN
		SELECT DISTINCT g.content_types AS ctt, n.nspname, c.relname, c.relnamespace
		  FROM migration_split.generic_relation_columns() g
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
		cand AS (
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
		)
		SELECT map_ctt OPERATOR(pg_catalog.||) pg_catalog.array_agg(t.ctt),
			   map_id OPERATOR(pg_catalog.||) pg_catalog.array_agg(ct.id),
			   map_rel OPERATOR(pg_catalog.||) pg_catalog.array_agg(COALESCE(
				   (SELECT c.oid FROM cand c
					 WHERE c.name OPERATOR(pg_catalog.=)
						   (ct.app OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) ct.model)),
				   (SELECT c.oid FROM cand c JOIN contrib d
					   ON d.name OPERATOR(pg_catalog.=) c.name
					WHERE d.app OPERATOR(pg_catalog.=) ct.app
					  AND d.model OPERATOR(pg_catalog.=) ct.model),
				   (SELECT pg_catalog.min(c.oid) FROM cand c
					 WHERE c.name OPERATOR(pg_catalog.=) ct.model
						OR pg_catalog.right(c.name, pg_catalog.length(ct.model) OPERATOR(pg_catalog.+) 1)
						   OPERATOR(pg_catalog.=) ('_' OPERATOR(pg_catalog.||) ct.model)
				   HAVING pg_catalog.count(*) OPERATOR(pg_catalog.=) 1)))
		  INTO map_ctt, map_id, map_rel
		  FROM ct;
	END LOOP;

	-- The rows of every pair, by content type.
	FOR t IN
		SELECT g.relid, g.type_column, g.id_column, g.content_types,
			   n.nspname, c.relname, c.reltuples
		  FROM migration_split.generic_relation_columns() g
		  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.relid
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		  JOIN pg_catalog.pg_attribute a
			ON a.attrelid OPERATOR(pg_catalog.=) g.relid
		   AND a.attname OPERATOR(pg_catalog.=) g.type_column
		 WHERE migration_split.readable_plain_table(g.relid)
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
			   AND NOT s.inherited;
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
	),
	rd AS MATERIALIZED (
		SELECT r.relid, r.domain FROM migration_split.report_relation_domains() r
	)
	SELECT p.rel::pg_catalog.regclass, f.domain, p.typ, p.idc,
		   p.target::pg_catalog.regclass, d.domain, p.n
	  FROM pairs p
	  LEFT JOIN rd f ON f.relid OPERATOR(pg_catalog.=) p.rel
	  LEFT JOIN rd d ON d.relid OPERATOR(pg_catalog.=) p.target
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
	migration_split.generic_relations(boolean) TO PUBLIC;
