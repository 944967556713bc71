/*-------------------------------------------------------------------------
 *
 * monitor_analyze.c
 *		migration_split.analyze_statements(): find the cross-domain
 *		statements among the texts pg_stat_statements already collected.
 *
 * Each normalized text of the current database is parsed, analyzed with
 * parse_analyze_varparams (the $n of normalized texts become parameters of
 * inferred type) and rewritten, so that the base tables behind views are
 * seen.  Each text gets its own subtransaction: a text that no longer
 * parses or analyses (dropped table, constant in a place where a parameter
 * is not allowed, truncated text) is counted and skipped, and never fails
 * the whole call; query cancel, timeouts and other errors that are not
 * about the text end the call.  Names resolve with the caller's
 * search_path.
 *
 * No user code runs: texts are parsed, analyzed and rewritten, never
 * planned or executed (parse analysis and the rewriter only look up
 * functions, operators, views and policies; constant folding, which can
 * call functions, happens in the planner).  pg_stat_statements is read
 * from the schema its extension lives in, with operators qualified.
 *
 * Works whether or not the library is preloaded.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "rewrite/rewriteHandler.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "monitor.h"

PG_FUNCTION_INFO_V1(ms_analyze_statements);

typedef struct MsStatementText
{
	int64		queryid;
	Oid			userid;
	int64		calls;
	char	   *query;
} MsStatementText;

/* Relations found while walking a query tree. */
typedef struct MsRelWalk
{
	List	   *relids;			/* owned relations' tagged roots, distinct */
	List	   *domains;		/* distinct MsDomainIds (as ints) */
} MsRelWalk;

static bool ms_rel_walker(Node *node, MsRelWalk *walk);
static pg_noinline bool ms_analyze_one(const char *text, MsRelWalk *walk,
									   CmdType *kind, ResourceOwner owner,
									   MemoryContext work);
static List *ms_fetch_texts(void);

/*
 * Collect owned relations of every RTE_RELATION, in the query and in all
 * its subqueries, CTEs and sublinks.
 */
static bool
ms_rel_walker(Node *node, MsRelWalk *walk)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION && rte->relkind != RELKIND_VIEW)
		{
			MsDomainId	d = ms_relation_domain(rte->relid);

			if (d != MS_NO_DOMAIN)
			{
				walk->relids = list_append_unique_oid(walk->relids,
													  ms_relation_owning_root(rte->relid));
				walk->domains = list_append_unique_int(walk->domains, d);
			}
		}
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, ms_rel_walker, walk,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, ms_rel_walker, walk);
}

/*
 * Is an error raised while analyzing a text one that says the text cannot
 * be analyzed (it no longer parses, names something dropped, puts a
 * parameter where none is allowed, was truncated, ...)?  Only those are
 * skipped; query cancel, statement and lock timeouts, resource errors and
 * internal errors go through to the caller.
 */
static bool
ms_text_error_skippable(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION:	/* class 42 */
		case ERRCODE_FEATURE_NOT_SUPPORTED:	/* class 0A */
		case ERRCODE_DATA_EXCEPTION:	/* class 22 */
		case ERRCODE_INVALID_SCHEMA_NAME:	/* class 3F */
		case ERRCODE_INVALID_CATALOG_NAME:	/* class 3D */
			return true;
		default:
			return false;
	}
}

/*
 * Parse, analyze and rewrite one text in a subtransaction, collecting its
 * owned relations and domains into *walk and the kind of its first
 * statement into *kind.  Returns false, with the error swallowed, when the
 * text cannot be analyzed.
 */
