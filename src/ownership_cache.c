/*-------------------------------------------------------------------------
 *
 * ownership_cache.c
 *		Backend-local cache answering "which domain owns this relation?"
 *		for the hot paths: the executor hooks of the runtime monitor and
 *		the change callbacks of the output plugin.
 *
 * The answer comes from migration_split.ownership, read through the catalog
 * snapshot.  In a normal backend that is a fresh MVCC snapshot; inside
 * logical decoding it is the historic snapshot, which is why the ownership
 * table is a user_catalog_table: the decoder sees a tag exactly as of the
 * LSN being decoded.
 *
 * Resolution rule (kept identical to migration_split.relation_domains in
 * the install script): an explicit tag wins; otherwise a partition takes
 * the domain of its parent, an inheritance child that of its first parent,
 * and a TOAST table or owned sequence that of its table, recursively.
 *
 * One source of truth.  Every cache of ownership-derived decisions (the
 * output plugin's relation cache in decoder.c, the monitor's front cache in
 * monitor_track.c) obeys one invalidation model: ms_ownership_generation,
 * a counter bumped by every flush of this cache, whatever its cause (a
 * relcache invalidation of a cached relation, a reset of the whole
 * relcache, a schema created or dropped, a tag changed).  A consumer keeps
 * the generation its entry was decided at and decides again when it
 * differs.  Consumers need no ownership logic of their own, and a flush
 * that drops everything (ALTER TABLE ... INHERIT, below) reaches them all.
 * The counter only grows, in one backend; reading it is one load.
 *
 * Invalidation: every change of migration_split.ownership fires a trigger
 * (ms_ownership_changed in ownership.c) that queues a relcache invalidation
 * for the tagged relation and all its inheritors.  Our relcache callback
 * drops the matching entry, in every backend at its next
 * AcceptInvalidationMessages(), and in a decoding walsender when the
 * decoder reaches the tagging transaction's invalidations.  When other
 * entries were resolved through the invalidated one it drops everything:
 * ALTER TABLE ... INHERIT / NO INHERIT invalidates only the altered table,
 * not its descendants, TOAST table and owned sequences.  Schema
 * creation and removal (CREATE/DROP EXTENSION) flush everything through a
 * pg_namespace syscache callback.
 *
 * Bulk fill for the reports.  Resolving relations one at a time costs a
 * few catalog index probes each (the tag, the relkind through the
 * syscache, pg_inherits or pg_depend): for the 50,000 relations of a
 * 10,000-table schema that is most of the first report of a session.
 * ms_ownership_cache_prefill() resolves every relation of pg_class but
 * indexes from one sequential pass over the ownership table, pg_class and
 * pg_inherits and one walk over the part of pg_depend's depender index
 * that holds relations (fetching only the rows of TOAST tables and
 * sequences), in a sorted array, and enters the answers, the same ones
 * resolve_relation() gives.  It gives up (the lazy path still
 * answers) when any relcache invalidation arrives while it reads, since
 * an answer read before an invalidation that was processed before the
 * answer is entered would never be dropped.  The cache remembers that it
 * was filled until it is flushed whole; relations created since, and
 * entries dropped by a single invalidation, are resolved lazily as usual.
 *
 * Domain names are interned into small backend-local integers so that
 * callers can keep and compare sets of domains cheaply.  Interned names are
 * never freed; a database has a handful of domains.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_inherits.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "migration_split.h"

/* Attribute numbers of migration_split.ownership (see the install script). */
#define Anum_ownership_rel		1
#define Anum_ownership_domain	2

typedef struct OwnershipCacheEntry
{
	Oid			relid;			/* hash key */
	MsDomainId	domain;			/* MS_NO_DOMAIN if unowned */
	Oid			source;			/* relation carrying the tag, or InvalidOid */
	bool		has_dependents; /* some entry was resolved through this one */
} OwnershipCacheEntry;

typedef struct DomainNameEntry
{
	NameData	name;			/* hash key */
	MsDomainId	id;
} DomainNameEntry;

