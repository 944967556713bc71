/*
 * src/sql/reports.sql: part of the install script migration_split--1.1.sql
 */

-- Static boundary reports: what ties domains together in the catalog.

--------------------------------------------------------------------------
-- 4. Static boundary reports
--------------------------------------------------------------------------

-- The rule of every report: two ends cross a boundary when their effective
-- domains (relation_domains) differ; an unowned end differs from every
-- domain, but two unowned ends never cross.  Domains come from the
-- backend's ownership cache (report_domain(), report_relation_domains()):
-- a hash lookup per catalog row once the cache is warm, so the cost is a
-- pass over the catalogs the report reads, however many tables there are.
-- A new session fills the cache in one pass over the ownership table,
-- pg_class, pg_inherits and pg_depend when a report asks about all
-- relations (report_relation_domains(), report_domain_sizes()) or about
-- thousands (report_domain()), instead of a few index probes per relation.

-- Names of columns given by number, as in pg_constraint.conkey.
CREATE FUNCTION migration_split.column_names(rel pg_catalog.regclass,
											 attnums pg_catalog.int2[])
RETURNS pg_catalog.text[]
LANGUAGE C STRICT STABLE
AS 'MODULE_PATHNAME', 'ms_column_names';

COMMENT ON FUNCTION migration_split.column_names(pg_catalog.regclass, pg_catalog.int2[]) IS
	'names of the columns of rel with the given numbers, in order (for conkey, confkey)';

-- relation_domains for the reports, answered by the backend's ownership
-- cache (src/ownership_cache.c), the same resolver the runtime monitor and
-- the output plugin use: one pass over pg_class and a hash lookup per
-- relation once the cache is warm, where the recursive view joins
-- pg_depend with pg_class on every call.  As a function scan the planner
-- also sees ROWS instead of the recursive CTE's estimate (which pushed
-- every report over jit_above_cost).  Internal to the reports;
-- sql/relation_domains.sql checks that it agrees with the view.
--@begin ownership_cache_functions
CREATE OR REPLACE FUNCTION migration_split.report_relation_domains()
RETURNS TABLE (relid pg_catalog.oid, domain pg_catalog.text,
			   root pg_catalog.oid, via pg_catalog.text)
LANGUAGE C STABLE ROWS 10000
AS 'MODULE_PATHNAME', 'ms_report_relation_domains';

-- The domain of one relation for the reports (NULL: none, also for an oid
-- that is no relation), from the same cache: a hash lookup, cheaper per
-- row than a join with report_relation_domains().  Internal to the reports.
CREATE FUNCTION migration_split.report_domain(rel pg_catalog.oid)
RETURNS pg_catalog.text
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_report_domain';

