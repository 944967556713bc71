/*-------------------------------------------------------------------------
 *
 * monitor_enforce.c
 *		Per-service enforcement of domain boundaries and the allowlist of
 *		known, time-boxed crossings.
 *
 * A session declares the domain it acts for in migration_split.service.
 * With migration_split.enforce = warn or error, a statement that reaches a
 * table owned by another domain raises a WARNING or fails with SQLSTATE
 * MS001 (ERRCODE_MS_CROSS_DOMAIN_ACCESS), unless an unexpired entry of
 * migration_split.allowed_crossings exempts that crossing.  Statements run
 * by foreign-key triggers never get here (see monitor_track.c).
 *
 * The allowlist is cached per backend and reloaded after any change of the
 * table: a statement-level trigger on it queues a relcache invalidation of
 * the table, which our relcache callback receives in every backend.  Expiry
 * is checked at use, against the statement start time, so an entry stops
 * exempting the moment it expires without any invalidation.  Entries are
 * validated when written, in SQL (check_allowed_crossing() in the install
 * script): an entry's rel is the tagged table, matched against the owning
 * root of each relation here.
 *
 * The service name is checked for its form by the GUC's check hook
 * (monitor.c); whether it is a domain at all is looked up only on the way
 * to a violation, to say so in the hint.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "monitor.h"

PG_FUNCTION_INFO_V1(ms_allowlist_changed);

#define MS_ALLOWLIST_TABLE_NAME	"allowed_crossings"

typedef struct MsAllowEntry
{
	int64		id;
	MsDomainId	from_domain;
	MsDomainId	to_domain;
	Oid			rel;			/* InvalidOid: any table of to_domain */
	TimestampTz expires_at;		/* DT_NOEND: never */
} MsAllowEntry;

static MemoryContext allow_context = NULL;
static MsAllowEntry *allow_entries = NULL;
static int	allow_count = 0;
static bool allow_valid = false;
static Oid	allow_relid = InvalidOid;
static bool allow_loading = false;	/* also while ms_domain_exists runs */

/* migration_split.service, interned; recomputed when the GUC changes */
static char cached_service[NAMEDATALEN] = "";
static MsDomainId cached_service_id = MS_NO_DOMAIN;

static void ms_allow_relcache_callback(Datum arg, Oid relid);
static void ms_allow_namespace_callback(Datum arg, int cacheid, uint32 hashvalue);
static void ms_allow_load(void);
static const MsAllowEntry *ms_allow_find(MsDomainId from, MsDomainId to, Oid rel);

void
ms_enforce_init(void)
{
	CacheRegisterRelcacheCallback(ms_allow_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, ms_allow_namespace_callback,
								  (Datum) 0);
}

static void
ms_allow_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == allow_relid)
		allow_valid = false;
}

static void
ms_allow_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	allow_valid = false;
}

/*
 * Trigger on migration_split.allowed_crossings: make every backend reload
 * its cached copy.
 */
Datum
ms_allowlist_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "ms_allowlist_changed: not called by trigger manager");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * (Re)load the allowlist of the current database into backend memory.
 */
