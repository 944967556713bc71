/*-------------------------------------------------------------------------
 *
 * decoder.c
 *		Logical decoding output plugin "migration_split": the committed
 *		changes of the tables one or more domains own, as one JSON object
 *		per message, ready for the replication job to apply.
 *
 * The output format is documented in the README (section "decoder") and is
 * the contract with the replication job, versioned in protocol.h: B/C
 * around each transaction that has at least one message for the
 * domain(s), R (relation metadata; relid and each column's attnum identify
 * the source table and its columns) before the first change of a relation
 * and again after it changed, I/U/D/T row changes and truncates, O when a
 * table joins or leaves the domain(s), M for logical messages with prefix
 * "migration_split", and S/E/A plus a streamed C for in-progress
 * transactions when the consumer asks for stream-changes (changes inside
 * a stream name the subtransaction they belong to).
 *
 * Deciding what to emit.  Ownership comes from the ownership cache
 * (ownership_cache.c), which reads migration_split.ownership through the
 * catalog snapshot; during decoding that is the historic snapshot, so a
 * tag takes effect exactly at the commit that made it.  The decision is
 * taken once per relation and kept in this plugin's relation cache,
 * together with everything needed to print the relation's changes (output
 * functions, key columns, partition-to-root column map, the R message).
 * Two things make an entry stale.  The ownership decision follows the
 * ownership cache's generation (ms_ownership_generation): any flush of
 * that cache, including one caused by ALTER TABLE ... INHERIT on an
 * ancestor, makes every entry decide again at its next use (R is sent
 * again only if its text changed).  The relation's own shape follows a
 * relcache invalidation callback: DDL on the table marks its entry (and
 * its partitions') stale and the R message is sent again.  Decoding
 * replays both kinds of invalidation at the right LSN.  A change of a
 * table the domain does not own costs one hash lookup.
 *
 * Membership events.  A change of migration_split.ownership itself (a
 * user_catalog_table, decoded like any table) produces O messages for the
 * tagged table and its inheritance children; a table whose decision flips
 * for another reason gets its O before its next change.
 *
 * Rewrites.  The plugin receives the rows ALTER TABLE writes into the new
 * heap of a table it rewrites (receive_rewrites): none is emitted, but the
 * next R of a table of the domain lists the columns they gave values, and
 * R carries the value a column added with a constant default has in the
 * rows that existed (attmissingval), so that a consumer adding the column
 * knows what the existing rows hold (ms_rewrite_change, ms_build_entry).
 *
 * Memory.  Session state (options, relation cache) lives in children of
 * ctx->context and disappears with the decoding context.  Everything done
 * for one change (deformed tuples, detoasted values, output function
 * results) happens in a per-change context that is reset after each
 * change, so the plugin holds no memory proportional to a transaction: in
 * particular it never holds more than logical_decoding_work_mem worth of a
 * streamed transaction.  Each owned relation has a small context of its
 * own for its cached metadata, reset when the entry is rebuilt.  With
 * batch-writes, the messages of the current write wait in a buffer of the
 * session (at most MS_BATCH_BYTES plus one message), written at the end of
 * every transaction and stream block.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/attmap.h"
#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/tupdesc_details.h"
#include "catalog/pg_class.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "commands/defrem.h"
#include "nodes/bitmapset.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "decoder.h"
#include "migration_split.h"
#include "protocol.h"

/* Prefix of the logical messages that pass through (pg_logical_emit_message). */
#define MS_MESSAGE_PREFIX	MS_PROTO_MESSAGE_PREFIX

/*
 * With batch-writes, a write is made once the batch holds this much (or at
 * the end of a transaction or stream block).
 */
#define MS_BATCH_BYTES		(64 * 1024)

extern void _PG_output_plugin_init(OutputPluginCallbacks *cb);

/* One output column: a non-dropped, non-generated column of the reported relation. */
typedef struct MsColumn
{
	AttrNumber	inattno;		/* its attnum in the changed relation */
	bool		isvarlena;		/* may hold an unchanged TOAST pointer */
	bool		key;			/* part of the replica identity */
	bool		oldkey;			/* written in the old key of U and D */
	MsOutKind	kind;			/* fast path for the value's text */
	FmgrInfo	outfunc;		/* type output function */
} MsColumn;

/*
 * What the plugin knows about one relation whose changes it has seen.
 * Entries are never removed during a session, only marked stale; dynahash
 * keeps their addresses stable.
 */
typedef struct MsRelEntry
{
	Oid			relid;			/* hash key: the changed relation */
	bool		valid;			/* false: rebuild before next use */
	uint64		generation;		/* ms_ownership_generation when decided */
	bool		owned;			/* changes are emitted */
	bool		warned_no_key;	/* WARNING about replica identity given */
	bool		is_owner_table; /* migration_split.ownership itself */
	char		member;			/* MS_MEMBER_*: the consumer's view of it */
	bool		announce;		/* membership changed: O before next change */
	bool		schema_sent;	/* R message sent ... */
	TransactionId schema_sent_xid;	/* ... inside this stream, or outside */
	List	   *rewritten_cols; /* an ALTER TABLE rewrote its rows, giving
								 * these columns (names, in
								 * MsRelCacheContext) non-null values */
	Oid			report_relid;	/* relation named in the output */
	struct MsRelEntry *report;	/* its entry: keeps the sent/warned state */
	bool		has_key;		/* the old key of U and D is usable */
	char	   *keycols;		/* ,"key_columns":[..] when the old key is
								 * the partition's own, or NULL */
	MemoryContext cxt;			/* owns everything below; NULL until owned */
	int			ncols;
	MsColumn   *cols;
	char	   *ident;			/* "relid":N,"schema":"..","table":".." */
	int			identlen;
	char	   *rmsg;			/* the complete R message */
	int			rmsglen;
	int			natts;			/* attributes of the changed relation */
	Datum	   *values;			/* deform buffers, natts long */
	bool	   *nulls;
} MsRelEntry;

/*
 * Whether the consumer knows a relation as in the domain(s): unknown until
 * the relation is first decided in this session (the consumer's copy and
 * the stream agree then), afterwards as last decided or announced by O.
 */
#define MS_MEMBER_UNKNOWN	0
#define MS_MEMBER_IN		1
#define MS_MEMBER_OUT		2

/* Per-session state, in ctx->output_plugin_private. */
typedef struct MsDecodingState
{
	MemoryContext change_cxt;	/* reset after every change */
	int			ndomains;
	MsDomainId *domains;
	bool		include_xids;
	bool		include_timestamp;
	bool		include_lsn;
	bool		skip_empty_xacts;
	bool		stream_changes;
	bool		batch_writes;	/* several messages per write */
	StringInfo	batch;			/* with batch_writes: messages not yet written */

	bool		xact_wrote_begin;	/* B sent for the current transaction */
	bool		in_stream;		/* between stream start and stop */
	bool		stream_wrote_start; /* S sent for the current stream block */
	TransactionId stream_xid;	/* top-level xid of the current stream */

	struct MsRelEntry *last_entry;	/* entry of the last changed relation */
	Oid			last_rewrite;	/* transient heap of the current rewrite */
	struct MsRelEntry *rewrite_entry;	/* entry of the table it rewrites */
	int			rewrite_ncols;	/* that entry's ncols then */
	bool	   *rewrite_seen;	/* its output columns already listed */
} MsDecodingState;

/* Per streamed transaction, in txn->output_plugin_private of the top level. */
typedef struct MsStreamTxn
{
	bool		any_changes;	/* a stream block of it was emitted */
} MsStreamTxn;

/*
 * The relation cache of the active decoding session.  Static because the
 * relcache callback cannot be unregistered; the hash lives in a child of
 * ctx->context and the pointer is cleared when that context goes away.
 */