static pg_noinline bool
ms_analyze_one(const char *text, MsRelWalk *walk, CmdType *kind,
			   ResourceOwner owner, MemoryContext work)
{
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(work);
	PG_TRY();
	{
		List	   *raw = pg_parse_query(text);
		ListCell   *rc;

		foreach(rc, raw)
		{
			RawStmt    *rs = lfirst_node(RawStmt, rc);
			Oid		   *ptypes = NULL;
			int			nparams = 0;
			Query	   *query;
			List	   *rewritten;
			ListCell   *qc;

			query = parse_analyze_varparams(rs, text, &ptypes, &nparams, NULL);
			if (query->commandType == CMD_UTILITY)
				continue;
			if (*kind == CMD_UNKNOWN)
				*kind = query->commandType;
			rewritten = QueryRewrite(query);
			foreach(qc, rewritten)
				(void) ms_rel_walker((Node *) lfirst(qc), walk);
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(work);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(work);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(work);
		CurrentResourceOwner = owner;
		/* query cancel, statement or lock timeout, out of memory, ... */
		if (!ms_text_error_skippable(edata->sqlerrcode))
			ReThrowError(edata);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();

	return ok;
}

/*
 * Texts of pg_stat_statements for the current database.  Errors when the
 * extension is not installed here.
 */
static List *
ms_fetch_texts(void)
{
	MemoryContext outer = CurrentMemoryContext;
	List	   *result = NIL;
	StringInfoData sql;
	char	   *schema;
	int			ret;
	uint64		i;

	if (!OidIsValid(get_extension_oid("pg_stat_statements", true)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_stat_statements\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION pg_stat_statements, with pg_stat_statements in shared_preload_libraries.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT n.nspname FROM pg_catalog.pg_extension e"
					  " JOIN pg_catalog.pg_namespace n"
					  "   ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
					  " WHERE e.extname OPERATOR(pg_catalog.=) 'pg_stat_statements'",
					  true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not find the schema of pg_stat_statements");
	schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT queryid, userid, calls, query FROM %s.pg_stat_statements"
					 " WHERE dbid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_database"
					 "   WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"
					 "   AND query IS NOT NULL AND queryid IS NOT NULL"
					 " ORDER BY calls DESC, queryid",
					 quote_identifier(schema));
	ret = SPI_execute(sql.data, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_stat_statements: %s",
			 SPI_result_code_string(ret));

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MsStatementText *t = MemoryContextAlloc(outer, sizeof(MsStatementText));
		MemoryContext old;

		t->queryid = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		t->userid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		t->calls = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		t->query = MemoryContextStrdup(outer, SPI_getvalue(tup, desc, 4));
		old = MemoryContextSwitchTo(outer);
		result = lappend(result, t);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return result;
}

/*
 * migration_split.analyze_statements(): one row per pg_stat_statements
 * text of this database whose relations belong to two or more domains.
 * A NOTICE reports how many texts were analyzed, crossed domains, and
 * could not be analyzed.
 */
Datum
ms_analyze_statements(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MemoryContext work;
	List	   *texts;
	ListCell   *lc;
	int			analyzed = 0;
	int			crossing = 0;
	int			skipped = 0;

	InitMaterializedSRF(fcinfo, 0);
	texts = ms_fetch_texts();

	work = AllocSetContextCreate(outer, "analyze_statements",
								 ALLOCSET_DEFAULT_SIZES);

	foreach(lc, texts)
	{
		MsStatementText *t = lfirst(lc);
		MsRelWalk	walk = {NIL, NIL};
		CmdType		kind = CMD_UNKNOWN;
		bool		ok;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(work);

		ok = ms_analyze_one(t->query, &walk, &kind, owner, work);

		if (!ok)
		{
			skipped++;
			continue;
		}
		analyzed++;

		if (list_length(walk.domains) >= 2)
		{
			Datum		values[7];
			bool		nulls[7] = {0};
			Datum	   *elems;
			ListCell   *ec;
			int			n;
			const char *kindname;

			crossing++;
			switch (kind)
			{
				case CMD_SELECT:
					kindname = "select";
					break;
				case CMD_INSERT:
					kindname = "insert";
					break;
				case CMD_UPDATE:
					kindname = "update";
					break;
				case CMD_DELETE:
					kindname = "delete";
					break;
				case CMD_MERGE:
					kindname = "merge";
					break;
				default:
					kindname = "other";
					break;
			}

			/* domain names, sorted for stable output */
			elems = palloc(sizeof(Datum) * list_length(walk.domains));
			n = 0;
			{
				const char **names = palloc(sizeof(char *) * list_length(walk.domains));
				int			i,
							j;

				foreach(ec, walk.domains)
				{
					const char *name = ms_domain_name(lfirst_int(ec));

					for (j = n; j > 0 && strcmp(names[j - 1], name) > 0; j--)
						names[j] = names[j - 1];
					names[j] = name;
					n++;
				}
				for (i = 0; i < n; i++)
					elems[i] = CStringGetTextDatum(names[i]);
			}
			values[4] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1,
														false, TYPALIGN_INT));

			elems = palloc(sizeof(Datum) * list_length(walk.relids));
			n = 0;
			foreach(ec, walk.relids)
			{
				Oid			relid = lfirst_oid(ec);
				char	   *relname = get_rel_name(relid);

				if (relname == NULL)
					continue;
				elems[n++] = CStringGetTextDatum(
												 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
																			relname));
			}
			values[5] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1,
														false, TYPALIGN_INT));

			values[0] = Int64GetDatum(t->queryid);
			values[1] = ObjectIdGetDatum(t->userid);
			values[2] = Int64GetDatum(t->calls);
			values[3] = CStringGetTextDatum(kindname);
			values[6] = CStringGetTextDatum(t->query);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}

	MemoryContextSwitchTo(outer);
	MemoryContextDelete(work);

	ereport(NOTICE,
			(errmsg("analyzed %d statement %s: %d %s domains, %d could not be analyzed",
					analyzed, analyzed == 1 ? "text" : "texts",
					crossing, crossing == 1 ? "crosses" : "cross", skipped)));

	return (Datum) 0;
}
