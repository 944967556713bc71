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
 * migration_split.allowed_crossings exempts that crossing.  The queries of
 * foreign-key checks and cascades never get here, the statements nested in
 * them (triggers of cascaded rows) do (see monitor_track.c).
 *
 * The allowlist is cached per backend and reloaded after any change of the
 * table: a statement-level trigger on it (INSERT, UPDATE, DELETE and
 * TRUNCATE) queues a relcache invalidation of the table, which our relcache
 * callback receives in every backend; a statement that crosses domains
 * first takes in pending invalidations.  The table is read like a catalog
 * (systable scan with a fresh catalog snapshot), never with the snapshot
 * of the statement that happens to need it: a REPEATABLE READ transaction
 * that began before a change must not cache the old entries for the
 * backend's later transactions.  Expiry is checked at use, against the
 * statement start time, so an entry stops exempting the moment it expires
 * without any invalidation.  Entries are validated when written, in SQL
 * (check_allowed_crossing() in the install script): an entry's rel is the
 * tagged table, matched against the owning root of each relation here.
 *
 * Which service and level apply comes from monitor_service.c (the
 * administrator's binding wins over the session's settings).  Utility
 * statements that reach tables without the executor (COPY to or from a
 * table, TRUNCATE, LOCK, ALTER TABLE and friends) are checked here from
 * the utility hook, before they run, on the tables they name and the
 * tables they also reach (inheritance children and partitions, TRUNCATE
 * ... CASCADE's referencing tables, the tables behind a view that LOCK
 * locks, the tables DROP SCHEMA ... CASCADE and DROP OWNED drop).  COPY
 * (query) TO runs its query through the executor and is checked there.
 * A change of a tag (a row of migration_split.ownership) that would take
 * a table out of another domain is checked from the ownership table's row
 * trigger (ms_enforce_tag_change).  Objects a DROP removes without naming
 * them (what CASCADE reaches: a column of a type dropped, a default, a
 * constraint, an index, a rule, a policy or a trigger of another domain's
 * table) are checked one by one as PostgreSQL deletes them, from the
 * object access hook (ms_enforce_drop), before each deletion.
 *
 * Nothing here runs SQL: every read is a systable scan, so no user code
 * (views, policies, operators) can run under the monitor.

 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/heap.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_rewrite.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "nodes/makefuncs.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "partitioning/partdesc.h"
#include "rewrite/rewriteSupport.h"
#include "utils/rel.h"
#include "lib/stringinfo.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/fmgroids.h"
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
static uint64 allow_invalidations = 0;	/* bumped by every invalidation */

/* the service, interned; recomputed when the service changes */
static char cached_service[NAMEDATALEN] = "";
static MsDomainId cached_service_id = MS_NO_DOMAIN;

static void ms_allow_relcache_callback(Datum arg, Oid relid);
static void ms_allow_namespace_callback(Datum arg, int cacheid, uint32 hashvalue);
static void ms_allow_load(void);
static const MsAllowEntry *ms_allow_find(MsDomainId from, MsDomainId to, Oid rel);
static bool ms_enforce_drop_seen(Oid relid);

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
	{
		allow_valid = false;
		allow_invalidations++;
	}
}

static void
ms_allow_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	allow_valid = false;
	allow_invalidations++;
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

