/*-------------------------------------------------------------------------
 *
 * monitor_stats.c
 *		Shared memory statistics of the runtime boundary monitor, the stats
 *		file that keeps them across restarts, and the SQL functions behind
 *		the monitor's views.
 *
 * Shared memory holds:
 *
 *	- a dictionary of domain names (at most MS_MAX_SHARED_DOMAINS), so
 *	  entries can store small shared indexes instead of names; indexes are
 *	  never reused while the server runs and survive restarts in the file.
 *	  Only names of domains that exist (rows of migration_split.domains of
 *	  the database that records them) enter it; when it is full, names are
 *	  not recorded and monitor_info counts them;
 *	- the statement hash: one entry per (userid, dbid, queryid, domains
 *	  reached, domains reached through a read path) of a statement that
 *	  reached tables of two or more domains, or the read
 *	  path of a domain (a foreign table the domain owns: a remote call into
 *	  the service, whose rows and time are added up too), with its
 *	  normalized text (at most migration_split.max_query_text bytes, kept
 *	  inside the entry) and the names of its tables;
 *	- the transaction hash: one entry per (dbid, set of domains written);
 *	- a small "event" hash: last violation per (dbid, domain) and use of
 *	  each allowlist entry.
 *
 * Locking follows pg_stat_statements: one LWLock protects the shape of all
 * hashes and the dictionary.  It is taken in shared mode to look an entry
 * up (the common case: the entry exists), and in exclusive mode only to add
 * or evict entries or reset.  Counters of an entry are protected by the
 * entry's spinlock; readers copy them under the spinlock.  Nothing in here
 * runs catalog access while holding the LWLock.  Three things allocate
 * under it: the SRFs, which hold it in shared mode, ms_evict(), which sorts
 * the entries in a palloc'd array under the exclusive lock (as
 * pg_stat_statements' entry_dealloc does), and the move of a renamed
 * domain's entries (ms_rename_domain_locked), which copies them out and
 * back in; an out-of-memory error there releases the lock at abort like
 * any error.
 *
 * When a hash is full, the least-used 5% of its entries (at least 10) are
 * evicted at once; usage is the number of calls, decayed by 1% at every
 * eviction so that old entries eventually give way.  Evictions are counted
 * in migration_split.monitor_info.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "monitor.h"

PG_FUNCTION_INFO_V1(ms_cross_domain_queries);
PG_FUNCTION_INFO_V1(ms_cross_domain_transactions);
PG_FUNCTION_INFO_V1(ms_monitor_info);
PG_FUNCTION_INFO_V1(ms_monitor_reset);
PG_FUNCTION_INFO_V1(ms_monitor_loaded);
PG_FUNCTION_INFO_V1(ms_domain_runtime_stats);
PG_FUNCTION_INFO_V1(ms_allowlist_usage);
PG_FUNCTION_INFO_V1(ms_domains_changed);

#define MS_STATS_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/migration_split.stat"
#define MS_STATS_MAGIC		0x4d534d31	/* "MSM1" */
#define MS_STATS_VERSION	4	/* 4: domain sets in the statement key */

#define MS_EVENT_MAX		2048
#define MS_EVENT_VIOLATION	1
#define MS_EVENT_EXEMPTION	2

#define USAGE_DECREASE_FACTOR	0.99
#define EVICT_PERCENT			5
#define EVICT_MIN				10

/*
 * A statement entry counts the calls of one statement, by one user in one
 * database, that crossed one set of domains: like pg_stat_statements'
 * toplevel, the domain sets are part of the key.  A table that changes
 * domain (re-tag, merge, rename or drop of a domain) sends the later calls
 * of the same statement to another entry, or to none, instead of counting
 * them under domains they no longer cross.
 */
typedef struct MsQueryKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	MsDomainSet domains;		/* domains reached */
	MsDomainSet remote;			/* domains reached through their read path */
} MsQueryKey;

typedef struct MsQueryEntry
{
	MsQueryKey	key;			/* hash key, must be first */
	slock_t		mutex;			/* protects the fields below key */
	int64		calls;
	double		usage;
	TimestampTz first_seen;
	TimestampTz last_seen;
	char		appname[NAMEDATALEN];
	/* set at creation, then read-only: */
	CmdType		kind;
	char		tables[MS_TABLES_LEN];	/* NUL-separated, ends with "" */
	/* oids of the first tables (InvalidOid: none, or not kept) */
	Oid			relids[MS_ENTRY_TABLES];
	/* protected by mutex: */
	int64		rows;			/* remote calls: rows processed */
	double		total_time;		/* remote calls: milliseconds */
	char		text[FLEXIBLE_ARRAY_MEMBER];	/* ms_max_text bytes */
} MsQueryEntry;

typedef struct MsXactKey
{
	Oid			dbid;
	MsDomainSet domains;
} MsXactKey;

typedef struct MsXactEntry
{
	MsXactKey	key;			/* hash key, must be first */
	slock_t		mutex;
	int64		count;
	double		usage;
	TimestampTz first_seen;
	TimestampTz last_seen;
	int			nsamples;
	MsXactSample samples[MS_XACT_SAMPLES];	/* statements that wrote */
} MsXactEntry;

typedef struct MsEventKey
{
	Oid			dbid;
	int32		kind;			/* MS_EVENT_* */
	int64		id;				/* shared domain index or allowlist id */
} MsEventKey;

typedef struct MsEventEntry
{
	MsEventKey	key;
	slock_t		mutex;
	int64		count;
	TimestampTz last;
} MsEventEntry;

typedef struct MsSharedState
{
	LWLock	   *lock;			/* shape of the hashes and the dictionary */
	slock_t		mutex;			/* protects dealloc and stats_reset */
	int64		dealloc;
	TimestampTz stats_reset;
	int64		domains_refused;	/* look-ups that found the dictionary full */
	int			ndomains;
	NameData	domains[MS_MAX_SHARED_DOMAINS + 1]; /* index 0 unused */
} MsSharedState;

static MsSharedState *ms_shared = NULL;
static HTAB *ms_query_hash = NULL;
static HTAB *ms_xact_hash = NULL;
static HTAB *ms_event_hash = NULL;

/*
 * Backend-local map from interned domain id to shared index, and for names
 * not recorded, the local transaction that found so (asked again in the
 * next one).
 */
static uint16 *ms_local_to_shared = NULL;
static LocalTransactionId *ms_local_rejected = NULL;
static int	ms_local_to_shared_len = 0;

static Size ms_query_entry_size(void);
static void ms_shmem_shutdown(int code, Datum arg);
static void ms_load_file(void);
static void ms_evict(HTAB *hash, bool is_query);
static Datum ms_domain_array(const MsDomainSet *set);

/* Count a name the full dictionary could not take. */
static void
ms_note_dictionary_full(void)
{
	SpinLockAcquire(&ms_shared->mutex);
	ms_shared->domains_refused++;
	SpinLockRelease(&ms_shared->mutex);
}

static Size
ms_query_entry_size(void)
{
	return MAXALIGN(offsetof(MsQueryEntry, text) + ms_max_text);
}

/* Bytes of shared memory the monitor needs for the current settings. */
static Size
ms_shmem_size(void)
{
	Size		size;

	size = MAXALIGN(sizeof(MsSharedState));
	size = add_size(size, hash_estimate_size(ms_max, ms_query_entry_size()));
	size = add_size(size, hash_estimate_size(ms_max, sizeof(MsXactEntry)));
	size = add_size(size, hash_estimate_size(MS_EVENT_MAX, sizeof(MsEventEntry)));
	return size;
}

/*
 * Reserve shared memory and the LWLock (shmem_request_hook).
 */
void
ms_stats_shmem_request(void)
{
	RequestAddinShmemSpace(ms_shmem_size());
	RequestNamedLWLockTranche("migration_split", 1);
}

/*
 * Attach to (or create and load) the shared state (shmem_startup_hook).
 */