static HTAB *MsRelCache = NULL;
static MemoryContext MsRelCacheContext = NULL;
static bool MsRelCacheHasReported = false;	/* some entry reports another rel */
static bool MsRelCallbackRegistered = false;

static void ms_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
					   bool is_init);
static void ms_shutdown(LogicalDecodingContext *ctx);
static void ms_begin_txn(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void ms_commit_txn(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
						  XLogRecPtr commit_lsn);
static void ms_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					  Relation relation, ReorderBufferChange *change);
static void ms_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
						int nrelations, Relation relations[],
						ReorderBufferChange *change);
static void ms_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					   XLogRecPtr message_lsn, bool transactional,
					   const char *prefix, Size message_size,
					   const char *message);
static void ms_stream_start(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void ms_stream_stop(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void ms_stream_abort(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
							XLogRecPtr abort_lsn);
static void ms_stream_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
							 XLogRecPtr commit_lsn);

static void ms_parse_options(MsDecodingState *state, List *options);
static void ms_relcache_setup(MemoryContext parent);
static void ms_relcache_reset_cb(void *arg);
static void ms_relcache_invalidate(Datum arg, Oid relid);
static void ms_init_entry(MsRelEntry *entry);
static MsRelEntry *ms_lookup_entry(MsDecodingState *state, Relation relation);
static void ms_build_entry(MsDecodingState *state, MsRelEntry *entry,
						   Relation relation, MsDomainId domain);
static StringInfo ms_msg_start(LogicalDecodingContext *ctx);
static void ms_msg_end(LogicalDecodingContext *ctx, bool end_batch);
static void ms_write_header(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void ms_write_relation(LogicalDecodingContext *ctx, MsRelEntry *entry);
static void ms_write_xact(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
						  char action, XLogRecPtr commit_lsn, bool streamed);
static void ms_write_change_start(MsDecodingState *state, StringInfo out,
								  char action, TransactionId xid);
static void ms_emit_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
						   Relation relation, ReorderBufferChange *change,
						   MsRelEntry *entry);
static void ms_announce_entry(LogicalDecodingContext *ctx,
							  ReorderBufferTXN *txn,
							  ReorderBufferChange *change, MsRelEntry *entry);
static void ms_rewrite_change(LogicalDecodingContext *ctx, Relation relation,
							  ReorderBufferChange *change);
static void ms_ownership_change(LogicalDecodingContext *ctx,
								ReorderBufferTXN *txn, Relation relation,
								ReorderBufferChange *change);
static void ms_write_values(StringInfo out, MsRelEntry *entry,
							TupleDesc desc, HeapTuple tuple, bool keyonly,
							bool deformed);

/*
 * Register the callbacks of the output plugin.
 */
void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = ms_startup;
	cb->begin_cb = ms_begin_txn;
	cb->change_cb = ms_change;
	cb->truncate_cb = ms_truncate;
	cb->commit_cb = ms_commit_txn;
	cb->message_cb = ms_message;
	cb->shutdown_cb = ms_shutdown;
	cb->stream_start_cb = ms_stream_start;
	cb->stream_stop_cb = ms_stream_stop;
	cb->stream_abort_cb = ms_stream_abort;
	cb->stream_commit_cb = ms_stream_commit;
	cb->stream_change_cb = ms_change;
	cb->stream_message_cb = ms_message;
	cb->stream_truncate_cb = ms_truncate;
}

/*
 * Parse a boolean option the way test_decoding does: a bare option means
 * true.
 */
static bool
ms_bool_option(DefElem *elem)
{
	bool		result;

	if (elem->arg == NULL)
		return true;
	if (!parse_bool(strVal(elem->arg), &result))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not parse value \"%s\" for parameter \"%s\"",
						strVal(elem->arg), elem->defname)));
	return result;
}

/*
 * The option proto-version: the consumer names the protocol version it
 * speaks (protocol.h).  Any other than ours is refused, naming both, so
 * that a job and a plugin of different versions never misread each other.
 * Without the option, the current version is assumed (pg_recvlogical,
 * pg_logical_slot_get_changes).
 */
static void
ms_check_proto_version(DefElem *elem)
{
	int32		version;
	char	   *end;

	if (elem->arg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" needs a value", elem->defname),
				 errhint("This output plugin speaks protocol version %d.",
						 MS_PROTOCOL_VERSION)));
	errno = 0;
	version = strtol(strVal(elem->arg), &end, 10);
	if (errno != 0 || *end != '\0' || end == strVal(elem->arg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not parse value \"%s\" for parameter \"%s\"",
						strVal(elem->arg), elem->defname)));
	if (version != MS_PROTOCOL_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("client requested protocol version %d, but the output plugin \"%s\" speaks protocol version %d",
						version, MS_PROTO_PLUGIN_NAME, MS_PROTOCOL_VERSION),
				 errdetail("Plugin and consumer of different protocol versions would misread each other's messages."),
				 errhint("Use a migration-split job of the same release as the extension's library on the source.")));
}

/*
 * Parse the plugin options into state.  Called with the session's memory
 * context current.
 */
static void
ms_parse_options(MsDecodingState *state, List *options)
{
	ListCell   *option;

	foreach(option, options)
	{
		DefElem    *elem = lfirst(option);

		Assert(elem->arg == NULL || IsA(elem->arg, String));

		if (strcmp(elem->defname, MS_OPT_DOMAIN) == 0)
		{
			char	   *rawstring;
			List	   *names;
			ListCell   *lc;

			if (elem->arg == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" needs a value", elem->defname),
						 errhint("Name one domain or a comma-separated list of domains.")));

			rawstring = pstrdup(strVal(elem->arg));
			if (!SplitIdentifierString(rawstring, ',', &names) || names == NIL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("could not parse value \"%s\" for parameter \"%s\"",
								strVal(elem->arg), elem->defname),
						 errhint("Name one domain or a comma-separated list of domains.")));

			state->domains = palloc(sizeof(MsDomainId) * list_length(names));
			state->ndomains = 0;
			foreach(lc, names)
			{
				const char *name = lfirst(lc);

				if (name[0] == '\0' || strlen(name) >= NAMEDATALEN)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("could not parse value \"%s\" for parameter \"%s\"",
									strVal(elem->arg), elem->defname)));
				state->domains[state->ndomains++] = ms_domain_id(name, true);
			}
		}
		else if (strcmp(elem->defname, MS_OPT_INCLUDE_XIDS) == 0)
			state->include_xids = ms_bool_option(elem);
		else if (strcmp(elem->defname, MS_OPT_INCLUDE_TIMESTAMP) == 0)
			state->include_timestamp = ms_bool_option(elem);
		else if (strcmp(elem->defname, MS_OPT_INCLUDE_LSN) == 0)
			state->include_lsn = ms_bool_option(elem);
		else if (strcmp(elem->defname, MS_OPT_SKIP_EMPTY_XACTS) == 0)
			state->skip_empty_xacts = ms_bool_option(elem);
		else if (strcmp(elem->defname, MS_OPT_STREAM_CHANGES) == 0)
			state->stream_changes = ms_bool_option(elem);
		else if (strcmp(elem->defname, MS_OPT_BATCH_WRITES) == 0)
			state->batch_writes = ms_bool_option(elem);
		else if (strcmp(elem->defname, MS_OPT_PROTO_VERSION) == 0)
			ms_check_proto_version(elem);
		else if (strcmp(elem->defname, MS_OPT_FORMAT) == 0)
		{
			if (elem->arg == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" needs a value", elem->defname),
						 errhint("The only supported format is \"json\".")));
			if (strcmp(strVal(elem->arg), "json") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("could not parse value \"%s\" for parameter \"%s\"",
								strVal(elem->arg), elem->defname),
						 errhint("The only supported format is \"json\".")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" = \"%s\" is unknown",
							elem->defname,
							elem->arg ? strVal(elem->arg) : "(null)")));
	}
}