static void
ms_allow_load(void)
{
	Oid			nspid;
	Oid			relid = InvalidOid;
	MsAllowEntry *volatile entries = NULL;
	volatile int count = 0;

	if (allow_context == NULL)
		allow_context = AllocSetContextCreate(CacheMemoryContext,
											  "migration_split allowlist",
											  ALLOCSET_SMALL_SIZES);

	nspid = get_namespace_oid(MS_SCHEMA_NAME, true);
	if (OidIsValid(nspid))
		relid = get_relname_relid(MS_ALLOWLIST_TABLE_NAME, nspid);

	/* Mark valid first: an invalidation during the load marks it stale. */
	allow_valid = true;
	allow_relid = relid;

	if (OidIsValid(relid))
	{
		int			ret;
		uint64		i;

		allow_loading = true;
		PG_TRY();
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			ret = SPI_execute("SELECT id, from_domain, to_domain, rel::pg_catalog.oid,"
							  " coalesce(expires_at, 'infinity')"
							  " FROM migration_split.allowed_crossings",
							  true, 0);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "could not read migration_split.allowed_crossings: %s",
					 SPI_result_code_string(ret));
			entries = MemoryContextAlloc(allow_context,
										 sizeof(MsAllowEntry) * Max(SPI_processed, 1));
			for (i = 0; i < SPI_processed; i++)
			{
				HeapTuple	tup = SPI_tuptable->vals[i];
				TupleDesc	desc = SPI_tuptable->tupdesc;
				bool		isnull;
				MsAllowEntry *e = &entries[count];

				e->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
				e->from_domain = ms_domain_id(SPI_getvalue(tup, desc, 2), true);
				e->to_domain = ms_domain_id(SPI_getvalue(tup, desc, 3), true);
				e->rel = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
				if (isnull)
					e->rel = InvalidOid;
				e->expires_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
				count++;
			}
			SPI_finish();
		}
		PG_CATCH();
		{
			allow_loading = false;
			allow_valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
		allow_loading = false;
	}

	if (allow_entries)
		pfree(allow_entries);
	allow_entries = entries;
	allow_count = count;
}

/*
 * The unexpired allowlist entry exempting a crossing from "from" to table
 * rel of domain "to", or NULL.  An entry naming the table wins over one for
 * the whole domain.
 */
static const MsAllowEntry *
ms_allow_find(MsDomainId from, MsDomainId to, Oid rel)
{
	const MsAllowEntry *best = NULL;
	TimestampTz now = GetCurrentStatementStartTimestamp();
	int			i;

	for (i = 0; i < allow_count; i++)
	{
		const MsAllowEntry *e = &allow_entries[i];

		if (e->from_domain != from || e->to_domain != to ||
			(OidIsValid(e->rel) && e->rel != rel) ||
			(!TIMESTAMP_NOT_FINITE(e->expires_at) && e->expires_at <= now) ||
			(TIMESTAMP_IS_NOBEGIN(e->expires_at)))
			continue;
		if (best == NULL || (OidIsValid(e->rel) && !OidIsValid(best->rel)))
			best = e;
	}
	return best;
}

/*
 * Whether domain "name" exists in this database.  Only called on the way
 * to a violation, to tell a service name that is no domain at all (the GUC
 * check hook cannot read the catalog); never on the hot path.
 */
static bool
ms_domain_exists(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	volatile bool exists = true;

	if (!OidIsValid(get_namespace_oid(MS_SCHEMA_NAME, true)))
		return true;
	values[0] = CStringGetTextDatum(name);
	allow_loading = true;
	PG_TRY();
	{
		int			ret;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ret = SPI_execute_with_args("SELECT FROM migration_split.domains"
									" WHERE domain OPERATOR(pg_catalog.=) $1",
									1, argtypes, values, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not read migration_split.domains: %s",
				 SPI_result_code_string(ret));
		exists = (SPI_processed > 0);
		SPI_finish();
	}
	PG_FINALLY();
	{
		allow_loading = false;
	}
	PG_END_TRY();
	return exists;
}

/*
 * schema.table of a relation, unquoted: the messages put it in double
 * quotes, as PostgreSQL's own messages do with "%s.%s".
 */
static char *
ms_qualified_name(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname;

	if (relname == NULL)
		return psprintf("%u", relid);
	nspname = get_namespace_name(get_rel_namespace(relid));
	if (nspname == NULL)
		return relname;
	return psprintf("%s.%s", nspname, relname);
}

/*
 * Check a statement of the session's service against domain boundaries.
 * domains are the (distinct) domains of the statement's relations.
 */
