/*-------------------------------------------------------------------------
 *
 * reports.c
 *		C support for the static boundary reports: which tables a function
 *		writes, for the "trigger" kind of
 *		migration_split.cross_domain_dependencies.
 *
 * Everything else in the reports is plain SQL over the catalogs (section 4
 * of the install script), helped by column_names(), which turns a
 * constraint's column numbers into names with syscache lookups (a
 * correlated subquery per foreign key costs the planner so much that JIT
 * compilation alone took longer than the report), and storage_sizes(),
 * which sizes every relation of the database from one walk over its
 * directories (pg_total_relation_size() per table opens every relation
 * and builds its relcache entry: seconds for 10,000 tables).
 *
 * What SQL cannot see is the body of a function, so function_writes()
 * reads it:
 *
 *	- SQL functions with a standard body (BEGIN ATOMIC or RETURN): the
 *	  stored parse tree is walked, and every INSERT, UPDATE, DELETE or MERGE
 *	  target, also inside CTEs and sub-selects, is exact.
 *	- SQL functions with a string body and PL/pgSQL functions: the source is
 *	  split into tokens with the core SQL scanner (the one PL/pgSQL itself
 *	  uses), so comments and string literals are skipped, and the statically
 *	  written targets are recognised: INSERT INTO t, UPDATE [ONLY] t,
 *	  DELETE FROM [ONLY] t, MERGE INTO [ONLY] t, TRUNCATE [TABLE] [ONLY] t,
 *	  ....  Unqualified names are resolved with the function's own SET
 *	  search_path when it has one, else with the default search_path (not
 *	  the one the reader SET), without privilege checks; string literals are
 *	  read with the function's own standard_conforming_strings, else the
 *	  default one, likewise.
 *	  Dynamic SQL (EXECUTE of a string) and writes done by other functions
 *	  it calls are invisible.
 *	- Other languages: nothing is visible.
 *
 * A body that the scanner rejects (possible only when it was created with
 * check_function_bodies off) yields no rows rather than failing the whole
 * report: the scan runs in a subtransaction, and syntax errors (only those)
 * are swallowed.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_tablespace_d.h"
#include "common/relpath.h"
#include "catalog/namespace.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "commands/dbcommands.h"
#include "commands/proclang.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "parser/scanner.h"
#include "parser/gram.h"	/* after scanner.h: token codes */
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "migration_split.h"

PG_FUNCTION_INFO_V1(ms_function_writes);
PG_FUNCTION_INFO_V1(ms_storage_sizes);
PG_FUNCTION_INFO_V1(ms_report_relation_domains);
PG_FUNCTION_INFO_V1(ms_report_domain);
PG_FUNCTION_INFO_V1(ms_report_domain_sizes);
PG_FUNCTION_INFO_V1(ms_report_fill_domains);
PG_FUNCTION_INFO_V1(ms_report_domain_root);
PG_FUNCTION_INFO_V1(ms_report_drawn_as);

/* One written table: relation and the command writing it. */
typedef struct WrittenTable
{
	Oid			relid;
	const char *command;		/* "INSERT", "UPDATE", ... (static string) */
} WrittenTable;

/* The tables found so far, in order of first appearance, without repeats. */
typedef struct WriteCollector
{
	WrittenTable *items;
	int			count;
	int			capacity;
} WriteCollector;

/* One token of a function body, as far as we need it. */
typedef struct BodyToken
{
	int			token;			/* core scanner token code */
	char	   *name;			/* identifier text if usable as a name */
} BodyToken;

static void collect(WriteCollector *wc, Oid relid, const char *command);
static bool parse_tree_walker(Node *node, WriteCollector *wc);
static void scan_source(const char *source, bool standard_strings,
						const char *search_path,
						WriteCollector *wc);
static int	scan_qualified_name(BodyToken *tokens, int ntokens, int pos,
								List **names);
static const char *function_setting(HeapTuple proctup, const char *name);
static Oid	resolve_table_name(List *names, const char *search_path);