/* Attribute number of a column of rel by name; elog when missing. */
static AttrNumber
ms_attnum(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	elog(ERROR, "column \"%s\" of \"%s\" not found", name,
		 RelationGetRelationName(rel));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * (Re)load the allowlist of the current database into backend memory,
 * reading the table with a fresh catalog snapshot.
 */
static void
ms_allow_load(void)
{
	Oid			nspid;
	Oid			relid = InvalidOid;
	MsAllowEntry *entries = NULL;
	int			count = 0;
	uint64		start;

	if (allow_context == NULL)
		allow_context = AllocSetContextCreate(CacheMemoryContext,
											  "migration_split allowlist",
											  ALLOCSET_SMALL_SIZES);

	nspid = get_namespace_oid(MS_SCHEMA_NAME, true);
	if (OidIsValid(nspid))
		relid = get_relname_relid(MS_ALLOWLIST_TABLE_NAME, nspid);

	/*
	 * Valid once loaded, unless an invalidation arrived during the load (the
	 * table is opened, which takes in invalidations); an error leaves it
	 * invalid.
	 */
	start = allow_invalidations;
	allow_valid = false;
	allow_relid = relid;

	if (OidIsValid(relid))
	{
		Relation	rel = table_open(relid, AccessShareLock);
		AttrNumber	a_id = ms_attnum(rel, "id");
		AttrNumber	a_from = ms_attnum(rel, "from_domain");
		AttrNumber	a_to = ms_attnum(rel, "to_domain");
		AttrNumber	a_rel = ms_attnum(rel, "rel");
		AttrNumber	a_expires = ms_attnum(rel, "expires_at");
		TupleDesc	desc = RelationGetDescr(rel);
		SysScanDesc scan;
		HeapTuple	tup;
		int			cap = 16;

		entries = MemoryContextAlloc(allow_context, sizeof(MsAllowEntry) * cap);
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			MsAllowEntry *e;
			bool		isnull;
			Datum		d;

			if (count == cap)
			{
				cap *= 2;
				entries = repalloc(entries, sizeof(MsAllowEntry) * cap);
			}
			e = &entries[count];
			e->id = DatumGetInt64(heap_getattr(tup, a_id, desc, &isnull));
			d = heap_getattr(tup, a_from, desc, &isnull);
			e->from_domain = isnull ? MS_NO_DOMAIN :
				ms_domain_id(TextDatumGetCString(d), true);
			d = heap_getattr(tup, a_to, desc, &isnull);
			e->to_domain = isnull ? MS_NO_DOMAIN :
				ms_domain_id(TextDatumGetCString(d), true);
			d = heap_getattr(tup, a_rel, desc, &isnull);
			e->rel = isnull ? InvalidOid : DatumGetObjectId(d);
			d = heap_getattr(tup, a_expires, desc, &isnull);
			if (isnull)
				TIMESTAMP_NOEND(e->expires_at);
			else
				e->expires_at = DatumGetTimestampTz(d);
			count++;
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}

	if (allow_entries)
		pfree(allow_entries);
	allow_entries = entries;
	allow_count = count;
	allow_valid = (allow_invalidations == start);
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
 * Whether domain "name" is a row of migration_split.domains of this
 * database (true when the extension is not installed here: nothing to
 * check against).  Read with a fresh catalog snapshot, without SQL; the
 * table is small.  Called on the way to a violation, to tell a service
 * name that is no domain at all, and before a name enters the shared
 * dictionary (monitor_stats.c); never on the hot path.
 */
bool
ms_domain_exists(const char *name)
{
	Oid			nspid = get_namespace_oid(MS_SCHEMA_NAME, true);
	Oid			relid;
	Relation	rel;
	AttrNumber	a_domain;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		exists = false;

	if (!OidIsValid(nspid))
		return true;
	relid = get_relname_relid("domains", nspid);
	if (!OidIsValid(relid))
		return true;
	rel = table_open(relid, AccessShareLock);
	a_domain = ms_attnum(rel, "domain");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (!exists && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, a_domain, RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			char	   *s = TextDatumGetCString(d);

			exists = (strcmp(s, name) == 0);
			pfree(s);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
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
ms_enforce_check(List *rtable, const MsDomainId *domains, int ndomains,
				 const char *service_name, int level)
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

	if (strcmp(cached_service, service_name) != 0)
	{
		strlcpy(cached_service, service_name, NAMEDATALEN);
		cached_service_id = ms_domain_id(cached_service, true);
	}
	service = cached_service_id;

	for (i = 0; i < ndomains; i++)
		if (domains[i] != service)
			break;
	if (i == ndomains)
		return;

	/* a crossing: make sure the allowlist is current */
	AcceptInvalidationMessages();
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
			ereport(level == MS_ENFORCE_ERROR ? ERROR : WARNING,
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
			ereport(level == MS_ENFORCE_ERROR ? ERROR : WARNING,
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

/* Add relid (and, when inh, its inheritors) to *relids once. */
static List *
ms_add_rel(List *relids, Oid relid, bool inh)
{
	if (!OidIsValid(relid))
		return relids;
	if (inh && has_subclass(relid))
	{
		List	   *all = find_all_inheritors(relid, NoLock, NULL);

		relids = list_concat_unique_oid(relids, all);
		list_free(all);
	}
	else
		relids = list_append_unique_oid(relids, relid);
	return relids;
}

/*
 * The relations a view reads (with their inheritors), through the views it
 * reads, as LOCK of a view locks them.  Read from the dependencies of the
 * view's rule, without locking the view: LOCK ... NOWAIT must not wait
 * here.  Relations of subqueries count too, which LOCK leaves alone:
 * stricter, never looser.
 */
static List *
ms_add_view_relations(List *relids, Oid viewid, int depth)
{
	Oid			ruleid = get_rewrite_oid(viewid, ViewSelectRuleName, true);
	Relation	deprel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *found = NIL;
	ListCell   *lc;

	if (!OidIsValid(ruleid))
		return relids;
	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_classid,
				BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RewriteRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_objid,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ruleid));
	scan = systable_beginscan(deprel, DependDependerIndexId, true,
							  NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->refclassid == RelationRelationId && dep->refobjid != viewid)
			found = list_append_unique_oid(found, dep->refobjid);
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);

	foreach(lc, found)
	{
		Oid			relid = lfirst_oid(lc);

		if (get_rel_relkind(relid) == RELKIND_VIEW)
		{
			/* a cycle of views cannot be created; this bounds a deep nest */
			if (depth < 64 && !list_member_oid(relids, relid))
			{
				relids = lappend_oid(relids, relid);
				relids = ms_add_view_relations(relids, relid, depth + 1);
			}
		}
		else
			relids = ms_add_rel(relids, relid, true);
	}
	list_free(found);
	return relids;
}

/*
 * The tables (plain, partitioned, foreign) whose pg_class column attnum
 * (relnamespace or relowner) is value: what DROP SCHEMA ... CASCADE or
 * DROP OWNED drops with them.  A scan of pg_class without an index: those
 * statements are rare.
 */
static List *
ms_add_tables_by(List *relids, AttrNumber attnum, Oid value)
{
	Relation	classrel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	if (!OidIsValid(value))
		return relids;
	classrel = table_open(RelationRelationId, AccessShareLock);
	ScanKeyInit(&key, attnum, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(value));
	scan = systable_beginscan(classrel, InvalidOid, false, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_class cls = (Form_pg_class) GETSTRUCT(tup);

		if (cls->relkind == RELKIND_RELATION ||
			cls->relkind == RELKIND_PARTITIONED_TABLE ||
			cls->relkind == RELKIND_FOREIGN_TABLE)
			relids = list_append_unique_oid(relids, cls->oid);
	}
	systable_endscan(scan);
	table_close(classrel, AccessShareLock);
	return relids;
}

/* The relation a RangeVar names (no lock, no error), with inheritors. */
static List *
ms_add_rangevar(List *relids, RangeVar *rv)
{
	if (rv == NULL)
		return relids;
	return ms_add_rel(relids, RangeVarGetRelid(rv, NoLock, true), rv->inh);
}

/*
 * The tables the foreign keys among constraints (Constraint nodes of a
 * CREATE TABLE, of its columns or of ALTER TABLE ... ADD) reference: a new
 * foreign key ties its table to them, and its checks read them.
 */
static List *
ms_add_referenced(List *relids, List *constraints)
{
	ListCell   *lc;

	foreach(lc, constraints)
	{
		Node	   *node = lfirst(lc);

		if (IsA(node, Constraint) &&
			((Constraint *) node)->contype == CONSTR_FOREIGN)
			relids = ms_add_rangevar(relids, ((Constraint *) node)->pktable);
	}
	return relids;
}

/*
 * The tables a utility statement reads or changes without going through
 * the executor; NIL for statements that reach no table that way.
 */
static List *
ms_utility_relations(Node *stmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_CopyStmt:
			/* COPY (query) TO runs its query through the executor */
			relids = ms_add_rangevar(relids, ((CopyStmt *) stmt)->relation);
			break;
		case T_TruncateStmt:
			{
				TruncateStmt *ts = (TruncateStmt *) stmt;

				foreach(lc, ts->relations)
					relids = ms_add_rangevar(relids, lfirst_node(RangeVar, lc));
				/* CASCADE also empties the tables that reference them */
				if (ts->behavior == DROP_CASCADE)
				{
					int			n;

					do
					{
						List	   *refs;
						ListCell   *rc;

						n = list_length(relids);
						refs = heap_truncate_find_FKs(relids);
						foreach(rc, refs)
							relids = ms_add_rel(relids, lfirst_oid(rc), true);
					} while (list_length(relids) > n);
				}
			}
			break;
		case T_LockStmt:
			foreach(lc, ((LockStmt *) stmt)->relations)
			{
				RangeVar   *rv = lfirst_node(RangeVar, lc);
				Oid			relid = RangeVarGetRelid(rv, NoLock, true);

				/* LOCK of a view locks the tables it reads */
				if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_VIEW)
					relids = ms_add_view_relations(relids, relid, 0);
				else
					relids = ms_add_rel(relids, relid, rv->inh);
			}
			break;
		case T_CreateStmt:
			/* the tables its foreign keys reference (CREATE TABLE AS and
			 * SELECT INTO go through the executor) */
			foreach(lc, ((CreateStmt *) stmt)->tableElts)
			{
				Node	   *elt = lfirst(lc);

				if (IsA(elt, ColumnDef))
					relids = ms_add_referenced(relids,
											   ((ColumnDef *) elt)->constraints);
			}
			relids = ms_add_referenced(relids,
									   ((CreateStmt *) stmt)->constraints);
			relids = ms_add_referenced(relids,
									   ((CreateStmt *) stmt)->tableElts);
			/* a partition or child of another table joins its hierarchy */
			foreach(lc, ((CreateStmt *) stmt)->inhRelations)
				relids = ms_add_rangevar(relids, lfirst_node(RangeVar, lc));
			break;
		case T_AlterTableStmt:
			relids = ms_add_rangevar(relids, ((AlterTableStmt *) stmt)->relation);
			/*
			 * the tables attached, detached, inherited or disinherited, and
			 * those new foreign keys reference
			 */
			foreach(lc, ((AlterTableStmt *) stmt)->cmds)
			{
				AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

				if (cmd->subtype == AT_AddConstraint && cmd->def != NULL)
					relids = ms_add_referenced(relids, list_make1(cmd->def));
				else if (cmd->subtype == AT_AddColumn && cmd->def != NULL &&
						 IsA(cmd->def, ColumnDef))
					relids = ms_add_referenced(relids,
											   ((ColumnDef *) cmd->def)->constraints);
				else if ((cmd->subtype == AT_AttachPartition ||
					 cmd->subtype == AT_DetachPartition) &&
					cmd->def != NULL && IsA(cmd->def, PartitionCmd))
					relids = ms_add_rangevar(relids,
											 ((PartitionCmd *) cmd->def)->name);
				else if ((cmd->subtype == AT_AddInherit ||
						  cmd->subtype == AT_DropInherit) &&
						 cmd->def != NULL && IsA(cmd->def, RangeVar))
					relids = ms_add_rangevar(relids, (RangeVar *) cmd->def);
			}
			break;
		case T_RenameStmt:
			relids = ms_add_rangevar(relids, ((RenameStmt *) stmt)->relation);
			break;
		case T_AlterObjectSchemaStmt:
			/* ALTER TABLE ... SET SCHEMA */
			if (((AlterObjectSchemaStmt *) stmt)->objectType == OBJECT_TABLE ||
				((AlterObjectSchemaStmt *) stmt)->objectType == OBJECT_FOREIGN_TABLE)
				relids = ms_add_rangevar(relids,
										 ((AlterObjectSchemaStmt *) stmt)->relation);
			break;
		case T_IndexStmt:
			relids = ms_add_rangevar(relids, ((IndexStmt *) stmt)->relation);
			break;
		case T_CreateTrigStmt:
			relids = ms_add_rangevar(relids, ((CreateTrigStmt *) stmt)->relation);
			break;
		case T_RuleStmt:
			relids = ms_add_rangevar(relids, ((RuleStmt *) stmt)->relation);
			break;
		case T_ClusterStmt:
			relids = ms_add_rangevar(relids, ((ClusterStmt *) stmt)->relation);
			break;
		case T_VacuumStmt:
			foreach(lc, ((VacuumStmt *) stmt)->rels)
				relids = ms_add_rangevar(relids,
										 lfirst_node(VacuumRelation, lc)->relation);
			break;
		case T_DropStmt:
			{
				DropStmt   *ds = (DropStmt *) stmt;

				/* DROP SCHEMA ... CASCADE drops every table in it */
				if (ds->removeType == OBJECT_SCHEMA &&
					ds->behavior == DROP_CASCADE)
				{
					foreach(lc, ds->objects)
						relids = ms_add_tables_by(relids,
												  Anum_pg_class_relnamespace,
												  get_namespace_oid(strVal(lfirst(lc)),
																	true));
					break;
				}
				if (ds->removeType != OBJECT_TABLE)
					break;
				foreach(lc, ds->objects)
					relids = ms_add_rel(relids,
										RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)),
														 NoLock, true),
										true);
			}
			break;
		case T_DropOwnedStmt:
			/* DROP OWNED drops the tables of the roles, whatever they are */
			foreach(lc, ((DropOwnedStmt *) stmt)->roles)
				relids = ms_add_tables_by(relids, Anum_pg_class_relowner,
										  get_rolespec_oid(lfirst(lc), true));
			break;
		default:
			break;
	}
	return relids;
}