-- Per domain with a relation: its tables (tagged tables and their
-- inheritance children; partitions are part of their table), the disk
-- space of its tables, partitions, materialized views, TOAST tables,
-- sequences and their indexes, and the rows of its tables and
-- materialized views, from one pass over pg_class and the ownership cache:
-- sizes from pg_class.relpages (a sequence is one block; a table never
-- vacuumed or analyzed counts its main fork's current size), rows from
-- reltuples of what was vacuumed or analyzed (NULL when nothing was).  No
-- file is read.  Shared by domain_summary and boundary_graph().
CREATE FUNCTION migration_split.report_domain_sizes()
RETURNS TABLE (domain pg_catalog.text, tables pg_catalog.int8,
			   total_size pg_catalog.int8, estimated_rows pg_catalog.int8)
LANGUAGE C STABLE ROWS 20
AS 'MODULE_PATHNAME', 'ms_report_domain_sizes';

-- Fill the backend's ownership cache in one pass over the catalogs, for
-- the reports that then ask report_domain() about most relations (tables,
-- sequences, views): called first, it spares them resolving thousands of
-- relations one by one before report_domain() decides on the same fill.
-- Internal to the reports.
CREATE FUNCTION migration_split.report_fill_domains()
RETURNS void
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'ms_report_fill_domains';

-- The relation whose tag gives rel its domain (the root column of
-- report_relation_domains() for one relation), NULL when it has none: a
-- hash lookup in the same cache.  Internal to the reports.
CREATE FUNCTION migration_split.report_domain_root(rel pg_catalog.oid)
RETURNS pg_catalog.oid
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_report_domain_root';

-- The node the table-level graph draws rel as: the partition root or
-- table of a partition, TOAST table or owned sequence with a domain (the
-- root of report_relation_domains() when via is 'partition', 'toast' or
-- 'sequence'), rel itself otherwise.  Internal to the reports.
CREATE FUNCTION migration_split.report_drawn_as(rel pg_catalog.oid)
RETURNS pg_catalog.oid
LANGUAGE C STRICT STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_report_drawn_as';
--@end ownership_cache_functions

-- Foreign keys whose two tables are in different domains.  A foreign key
-- on a partitioned table, or to one, is one constraint (its clones on the
-- partitions are left out).  The domains of both ends come from
-- report_domain(), two hash lookups per constraint.
--@begin cross_domain_foreign_keys
CREATE OR REPLACE VIEW migration_split.cross_domain_foreign_keys AS
SELECT c.conname AS constraint_name,
	   c.conrelid::pg_catalog.regclass AS from_table,
	   c.from_domain,
	   migration_split.column_names(c.conrelid, c.conkey) AS from_columns,
	   c.confrelid::pg_catalog.regclass AS to_table,
	   c.to_domain,
	   migration_split.column_names(c.confrelid, c.confkey) AS to_columns,
	   CASE c.confdeltype
			WHEN 'a' THEN 'no action'
			WHEN 'r' THEN 'restrict'
			WHEN 'c' THEN 'cascade'
			WHEN 'n' THEN 'set null'
			WHEN 'd' THEN 'set default'
	   END OPERATOR(pg_catalog.||)
	   CASE WHEN c.confdelsetcols IS NULL THEN ''
			ELSE ' (' OPERATOR(pg_catalog.||)
				 pg_catalog.array_to_string(migration_split.column_names(c.conrelid,
															c.confdelsetcols), ', ')
				 OPERATOR(pg_catalog.||) ')'
	   END AS on_delete,
	   CASE c.confupdtype
			WHEN 'a' THEN 'no action'
			WHEN 'r' THEN 'restrict'
			WHEN 'c' THEN 'cascade'
			WHEN 'n' THEN 'set null'
			WHEN 'd' THEN 'set default'
	   END AS on_update,
	   CASE WHEN NOT c.condeferrable THEN 'not deferrable'
			WHEN c.condeferred THEN 'deferrable initially deferred'
			ELSE 'deferrable initially immediate'
	   END AS deferrable
  FROM (SELECT k.*, migration_split.report_domain(k.conrelid) AS from_domain,
			   migration_split.report_domain(k.confrelid) AS to_domain
		  FROM pg_catalog.pg_constraint k
		 WHERE k.contype OPERATOR(pg_catalog.=) 'f'
		   AND k.conparentid OPERATOR(pg_catalog.=) 0
		OFFSET 0) c
 WHERE c.from_domain IS DISTINCT FROM c.to_domain
 ORDER BY c.from_domain COLLATE "C", c.to_domain COLLATE "C",
		  c.conrelid::pg_catalog.regclass::pg_catalog.text COLLATE "C",
		  c.conname;
--@end cross_domain_foreign_keys

COMMENT ON VIEW migration_split.cross_domain_foreign_keys IS
	'foreign keys between tables of different domains (an unowned end has a NULL domain)';

-- The tables written by a function body, where that is visible: exact for
-- SQL standard bodies (BEGIN ATOMIC), static statements for SQL string
-- bodies and PL/pgSQL (never dynamic SQL), nothing for other languages.
CREATE FUNCTION migration_split.function_writes(func pg_catalog.regprocedure)
RETURNS TABLE (rel pg_catalog.regclass, command pg_catalog.text)
LANGUAGE C STRICT STABLE ROWS 2
AS 'MODULE_PATHNAME', 'ms_function_writes';

COMMENT ON FUNCTION migration_split.function_writes(pg_catalog.regprocedure) IS
	'tables the function statically writes (INSERT, UPDATE, DELETE, MERGE, TRUNCATE), as far as its body shows';

-- Ties between domains other than foreign keys, one row per pair of
-- objects, with the kind of tie:
--   view, materialized view  a view reading tables of another domain than
--                            its own, or, for a view of no domain, reading
--                            tables of two or more domains (through views
--                            of views too); to_table is each table read
--   sequence default         a column default calling nextval() of a
--                            sequence that belongs to another domain's table
--                            or to no table at all
--   trigger                  a trigger whose function writes a table of
--                            another domain (see function_writes)
--   inheritance, partition   a child in another domain than its parent
-- The body runs as a function so that it is planned with jit = off (its
-- estimates reach jit_above_cost on small schemas already, and JIT
-- compilation costs more than the query).  Domains come from
-- report_domain(), a hash lookup per row, instead of joins with the
-- relation domains; the catalogs are entered from their small ends (rules,
-- the sequence dependencies of defaults, pg_inherits, the user triggers
-- read once) with index lookups into pg_class, never a scan of it.  A
-- default is deparsed without its table (pg_get_expr(adbin, 0)): one that
-- calls nextval() reads no column, and opening the table would build a
-- relcache entry (triggers included) per default, most of a new session's
-- first run of this report.
--@begin report_cross_domain_dependencies
CREATE OR REPLACE FUNCTION migration_split.report_cross_domain_dependencies()
RETURNS TABLE (kind pg_catalog.text, from_object pg_catalog.text,
			   from_table pg_catalog.regclass, from_domain pg_catalog.text,
			   to_object pg_catalog.text, to_table pg_catalog.regclass,
			   to_domain pg_catalog.text, detail pg_catalog.text)
LANGUAGE sql STABLE ROWS 1000
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $function$
SELECT migration_split.report_fill_domains();
WITH RECURSIVE
-- (view, relation it reads, first view on the way or NULL when direct)
reads (viewid, relid, via) AS (
	-- from the rules (a few per view), not from a scan of pg_class
	SELECT DISTINCT v.oid, d.refobjid, NULL::pg_catalog.oid
	  FROM pg_catalog.pg_rewrite w
	  CROSS JOIN LATERAL (SELECT c.oid FROM pg_catalog.pg_class c
						   WHERE c.oid OPERATOR(pg_catalog.=) w.ev_class
							 AND c.relkind IN ('v', 'm')
							 AND c.relnamespace NOT IN
								 ('pg_catalog'::pg_catalog.regnamespace,
								  'information_schema'::pg_catalog.regnamespace,
								  'migration_split'::pg_catalog.regnamespace)
						  OFFSET 0) v
	  JOIN pg_catalog.pg_depend d
		ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) w.oid
	   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.<>) v.oid
	UNION
	SELECT r.viewid, d.refobjid, COALESCE(r.via, r.relid)
	  FROM reads r
	  JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) r.relid
	  JOIN pg_catalog.pg_rewrite w ON w.ev_class OPERATOR(pg_catalog.=) v.oid
	  JOIN pg_catalog.pg_depend d
		ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
	   AND d.objid OPERATOR(pg_catalog.=) w.oid
	   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.<>) v.oid
	 WHERE v.relkind IN ('v', 'm')
	   AND migration_split.report_domain(r.relid) IS NULL
),
-- (view, table or owned relation it reads, how)
view_reads AS MATERIALIZED (
	SELECT r.viewid, r.relid, migration_split.report_domain(r.relid) AS domain,
		   pg_catalog.string_agg(r.via::pg_catalog.regclass::pg_catalog.text, ', '
								 ORDER BY r.via::pg_catalog.regclass::pg_catalog.text COLLATE "C")
			 FILTER (WHERE r.via IS NOT NULL) AS vias,
		   pg_catalog.bool_or(r.via IS NULL) AS direct
	  FROM reads r
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.relid
	 WHERE c.relkind NOT IN ('v', 'm') OR migration_split.report_domain(r.relid) IS NOT NULL
	 GROUP BY r.viewid, r.relid
),
view_domains AS (
	SELECT r.viewid, pg_catalog.count(DISTINCT r.domain) AS domains,
		   migration_split.report_domain(r.viewid) AS domain
	  FROM view_reads r
	 GROUP BY r.viewid
),
-- the user triggers whose function is not built in, read once from
-- their dependencies on their functions (pg_trigger also holds four
-- internal triggers per foreign key, whose built-in functions, like every
-- built-in, have no pg_depend row and write nothing function_writes()
-- can see)
user_triggers AS MATERIALIZED (
	SELECT t.tgname, t.tgrelid, t.tgfoid, t.tgparentid
	  FROM pg_catalog.pg_trigger t
	 WHERE t.oid IN (SELECT d.objid FROM pg_catalog.pg_depend d
					  WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
						AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass)
	   AND NOT t.tgisinternal
),
trigger_writes AS (
	SELECT f.fn, w.rel::pg_catalog.oid AS relid, w.command
	  FROM (SELECT DISTINCT t.tgfoid AS fn FROM user_triggers t) f,
		   LATERAL migration_split.function_writes(f.fn) w
),
-- column defaults calling nextval() of a sequence of another domain (or
-- of none): the default's dependency on the sequence (refobjsubid 0; the
-- one on its own column has the column number)
seq_defaults AS MATERIALIZED (
	SELECT ad.oid AS adoid, ad.adrelid, ad.adnum, d.refobjid AS seqid,
		   migration_split.report_domain(ad.adrelid) AS tdomain,
		   migration_split.report_domain(d.refobjid) AS sdomain
	  FROM pg_catalog.pg_depend d
	  JOIN pg_catalog.pg_sequence sq ON sq.seqrelid OPERATOR(pg_catalog.=) d.refobjid
	  JOIN (SELECT a.oid, a.adrelid, a.adnum FROM pg_catalog.pg_attrdef a) ad
		ON ad.oid OPERATOR(pg_catalog.=) d.objid
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
	   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.refobjsubid OPERATOR(pg_catalog.=) 0
	   AND migration_split.report_domain(ad.adrelid) IS DISTINCT FROM
		   migration_split.report_domain(d.refobjid)
),
report AS (
	SELECT CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
		   r.viewid::pg_catalog.regclass::pg_catalog.text AS from_object,
		   r.viewid::pg_catalog.regclass AS from_table,
		   n.domain AS from_domain,
		   r.relid::pg_catalog.regclass::pg_catalog.text AS to_object,
		   r.relid::pg_catalog.regclass AS to_table,
		   r.domain AS to_domain,
		   CASE WHEN r.direct AND r.vias IS NULL THEN 'reads it'
				WHEN r.direct THEN 'reads it directly and through ' OPERATOR(pg_catalog.||) r.vias
				ELSE 'reads it through ' OPERATOR(pg_catalog.||) r.vias
		   END AS detail
	  FROM view_reads r
	  JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) r.viewid
	  JOIN view_domains n ON n.viewid OPERATOR(pg_catalog.=) r.viewid
	 WHERE CASE WHEN n.domain IS NULL
				THEN r.domain IS NOT NULL AND n.domains OPERATOR(pg_catalog.>=) 2
				ELSE r.domain IS DISTINCT FROM n.domain
		   END
	UNION ALL
	SELECT 'sequence default',
		   pg_catalog.format('%s.%I', sd.adrelid::pg_catalog.regclass, a.attname),
		   sd.adrelid::pg_catalog.regclass,
		   sd.tdomain,
		   sd.seqid::pg_catalog.regclass::pg_catalog.text,
		   COALESCE(so.refobjid, sd.seqid)::pg_catalog.regclass,
		   sd.sdomain,
		   'default ' OPERATOR(pg_catalog.||) pg_catalog.pg_get_expr(ad.adbin, 0)
		   OPERATOR(pg_catalog.||)
		   CASE WHEN so.refobjid IS NULL THEN '; the sequence is owned by no table'
				ELSE '; the sequence is owned by ' OPERATOR(pg_catalog.||)
					 so.refobjid::pg_catalog.regclass::pg_catalog.text
		   END
	  FROM seq_defaults sd
	  JOIN pg_catalog.pg_attrdef ad ON ad.oid OPERATOR(pg_catalog.=) sd.adoid
	  JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) sd.adrelid
	  JOIN pg_catalog.pg_attribute a
		ON a.attrelid OPERATOR(pg_catalog.=) sd.adrelid
	   AND a.attnum OPERATOR(pg_catalog.=) sd.adnum
	  LEFT JOIN pg_catalog.pg_depend so
		ON so.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND so.objid OPERATOR(pg_catalog.=) sd.seqid
	   AND so.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND so.deptype IN ('a', 'i')
	 WHERE NOT t.relispartition
	UNION ALL
	SELECT 'trigger',
		   pg_catalog.format('%I on %s', t.tgname, t.tgrelid::pg_catalog.regclass),
		   t.tgrelid::pg_catalog.regclass,
		   x.fdomain,
		   w.relid::pg_catalog.regclass::pg_catalog.text,
		   w.relid::pg_catalog.regclass,
		   x.wdomain,
		   pg_catalog.format('function %s runs %s on it',
							 t.tgfoid::pg_catalog.regprocedure, w.command)
	  FROM user_triggers t
	  JOIN trigger_writes w ON w.fn OPERATOR(pg_catalog.=) t.tgfoid,
		   LATERAL (SELECT migration_split.report_domain(t.tgrelid) AS fdomain,
						   migration_split.report_domain(w.relid) AS wdomain) x
	 WHERE t.tgparentid OPERATOR(pg_catalog.=) 0
	   AND x.fdomain IS DISTINCT FROM x.wdomain
	UNION ALL
	SELECT CASE WHEN c.relispartition THEN 'partition' ELSE 'inheritance' END,
		   i.inhrelid::pg_catalog.regclass::pg_catalog.text,
		   i.inhrelid::pg_catalog.regclass,
		   x.cdomain,
		   i.inhparent::pg_catalog.regclass::pg_catalog.text,
		   i.inhparent::pg_catalog.regclass,
		   x.pdomain,
		   CASE WHEN c.relispartition THEN 'is a partition of it'
				ELSE 'inherits from it' END
	  FROM pg_catalog.pg_inherits i
	  CROSS JOIN LATERAL (SELECT c.relispartition FROM pg_catalog.pg_class c
						   WHERE c.oid OPERATOR(pg_catalog.=) i.inhrelid
							 AND c.relkind IN ('r', 'p', 'f')
						  OFFSET 0) c,
		   LATERAL (SELECT migration_split.report_domain(i.inhrelid) AS cdomain,
						   migration_split.report_domain(i.inhparent) AS pdomain) x
	 WHERE x.cdomain IS DISTINCT FROM x.pdomain
)
SELECT r.kind, r.from_object, r.from_table, r.from_domain,
	   r.to_object, r.to_table, r.to_domain, r.detail
  FROM report r
 ORDER BY r.kind COLLATE "C", r.from_object COLLATE "C", r.to_object COLLATE "C"