void
ms_stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	ms_shared = NULL;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	ms_shared = ShmemInitStruct("migration_split monitor",
								sizeof(MsSharedState), &found);
	if (!found)
	{
		ms_shared->lock = &(GetNamedLWLockTranche("migration_split"))->lock;
		SpinLockInit(&ms_shared->mutex);
		ms_shared->dealloc = 0;
		ms_shared->stats_reset = GetCurrentTimestamp();
		ms_shared->domains_refused = 0;
		ms_shared->ndomains = 0;
	}

	info.keysize = sizeof(MsQueryKey);
	info.entrysize = ms_query_entry_size();
	ms_query_hash = ShmemInitHash("migration_split statements", ms_max, ms_max,
								  &info, HASH_ELEM | HASH_BLOBS);
	info.keysize = sizeof(MsXactKey);
	info.entrysize = sizeof(MsXactEntry);
	ms_xact_hash = ShmemInitHash("migration_split transactions", ms_max, ms_max,
								 &info, HASH_ELEM | HASH_BLOBS);
	info.keysize = sizeof(MsEventKey);
	info.entrysize = sizeof(MsEventEntry);
	ms_event_hash = ShmemInitHash("migration_split events", MS_EVENT_MAX,
								  MS_EVENT_MAX, &info, HASH_ELEM | HASH_BLOBS);

	LWLockRelease(AddinShmemInitLock);

	/* The postmaster saves the statistics when it shuts down. */
	if (!IsUnderPostmaster)
		on_shmem_exit(ms_shmem_shutdown, (Datum) 0);

	if (!found)
		ms_load_file();
}

bool
ms_stats_available(void)
{
	return ms_shared != NULL;
}

/*
 * Fail clearly when a runtime function is called on a server that does not
 * preload the library.
 */
void
ms_stats_require(void)
{
	if (ms_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration_split must be loaded via \"shared_preload_libraries\""),
				 errdetail("The runtime boundary monitor keeps its statistics in shared memory."),
				 errhint("Add migration_split to shared_preload_libraries and restart the server.")));
}

/* Remember the shared index of a local domain id (0: not recorded). */
static void
ms_local_map_set(MsDomainId local, uint16 shared, bool rejected)
{
	if (local >= ms_local_to_shared_len)
	{
		int			newlen = Max(16, local * 2);

		if (ms_local_to_shared == NULL)
		{
			ms_local_to_shared = MemoryContextAllocZero(TopMemoryContext,
														sizeof(uint16) * newlen);
			ms_local_rejected = MemoryContextAllocZero(TopMemoryContext,
													   sizeof(LocalTransactionId) * newlen);
		}
		else
		{
			ms_local_to_shared = repalloc(ms_local_to_shared,
										  sizeof(uint16) * newlen);
			memset(ms_local_to_shared + ms_local_to_shared_len, 0,
				   sizeof(uint16) * (newlen - ms_local_to_shared_len));
			ms_local_rejected = repalloc(ms_local_rejected,
										 sizeof(LocalTransactionId) * newlen);
			memset(ms_local_rejected + ms_local_to_shared_len, 0,
				   sizeof(LocalTransactionId) * (newlen - ms_local_to_shared_len));
		}
		ms_local_to_shared_len = newlen;
	}
	ms_local_to_shared[local] = shared;
	ms_local_rejected[local] = rejected ? MyProc->lxid : InvalidLocalTransactionId;
}

/*
 * The shared index of a backend-local domain id, adding the name to the
 * shared dictionary on first use; 0 when the name is not recorded: it is
 * no domain of this database (only names of existing domains enter shared
 * memory, so a session cannot fill the dictionary with made-up service
 * names), or the dictionary is full (counted in monitor_info).  A name
 * that was not recorded is asked again in the next transaction (the domain
 * may have been created meanwhile); the look-up of a full dictionary takes
 * the lock in shared mode only.  Must run inside a transaction.
 */
uint16
ms_shared_domain(MsDomainId local)
{
	const char *name;
	uint16		result = 0;
	int			n;
	int			i;

	if (local <= MS_NO_DOMAIN)
		return 0;
	if (local < ms_local_to_shared_len)
	{
		if (ms_local_to_shared[local] != 0)
			return ms_local_to_shared[local];
		if (ms_local_rejected[local] == MyProc->lxid &&
			ms_local_rejected[local] != InvalidLocalTransactionId)
			return 0;
	}

	name = ms_domain_name(local);
	if (name == NULL)
		return 0;

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	n = ms_shared->ndomains;
	for (i = 1; i <= n; i++)
		if (strcmp(NameStr(ms_shared->domains[i]), name) == 0)
		{
			result = (uint16) i;
			break;
		}
	LWLockRelease(ms_shared->lock);

	if (result == 0 && n >= MS_MAX_SHARED_DOMAINS)
	{
		ms_note_dictionary_full();
		ms_local_map_set(local, 0, true);
		return 0;
	}
	if (result == 0)
	{
		/* catalog access, outside the lock */
		if (!ms_domain_exists(name))
		{
			ms_local_map_set(local, 0, true);
			return 0;
		}
		LWLockAcquire(ms_shared->lock, LW_EXCLUSIVE);
		n = ms_shared->ndomains;
		for (i = 1; i <= n; i++)
			if (strcmp(NameStr(ms_shared->domains[i]), name) == 0)
			{
				result = (uint16) i;
				break;
			}
		if (result == 0 && n < MS_MAX_SHARED_DOMAINS)
		{
			namestrcpy(&ms_shared->domains[n + 1], name);
			ms_shared->ndomains = n + 1;
			result = (uint16) (n + 1);
		}
		LWLockRelease(ms_shared->lock);
		if (result == 0)
		{
			ms_note_dictionary_full();
			ms_local_map_set(local, 0, true);
			return 0;
		}
	}
	ms_local_map_set(local, result, false);
	return result;
}

/*
 * The key of the entry of a statement run by userid in this database that
 * crossed the given domains (sets made by ms_to_shared_set: unused slots
 * zero, so equal sets hash alike).
 */
static inline void
ms_query_key(MsQueryKey *key, Oid userid, uint64 queryid,
			 const MsDomainSet *domains, const MsDomainSet *remote)
{
	/* every byte is a field: nothing left for memset */
	StaticAssertStmt(sizeof(MsQueryKey) ==
					 2 * sizeof(Oid) + sizeof(uint64) + 2 * sizeof(MsDomainSet),
					 "MsQueryKey has padding");
	key->userid = userid;
	key->dbid = MyDatabaseId;
	key->queryid = queryid;
	key->domains = *domains;
	key->remote = *remote;
}

/*
 * Count one more call of an existing statement entry: the statement's
 * entry for the domains this call crossed.  Returns false when the entry
 * does not exist; the caller then gathers text and table names (outside
 * any lock) and calls ms_stats_create_query.
 */
bool
ms_stats_count_query(uint64 queryid, const MsDomainSet *domains,
					 const MsDomainSet *remote)
{
	MsQueryKey	key;
	MsQueryEntry *entry;

	ms_query_key(&key, GetUserId(), queryid, domains, remote);

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	entry = hash_search(ms_query_hash, &key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		SpinLockAcquire(&entry->mutex);
		entry->calls++;
		entry->usage += 1.0;
		entry->last_seen = GetCurrentStatementStartTimestamp();
		strlcpy(entry->appname, application_name ? application_name : "",
				NAMEDATALEN);
		SpinLockRelease(&entry->mutex);
	}
	LWLockRelease(ms_shared->lock);
	return entry != NULL;
}

/*
 * Create the entry of a statement (or count a call if another backend
 * created it meanwhile).  tables is a NUL-separated list ending with an
 * empty string, relids the oids of its first MS_ENTRY_TABLES tables
 * (InvalidOid after the last); text is the normalized statement.
 */
void
ms_stats_create_query(uint64 queryid, CmdType kind, const MsDomainSet *domains,
					  const MsDomainSet *remote, const char *tables,
					  const Oid *relids, const char *text)
{
	MsQueryKey	key;
	MsQueryEntry *entry;
	bool		found;

	ms_query_key(&key, GetUserId(), queryid, domains, remote);

	LWLockAcquire(ms_shared->lock, LW_EXCLUSIVE);
	if (hash_get_num_entries(ms_query_hash) >= ms_max)
		ms_evict(ms_query_hash, true);
	entry = hash_search(ms_query_hash, &key, HASH_ENTER, &found);
	if (!found)
	{
		Size		len;

		SpinLockInit(&entry->mutex);
		entry->calls = 0;
		entry->usage = 0;
		entry->first_seen = GetCurrentStatementStartTimestamp();
		entry->rows = 0;
		entry->total_time = 0;
		entry->kind = kind;
		/* tables: copy whole names while they fit, always terminate */
		len = 0;
		while (tables[len] != '\0')
		{
			Size		n = strlen(tables + len) + 1;

			if (len + n + 1 > MS_TABLES_LEN)
				break;
			len += n;
		}
		memcpy(entry->tables, tables, len);
		entry->tables[len] = '\0';
		memcpy(entry->relids, relids, sizeof(entry->relids));
		len = pg_mbcliplen(text, strlen(text), ms_max_text - 1);
		memcpy(entry->text, text, len);
		entry->text[len] = '\0';
	}
	SpinLockAcquire(&entry->mutex);
	entry->calls++;
	entry->usage += 1.0;
	entry->last_seen = GetCurrentStatementStartTimestamp();
	strlcpy(entry->appname, application_name ? application_name : "",
			NAMEDATALEN);
	SpinLockRelease(&entry->mutex);
	LWLockRelease(ms_shared->lock);
}