/*
 * Check a utility statement of the session's service against domain
 * boundaries, before it runs (ProcessUtility_hook).
 */
void
ms_enforce_utility(Node *stmt, const char *service_name, int level)
{
	List	   *relids = ms_utility_relations(stmt);
	List	   *rtable = NIL;
	MsDomainId	domains[MS_ENTRY_DOMAINS];
	int			ndomains = 0;
	ListCell   *lc;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		MsDomainId	d = ms_relation_domain(relid);
		RangeTblEntry *rte;
		int			i;

		if (d == MS_NO_DOMAIN)
			continue;
		ms_enforce_drop_seen(relid);
		rte = makeNode(RangeTblEntry);
		rte->rtekind = RTE_RELATION;
		rte->relid = relid;
		rte->relkind = get_rel_relkind(relid);
		rtable = lappend(rtable, rte);
		for (i = 0; i < ndomains; i++)
			if (domains[i] == d)
				break;
		if (i == ndomains && ndomains < MS_ENTRY_DOMAINS)
			domains[ndomains++] = d;
	}
	if (ndomains > 0)
		ms_enforce_check(rtable, domains, ndomains, service_name, level);
	list_free_deep(rtable);
	list_free(relids);
}

/*
 * Tables already checked in the current top-level utility statement: the
 * ones it names (ms_enforce_utility) and those the object access hook met
 * while it dropped objects.  A DROP of another domain's table removes its
 * indexes, constraints and triggers too; in warn mode one warning per
 * table is enough.  Reset when a top-level utility statement starts; when
 * full, later tables are warned about again, which is harmless.
 */
