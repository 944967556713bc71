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
 * schemas of the domain's tables, so that names of the domain's own objects
 * come out unqualified; the target runs the DDL with search_path set to the
 * target schema, where those objects are recreated.
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
 * following them; partitions travel with their root.
 */
static const char *tables_sql =
" SELECT c.oid, n.nspname, c.relname, c.relkind, c.relreplident,"
"  GREATEST(c.reltuples, 0),"
"  pg_catalog.pg_total_relation_size(c.oid),"
"  EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),"
"  EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisreplident),"
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
"   OR (pc.relreplident = 'd' AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = pc.oid AND i.indisprimary))"
"   OR (pc.relreplident = 'i' AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = pc.oid AND i.indisreplident)))"
" ORDER BY 1";

static const char *columns_sql =
"SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid, a.attnotnull,"
"  CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0"
"   THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END,"
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
"                              'pg_catalog.pg_collation'::pg_catalog.regclass))),"
"  a.attidentity, a.attgenerated,"
"  pg_catalog.pg_get_serial_sequence(pg_catalog.quote_ident(n.nspname) || '.' ||"
"                                    pg_catalog.quote_ident(c.relname), a.attname),"
"  t.typsend <> 0 AND t.typreceive <> 0"
"   AND (et.oid IS NULL OR (et.typsend <> 0 AND et.typreceive <> 0))"
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
"       pg_catalog.quote_ident(fc.relname) END"
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

/* types the columns need, in creation order (base types before domains) */
static const char *types_sql =
"WITH RECURSIVE ty(oid) AS ("
"  SELECT a.atttypid FROM pg_catalog.pg_attribute a"
"  WHERE a.attrelid = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped"
"  UNION"
"  SELECT v.x FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid,"
"   LATERAL (SELECT t.typelem UNION ALL SELECT t.typbasetype UNION ALL"
"            SELECT a.atttypid FROM pg_catalog.pg_attribute a"
"            WHERE t.typtype = 'c' AND a.attrelid = t.typrelid"
"              AND a.attnum > 0 AND NOT a.attisdropped) v(x)"
"  WHERE v.x <> 0)"
" SELECT t.typtype, pg_catalog.format_type(t.oid, NULL), e.extname,"
"  CASE t.typtype"
"  WHEN 'e' THEN 'CREATE TYPE ' || pg_catalog.quote_ident(t.typname) || ' AS ENUM (' ||"
"   (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(l.enumlabel), ', ' ORDER BY l.enumsortorder)"
"    FROM pg_catalog.pg_enum l WHERE l.enumtypid = t.oid) || ');'"
"  WHEN 'd' THEN 'CREATE DOMAIN ' || pg_catalog.quote_ident(t.typname) || ' AS ' ||"
"   pg_catalog.format_type(t.typbasetype, t.typtypmod) ||"
"   COALESCE(' DEFAULT ' || t.typdefault, '') ||"
"   CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END ||"
"   COALESCE((SELECT pg_catalog.string_agg(' CONSTRAINT ' || pg_catalog.quote_ident(dc.conname) || ' ' ||"
"     pg_catalog.pg_get_constraintdef(dc.oid), '' ORDER BY dc.conname)"
"    FROM pg_catalog.pg_constraint dc WHERE dc.contypid = t.oid), '') || ';'"
"  WHEN 'c' THEN 'CREATE TYPE ' || pg_catalog.quote_ident(t.typname) || ' AS (' ||"
"   (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' ' ||"
"     pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)"
"    FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0"
"    AND NOT a.attisdropped) || ');'"
"  END"
" FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid"
" JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
" LEFT JOIN pg_catalog.pg_depend ed ON ed.classid = 'pg_catalog.pg_type'::pg_catalog.regclass"
"  AND ed.objid = t.oid AND ed.deptype = 'e'"
" LEFT JOIN pg_catalog.pg_extension e ON e.oid = ed.refobjid"
" WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
"  AND t.typcategory <> 'A'"
"  AND NOT (t.typtype = 'c' AND EXISTS (SELECT FROM pg_catalog.pg_class r"
"           WHERE r.oid = t.typrelid AND r.relkind <> 'c'))"
" ORDER BY t.oid";

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
		char	   *tname = job_quote_ident(src, t->name);

		initPQExpBuffer(&idx);
		initPQExpBuffer(&fk);
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
					if (PQgetvalue(res, i, 3)[0] == 't')
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
		t->check_ddl = pg_strdup(checks.data);
		termPQExpBuffer(&idx);
		termPQExpBuffer(&fk);
		termPQExpBuffer(&checks);
		pg_free(tname);
	}
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
			appendPQExpBuffer(&nokey, "%s%s.%s", nokey.len ? ", " : "", t->schema, t->name);
		if (PQgetvalue(res, i, 9)[0] != 't')
			appendPQExpBuffer(&noprivs, "%s%s.%s", noprivs.len ? ", " : "", t->schema, t->name);

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
			appendPQExpBuffer(&nokey, "%spartition %s of %s", nokey.len ? ", " : "",
							  PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		PQclear(res);
	}

	if (nokey.len > 0)
	{
		pg_log_error("table without primary key or replica identity in domain \"%s\": %s",
					 domain, nokey.data);
		pg_log_error_detail("Updates and deletes of such a table cannot be applied to the target.");
		pg_log_error_hint("Add a primary key, or set REPLICA IDENTITY USING INDEX or FULL on the table.");
		exit(EXIT_DOMAIN);
	}
	if (noprivs.len > 0)
	{
		pg_log_error("permission denied to read table(s) of domain \"%s\" on the source: %s",
					 domain, noprivs.data);
		pg_log_error_hint("GRANT SELECT on these tables to the role of --source.");
		exit(EXIT_PRIVILEGE);
	}

	/* deparse with the domain's schemas visible */
	d->search_path = pg_strdup(path.data);
	job_set_search_path(src, "source", d->search_path);

	for (i = 0; i < d->ntables; i++)
		read_columns(src, d, &d->tables[i], oids.data);

	/* types */
	{
		const char *tparams[1] = {oids.data};
		PQExpBufferData types;

		initPQExpBuffer(&types);
		res = job_query(src, "source", types_sql, 1, tparams);
		for (i = 0; i < PQntuples(res); i++)
		{
			char		typtype = PQgetvalue(res, i, 0)[0];

			if (!PQgetisnull(res, i, 2))
			{
				char	   *ext = job_quote_ident(src, PQgetvalue(res, i, 2));

				appendPQExpBuffer(&types, "CREATE EXTENSION IF NOT EXISTS %s;\n", ext);
				pg_free(ext);
			}
			else if (PQgetisnull(res, i, 3))
			{
				pg_log_error("type \"%s\" (type kind '%c') used by domain \"%s\" cannot be recreated on the target",
							 PQgetvalue(res, i, 1), typtype, domain);
				pg_log_error_hint("Only enum, domain and composite types and types of extensions are supported.");
				exit(EXIT_DOMAIN);
			}
			else
				appendPQExpBuffer(&types, "%s\n", PQgetvalue(res, i, 3));
		}
		PQclear(res);
		d->types_ddl = pg_strdup(types.data);
		termPQExpBuffer(&types);
	}

	job_set_search_path(src, "source", "pg_catalog");
	termPQExpBuffer(&oids);
	termPQExpBuffer(&path);
	termPQExpBuffer(&nokey);
	termPQExpBuffer(&noprivs);
	return d;
}
