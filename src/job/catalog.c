/*-------------------------------------------------------------------------
 *
 * catalog.c
 *		Read the domain's tables from the source catalog and build the DDL
 *		that recreates them on the target.
 *
 * The domain's tables are the relations tagged with the domain in
 * migration_split.ownership, plus inheritance children that follow an
 * untagged parent.  A partitioned table is one table (its root): the output
 * plugin reports partitions as their root, and the target gets a plain table.
 *
 * DDL comes from the server's own deparsers (format_type, pg_get_expr,
 * pg_get_constraintdef, pg_get_indexdef) run with search_path set to the
 * schemas of the domain's tables, so that names of objects in those schemas
 * come out unqualified and all others qualified; the target runs the DDL with
 * search_path set to the target schema.  Objects the tables need (types,
 * collations, text search configurations, extensions) are recreated by the
 * same rule: an unqualified name in the target schema, a qualified one in a
 * schema of the same name (read_objects).  The stream's walsender uses the
 * same search_path (stream.c), so the type names of its relation messages
 * follow the rule too.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"

#include "job.h"

static char *
get_str(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return pg_strdup(PQgetvalue(res, row, col));
}

/*
 * Warn when the target database's default collation is not the source's and
 * the domain has columns of the default collation: in the service they sort
 * and compare by the target's rules (ORDER BY, <, LIKE ranges, upper() and
 * lower() of a Turkish ICU locale), and postgres_fdw, which assumes that the
 * remote default collation is the local one, has the read path's
 * comparisons of them evaluated there.  Nothing stops: it may be what the
 * service wants; but it must not come as a surprise.
 */
void
catalog_warn_default_collation(PGconn *src, PGconn *tgt, const char *domain)
{
	char	   *src_desc,
			   *src_clause,
			   *tgt_desc;
	const char *params[1] = {domain};
	char	   *n;

	if (strcmp(job_default_collation(src, "source", &src_desc, &src_clause),
			   job_default_collation(tgt, "target", &tgt_desc, NULL)) == 0)
		return;
	n = job_query_value(src, "source",
						"SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a"
						" WHERE a.attrelid IN (SELECT rel FROM migration_split.relation_domains"
						"  WHERE domain = $1 AND via IN ('tag', 'inheritance'))"
						" AND a.attnum > 0 AND NOT a.attisdropped"
						" AND a.attcollation = 'pg_catalog.default'::pg_catalog.regcollation",
						1, params);
	if (n == NULL || strcmp(n, "0") == 0)
		return;
	pg_log_warning("the default collation of the target database (%s) differs from the source's (%s)",
				   tgt_desc, src_desc);
	if (strcmp(n, "1") == 0)
		pg_log_warning_detail("1 column of domain \"%s\" has the default collation: in the service it sorts and compares by the target's rules, and through a read path (cutover --read-path) the monolith's comparisons of it are evaluated by the service.",
							  domain);
	else
		pg_log_warning_detail("%s columns of domain \"%s\" have the default collation: in the service they sort and compare by the target's rules, and through a read path (cutover --read-path) the monolith's comparisons of them are evaluated by the service.",
							  n, domain);
	pg_log_warning_hint("Create the target database with the source's collation (CREATE DATABASE ... TEMPLATE template0 %s), or give those columns an explicit collation in the source.",
						src_clause);
}

/*
 * Checks that do not depend on the tables: extension, wal_level, domain.
 */
void
catalog_check_source(PGconn *src, const char *domain)
{
	PGresult   *res;
	const char *params[1] = {domain};

	res = job_query(src, "source",
					"SELECT pg_catalog.current_setting('wal_level'), "
					"(SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'migration_split')",
					0, NULL);
	if (PQgetisnull(res, 0, 1))
	{
		pg_log_error("extension \"migration_split\" is not installed in the source database");
		pg_log_error_hint("Run CREATE EXTENSION migration_split in the source database and tag the domain's tables.");
		exit(EXIT_DOMAIN);
	}
	if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0)
	{
		pg_log_error("logical decoding requires wal_level \"logical\" on the source, not \"%s\"",
					 PQgetvalue(res, 0, 0));
		pg_log_error_hint("Set wal_level = logical in the source's postgresql.conf and restart it.");
		exit(EXIT_DOMAIN);
	}
	PQclear(res);

	res = job_query(src, "source",
					"SELECT pg_catalog.string_agg(domain, ', ' ORDER BY domain), "
					"pg_catalog.bool_or(domain = $1) FROM migration_split.domains",
					1, params);
	if (PQgetisnull(res, 0, 1) || strcmp(PQgetvalue(res, 0, 1), "t") != 0)
	{
		pg_log_error("domain \"%s\" does not exist", domain);
		if (PQgetisnull(res, 0, 0))
			pg_log_error_hint("No domain is defined in migration_split.domains yet.");
		else
			pg_log_error_hint("Defined domains: %s.", PQgetvalue(res, 0, 0));
		exit(EXIT_DOMAIN);
	}
	PQclear(res);
}

/*
 * The domain's tables, by the extension's own resolution rule
 * (migration_split.relation_domains): tagged ones and inheritance children
 * following them; partitions travel with their root.  A primary key or
 * replica identity index counts only when PostgreSQL logs the old key by it:
 * a DEFERRABLE or invalid index is not a replica identity (the server's
 * RelationGetIndexList skips it), and the table's updates and deletes would
 * come without a key.
 */
static const char *tables_sql =
" SELECT c.oid, n.nspname, c.relname, c.relkind, c.relreplident,"
"  GREATEST(c.reltuples, 0),"
"  pg_catalog.pg_total_relation_size(c.oid),"
"  EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary"
"   AND i.indimmediate AND i.indisvalid),"
"  EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisreplident"
"   AND i.indimmediate AND i.indisvalid),"
"  pg_catalog.has_table_privilege(c.oid, 'SELECT')"
" FROM migration_split.relation_domains d"
" JOIN pg_catalog.pg_class c ON c.oid = d.rel::pg_catalog.oid"
" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
" WHERE d.domain = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
" ORDER BY n.nspname, c.relname";