static void
collect(WriteCollector *wc, Oid relid, const char *command)
{
	int			i;

	if (!OidIsValid(relid))
		return;
	for (i = 0; i < wc->count; i++)
		if (wc->items[i].relid == relid &&
			strcmp(wc->items[i].command, command) == 0)
			return;
	if (wc->count == wc->capacity)
	{
		wc->capacity = wc->capacity == 0 ? 8 : wc->capacity * 2;
		wc->items = wc->items == NULL ?
			palloc(sizeof(WrittenTable) * wc->capacity) :
			repalloc(wc->items, sizeof(WrittenTable) * wc->capacity);
	}
	wc->items[wc->count].relid = relid;
	wc->items[wc->count].command = command;
	wc->count++;
}

/*
 * Walk a stored standard body (a Query, or lists of them), collecting the
 * target of every data-modifying query, including those in CTEs and
 * sub-selects.
 */
static bool
parse_tree_walker(Node *node, WriteCollector *wc)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		const char *command = NULL;

		switch (query->commandType)
		{
			case CMD_INSERT:
				command = "INSERT";
				break;
			case CMD_UPDATE:
				command = "UPDATE";
				break;
			case CMD_DELETE:
				command = "DELETE";
				break;
			case CMD_MERGE:
				command = "MERGE";
				break;
			default:
				break;
		}
		if (command != NULL && query->resultRelation > 0)
			collect(wc, rt_fetch(query->resultRelation, query->rtable)->relid,
					command);
		return query_tree_walker(query, parse_tree_walker, (void *) wc, 0);
	}
	return expression_tree_walker(node, parse_tree_walker, (void *) wc);
}

/*
 * Read a possibly qualified name (up to catalog.schema.relation) starting
 * at tokens[pos].  Returns the position after it, or -1 when there is no
 * name there.
 */
static int
scan_qualified_name(BodyToken *tokens, int ntokens, int pos, List **names)
{
	*names = NIL;
	while (pos < ntokens && tokens[pos].name != NULL)
	{
		*names = lappend(*names, makeString(tokens[pos].name));
		pos++;
		if (list_length(*names) == 3 || pos >= ntokens ||
			tokens[pos].token != '.')
			break;
		pos++;					/* the dot */
	}
	return *names == NIL ? -1 : pos;
}

/*
 * The table a (possibly qualified) name in a function body refers to, or
 * InvalidOid; unqualified names are looked up along search_path (pg_catalog
 * first unless listed, "$user" for the current user, temporary schemas
 * skipped).  Unlike RangeVarGetRelid() this checks no privileges, so that
 * every reader of the report sees the same.
 */
static Oid
resolve_table_name(List *names, const char *search_path)
{
	RangeVar   *rv = makeRangeVarFromNameList(names);
	char	   *rawpath;
	List	   *schemas;
	ListCell   *lc;
	Oid			relid;

	if (rv->catalogname != NULL &&
		strcmp(rv->catalogname, get_database_name(MyDatabaseId)) != 0)
		return InvalidOid;
	if (rv->schemaname != NULL)
	{
		Oid			nspid = get_namespace_oid(rv->schemaname, true);

		return OidIsValid(nspid) ? get_relname_relid(rv->relname, nspid) : InvalidOid;
	}

	rawpath = pstrdup(search_path);
	if (!SplitIdentifierString(rawpath, ',', &schemas))
		return InvalidOid;
	foreach(lc, schemas)
	{
		if (strcmp((char *) lfirst(lc), "pg_catalog") == 0)
			break;
	}
	if (lc == NULL &&
		OidIsValid(relid = get_relname_relid(rv->relname, PG_CATALOG_NAMESPACE)))
		return relid;
	foreach(lc, schemas)
	{
		char	   *schema = (char *) lfirst(lc);
		Oid			nspid;

		if (strcmp(schema, "$user") == 0)
			schema = GetUserNameFromId(GetUserId(), true);
		if (schema == NULL || strcmp(schema, "pg_temp") == 0)
			continue;
		nspid = get_namespace_oid(schema, true);
		if (OidIsValid(nspid) &&
			OidIsValid(relid = get_relname_relid(rv->relname, nspid)))
			return relid;
	}
	return InvalidOid;
}

/*
 * Tokenize a SQL or PL/pgSQL source text and collect the tables that its
 * static statements write.
 */