/*
 * Startup: parse options and set up the session's state.
 *
 * At slot creation (is_init) no options are given, whether through
 * pg_create_logical_replication_slot() or the replication protocol's
 * CREATE_REPLICATION_SLOT; the domain is only required when decoding.
 */
static void
ms_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init)
{
	MsDecodingState *state;
	MemoryContext oldcxt;

	oldcxt = MemoryContextSwitchTo(ctx->context);

	state = palloc0(sizeof(MsDecodingState));
	state->change_cxt = AllocSetContextCreate(ctx->context,
											  "migration_split change",
											  ALLOCSET_DEFAULT_SIZES);
	state->include_xids = true;
	state->include_timestamp = false;
	state->include_lsn = false;
	state->skip_empty_xacts = true;
	state->stream_changes = false;
	state->batch_writes = false;

	ms_parse_options(state, ctx->output_plugin_options);
	if (state->batch_writes)
		state->batch = makeStringInfo();

	if (!is_init && state->ndomains == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"domain\" is required"),
				 errdetail("The output plugin \"migration_split\" emits the changes of the tables one or more domains own."),
				 errhint("Name one domain or a comma-separated list of domains, for example 'domain', 'orders'.")));

	ctx->output_plugin_private = state;
	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
	/* to notice rewrites of the domain's tables (ms_rewrite_change) */
	opt->receive_rewrites = true;
	ctx->streaming &= state->stream_changes;

	ms_relcache_setup(ctx->context);
	ms_json_init_session();

	MemoryContextSwitchTo(oldcxt);
}

/*
 * Shutdown: all state lives in ctx->context, which the caller frees.
 */
static void
ms_shutdown(LogicalDecodingContext *ctx)
{
}

/*
 * Create the session's relation cache, and register the relcache callback
 * once per process.
 */