static Oid	drop_seen[64];
static int	ndrop_seen = 0;

/* A top-level utility statement starts (monitor.c). */
void
ms_enforce_drop_reset(void)
{
	ndrop_seen = 0;
}

/*
 * Remember that a table was checked in this statement; false when it
 * already was.
 */
static bool
ms_enforce_drop_seen(Oid relid)
{
	int			i;

	for (i = 0; i < ndrop_seen; i++)
		if (drop_seen[i] == relid)
			return false;
	if (ndrop_seen < (int) lengthof(drop_seen))
		drop_seen[ndrop_seen++] = relid;
	return true;
}

/*
 * The oid column relcol of the row of catalog classId whose oid is
 * objectId (found as PostgreSQL's object addresses find it); InvalidOid
 * when there is no such row or when its boolean column internalcol (unless
 * InvalidAttrNumber) is true.
 */
static Oid
ms_catalog_row_relid(Oid classId, Oid objectId, AttrNumber relcol,
					 AttrNumber internalcol)
{
	Relation	rel = table_open(classId, AccessShareLock);
	HeapTuple	tup = get_catalog_object_by_oid(rel, get_object_attnum_oid(classId),
												objectId);
	Oid			result = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		Datum		d;

		if (internalcol == InvalidAttrNumber ||
			!DatumGetBool(heap_getattr(tup, internalcol, desc, &isnull)))
		{
			d = heap_getattr(tup, relcol, desc, &isnull);
			if (!isnull)
				result = DatumGetObjectId(d);
		}
	}
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * The table an object about to be dropped is part of, InvalidOid for
 * objects that are not part of a table (types, functions, schemas, ...):
 * the table itself, or one of its columns, an index, a column default, a
 * constraint, a rule, a policy, a trigger.  The internal triggers of a
 * foreign key go with their constraint (whose table is the referencing
 * one): dropping a table of one's own that references another domain's
 * table removes triggers on that table, and is no crossing.  A TOAST table
 * goes with its table.
 */