static void
scan_source(const char *source, bool standard_strings, const char *search_path,
			WriteCollector *wc)
{
	core_yy_extra_type yyextra;
	core_yyscan_t scanner;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	BodyToken  *tokens;
	int			ntokens = 0;
	int			capacity = 64;
	int			i;

	tokens = palloc(sizeof(BodyToken) * capacity);
	scanner = scanner_init(source, &yyextra, &ScanKeywords, ScanKeywordTokens);
	/*
	 * Read string literals as the function's body is compiled (the reader's
	 * standard_conforming_strings would move the end of a literal holding a
	 * backslash, and hide or make up statements), without the warnings
	 * about backslashes meant for whoever writes a query.
	 */
	yyextra.standard_conforming_strings = standard_strings;
	yyextra.escape_string_warning = false;
	for (;;)
	{
		int			token = core_yylex(&yylval, &yylloc, scanner);
		char	   *name = NULL;

		if (token == 0)
			break;
		if (token == IDENT)
			name = pstrdup(yylval.str);
		else if (token >= ABORT_P && token <= ZONE)
		{
			/* Unreserved and column-name keywords can name a table. */
			int			kwnum = ScanKeywordLookup(yylval.keyword, &ScanKeywords);

			if (kwnum >= 0 &&
				(ScanKeywordCategories[kwnum] == UNRESERVED_KEYWORD ||
				 ScanKeywordCategories[kwnum] == COL_NAME_KEYWORD))
				name = pstrdup(yylval.keyword);
		}
		if (ntokens == capacity)
		{
			capacity *= 2;
			tokens = repalloc(tokens, sizeof(BodyToken) * capacity);
		}
		tokens[ntokens].token = token;
		tokens[ntokens].name = name;
		ntokens++;
	}
	scanner_finish(scanner);

	for (i = 0; i < ntokens; i++)
	{
		int			prev = i > 0 ? tokens[i - 1].token : 0;
		int			pos = i + 1;
		const char *command = NULL;
		bool		list = false;
		List	   *names;

		switch (tokens[i].token)
		{
			case INSERT:
				if (pos < ntokens && tokens[pos].token == INTO)
				{
					command = "INSERT";
					pos++;
				}
				break;
			case UPDATE:

				/*
				 * Not FOR [NO KEY] UPDATE, DO UPDATE, ON UPDATE, OR UPDATE,
				 * nor MERGE's WHEN ... THEN UPDATE SET; but the UPDATE that
				 * starts a branch of PL/pgSQL's IF, ELSIF or CASE (THEN
				 * UPDATE t) is a write.
				 */
				if (prev != FOR && prev != KEY && prev != DO && prev != ON &&
					prev != OR && prev != '.' && prev != ',' &&
					!(prev == THEN && pos < ntokens && tokens[pos].token == SET))
					command = "UPDATE";
				break;
			case DELETE_P:
				if (pos < ntokens && tokens[pos].token == FROM)
				{
					command = "DELETE";
					pos++;
				}
				break;
			case MERGE:
				if (pos < ntokens && tokens[pos].token == INTO)
				{
					command = "MERGE";
					pos++;
				}
				break;
			case TRUNCATE:
				command = "TRUNCATE";
				list = true;
				if (pos < ntokens && tokens[pos].token == TABLE)
					pos++;
				break;
			default:
				break;
		}
		if (command == NULL)
			continue;

		for (;;)
		{
			if (pos < ntokens && tokens[pos].token == ONLY)
				pos++;
			pos = scan_qualified_name(tokens, ntokens, pos, &names);
			if (pos < 0)
				break;
			collect(wc, resolve_table_name(names, search_path), command);
			if (!list)
				break;
			if (pos < ntokens && tokens[pos].token == '*')
				pos++;
			if (pos >= ntokens || tokens[pos].token != ',')
				break;
			pos++;
		}
	}
}

/*
 * A setting the function runs with, as far as we can know: its own SET
 * clause, else the default (the reset value: server, database and role
 * settings), never whatever the report's reader happens to have SET, so
 * that the report does not depend on it.  Asked for search_path and
 * standard_conforming_strings.
 */