/* leaf partitions of the domain's tables without a usable replica identity */
static const char *partitions_nokey_sql =
"SELECT pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(pc.relname),"
"  pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(rc.relname)"
" FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS r(oid)"
" JOIN pg_catalog.pg_class rc ON rc.oid = r.oid"
" JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace"
" CROSS JOIN LATERAL pg_catalog.pg_partition_tree(r.oid) t"
" JOIN pg_catalog.pg_class pc ON pc.oid = t.relid"
" JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace"
" WHERE rc.relkind = 'p' AND t.isleaf AND pc.relkind = 'r'"
"  AND (pc.relreplident = 'n'"
"   OR (pc.relreplident = 'd' AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = pc.oid AND i.indisprimary"
"    AND i.indimmediate AND i.indisvalid))"
"   OR (pc.relreplident = 'i' AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = pc.oid AND i.indisreplident"
"    AND i.indimmediate AND i.indisvalid)))"
" ORDER BY 1";

static const char *columns_sql =
"SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid, a.attnotnull,"
"  CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0"
"   THEN CASE WHEN pg_catalog.pg_collation_is_visible(co.oid) THEN pg_catalog.quote_ident(co.collname)"
"        ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END END,"
"  pg_catalog.pg_get_expr(ad.adbin, ad.adrelid),"
"  ad.oid IS NULL OR NOT EXISTS ("
"   SELECT FROM pg_catalog.pg_depend dp"
"   WHERE dp.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND dp.objid = ad.oid"
"    AND dp.deptype = 'n'"
"    AND NOT ((dp.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
"              AND (dp.refobjid = a.attrelid OR EXISTS ("
"                SELECT FROM pg_catalog.pg_depend sd"
"                WHERE sd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
"                  AND sd.objid = dp.refobjid"
"                  AND sd.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
"                  AND sd.deptype IN ('a', 'i') AND sd.refobjid = ANY ($2::pg_catalog.oid[]))))"
"         OR (dp.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND EXISTS ("
"                SELECT FROM pg_catalog.pg_proc p WHERE p.oid = dp.refobjid"
"                AND p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace))"
"         OR dp.refclassid IN ('pg_catalog.pg_type'::pg_catalog.regclass,"
"                              'pg_catalog.pg_collation'::pg_catalog.regclass,"
"                              'pg_catalog.pg_ts_config'::pg_catalog.regclass))),"
"  a.attidentity, a.attgenerated,"
"  pg_catalog.pg_get_serial_sequence(pg_catalog.quote_ident(n.nspname) || '.' ||"
"                                    pg_catalog.quote_ident(c.relname), a.attname),"
"  t.typsend <> 0 AND t.typreceive <> 0"
"   AND (et.oid IS NULL OR (et.typsend <> 0 AND et.typreceive <> 0)),"
"  a.attnum"
" FROM pg_catalog.pg_attribute a"
" JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
" JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
" LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'"
" LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation"
" LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace"
" LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
" WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped"
" ORDER BY a.attnum";

static const char *constraints_sql =
"SELECT c.conname, c.contype, pg_catalog.pg_get_constraintdef(c.oid),"
"  c.confrelid = ANY ($2::pg_catalog.oid[]),"
"  CASE WHEN c.contype = 'f' THEN pg_catalog.quote_ident(fn.nspname) || '.' ||"
"       pg_catalog.quote_ident(fc.relname) END,"
"  c.convalidated"
" FROM pg_catalog.pg_constraint c"
" LEFT JOIN pg_catalog.pg_class fc ON fc.oid = c.confrelid"
" LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace"
" WHERE c.conrelid = $1 AND c.contype IN ('p', 'u', 'x', 'c', 'f')"
" ORDER BY c.contype <> 'p', c.conname";

static const char *indexes_sql =
"SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.pg_get_indexdef(i.indexrelid),"
"   ' ON ONLY ' || q.qual || ' USING ', ' ON ' || q.name || ' USING '),"
"   ' ON ' || q.qual || ' USING ', ' ON ' || q.name || ' USING ')"
" FROM pg_catalog.pg_index i,"
"  LATERAL (SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"
"                  pg_catalog.quote_ident(c.relname)"
"           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
"           WHERE c.oid = i.indrelid) q(qual, name)"
" WHERE i.indrelid = $1"
"  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c"
"                  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)"
" ORDER BY i.indexrelid";

/*
 * Every object outside the domain's tables that the tables need on the
 * target, one row each: types (enum, domain, composite, range) from any
 * schema with everything they are made of (array types come with their
 * element type; a domain over an array is a type of its own), collations (of columns, types,
 * indexes and expressions), text search configurations and their
 * dictionaries (referenced by defaults, generated columns, indexes and
 * constraints), and operator classes (of indexes and exclusion constraints).
 * $1 is the array of the tables' OIDs.
 *
 * The objects a table needs are found through pg_depend from the table, its
 * indexes, constraints and defaults, as pg_dump orders its output: the
 * server records there every type, collation, operator class and text search
 * configuration an expression or column uses.
 *
 * Columns: kind (1 collation, 2 text search dictionary, 3 text search
 * configuration, 4 type, 5 operator class), object schema, whether its name
 * is visible in the search_path the DDL is deparsed with (the schemas of the
 * domain's tables), name as the deparsers print it, catalog and name columns
 * for the existence check, object name, extension name, extension schema,
 * whether that schema is in the search_path, DDL (NULL: cannot be recreated,
 * '' nothing to do).  Runs with search_path set to the tables' schemas.
 */