static Oid
ms_dropped_object_table(Oid classId, Oid objectId)
{
	switch (classId)
	{
		case RelationRelationId:
			switch (get_rel_relkind(objectId))
			{
				case RELKIND_INDEX:
				case RELKIND_PARTITIONED_INDEX:
					return IndexGetRelation(objectId, true);
				case RELKIND_TOASTVALUE:
				case '\0':
					return InvalidOid;
				default:
					return objectId;
			}
		case AttrDefaultRelationId:
			return GetAttrDefaultColumnAddress(objectId).objectId;
		case ConstraintRelationId:
			/* conrelid is 0 for a constraint of a domain type */
			return ms_catalog_row_relid(ConstraintRelationId, objectId,
										Anum_pg_constraint_conrelid,
										InvalidAttrNumber);
		case TriggerRelationId:
			return ms_catalog_row_relid(TriggerRelationId, objectId,
										Anum_pg_trigger_tgrelid,
										Anum_pg_trigger_tgisinternal);
		case RewriteRelationId:
			return ms_catalog_row_relid(RewriteRelationId, objectId,
										Anum_pg_rewrite_ev_class,
										InvalidAttrNumber);
		case PolicyRelationId:
			return ms_catalog_row_relid(PolicyRelationId, objectId,
										Anum_pg_policy_polrelid,
										InvalidAttrNumber);
		default:
			return InvalidOid;
	}
}