static const char *
function_setting(HeapTuple proctup, const char *name)
{
	bool		isnull;
	Datum		config;
	const char *value = GetConfigOptionResetString(name);
	size_t		namelen = strlen(name);

	config = SysCacheGetAttr(PROCOID, proctup, Anum_pg_proc_proconfig, &isnull);
	if (!isnull)
	{
		ArrayType  *array = DatumGetArrayTypeP(config);
		Datum	   *values;
		int			nvalues;
		int			i;

		deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT,
						  &values, NULL, &nvalues);
		for (i = 0; i < nvalues; i++)
		{
			char	   *setting = TextDatumGetCString(values[i]);

			if (strncmp(setting, name, namelen) == 0 && setting[namelen] == '=')
				value = setting + namelen + 1;
		}
	}
	return value;
}

/*
 * function_writes(func regprocedure) RETURNS TABLE (rel regclass, command text)
 *
 * The tables the function's body statically writes, each with the command
 * (INSERT, UPDATE, DELETE, MERGE, TRUNCATE), in order of appearance.  See
 * the file header for what is visible.
 */
Datum
ms_function_writes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			funcoid = PG_GETARG_OID(0);
	HeapTuple	proctup;
	Form_pg_proc proc;
	Oid			plpgsql;
	bool		isnull;
	Datum		body;
	WriteCollector wc = {0};
	int			i;

	InitMaterializedSRF(fcinfo, 0);

	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcoid));
	if (!HeapTupleIsValid(proctup))
		return (Datum) 0;		/* a dropped function writes nothing */
	proc = (Form_pg_proc) GETSTRUCT(proctup);
	plpgsql = get_language_oid("plpgsql", true);

	body = SysCacheGetAttr(PROCOID, proctup, Anum_pg_proc_prosqlbody, &isnull);
	if (proc->prolang == SQLlanguageId && !isnull)
		(void) parse_tree_walker(stringToNode(TextDatumGetCString(body)), &wc);
	else if (proc->prolang == SQLlanguageId ||
			 (OidIsValid(plpgsql) && proc->prolang == plpgsql))
	{
		MemoryContext oldcontext = CurrentMemoryContext;
		ResourceOwner oldowner = CurrentResourceOwner;
		char	   *source;

		source = TextDatumGetCString(SysCacheGetAttr(PROCOID, proctup,
													 Anum_pg_proc_prosrc,
													 &isnull));

		/* A source the scanner rejects must not fail the whole report. */
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcontext);
		PG_TRY();
		{
			bool		standard_strings = true;

			(void) parse_bool(function_setting(proctup, "standard_conforming_strings"),
							  &standard_strings);
			scan_source(source, standard_strings,
						function_setting(proctup, "search_path"), &wc);

			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcontext);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(oldcontext);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcontext);
			CurrentResourceOwner = oldowner;

			/* Only the scanner's complaints; never a cancel or out of memory. */
			if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) !=
				ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION &&
				ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
				ReThrowError(edata);
			FreeErrorData(edata);
			wc.count = 0;
		}
		PG_END_TRY();
	}
	ReleaseSysCache(proctup);

	for (i = 0; i < wc.count; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = ObjectIdGetDatum(wc.items[i].relid);
		values[1] = CStringGetTextDatum(wc.items[i].command);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	return (Datum) 0;
}

/*
 * Add the size of every file in one database directory to the tuplestore,
 * one row per relfilenode (all forks and segments summed).  Temporary
 * relations (t<backend>_<relfilenode>) are skipped.
 */