/*
 * Add the rows and the time of one execution of a remote call to its entry
 * (ExecutorEnd): the entry its ExecutorStart counted the call in; nothing
 * when the entry was evicted meanwhile.
 */
void
ms_stats_add_remote_call(uint64 queryid, Oid userid, const MsDomainSet *domains,
						 const MsDomainSet *remote, uint64 rows, double time_ms)
{
	MsQueryKey	key;
	MsQueryEntry *entry;

	if (ms_shared == NULL)
		return;
	ms_query_key(&key, userid, queryid, domains, remote);

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	entry = hash_search(ms_query_hash, &key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		SpinLockAcquire(&entry->mutex);
		entry->rows += rows;
		entry->total_time += time_ms;
		SpinLockRelease(&entry->mutex);
	}
	LWLockRelease(ms_shared->lock);
}

/*
 * Count a committed transaction that wrote to the given domains when the
 * entry of this set of domains exists, and tell which of the given writing
 * statements it does not hold yet (none when it holds MS_XACT_SAMPLES
 * already): one shared-lock look-up for the common case, a known shape
 * whose writers are known.  Returns false, counting nothing, when there is
 * no entry: every statement is then missing.  The caller normalizes the
 * texts of the missing statements only, outside any lock, and passes them
 * to ms_stats_count_xact (count = false when counted here).
 */
bool
ms_stats_xact_count_known(const MsDomainSet *domains, const uint64 *queryids,
						  int n, bool *missing)
{
	static MsXactKey last_key;	/* zeroes: no shape has dbid 0 */
	static uint32 last_hash;
	MsXactKey	key;
	MsXactEntry *entry;
	int			i;

	for (i = 0; i < n; i++)
		missing[i] = true;

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.domains = *domains;
	/* a backend commits the same few shapes: keep the last one's hash */
	if (memcmp(&key, &last_key, sizeof(key)) != 0)
	{
		last_key = key;
		last_hash = get_hash_value(ms_xact_hash, &key);
	}

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	entry = hash_search_with_hash_value(ms_xact_hash, &key, last_hash,
										HASH_FIND, NULL);
	if (entry != NULL)
	{
		SpinLockAcquire(&entry->mutex);
		entry->count++;
		entry->usage += 1.0;
		entry->last_seen = GetCurrentStatementStartTimestamp();
		for (i = 0; i < n; i++)
		{
			int			j;

			for (j = 0; j < entry->nsamples; j++)
				if (entry->samples[j].queryid == queryids[i])
					break;
			missing[i] = (j == entry->nsamples &&
						  entry->nsamples < MS_XACT_SAMPLES);
		}
		SpinLockRelease(&entry->mutex);
	}
	LWLockRelease(ms_shared->lock);
	return entry != NULL;
}

/*
 * Count a committed transaction that wrote to the given domains (unless
 * count is false: ms_stats_xact_count_known counted it), and keep the first
 * MS_XACT_SAMPLES distinct statements that did the writing.
 */
void
ms_stats_count_xact(const MsDomainSet *domains, const MsXactSample *samples,
					int nsamples, bool count)
{
	MsXactKey	key;
	MsXactEntry *entry;
	bool		found = true;
	int			i;

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.domains = *domains;

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	entry = hash_search(ms_xact_hash, &key, HASH_FIND, NULL);
	if (entry == NULL)
	{
		LWLockRelease(ms_shared->lock);
		LWLockAcquire(ms_shared->lock, LW_EXCLUSIVE);
		if (hash_get_num_entries(ms_xact_hash) >= ms_max)
			ms_evict(ms_xact_hash, false);
		entry = hash_search(ms_xact_hash, &key, HASH_ENTER, &found);
		if (!found)
		{
			SpinLockInit(&entry->mutex);
			entry->count = 0;
			entry->usage = 0;
			entry->first_seen = GetCurrentStatementStartTimestamp();
			entry->nsamples = 0;
		}
	}

	SpinLockAcquire(&entry->mutex);
	if (count || !found)
	{
		entry->count++;
		entry->usage += 1.0;
		entry->last_seen = GetCurrentStatementStartTimestamp();
	}
	for (i = 0; i < nsamples && entry->nsamples < MS_XACT_SAMPLES; i++)
	{
		int			j;

		for (j = 0; j < entry->nsamples; j++)
			if (entry->samples[j].queryid == samples[i].queryid)
				break;
		if (j == entry->nsamples)
			entry->samples[entry->nsamples++] = samples[i];
	}
	SpinLockRelease(&entry->mutex);
	LWLockRelease(ms_shared->lock);
}

/*
 * Bump an event counter (violation of a domain, use of an allowlist
 * entry).  Events beyond MS_EVENT_MAX distinct keys are dropped.
 */
static void
ms_note_event(int32 kind, int64 id)
{
	MsEventKey	key;
	MsEventEntry *entry;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.kind = kind;
	key.id = id;

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	entry = hash_search(ms_event_hash, &key, HASH_FIND, NULL);
	if (entry == NULL)
	{
		LWLockRelease(ms_shared->lock);
		LWLockAcquire(ms_shared->lock, LW_EXCLUSIVE);
		if (hash_get_num_entries(ms_event_hash) >= MS_EVENT_MAX)
		{
			LWLockRelease(ms_shared->lock);
			return;
		}
		entry = hash_search(ms_event_hash, &key, HASH_ENTER, &found);
		if (!found)
		{
			SpinLockInit(&entry->mutex);
			entry->count = 0;
			entry->last = 0;
		}
	}
	SpinLockAcquire(&entry->mutex);
	entry->count++;
	entry->last = GetCurrentTimestamp();
	SpinLockRelease(&entry->mutex);
	LWLockRelease(ms_shared->lock);
}

void
ms_stats_note_violation(const MsDomainSet *domains)
{
	int			i;

	for (i = 0; i < domains->count; i++)
		ms_note_event(MS_EVENT_VIOLATION, domains->ids[i]);
}

void
ms_stats_note_exemption(int64 allowlist_id)
{
	ms_note_event(MS_EVENT_EXEMPTION, allowlist_id);
}

/*
 * Renamed and dropped domains.
 *
 * Entries name domains by their index in the shared dictionary, that is by
 * name.  When a domain of this database is renamed, its figures (the
 * entries of statements and transactions that involved it, its last
 * violation) move to the new name, merged with any the new name has; when
 * it is dropped they go with it, so that a domain created later with the
 * same name starts from none.  The row trigger on migration_split.domains
 * (ms_domains_changed) queues each change with its subtransaction; the
 * queue is applied when the transaction commits (ms_stats_apply_domain_
 * changes, at pre-commit after the transaction itself is counted) and
 * forgotten when it or the subtransaction aborts.  The dictionary itself
 * keeps every name (it is shared by all databases).  A database dropped,
 * or the extension dropped in one, takes all the figures of that database
 * along in the same way (ms_stats_note_drop, from the object access
 * hook).  Like the count of a transaction, the queue is applied at
 * PREPARE TRANSACTION already: a prepared transaction rolled back later
 * leaves the figures moved or forgotten.
 */
typedef struct MsDomainChange
{
	SubTransactionId subid;
	NameData	old_name;		/* "" when all of dbid is forgotten */
	NameData	new_name;		/* "" when dropped */
	Oid			dbid;			/* the database whose figures change */
} MsDomainChange;

static MsDomainChange *domain_changes = NULL;	/* in TopTransactionContext */
static int	ndomain_changes = 0;
static int	domain_changes_cap = 0;

/*
 * A new change in the queue (not counted until the caller increments
 * ndomain_changes).
 */
static MsDomainChange *
ms_new_domain_change(Oid dbid)
{
	MsDomainChange *change;

	if (ndomain_changes == domain_changes_cap)
	{
		int			newcap = Max(8, domain_changes_cap * 2);

		if (domain_changes == NULL)
			domain_changes = MemoryContextAlloc(TopTransactionContext,
												sizeof(MsDomainChange) * newcap);
		else
			domain_changes = repalloc(domain_changes,
									  sizeof(MsDomainChange) * newcap);
		domain_changes_cap = newcap;
	}
	change = &domain_changes[ndomain_changes];
	memset(change, 0, sizeof(*change));
	change->subid = GetCurrentSubTransactionId();
	change->dbid = dbid;
	return change;
}

