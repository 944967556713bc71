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
#include "catalog/pg_inherits.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "migration_split.h"

PG_FUNCTION_INFO_V1(ms_ownership_changed);

static void invalidate_tree(Oid relid);

/*
 * Queue a relcache invalidation for relid and every relation inheriting
 * from it, so that cached "owning domain" answers for the whole tree are
 * recomputed once this transaction commits.  A relation that no longer
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
	{
		Oid			member = lfirst_oid(lc);

		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(member)))
			CacheInvalidateRelcacheByRelid(member);
	}
	list_free(tree);
}

/*
 * AFTER ROW trigger on migration_split.ownership.
 */
Datum
ms_ownership_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	bool		isnull;
	Datum		d;

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
			invalidate_tree(DatumGetObjectId(d));
	}
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		trigdata->tg_newtuple != NULL)
	{
		d = heap_getattr(trigdata->tg_newtuple, 1, tupdesc, &isnull);
		if (!isnull)
			invalidate_tree(DatumGetObjectId(d));
	}

	return PointerGetDatum(NULL);
}