static void
ms_relcache_setup(MemoryContext parent)
{
	HASHCTL		ctl;
	MemoryContext cxt;
	MemoryContextCallback *cb;

	cxt = AllocSetContextCreate(parent, "migration_split relation cache",
								ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(MsRelEntry);
	ctl.hcxt = cxt;
	MsRelCache = hash_create("migration_split relation cache", 128, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	MsRelCacheContext = cxt;
	MsRelCacheHasReported = false;

	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = ms_relcache_reset_cb;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(cxt, cb);

	if (!MsRelCallbackRegistered)
	{
		CacheRegisterRelcacheCallback(ms_relcache_invalidate, (Datum) 0);
		MsRelCallbackRegistered = true;
	}
}

/* The session's relation cache is going away with its context. */
static void
ms_relcache_reset_cb(void *arg)
{
	MsRelCache = NULL;
	MsRelCacheContext = NULL;
	MsRelCacheHasReported = false;
}

/*
 * Relcache invalidation: mark the relation's entry stale, and the entries
 * of partitions reported under it; everything when relid is InvalidOid.
 * Only flags change here: the entry's data stays usable until the next
 * change rebuilds it.
 */
static void
ms_relcache_invalidate(Datum arg, Oid relid)
{
	MsRelEntry *entry;

	if (MsRelCache == NULL)
		return;

	if (OidIsValid(relid) && !MsRelCacheHasReported)
	{
		entry = hash_search(MsRelCache, &relid, HASH_FIND, NULL);
		if (entry != NULL)
		{
			entry->valid = false;
			entry->schema_sent = false;
		}
	}
	else
	{
		HASH_SEQ_STATUS status;

		hash_seq_init(&status, MsRelCache);
		while ((entry = hash_seq_search(&status)) != NULL)
		{
			if (!OidIsValid(relid) || entry->relid == relid ||
				entry->report_relid == relid)
			{
				entry->valid = false;
				entry->schema_sent = false;
			}
		}
	}
}

/*
 * Initialise a new, not yet built, cache entry.
 */
static void
ms_init_entry(MsRelEntry *entry)
{
	entry->valid = false;
	entry->owned = false;
	entry->warned_no_key = false;
	entry->is_owner_table = false;
	entry->member = MS_MEMBER_UNKNOWN;
	entry->announce = false;
	entry->generation = 0;
	entry->schema_sent = false;
	entry->schema_sent_xid = InvalidTransactionId;
	entry->rewritten_cols = NIL;
	entry->report_relid = entry->relid;
	entry->report = entry;
	entry->cxt = NULL;
}

/*
 * The cache entry of relation, built or rebuilt as needed.  This is the
 * whole cost of a change the domain does not own once the entry exists:
 * inline, with the lookup and the rebuild out of line.
 */
static inline MsRelEntry *
ms_get_entry(MsDecodingState *state, Relation relation)
{
	MsRelEntry *entry = state->last_entry;

	/* Changes come in runs of the same relation: skip the hash lookup. */
	if (likely(entry != NULL && entry->relid == RelationGetRelid(relation) &&
			   entry->valid && entry->generation == ms_ownership_generation))
		return entry;
	return ms_lookup_entry(state, relation);
}

/*
 * ms_get_entry's hash lookup, and the decision (and for an owned relation
 * the build) when the entry is new or stale.
 */
static pg_noinline MsRelEntry *
ms_lookup_entry(MsDecodingState *state, Relation relation)
{
	Oid			relid = RelationGetRelid(relation);
	MsRelEntry *entry;
	bool		found;
	MsDomainId	domain;
	MemoryContext oldcxt;
	int			i;
	char	   *oldrmsg = NULL;
	MsRelEntry *oldreport = NULL;
	bool		was_owned;

	entry = hash_search(MsRelCache, &relid, HASH_ENTER, &found);
	state->last_entry = entry;
	if (likely(found && entry->valid &&
			   entry->generation == ms_ownership_generation))
		return entry;

	/* Catalog lookups allocate: keep that out of the caller's context. */
	oldcxt = MemoryContextSwitchTo(state->change_cxt);

	/*
	 * Only the ownership generation moved (the relation itself was not
	 * invalidated): decide again, but send R again only if it changed.
	 */
	if (found && entry->valid && entry->owned)
	{
		oldrmsg = pnstrdup(entry->rmsg, entry->rmsglen);
		oldreport = entry->report;
	}

	if (!found)
		ms_init_entry(entry);
	was_owned = found && entry->valid && entry->owned;
	entry->valid = true;
	entry->owned = false;
	entry->report_relid = relid;
	entry->report = entry;
	if (entry->cxt != NULL)
		MemoryContextReset(entry->cxt);

	/*
	 * Take the generation before deciding: an invalidation processed while
	 * deciding moves it, and the entry is decided again at its next use.
	 */
	entry->generation = ms_ownership_generation;
	entry->is_owner_table = (relid == ms_owner_table_oid());
	domain = ms_relation_domain(relid);
	for (i = 0; i < state->ndomains; i++)
	{
		if (state->domains[i] == domain)
		{
			ms_build_entry(state, entry, relation, domain);
			break;
		}
	}

	/*
	 * A relation that joined or left the domain(s) without a change of its
	 * own tag (ALTER TABLE ... INHERIT / NO INHERIT, ATTACH / DETACH
	 * PARTITION, a parent's tag): announce it before its next change.
	 */
	{
		char		member = entry->owned ? MS_MEMBER_IN : MS_MEMBER_OUT;

		if (entry->member != MS_MEMBER_UNKNOWN && entry->member != member)
			entry->announce = true;
		entry->member = member;
	}
	if (oldrmsg != NULL && entry->owned && entry->report == oldreport &&
		(entry->rmsglen != (int) strlen(oldrmsg) ||
		 memcmp(entry->rmsg, oldrmsg, entry->rmsglen) != 0))
		entry->report->schema_sent = false;
	else if (oldrmsg != NULL && entry->owned && entry->report != oldreport)
		entry->report->schema_sent = false;
	else if (found && !was_owned && entry->owned && entry->report == entry)
		entry->schema_sent = false;
	MemoryContextSwitchTo(oldcxt);
	return entry;
}

/*
 * Fill an owned relation's entry: the reported relation (the owning root
 * for a partition), its columns with output functions and key flags, the
 * column map from the changed relation, and the R message.
 */
static void
ms_build_entry(MsDecodingState *state, MsRelEntry *entry, Relation relation,
			   MsDomainId domain)
{
	Oid			relid = RelationGetRelid(relation);
	Oid			root = ms_relation_owning_root(relid);
	Relation	reportrel = relation;
	TupleDesc	indesc = RelationGetDescr(relation);
	TupleDesc	outdesc;
	AttrMap    *attrmap = NULL;
	Bitmapset  *idattrs = NULL;
	char		replident;
	MemoryContext oldcxt;
	StringInfoData buf;
	int			i;
	bool		first = true;
	char		leafident;
	Bitmapset  *leafattrs = NULL;
	bool		leafown = false;	/* the partition's own identity counts */
	bool		leafcovers = true;	/* ... and holds all of the root's key */

	if (entry->cxt == NULL)
		entry->cxt = AllocSetContextCreate(MsRelCacheContext,
										   "migration_split relation",
										   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(entry->cxt);

	/*
	 * Partitions are reported as the relation carrying the tag.  Whether
	 * its R message was sent is kept in that relation's entry, created
	 * unbuilt if needed, so all partitions share it.
	 */
	entry->report_relid = relid;
	entry->report = entry;
	if (relation->rd_rel->relispartition && OidIsValid(root) && root != relid)
	{
		bool		found;

		reportrel = RelationIdGetRelation(root);
		if (!RelationIsValid(reportrel))
			elog(ERROR, "could not open relation with OID %u", root);
		entry->report_relid = root;
		entry->report = hash_search(MsRelCache, &root, HASH_ENTER, &found);
		if (!found)
			ms_init_entry(entry->report);
		MsRelCacheHasReported = true;
	}
	outdesc = RelationGetDescr(reportrel);

	oldcxt = MemoryContextSwitchTo(entry->cxt);

	if (reportrel != relation)
		attrmap = build_attrmap_by_name_if_req(indesc, outdesc);

	replident = reportrel->rd_rel->relreplident;
	if (replident != REPLICA_IDENTITY_FULL)
		idattrs = RelationGetIdentityKeyBitmap(reportrel);
	entry->has_key = (replident == REPLICA_IDENTITY_FULL || !bms_is_empty(idattrs));
	entry->keycols = NULL;

	/*
	 * A partition logs the old key of its own replica identity, which may
	 * differ from its root's.  When it lacks some of the root's key
	 * columns, U and D carry the partition's key instead, with the output
	 * positions of its columns in "key_columns".
	 */
	if (reportrel != relation)
	{
		leafident = relation->rd_rel->relreplident;
		if (leafident == REPLICA_IDENTITY_DEFAULT || leafident == REPLICA_IDENTITY_INDEX)
			leafattrs = RelationGetIdentityKeyBitmap(relation);
		leafown = (leafident != REPLICA_IDENTITY_FULL);
	}

	entry->natts = indesc->natts;
	entry->values = palloc(sizeof(Datum) * Max(indesc->natts, 1));
	entry->nulls = palloc(sizeof(bool) * Max(indesc->natts, 1));
	entry->cols = palloc(sizeof(MsColumn) * Max(outdesc->natts, 1));
	entry->ncols = 0;

	initStringInfo(&buf);
	appendStringInfo(&buf, "\"relid\":%u,\"schema\":", RelationGetRelid(reportrel));
	ms_json_cstring(&buf, get_namespace_name(RelationGetNamespace(reportrel)));
	appendStringInfoString(&buf, ",\"table\":");
	ms_json_cstring(&buf, RelationGetRelationName(reportrel));
	ms_buf_finish(&buf);
	entry->ident = buf.data;
	entry->identlen = buf.len;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"action\":\"R\",");
	appendBinaryStringInfo(&buf, entry->ident, entry->identlen);
	appendStringInfoString(&buf, ",\"domain\":");
	ms_json_cstring(&buf, ms_domain_name(domain));
	appendStringInfo(&buf, ",\"replica_identity\":\"%c\",\"columns\":[", replident);

	for (i = 0; i < outdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(outdesc, i);
		MsColumn   *col;
		Oid			outfn;
		bool		isvarlena;

		/* Dropped columns are gone; generated ones the target computes. */
		if (att->attisdropped || att->attgenerated)
			continue;

		col = &entry->cols[entry->ncols++];
		col->inattno = attrmap ? attrmap->attnums[i] : att->attnum;
		col->key = (replident == REPLICA_IDENTITY_FULL ||
					bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber,
								  idattrs));
		col->oldkey = col->key;
		if (leafown)
		{
			bool		inleaf = (col->inattno > 0 &&
								  bms_is_member(col->inattno - FirstLowInvalidHeapAttributeNumber,
												leafattrs));

			if (col->key && !inleaf)
				leafcovers = false;
			col->oldkey = inleaf;
		}
		getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
		fmgr_info_cxt(outfn, &col->outfunc, entry->cxt);
		col->isvarlena = (att->attlen == -1);
		col->kind = ms_json_out_kind(getBaseType(att->atttypid));

		if (!first)
			appendStringInfoChar(&buf, ',');
		first = false;
		appendStringInfoString(&buf, "{\"name\":");
		ms_json_cstring(&buf, NameStr(att->attname));
		/*
		 * Its attnum in the reported relation: with relid, the column's
		 * identity, so that a consumer tells a column dropped and added
		 * again under the same name from the one it has.
		 */
		appendStringInfo(&buf, ",\"" MS_FLD_ATTNUM "\":%d,\"type\":", att->attnum);
		ms_json_cstring(&buf, format_type_with_typemod(att->atttypid, att->atttypmod));
		appendStringInfo(&buf, ",\"typoid\":%u,\"typmod\":%d,\"not_null\":%s,\"key\":%s",
						 att->atttypid, att->atttypmod,
						 att->attnotnull ? "true" : "false",
						 col->key ? "true" : "false");

		/*
		 * A column added with a constant default (ALTER TABLE ... ADD
		 * COLUMN ... DEFAULT) gives the rows that existed then that value
		 * without rewriting them, and nothing of it is in the stream: send
		 * it, so that a consumer adding the column gives its copies of
		 * those rows the same value.  The changed relation's descriptor
		 * holds it (for a partition, the root may have none).
		 */
		if (col->inattno > 0 && indesc->constr != NULL &&
			indesc->constr->missing != NULL &&
			indesc->constr->missing[col->inattno - 1].am_present)
		{
			appendStringInfoString(&buf, ",\"" MS_FLD_MISSING "\":");
			ms_json_value(&buf, indesc->constr->missing[col->inattno - 1].am_value,
						  col->kind, &col->outfunc);
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	entry->rmsg = buf.data;
	entry->rmsglen = buf.len;

	if (leafown && leafcovers)
	{
		/* the root's key is in the partition's old tuple: use it */
		for (i = 0; i < entry->ncols; i++)
			entry->cols[i].oldkey = entry->cols[i].key;
	}
	else if (leafown)
	{
		entry->has_key = !bms_is_empty(leafattrs);
		initStringInfo(&buf);
		appendStringInfoString(&buf, ",\"" MS_FLD_KEY_COLUMNS "\":[");
		first = true;
		for (i = 0; i < entry->ncols; i++)
		{
			if (!entry->cols[i].oldkey)
				continue;
			appendStringInfo(&buf, "%s%d", first ? "" : ",", i);
			first = false;
		}
		appendStringInfoChar(&buf, ']');
		entry->keycols = buf.data;
	}

	MemoryContextSwitchTo(oldcxt);

	if (!entry->has_key && leafown && !leafcovers)
	{
		/* once per partition: the root may have a key */
		if (!entry->warned_no_key)
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partition \"%s.%s\" of table \"%s.%s\" of domain \"%s\" has no replica identity",
							get_namespace_name(RelationGetNamespace(relation)),
							RelationGetRelationName(relation),
							get_namespace_name(RelationGetNamespace(reportrel)),
							RelationGetRelationName(reportrel),
							ms_domain_name(domain)),
					 errdetail("Its updates and deletes are emitted with a null key, which a consumer cannot apply."),
					 errhint("Give the partition the replica identity of its root, a primary key, or REPLICA IDENTITY FULL.")));
		entry->warned_no_key = true;
	}
	else if (!entry->has_key && !entry->report->warned_no_key)
	{
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s.%s\" of domain \"%s\" has no replica identity",
						get_namespace_name(RelationGetNamespace(reportrel)),
						RelationGetRelationName(reportrel),
						ms_domain_name(domain)),
				 errdetail("Its updates and deletes are emitted with a null key, which a consumer cannot apply."),
				 errhint("Add a primary key, or use ALTER TABLE ... REPLICA IDENTITY FULL or USING INDEX.")));
		entry->report->warned_no_key = true;
	}

	if (reportrel != relation)
		RelationClose(reportrel);
	entry->owned = true;
}

