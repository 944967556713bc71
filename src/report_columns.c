/*-------------------------------------------------------------------------
 *
 * report_columns.c
 *		column_names() for the static boundary reports: the names of a
 *		relation's columns given by number (a constraint's conkey or
 *		confkey), from a backend-local cache of the user columns of each
 *		relation asked about.
 *
 * cross_domain_foreign_keys and extraction_plan() name the columns of
 * every foreign key they list: on 10,000 tables that is 20,000 lookups of
 * (relation, column number).  Through the syscache each is a pg_attribute
 * index probe and a cache entry holding a copy of the whole pg_attribute
 * row, and in a new session those probes and the memory they fill were
 * half of the first run of cross_domain_foreign_keys.  Here the first
 * lookup of a relation reads all its user columns with one index scan
 * (they are adjacent in the index and usually on one heap page) and keeps
 * only their names; the other lookups of that relation, the referencing
 * and referenced ends of many keys, are hash lookups.
 *
 * Invalidation: any change of pg_attribute (a column added, renamed or
 * dropped, a relation created or dropped) reaches every backend as a
 * syscache invalidation of ATTNUM, whose callback drops the whole cache.
 * A lookup whose catalog read saw an invalidation arrive is answered but
 * not kept.  System columns (attnum < 0) are asked of the syscache.
 *
 * Memory: names live in a context under CacheMemoryContext, one entry per
 * relation asked about (a few bytes per column), until an invalidation.
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
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "migration_split.h"

PG_FUNCTION_INFO_V1(ms_column_names);

/*
 * The user columns of one relation: names[attnum - 1] for attnum 1 ..
 * natts (dropped columns keep their "........pg.dropped.N........" name,
 * as get_attname() returns it); NULL for a number without a row.
 */
typedef struct ColumnNamesEntry
{
	Oid			relid;			/* hash key */
	int			loaded;			/* columns 1 .. loaded were read */
	int			natts;			/* of which the last with a row */
	char	  **names;
} ColumnNamesEntry;

static MemoryContext ColumnNamesContext = NULL;
static HTAB *ColumnNames = NULL;
static bool ColumnNamesCallbackRegistered = false;

/* ATTNUM invalidations received, to tell a read that saw one. */
static uint64 ColumnNamesInvalidations = 0;

/*
 * pg_attribute changed somewhere: forget every relation (the hash value
 * does not say which relation).
 */
static void
column_names_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	ColumnNamesInvalidations++;
	if (ColumnNames != NULL)
	{
		hash_destroy(ColumnNames);
		ColumnNames = NULL;
		MemoryContextReset(ColumnNamesContext);
	}
}