/*
 * An object is being dropped (object access hook): a database takes its
 * figures along, and so does the extension, with its domains, in the
 * current database; both once the transaction commits.
 */
void
ms_stats_note_drop(Oid classId, Oid objectId)
{
	if (ms_shared == NULL)
		return;
	if (classId == DatabaseRelationId)
		(void) ms_new_domain_change(objectId);
	else if (classId == ExtensionRelationId &&
			 objectId == get_extension_oid("migration_split", true))
		(void) ms_new_domain_change(MyDatabaseId);
	else
		return;
	ndomain_changes++;
}

/* Trigger on migration_split.domains: AFTER UPDATE OF domain OR DELETE. */
Datum
ms_domains_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			attnum;
	bool		isnull;
	Datum		d;
	MsDomainChange *change;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "ms_domains_changed: not called by trigger manager");
	if (ms_shared == NULL)
		return PointerGetDatum(NULL);

	desc = RelationGetDescr(trigdata->tg_relation);
	attnum = SPI_fnumber(desc, "domain");
	if (attnum <= 0)
		elog(ERROR, "column \"domain\" of \"%s\" not found",
			 RelationGetRelationName(trigdata->tg_relation));

	change = ms_new_domain_change(MyDatabaseId);
	d = heap_getattr(trigdata->tg_trigtuple, attnum, desc, &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	namestrcpy(&change->old_name, TextDatumGetCString(d));
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		d = heap_getattr(trigdata->tg_newtuple, attnum, desc, &isnull);
		if (isnull)
			return PointerGetDatum(NULL);
		namestrcpy(&change->new_name, TextDatumGetCString(d));
		if (strcmp(NameStr(change->old_name), NameStr(change->new_name)) == 0)
			return PointerGetDatum(NULL);
	}
	ndomain_changes++;
	return PointerGetDatum(NULL);
}

/* A subtransaction aborted: forget the changes it queued. */
void
ms_stats_domain_changes_subabort(SubTransactionId subid)
{
	while (ndomain_changes > 0 &&
		   domain_changes[ndomain_changes - 1].subid >= subid)
		ndomain_changes--;
}

/* The transaction ended (its memory, the queue's, is gone). */
void
ms_stats_domain_changes_reset(void)
{
	domain_changes = NULL;
	ndomain_changes = 0;
	domain_changes_cap = 0;
}

/* The dictionary index of a name, 0 when absent; caller holds the lock. */
static uint16
ms_find_domain_locked(const char *name)
{
	int			i;

	for (i = 1; i <= ms_shared->ndomains; i++)
		if (strcmp(NameStr(ms_shared->domains[i]), name) == 0)
			return (uint16) i;
	return 0;
}

static bool
ms_set_has(const MsDomainSet *set, uint16 id)
{
	int			i;

	for (i = 0; i < set->count; i++)
		if (set->ids[i] == id)
			return true;
	return false;
}

/* Replace id "from" by "to" in a sorted set, keeping it sorted. */
static void
ms_set_replace(MsDomainSet *set, uint16 from, uint16 to)
{
	MsDomainSet result;
	int			i;

	memset(&result, 0, sizeof(result));
	for (i = 0; i < set->count; i++)
	{
		uint16		id = (set->ids[i] == from) ? to : set->ids[i];
		int			j;

		if (ms_set_has(&result, id))
			continue;
		for (j = result.count; j > 0 && result.ids[j - 1] > id; j--)
			result.ids[j] = result.ids[j - 1];
		result.ids[j] = id;
		result.count++;
	}
	*set = result;
}

/*
 * Forget the figures of domain index id in database dbid, or all of them
 * with id 0 (allowlist use included).  Caller holds the lock exclusively.
 */
static void
ms_forget_domain_locked(Oid dbid, uint16 id)
{
	HASH_SEQ_STATUS seq;
	MsQueryEntry *qe;
	MsXactEntry *xe;
	MsEventEntry *ee;

	hash_seq_init(&seq, ms_query_hash);
	while ((qe = hash_seq_search(&seq)) != NULL)
		if (qe->key.dbid == dbid &&
			(id == 0 || ms_set_has(&qe->key.domains, id) ||
			 ms_set_has(&qe->key.remote, id)))
			hash_search(ms_query_hash, &qe->key, HASH_REMOVE, NULL);
	hash_seq_init(&seq, ms_xact_hash);
	while ((xe = hash_seq_search(&seq)) != NULL)
		if (xe->key.dbid == dbid && (id == 0 || ms_set_has(&xe->key.domains, id)))
			hash_search(ms_xact_hash, &xe->key, HASH_REMOVE, NULL);
	hash_seq_init(&seq, ms_event_hash);
	while ((ee = hash_seq_search(&seq)) != NULL)
		if (ee->key.dbid == dbid &&
			(id == 0 || (ee->key.kind == MS_EVENT_VIOLATION && ee->key.id == id)))
			hash_search(ms_event_hash, &ee->key, HASH_REMOVE, NULL);
}

/*
 * Move the figures of domain index from to index to in this database,
 * merging them with those already there.  Caller holds the lock
 * exclusively.  The entries are taken out during the scan and entered
 * again after it (dynahash allows removing the current element of a scan,
 * not adding).
 */
static void
ms_rename_domain_locked(uint16 from, uint16 to)
{
	HASH_SEQ_STATUS seq;
	Size		qsize = ms_query_entry_size();
	char	   *moved;
	int			nmoved = 0;
	int			cap;
	int			i;
	MsQueryEntry *qe;
	MsXactEntry *xe;
	MsEventEntry *ee;

	/* statements */
	cap = 16;
	moved = MemoryContextAllocHuge(CurrentMemoryContext, qsize * cap);
	hash_seq_init(&seq, ms_query_hash);
	while ((qe = hash_seq_search(&seq)) != NULL)
	{
		if (qe->key.dbid != MyDatabaseId ||
			(!ms_set_has(&qe->key.domains, from) && !ms_set_has(&qe->key.remote, from)))
			continue;
		if (nmoved == cap)
		{
			cap *= 2;
			moved = repalloc_huge(moved, qsize * cap);
		}
		memcpy(moved + qsize * nmoved++, qe, qsize);
		hash_search(ms_query_hash, &qe->key, HASH_REMOVE, NULL);
	}
	for (i = 0; i < nmoved; i++)
	{
		MsQueryEntry *old = (MsQueryEntry *) (moved + qsize * i);
		bool		found;

		ms_set_replace(&old->key.domains, from, to);
		ms_set_replace(&old->key.remote, from, to);
		if (hash_get_num_entries(ms_query_hash) >= ms_max)
			ms_evict(ms_query_hash, true);
		qe = hash_search(ms_query_hash, &old->key, HASH_ENTER, &found);
		if (!found)
		{
			memcpy(qe, old, qsize);
			SpinLockInit(&qe->mutex);
			continue;
		}
		/* the new name's entry of the same statement: add them up */
		SpinLockAcquire(&qe->mutex);
		qe->calls += old->calls;
		qe->usage += old->usage;
		qe->rows += old->rows;
		qe->total_time += old->total_time;
		qe->first_seen = Min(qe->first_seen, old->first_seen);
		if (old->last_seen > qe->last_seen)
		{
			qe->last_seen = old->last_seen;
			memcpy(qe->appname, old->appname, NAMEDATALEN);
		}
		SpinLockRelease(&qe->mutex);
	}
	pfree(moved);

	/* transactions */
	{
		MsXactEntry *xmoved;

		nmoved = 0;
		cap = 16;
		xmoved = MemoryContextAllocHuge(CurrentMemoryContext,
										sizeof(MsXactEntry) * cap);
		hash_seq_init(&seq, ms_xact_hash);
		while ((xe = hash_seq_search(&seq)) != NULL)
		{
			if (xe->key.dbid != MyDatabaseId || !ms_set_has(&xe->key.domains, from))
				continue;
			if (nmoved == cap)
			{
				cap *= 2;
				xmoved = repalloc_huge(xmoved, sizeof(MsXactEntry) * cap);
			}
			xmoved[nmoved++] = *xe;
			hash_search(ms_xact_hash, &xe->key, HASH_REMOVE, NULL);
		}
		for (i = 0; i < nmoved; i++)
		{
			MsXactEntry *old = &xmoved[i];
			bool		found;
			int			k;

			ms_set_replace(&old->key.domains, from, to);
			if (hash_get_num_entries(ms_xact_hash) >= ms_max)
				ms_evict(ms_xact_hash, false);
			xe = hash_search(ms_xact_hash, &old->key, HASH_ENTER, &found);
			if (!found)
			{
				*xe = *old;
				SpinLockInit(&xe->mutex);
				continue;
			}
			SpinLockAcquire(&xe->mutex);
			xe->count += old->count;
			xe->usage += old->usage;
			xe->first_seen = Min(xe->first_seen, old->first_seen);
			xe->last_seen = Max(xe->last_seen, old->last_seen);
			for (k = 0; k < old->nsamples && xe->nsamples < MS_XACT_SAMPLES; k++)
			{
				int			j;

				for (j = 0; j < xe->nsamples; j++)
					if (xe->samples[j].queryid == old->samples[k].queryid)
						break;
				if (j == xe->nsamples)
					xe->samples[xe->nsamples++] = old->samples[k];
			}
			SpinLockRelease(&xe->mutex);
		}
		pfree(xmoved);
	}

	/* last violation */
	{
		MsEventEntry old;
		bool		have = false;

		hash_seq_init(&seq, ms_event_hash);
		while ((ee = hash_seq_search(&seq)) != NULL)
		{
			if (ee->key.dbid == MyDatabaseId && ee->key.kind == MS_EVENT_VIOLATION &&
				ee->key.id == from)
			{
				old = *ee;
				have = true;
				hash_search(ms_event_hash, &ee->key, HASH_REMOVE, NULL);
			}
		}
		if (have)
		{
			bool		found;

			old.key.id = to;
			ee = hash_search(ms_event_hash, &old.key, HASH_ENTER, &found);
			if (!found)
			{
				*ee = old;
				SpinLockInit(&ee->mutex);
			}
			else
			{
				SpinLockAcquire(&ee->mutex);
				ee->count += old.count;
				ee->last = Max(ee->last, old.last);
				SpinLockRelease(&ee->mutex);
			}
		}
	}
}