/*
 * Begin: with skip-empty-xacts (the default) B is written lazily, before
 * the first change of the domain.
 */
static void
ms_begin_txn(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	MsDecodingState *state = ctx->output_plugin_private;

	state->xact_wrote_begin = false;
	state->rewrite_entry = NULL;
	if (!state->skip_empty_xacts)
		ms_write_header(ctx, txn);
}

/*
 * Commit: C, if B was written.
 */
static void
ms_commit_txn(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			  XLogRecPtr commit_lsn)
{
	MsDecodingState *state = ctx->output_plugin_private;
	bool		skipped = !state->xact_wrote_begin;

	OutputPluginUpdateProgress(ctx, skipped);
	if (skipped)
		return;

	ms_write_xact(ctx, txn, 'C', commit_lsn, false);
	state->xact_wrote_begin = false;
}

/*
 * Append ,"name":"X/X" for an LSN.
 */
static void
ms_append_lsn(StringInfo out, const char *name, XLogRecPtr lsn)
{
	appendStringInfo(out, ",\"%s\":\"%X/%X\"", name, LSN_FORMAT_ARGS(lsn));
}

/*
 * Start a message: the buffer to append its JSON object to.  Without
 * batch-writes that is the write OutputPluginPrepareWrite prepares, one per
 * message; with it, the session's batch, where the object follows the
 * previous one after a newline.
 */
static StringInfo
ms_msg_start(LogicalDecodingContext *ctx)
{
	MsDecodingState *state = ctx->output_plugin_private;

	if (!state->batch_writes)
	{
		OutputPluginPrepareWrite(ctx, true);
		return ctx->out;
	}
	if (state->batch->len > 0)
		appendStringInfoChar(state->batch, MS_BATCH_SEPARATOR);
	return state->batch;
}

/*
 * Write the batch as one message (one CopyData through the walsender).
 * It carries the LSN of the current callback: of the change that filled
 * it, or the end of the commit record for a batch ended by C, the
 * position a consumer confirms.  A batch buffer that grew for a large
 * value is given back, so that the session does not keep its size.
 */
static void
ms_batch_flush(LogicalDecodingContext *ctx)
{
	MsDecodingState *state = ctx->output_plugin_private;
	StringInfo	batch = state->batch;

	if (batch->len == 0)
		return;
	OutputPluginPrepareWrite(ctx, true);
	appendBinaryStringInfo(ctx->out, batch->data, batch->len);
	OutputPluginWrite(ctx, true);
	if (batch->maxlen > 4 * MS_BATCH_BYTES)
	{
		/* in the session's context, not the current per-change one */
		MemoryContext oldcxt = MemoryContextSwitchTo(GetMemoryChunkContext(batch));

		pfree(batch->data);
		initStringInfo(batch);
		MemoryContextSwitchTo(oldcxt);
	}
	else
		resetStringInfo(batch);
}

/*
 * End a message started with ms_msg_start.  Without batch-writes it is
 * written now.  With batch-writes it is written with the batch: once the
 * batch holds MS_BATCH_BYTES, or with end_batch (the end of a transaction,
 * of a stream block or of an abort, and a non-transactional message), so
 * that nothing waits in the batch while decoding pauses between
 * transactions.
 */
static void
ms_msg_end(LogicalDecodingContext *ctx, bool end_batch)
{
	MsDecodingState *state = ctx->output_plugin_private;

	if (!state->batch_writes)
		OutputPluginWrite(ctx, true);
	else if (end_batch || state->batch->len >= MS_BATCH_BYTES)
		ms_batch_flush(ctx);
}

/*
 * Write B (outside a stream) or S (inside one) unless already written for
 * the current transaction or stream block.
 */
static void
ms_write_header(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	MsDecodingState *state = ctx->output_plugin_private;
	StringInfo	out;

	if (state->in_stream)
	{
		MsStreamTxn *stxn = txn->output_plugin_private;

		if (state->stream_wrote_start)
			return;
		out = ms_msg_start(ctx);
		appendStringInfoString(out, "{\"action\":\"S\"");
		if (state->include_xids)
			appendStringInfo(out, ",\"xid\":%u", txn->xid);
		appendStringInfoChar(out, '}');
		ms_msg_end(ctx, false);
		state->stream_wrote_start = true;
		if (stxn != NULL)
			stxn->any_changes = true;
		return;
	}

	if (state->xact_wrote_begin)
		return;
	out = ms_msg_start(ctx);
	appendStringInfoString(out, "{\"action\":\"B\"");
	if (state->include_xids)
		appendStringInfo(out, ",\"xid\":%u", txn->xid);
	if (state->include_lsn)
		ms_append_lsn(out, "commit_lsn", txn->final_lsn);
	if (state->include_timestamp)
		appendStringInfo(out, ",\"commit_time\":\"%s\"",
						 timestamptz_to_str(txn->xact_time.commit_time));
	appendStringInfoChar(out, '}');
	ms_msg_end(ctx, false);
	state->xact_wrote_begin = true;
}

/*
 * Write C for a transaction (streamed or not).
 */
static void
ms_write_xact(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, char action,
			  XLogRecPtr commit_lsn, bool streamed)
{
	MsDecodingState *state = ctx->output_plugin_private;
	StringInfo	out = ms_msg_start(ctx);

	appendStringInfo(out, "{\"action\":\"%c\"", action);
	if (state->include_xids)
		appendStringInfo(out, ",\"xid\":%u", txn->xid);
	if (state->include_lsn)
	{
		ms_append_lsn(out, "commit_lsn", commit_lsn);
		ms_append_lsn(out, "end_lsn", txn->end_lsn);
	}
	if (state->include_timestamp)
		appendStringInfo(out, ",\"commit_time\":\"%s\"",
						 timestamptz_to_str(txn->xact_time.commit_time));
	if (streamed)
		appendStringInfoString(out, ",\"streamed\":true");
	appendStringInfoChar(out, '}');
	/* the end of a transaction ends a batch */
	ms_msg_end(ctx, true);
}

/*
 * Write the R message of entry unless the consumer already has it: sent
 * in this session outside any stream, or inside the current stream (a
 * streamed transaction may still abort, and with it the schema it saw).
 * After a rewrite of the relation's rows, R lists the columns the rewrite
 * gave values ("rewritten"; see ms_rewrite_change), until it was sent
 * outside a stream: a streamed transaction that carried it may abort.
 */