static void
storage_sizes_in(const char *dirpath, Oid spcoid, ReturnSetInfo *rsinfo)
{
	DIR		   *dir;
	struct dirent *de;
	HTAB	   *sizes;
	HASHCTL		ctl;
	HASH_SEQ_STATUS status;
	struct
	{
		Oid			relfilenode;
		int64		bytes;
	}		   *entry;

	dir = AllocateDir(dirpath);
	if (dir == NULL && errno == ENOENT)
		return;					/* no relation of this database here */

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(*entry);
	ctl.hcxt = CurrentMemoryContext;
	sizes = hash_create("migration_split storage sizes", 1024, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	while ((de = ReadDir(dir, dirpath)) != NULL)
	{
		char		path[MAXPGPATH];
		struct stat st;
		char	   *end;
		unsigned long number;
		Oid			relfilenode;
		bool		found;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;			/* temporary relations, PG_VERSION, ... */
		errno = 0;
		number = strtoul(de->d_name, &end, 10);
		if (errno != 0 || number == 0 || number > PG_UINT32_MAX ||
			(*end != '\0' && *end != '.' && *end != '_'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
		if (stat(path, &st) < 0)
		{
			if (errno == ENOENT)
				continue;		/* dropped meanwhile */
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not stat file \"%s\": %m", path)));
		}
		if (!S_ISREG(st.st_mode))
			continue;
		relfilenode = (Oid) number;
		entry = hash_search(sizes, &relfilenode, HASH_ENTER, &found);
		if (!found)
			entry->bytes = 0;
		entry->bytes += st.st_size;
	}
	FreeDir(dir);

	hash_seq_init(&status, sizes);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = ObjectIdGetDatum(spcoid);
		values[1] = ObjectIdGetDatum(entry->relfilenode);
		values[2] = Int64GetDatum(entry->bytes);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	hash_destroy(sizes);
}

/*
 * storage_sizes() RETURNS TABLE (tablespace oid, relfilenode oid, bytes bigint)
 *
 * The disk space of every relation file of the current database, summed
 * over forks and segments, by tablespace (0 for the database's default
 * tablespace, as in pg_class.reltablespace) and relfilenode.  Joined with
 * pg_class this gives pg_relation_size(rel, all forks) for every relation
 * at once, without opening any.
 */
Datum
ms_storage_sizes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char		path[MAXPGPATH];
	DIR		   *dir;
	struct dirent *de;

	InitMaterializedSRF(fcinfo, 0);

	/* The database's default tablespace. */
	snprintf(path, sizeof(path), "base/%u", MyDatabaseId);
	if (MyDatabaseTableSpace == DEFAULTTABLESPACE_OID)
		storage_sizes_in(path, InvalidOid, rsinfo);

	/* Every other tablespace: pg_tblspc/<oid>/<version>/<database>. */
	dir = AllocateDir("pg_tblspc");
	while ((de = ReadDir(dir, "pg_tblspc")) != NULL)
	{
		Oid			spcoid = atooid(de->d_name);

		if (!OidIsValid(spcoid))
			continue;
		snprintf(path, sizeof(path), "pg_tblspc/%s/%s/%u", de->d_name,
				 TABLESPACE_VERSION_DIRECTORY, MyDatabaseId);
		storage_sizes_in(path,
						 spcoid == MyDatabaseTableSpace ? InvalidOid : spcoid,
						 rsinfo);
	}
	FreeDir(dir);

	return (Datum) 0;
}

/*
 * report_relation_domains() RETURNS TABLE (relid oid, domain text, root oid,
 *										   via text)
 *
 * Every relation with a domain, as migration_split.relation_domains lists
 * them, answered by the backend's ownership cache (src/ownership_cache.c),
 * the one resolver the runtime monitor and the output plugin use too: one
 * pass over pg_class, one hash lookup per relation once the cache is warm
 * (it is kept across queries and flushed by the invalidations that move
 * ms_ownership_generation).  The recursive view costs a join of pg_depend
 * with pg_class on every call, and the reports used it several times per
 * query.  Indexes have no domain and are skipped.  via says which rule
 * gave the domain: 'tag', 'partition', 'inheritance', 'toast' or
 * 'sequence', as in the view.
 */
