/*-------------------------------------------------------------------------
 *
 * catalog_now.c
 *		A relation's inheritance tree and its triggers as the catalog shows
 *		them now, not as the transaction snapshot does.
 *
 * The event triggers and functions that give the members of a tree the
 * triggers its other members have (the queue triggers of a loosened key,
 * sync_loose_foreign_key_triggers() in src/sql/boundaries.sql; the freeze
 * triggers of a frozen domain, freeze_new_tables() in
 * src/sql/extraction.sql) read pg_class, pg_inherits and pg_trigger.  In
 * REPEATABLE READ or SERIALIZABLE, an SQL query reads them with the
 * transaction snapshot, which may predate a partition or the triggers
 * another session created and committed since: a partition created after
 * the snapshot of a session loosening a key, or a key loosened (a domain
 * frozen) after the snapshot of a session creating a partition, left the
 * new partition without the triggers (a delete made directly on it was
 * not queued; a write to it was not refused).
 *
 * These functions read the catalog with the catalog snapshot instead, as
 * the DDL that follows sees it: the members are found through pg_inherits
 * (find_all_inheritors(), which locks each member AccessShareLock as
 * pg_partition_tree() does, and skips one dropped meanwhile), their kind
 * through the syscache, their triggers by an index scan of pg_trigger.
 * They read no user data.
 *
 * relation_tree_now() also says which members the current transaction
 * made partitions or children (their pg_inherits row is its own): the
 * event triggers give triggers only to those, never to the members of a
 * tree some of which lack them because pg_restore -j is still creating
 * the dump's triggers in other sessions (its CREATE TRIGGER then failed:
 * already exists).
 *
 * Memory: the member list is built in the multi-call context; each call
 * returns one row.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(ms_relation_tree_now);
PG_FUNCTION_INFO_V1(ms_trigger_args_now);

/*
 * The tuple of relation relid's trigger named tgname, read with the
 * catalog snapshot (systable_beginscan() with a NULL snapshot), copied;
 * NULL when there is none.
 */
static HeapTuple
ms_find_trigger(Relation tgrel, Oid relid, const char *tgname)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyInit(&keys[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(tgname));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 2, keys);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		tuple = heap_copytuple(tuple);
	systable_endscan(scan);
	return tuple;
}

/*
 * Whether the pg_inherits row that makes relation relid a partition (or an
 * inheritance child) was written by the current transaction: the member
 * was created as a partition or attached by it.  Read with the catalog
 * snapshot.
 */
static bool
ms_attached_now(Relation inhrel, Oid relid)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		now = false;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(inhrel, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data)))
			now = true;
	}
	systable_endscan(scan);
	return now;
}

/*
 * relation_tree_now(rel regclass, trigger name) returns the members of the
 * partition tree rel belongs to (from its root; rel and its inheritance
 * children when it is no partition), each with its relkind, whether it
 * has a trigger of that name (has_trigger) and whether the current
 * transaction made it a partition or child (attached_now), as the catalog
 * shows them now, not as the transaction snapshot does.  The
 * root is locked AccessShareLock, then its members (find_all_inheritors()
 * skips one dropped before it got its lock); no row when rel or its root
 * was dropped meanwhile.
 */
Datum
ms_relation_tree_now(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	List	   *members;
	Oid			member;
	Relation	tgrel;
	Relation	inhrel;
	HeapTuple	trigger;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (SRF_IS_FIRSTCALL())
	{
		Oid			relid = PG_GETARG_OID(0);
		MemoryContext oldcontext;
		TupleDesc	tupdesc;
		Oid			root = relid;

		funcctx = SRF_FIRSTCALL_INIT();
		oldcontext = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);

		if (get_rel_relispartition(relid))
			root = llast_oid(get_partition_ancestors(relid));
		LockRelationOid(root, AccessShareLock);
		if (get_rel_relkind(root) == '\0')
			members = NIL;
		else
			members = find_all_inheritors(root, AccessShareLock, NULL);
		funcctx->user_fctx = members;
		MemoryContextSwitchTo(oldcontext);
	}

	funcctx = SRF_PERCALL_SETUP();
	members = (List *) funcctx->user_fctx;
	if (funcctx->call_cntr >= (uint64) list_length(members))
		SRF_RETURN_DONE(funcctx);

	member = list_nth_oid(members, (int) funcctx->call_cntr);
	tgrel = table_open(TriggerRelationId, AccessShareLock);
	values[0] = ObjectIdGetDatum(member);
	values[1] = CharGetDatum(get_rel_relkind(member));
	trigger = ms_find_trigger(tgrel, member, NameStr(*PG_GETARG_NAME(1)));
	values[2] = BoolGetDatum(trigger != NULL);
	if (trigger)
		heap_freetuple(trigger);
	table_close(tgrel, AccessShareLock);
	inhrel = table_open(InheritsRelationId, AccessShareLock);
	values[3] = BoolGetDatum(ms_attached_now(inhrel, member));
	table_close(inhrel, AccessShareLock);
	SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc,
															   values, nulls)));
}

/*
 * trigger_args_now(rel regclass, trigger name) returns the arguments that
 * rel's trigger of that name passes to its function (pg_trigger.tgargs),
 * read with the catalog snapshot; NULL when rel has no such trigger.
 */
Datum
ms_trigger_args_now(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	tgrel;
	HeapTuple	tuple;
	Form_pg_trigger trig;
	ArrayBuildState *astate = NULL;
	bool		isnull;
	Datum		d;
	const char *p;
	int			i;

	tgrel = table_open(TriggerRelationId, AccessShareLock);
	tuple = ms_find_trigger(tgrel, relid, NameStr(*PG_GETARG_NAME(1)));
	if (tuple == NULL)
	{
		table_close(tgrel, AccessShareLock);
		PG_RETURN_NULL();
	}
	trig = (Form_pg_trigger) GETSTRUCT(tuple);
	astate = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	d = heap_getattr(tuple, Anum_pg_trigger_tgargs, RelationGetDescr(tgrel), &isnull);
	p = isnull ? NULL : (const char *) VARDATA_ANY(DatumGetByteaPP(d));
	/* tgargs: tgnargs strings, each ended by a zero byte */
	for (i = 0; i < trig->tgnargs && p != NULL; i++)
	{
		astate = accumArrayResult(astate, CStringGetTextDatum(p), false,
								  TEXTOID, CurrentMemoryContext);
		p += strlen(p) + 1;
	}
	table_close(tgrel, AccessShareLock);
	PG_RETURN_DATUM(makeArrayResult(astate, CurrentMemoryContext));
}