/* Bumped by every flush; see "One source of truth" above. */
uint64		ms_ownership_generation = 1;

static MemoryContext OwnershipCacheContext = NULL;
static HTAB *OwnershipCache = NULL;
static HTAB *DomainNames = NULL;
static NameData *DomainNameById = NULL; /* index = id; slot 0 unused */
static int	DomainNameCount = 0;
static int	DomainNameCapacity = 0;

/*
 * The cache holds every relation that existed at its last bulk fill (but
 * those dropped by invalidations since): see ms_ownership_cache_prefill().
 */
static bool OwnershipCachePrefilled = false;

/*
 * Cache misses resolved through pg_depend (TOAST tables and sequences, the
 * costly kind), for the reports to decide on a bulk fill.
 */
uint64		ms_ownership_cache_depend_misses = 0;

/* Relcache invalidations received, for the bulk fill to detect them. */
static uint64 OwnershipInvalidations = 0;

/* Location of the ownership catalog, looked up once and invalidated. */
static bool OwnerTableValid = false;
static Oid	OwnerTableOid = InvalidOid;
static Oid	OwnerIndexOid = InvalidOid;

static void ownership_cache_setup(void);
static void ownership_relcache_callback(Datum arg, Oid relid);
static void ownership_namespace_callback(Datum arg, int cacheid, uint32 hashvalue);
static void lookup_owner_table(void);
static MsDomainId lookup_explicit_tag(Oid relid);
static Oid	first_inheritance_parent(Oid relid);
static Oid	owning_table_of(Oid relid);
static OwnershipCacheEntry *resolve_relation(Oid relid);

/*
 * Create the hash tables and register the invalidation callbacks, once per
 * backend.
 */
static void
ownership_cache_setup(void)
{
	HASHCTL		ctl;

	if (OwnershipCache != NULL)
		return;

	if (OwnershipCacheContext == NULL)
		OwnershipCacheContext = AllocSetContextCreate(CacheMemoryContext,
													  "migration_split ownership cache",
													  ALLOCSET_SMALL_SIZES);

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(OwnershipCacheEntry);
	ctl.hcxt = OwnershipCacheContext;
	OwnershipCache = hash_create("migration_split ownership cache", 256, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(DomainNameEntry);
	ctl.hcxt = OwnershipCacheContext;
	DomainNames = hash_create("migration_split domain names", 16, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	DomainNameCapacity = 16;
	DomainNameById = MemoryContextAllocZero(OwnershipCacheContext,
											sizeof(NameData) * DomainNameCapacity);
	DomainNameCount = 0;

	CacheRegisterRelcacheCallback(ownership_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, ownership_namespace_callback,
								  (Datum) 0);
}

/*
 * Relcache invalidation: forget the entry of the invalidated relation, or
 * everything when the whole relcache is reset, the ownership catalog itself
 * changed shape, or other entries were resolved through the invalidated
 * one.  The last case matters for ALTER TABLE ... INHERIT / NO INHERIT and
 * ATTACH / DETACH PARTITION: only the altered table is invalidated, yet its
 * children, TOAST table and owned sequences took their answer from it.
 * Either way the generation moves, so the dependent caches decide again.
 */
static void
ownership_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	OwnershipCacheEntry *entry;

	if (OwnershipCache == NULL)
		return;

	OwnershipInvalidations++;
	if (OwnerTableValid && relid == OwnerTableOid)
		OwnerTableValid = false;
	else if (relid != InvalidOid)
	{
		entry = hash_search(OwnershipCache, &relid, HASH_FIND, NULL);
		if (entry == NULL)
			return;
		ms_ownership_generation++;
		if (!entry->has_dependents)
		{
			hash_search(OwnershipCache, &relid, HASH_REMOVE, NULL);
			return;
		}
	}
	ms_ownership_generation++;
	OwnershipCachePrefilled = false;

	hash_seq_init(&status, OwnershipCache);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(OwnershipCache, &entry->relid, HASH_REMOVE, NULL);
}

/*
 * A schema was created, renamed or dropped: the ownership catalog may have
 * appeared or gone (CREATE/DROP EXTENSION).  Forget all we know.
 */
static void
ownership_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	OwnerTableValid = false;
	ownership_relcache_callback((Datum) 0, InvalidOid);
}