/*
 * The committing transaction renamed or dropped domains: move or forget
 * their figures (see MsDomainChange), in the order of the changes.
 */
void
ms_stats_apply_domain_changes(void)
{
	int			c;

	if (ndomain_changes == 0 || ms_shared == NULL)
		return;
	LWLockAcquire(ms_shared->lock, LW_EXCLUSIVE);
	for (c = 0; c < ndomain_changes; c++)
	{
		MsDomainChange *change = &domain_changes[c];
		uint16		from;
		uint16		to;

		if (NameStr(change->old_name)[0] == '\0')
		{
			ms_forget_domain_locked(change->dbid, 0);
			continue;
		}
		from = ms_find_domain_locked(NameStr(change->old_name));
		if (from == 0)
			continue;			/* nothing recorded under that name */
		if (NameStr(change->new_name)[0] == '\0')
		{
			ms_forget_domain_locked(change->dbid, from);
			continue;
		}
		to = ms_find_domain_locked(NameStr(change->new_name));
		if (to == 0 && ms_shared->ndomains < MS_MAX_SHARED_DOMAINS)
		{
			to = (uint16) (ms_shared->ndomains + 1);
			namestrcpy(&ms_shared->domains[to], NameStr(change->new_name));
			ms_shared->ndomains = to;
		}
		if (to == 0)
		{
			/* no room for the new name: the figures cannot follow it */
			ms_forget_domain_locked(change->dbid, from);
			ms_note_dictionary_full();
			continue;
		}
		ms_rename_domain_locked(from, to);
	}
	LWLockRelease(ms_shared->lock);
	ndomain_changes = 0;
}

/* qsort comparator: ascending usage */
static int
ms_usage_cmp(const void *a, const void *b)
{
	double		l = (*(const double *const *) a)[0];
	double		r = (*(const double *const *) b)[0];

	return (l < r) ? -1 : (l > r) ? 1 : 0;
}

/*
 * Evict the least-used entries of a hash.  Caller holds the LWLock
 * exclusively.
 */
static void
ms_evict(HTAB *hash, bool is_query)
{
	HASH_SEQ_STATUS seq;
	void	  **entries;
	void	   *entry;
	int			n = 0;
	int			nvictims;
	int			i;

	entries = palloc(hash_get_num_entries(hash) * sizeof(void *));
	hash_seq_init(&seq, hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		double	   *usage = is_query ? &((MsQueryEntry *) entry)->usage
			: &((MsXactEntry *) entry)->usage;

		*usage *= USAGE_DECREASE_FACTOR;
		entries[n++] = usage;
	}
	qsort(entries, n, sizeof(void *), ms_usage_cmp);

	nvictims = Max(EVICT_MIN, n * EVICT_PERCENT / 100);
	nvictims = Min(nvictims, n);
	for (i = 0; i < nvictims; i++)
	{
		char	   *e = (char *) entries[i] -
			(is_query ? offsetof(MsQueryEntry, usage) : offsetof(MsXactEntry, usage));

		hash_search(hash, e, HASH_REMOVE, NULL);
	}
	pfree(entries);

	SpinLockAcquire(&ms_shared->mutex);
	ms_shared->dealloc += nvictims;
	SpinLockRelease(&ms_shared->mutex);
}

/*
 * Stats file layout: magic, version, domain dictionary, info counters,
 * then each hash as a count followed by its entries.  Statement entries
 * are written without their text buffer, followed by the text length and
 * text, so that migration_split.max_query_text may change across restarts.
 */
static void
ms_shmem_shutdown(int code, Datum arg)
{
	FILE	   *file;
	HASH_SEQ_STATUS seq;
	MsQueryEntry *qe;
	MsXactEntry *xe;
	MsEventEntry *ee;
	uint32		header[2] = {MS_STATS_MAGIC, MS_STATS_VERSION};
	int32		n;

	/* Don't save after a crash, nor when not asked to. */
	if (code != 0 || ms_shared == NULL || !ms_save)
		return;

	file = AllocateFile(MS_STATS_FILE ".tmp", PG_BINARY_W);
	if (file == NULL)
		goto error;

	if (fwrite(header, sizeof(header), 1, file) != 1 ||
		fwrite(&ms_shared->ndomains, sizeof(int), 1, file) != 1 ||
		fwrite(ms_shared->domains, sizeof(NameData),
			   ms_shared->ndomains + 1, file) != ms_shared->ndomains + 1 ||
		fwrite(&ms_shared->dealloc, sizeof(int64), 1, file) != 1 ||
		fwrite(&ms_shared->stats_reset, sizeof(TimestampTz), 1, file) != 1)
		goto error;

	n = hash_get_num_entries(ms_query_hash);
	if (fwrite(&n, sizeof(int32), 1, file) != 1)
		goto error;
	hash_seq_init(&seq, ms_query_hash);
	while ((qe = hash_seq_search(&seq)) != NULL)
	{
		int32		len = strlen(qe->text);

		if (fwrite(qe, offsetof(MsQueryEntry, text), 1, file) != 1 ||
			fwrite(&len, sizeof(int32), 1, file) != 1 ||
			fwrite(qe->text, 1, len, file) != len)
		{
			hash_seq_term(&seq);
			goto error;
		}
	}

	n = hash_get_num_entries(ms_xact_hash);
	if (fwrite(&n, sizeof(int32), 1, file) != 1)
		goto error;
	hash_seq_init(&seq, ms_xact_hash);
	while ((xe = hash_seq_search(&seq)) != NULL)
	{
		if (fwrite(xe, sizeof(MsXactEntry), 1, file) != 1)
		{
			hash_seq_term(&seq);
			goto error;
		}
	}

	n = hash_get_num_entries(ms_event_hash);
	if (fwrite(&n, sizeof(int32), 1, file) != 1)
		goto error;
	hash_seq_init(&seq, ms_event_hash);
	while ((ee = hash_seq_search(&seq)) != NULL)
	{
		if (fwrite(ee, sizeof(MsEventEntry), 1, file) != 1)
		{
			hash_seq_term(&seq);
			goto error;
		}
	}

	if (FreeFile(file))
	{
		file = NULL;
		goto error;
	}
	(void) durable_rename(MS_STATS_FILE ".tmp", MS_STATS_FILE, LOG);
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write file \"%s\": %m", MS_STATS_FILE ".tmp")));
	if (file)
		FreeFile(file);
	unlink(MS_STATS_FILE ".tmp");
}