static const char *objects_sql =
"WITH RECURSIVE"
" owned(classid, objid) AS ("
"  SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c FROM pg_catalog.unnest($1::pg_catalog.oid[]) c"
"  UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, i.indexrelid"
"   FROM pg_catalog.pg_index i WHERE i.indrelid = ANY ($1::pg_catalog.oid[])"
"  UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, c.oid"
"   FROM pg_catalog.pg_constraint c WHERE c.conrelid = ANY ($1::pg_catalog.oid[])"
"  UNION ALL SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, a.oid"
"   FROM pg_catalog.pg_attrdef a WHERE a.adrelid = ANY ($1::pg_catalog.oid[])),"
" refs(classid, objid) AS ("
"  SELECT DISTINCT d.refclassid, d.refobjid FROM pg_catalog.pg_depend d"
"  JOIN owned o ON o.classid = d.classid AND o.objid = d.objid"
"  WHERE d.deptype = 'n'),"
" ty(oid) AS ("
"  SELECT objid FROM refs WHERE classid = 'pg_catalog.pg_type'::pg_catalog.regclass"
"  UNION"
"  SELECT v.x FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid,"
"   LATERAL (SELECT t.typelem UNION ALL SELECT t.typbasetype UNION ALL"
"            SELECT a.atttypid FROM pg_catalog.pg_attribute a"
"            WHERE t.typtype = 'c' AND a.attrelid = t.typrelid"
"              AND a.attnum > 0 AND NOT a.attisdropped"
"            UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid"
"            UNION ALL SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngmultitypid = t.oid) v(x)"
"  WHERE v.x <> 0),"
" types AS ("
"  SELECT t.* FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid"
"  WHERE (t.typcategory <> 'A' OR t.typtype = 'd')"
"   AND NOT (t.typtype = 'c' AND EXISTS (SELECT FROM pg_catalog.pg_class r"
"            WHERE r.oid = t.typrelid AND r.relkind <> 'c'))),"
" colls(oid) AS ("
"  SELECT objid FROM refs WHERE classid = 'pg_catalog.pg_collation'::pg_catalog.regclass"
"  UNION SELECT typcollation FROM types"
"  UNION SELECT a.attcollation FROM types t JOIN pg_catalog.pg_attribute a"
"   ON a.attrelid = t.typrelid AND t.typtype = 'c'"
"  UNION SELECT r.rngcollation FROM types t JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid),"
" cfgs(oid) AS ("
"  SELECT objid FROM refs WHERE classid = 'pg_catalog.pg_ts_config'::pg_catalog.regclass),"
" dicts(oid) AS ("
"  SELECT DISTINCT m.mapdict FROM cfgs JOIN pg_catalog.pg_ts_config_map m ON m.mapcfg = cfgs.oid),"
" opcs(oid) AS ("
"  SELECT objid FROM refs WHERE classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass"
"  UNION SELECT r.rngsubopc FROM types t JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid),"
" objs(kind, classid, oid, nsp, visible, name, cat, namecol, nspcol, objname, ddl, kw) AS ("
"  SELECT 1, 'pg_catalog.pg_collation'::pg_catalog.regclass, co.oid, co.collnamespace,"
"   pg_catalog.pg_collation_is_visible(co.oid), co.collname, 'pg_collation', 'collname', 'collnamespace', co.collname,"
"   ' (' || CASE co.collprovider"
"     WHEN 'i' THEN 'provider = icu, locale = ' || pg_catalog.quote_literal(co.colliculocale)"
"     WHEN 'c' THEN 'provider = libc, lc_collate = ' || pg_catalog.quote_literal(co.collcollate) ||"
"                   ', lc_ctype = ' || pg_catalog.quote_literal(co.collctype) END ||"
"   CASE WHEN co.collisdeterministic THEN '' ELSE ', deterministic = false' END || ')', 'COLLATION'"
"  FROM colls JOIN pg_catalog.pg_collation co ON co.oid = colls.oid"
"  UNION ALL"
"  SELECT 2, 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, di.oid, di.dictnamespace,"
"   pg_catalog.pg_ts_dict_is_visible(di.oid), di.dictname, 'pg_ts_dict', 'dictname', 'dictnamespace', di.dictname,"
"   ' (TEMPLATE = ' || pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(tm.tmplname) ||"
"   COALESCE(', ' || di.dictinitoption, '') || ')', 'TEXT SEARCH DICTIONARY'"
"  FROM dicts JOIN pg_catalog.pg_ts_dict di ON di.oid = dicts.oid"
"  JOIN pg_catalog.pg_ts_template tm ON tm.oid = di.dicttemplate"
"  JOIN pg_catalog.pg_namespace tn ON tn.oid = tm.tmplnamespace"
"  UNION ALL"
"  SELECT 3, 'pg_catalog.pg_ts_config'::pg_catalog.regclass, cf.oid, cf.cfgnamespace,"
"   pg_catalog.pg_ts_config_is_visible(cf.oid), cf.cfgname, 'pg_ts_config', 'cfgname', 'cfgnamespace', cf.cfgname,"
"   ' (PARSER = ' || pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.prsname) || ')' ||"
"   COALESCE((SELECT pg_catalog.string_agg(';' || chr(10) || 'ALTER TEXT SEARCH CONFIGURATION %NAME% ADD MAPPING FOR ' ||"
"     pg_catalog.quote_ident(tt.alias) || ' WITH ' || mm.dicts, '' ORDER BY tt.tokid)"
"    FROM (SELECT m.maptokentype, pg_catalog.string_agg("
"            CASE WHEN pg_catalog.pg_ts_dict_is_visible(d.oid) THEN pg_catalog.quote_ident(d.dictname)"
"            ELSE pg_catalog.quote_ident(dn.nspname) || '.' || pg_catalog.quote_ident(d.dictname) END,"
"            ', ' ORDER BY m.mapseqno) AS dicts"
"          FROM pg_catalog.pg_ts_config_map m JOIN pg_catalog.pg_ts_dict d ON d.oid = m.mapdict"
"          JOIN pg_catalog.pg_namespace dn ON dn.oid = d.dictnamespace"
"          WHERE m.mapcfg = cf.oid GROUP BY m.maptokentype) mm"
"    JOIN pg_catalog.ts_token_type(cf.cfgparser) tt ON tt.tokid = mm.maptokentype), ''),"
"   'TEXT SEARCH CONFIGURATION'"
"  FROM cfgs JOIN pg_catalog.pg_ts_config cf ON cf.oid = cfgs.oid"
"  JOIN pg_catalog.pg_ts_parser p ON p.oid = cf.cfgparser"
"  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace"
"  UNION ALL"
"  SELECT 4, 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, t.typnamespace,"
"   pg_catalog.pg_type_is_visible(t.oid), pg_catalog.format_type(t.oid, NULL), 'pg_type', 'typname', 'typnamespace', t.typname,"
"   CASE t.typtype"
"   WHEN 'e' THEN ' AS ENUM (' ||"
"    COALESCE((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(l.enumlabel), ', ' ORDER BY l.enumsortorder)"
"     FROM pg_catalog.pg_enum l WHERE l.enumtypid = t.oid), '') || ')'"
"   WHEN 'd' THEN ' AS ' || pg_catalog.format_type(t.typbasetype, t.typtypmod) ||"
"    CASE WHEN t.typcollation <> bt.typcollation THEN ' COLLATE ' ||"
"     (SELECT CASE WHEN pg_catalog.pg_collation_is_visible(c.oid) THEN pg_catalog.quote_ident(c.collname)"
"      ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.collname) END"
"      FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace cn ON cn.oid = c.collnamespace"
"      WHERE c.oid = t.typcollation) ELSE '' END ||"
"    COALESCE(' DEFAULT ' || t.typdefault, '') ||"
"    CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END ||"
"    COALESCE((SELECT pg_catalog.string_agg(' CONSTRAINT ' || pg_catalog.quote_ident(dc.conname) || ' ' ||"
"      pg_catalog.pg_get_constraintdef(dc.oid), '' ORDER BY dc.conname)"
"     FROM pg_catalog.pg_constraint dc WHERE dc.contypid = t.oid), '')"
"   WHEN 'c' THEN ' AS (' ||"
"    COALESCE((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' ' ||"
"      pg_catalog.format_type(a.atttypid, a.atttypmod) ||"
"      CASE WHEN a.attcollation <> at.typcollation THEN ' COLLATE ' ||"
"       CASE WHEN pg_catalog.pg_collation_is_visible(c.oid) THEN pg_catalog.quote_ident(c.collname)"
"       ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.collname) END ELSE '' END,"
"      ', ' ORDER BY a.attnum)"
"     FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid"
"     LEFT JOIN pg_catalog.pg_collation c ON c.oid = a.attcollation"
"     LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = c.collnamespace"
"     WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ')'"
"   WHEN 'r' THEN"
"    (SELECT CASE WHEN r.rngcanonical <> 0 THEN NULL ELSE"
"     ' AS RANGE (SUBTYPE = ' || pg_catalog.format_type(r.rngsubtype, NULL) ||"
"     ', SUBTYPE_OPCLASS = ' ||"
"     CASE WHEN pg_catalog.pg_opclass_is_visible(opc.oid) THEN pg_catalog.quote_ident(opc.opcname)"
"     ELSE pg_catalog.quote_ident(opn.nspname) || '.' || pg_catalog.quote_ident(opc.opcname) END ||"
"     CASE WHEN r.rngcollation <> 0 THEN ', COLLATION = ' ||"
"      CASE WHEN pg_catalog.pg_collation_is_visible(c.oid) THEN pg_catalog.quote_ident(c.collname)"
"      ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.collname) END ELSE '' END ||"
"     CASE WHEN sd.oid IS NOT NULL AND sdn.nspname = 'pg_catalog'"
"      THEN ', SUBTYPE_DIFF = pg_catalog.' || pg_catalog.quote_ident(sd.proname) ELSE '' END ||"
"     ', MULTIRANGE_TYPE_NAME = ' ||"
"     CASE WHEN pg_catalog.pg_type_is_visible(mt.oid) THEN pg_catalog.quote_ident(mt.typname)"
"     ELSE pg_catalog.quote_ident(mn.nspname) || '.' || pg_catalog.quote_ident(mt.typname) END || ')' END"
"     FROM pg_catalog.pg_range r"
"     JOIN pg_catalog.pg_opclass opc ON opc.oid = r.rngsubopc"
"     JOIN pg_catalog.pg_namespace opn ON opn.oid = opc.opcnamespace"
"     JOIN pg_catalog.pg_type mt ON mt.oid = r.rngmultitypid"
"     JOIN pg_catalog.pg_namespace mn ON mn.oid = mt.typnamespace"
"     LEFT JOIN pg_catalog.pg_collation c ON c.oid = r.rngcollation"
"     LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = c.collnamespace"
"     LEFT JOIN pg_catalog.pg_proc sd ON sd.oid = r.rngsubdiff"
"     LEFT JOIN pg_catalog.pg_namespace sdn ON sdn.oid = sd.pronamespace"
"     WHERE r.rngtypid = t.oid)"
"   WHEN 'm' THEN ''"
"   END, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END"
"  FROM types t LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype"
"  UNION ALL"
"  SELECT 5, 'pg_catalog.pg_opclass'::pg_catalog.regclass, o.oid, o.opcnamespace,"
"   pg_catalog.pg_opclass_is_visible(o.oid), o.opcname, 'pg_opclass', 'opcname', 'opcnamespace', o.opcname, NULL,"
"   'OPERATOR CLASS'"
"  FROM opcs JOIN pg_catalog.pg_opclass o ON o.oid = opcs.oid)"
" SELECT o.kind, n.nspname, o.visible,"
"  CASE WHEN o.kind = 4 THEN o.name::pg_catalog.text"
"   WHEN o.visible THEN pg_catalog.quote_ident(o.name)"
"   ELSE pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.name) END,"
"  o.cat, o.namecol, o.nspcol, o.objname,"
"  e.extname, en.nspname, en.nspname = ANY (pg_catalog.current_schemas(false)), o.ddl, o.kw"
" FROM objs o JOIN pg_catalog.pg_namespace n ON n.oid = o.nsp"
" LEFT JOIN pg_catalog.pg_depend ed ON ed.classid = o.classid AND ed.objid = o.oid AND ed.deptype = 'e'"
" LEFT JOIN pg_catalog.pg_extension e ON e.oid = ed.refobjid"
" LEFT JOIN pg_catalog.pg_namespace en ON en.oid = e.extnamespace"
" WHERE (n.nspname NOT IN ('pg_catalog', 'information_schema') OR e.oid IS NOT NULL)"
" ORDER BY o.kind, o.oid";

