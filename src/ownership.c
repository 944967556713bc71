/*-------------------------------------------------------------------------
 *
 * ownership.c
 *		C support for the ownership catalog: the trigger that tells every
 *		backend, and every decoding walsender, that a tag changed.
 *
 * The ownership functions themselves (create_domain, assign_table, ...) are
 * SQL in the install script; this file holds what SQL cannot do.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "migration_split.h"
#include "monitor.h"

PG_FUNCTION_INFO_V1(ms_ownership_changed);
PG_FUNCTION_INFO_V1(ms_table_domain);
PG_FUNCTION_INFO_V1(ms_lock_table_for_tagging);
PG_FUNCTION_INFO_V1(ms_invalidate_relation);

static void invalidate_tree(Oid relid);
static void invalidate_with_dependents(Oid relid);

/*
 * Queue a relcache invalidation for a table, its TOAST table and its owned
 * sequences: all of them take their domain from the table.
 */
static void
invalidate_with_dependents(Oid relid)
{
	HeapTuple	tuple;
	Oid			toastrelid = InvalidOid;
	List	   *seqs;
	ListCell   *lc;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return;
	toastrelid = ((Form_pg_class) GETSTRUCT(tuple))->reltoastrelid;
	ReleaseSysCache(tuple);

	CacheInvalidateRelcacheByRelid(relid);
	if (OidIsValid(toastrelid))
		CacheInvalidateRelcacheByRelid(toastrelid);

	seqs = getOwnedSequences(relid);
	foreach(lc, seqs)
		CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
	list_free(seqs);
}

/*
 * Queue relcache invalidations for relid and every relation inheriting
 * from it (with their dependents), so that cached "owning domain" answers
 * for the whole tree are recomputed once this transaction commits.  A relation that no longer
 * exists (the tag is removed because the table was dropped) needs nothing.
 */
static void
invalidate_tree(Oid relid)
{
	List	   *tree;
	ListCell   *lc;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;

	tree = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, tree)
		invalidate_with_dependents(lfirst_oid(lc));
	list_free(tree);
}

/*
 * AFTER ROW trigger on migration_split.ownership: invalidate the cached
 * answers of the tables whose tag changed, and have the monitor refuse a
 * service's change of the tag of another domain's table
 * (ms_enforce_tag_change, monitor_enforce.c).
 */
Datum
ms_ownership_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	bool		isnull;
	Datum		d;
	Oid			trig_rel = InvalidOid;	/* rel of the inserted or old row */
	char	   *trig_domain = NULL; /* its domain */
	Oid			new_rel = InvalidOid;	/* rel of the new row of an UPDATE */

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "ms_ownership_changed: not called by trigger manager");
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "ms_ownership_changed: must be fired after row");

	tupdesc = RelationGetDescr(trigdata->tg_relation);

	if (trigdata->tg_trigtuple != NULL)
	{
		d = heap_getattr(trigdata->tg_trigtuple, 1, tupdesc, &isnull);
		if (!isnull)
		{
			trig_rel = DatumGetObjectId(d);
			invalidate_tree(trig_rel);
		}
		d = heap_getattr(trigdata->tg_trigtuple, 2, tupdesc, &isnull);
		if (!isnull)
			trig_domain = TextDatumGetCString(d);
	}
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		trigdata->tg_newtuple != NULL)
	{
		d = heap_getattr(trigdata->tg_newtuple, 1, tupdesc, &isnull);
		if (!isnull)
		{
			new_rel = DatumGetObjectId(d);
			invalidate_tree(new_rel);
		}
	}

	/* a service may not take a table out of another domain (monitor) */
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ms_enforce_tag_change(InvalidOid, NULL, trig_rel);
	else
		ms_enforce_tag_change(trig_rel, trig_domain, new_rel);

	return PointerGetDatum(NULL);
}

/*
 * migration_split.table_domain(regclass): the effective domain of any
 * relation (explicit tag, partition or inheritance root, table of a TOAST
 * table or owned sequence), answered from the same cache the hot paths use.
 */
Datum
ms_table_domain(PG_FUNCTION_ARGS)
{
	Oid			relid;
	MsDomainId	domain;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"rel\" must not be null")));
	relid = PG_GETARG_OID(0);

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

	domain = ms_relation_domain(relid);
	if (domain == MS_NO_DOMAIN)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(ms_domain_name(domain)));
}

/*
 * migration_split.lock_table_for_tagging(oid): before a tag is written,
 * hold AccessShareLock on the table until the end of the transaction so
 * that a concurrent DROP TABLE waits for the tag to commit (and its sql_drop
 * event trigger then removes it) instead of leaving a tag on a dead OID.
 *
 * The lock is taken only when the current user could tag the table (a
 * member of its owner, which includes superusers, or of
 * migration_split_admin), so the function cannot be used to lock arbitrary
 * tables.  Returns true when the table exists and is locked; the caller
 * (the row trigger on the ownership table) raises the proper error
 * otherwise.
 */
Datum
ms_lock_table_for_tagging(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	HeapTuple	tuple;
	Oid			relowner;
	Oid			adminid;
	Oid			userid = GetUserId();

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		PG_RETURN_BOOL(false);
	relowner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);

	adminid = get_role_oid("migration_split_admin", true);
	if (!is_member_of_role(userid, relowner) &&
		!(OidIsValid(adminid) && is_member_of_role(userid, adminid)))
		PG_RETURN_BOOL(false);

	LockRelationOid(relid, AccessShareLock);

	/* The table may have been dropped while we waited for the lock. */
	PG_RETURN_BOOL(SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)));
}

/*
 * migration_split.invalidate_relation(oid): queue a relcache invalidation
 * for a relation whose owning table changed without PostgreSQL invalidating
 * it (ALTER SEQUENCE ... OWNED BY), so that every backend and decoding
 * walsender recomputes its domain once this transaction commits.  Called
 * by a ddl_command_end event trigger.
 */
Datum
ms_invalidate_relation(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		CacheInvalidateRelcacheByRelid(relid);
	PG_RETURN_VOID();
}