/* Is a domain set read from the statistics file usable? */
static bool
ms_domain_set_valid(const MsDomainSet *set, int ndomains)
{
	int			i;

	if (set->count < 0 || set->count > MS_ENTRY_DOMAINS)
		return false;
	for (i = 0; i < set->count; i++)
		if (set->ids[i] < 1 || set->ids[i] > ndomains)
			return false;
	return true;
}

/* Does a table list read from the file end with "" inside the field? */
static bool
ms_tables_valid(const char *tables)
{
	Size		len = 0;

	while (len < MS_TABLES_LEN && tables[len] != '\0')
		len += strnlen(tables + len, MS_TABLES_LEN - len) + 1;
	return len < MS_TABLES_LEN;
}

/*
 * Load the statistics saved at the last clean shutdown, then remove the
 * file so that a crash does not bring back stale numbers.
 */
static void
ms_load_file(void)
{
	FILE	   *file;
	uint32		header[2];
	int32		n;
	int			ndomains;
	int			i;
	int			j;
	char	   *text = NULL;

	file = AllocateFile(MS_STATS_FILE, PG_BINARY_R);
	if (file == NULL)
	{
		if (errno != ENOENT)
			goto read_error;
		return;
	}

	if (fread(header, sizeof(header), 1, file) != 1 ||
		header[0] != MS_STATS_MAGIC)
		goto data_error;
	/* another layout (an older version of the library): start empty */
	if (header[1] != MS_STATS_VERSION)
	{
		ereport(LOG,
				(errmsg("ignoring file \"%s\" of format version %u",
						MS_STATS_FILE, header[1]),
				 errdetail("This version of migration_split reads format version %d only; the runtime statistics start empty.",
						   MS_STATS_VERSION)));
		goto fail;
	}
	if (fread(&ndomains, sizeof(int), 1, file) != 1 ||
		ndomains < 0 || ndomains > MS_MAX_SHARED_DOMAINS ||
		fread(ms_shared->domains, sizeof(NameData), ndomains + 1, file) != ndomains + 1)
		goto data_error;
	for (i = 1; i <= ndomains; i++)
		if (NameStr(ms_shared->domains[i])[NAMEDATALEN - 1] != '\0')
			goto data_error;
	ms_shared->ndomains = ndomains;
	if (fread(&ms_shared->dealloc, sizeof(int64), 1, file) != 1 ||
		fread(&ms_shared->stats_reset, sizeof(TimestampTz), 1, file) != 1)
		goto data_error;

	if (fread(&n, sizeof(int32), 1, file) != 1)
		goto data_error;
	text = palloc(ms_max_text);
	for (i = 0; i < n; i++)
	{
		MsQueryEntry *entry;
		MsQueryEntry *tmp = palloc(offsetof(MsQueryEntry, text));
		int32		len;
		bool		found;

		if (fread(tmp, offsetof(MsQueryEntry, text), 1, file) != 1 ||
			!ms_domain_set_valid(&tmp->key.domains, ndomains) ||
			!ms_domain_set_valid(&tmp->key.remote, ndomains) ||
			!ms_tables_valid(tmp->tables) ||
			fread(&len, sizeof(int32), 1, file) != 1 || len < 0 || len > 1024 * 1024)
			goto data_error;
		{
			char	   *buf = palloc(len + 1);

			if (fread(buf, 1, len, file) != len)
				goto data_error;
			buf[len] = '\0';
			len = pg_mbcliplen(buf, len, ms_max_text - 1);
			memcpy(text, buf, len);
			text[len] = '\0';
			pfree(buf);
		}
		if (hash_get_num_entries(ms_query_hash) >= ms_max)
			continue;
		entry = hash_search(ms_query_hash, &tmp->key, HASH_ENTER, &found);
		memcpy(entry, tmp, offsetof(MsQueryEntry, text));
		SpinLockInit(&entry->mutex);
		strcpy(entry->text, text);
		pfree(tmp);
	}

	if (fread(&n, sizeof(int32), 1, file) != 1)
		goto data_error;
	for (i = 0; i < n; i++)
	{
		MsXactEntry tmp;
		MsXactEntry *entry;
		bool		found;

		if (fread(&tmp, sizeof(tmp), 1, file) != 1 ||
			!ms_domain_set_valid(&tmp.key.domains, ndomains) ||
			tmp.nsamples < 0 || tmp.nsamples > MS_XACT_SAMPLES)
			goto data_error;
		for (j = 0; j < tmp.nsamples; j++)
			tmp.samples[j].text[MS_XACT_TEXT_LEN - 1] = '\0';
		if (hash_get_num_entries(ms_xact_hash) >= ms_max)
			continue;
		entry = hash_search(ms_xact_hash, &tmp.key, HASH_ENTER, &found);
		*entry = tmp;
		SpinLockInit(&entry->mutex);
	}

	if (fread(&n, sizeof(int32), 1, file) != 1)
		goto data_error;
	for (i = 0; i < n; i++)
	{
		MsEventEntry tmp;
		MsEventEntry *entry;
		bool		found;

		if (fread(&tmp, sizeof(tmp), 1, file) != 1)
			goto data_error;
		if (hash_get_num_entries(ms_event_hash) >= MS_EVENT_MAX)
			continue;
		entry = hash_search(ms_event_hash, &tmp.key, HASH_ENTER, &found);
		*entry = tmp;
		SpinLockInit(&entry->mutex);
	}

	FreeFile(file);
	pfree(text);
	unlink(MS_STATS_FILE);
	return;

read_error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not read file \"%s\": %m", MS_STATS_FILE)));
	goto fail;
data_error:
	ereport(LOG,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ignoring invalid data in file \"%s\"", MS_STATS_FILE)));
fail:
	if (file)
		FreeFile(file);
	unlink(MS_STATS_FILE);
}

/* Empty all hashes under the exclusive lock. */
static void
ms_reset_all(void)
{
	HASH_SEQ_STATUS seq;
	void	   *entry;
	HTAB	   *hashes[3] = {ms_query_hash, ms_xact_hash, ms_event_hash};
	int			h;

	LWLockAcquire(ms_shared->lock, LW_EXCLUSIVE);
	for (h = 0; h < 3; h++)
	{
		hash_seq_init(&seq, hashes[h]);
		while ((entry = hash_seq_search(&seq)) != NULL)
			hash_search(hashes[h], entry, HASH_REMOVE, NULL);
	}
	SpinLockAcquire(&ms_shared->mutex);
	ms_shared->dealloc = 0;
	ms_shared->stats_reset = GetCurrentTimestamp();
	SpinLockRelease(&ms_shared->mutex);
	LWLockRelease(ms_shared->lock);
}

/* text[] of the names of a domain set; caller holds the LWLock. */
static Datum
ms_domain_array(const MsDomainSet *set)
{
	Datum		elems[MS_ENTRY_DOMAINS];
	const char *names[MS_ENTRY_DOMAINS];
	int			i;
	int			j;

	/* sorted by name, for stable output */
	for (i = 0; i < set->count; i++)
	{
		const char *name = NameStr(ms_shared->domains[set->ids[i]]);

		for (j = i; j > 0 && strcmp(names[j - 1], name) > 0; j--)
			names[j] = names[j - 1];
		names[j] = name;
	}
	for (i = 0; i < set->count; i++)
		elems[i] = CStringGetTextDatum(names[i]);
	return PointerGetDatum(construct_array(elems, set->count, TEXTOID, -1,
										   false, TYPALIGN_INT));
}

static const char *
ms_kind_name(CmdType kind)
{
	switch (kind)
	{
		case CMD_SELECT:
			return "select";
		case CMD_INSERT:
			return "insert";
		case CMD_UPDATE:
			return "update";
		case CMD_DELETE:
			return "delete";
		case CMD_MERGE:
			return "merge";
		default:
			return "other";
	}
}

/*
 * The current qualified name of table relid of this database, or NULL when
 * it no longer exists.  Catalog access: never under the LWLock.
 */
static char *
ms_current_table_name(Oid relid)
{
	char	   *relname;
	char	   *nspname;

	if (!OidIsValid(relid))
		return NULL;
	relname = get_rel_name(relid);
	if (relname == NULL)
		return NULL;
	nspname = get_namespace_name(get_rel_namespace(relid));
	if (nspname == NULL)
		return NULL;
	return quote_qualified_identifier(nspname, relname);
}

