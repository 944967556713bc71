/*-------------------------------------------------------------------------
 *
 * loose_foreign_key_tree.c
 *		The partition tree of a loosened key's referenced table and its
 *		queue triggers, as the catalog shows them now.
 *
 * sync_loose_foreign_key_triggers() (src/sql/boundaries.sql) puts the
 * queue triggers of a loosened key on every member of the referenced
 * table's partition tree.  In REPEATABLE READ or SERIALIZABLE, the
 * transaction snapshot that its SQL queries read pg_class and pg_trigger
 * with may predate a partition or the triggers that another session
 * created and committed meanwhile: a partition created after the snapshot
 * of a session loosening a key, or a key loosened after the snapshot of a
 * session creating a partition, left the new partition without triggers
 * (a delete made directly on it was not queued).
 *
 * This function lists the tree with the catalog snapshot instead, as the
 * DDL that follows sees it: the members are found through pg_inherits
 * (find_all_inheritors(), which locks each member AccessShareLock as
 * pg_partition_tree() does, and skips one dropped meanwhile), their kind
 * through the syscache, their triggers by an index scan of pg_trigger
 * with the catalog snapshot.  It reads no user data.
 *
 * It also says which members the current transaction made partitions
 * (their pg_inherits row is its own): the event trigger gives the queue
 * triggers only to those, never to the members of a tree some of which
 * lack them because pg_restore -j is still creating the dump's triggers
 * in other sessions (its CREATE TRIGGER then failed: already exists).
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
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* the trigger that marks a member as having the queue triggers */
#define MS_QUEUE_TRIGGER_NAME "migration_split_loose_fk_delete"

PG_FUNCTION_INFO_V1(ms_loose_foreign_key_tree);

/*
 * Whether relation relid has a trigger named MS_QUEUE_TRIGGER_NAME, read
 * with the catalog snapshot (systable_beginscan() with a NULL snapshot).
 */
static bool
ms_has_queue_trigger(Relation tgrel, Oid relid)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	bool		found;

	ScanKeyInit(&keys[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(MS_QUEUE_TRIGGER_NAME));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 2, keys);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	return found;
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
 * loose_foreign_key_tree(rel regclass) returns the members of the
 * partition tree rel belongs to (from its root, rel alone when it is in
 * none), each with its relkind, whether it has the queue triggers and
 * whether the current transaction made it a partition (attached_now), as
 * the catalog shows them now, not as the transaction snapshot does.  The
 * root is locked AccessShareLock, then its members (find_all_inheritors()
 * skips one dropped before it got its lock); no row when rel or its root
 * was dropped meanwhile.
 */
Datum
ms_loose_foreign_key_tree(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	List	   *members;
	Oid			member;
	Relation	tgrel;
	Relation	inhrel;
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
	values[2] = BoolGetDatum(ms_has_queue_trigger(tgrel, member));
	table_close(tgrel, AccessShareLock);
	inhrel = table_open(InheritsRelationId, AccessShareLock);
	values[3] = BoolGetDatum(ms_attached_now(inhrel, member));
	table_close(inhrel, AccessShareLock);
	SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc,
															   values, nulls)));
}