/*
 * An object is about to be dropped (the object access hook, OAT_DROP),
 * whether the statement named it or CASCADE reached it: in a session
 * acting for a service under enforcement, an object that is part of
 * another domain's table is a crossing, checked as a statement that
 * reaches that table is (the allowlist applies).  DROP TYPE ... CASCADE
 * drops the columns of that type in every table, whoever owns them.
 */
void
ms_enforce_drop(Oid classId, Oid objectId)
{
	const char *service;
	int			level;
	Oid			relid;
	MsDomainId	domain;
	RangeTblEntry *rte;
	List	   *rtable;

	if (!ms_stats_available())
		return;
	ms_service_effective(&service, &level);
	if (level == MS_ENFORCE_OFF || service[0] == '\0')
		return;

	relid = ms_dropped_object_table(classId, objectId);
	if (!OidIsValid(relid))
		return;
	domain = ms_relation_domain(relid);
	if (domain == MS_NO_DOMAIN || !ms_enforce_drop_seen(relid))
		return;

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = get_rel_relkind(relid);
	rtable = list_make1(rte);
	ms_enforce_check(rtable, &domain, 1, service, level);
	list_free_deep(rtable);
}

/*
 * The first parent of a relation (partition parent or inheritance parent
 * with the lowest inhseqno), InvalidOid when it has none: the relation it
 * follows while it has no tag of its own.
 */
static Oid
ms_first_parent(Oid relid)
{
	Relation	rel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			parent = InvalidOid;

	rel = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_inherits_inhrelid,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_inherits_inhseqno,
				BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(1));
	scan = systable_beginscan(rel, InheritsRelidSeqnoIndexId, true,
							  NULL, 2, key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
		parent = ((Form_pg_inherits) GETSTRUCT(tup))->inhparent;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return parent;
}

/*
 * Report a change of the tag of a table of another domain (see
 * ms_enforce_tag_change).
 */
static void
ms_enforce_tag_violation(const char *service_name, int level, Oid relid,
						 const char *domain)
{
	char	   *table = ms_qualified_name(relid);
	MsDomainSet set;
	MsDomainId	ids[2];
	int			i;

	ids[0] = ms_domain_id(service_name, true);
	ids[1] = ms_domain_id(domain, true);
	memset(&set, 0, sizeof(set));
	for (i = 0; i < 2; i++)
	{
		uint16		id = ms_shared_domain(ids[i]);

		if (id != 0)
			set.ids[set.count++] = id;
	}
	ms_stats_note_violation(&set);

	ereport(level == MS_ENFORCE_ERROR ? ERROR : WARNING,
			(errcode(ERRCODE_MS_CROSS_DOMAIN_ACCESS),
			 errmsg("service \"%s\" must not change the domain of table \"%s\" of domain \"%s\"",
					service_name, table, domain),
			 errdetail("Table \"%s\" is owned by domain \"%s\", not by \"%s\".",
					   table, domain, service_name),
			 errhint("Superusers and members of migration_split_admin acting for no service can move a table to another domain.")));
}