$function$;
--@end report_cross_domain_dependencies

CREATE VIEW migration_split.cross_domain_dependencies AS
SELECT d.kind, d.from_object, d.from_table, d.from_domain,
	   d.to_object, d.to_table, d.to_domain, d.detail
  FROM migration_split.report_cross_domain_dependencies() d;

COMMENT ON VIEW migration_split.cross_domain_dependencies IS
	'ties between domains other than foreign keys: views, sequence defaults, triggers, inheritance';

GRANT SELECT ON migration_split.cross_domain_foreign_keys,
	migration_split.cross_domain_dependencies TO PUBLIC;
GRANT EXECUTE ON FUNCTION migration_split.report_relation_domains(),
	migration_split.report_domain(pg_catalog.oid),
	migration_split.report_domain_sizes(),
	migration_split.report_fill_domains(),
	migration_split.report_domain_root(pg_catalog.oid),
	migration_split.report_drawn_as(pg_catalog.oid),
	migration_split.report_cross_domain_dependencies(),
	migration_split.function_writes(pg_catalog.regprocedure),
	migration_split.column_names(pg_catalog.regclass, pg_catalog.int2[]) TO PUBLIC;

--@begin crossings_and_graphs
-- What ties two domains, counted per kind: one row per (from_domain,
-- to_domain, kind).  Directed rows (from_domain depends on to_domain):
-- foreign keys, generic relations (when
-- migration_split.cross_domain_generic_relations exists), and the kinds of
-- cross_domain_dependencies with the dependent object's domain at the
-- from end.  Undirected rows (directed = false, from_domain < to_domain in
-- byte order): untagged views reading both domains, and from the runtime
-- monitor (when preloaded) the statements that reached both (objects:
-- statements, calls: their calls) and the committed transactions that
-- wrote both.  A NULL domain is the unowned end of a tie.  plpgsql so that
-- the optional sources are looked up when it runs.
CREATE FUNCTION migration_split.report_domain_crossings()
RETURNS TABLE (from_domain pg_catalog.text, to_domain pg_catalog.text,
			   kind pg_catalog.text, directed boolean,
			   objects pg_catalog.int8, calls pg_catalog.int8)