static const char *sequence_sql =
"SELECT pg_catalog.quote_ident(s.sequencename),"
"  ' AS ' || pg_catalog.format_type(s.data_type, NULL) ||"
"  ' INCREMENT BY ' || s.increment_by || ' MINVALUE ' || s.min_value ||"
"  ' MAXVALUE ' || s.max_value || ' START WITH ' || s.start_value ||"
"  ' CACHE ' || s.cache_size || CASE WHEN s.cycle THEN ' CYCLE' ELSE ' NO CYCLE' END"
" FROM pg_catalog.pg_sequences s"
" WHERE (pg_catalog.quote_ident(s.schemaname) || '.' || pg_catalog.quote_ident(s.sequencename))"
"  ::pg_catalog.regclass = $1::pg_catalog.regclass";

static void
read_columns(PGconn *src, Domain *d, DomainTable *t, const char *oids)
{
	PGresult   *res;
	char		relid[16];
	const char *params[2];
	PQExpBufferData checks;
	int			i;

	snprintf(relid, sizeof(relid), "%u", t->relid);
	params[0] = relid;
	params[1] = oids;

	res = job_query(src, "source", columns_sql, 2, params);
	t->ncolumns = PQntuples(res);
	t->columns = pg_malloc0(sizeof(DomainColumn) * (t->ncolumns + 1));
	t->binary = true;
	for (i = 0; i < t->ncolumns; i++)
	{
		DomainColumn *c = &t->columns[i];
		char	   *def = get_str(res, i, 5);
		char	   *seq = get_str(res, i, 9);

		c->name = get_str(res, i, 0);
		c->type = get_str(res, i, 1);
		c->typoid = (unsigned int) strtoul(PQgetvalue(res, i, 2), NULL, 10);
		c->not_null = PQgetvalue(res, i, 3)[0] == 't';
		c->collation = get_str(res, i, 4);
		c->identity = PQgetvalue(res, i, 7)[0];
		c->generated = PQgetvalue(res, i, 8)[0];
		c->attnum = atoi(PQgetvalue(res, i, 11));
		if (PQgetvalue(res, i, 10)[0] != 't')
			t->binary = false;
		if (def != NULL && c->generated == '\0' &&
			PQgetvalue(res, i, 6)[0] != 't')
		{
			c->skipped_default = def;
			appendPQExpBuffer(&d->skipped_defaults, "%s.%s.%s: DEFAULT %s\n",
							  t->schema, t->name, c->name, def);
		}
		else
			c->default_expr = def;

		if (seq != NULL && c->identity != '\0')
			c->identity_seq = seq;
		else if (seq != NULL && c->default_expr != NULL)
		{
			PGresult   *sres;
			const char *sparams[1] = {seq};

			/* a serial column: recreate its sequence */
			c->owned_seq = seq;
			sres = job_query(src, "source", sequence_sql, 1, sparams);
			if (PQntuples(sres) == 1)
			{
				PQExpBufferData buf;
				char	   *tname = job_quote_ident(src, t->name);
				char	   *cname = job_quote_ident(src, c->name);

				initPQExpBuffer(&buf);
				appendPQExpBuffer(&buf, "%sCREATE SEQUENCE %s%s;\n",
								  d->sequences_ddl ? d->sequences_ddl : "",
								  PQgetvalue(sres, 0, 0), PQgetvalue(sres, 0, 1));
				pg_free(d->sequences_ddl);
				d->sequences_ddl = pg_strdup(buf.data);
				resetPQExpBuffer(&buf);
				appendPQExpBuffer(&buf, "%sALTER SEQUENCE %s OWNED BY %s.%s;\n",
								  d->sequences_owned_ddl ? d->sequences_owned_ddl : "",
								  PQgetvalue(sres, 0, 0), tname, cname);
				pg_free(d->sequences_owned_ddl);
				d->sequences_owned_ddl = pg_strdup(buf.data);
				termPQExpBuffer(&buf);
				pg_free(tname);
				pg_free(cname);
			}
			PQclear(sres);
		}
	}
	PQclear(res);

	/* constraints */
	initPQExpBuffer(&checks);
	res = job_query(src, "source", constraints_sql, 2, params);
	{
		PQExpBufferData idx;
		PQExpBufferData fk;
		PQExpBufferData fkv;
		char	   *tname = job_quote_ident(src, t->name);

		initPQExpBuffer(&idx);
		initPQExpBuffer(&fk);
		initPQExpBuffer(&fkv);
		for (i = 0; i < PQntuples(res); i++)
		{
			char	   *cname = job_quote_ident(src, PQgetvalue(res, i, 0));
			char		contype = PQgetvalue(res, i, 1)[0];
			const char *def = PQgetvalue(res, i, 2);

			switch (contype)
			{
				case 'c':
					appendPQExpBuffer(&checks, "ALTER TABLE %s ADD CONSTRAINT %s %s;\n",
									  tname, cname, def);
					break;
				case 'f':
					/*
					 * Added NOT VALID, then validated separately (init
					 * validates several tables at once); one that is not
					 * valid on the source stays so (its definition says NOT
					 * VALID already).
					 */
					if (PQgetvalue(res, i, 3)[0] == 't' && PQgetvalue(res, i, 5)[0] == 't')
					{
						appendPQExpBuffer(&fk, "ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID;\n",
										  tname, cname, def);
						appendPQExpBuffer(&fkv, "ALTER TABLE %s VALIDATE CONSTRAINT %s;\n",
										  tname, cname);
					}
					else if (PQgetvalue(res, i, 3)[0] == 't')
						appendPQExpBuffer(&fk, "ALTER TABLE %s ADD CONSTRAINT %s %s;\n",
										  tname, cname, def);
					else
						appendPQExpBuffer(&d->external_fks, "%s.%s: CONSTRAINT %s %s (references %s, another domain)\n",
										  t->schema, t->name, PQgetvalue(res, i, 0), def,
										  PQgetvalue(res, i, 4));
					break;
				default:
					appendPQExpBuffer(&idx, "ALTER TABLE %s ADD CONSTRAINT %s %s;\n",
									  tname, cname, def);
					break;
			}
			pg_free(cname);
		}
		PQclear(res);

		res = job_query(src, "source", indexes_sql, 1, params);
		for (i = 0; i < PQntuples(res); i++)
			appendPQExpBuffer(&idx, "%s;\n", PQgetvalue(res, i, 0));
		PQclear(res);

		t->index_ddl = pg_strdup(idx.data);
		t->fk_ddl = pg_strdup(fk.data);
		t->fk_validate_ddl = pg_strdup(fkv.data);
		t->check_ddl = pg_strdup(checks.data);
		termPQExpBuffer(&idx);
		termPQExpBuffer(&fk);
		termPQExpBuffer(&fkv);
		termPQExpBuffer(&checks);
		pg_free(tname);
	}
}