Datum
ms_report_relation_domains(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	classrel;
	TableScanDesc scan;
	HeapTuple	tuple;
	MemoryContext tmpcxt;
	MemoryContext oldcxt;

	InitMaterializedSRF(fcinfo, 0);
	ms_ownership_cache_prefill();

	tmpcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "report_relation_domains",
								   ALLOCSET_DEFAULT_SIZES);
	classrel = table_open(RelationRelationId, AccessShareLock);
	scan = table_beginscan_catalog(classrel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);
		Oid			relid = form->oid;
		MsDomainId	domain;
		Oid			root;
		const char *via;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (form->relkind == RELKIND_INDEX ||
			form->relkind == RELKIND_PARTITIONED_INDEX)
			continue;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(tmpcxt);
		domain = ms_relation_domain(relid);
		if (domain == MS_NO_DOMAIN)
		{
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(tmpcxt);
			continue;
		}
		root = ms_relation_owning_root(relid);
		if (root == relid)
			via = "tag";
		else if (form->relkind == RELKIND_TOASTVALUE)
			via = "toast";
		else if (form->relkind == RELKIND_SEQUENCE)
			via = "sequence";
		else if (form->relispartition)
			via = "partition";
		else
			via = "inheritance";

		values[0] = ObjectIdGetDatum(relid);
		values[1] = CStringGetTextDatum(ms_domain_name(domain));
		values[2] = ObjectIdGetDatum(root);
		values[3] = CStringGetTextDatum(via);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(tmpcxt);
	}
	table_endscan(scan);
	table_close(classrel, AccessShareLock);
	MemoryContextDelete(tmpcxt);

	return (Datum) 0;
}

/*
 * Cache misses resolved through pg_depend in one report_domain() call site
 * before the bulk fill.
 */
#define REPORT_DOMAIN_FILL_AFTER	500

/* State of one report_domain() call site (fn_extra), for one query. */
typedef struct ReportDomainState
{
	uint64		misses_at_start;	/* ms_ownership_cache_depend_misses then */
	bool		filled;			/* ms_ownership_cache_prefill() called */
} ReportDomainState;

/*
 * report_domain(rel oid) RETURNS text
 *
 * The domain of one relation for the reports, from the ownership cache
 * like report_relation_domains(): NULL when it has none, also for an oid
 * that is no relation (table_domain() raises an error then, which a join
 * over the catalogs must not).  A hash lookup once the cache is warm,
 * cheaper per row than joining every catalog row with the relation
 * domains.  The cache is filled in bulk (ms_ownership_cache_prefill())
 * only once the calls of one query have resolved REPORT_DOMAIN_FILL_AFTER
 * TOAST tables or sequences through pg_depend probes: a table missing from
 * the cache costs a tag probe, a pg_class lookup that the report's
 * regclass output needs anyway and a pg_inherits probe, no more in a new
 * session than reading pg_class and pg_depend whole (foreign keys, generic
 * relations ask about tables), while the bulk fill wins over a pg_depend
 * probe per sequence (the sequence defaults of cross_domain_dependencies).
 */
Datum
ms_report_domain(PG_FUNCTION_ARGS)
{
	MsDomainId	domain;
	ReportDomainState *state = (ReportDomainState *) fcinfo->flinfo->fn_extra;

	if (state == NULL)
	{
		state = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(ReportDomainState));
		state->misses_at_start = ms_ownership_cache_depend_misses;
		fcinfo->flinfo->fn_extra = state;
	}
	if (!state->filled &&
		ms_ownership_cache_depend_misses - state->misses_at_start > REPORT_DOMAIN_FILL_AFTER)
	{
		ms_ownership_cache_prefill();
		state->filled = true;
	}
	domain = ms_relation_domain(PG_GETARG_OID(0));

	if (domain == MS_NO_DOMAIN)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(ms_domain_name(domain)));
}

/*
 * report_fill_domains() RETURNS void
 *
 * Fill the ownership cache in one pass (ms_ownership_cache_prefill()), for
 * the reports that go on to ask about most relations of the database: they
 * call it first, so that their first questions are not resolved one by one
 * (a tag probe, a pg_class lookup and a pg_inherits probe per table) before
 * report_domain() decides on the fill that would answer them all.
 */
Datum
ms_report_fill_domains(PG_FUNCTION_ARGS)
{
	ms_ownership_cache_prefill();
	PG_RETURN_VOID();
}

/*
 * report_domain_root(rel oid) RETURNS oid
 *
 * The relation whose tag gives rel its domain (rel itself when tagged, its
 * partition root, tagged ancestor or table otherwise), from the ownership
 * cache; NULL when rel has no domain or is no relation.  The root column
 * of report_relation_domains() for one relation: a hash lookup instead of
 * a join with all of them.
 */