LANGUAGE plpgsql STABLE ROWS 100
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $function$
#variable_conflict use_column
BEGIN
	PERFORM migration_split.report_fill_domains();
	RETURN QUERY
	WITH deps AS MATERIALIZED (
		SELECT d.kind, d.from_object, d.from_domain, d.to_domain
		  FROM migration_split.report_cross_domain_dependencies() d
	)
	SELECT c.f, c.t, 'foreign key'::text, true, count(*), NULL::int8
	  FROM (SELECT migration_split.report_domain(k.conrelid) AS f,
				   migration_split.report_domain(k.confrelid) AS t
			  FROM pg_constraint k
			 WHERE k.contype = 'f'
			   AND k.conparentid = 0
			OFFSET 0) c
	 WHERE c.f IS DISTINCT FROM c.t
	 GROUP BY c.f, c.t
	UNION ALL
	SELECT d.from_domain, d.to_domain, d.kind, true, count(*), NULL::int8
	  FROM deps d
	 WHERE NOT (d.kind IN ('view', 'materialized view') AND d.from_domain IS NULL)
	 GROUP BY d.from_domain, d.to_domain, d.kind
	UNION ALL
	SELECT a.a, b.b, v.kind, false, count(*), NULL::int8
	  FROM (SELECT d.kind, d.from_object, array_agg(DISTINCT d.to_domain) AS domains
			  FROM deps d
			 WHERE d.kind IN ('view', 'materialized view')
			   AND d.from_domain IS NULL
			 GROUP BY d.kind, d.from_object) v,
		   unnest(v.domains) a(a), unnest(v.domains) b(b)
	 WHERE a.a COLLATE "C" < b.b COLLATE "C"
	 GROUP BY a.a, b.b, v.kind;

	-- built by a later part of the extension, or absent: looked up here
	IF to_regclass('migration_split.cross_domain_generic_relations') IS NOT NULL THEN
		RETURN QUERY EXECUTE
			'SELECT g.from_domain, g.to_domain, ''generic relation''::pg_catalog.text,'
			' true, pg_catalog.count(*), NULL::pg_catalog.int8'
			' FROM migration_split.cross_domain_generic_relations g'
			' WHERE g.from_domain IS DISTINCT FROM g.to_domain'
			' GROUP BY g.from_domain, g.to_domain';
	END IF;

	IF migration_split.monitor_loaded() THEN
		RETURN QUERY
		WITH known AS (
			SELECT d.domain FROM migration_split.domains d
		),
		q AS (
			SELECT q.queryid, q.userid, q.domains, q.calls
			  FROM migration_split.cross_domain_queries q
			 WHERE q.dbid = (SELECT oid FROM pg_database
							  WHERE datname = current_database())
		),
		x AS (
			SELECT x.domains, x.count
			  FROM migration_split.cross_domain_transactions x
			 WHERE x.dbid = (SELECT oid FROM pg_database
							  WHERE datname = current_database())
		)
		-- a statement has an entry per set of domains it crossed: counted
		-- once per pair (an entry of another user whose query id is hidden
		-- counts as one)
		SELECT a.a, b.b, 'query'::text, false,
			   count(DISTINCT (q.userid, q.queryid)) FILTER (WHERE q.queryid IS NOT NULL) +
			   count(*) FILTER (WHERE q.queryid IS NULL),
			   sum(q.calls)::int8
		  FROM q, unnest(q.domains) a(a), unnest(q.domains) b(b)
		 WHERE a.a COLLATE "C" < b.b COLLATE "C"
		   AND a.a IN (SELECT known.domain FROM known)
		   AND b.b IN (SELECT known.domain FROM known)
		 GROUP BY a.a, b.b
		UNION ALL
		SELECT a.a, b.b, 'write transaction'::text, false, sum(x.count)::int8, NULL::int8
		  FROM x, unnest(x.domains) a(a), unnest(x.domains) b(b)
		 WHERE a.a COLLATE "C" < b.b COLLATE "C"
		   AND a.a IN (SELECT known.domain FROM known)
		   AND b.b IN (SELECT known.domain FROM known)
		 GROUP BY a.a, b.b;
	END IF;