/* append "CREATE SCHEMA IF NOT EXISTS" for a schema not yet in the list */
static void
need_schema(PGconn *src, PQExpBuffer ddl, PQExpBuffer seen, const char *nspname)
{
	char	   *q = job_quote_ident(src, nspname);
	char	   *key = psprintf("\n%s\n", q);

	if (strstr(seen->data, key) == NULL)
	{
		appendPQExpBuffer(seen, "%s", key);
		appendPQExpBuffer(ddl, "CREATE SCHEMA IF NOT EXISTS %s;\n", q);
	}
	pg_free(key);
	pg_free(q);
}

/*
 * Create an object only when the target does not have one of that name in
 * that schema yet (a second domain may need the same type): a DO block that
 * looks the name up in its catalog and runs the DDL otherwise.  nspname NULL
 * means the schema the DDL runs in (the target schema).
 */
static void
append_guarded(PGconn *src, PQExpBuffer ddl, const char *cat, const char *namecol,
			   const char *nspcol, const char *objname, const char *nspname,
			   const char *create)
{
	char	   *lname = job_quote_literal(src, objname);
	char	   *lnsp = nspname ? job_quote_literal(src, nspname) : pg_strdup("pg_catalog.current_schema()");
	char	   *lcreate = job_quote_literal(src, create);

	appendPQExpBuffer(ddl,
					  "DO $migration_split$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.%s x"
					  " JOIN pg_catalog.pg_namespace n ON n.oid = x.%s WHERE x.%s = %s AND n.nspname = %s)"
					  " THEN EXECUTE %s; END IF; END $migration_split$;\n",
					  cat, nspcol, namecol, lname, lnsp, lcreate);
	pg_free(lname);
	pg_free(lnsp);
	pg_free(lcreate);
}