/*
 * A change of migration_split.ownership (AFTER ROW trigger, ownership.c)
 * in a session acting for a service under enforcement.  Moving or removing
 * the tag of another domain's table, or giving a table that follows
 * another domain (a partition, an inheritance child) a tag of its own,
 * would take the table out of that domain and past every check above: it
 * is a violation, as reaching the table is.  old_rel and old_domain are
 * those of the old row (InvalidOid and NULL for an INSERT), new_rel that of
 * the new row (InvalidOid for a DELETE).  A tag removed because its table
 * was dropped (the sql_drop event trigger) is none: the DROP was checked.
 * Nothing is enforced when the library is not preloaded.
 */
void
ms_enforce_tag_change(Oid old_rel, const char *old_domain, Oid new_rel)
{
	const char *service;
	int			level;

	if (!ms_stats_available())
		return;
	ms_service_effective(&service, &level);
	if (level == MS_ENFORCE_OFF || service[0] == '\0')
		return;

	if (OidIsValid(old_rel) && old_domain != NULL &&
		strcmp(old_domain, service) != 0 &&
		SearchSysCacheExists1(RELOID, ObjectIdGetDatum(old_rel)))
		ms_enforce_tag_violation(service, level, old_rel, old_domain);

	if (OidIsValid(new_rel) && new_rel != old_rel)
	{
		Oid			parent = ms_first_parent(new_rel);
		MsDomainId	followed = OidIsValid(parent) ?
			ms_relation_domain(parent) : MS_NO_DOMAIN;

		if (followed != MS_NO_DOMAIN &&
			strcmp(ms_domain_name(followed), service) != 0)
			ms_enforce_tag_violation(service, level, new_rel,
									 ms_domain_name(followed));
	}
}

/*
 * Rows written into a partitioned table are routed to its partitions,
 * which the executor opens only then: they are not in the range table at
 * executor start.  A partition keeps a tag of its own when a tagged table
 * is attached (see ownership.sql), so a service could write another
 * domain's table through a partitioned table of its own.  Check the
 * partitions of the statement's partitioned result relations (for UPDATE
 * and MERGE, which can move rows to a partition the plan pruned, the
 * partitioned table they name) that belong to another domain than their
 * partitioned table.  The partitions of the
 * first level come from the relcache (the result relation is locked), the
 * deeper ones from pg_inherits.
 */
void
ms_enforce_check_routing(PlannedStmt *ps, const char *service_name, int level)
{
	List	   *rtable = NIL;
	List	   *targets = list_copy(ps->resultRelations);
	MsDomainId	domains[MS_ENTRY_DOMAINS];
	int			ndomains = 0;
	ListCell   *lc;

	/* UPDATE and MERGE list the partitions, and name the root apart */
	if (IsA(ps->planTree, ModifyTable) &&
		((ModifyTable *) ps->planTree)->rootRelation > 0)
		targets = list_append_unique_int(targets,
										 ((ModifyTable *) ps->planTree)->rootRelation);

	foreach(lc, targets)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), ps->rtable);
		MsDomainId	root_domain;
		Relation	rel;
		PartitionDesc pd;
		List	   *parts = NIL;
		ListCell   *pc;
		int			i;

		if (rte->relkind != RELKIND_PARTITIONED_TABLE)
			continue;
		root_domain = ms_relation_domain(rte->relid);
		rel = table_open(rte->relid, NoLock);
		pd = RelationGetPartitionDesc(rel, true);
		for (i = 0; i < pd->nparts; i++)
		{
			if (pd->is_leaf[i])
				parts = lappend_oid(parts, pd->oids[i]);
			else
				parts = list_concat(parts,
									find_all_inheritors(pd->oids[i], NoLock, NULL));
		}
		table_close(rel, NoLock);

		foreach(pc, parts)
		{
			Oid			relid = lfirst_oid(pc);
			MsDomainId	d = ms_relation_domain(relid);
			RangeTblEntry *prte;
			int			j;

			if (d == MS_NO_DOMAIN || d == root_domain)
				continue;
			prte = makeNode(RangeTblEntry);
			prte->rtekind = RTE_RELATION;
			prte->relid = relid;
			prte->relkind = get_rel_relkind(relid);
			rtable = lappend(rtable, prte);
			for (j = 0; j < ndomains; j++)
				if (domains[j] == d)
					break;
			if (j == ndomains && ndomains < MS_ENTRY_DOMAINS)
				domains[ndomains++] = d;
		}
		list_free(parts);
	}
	list_free(targets);
	if (ndomains > 0)
		ms_enforce_check(rtable, domains, ndomains, service_name, level);
	list_free_deep(rtable);
}