END
$function$;

CREATE VIEW migration_split.domain_crossings AS
SELECT c.from_domain, c.to_domain, c.kind, c.directed, c.objects, c.calls
  FROM migration_split.report_domain_crossings() c
 ORDER BY c.from_domain COLLATE "C", c.to_domain COLLATE "C", c.directed DESC,
		  pg_catalog.array_position(ARRAY['foreign key', 'generic relation', 'view',
										  'materialized view', 'sequence default', 'trigger',
										  'inheritance', 'partition', 'query',
										  'write transaction'], c.kind);

COMMENT ON VIEW migration_split.domain_crossings IS
	'what ties two domains, counted per kind: schema ties from_domain -> to_domain, and undirected ties (views of both, runtime statements and write transactions)';

GRANT SELECT ON migration_split.domain_crossings TO PUBLIC;
GRANT EXECUTE ON FUNCTION migration_split.report_domain_crossings() TO PUBLIC;

-- The text of the table-level graph from its nodes and edges, in any
-- order: sorted by name and written out as DOT or Mermaid in C (an ordered
-- aggregate per column cost PostgreSQL a sort each).  Internal to
-- report_table_graph().
CREATE FUNCTION migration_split.report_table_graph_text(fmt pg_catalog.text,
	n_rel pg_catalog.oid[], n_domain pg_catalog.text[], n_kind pg_catalog."char"[],
	n_name pg_catalog.text[], e_src pg_catalog.oid[], e_dst pg_catalog.oid[],
	e_style pg_catalog.text[], e_label pg_catalog.text[])