/* Create the hash table, and the context and callback once per backend. */
static void
column_names_setup(void)
{
	HASHCTL		ctl;

	if (ColumnNames != NULL)
		return;
	if (ColumnNamesContext == NULL)
		ColumnNamesContext = AllocSetContextCreate(CacheMemoryContext,
												   "migration_split column names",
												   ALLOCSET_DEFAULT_SIZES);
	if (!ColumnNamesCallbackRegistered)
	{
		CacheRegisterSyscacheCallback(ATTNUM, column_names_invalidate, (Datum) 0);
		ColumnNamesCallbackRegistered = true;
	}
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(ColumnNamesEntry);
	ctl.hcxt = ColumnNamesContext;
	ColumnNames = hash_create("migration_split column names", 1024, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * The user columns 1 .. upto of relid (all of them when it has fewer), read
 * with one range scan of pg_attribute's (attrelid, attnum) index, together
 * with those read before, and kept unless an invalidation arrived while
 * reading.  Only the columns asked for so far are read: a foreign key
 * names one or two of a table's columns, and each row read costs a heap
 * fetch.  The result is valid until the next catalog access.
 */
static ColumnNamesEntry *
column_names_of(Oid relid, int upto)
{
	ColumnNamesEntry *entry;
	ColumnNamesEntry local;
	Relation	attrel;
	SysScanDesc scan;
	ScanKeyData key[3];
	HeapTuple	tuple;
	uint64		invalidations;
	char	   *names[MaxHeapAttributeNumber];
	int			from = 0;
	int			natts = 0;
	int			i;
	bool		found;
	Size		size;
	char	   *block;
	char	   *p;

	Assert(upto >= 1 && upto <= MaxHeapAttributeNumber);
	column_names_setup();
	entry = hash_search(ColumnNames, &relid, HASH_FIND, NULL);
	if (entry != NULL)
	{
		if (entry->loaded >= upto)
			return entry;
		/* read only the columns after those already known */
		from = entry->loaded;
		natts = entry->natts;
		for (i = 0; i < natts; i++)
			names[i] = entry->names[i];
	}

	/* Locks first: taking them is where invalidations are processed. */
	attrel = table_open(AttributeRelationId, AccessShareLock);
	invalidations = ColumnNamesInvalidations;
	if (ColumnNames == NULL)
	{
		/* an invalidation dropped what we had: read from the start */
		from = 0;
		natts = 0;
	}
	else
	{
		/* names from before survive only as copies (names[] may point there) */
		for (i = 0; i < natts; i++)
			if (names[i] != NULL)
				names[i] = pstrdup(names[i]);
	}
	ScanKeyInit(&key[0], Anum_pg_attribute_attrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_attribute_attnum, BTGreaterStrategyNumber,
				F_INT2GT, Int16GetDatum((int16) from));
	ScanKeyInit(&key[2], Anum_pg_attribute_attnum, BTLessEqualStrategyNumber,
				F_INT2LE, Int16GetDatum((int16) upto));
	scan = systable_beginscan(attrel, AttributeRelidNumIndexId, true, NULL,
							  3, key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tuple);

		if (att->attnum <= from || att->attnum > upto)
			continue;
		while (natts < att->attnum)
			names[natts++] = NULL;
		names[att->attnum - 1] = pstrdup(NameStr(att->attname));
	}
	systable_endscan(scan);
	table_close(attrel, AccessShareLock);

	local.relid = relid;
	local.loaded = upto;
	local.natts = natts;
	if (invalidations != ColumnNamesInvalidations || ColumnNames == NULL)
	{
		/* answer from the local copy, keep nothing */
		local.names = palloc(sizeof(char *) * Max(natts, 1));
		memcpy(local.names, names, sizeof(char *) * natts);
		entry = palloc(sizeof(ColumnNamesEntry));
		*entry = local;
		return entry;
	}

	/* one allocation: the pointers, then the names */
	size = sizeof(char *) * natts;
	for (i = 0; i < natts; i++)
		if (names[i] != NULL)
			size += strlen(names[i]) + 1;
	block = MemoryContextAlloc(ColumnNamesContext, Max(size, 1));
	p = block + sizeof(char *) * natts;
	local.names = (char **) block;
	for (i = 0; i < natts; i++)
	{
		if (names[i] == NULL)
			local.names[i] = NULL;
		else
		{
			size_t		len = strlen(names[i]) + 1;

			memcpy(p, names[i], len);
			local.names[i] = p;
			p += len;
		}
	}

	entry = hash_search(ColumnNames, &relid, HASH_ENTER, &found);
	if (found)
		pfree(entry->names);
	entry->loaded = local.loaded;
	entry->natts = local.natts;
	entry->names = local.names;
	return entry;
}

/*
 * column_names(rel regclass, attnums smallint[]) RETURNS text[]
 *
 * The names of the given columns of rel, in the given order (a
 * constraint's conkey or confkey); NULL for a column that does not exist.
 */
Datum
ms_column_names(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ArrayType  *attnums = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *values;
	bool	   *nulls;
	int			n;
	int			i;
	int			upto = 0;
	int			dims[1];
	int			lbs[1] = {1};

	if (ARR_NDIM(attnums) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("column numbers must be a one-dimensional array")));
	deconstruct_array(attnums, INT2OID, sizeof(int16), true, TYPALIGN_SHORT,
					  &values, &nulls, &n);
	/* the highest user column asked for: read up to it at once */
	for (i = 0; i < n; i++)
		if (!nulls[i] && DatumGetInt16(values[i]) > upto &&
			DatumGetInt16(values[i]) <= MaxHeapAttributeNumber)
			upto = DatumGetInt16(values[i]);
	for (i = 0; i < n; i++)
	{
		char	   *name = NULL;

		if (!nulls[i])
		{
			int16		attnum = DatumGetInt16(values[i]);

			if (attnum > 0 && attnum <= MaxHeapAttributeNumber)
			{
				ColumnNamesEntry *entry = column_names_of(relid, upto);

				if (attnum <= entry->natts)
					name = entry->names[attnum - 1];
			}
			else if (attnum <= 0)
				name = get_attname(relid, attnum, true);
		}
		nulls[i] = (name == NULL);
		values[i] = name == NULL ? (Datum) 0 : CStringGetTextDatum(name);
	}
	dims[0] = n;
	if (n == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	PG_RETURN_ARRAYTYPE_P(construct_md_array(values, nulls, 1, dims, lbs,
											 TEXTOID, -1, false, TYPALIGN_INT));
}