static void
ms_write_relation(LogicalDecodingContext *ctx, MsRelEntry *entry)
{
	MsDecodingState *state = ctx->output_plugin_private;
	TransactionId xid = state->in_stream ? state->stream_xid : InvalidTransactionId;
	MsRelEntry *report = entry->report;
	StringInfo	out;

	if (report->schema_sent && report->schema_sent_xid == xid)
		return;

	out = ms_msg_start(ctx);
	if (report->rewritten_cols != NIL)
	{
		ListCell   *lc;
		bool		first = true;

		/* the R message without its closing brace, then the columns */
		appendBinaryStringInfo(out, entry->rmsg, entry->rmsglen - 1);
		appendStringInfoString(out, ",\"" MS_FLD_REWRITTEN "\":[");
		foreach(lc, report->rewritten_cols)
		{
			if (!first)
				appendStringInfoChar(out, ',');
			first = false;
			ms_json_cstring(out, lfirst(lc));
		}
		appendStringInfoString(out, "]}");
		if (!state->in_stream)
		{
			list_free_deep(report->rewritten_cols);
			report->rewritten_cols = NIL;
		}
	}
	else
		appendBinaryStringInfo(out, entry->rmsg, entry->rmsglen);
	ms_msg_end(ctx, false);
	report->schema_sent = true;
	report->schema_sent_xid = xid;
}

/*
 * Start a change object: {"action":"X" and, inside a stream, the xid of
 * the (sub)transaction the change belongs to.  The consumer needs it to
 * apply an A of a subtransaction (ROLLBACK TO SAVEPOINT) that was streamed:
 * the changes to forget are those of that xid and of its own
 * subtransactions, which follow it in the stream.
 */
static void
ms_write_change_start(MsDecodingState *state, StringInfo out, char action,
					  TransactionId xid)
{
	char		head[] = "{\"action\":\"?\",";

	head[11] = action;
	ms_buf_bytes(out, head, sizeof(head) - 1);
	if (state->in_stream && state->include_xids)
		appendStringInfo(out, "\"xid\":%u,",
						 TransactionIdIsValid(xid) ? xid : state->stream_xid);
}

/*
 * Append a JSON array of the tuple's values in output column order: all
 * columns, or with keyonly the key columns.  Unchanged TOASTed values are
 * written as null; for all columns their positions follow in "unchanged".
 * With deformed, the entry's buffers already hold this tuple.
 */
static void
ms_write_values(StringInfo out, MsRelEntry *entry, TupleDesc desc,
				HeapTuple tuple, bool keyonly, bool deformed)
{
	int			i;
	bool		first = true;
	int			nunchanged = 0;
	int		   *unchanged = NULL;

	if (!deformed)
		heap_deform_tuple(tuple, desc, entry->values, entry->nulls);

	ms_buf_char(out, '[');
	for (i = 0; i < entry->ncols; i++)
	{
		MsColumn   *col = &entry->cols[i];
		int			k = col->inattno - 1;
		Datum		value;

		if (keyonly && !col->oldkey)
			continue;
		if (!first)
			ms_buf_char(out, ',');
		first = false;

		if (k < 0 || entry->nulls[k])
		{
			ms_buf_literal(out, "null");
			continue;
		}
		value = entry->values[k];
		if (col->isvarlena && VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(value)))
		{
			ms_buf_literal(out, "null");
			if (!keyonly)
			{
				if (unchanged == NULL)
					unchanged = palloc(sizeof(int) * entry->ncols);
				unchanged[nunchanged++] = i;
			}
			continue;
		}
		ms_json_value(out, value, col->kind, &col->outfunc);
	}
	ms_buf_char(out, ']');

	if (nunchanged > 0)
	{
		appendStringInfoString(out, ",\"unchanged\":[");
		for (i = 0; i < nunchanged; i++)
		{
			if (i > 0)
				appendStringInfoChar(out, ',');
			appendStringInfo(out, "%d", unchanged[i]);
		}
		appendStringInfoChar(out, ']');
	}
}

/*
 * A row change: I, U or D.  Filtering is inline here, so that a change of a
 * relation the domain does not own costs a few instructions once its entry
 * is cached; the formatting is out of line.
 */
static void
ms_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
		  Relation relation, ReorderBufferChange *change)
{
	MsRelEntry *entry;

	if (unlikely(OidIsValid(relation->rd_rel->relrewrite)))
	{
		ms_rewrite_change(ctx, relation, change);
		return;
	}
	entry = ms_get_entry(ctx->output_plugin_private, relation);

	if (unlikely(entry->announce))
		ms_announce_entry(ctx, txn, change, entry);
	if (entry->owned)
		ms_emit_change(ctx, txn, relation, change, entry);
	else if (unlikely(entry->is_owner_table))
		ms_ownership_change(ctx, txn, relation, change);
}

/*
 * A row written by ALTER TABLE into the new heap of a table it rewrites:
 * a column added with a volatile default (random(), a serial column) or
 * ALTER COLUMN ... TYPE gives the rows values that no change of the table
 * carries (a rewrite also materialises the constant default of a column
 * added before it).  Nothing is emitted for such rows, but the columns to
 * which they give non-null values are collected, and the relation's next
 * R lists them in "rewritten": a consumer about to add one of them would
 * otherwise leave its copies of those rows NULL.  The list grows until R
 * is sent outside a stream, so several rewrites before it all count (a
 * streamed transaction that rewrote and aborted leaves its columns listed:
 * a consumer may stop needlessly, never go on wrongly).  The first row of
 * a rewrite costs a relation lookup; the others a null test per column
 * not yet listed.
 */