/* One row of cross_domain_queries, copied out of shared memory. */
typedef struct MsQueryRow
{
	Datum		values[14];
	bool		nulls[14];
	bool		visible;
	Oid			dbid;
	char		tables[MS_TABLES_LEN];
	Oid			relids[MS_ENTRY_TABLES];
} MsQueryRow;

/*
 * migration_split.cross_domain_queries: one row per statement entry.
 * pg_stat_statements' rule: superusers and members of pg_read_all_stats
 * see everything; others see their own rows in full, and of other users'
 * rows only the figures (user, database, domains, kind, calls, times,
 * remote domains, rows): queryid, tables and application_name are NULL
 * and the query text is "<insufficient privilege>".  The last three
 * columns (1.1) are filled only when the declaration has them: the 1.0
 * one has eleven columns.
 *
 * The tables of entries of this database are named as the catalog names
 * them now (a table renamed or moved to another schema since the entry was
 * recorded shows its new name); the names recorded with the entry serve
 * for tables dropped since, tables beyond the MS_ENTRY_TABLES first, and
 * entries of other databases.  The rows are copied under the LWLock, the
 * names looked up after it is released.
 */
Datum
ms_cross_domain_queries(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	MsQueryEntry *entry;
	Oid			userid = GetUserId();
	bool		all_texts;
	MsQueryRow *rows;
	long		nrows = 0;
	long		maxrows;
	long		r;

	ms_stats_require();
	all_texts = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != 11 && rsinfo->setDesc->natts != 14)
		elog(ERROR, "cross_domain_queries_internal() declared with %d columns",
			 rsinfo->setDesc->natts);

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	maxrows = hash_get_num_entries(ms_query_hash);
	/* about 500 bytes an entry: more than 1 GB past 2 million entries */
	rows = MemoryContextAllocHuge(CurrentMemoryContext,
								  sizeof(MsQueryRow) * Max(maxrows, 1));
	hash_seq_init(&seq, ms_query_hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		MsQueryRow *row;
		int64		calls;
		int64		nrows_processed;
		double		total_time;
		TimestampTz first_seen;
		TimestampTz last_seen;
		char		appname[NAMEDATALEN];
		bool		visible;
		int			i = 0;

		if (nrows >= maxrows)
		{
			hash_seq_term(&seq);
			break;
		}
		row = &rows[nrows++];
		memset(row->nulls, 0, sizeof(row->nulls));

		SpinLockAcquire(&entry->mutex);
		calls = entry->calls;
		first_seen = entry->first_seen;
		last_seen = entry->last_seen;
		memcpy(appname, entry->appname, NAMEDATALEN);
		nrows_processed = entry->rows;
		total_time = entry->total_time;
		SpinLockRelease(&entry->mutex);

		visible = (all_texts || entry->key.userid == userid);
		row->visible = visible;
		row->dbid = entry->key.dbid;
		if (visible)
		{
			memcpy(row->tables, entry->tables, MS_TABLES_LEN);
			memcpy(row->relids, entry->relids, sizeof(row->relids));
		}

		row->nulls[i] = !visible;
		row->values[i++] = Int64GetDatumFast((int64) entry->key.queryid);
		row->values[i++] = ObjectIdGetDatum(entry->key.userid);
		row->values[i++] = ObjectIdGetDatum(entry->key.dbid);
		row->values[i++] = ms_domain_array(&entry->key.domains);
		/* tables: filled in below */
		row->nulls[i] = !visible;
		row->values[i++] = (Datum) 0;
		row->values[i++] = CStringGetTextDatum(ms_kind_name(entry->kind));
		row->values[i++] = Int64GetDatumFast(calls);
		row->values[i++] = TimestampTzGetDatum(first_seen);
		row->values[i++] = TimestampTzGetDatum(last_seen);
		row->nulls[i] = !visible;
		row->values[i++] = visible ? CStringGetTextDatum(appname) : (Datum) 0;
		if (visible)
			row->values[i++] = CStringGetTextDatum(entry->text);
		else
			row->values[i++] = CStringGetTextDatum("<insufficient privilege>");
		/* 1.1: remote calls, their rows and time (NULL for other entries) */
		row->values[i++] = ms_domain_array(&entry->key.remote);
		row->nulls[i] = (entry->key.remote.count == 0);
		row->values[i++] = Int64GetDatumFast(nrows_processed);
		row->nulls[i] = (entry->key.remote.count == 0);
		row->values[i++] = Float8GetDatumFast(total_time);
	}
	LWLockRelease(ms_shared->lock);

	for (r = 0; r < nrows; r++)
	{
		MsQueryRow *row = &rows[r];

		if (row->visible)
		{
			Datum		tables[MS_TABLES_LEN / 2];
			int			ntables = 0;
			const char *t;

			for (t = row->tables; *t != '\0'; t += strlen(t) + 1)
			{
				char	   *name = NULL;

				if (row->dbid == MyDatabaseId && ntables < MS_ENTRY_TABLES)
					name = ms_current_table_name(row->relids[ntables]);
				tables[ntables++] = CStringGetTextDatum(name ? name : t);
			}
			row->values[4] = PointerGetDatum(construct_array(tables, ntables,
															 TEXTOID, -1, false,
															 TYPALIGN_INT));
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row->values,
							 row->nulls);
	}

	return (Datum) 0;
}

/*
 * migration_split.cross_domain_transactions: one row per set of domains
 * written together by committed transactions, with the statements that
 * wrote (query id, user, normalized text).  As in cross_domain_queries
 * (pg_stat_statements' rule), a writer's query id and text show only to the
 * user who ran it, superusers and members of pg_read_all_stats.
 */