void
ms_enforce_check(List *rtable, const MsDomainId *domains, int ndomains)
{
	MsDomainId	service;
	MsDomainId	violated[MS_ENTRY_DOMAINS];
	int			nviolated = 0;
	Oid			seen[64];
	int			nseen = 0;
	int64		used[64];
	int			nused = 0;
	StringInfoData detail;
	char	   *first_table = NULL;
	int			ntables = 0;
	ListCell   *lc;
	int			i;

	if (allow_loading)
		return;

	if (strcmp(cached_service, ms_service) != 0)
	{
		strlcpy(cached_service, ms_service, NAMEDATALEN);
		cached_service_id = ms_domain_id(cached_service, true);
	}
	service = cached_service_id;

	for (i = 0; i < ndomains; i++)
		if (domains[i] != service)
			break;
	if (i == ndomains)
		return;

	if (!allow_valid)
		ms_allow_load();

	initStringInfo(&detail);
	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		MsDomainId	d;
		Oid			root;
		const MsAllowEntry *allow;
		int			j;

		if (rte->rtekind != RTE_RELATION || rte->relkind == RELKIND_VIEW)
			continue;
		d = ms_relation_domain(rte->relid);
		if (d == MS_NO_DOMAIN || d == service)
			continue;
		root = ms_relation_owning_root(rte->relid);
		for (j = 0; j < nseen; j++)
			if (seen[j] == root)
				break;
		if (j < nseen)
			continue;
		if (nseen < lengthof(seen))
			seen[nseen++] = root;

		allow = ms_allow_find(service, d, root);
		if (allow != NULL)
		{
			for (j = 0; j < nused; j++)
				if (used[j] == allow->id)
					break;
			if (j == nused && nused < lengthof(used))
			{
				used[nused++] = allow->id;
				ms_stats_note_exemption(allow->id);
			}
			continue;
		}

		for (j = 0; j < nviolated; j++)
			if (violated[j] == d)
				break;
		if (j == nviolated && nviolated < MS_ENTRY_DOMAINS)
			violated[nviolated++] = d;

		if (ntables == 0)
			first_table = ms_qualified_name(root);
		else
			appendStringInfoString(&detail, ", ");
		appendStringInfo(&detail, "\"%s\" (domain \"%s\")", ms_qualified_name(root),
						 ms_domain_name(d));
		ntables++;
	}

	if (nviolated > 0)
	{
		MsDomainId	all[MS_ENTRY_DOMAINS];
		int			nall = 0;
		MsDomainSet set;
		bool		known_service = ms_domain_exists(cached_service);

		/* remember the violation for the service and the domains touched */
		if (service != MS_NO_DOMAIN)
			all[nall++] = service;
		for (i = 0; i < nviolated && nall < MS_ENTRY_DOMAINS; i++)
			all[nall++] = violated[i];
		memset(&set, 0, sizeof(set));
		for (i = 0; i < nall; i++)
		{
			uint16		id = ms_shared_domain(all[i]);

			if (id != 0)
				set.ids[set.count++] = id;
		}
		ms_stats_note_violation(&set);

		if (ntables == 1)
			ereport(ms_enforce == MS_ENFORCE_ERROR ? ERROR : WARNING,
					(errcode(ERRCODE_MS_CROSS_DOMAIN_ACCESS),
					 errmsg("service \"%s\" must not access table \"%s\" of domain \"%s\"",
							cached_service, first_table, ms_domain_name(violated[0])),
					 errdetail("Table \"%s\" is owned by domain \"%s\", not by \"%s\".",
							   first_table, ms_domain_name(violated[0]),
							   cached_service),
					 known_service ?
					 errhint("Use the owning service's interface, or allow this crossing for a limited time with an entry in migration_split.allowed_crossings.") :
					 errhint("Domain \"%s\" does not exist; check the setting of migration_split.service.",
							 cached_service)));
		else
			ereport(ms_enforce == MS_ENFORCE_ERROR ? ERROR : WARNING,
					(errcode(ERRCODE_MS_CROSS_DOMAIN_ACCESS),
					 errmsg("service \"%s\" must not access tables of other domains",
							cached_service),
					 errdetail("Tables owned by other domains: %s.", detail.data),
					 known_service ?
					 errhint("Use the owning services' interfaces, or allow these crossings for a limited time with entries in migration_split.allowed_crossings.") :
					 errhint("Domain \"%s\" does not exist; check the setting of migration_split.service.",
							 cached_service)));
	}
	pfree(detail.data);
}