RETURNS pg_catalog.text
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'ms_report_table_graph_text';

-- The table-level graph of boundary_graph(): domains as clusters (DOT) or
-- subgraphs (Mermaid), tables as nodes, foreign keys as edges (grey inside
-- a domain, bold red across domains) and the ties of
-- cross_domain_dependencies as dashed orange edges.  Partitions, TOAST
-- tables and owned sequences are drawn as their table; views and unowned
-- tables appear when an edge needs them.  DOT asks for newrank: dot's
-- default ranking ranks each cluster on its own and then collapses it
-- into one node, and edges running both ways between clusters whose tables
-- are also tied inside the clusters give it constraints it cannot rank
-- ("trouble in init_rank"); newrank ranks all nodes in one pass.
-- Arguments are checked by boundary_graph().
CREATE FUNCTION migration_split.report_table_graph(fmt pg_catalog.text,
												   only_domain pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $function$
DECLARE
	result		text;
BEGIN
	PERFORM migration_split.report_fill_domains();
	-- Edges between graph nodes: every foreign key with an owned end, and
	-- every cross-domain dependency, partitions, TOAST tables and owned
	-- sequences drawn as their table.  Nodes: every owned table (not
	-- partitions), and every edge end.  With only_domain: the edges with
	-- an end in that domain, its tables, and the other ends.
	WITH raw AS (
		SELECT c.conrelid AS src, c.confrelid AS dst, 'fk' AS style,
			   c.conname::text AS label
		  FROM pg_constraint c
		 WHERE c.contype = 'f' AND c.conparentid = 0
		UNION ALL
		SELECT d.from_table::oid, d.to_table::oid, 'dependency', d.kind
		  FROM migration_split.report_cross_domain_dependencies() d
	),
	mapped AS MATERIALIZED (
		SELECT x.src, x.src_domain, x.dst, x.dst_domain,
			   CASE WHEN x.style = 'dependency' THEN 'dependency'
					WHEN x.src_domain IS NOT DISTINCT FROM x.dst_domain THEN 'fk'
					ELSE 'cross fk' END AS style,
			   x.label
		  -- partitions, TOAST tables and owned sequences are drawn as their
		  -- table (report_drawn_as(), a cache lookup)
		  FROM (SELECT migration_split.report_drawn_as(r.src) AS src,
					   migration_split.report_domain(r.src) AS src_domain,
					   migration_split.report_drawn_as(r.dst) AS dst,
					   migration_split.report_domain(r.dst) AS dst_domain,
					   r.style, r.label
				  FROM raw r
				OFFSET 0) x
		 WHERE (x.src_domain IS NOT NULL OR x.dst_domain IS NOT NULL)
		   AND (only_domain IS NULL OR x.src_domain = only_domain
				OR x.dst_domain = only_domain)
	),
	-- each node's name computed once (regclass output is not free); the
	-- owned tables kept by their relkind, the edge ends whatever theirs:
	-- one join with pg_class for all
	nodes AS MATERIALIZED (
		SELECT u.rel, u.domain, c.relkind, u.rel::regclass::text AS name
		  FROM (SELECT a.rel, a.domain, bool_or(a.edge) AS edge
				  FROM (SELECT rd.relid, rd.domain, false
						  FROM migration_split.report_relation_domains() rd
						 WHERE rd.via IN ('tag', 'inheritance')
						   AND (only_domain IS NULL OR rd.domain = only_domain)
						UNION ALL
						SELECT m.src, m.src_domain, true FROM mapped m
						UNION ALL
						SELECT m.dst, m.dst_domain, true FROM mapped m) a(rel, domain, edge)
				 GROUP BY a.rel, a.domain) u
		  JOIN pg_class c ON c.oid = u.rel
		 WHERE u.edge OR c.relkind IN ('r', 'p', 'f', 'm')
	)
	-- sorted and written out in C (src/report_graph.c)
	SELECT migration_split.report_table_graph_text(fmt, n.rel, n.domain, n.relkind,
												   n.name, e.src, e.dst, e.style,
												   e.label)
	  INTO result
	  FROM (SELECT array_agg(m.src) AS src, array_agg(m.dst) AS dst,
				   array_agg(m.style) AS style, array_agg(m.label) AS label
			  FROM mapped m) e,
		   (SELECT array_agg(nodes.rel) AS rel, array_agg(nodes.domain) AS domain,
				   array_agg(nodes.relkind) AS relkind, array_agg(nodes.name) AS name
			  FROM nodes) n;

	RETURN result;
END
$function$;


COMMENT ON FUNCTION migration_split.report_table_graph(pg_catalog.text, pg_catalog.text) IS
	'the table-level graph of boundary_graph(level => ''table'')';

-- The domain-level graph of boundary_graph(): one node per domain (its
-- tables and size), one edge per direction between
-- two domains for the schema's ties and one undirected edge for the ties
-- without a direction (domain_crossings), each labelled with what crosses
-- and drawn thicker the more there is.  Unowned ends are one node.  With
-- only_domain: that domain, the edges touching it and their other ends.
-- Arguments are checked by boundary_graph().
CREATE FUNCTION migration_split.report_domain_graph(fmt pg_catalog.text,
													only_domain pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $function$
DECLARE
	result		text;
BEGIN
	PERFORM migration_split.report_fill_domains();
	WITH sizes AS (
		SELECT z.domain, z.tables, z.total_size
		  FROM migration_split.report_domain_sizes() z
	),
	ties AS MATERIALIZED (
		SELECT x.from_domain, x.to_domain, x.kind, x.directed, x.objects, x.calls,
			   x.objects::text || ' '
			   || CASE WHEN x.kind = 'inheritance' AND x.objects = 1 THEN 'inheritance child'
					   WHEN x.kind = 'inheritance' THEN 'inheritance children'
					   WHEN x.kind = 'query' AND x.objects = 1 THEN 'query'
					   WHEN x.kind = 'query' THEN 'queries'
					   WHEN x.objects = 1 THEN x.kind
					   ELSE x.kind || 's' END
			   || CASE WHEN NOT x.directed AND x.kind IN ('view', 'materialized view')
					   THEN ' of both' ELSE '' END
			   || CASE WHEN x.calls IS NULL THEN ''
					   WHEN x.calls = 1 THEN ' (1 call)'
					   ELSE ' (' || x.calls || ' calls)' END AS text,
			   array_position(ARRAY['foreign key', 'generic relation', 'view',
									'materialized view', 'sequence default', 'trigger',
									'inheritance', 'partition', 'query',
									'write transaction'], x.kind) AS kind_order
		  FROM migration_split.report_domain_crossings() x
		 WHERE only_domain IS NULL
			OR x.from_domain = only_domain OR x.to_domain = only_domain
	),
	nodes AS (
		SELECT d.domain, coalesce(s.tables, 0) AS tables,
			   coalesce(s.total_size, 0)::int8 AS total_size
		  FROM migration_split.domains d
		  LEFT JOIN sizes s ON s.domain = d.domain
		 WHERE only_domain IS NULL OR d.domain = only_domain
			OR EXISTS (SELECT FROM ties t
						WHERE t.from_domain = d.domain OR t.to_domain = d.domain)
		UNION ALL
		SELECT NULL, NULL, NULL
		 WHERE EXISTS (SELECT FROM ties t
						WHERE t.from_domain IS NULL OR t.to_domain IS NULL)
	),
	-- the unowned node last; generated Mermaid IDs follow this order
	n AS (
		SELECT nodes.*,
			   row_number() OVER (ORDER BY nodes.domain COLLATE "C" NULLS LAST) AS ord,
			   CASE WHEN nodes.domain IS NULL THEN '"(unowned)"'
					ELSE '"' || nodes.domain || '"' END AS dot_id,
			   CASE WHEN nodes.domain IS NULL THEN '(unowned)'
					ELSE nodes.domain END AS name,
			   CASE WHEN nodes.domain IS NULL THEN NULL
					ELSE nodes.tables || CASE WHEN nodes.tables = 1 THEN ' table, ' ELSE ' tables, ' END
						 || pg_size_pretty(nodes.total_size) END AS info
		  FROM nodes
	),
	edges AS (
		SELECT t.from_domain, t.to_domain, t.directed,
			   array_agg(t.text ORDER BY t.kind_order) AS texts,
			   bool_or(t.kind = 'foreign key') AS has_fk,
			   sum(t.objects) AS weight
		  FROM ties t
		 GROUP BY t.from_domain, t.to_domain, t.directed
	),
	e AS (
		SELECT edges.*, s.dot_id AS s_dot, d.dot_id AS d_dot,
			   'n' || s.ord AS s_id, 'n' || d.ord AS d_id,
			   round(least(8, 1 + 1.5 * ln(greatest(edges.weight, 1)))::numeric, 1) AS width,
			   CASE WHEN NOT edges.directed THEN '#1f77b4'
					WHEN edges.has_fk THEN '#d62728'
					ELSE '#ff7f0e' END AS color,
			   row_number() OVER (ORDER BY s.ord, d.ord, edges.directed DESC) - 1 AS ord
		  FROM edges
		  JOIN n s ON s.domain IS NOT DISTINCT FROM edges.from_domain
		  JOIN n d ON d.domain IS NOT DISTINCT FROM edges.to_domain
	)
	SELECT CASE WHEN fmt = 'dot' THEN
			E'digraph migration_split {\n'
			|| E'\tgraph [rankdir=LR, fontname="Helvetica", nodesep=0.5, ranksep=1.5];\n'
			|| E'\tnode [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#4a6fa5", fontname="Helvetica", fontsize=11];\n'
			|| E'\tedge [fontname="Helvetica", fontsize=9];\n'
			|| coalesce((SELECT string_agg(E'\t' || n.dot_id
								 || CASE WHEN n.domain IS NULL
										 THEN E' [style="rounded,dashed", fillcolor="#ffffff"];\n'
										 ELSE ' [label="' || n.name || E'\\n' || n.info || E'"];\n' END,
								 '' ORDER BY n.ord) FROM n), '')
			|| coalesce((SELECT string_agg(E'\t' || e.s_dot || ' -> ' || e.d_dot
								 || ' [label="' || array_to_string(e.texts, E'\\n') || '"'
								 || ', color="' || e.color || '", fontcolor="' || e.color || '"'
								 || ', penwidth=' || e.width
								 || CASE WHEN e.directed THEN '' ELSE ', dir=none, style=dashed' END
								 || E'];\n', '' ORDER BY e.ord) FROM e), '')
			|| E'}\n'
		ELSE
			E'flowchart LR\n'
			|| coalesce((SELECT string_agg('    n' || n.ord || '["' || n.name
								 || coalesce('<br/>' || n.info, '') || E'"]\n',
								 '' ORDER BY n.ord) FROM n), '')
			|| coalesce((SELECT string_agg('    ' || e.s_id
								 || CASE WHEN NOT e.directed THEN ' -.-|"'
										 WHEN e.has_fk THEN ' ==>|"' ELSE ' -->|"' END
								 || array_to_string(e.texts, '<br/>') || '"| ' || e.d_id || E'\n',
								 '' ORDER BY e.ord) FROM e), '')
			|| coalesce((SELECT string_agg('    linkStyle ' || e.ord || ' stroke:' || e.color
								 || ',stroke-width:' || e.width || E'px\n', '' ORDER BY e.ord)
						   FROM e), '')
			|| coalesce((SELECT E'    classDef unowned stroke-dasharray:5 5\n'
								|| '    class n' || n.ord || E' unowned\n'
						   FROM n WHERE n.domain IS NULL), '')
		END
	  INTO result;
	RETURN result;
END
$function$;

COMMENT ON FUNCTION migration_split.report_domain_graph(pg_catalog.text, pg_catalog.text) IS
	'the domain-level graph of boundary_graph(level => ''domain'')';

-- The boundary graph as Graphviz DOT or Mermaid text, at the level of
-- domains (default) or of tables, of every domain or of one domain and
-- its neighbours.  The argument checks live here; the drawing in
-- report_domain_graph() and report_table_graph().
CREATE FUNCTION migration_split.boundary_graph(format pg_catalog.text DEFAULT 'dot',
											   level pg_catalog.text DEFAULT 'domain',
											   domain pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
	-- lower case as in the C locale, whatever the database's collation
	-- (tr-TR lowercases 'MERMAID' to 'mermaıd')
	fmt			text := lower(format COLLATE "C");
	lvl			text := lower(level COLLATE "C");
BEGIN
	IF format IS NULL THEN
		RAISE EXCEPTION 'graph format must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Valid formats are "dot" and "mermaid".';
	END IF;
	IF fmt NOT IN ('dot', 'mermaid') THEN
		RAISE EXCEPTION 'unknown graph format "%"', format
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The boundary graph is drawn as Graphviz DOT or as a Mermaid flowchart.',
				  HINT = 'Valid formats are "dot" and "mermaid".';
	END IF;
	IF level IS NULL THEN
		RAISE EXCEPTION 'graph level must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Valid levels are "domain" and "table".';
	END IF;
	IF lvl NOT IN ('domain', 'table') THEN
		RAISE EXCEPTION 'unknown graph level "%"', level
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Level "domain" draws one node per domain, level "table" one node per table.',
				  HINT = 'Valid levels are "domain" and "table".';
	END IF;
	IF domain IS NOT NULL THEN
		PERFORM migration_split.require_domain(domain);
	END IF;
	IF lvl = 'domain' THEN
		RETURN migration_split.report_domain_graph(fmt, domain);
	END IF;
	RETURN migration_split.report_table_graph(fmt, domain);
END
$function$;

COMMENT ON FUNCTION migration_split.boundary_graph(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'the domains and the ties between them (level ''domain'') or their tables (''table''), of every domain or of one and its neighbours, as Graphviz DOT (''dot'') or Mermaid (''mermaid'')';

GRANT EXECUTE ON FUNCTION migration_split.boundary_graph(pg_catalog.text, pg_catalog.text, pg_catalog.text),
	migration_split.report_domain_graph(pg_catalog.text, pg_catalog.text),
	migration_split.report_table_graph(pg_catalog.text, pg_catalog.text),
	migration_split.report_table_graph_text(pg_catalog.text, pg_catalog.oid[],
		pg_catalog.text[], pg_catalog."char"[], pg_catalog.text[], pg_catalog.oid[],
		pg_catalog.oid[], pg_catalog.text[], pg_catalog.text[]) TO PUBLIC;
--@end crossings_and_graphs