Datum
ms_cross_domain_transactions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	MsXactEntry *entry;
	Oid			userid = GetUserId();
	bool		all_texts;

	ms_stats_require();
	all_texts = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != 6 && rsinfo->setDesc->natts != 8)
		elog(ERROR, "cross_domain_transactions_internal() declared with %d columns",
			 rsinfo->setDesc->natts);

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	hash_seq_init(&seq, ms_xact_hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[8];
		bool		nulls[8] = {0};
		MsXactEntry copy;
		Datum		samples[MS_XACT_SAMPLES];
		Datum		userids[MS_XACT_SAMPLES];
		Datum		texts[MS_XACT_SAMPLES];
		bool		text_nulls[MS_XACT_SAMPLES];
		bool		sample_nulls[MS_XACT_SAMPLES];
		int			dims[1];
		int			lbs[1] = {1};
		int			i;

		SpinLockAcquire(&entry->mutex);
		copy = *entry;
		SpinLockRelease(&entry->mutex);

		for (i = 0; i < copy.nsamples; i++)
		{
			MsXactSample *sample = &copy.samples[i];

			bool		visible = all_texts || sample->userid == userid;

			/* query ids and texts under the rule of cross_domain_queries */
			sample_nulls[i] = !visible;
			samples[i] = visible ? Int64GetDatum((int64) sample->queryid) : (Datum) 0;
			userids[i] = ObjectIdGetDatum(sample->userid);
			text_nulls[i] = (sample->text[0] == '\0' || !visible);
			texts[i] = text_nulls[i] ? (Datum) 0 :
				CStringGetTextDatum(sample->text);
		}
		dims[0] = copy.nsamples;

		values[0] = ObjectIdGetDatum(copy.key.dbid);
		values[1] = ms_domain_array(&copy.key.domains);
		values[2] = Int64GetDatumFast(copy.count);
		values[3] = TimestampTzGetDatum(copy.first_seen);
		values[4] = TimestampTzGetDatum(copy.last_seen);
		values[5] = PointerGetDatum(construct_md_array(samples, sample_nulls, 1,
													   dims, lbs, INT8OID, 8,
													   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[6] = PointerGetDatum(construct_array(userids, copy.nsamples,
													OIDOID, sizeof(Oid), true,
													TYPALIGN_INT));
		values[7] = PointerGetDatum(construct_md_array(texts, text_nulls, 1,
													   dims, lbs, TEXTOID, -1,
													   false, TYPALIGN_INT));
		/* the 1.0 declaration has the first six columns only */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(ms_shared->lock);

	return (Datum) 0;
}

/*
 * migration_split.monitor_info: evictions and the time of the last reset,
 * the current number of entries and the configured maximum, and the shared
 * memory used: in total and per statement and transaction entry (entry,
 * hash element header and bucket share, as hash_estimate_size counts);
 * then the domain names in the shared dictionary, its capacity, and how
 * often a domain could not be recorded because it was full (since the
 * server started).
 */
Datum
ms_monitor_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[11];
	bool		nulls[11] = {0};

	ms_stats_require();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	values[2] = Int64GetDatum(hash_get_num_entries(ms_query_hash));
	values[3] = Int64GetDatum(hash_get_num_entries(ms_xact_hash));
	values[8] = Int32GetDatum(ms_shared->ndomains);
	LWLockRelease(ms_shared->lock);
	SpinLockAcquire(&ms_shared->mutex);
	values[0] = Int64GetDatum(ms_shared->dealloc);
	values[1] = TimestampTzGetDatum(ms_shared->stats_reset);
	values[10] = Int64GetDatum(ms_shared->domains_refused);
	SpinLockRelease(&ms_shared->mutex);
	values[9] = Int32GetDatum(MS_MAX_SHARED_DOMAINS);
	values[4] = Int32GetDatum(ms_max);
	values[5] = Int64GetDatum((int64) ms_shmem_size());
	values[6] = Int64GetDatum((int64) (hash_estimate_size(ms_max * 2, ms_query_entry_size()) -
									   hash_estimate_size(ms_max, ms_query_entry_size())) / ms_max);
	values[7] = Int64GetDatum((int64) (hash_estimate_size(ms_max * 2, sizeof(MsXactEntry)) -
									   hash_estimate_size(ms_max, sizeof(MsXactEntry))) / ms_max);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
ms_monitor_reset(PG_FUNCTION_ARGS)
{
	ms_stats_require();
	ms_reset_all();
	PG_RETURN_VOID();
}

Datum
ms_monitor_loaded(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ms_stats_available());
}

/*
 * Per-domain runtime figures of the current database, for
 * migration_split.domain_runtime_stats(): statements and calls that
 * involved the domain with another one, cross-domain transactions that
 * wrote to it, the last enforcement violation by or against it, and (1.1)
 * the remote calls into it through its read path: statements, calls, rows
 * and milliseconds.  A statement counts once per domain however many
 * entries it has (one per set of domains its calls crossed).  Returns no
 * rows when the library is not preloaded, so that static reports built on
 * it keep working.
 */
typedef struct MsStatementOfDomain
{
	uint32		domain;			/* shared index; + MS_MAX_SHARED_DOMAINS + 1
								 * for a remote call */
	Oid			userid;
	uint64		queryid;
} MsStatementOfDomain;

/* First entry of statement (userid, queryid) seen for this domain? */
static bool
ms_first_of_domain(HTAB *seen, uint32 domain, const MsQueryKey *key)
{
	MsStatementOfDomain k;
	bool		found;

	k.domain = domain;
	k.userid = key->userid;
	k.queryid = key->queryid;
	(void) hash_search(seen, &k, HASH_ENTER, &found);
	return !found;
}

Datum
ms_domain_runtime_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	MsQueryEntry *qe;
	MsXactEntry *xe;
	MsEventEntry *ee;
	int64	   *queries;
	int64	   *calls;
	int64	   *xacts;
	int64	   *rqueries;
	int64	   *rcalls;
	int64	   *rrows;
	double	   *rtime;
	TimestampTz *last;
	int			ndomains;
	int			i;
	HTAB	   *seen;
	HASHCTL		ctl;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != 5 && rsinfo->setDesc->natts != 9)
		elog(ERROR, "domain_runtime_stats_internal() declared with %d columns",
			 rsinfo->setDesc->natts);
	if (!ms_stats_available())
		return (Datum) 0;

	queries = palloc0(sizeof(int64) * (MS_MAX_SHARED_DOMAINS + 1));
	calls = palloc0(sizeof(int64) * (MS_MAX_SHARED_DOMAINS + 1));
	rqueries = palloc0(sizeof(int64) * (MS_MAX_SHARED_DOMAINS + 1));
	rcalls = palloc0(sizeof(int64) * (MS_MAX_SHARED_DOMAINS + 1));
	rrows = palloc0(sizeof(int64) * (MS_MAX_SHARED_DOMAINS + 1));
	rtime = palloc0(sizeof(double) * (MS_MAX_SHARED_DOMAINS + 1));
	xacts = palloc0(sizeof(int64) * (MS_MAX_SHARED_DOMAINS + 1));
	last = palloc0(sizeof(TimestampTz) * (MS_MAX_SHARED_DOMAINS + 1));
	ctl.keysize = sizeof(MsStatementOfDomain);
	ctl.entrysize = sizeof(MsStatementOfDomain);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("migration_split statements of domains", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	ndomains = ms_shared->ndomains;
	hash_seq_init(&seq, ms_query_hash);
	while ((qe = hash_seq_search(&seq)) != NULL)
	{
		int64		c;
		int64		r;
		double		t;

		if (qe->key.dbid != MyDatabaseId)
			continue;
		SpinLockAcquire(&qe->mutex);
		c = qe->calls;
		r = qe->rows;
		t = qe->total_time;
		SpinLockRelease(&qe->mutex);
		/* a remote call into one domain only crosses nothing else */
		if (qe->key.domains.count >= 2)
			for (i = 0; i < qe->key.domains.count; i++)
			{
				if (ms_first_of_domain(seen, qe->key.domains.ids[i], &qe->key))
					queries[qe->key.domains.ids[i]]++;
				calls[qe->key.domains.ids[i]] += c;
			}
		for (i = 0; i < qe->key.remote.count; i++)
		{
			if (ms_first_of_domain(seen, qe->key.remote.ids[i] + MS_MAX_SHARED_DOMAINS + 1,
								   &qe->key))
				rqueries[qe->key.remote.ids[i]]++;
			rcalls[qe->key.remote.ids[i]] += c;
			rrows[qe->key.remote.ids[i]] += r;
			rtime[qe->key.remote.ids[i]] += t;
		}
	}
	hash_seq_init(&seq, ms_xact_hash);
	while ((xe = hash_seq_search(&seq)) != NULL)
	{
		int64		c;

		if (xe->key.dbid != MyDatabaseId)
			continue;
		SpinLockAcquire(&xe->mutex);
		c = xe->count;
		SpinLockRelease(&xe->mutex);
		for (i = 0; i < xe->key.domains.count; i++)
			xacts[xe->key.domains.ids[i]] += c;
	}
	hash_seq_init(&seq, ms_event_hash);
	while ((ee = hash_seq_search(&seq)) != NULL)
	{
		if (ee->key.dbid != MyDatabaseId || ee->key.kind != MS_EVENT_VIOLATION ||
			ee->key.id < 1 || ee->key.id > ndomains)
			continue;
		SpinLockAcquire(&ee->mutex);
		last[ee->key.id] = ee->last;
		SpinLockRelease(&ee->mutex);
	}

	for (i = 1; i <= ndomains; i++)
	{
		Datum		values[9];
		bool		nulls[9] = {0};

		if (queries[i] == 0 && xacts[i] == 0 && last[i] == 0 &&
			rqueries[i] == 0)
			continue;
		values[0] = CStringGetTextDatum(NameStr(ms_shared->domains[i]));
		values[1] = Int64GetDatum(queries[i]);
		values[2] = Int64GetDatum(calls[i]);
		values[3] = Int64GetDatum(xacts[i]);
		values[4] = TimestampTzGetDatum(last[i]);
		nulls[4] = (last[i] == 0);
		/* 1.1 (the 1.0 declaration stops at last_violation) */
		values[5] = Int64GetDatum(rqueries[i]);
		values[6] = Int64GetDatum(rcalls[i]);
		values[7] = Int64GetDatum(rrows[i]);
		values[8] = Float8GetDatum(rtime[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(ms_shared->lock);

	return (Datum) 0;
}

/*
 * Use of the allowlist entries of the current database: how many
 * statements each entry exempted, and when it last did.
 */
Datum
ms_allowlist_usage(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	MsEventEntry *ee;

	ms_stats_require();
	InitMaterializedSRF(fcinfo, 0);

	LWLockAcquire(ms_shared->lock, LW_SHARED);
	hash_seq_init(&seq, ms_event_hash);
	while ((ee = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[3];
		bool		nulls[3] = {0};

		if (ee->key.dbid != MyDatabaseId || ee->key.kind != MS_EVENT_EXEMPTION)
			continue;
		SpinLockAcquire(&ee->mutex);
		values[1] = Int64GetDatum(ee->count);
		values[2] = TimestampTzGetDatum(ee->last);
		SpinLockRelease(&ee->mutex);
		values[0] = Int64GetDatum(ee->key.id);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(ms_shared->lock);

	return (Datum) 0;
}