static pg_noinline void
ms_rewrite_change(LogicalDecodingContext *ctx, Relation relation,
				  ReorderBufferChange *change)
{
	MsDecodingState *state = ctx->output_plugin_private;
	Relation	rewritten;
	MsRelEntry *entry;
	HeapTuple	tuple;
	MemoryContext oldcxt;
	ListCell   *lc;
	const char *name;
	int			i;

	if (change->action != REORDER_BUFFER_CHANGE_INSERT ||
		change->data.tp.newtuple == NULL)
		return;
	tuple = &change->data.tp.newtuple->tuple;

	entry = state->rewrite_entry;
	if (RelationGetRelid(relation) != state->last_rewrite || entry == NULL ||
		!entry->valid || entry->ncols != state->rewrite_ncols)
	{
		MsRelEntry *report;

		rewritten = RelationIdGetRelation(relation->rd_rel->relrewrite);
		if (!RelationIsValid(rewritten))
			return;
		entry = ms_get_entry(state, rewritten);
		RelationClose(rewritten);
		state->last_rewrite = RelationGetRelid(relation);
		state->rewrite_entry = entry;
		state->rewrite_ncols = entry->ncols;
		if (!entry->owned)
			return;

		report = entry->report;
		if (state->rewrite_seen != NULL)
			pfree(state->rewrite_seen);
		state->rewrite_seen = MemoryContextAllocZero(ctx->context,
													 sizeof(bool) * Max(entry->ncols, 1));
		report->schema_sent = false;
	}
	else if (!entry->owned)
		return;

	for (i = 0; i < entry->ncols; i++)
	{
		AttrNumber	attno = entry->cols[i].inattno;

		if (state->rewrite_seen[i] || attno <= 0 ||
			attno > RelationGetDescr(relation)->natts ||
			heap_attisnull(tuple, attno, RelationGetDescr(relation)))
			continue;
		state->rewrite_seen[i] = true;
		name = NameStr(TupleDescAttr(RelationGetDescr(relation), attno - 1)->attname);
		foreach(lc, entry->report->rewritten_cols)
		{
			/* listed for another partition of the same table */
			if (strcmp(lfirst(lc), name) == 0)
				break;
		}
		if (lc != NULL)
			continue;
		oldcxt = MemoryContextSwitchTo(MsRelCacheContext);
		entry->report->rewritten_cols =
			lappend(entry->report->rewritten_cols, pstrdup(name));
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * Write an O message: relation relid (reported under that name) is in one
 * of the session's domains after this point of the transaction, or not.
 * domain is the domain owning it then, or MS_NO_DOMAIN.  rootid, when
 * valid, is the partitioned table of the domain(s) that the partition
 * relid no longer belongs to: its rows were reported under that name.
 */
static void
ms_write_membership(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					TransactionId xid, Oid relid, bool in_domain,
					MsDomainId domain, Oid rootid)
{
	MsDecodingState *state = ctx->output_plugin_private;
	StringInfo	out;
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	char	   *relname = get_rel_name(relid);

	if (nspname == NULL || relname == NULL)
		return;					/* dropped in the same transaction */

	ms_write_header(ctx, txn);
	out = ms_msg_start(ctx);
	ms_write_change_start(state, out, MS_MSG_OWNERSHIP, xid);
	appendStringInfo(out, "\"" MS_FLD_RELID "\":%u,\"" MS_FLD_SCHEMA "\":", relid);
	ms_json_cstring(out, nspname);
	appendStringInfoString(out, ",\"" MS_FLD_TABLE "\":");
	ms_json_cstring(out, relname);
	appendStringInfo(out, ",\"" MS_FLD_IN_DOMAIN "\":%s,\"" MS_FLD_DOMAIN "\":",
					 in_domain ? "true" : "false");
	if (domain != MS_NO_DOMAIN)
		ms_json_cstring(out, ms_domain_name(domain));
	else
		appendStringInfoString(out, "null");
	if (OidIsValid(rootid))
	{
		appendStringInfoString(out, ",\"" MS_FLD_ROOT_SCHEMA "\":");
		ms_json_cstring(out, get_namespace_name(get_rel_namespace(rootid)));
		appendStringInfoString(out, ",\"" MS_FLD_ROOT_TABLE "\":");
		ms_json_cstring(out, get_rel_name(rootid));
	}
	appendStringInfoChar(out, '}');
	ms_msg_end(ctx, false);
}

/*
 * O for an entry whose membership changed since the consumer last knew it
 * (see ms_lookup_entry), written before the change that revealed it.
 */
static pg_noinline void
ms_announce_entry(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				  ReorderBufferChange *change, MsRelEntry *entry)
{
	MsDecodingState *state = ctx->output_plugin_private;
	MemoryContext oldcxt = MemoryContextSwitchTo(state->change_cxt);

	entry->announce = false;
	ms_write_membership(ctx, txn, change->txn->xid, entry->report_relid,
						entry->owned,
						ms_relation_domain(entry->report_relid), InvalidOid);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * A change of migration_split.ownership (a user_catalog_table, so the
 * historic snapshot already shows it): for the relation whose tag changed
 * and its inheritance children, write O when it is in the domain(s) now,
 * or may have been before (the consumer knew it in, or this session has
 * not seen it yet).  Partitions are reported as their root and skipped.
 * The tag's invalidations are processed only at the end of the command, so
 * the answer is read past the ownership cache, and the relation's entry is
 * decided again at its next change.
 */
static pg_noinline void
ms_ownership_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					Relation relation, ReorderBufferChange *change)
{
	MsDecodingState *state = ctx->output_plugin_private;
	MemoryContext oldcxt = MemoryContextSwitchTo(state->change_cxt);
	TupleDesc	desc = RelationGetDescr(relation);
	Oid			tagged[2];
	int			ntagged = 0;
	int			k;
	HeapTuple	tuples[2];

	tuples[0] = change->data.tp.newtuple ? &change->data.tp.newtuple->tuple : NULL;
	tuples[1] = change->data.tp.oldtuple ? &change->data.tp.oldtuple->tuple : NULL;
	for (k = 0; k < 2; k++)
	{
		bool		isnull;
		Datum		d;

		if (tuples[k] == NULL)
			continue;
		d = heap_getattr(tuples[k], 1, desc, &isnull);
		if (!isnull && (ntagged == 0 || tagged[0] != DatumGetObjectId(d)))
			tagged[ntagged++] = DatumGetObjectId(d);
	}

	for (k = 0; k < ntagged; k++)
	{
		List	   *rels;
		ListCell   *lc;

		if (get_rel_relkind(tagged[k]) == '\0')
			continue;			/* dropped */
		rels = find_all_inheritors(tagged[k], NoLock, NULL);
		foreach(lc, rels)
		{
			Oid			relid = lfirst_oid(lc);
			char		relkind = get_rel_relkind(relid);
			MsDomainId	domain;
			bool		in_domain = false;
			MsRelEntry *entry;
			bool		found;
			int			i;

			Oid			rootid = InvalidOid;

			if ((relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) ||
				(relid != tagged[k] && get_rel_relispartition(relid)))
				continue;
			domain = ms_relation_domain_uncached(relid);
			for (i = 0; i < state->ndomains; i++)
				if (state->domains[i] == domain)
					in_domain = true;

			/*
			 * A partition tagged on its own: if its partitioned root is in
			 * the domain(s) and it is not, its rows leave that root.
			 */
			if (relid == tagged[k] && get_rel_relispartition(relid))
			{
				List	   *ancestors = get_partition_ancestors(relid);
				Oid			top = llast_oid(ancestors);
				MsDomainId	topdomain = ms_relation_domain_uncached(top);

				for (i = 0; i < state->ndomains; i++)
					if (state->domains[i] == topdomain && !in_domain)
						rootid = top;
				if (in_domain)
					continue;	/* reported as its root, which has it */
			}

			entry = hash_search(MsRelCache, &relid, HASH_ENTER, &found);
			if (!found)
				ms_init_entry(entry);
			if (in_domain || OidIsValid(rootid) || entry->member != MS_MEMBER_OUT)
				ms_write_membership(ctx, txn, change->txn->xid, relid,
									in_domain, domain, rootid);
			entry->member = in_domain ? MS_MEMBER_IN : MS_MEMBER_OUT;
			entry->announce = false;
			entry->valid = false;
			/* a new tag: the consumer that copies the table needs its R */
			entry->schema_sent = false;
		}
	}

	state->last_entry = NULL;	/* entries were added: addresses may move */
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * Write the I, U or D message of a change of an owned relation.
 */
static pg_noinline void
ms_emit_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			   Relation relation, ReorderBufferChange *change,
			   MsRelEntry *entry)
{
	MsDecodingState *state = ctx->output_plugin_private;
	MemoryContext oldcxt;
	StringInfo	out;
	TupleDesc	desc;
	HeapTuple	newtuple;
	HeapTuple	oldtuple;

	oldcxt = MemoryContextSwitchTo(state->change_cxt);

	ms_write_header(ctx, txn);
	ms_write_relation(ctx, entry);

	desc = RelationGetDescr(relation);
	newtuple = change->data.tp.newtuple ? &change->data.tp.newtuple->tuple : NULL;
	oldtuple = change->data.tp.oldtuple ? &change->data.tp.oldtuple->tuple : NULL;

	out = ms_msg_start(ctx);
	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			ms_write_change_start(state, out, 'I', change->txn->xid);
			ms_buf_bytes(out, entry->ident, entry->identlen);
			ms_buf_literal(out, ",\"new\":");
			if (newtuple)
				ms_write_values(out, entry, desc, newtuple, false, false);
			else
				ms_buf_literal(out, "null");
			break;

		case REORDER_BUFFER_CHANGE_UPDATE:
			ms_write_change_start(state, out, 'U', change->txn->xid);
			ms_buf_bytes(out, entry->ident, entry->identlen);
			ms_buf_literal(out, ",\"key\":");
			if (!entry->has_key)
				ms_buf_literal(out, "null");
			else if (oldtuple)
				ms_write_values(out, entry, desc, oldtuple, true, false);
			else if (newtuple)
				ms_write_values(out, entry, desc, newtuple, true, false);
			else
				ms_buf_literal(out, "null");
			if (entry->keycols && entry->has_key)
				appendStringInfoString(out, entry->keycols);
			ms_buf_literal(out, ",\"new\":");
			if (newtuple)
				ms_write_values(out, entry, desc, newtuple, false,
								entry->has_key && oldtuple == NULL);
			else
				ms_buf_literal(out, "null");
			break;

		case REORDER_BUFFER_CHANGE_DELETE:
			ms_write_change_start(state, out, 'D', change->txn->xid);
			ms_buf_bytes(out, entry->ident, entry->identlen);
			ms_buf_literal(out, ",\"key\":");
			if (entry->has_key && oldtuple)
				ms_write_values(out, entry, desc, oldtuple, true, false);
			else
				ms_buf_literal(out, "null");
			if (entry->keycols && entry->has_key)
				appendStringInfoString(out, entry->keycols);
			break;

		default:
			Assert(false);
	}
	ms_buf_char(out, '}');
	ms_buf_finish(out);
	ms_msg_end(ctx, false);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * TRUNCATE: T listing the owned relations among those truncated.  A
 * partition reported under its root is left out (truncating the root
 * lists it too, as pgoutput does with publish_via_partition_root); a
 * partition truncated on its own cannot be expressed and is reported.
 */
static void
ms_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			int nrelations, Relation relations[], ReorderBufferChange *change)
{
	MsDecodingState *state = ctx->output_plugin_private;
	MemoryContext oldcxt;
	Oid		   *sent;
	int			nsent = 0;
	int			i;
	StringInfo	out = NULL;

	oldcxt = MemoryContextSwitchTo(state->change_cxt);
	sent = palloc(sizeof(Oid) * nrelations);

	for (i = 0; i < nrelations; i++)
	{
		MsRelEntry *entry = ms_get_entry(state, relations[i]);
		int			j;
		bool		rootlisted = false;

		if (!entry->owned)
			continue;

		/*
		 * A partition truncated with its root is covered by the root's entry.
		 * One truncated alone empties only part of the root table the
		 * consumer knows: name it, so that the consumer can refuse to
		 * guess rather than silently keep its rows.
		 */
		if (entry->report_relid != entry->relid)
		{
			for (j = 0; j < nrelations; j++)
				if (RelationGetRelid(relations[j]) == entry->report_relid)
					rootlisted = true;
			if (rootlisted)
				continue;
		}

		if (nsent == 0)
		{
			ms_write_header(ctx, txn);
			out = ms_msg_start(ctx);
			ms_write_change_start(state, out, 'T', change->txn->xid);
			appendStringInfoString(out, "\"relations\":[");
		}
		else
			appendStringInfoChar(out, ',');
		appendStringInfoChar(out, '{');
		appendBinaryStringInfo(out, entry->ident, entry->identlen);
		if (entry->report_relid != entry->relid)
		{
			appendStringInfoString(out, ",\"partition\":{\"schema\":");
			ms_json_cstring(out, get_namespace_name(RelationGetNamespace(relations[i])));
			appendStringInfoString(out, ",\"table\":");
			ms_json_cstring(out, RelationGetRelationName(relations[i]));
			appendStringInfoChar(out, '}');
		}
		appendStringInfoChar(out, '}');
		sent[nsent++] = entry->relid;
	}

	if (nsent > 0)
	{
		appendStringInfo(out, "],\"cascade\":%s,\"restart_identity\":%s}",
						 change->data.truncate.cascade ? "true" : "false",
						 change->data.truncate.restart_seqs ? "true" : "false");
		ms_msg_end(ctx, false);
	}

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * Logical messages: only those with prefix "migration_split" pass.
 */
static void
ms_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
		   XLogRecPtr message_lsn, bool transactional, const char *prefix,
		   Size message_size, const char *message)
{
	MsDecodingState *state = ctx->output_plugin_private;
	StringInfo	out;
	MemoryContext oldcxt;

	if (strcmp(prefix, MS_MESSAGE_PREFIX) != 0)
		return;

	oldcxt = MemoryContextSwitchTo(state->change_cxt);
	if (transactional)
		ms_write_header(ctx, txn);

	out = ms_msg_start(ctx);
	if (transactional)
		ms_write_change_start(state, out, 'M', txn->xid);
	else
		appendStringInfoString(out, "{\"action\":\"M\",");
	appendStringInfo(out, "\"transactional\":%s,\"prefix\":",
					 transactional ? "true" : "false");
	ms_json_cstring(out, prefix);
	if (pg_verify_mbstr(GetDatabaseEncoding(), message, message_size, true))
	{
		appendStringInfoString(out, ",\"content\":");
		ms_json_string(out, message, message_size);
	}
	else
	{
		/* not text in the database encoding: hex keeps the JSON valid */
		appendStringInfoString(out, ",\"content_hex\":\"");
		enlargeStringInfo(out, message_size * 2);
		out->len += hex_encode(message, message_size, out->data + out->len);
		out->data[out->len] = '\0';
		appendStringInfoChar(out, '"');
	}
	appendStringInfoChar(out, '}');
	/* a non-transactional message is on its own: do not hold it back */
	ms_msg_end(ctx, !transactional);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->change_cxt);
}