/*
 * Everything the domain's tables need besides themselves (objects_sql), as
 * DDL for the target in d->types_ddl: schemas, extensions, collations, text
 * search dictionaries and configurations, types.  An object whose name the
 * deparsers print unqualified (its schema is one of the tables' schemas) is
 * created in the target schema; any other keeps its schema name, created on
 * the target if needed, so that every name in the deparsed DDL and in the
 * stream's relation messages means the same object on the target.  Objects
 * of an extension come with the extension, created in the schema that keeps
 * their names meaning the same; an extension already installed elsewhere on
 * the target is refused with a clear error.  Exits with EXIT_DOMAIN when an
 * object cannot be recreated (base types, range types with a canonical
 * function and operator classes that are not an extension's).
 */
static void
read_objects(PGconn *src, Domain *d, const char *oids)
{
	const char *params[1] = {oids};
	PGresult   *res;
	PQExpBufferData schemas;
	PQExpBufferData seen;
	PQExpBufferData exts;
	PQExpBufferData extseen;
	PQExpBufferData objects;
	int			i;

	initPQExpBuffer(&schemas);
	initPQExpBuffer(&seen);
	initPQExpBuffer(&exts);
	initPQExpBuffer(&extseen);
	initPQExpBuffer(&objects);
	appendPQExpBufferChar(&seen, '\n');
	appendPQExpBufferChar(&extseen, '\n');

	res = job_query(src, "source", objects_sql, 1, params);
	for (i = 0; i < PQntuples(res); i++)
	{
		int			kind = atoi(PQgetvalue(res, i, 0));
		const char *nspname = PQgetvalue(res, i, 1);
		bool		visible = PQgetvalue(res, i, 2)[0] == 't';
		const char *name = PQgetvalue(res, i, 3);
		static const char *const kinds[] = {"", "collation", "text search dictionary",
		"text search configuration", "type", "operator class"};

		if (!PQgetisnull(res, i, 8))
		{
			const char *extname = PQgetvalue(res, i, 8);
			const char *extnsp = PQgetvalue(res, i, 9);
			bool		extvisible = PQgetvalue(res, i, 10)[0] == 't';
			char	   *key = psprintf("\n%s\n", extname);
			char	   *qext = job_quote_ident(src, extname);
			char	   *lext = job_quote_literal(src, extname);

			if (strstr(extseen.data, key) == NULL)
			{
				appendPQExpBuffer(&extseen, "%s", key);
				if (strcmp(extnsp, "pg_catalog") == 0)
					appendPQExpBuffer(&exts, "CREATE EXTENSION IF NOT EXISTS %s;\n", qext);
				else
				{
					char	   *lnsp;

					if (extvisible)
					{
						appendPQExpBuffer(&exts, "CREATE EXTENSION IF NOT EXISTS %s;\n", qext);
						lnsp = pg_strdup("pg_catalog.current_schema()");
					}
					else
					{
						char	   *qnsp = job_quote_ident(src, extnsp);

						need_schema(src, &schemas, &seen, extnsp);
						appendPQExpBuffer(&exts, "CREATE EXTENSION IF NOT EXISTS %s SCHEMA %s;\n",
										  qext, qnsp);
						pg_free(qnsp);
						lnsp = job_quote_literal(src, extnsp);
					}
					appendPQExpBuffer(&exts,
									  "DO $migration_split$ DECLARE s name; BEGIN"
									  " SELECT n.nspname INTO s FROM pg_catalog.pg_extension e"
									  " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
									  " WHERE e.extname = %s;"
									  " IF s <> %s THEN RAISE EXCEPTION 'extension \"%%\" is installed in schema \"%%\" on the target, domain \"%%\" needs it in schema \"%%\"', %s, s, %s, %s"
									  " USING HINT = 'Install the extension in that schema on the target, or use --target-schema.'; END IF;"
									  " END $migration_split$;\n",
									  lext, lnsp, lext,
									  job_quote_literal(src, d->name), lnsp);
					pg_free(lnsp);
				}
			}
			pg_free(key);
			pg_free(qext);
			pg_free(lext);
			continue;
		}
		if (PQgetisnull(res, i, 11))
		{
			pg_log_error("%s \"%s\" used by domain \"%s\" cannot be recreated on the target",
						 kinds[kind], name, d->name);
			if (kind == 4)
				pg_log_error_hint("Types of extensions, enum, domain and composite types, and range types without a canonical function are supported.");
			else
				pg_log_error_hint("Operator classes of extensions and of PostgreSQL itself are supported.");
			exit(EXIT_DOMAIN);
		}
		if (PQgetvalue(res, i, 11)[0] == '\0')
			continue;
		if (!visible)
			need_schema(src, &schemas, &seen, nspname);
		{
			PQExpBufferData create;
			const char *body = PQgetvalue(res, i, 11);
			const char *mark;

			initPQExpBuffer(&create);
			appendPQExpBuffer(&create, "CREATE %s %s", PQgetvalue(res, i, 12), name);
			/* the mappings of a configuration repeat its name */
			while ((mark = strstr(body, "%NAME%")) != NULL)
			{
				appendBinaryPQExpBuffer(&create, body, mark - body);
				appendPQExpBufferStr(&create, name);
				body = mark + strlen("%NAME%");
			}
			appendPQExpBufferStr(&create, body);
			append_guarded(src, &objects, PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
						   PQgetvalue(res, i, 6), PQgetvalue(res, i, 7),
						   visible ? NULL : nspname, create.data);
			termPQExpBuffer(&create);
		}
	}
	PQclear(res);

	appendPQExpBufferStr(&schemas, exts.data);
	appendPQExpBufferStr(&schemas, objects.data);
	d->types_ddl = pg_strdup(schemas.data);
	termPQExpBuffer(&schemas);
	termPQExpBuffer(&seen);
	termPQExpBuffer(&exts);
	termPQExpBuffer(&extseen);
	termPQExpBuffer(&objects);
}