Datum
ms_report_domain_root(PG_FUNCTION_ARGS)
{
	Oid			root = ms_relation_owning_root(PG_GETARG_OID(0));

	if (!OidIsValid(root))
		PG_RETURN_NULL();
	PG_RETURN_OID(root);
}

/*
 * report_drawn_as(rel oid) RETURNS oid
 *
 * The node the table-level graph draws rel as: for a partition, TOAST
 * table or owned sequence with a domain, the relation whose tag gives it
 * that domain (report_relation_domains() says 'partition', 'toast' or
 * 'sequence' for it, and root); rel itself otherwise (tagged, an
 * inheritance child, no domain, no relation).  A cache lookup and, for a
 * relation with a domain not tagged itself, its relkind from the syscache
 * (which the graph's node names read anyway), instead of joining every
 * edge end with the 20,000 partitions, TOAST tables and sequences of a
 * 10,000-table schema.
 */
Datum
ms_report_drawn_as(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			root = ms_relation_owning_root(relid);

	if (OidIsValid(root) && root != relid)
	{
		char		relkind = get_rel_relkind(relid);

		if (relkind == RELKIND_TOASTVALUE || relkind == RELKIND_SEQUENCE ||
			get_rel_relispartition(relid))
			PG_RETURN_OID(root);
	}
	PG_RETURN_OID(relid);
}

/* An index and its table, for report_domain_sizes(). */
typedef struct IndexOwner
{
	Oid			indexrelid;
	Oid			indrelid;
} IndexOwner;

static int
index_owner_cmp(const void *a, const void *b)
{
	Oid			x = ((const IndexOwner *) a)->indexrelid;
	Oid			y = ((const IndexOwner *) b)->indexrelid;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * The table of every index, from one sequential pass over pg_index, sorted
 * by index: a new session's INDEXRELID syscache lookup per index (10,000
 * on a 10,000-table schema) cost a pg_index probe and a cache entry each,
 * a third of report_domain_sizes()'s first run.
 */
static IndexOwner *
read_index_owners(int *nowners)
{
	Relation	indrel;
	TableScanDesc scan;
	HeapTuple	tuple;
	IndexOwner *owners;
	int			n = 0;
	int			capacity = 1024;

	owners = palloc(sizeof(IndexOwner) * capacity);
	indrel = table_open(IndexRelationId, AccessShareLock);
	scan = table_beginscan_catalog(indrel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_index index = (Form_pg_index) GETSTRUCT(tuple);

		if (n == capacity)
		{
			CHECK_FOR_INTERRUPTS();
			capacity *= 2;
			owners = repalloc_huge(owners, sizeof(IndexOwner) * capacity);
		}
		owners[n].indexrelid = index->indexrelid;
		owners[n].indrelid = index->indrelid;
		n++;
	}
	table_endscan(scan);
	table_close(indrel, AccessShareLock);
	qsort(owners, n, sizeof(IndexOwner), index_owner_cmp);
	*nowners = n;
	return owners;
}