/*
 * Streaming of in-progress transactions.  S is written lazily like B;
 * changes inside carry the xid; A and the streamed C are written only for
 * transactions of which a stream block was written.
 */
static void
ms_stream_start(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	MsDecodingState *state = ctx->output_plugin_private;

	if (txn->output_plugin_private == NULL)
		txn->output_plugin_private = MemoryContextAllocZero(ctx->context,
															sizeof(MsStreamTxn));
	state->in_stream = true;
	state->stream_wrote_start = false;
	state->stream_xid = txn->xid;
	state->rewrite_entry = NULL;
	if (!state->skip_empty_xacts)
		ms_write_header(ctx, txn);
}

static void
ms_stream_stop(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	MsDecodingState *state = ctx->output_plugin_private;

	if (state->stream_wrote_start)
	{
		StringInfo	out = ms_msg_start(ctx);

		appendStringInfoString(out, "{\"action\":\"E\"");
		if (state->include_xids)
			appendStringInfo(out, ",\"xid\":%u", txn->xid);
		appendStringInfoChar(out, '}');
		/* the end of a stream block ends a batch */
		ms_msg_end(ctx, true);
	}
	state->in_stream = false;
	state->stream_wrote_start = false;
}

/* Forget a top-level streamed transaction's state. */
static void
ms_stream_forget(ReorderBufferTXN *txn)
{
	if (txn->output_plugin_private != NULL)
	{
		pfree(txn->output_plugin_private);
		txn->output_plugin_private = NULL;
	}
}

static void
ms_stream_abort(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				XLogRecPtr abort_lsn)
{
	MsDecodingState *state = ctx->output_plugin_private;
	ReorderBufferTXN *toptxn = txn->toptxn ? txn->toptxn : txn;
	MsStreamTxn *stxn = toptxn->output_plugin_private;

	if (stxn != NULL && stxn->any_changes)
	{
		StringInfo	out = ms_msg_start(ctx);

		appendStringInfoString(out, "{\"action\":\"A\"");
		if (state->include_xids)
		{
			appendStringInfo(out, ",\"xid\":%u", toptxn->xid);
			if (toptxn != txn)
				appendStringInfo(out, ",\"subxid\":%u", txn->xid);
		}
		appendStringInfoChar(out, '}');
		ms_msg_end(ctx, true);
	}
	if (toptxn == txn)
		ms_stream_forget(txn);
}

static void
ms_stream_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				 XLogRecPtr commit_lsn)
{
	MsDecodingState *state = ctx->output_plugin_private;
	MsStreamTxn *stxn = txn->output_plugin_private;

	if ((stxn != NULL && stxn->any_changes) || !state->skip_empty_xacts)
		ms_write_xact(ctx, txn, 'C', commit_lsn, true);
	ms_stream_forget(txn);
}