/*
 * Find migration_split.ownership and its primary key index in the current
 * database; both are InvalidOid when the extension is not installed.
 */
static void
lookup_owner_table(void)
{
	Oid			nspid;

	if (OwnerTableValid)
		return;

	OwnerTableOid = InvalidOid;
	OwnerIndexOid = InvalidOid;
	nspid = get_namespace_oid(MS_SCHEMA_NAME, true);
	if (OidIsValid(nspid))
	{
		OwnerTableOid = get_relname_relid(MS_OWNER_TABLE_NAME, nspid);
		OwnerIndexOid = get_relname_relid(MS_OWNER_INDEX_NAME, nspid);
		if (!OidIsValid(OwnerTableOid) || !OidIsValid(OwnerIndexOid))
			OwnerTableOid = OwnerIndexOid = InvalidOid;
	}
	OwnerTableValid = true;
}

/*
 * Return the oid of migration_split.ownership in this database, or
 * InvalidOid when the extension is not installed here.
 */
Oid
ms_owner_table_oid(void)
{
	ownership_cache_setup();
	lookup_owner_table();
	return OwnerTableOid;
}

/*
 * The domain tagged directly on relid, ignoring partitions and inheritance.
 */
static MsDomainId
lookup_explicit_tag(Oid relid)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	MsDomainId	result = MS_NO_DOMAIN;

	lookup_owner_table();
	if (!OidIsValid(OwnerTableOid))
		return MS_NO_DOMAIN;

	rel = table_open(OwnerTableOid, AccessShareLock);
	ScanKeyInit(&key, Anum_ownership_rel, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, OwnerIndexOid, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, Anum_ownership_domain,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			char	   *name = TextDatumGetCString(d);

			result = ms_domain_id(name, true);
			pfree(name);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	return result;
}

/*
 * The first (lowest inhseqno) parent of an inheritance child, or InvalidOid.
 */
static Oid
first_inheritance_parent(Oid relid)
{
	Relation	inhrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Oid			parent = InvalidOid;

	inhrel = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(inhrel, InheritsRelidSeqnoIndexId, true,
							  NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		parent = ((Form_pg_inherits) GETSTRUCT(tuple))->inhparent;
	systable_endscan(scan);
	table_close(inhrel, AccessShareLock);

	return parent;
}

/*
 * The table a TOAST table or an owned sequence (serial, identity or OWNED
 * BY) belongs to, found through its internal or auto dependency; InvalidOid
 * for anything else.
 */
static Oid
owning_table_of(Oid relid)
{
	Relation	deprel;
	SysScanDesc scan;
	ScanKeyData key[2];
	HeapTuple	tuple;
	Oid			owner = InvalidOid;

	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(deprel, DependDependerIndexId, true,
							  NULL, 2, key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tuple);

		if (dep->refclassid == RelationRelationId &&
			(dep->deptype == DEPENDENCY_INTERNAL ||
			 dep->deptype == DEPENDENCY_AUTO))
		{
			owner = dep->refobjid;
			break;
		}
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);

	return owner;
}

/*
 * Look relid up in the cache, resolving and caching it on a miss.
 *
 * Ancestors are resolved (and cached) first, so a deep partition tree costs
 * one catalog probe per level once, then one hash lookup per relation.
 */