/* The table of index relid (read_index_owners()), or InvalidOid. */
static Oid
index_owner(IndexOwner *owners, int nowners, Oid relid)
{
	int			lo = 0;
	int			hi = nowners - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (owners[mid].indexrelid == relid)
			return owners[mid].indrelid;
		if (owners[mid].indexrelid < relid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return InvalidOid;
}

/* Per-domain totals of report_domain_sizes(), indexed by MsDomainId. */
typedef struct DomainSizes
{
	int64		tables;
	int64		bytes;
	double		rows;
	bool		any_rows;		/* some table or matview was counted */
	bool		seen;			/* some relation has this domain */
} DomainSizes;

/*
 * report_domain_sizes() RETURNS TABLE (domain text, tables int8,
 *									   total_size int8, estimated_rows int8)
 *
 * Per domain with a relation: its tables (tagged tables and their
 * inheritance children; partitions are part of their table), the disk
 * space of its tables, partitions, materialized views, TOAST tables,
 * sequences and of the indexes of all of them, and the rows of its tables
 * and materialized views, from one pass over pg_class and the ownership
 * cache.  Sizes are pg_class.relpages (kept by VACUUM, ANALYZE, autovacuum
 * and CREATE INDEX), a sequence one block, and for a table, materialized
 * view or TOAST table never vacuumed or analyzed (reltuples -1) the main
 * fork's current size, the only case where a relation is opened.  Rows:
 * reltuples of the tables and materialized views vacuumed or analyzed;
 * NULL when there is none.  No file is read: walking the data directory
 * (storage_sizes()) costs a stat() per file, most of a report's time on
 * 10,000 tables.
 */
Datum
ms_report_domain_sizes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	classrel;
	TableScanDesc scan;
	HeapTuple	tuple;
	DomainSizes *totals = NULL;
	int			ntotals = 0;
	IndexOwner *owners;
	int			nowners;

	InitMaterializedSRF(fcinfo, 0);
	ms_ownership_cache_prefill();
	owners = read_index_owners(&nowners);

	classrel = table_open(RelationRelationId, AccessShareLock);
	scan = table_beginscan_catalog(classrel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);
		Oid			relid = form->oid;
		Oid			owner = relid;
		MsDomainId	domain;
		DomainSizes *t;
		int64		bytes;

		CHECK_FOR_INTERRUPTS();
		if (form->relkind == RELKIND_PARTITIONED_INDEX ||
			form->relkind == RELKIND_COMPOSITE_TYPE ||
			form->relkind == RELKIND_VIEW)
			continue;
		if (form->relkind == RELKIND_INDEX)
		{
			owner = index_owner(owners, nowners, relid);
			if (!OidIsValid(owner))
				continue;
		}
		domain = ms_relation_domain(owner);
		if (domain == MS_NO_DOMAIN)
			continue;

		if (domain >= ntotals)
		{
			int			newn = Max(domain + 1, ntotals * 2);

			if (totals == NULL)
				totals = palloc0(sizeof(DomainSizes) * newn);
			else
			{
				totals = repalloc(totals, sizeof(DomainSizes) * newn);
				memset(totals + ntotals, 0, sizeof(DomainSizes) * (newn - ntotals));
			}
			ntotals = newn;
		}
		t = &totals[domain];
		t->seen = true;

		/* tables: tagged ones and inheritance children, not partitions */
		if ((form->relkind == RELKIND_RELATION ||
			 form->relkind == RELKIND_PARTITIONED_TABLE ||
			 form->relkind == RELKIND_FOREIGN_TABLE) &&
			(ms_relation_owning_root(relid) == relid || !form->relispartition))
			t->tables++;

		if ((form->relkind == RELKIND_RELATION ||
			 form->relkind == RELKIND_MATVIEW) && form->reltuples >= 0)
		{
			t->rows += form->reltuples;
			t->any_rows = true;
		}

		switch (form->relkind)
		{
			case RELKIND_SEQUENCE:
				bytes = BLCKSZ;
				break;
			case RELKIND_RELATION:
			case RELKIND_MATVIEW:
			case RELKIND_TOASTVALUE:
				if (form->reltuples < 0)
				{
					Relation	rel = try_relation_open(relid, AccessShareLock);

					bytes = 0;
					if (rel != NULL)
					{
						if (RELKIND_HAS_STORAGE(rel->rd_rel->relkind))
							bytes = (int64) RelationGetNumberOfBlocksInFork(rel, MAIN_FORKNUM) * BLCKSZ;
						relation_close(rel, AccessShareLock);
					}
				}
				else
					bytes = (int64) form->relpages * BLCKSZ;
				break;
			case RELKIND_INDEX:
				bytes = (int64) form->relpages * BLCKSZ;
				break;
			default:
				bytes = 0;		/* partitioned tables, foreign tables */
				break;
		}
		t->bytes += bytes;
	}
	table_endscan(scan);
	table_close(classrel, AccessShareLock);

	for (int d = 0; d < ntotals; d++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (!totals[d].seen)
			continue;
		values[0] = CStringGetTextDatum(ms_domain_name(d));
		values[1] = Int64GetDatum(totals[d].tables);
		values[2] = Int64GetDatum(totals[d].bytes);
		if (totals[d].any_rows)
			values[3] = Int64GetDatum((int64) rint(totals[d].rows));
		else
			nulls[3] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	return (Datum) 0;
}