/*
 * Free a Domain read by catalog_read_domain and everything it owns.  For
 * callers that read the catalog again and again in one process (a table
 * joining the domain while the stream runs).
 */
void
catalog_free_domain(Domain *d)
{
	int			i;
	int			j;

	if (d == NULL)
		return;
	for (i = 0; i < d->ntables; i++)
	{
		DomainTable *t = &d->tables[i];

		for (j = 0; j < t->ncolumns; j++)
		{
			DomainColumn *c = &t->columns[j];

			pg_free(c->name);
			pg_free(c->type);
			pg_free(c->collation);
			pg_free(c->default_expr);
			pg_free(c->skipped_default);
			pg_free(c->identity_seq);
			pg_free(c->owned_seq);
		}
		pg_free(t->columns);
		pg_free(t->schema);
		pg_free(t->name);
		pg_free(t->check_ddl);
		pg_free(t->index_ddl);
		pg_free(t->fk_ddl);
		pg_free(t->fk_validate_ddl);
		pg_free(t->sync_lsn);
		pg_free(t->error);
	}
	pg_free(d->tables);
	pg_free(d->name);
	pg_free(d->search_path);
	pg_free(d->types_ddl);
	pg_free(d->sequences_ddl);
	pg_free(d->sequences_owned_ddl);
	termPQExpBuffer(&d->external_fks);
	termPQExpBuffer(&d->skipped_defaults);
	pg_free(d);
}