static OwnershipCacheEntry *
resolve_relation(Oid relid)
{
	OwnershipCacheEntry *entry;
	bool		found;
	MsDomainId	domain;
	Oid			source = InvalidOid;
	Oid			parent = InvalidOid;

	entry = hash_search(OwnershipCache, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	domain = lookup_explicit_tag(relid);
	if (domain != MS_NO_DOMAIN)
		source = relid;
	else
	{
		char		relkind = get_rel_relkind(relid);

		if (relkind == RELKIND_TOASTVALUE || relkind == RELKIND_SEQUENCE)
		{
			parent = owning_table_of(relid);
			ms_ownership_cache_depend_misses++;
		}
		else if (get_rel_relispartition(relid))
			parent = get_partition_parent(relid, true);
		else if (relkind != '\0')
			parent = first_inheritance_parent(relid);
	}

	if (OidIsValid(parent))
	{
		OwnershipCacheEntry *pentry = resolve_relation(parent);

		domain = pentry->domain;
		source = pentry->source;
		pentry->has_dependents = true;
	}

	/* Resolving the parent may have run invalidations; insert only now. */
	entry = hash_search(OwnershipCache, &relid, HASH_ENTER, &found);
	entry->domain = domain;
	entry->source = source;
	if (!found)
		entry->has_dependents = false;
	return entry;
}

/* One relation during a bulk fill (ms_ownership_cache_prefill). */
typedef struct PrefillRel
{
	Oid			relid;
	char		relkind;
	uint8		state;			/* PREFILL_* */
	bool		has_dependents;
	MsDomainId	tag;			/* its own tag, or MS_NO_DOMAIN */
	Oid			parent;			/* owning table (TOAST table, sequence) or
								 * first inheritance parent, if any */
	int32		parent_rank;	/* inhseqno of that parent */
	MsDomainId	domain;			/* once resolved */
	Oid			source;			/* once resolved */
} PrefillRel;

#define PREFILL_NEW			0
#define PREFILL_RESOLVING	1
#define PREFILL_DONE		2

/*
 * prefill_sort(rels, n): sort a bulk fill's relations by oid, with the
 * comparison inlined (lib/sort_template.h); qsort() calling a comparator
 * per pair was a fifth of the fill's instructions.
 */
#define ST_SORT prefill_sort
#define ST_ELEMENT_TYPE PrefillRel
#define ST_COMPARE(a, b) ((a)->relid < (b)->relid ? -1 : ((a)->relid > (b)->relid ? 1 : 0))
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* The relation relid of a bulk fill (sorted by oid), or NULL. */
static PrefillRel *
prefill_find(PrefillRel *rels, int nrels, Oid relid)
{
	int			lo = 0;
	int			hi = nrels - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (rels[mid].relid == relid)
			return &rels[mid];
		if (rels[mid].relid < relid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * Resolve one relation of a bulk fill, its ancestors first: the rule of
 * resolve_relation() over the catalogs read into the array.  A parent
 * missing from pg_class (impossible in one snapshot) gives no domain.
 */
static void
prefill_resolve(PrefillRel *rels, int nrels, PrefillRel *rel)
{
	PrefillRel *parent;

	if (rel->state == PREFILL_DONE)
		return;
	if (rel->state == PREFILL_RESOLVING)
	{
		/* a cycle, which the catalogs cannot hold: no domain */
		rel->domain = MS_NO_DOMAIN;
		rel->source = InvalidOid;
		return;
	}
	rel->state = PREFILL_RESOLVING;
	rel->domain = MS_NO_DOMAIN;
	rel->source = InvalidOid;

	if (rel->tag != MS_NO_DOMAIN)
	{
		rel->domain = rel->tag;
		rel->source = rel->relid;
	}
	else if (OidIsValid(rel->parent) &&
			 (parent = prefill_find(rels, nrels, rel->parent)) != NULL)
	{
		prefill_resolve(rels, nrels, parent);
		rel->domain = parent->domain;
		rel->source = parent->source;
		parent->has_dependents = true;
	}
	rel->state = PREFILL_DONE;
}

/*
 * Fill the cache with every relation of pg_class but indexes (which have
 * no domain, and which the reports never ask about), from one sequential
 * scan of the ownership table, pg_class and pg_inherits and one walk over
 * pg_depend's depender index (relations only), instead of a few index
 * probes per relation (see "Bulk fill" in the file
 * header).  Cheap when the cache is already filled: a flag test.  For the
 * reports, which ask for most relations of the database; the hot paths of
 * the monitor and the decoder ask for a few and keep resolving lazily.
 *
 * The answers equal resolve_relation()'s: the tag first; for a TOAST table
 * or sequence the table of its first internal or auto dependency on a
 * relation in pg_depend's depender index order, the order this walk
 * visits them in too; for others the parent of lowest inhseqno (a
 * partition's only parent).
 */
void
ms_ownership_cache_prefill(void)
{
	MemoryContext tmpcxt;
	MemoryContext oldcxt;
	PrefillRel *rels;
	int			nrels = 0;
	int			capacity = 1024;
	Relation	ownerrel = NULL;
	Relation	classrel;
	Relation	inhrel;
	Relation	deprel;
	Relation	depidx;
	TableScanDesc scan;
	IndexScanDesc iscan;
	ScanKeyData depkey;
	Snapshot	snapshot;
	TupleTableSlot *slot;
	HeapTuple	tuple;
	uint64		invalidations;
	PrefillRel *rel;
	PrefillRel	notwanted;		/* stands for an objid not in rels */
	Oid			curobj = InvalidOid;
	int			cursor = 0;		/* merge position in rels for the walk */
	Oid		   *toasts;			/* [2i] a TOAST table, [2i + 1] its table */
	int			ntoasts = 0;
	int			toastcap = 1024;
	uint64		nentries = 0;
	int			i;

	ownership_cache_setup();
	lookup_owner_table();
	if (OwnershipCachePrefilled)
		return;

	tmpcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "migration_split ownership prefill",
								   ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(tmpcxt);

	/* Locks first: taking them is where invalidations are processed. */
	if (OidIsValid(OwnerTableOid))
		ownerrel = table_open(OwnerTableOid, AccessShareLock);
	classrel = table_open(RelationRelationId, AccessShareLock);
	inhrel = table_open(InheritsRelationId, AccessShareLock);
	deprel = table_open(DependRelationId, AccessShareLock);
	depidx = index_open(DependDependerIndexId, AccessShareLock);
	invalidations = OwnershipInvalidations;

	/*
	 * Every relation but indexes, sorted by oid; and the table of every
	 * TOAST table, from the table's reltoastrelid: the same table as the
	 * TOAST table's one internal dependency in pg_depend, which the lazy
	 * path reads (a TOAST table has no other dependency on a relation).
	 */
	rels = palloc(sizeof(PrefillRel) * capacity);
	toasts = palloc(sizeof(Oid) * 2 * toastcap);
	scan = table_beginscan_catalog(classrel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);

		if (form->relkind == RELKIND_INDEX ||
			form->relkind == RELKIND_PARTITIONED_INDEX)
			continue;
		if (nrels == capacity)
		{
			CHECK_FOR_INTERRUPTS();
			capacity *= 2;
			rels = repalloc_huge(rels, sizeof(PrefillRel) * capacity);
		}
		rel = &rels[nrels++];
		memset(rel, 0, sizeof(PrefillRel));
		rel->relid = form->oid;
		rel->relkind = form->relkind;
		if (OidIsValid(form->reltoastrelid))
		{
			if (ntoasts == toastcap)
			{
				toastcap *= 2;
				toasts = repalloc_huge(toasts, sizeof(Oid) * 2 * toastcap);
			}
			toasts[2 * ntoasts] = form->reltoastrelid;
			toasts[2 * ntoasts + 1] = form->oid;
			ntoasts++;
		}
	}
	table_endscan(scan);
	prefill_sort(rels, nrels);
	for (i = 0; i < ntoasts; i++)
	{
		rel = prefill_find(rels, nrels, toasts[2 * i]);
		if (rel != NULL && rel->relkind == RELKIND_TOASTVALUE)
			rel->parent = toasts[2 * i + 1];
	}

	/* the tags */
	if (ownerrel != NULL)
	{
		scan = table_beginscan_catalog(ownerrel, 0, NULL);
		while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
		{
			bool		isnull;
			Datum		d;

			d = heap_getattr(tuple, Anum_ownership_rel,
							 RelationGetDescr(ownerrel), &isnull);
			if (isnull ||
				(rel = prefill_find(rels, nrels, DatumGetObjectId(d))) == NULL)
				continue;
			d = heap_getattr(tuple, Anum_ownership_domain,
							 RelationGetDescr(ownerrel), &isnull);
			if (!isnull)
				rel->tag = ms_domain_id(TextDatumGetCString(d), true);
		}
		table_endscan(scan);
	}

	/* the first parent of every inheritance child and partition */
	scan = table_beginscan_catalog(inhrel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_inherits inh = (Form_pg_inherits) GETSTRUCT(tuple);

		rel = prefill_find(rels, nrels, inh->inhrelid);
		if (rel != NULL &&
			rel->relkind != RELKIND_TOASTVALUE &&
			rel->relkind != RELKIND_SEQUENCE &&
			(!OidIsValid(rel->parent) || inh->inhseqno < rel->parent_rank))
		{
			rel->parent = inh->inhparent;
			rel->parent_rank = inh->inhseqno;
		}
	}
	table_endscan(scan);

	/*
	 * The owning table of every owned sequence (and of a TOAST table whose
	 * table was not found above): its first internal or auto dependency on
	 * a relation in pg_depend's depender index order, as owning_table_of()
	 * finds it.  The index is walked over the dependencies of relations
	 * (classid pg_class), and only those of the relations still wanted are
	 * fetched from the heap: a pass over all of pg_depend also reads every
	 * dependency of every constraint, trigger and default (280,000 rows on
	 * 10,000 tables, for 20,000 wanted), and reading them, not finding them,
	 * was most of the fill.  The walk meets the objids in ascending order,
	 * the order of rels, so a cursor moving forward finds them.
	 */
	snapshot = RegisterSnapshot(GetCatalogSnapshot(DependRelationId));
	slot = table_slot_create(deprel, NULL);
	ScanKeyInit(&depkey, Anum_pg_depend_classid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(RelationRelationId));
	iscan = index_beginscan(deprel, depidx, snapshot, 1, 0);
	iscan->xs_want_itup = true;
	index_rescan(iscan, &depkey, 1, NULL, 0);
	rel = NULL;
	while (index_getnext_tid(iscan, ForwardScanDirection) != NULL)
	{
		bool		isnull;
		bool		should_free;
		Oid			objid;
		Form_pg_depend dep;

		objid = DatumGetObjectId(index_getattr(iscan->xs_itup, 2,
											   iscan->xs_itupdesc, &isnull));
		if (isnull)
			continue;
		if (rel == NULL || objid != curobj)
		{
			if ((++nentries & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			if (objid < curobj)
				cursor = 0;		/* not expected of a forward index scan */
			curobj = objid;
			while (cursor < nrels && rels[cursor].relid < objid)
				cursor++;
			if (cursor < nrels && rels[cursor].relid == objid)
				rel = &rels[cursor];
			else
				rel = &notwanted;
		}
		if (rel == &notwanted || OidIsValid(rel->parent) ||
			(rel->relkind != RELKIND_TOASTVALUE &&
			 rel->relkind != RELKIND_SEQUENCE))
			continue;
		if (!index_fetch_heap(iscan, slot))
			continue;
		tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);
		dep = (Form_pg_depend) GETSTRUCT(tuple);
		if (dep->refclassid == RelationRelationId &&
			(dep->deptype == DEPENDENCY_INTERNAL ||
			 dep->deptype == DEPENDENCY_AUTO))
			rel->parent = dep->refobjid;
		if (should_free)
			heap_freetuple(tuple);
	}
	index_endscan(iscan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);

	for (i = 0; i < nrels; i++)
		prefill_resolve(rels, nrels, &rels[i]);

	index_close(depidx, AccessShareLock);
	table_close(deprel, AccessShareLock);
	table_close(inhrel, AccessShareLock);
	table_close(classrel, AccessShareLock);
	if (ownerrel != NULL)
		table_close(ownerrel, AccessShareLock);

	/*
	 * Enter the answers unless an invalidation came while reading (closing
	 * takes no lock, so none came since).  Entries already cached are
	 * equal; they only learn of dependents.
	 */
	MemoryContextSwitchTo(oldcxt);
	if (invalidations == OwnershipInvalidations)
	{
		for (i = 0; i < nrels; i++)
		{
			OwnershipCacheEntry *cached;
			bool		found;

			rel = &rels[i];
			cached = hash_search(OwnershipCache, &rel->relid, HASH_ENTER,
								 &found);
			if (!found)
			{
				cached->domain = rel->domain;
				cached->source = rel->source;
				cached->has_dependents = rel->has_dependents;
			}
			else if (rel->has_dependents)
				cached->has_dependents = true;
		}
		OwnershipCachePrefilled = true;
	}
	MemoryContextDelete(tmpcxt);
}

/*
 * The domain owning relid as the catalog snapshot sees it right now,
 * bypassing the cache: for the output plugin at a change of the ownership
 * table itself, which the historic snapshot already shows but whose
 * invalidations are processed only at the end of its command.
 */
MsDomainId
ms_relation_domain_uncached(Oid relid)
{
	MsDomainId	domain;
	Oid			parent = InvalidOid;
	char		relkind;

	ownership_cache_setup();
	domain = lookup_explicit_tag(relid);
	if (domain != MS_NO_DOMAIN)
		return domain;
	relkind = get_rel_relkind(relid);
	if (relkind == RELKIND_TOASTVALUE || relkind == RELKIND_SEQUENCE)
		parent = owning_table_of(relid);
	else if (get_rel_relispartition(relid))
		parent = get_partition_parent(relid, true);
	else if (relkind != '\0')
		parent = first_inheritance_parent(relid);
	return OidIsValid(parent) ? ms_relation_domain_uncached(parent) : MS_NO_DOMAIN;
}

/*
 * The domain owning relid, or MS_NO_DOMAIN.  Cheap after the first call for
 * a relation: one hash lookup.
 */
MsDomainId
ms_relation_domain(Oid relid)
{
	ownership_cache_setup();
	return resolve_relation(relid)->domain;
}

/*
 * The relation whose tag gives relid its domain: relid itself when tagged
 * directly, the partition root (or tagged ancestor) otherwise; InvalidOid
 * when relid is unowned.  The output plugin reports partition changes under
 * this relation.
 */
Oid
ms_relation_owning_root(Oid relid)
{
	ownership_cache_setup();
	return resolve_relation(relid)->source;
}

/*
 * Intern a domain name.  With create = false, return MS_NO_DOMAIN for a
 * name not seen yet in this backend.
 */
MsDomainId
ms_domain_id(const char *name, bool create)
{
	DomainNameEntry *entry;
	NameData	key;
	bool		found;

	ownership_cache_setup();
	namestrcpy(&key, name);
	entry = hash_search(DomainNames, &key, create ? HASH_ENTER : HASH_FIND,
						&found);
	if (entry == NULL)
		return MS_NO_DOMAIN;
	if (!found)
	{
		if (DomainNameCount + 1 >= DomainNameCapacity)
		{
			int			newcap = DomainNameCapacity * 2;

			DomainNameById = repalloc(DomainNameById, sizeof(NameData) * newcap);
			memset(DomainNameById + DomainNameCapacity, 0,
				   sizeof(NameData) * (newcap - DomainNameCapacity));
			DomainNameCapacity = newcap;
		}
		entry->id = ++DomainNameCount;
		DomainNameById[entry->id] = key;
	}
	return entry->id;
}

/*
 * The name of an interned domain; NULL for MS_NO_DOMAIN.  The pointer stays
 * valid for the life of the backend.
 */
const char *
ms_domain_name(MsDomainId id)
{
	if (id <= MS_NO_DOMAIN || id > DomainNameCount)
		return NULL;
	return NameStr(DomainNameById[id]);
}