/*
 * Read everything init needs to know about the domain.  Exits with
 * EXIT_DOMAIN or EXIT_PRIVILEGE on bad input, before anything is created.
 */
Domain *
catalog_read_domain(PGconn *src, const char *domain)
{
	Domain	   *d = pg_malloc0(sizeof(Domain));
	PGresult   *res;
	const char *params[1] = {domain};
	PQExpBufferData oids;
	PQExpBufferData path;
	PQExpBufferData nokey;
	PQExpBufferData noprivs;
	int			nnokey = 0;
	int			nnoprivs = 0;
	int			i;

	d->name = pg_strdup(domain);
	initPQExpBuffer(&d->external_fks);
	initPQExpBuffer(&d->skipped_defaults);

	res = job_query(src, "source", tables_sql, 1, params);
	d->ntables = PQntuples(res);
	if (d->ntables == 0)
	{
		pg_log_error("domain \"%s\" has no tables", domain);
		pg_log_error_hint("Assign the domain's tables first: SELECT migration_split.assign_table('schema.table', '%s');",
						  domain);
		exit(EXIT_DOMAIN);
	}
	d->tables = pg_malloc0(sizeof(DomainTable) * d->ntables);
	initPQExpBuffer(&oids);
	initPQExpBuffer(&path);
	initPQExpBuffer(&nokey);
	initPQExpBuffer(&noprivs);
	appendPQExpBufferChar(&oids, '{');
	for (i = 0; i < d->ntables; i++)
	{
		DomainTable *t = &d->tables[i];
		bool		has_pk = PQgetvalue(res, i, 7)[0] == 't';
		bool		has_ri = PQgetvalue(res, i, 8)[0] == 't';

		t->relid = (unsigned int) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		t->schema = get_str(res, i, 1);
		t->name = get_str(res, i, 2);
		t->relkind = PQgetvalue(res, i, 3)[0];
		t->replident = PQgetvalue(res, i, 4)[0];
		t->est_rows = atof(PQgetvalue(res, i, 5));
		t->est_bytes = atoll(PQgetvalue(res, i, 6));
		t->state = TABLE_PENDING;

		if (t->replident == 'n' || (t->replident == 'd' && !has_pk) ||
			(t->replident == 'i' && !has_ri))
		{
			appendPQExpBuffer(&nokey, "%s%s.%s", nokey.len ? ", " : "", t->schema, t->name);
			nnokey++;
		}
		if (PQgetvalue(res, i, 9)[0] != 't')
		{
			appendPQExpBuffer(&noprivs, "%s%s.%s", noprivs.len ? ", " : "", t->schema, t->name);
			nnoprivs++;
		}

		appendPQExpBuffer(&oids, "%s%u", i ? "," : "", t->relid);
		if (i == 0 || strcmp(d->tables[i - 1].schema, t->schema) != 0)
		{
			char	   *q = job_quote_ident(src, t->schema);

			appendPQExpBuffer(&path, "%s%s", path.len ? ", " : "", q);
			pg_free(q);
		}
		if (i > 0)
		{
			int			j;

			for (j = 0; j < i; j++)
				if (strcmp(d->tables[j].name, t->name) == 0)
				{
					pg_log_error("tables \"%s.%s\" and \"%s.%s\" of domain \"%s\" would have the same name in the target schema",
								 d->tables[j].schema, d->tables[j].name, t->schema, t->name, domain);
					pg_log_error_hint("Rename one of them, or tag them with different domains.");
					exit(EXIT_DOMAIN);
				}
		}
	}
	appendPQExpBufferChar(&oids, '}');
	PQclear(res);

	/*
	 * A partition logs the old key of its own replica identity (the plugin
	 * sends it with key_columns when it differs from the root's), so each
	 * leaf needs a usable one too.
	 */
	{
		const char *pparams[1] = {oids.data};

		res = job_query(src, "source", partitions_nokey_sql, 1, pparams);
		for (i = 0; i < PQntuples(res); i++)
		{
			appendPQExpBuffer(&nokey, "%spartition %s of %s", nokey.len ? ", " : "",
							  PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
			nnokey++;
		}
		PQclear(res);
	}

	if (nokey.len > 0)
	{
		pg_log_error("%s without primary key or replica identity in domain \"%s\": %s",
					 ngettext("table", "tables", nnokey), domain, nokey.data);
		pg_log_error_detail("Updates and deletes of such a table cannot be applied to the target. A DEFERRABLE primary key, or one whose index is not valid, is no replica identity.");
		pg_log_error_hint("Add a primary key that is not DEFERRABLE, or set REPLICA IDENTITY USING INDEX or FULL on the table.");
		exit(EXIT_DOMAIN);
	}
	if (noprivs.len > 0)
	{
		pg_log_error("permission denied to read %s of domain \"%s\" on the source: %s",
					 ngettext("table", "tables", nnoprivs), domain, noprivs.data);
		pg_log_error_hint("GRANT SELECT on these tables to the role of --source.");
		exit(EXIT_PRIVILEGE);
	}

	/* deparse with the domain's schemas visible */
	d->search_path = pg_strdup(path.data);
	job_set_search_path(src, "source", d->search_path);

	for (i = 0; i < d->ntables; i++)
		read_columns(src, d, &d->tables[i], oids.data);

	read_objects(src, d, oids.data);

	job_set_search_path(src, "source", "pg_catalog");
	termPQExpBuffer(&oids);
	termPQExpBuffer(&path);
	termPQExpBuffer(&nokey);
	termPQExpBuffer(&noprivs);
	return d;
}
