/*-------------------------------------------------------------------------
 *
 * verify.c
 *		The "verify" subcommand: every table of the domain on the target
 *		compared with the source as of one source position, while both
 *		take writes and "stream" runs.
 *
 * The position.  A temporary logical slot created with an exported
 * snapshot gives a position C and a source snapshot that sees exactly the
 * transactions whose commit record starts before C (the guarantee init's
 * copy rests on).  The target must then hold exactly those of the domain.
 * Through the job row on the target (state.c) verify first pauses the
 * stream ("hold at 0/0") and waits for its acknowledgement, so that the
 * stream commits nothing received after C is taken; then creates the slot;
 * then asks the stream to go on up to C ("hold at C"), waits until it holds
 * there (stream.c), opens a REPEATABLE READ snapshot on the target and
 * releases the hold.  The stream stands still from the pause until the
 * target snapshot is open: the time to create the slot (which waits for the
 * source transactions running at that moment to end; at most --timeout,
 * the transactions named meanwhile: slotcreate.c) and to apply what was in
 * flight, not the time of the comparison.  A hold expires on its own
 * (hold_expires_at), so a verify killed with SIGKILL cannot stop the stream
 * for good; any other exit releases it (atexit).  Without a running stream
 * nothing can be compared: verify waits --timeout seconds and gives up.
 *
 * The comparison.  Both snapshots are exported and imported by --jobs
 * worker threads, each with one connection per side.  A key range is
 * compared by count(*) and the bit_xor of a 64-bit hash per row
 * (row_hash_expr: the values' hashes chained, a value hashed by its type's
 * hash function where equal values have one representation, else from its
 * text under pinned output settings: ISO dates in UTC, extra_float_digits
 * 3, hex bytea, ...), so values compare exactly whatever the servers'
 * defaults.  Level 0: a table keyed by one column of a built-in type is
 * read in one sequential scan per side, GROUP BY width_bucket(key, bounds
 * sampled from the source's keys), which hashes every bucket at once
 * (scan_table); other keyed tables are hashed chunk by chunk by range
 * queries, several sent at once to each side (pipeline mode).  A range
 * whose count or hash differ is bisected (bisect): cut at every n-th key
 * of the side with more rows into about FANOUT ranges (a scanned table's
 * into ranges of LEAF_ROWS / 2 rows, hashed in one query per side), hashed
 * again, until a differing range holds at most LEAF_ROWS rows per side;
 * then the keys and row hashes of its rows are fetched and merged in the
 * client (missing, extra, changed), and the changed rows shown are fetched
 * in full to name their differing columns.  A table with replica identity
 * FULL and no key is compared as one multiset: count and the sum of the
 * row hashes; when they differ, the row hashes with their counts give the
 * numbers of missing and extra rows (a change counts as one of each).
 * When the servers' hash functions disagree on a probe (different byte
 * order), md5 of ROW(...)::text is used instead.
 *
 * Threads: a worker owns its connections, takes tasks from the shared
 * queues (differing buckets to bisect, tables to scan, chunks) and records
 * results under the shared mutex; it never exits the process (an error
 * stops every worker and is reported by the main thread, the only one that
 * prints).  On an interrupt the main thread cancels the workers' running
 * queries (their cancel handles live under the mutex).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "common/logging.h"

#include "job.h"

/*
 * Session settings that define the text of every value we hash, on both
 * sides.  client_encoding only matters for what reaches the client.
 */
#define VERIFY_SETTINGS \
	"SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';" \
	" SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET bytea_output = 'hex';" \
	" SET lc_monetary = 'C'; SET client_encoding = 'UTF8'; SET search_path = pg_catalog;" \
	" SET jit = off"

/*
 * The plans of the workers' queries: GROUP BY width_bucket() as a hash
 * aggregate (the planner cannot know how few buckets there are), key
 * orders from the index.
 */
#define WORKER_SETTINGS "SET enable_sort = off"

/*
 * The two row hashes: chained typed hashes (row_hash_expr), or, when the
 * servers' hash functions disagree, md5 of the row's text (%s).
 */
#define HASH_BUILTIN	"builtin"
#define HASH_MD5		"('x' || pg_catalog.\"left\"(pg_catalog.md5(%s), 16))::pg_catalog.\"bit\"(64)::pg_catalog.int8"

/* chunks whose hash queries a worker sends at once (pipeline mode) */
#define PIPELINE_CHUNKS 8

/* samples of the source's keys per chunk bound (when not one per block) */
#define SAMPLES_PER_CHUNK 20

/* tables hashed chunk by chunk: rows per chunk, in --chunk-rows */
#define FALLBACK_CHUNK_FACTOR 10

/* bisection: ranges a differing range is cut into; rows fetched at most */
#define FANOUT			16
#define LEAF_ROWS		16
#define MAX_DEPTH		32
#define MAX_FANOUT		256		/* tables scanned once: one query per side */

/* level-0 buckets of a table scanned once, at most */
#define MAX_BUCKETS		65536

typedef struct VerifyDiff
{
	char		kind;			/* 'm' missing on target, 'e' extra, 'c' changed */
	char	   *keytext;		/* key values as one record text */
	char	  **keyvals;		/* nkey values (text) */
	char	   *columns;		/* changed: the differing columns */
} VerifyDiff;

typedef struct VerifyTable
{
	DomainTable *dt;			/* counters read by progress.c */
	char	   *label;			/* schema.table on the source */
	char	   *src_from;		/* FROM item on the source */
	char	   *tgt_from;		/* FROM item on the target */
	bool		exists;			/* on the target */
	bool		compare_rows;	/* columns agree: rows can be compared */
	int			nkey;			/* 0: multiset comparison */
	char	  **keycols;		/* quoted key columns */
	char	   *keynames;		/* "k1, k2" unquoted, for reports */
	char	  **keyname;		/* unquoted key columns */
	char	   *keylist;		/* "k1, k2" */
	char	   *keytextlist;	/* "k1::text, k2::text" */
	char	   *rowtext;		/* ROW(c1, ...)::text */
	char	   *hash;			/* the row hash expression */
	int			ncols;
	char	  **colnames;		/* unquoted, for reports */
	char	   *coltextlist;	/* "c1::text, ..." */
	int			nbounds;
	char	  **bounds;			/* nbounds * nkey key values */
	bool		key_in_c;		/* key columns compared in "C" (keycols) */
	bool		scan;			/* level 0 in one bucketed scan per side */
	char	   *keytype;		/* scan: the key's type, for the bounds array */
	char	   *bucket_key[2];	/* scan: the key column with its collation,
								 * on the source [0] and the target [1] */
	char	   *bounds_array;	/* scan: the bounds as an array literal */
	PQExpBufferData schema;		/* differences of the schema, one per line */
	int			nschema;

	/* results, under the shared mutex */
	int			nchunks;
	int			chunks_done;
	long long	rows_src;
	long long	rows_tgt;
	long long	missing;
	long long	extra;
	long long	changed;
	int			ndiffs;
	VerifyDiff *diffs;			/* at most max_diffs */
	int			open_ranges;	/* differing buckets queued or being bisected */
	int			splits;			/* ranges cut by bisection */
	long long	rows_fetched;	/* keys and row hashes fetched, both sides */
	double		started;
	double		finished;
} VerifyTable;

/* a key range [lo, hi) of a table */
typedef struct VerifyChunk
{
	VerifyTable *t;
	char	  **lo;				/* nkey values; NULL: unbounded */
	char	  **hi;				/* nkey values; NULL: unbounded */
	long long	ns;				/* rows on the source, once hashed */
	long long	nt;				/* rows on the target, once hashed */
	int			depth;			/* of bisection */
} VerifyChunk;

typedef struct VerifyShared
{
	const JobOptions *opts;
	const char *src_snapshot;
	const char *tgt_snapshot;
	VerifyTable **scans;		/* tables read in one scan per side */
	int			nscans;
	int			next_scan;
	int			scanning;		/* scans running: they may queue ranges */
	VerifyChunk *chunks;		/* level 0 of the other tables */
	int			nchunks;
	int			next;
	VerifyChunk *ranges;		/* differing buckets to bisect */
	int			nranges;
	int			ranges_alloc;
	int			next_range;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* a range queued, a scan or worker done */
	int			running;
	volatile bool failed;
	char	   *error;
	int			exit_code;		/* of the first error: EXIT_CONNECTION or 0 */
} VerifyShared;

/* one worker thread; its cancel handles are used on an interrupt */
typedef struct VerifyWorker
{
	VerifyShared *vs;
	PGcancel   *src_cancel;
	PGcancel   *tgt_cancel;
} VerifyWorker;

/*
 * The hold on the stream, released at exit whatever the exit path: the
 * query helpers exit the program on errors, and atexit() handlers take no
 * argument, hence this file-level pointer (set only while a hold exists).
 */
typedef struct VerifyHold
{
	const char *target;
	const char *domain;
	bool		held;
} VerifyHold;

static VerifyHold *active_hold;

/* ---------------------------------------------------------------------
 * The hold on the stream
 * ---------------------------------------------------------------------
 */

/* clear the hold of this verify, on a connection of its own */
static void
hold_release_at_exit(void)
{
	PGconn	   *conn;
	const char *params[1];
	PGresult   *res;

	if (active_hold == NULL || !active_hold->held)
		return;
	active_hold->held = false;
	conn = job_connect(active_hold->target, "target", false, false);
	if (conn == NULL)
		return;					/* the hold expires on its own */
	params[0] = active_hold->domain;
	res = PQexecParams(conn,
					   "UPDATE " MS_STATE_SCHEMA ".jobs SET hold_lsn = NULL, held_lsn = NULL,"
					   " hold_expires_at = NULL WHERE domain = $1",
					   1, NULL, params, NULL, NULL, 0);
	PQclear(res);
	PQfinish(conn);
}

static void
hold_release(PGconn *ctl, VerifyHold *h)
{
	const char *params[1] = {h->domain};

	PQclear(job_query(ctl, "target",
					  "UPDATE " MS_STATE_SCHEMA ".jobs SET hold_lsn = NULL, held_lsn = NULL,"
					  " hold_expires_at = NULL WHERE domain = $1",
					  1, params));
	h->held = false;
}

/* give up: release the hold and exit with code */
static void
hold_give_up(PGconn *ctl, VerifyHold *h, int code)
{
	hold_release(ctl, h);
	exit(code);
}

/*
 * The stream did not acknowledge a hold in time: when that is because an
 * apply transaction of the job on the target waits for a lock (a target
 * transaction holds a row or table of the domain), say so, with the
 * processes holding the lock.  An apply transaction is recognised as a
 * session waiting for a lock while it holds or wants a lock on a table of
 * the job's target schema (its application_name may be anything).  The stream acknowledges a hold only between
 * its batches, so it cannot before that transaction ends.  Returns false
 * when no such wait is seen (or pg_stat_activity does not show the job's
 * sessions to this user).
 */
static bool
hold_report_lock_wait(PGconn *ctl, const char *target_schema)
{
	const char *params[1] = {target_schema};
	PGresult   *res;
	bool		found;

	/* a failure here only loses the explanation: not job_query */
	res = PQexecParams(ctl,
					   "SELECT a.pid,"
					   " pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.now() - a.query_start)::pg_catalog.numeric, 1),"
					   " pg_catalog.array_to_string(pg_catalog.pg_blocking_pids(a.pid), ', ')"
					   " FROM pg_catalog.pg_stat_activity a"
					   " WHERE a.datname = pg_catalog.current_database() AND a.pid <> pg_catalog.pg_backend_pid()"
					   " AND a.wait_event_type = 'Lock'"
					   " AND EXISTS (SELECT FROM pg_catalog.pg_locks l"
					   "             JOIN pg_catalog.pg_class c ON c.oid = l.relation"
					   "             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					   "             WHERE l.pid = a.pid AND l.locktype = 'relation' AND n.nspname = $1)"
					   " ORDER BY a.query_start LIMIT 1", 1, NULL, params, NULL, NULL, 0);
	found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (found)
	{
		pg_log_error_detail("An apply transaction of the stream (target process %s) has been waiting for a lock for %s s, held by target process %s; the stream pauses only between transactions.",
							PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		pg_log_error_hint("End the transaction of target process %s (it holds rows or tables of the domain), then run verify again.",
						  PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return found;
}

/*
 * Set the hold (lsn "0/0": pause) and wait until the stream acknowledges
 * it.  Exits with EXIT_TIMEOUT after --timeout seconds, EXIT_INTERRUPTED on
 * a signal.
 */
static void
hold_request(const JobOptions *opts, PGconn *ctl, PGconn *src, VerifyHold *h,
			 const char *slot, const char *target_schema, const char *lsn)
{
	const char *params[3];
	char		tbuf[32];
	PGresult   *res;
	double		start = job_now_seconds();
	int			said = 0;	/* 1: said no stream runs, 2: said waiting */
	bool		slot_inactive = false;

	snprintf(tbuf, sizeof(tbuf), "%d", opts->timeout * 2 + 60);
	params[0] = opts->domain;
	params[1] = lsn;
	params[2] = tbuf;
	if (!h->held)
	{
		/* another verify's unexpired hold stays */
		res = job_query(ctl, "target",
						"UPDATE " MS_STATE_SCHEMA ".jobs SET hold_lsn = $2, held_lsn = NULL,"
						" hold_expires_at = pg_catalog.now() + pg_catalog.make_interval(secs => $3)"
						" WHERE domain = $1 AND (hold_lsn IS NULL OR hold_expires_at <= pg_catalog.now())",
						3, params);
		if (strcmp(PQcmdTuples(res), "1") != 0)
		{
			pg_log_error("another verify of domain \"%s\" is holding its stream", opts->domain);
			pg_log_error_hint("Wait for it to end; its hold expires on its own otherwise.");
			exit(EXIT_TARGET);
		}
		PQclear(res);
		h->held = true;
	}
	else
	{
		res = job_query(ctl, "target",
						"UPDATE " MS_STATE_SCHEMA ".jobs SET hold_lsn = $2, held_lsn = NULL,"
						" hold_expires_at = pg_catalog.now() + pg_catalog.make_interval(secs => $3)"
						" WHERE domain = $1 RETURNING applied_lsn > $2::pg_catalog.pg_lsn",
						3, params);
		if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] == 't')
		{
			pg_log_error("the stream of domain \"%s\" applied past the verification point %s while paused",
						 opts->domain, lsn);
			pg_log_error_hint("Another process may be applying changes to the target; run verify again.");
			PQclear(res);
			hold_give_up(ctl, h, EXIT_TARGET);
		}
		PQclear(res);
	}

	for (;;)
	{
		const char *p1[1] = {opts->domain};
		const char *p2[1] = {slot};
		char	   *applied;
		bool		acked;

		res = job_query(ctl, "target",
						"SELECT held_lsn IS NOT DISTINCT FROM hold_lsn, applied_lsn"
						" FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1",
						1, p1);
		acked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
		applied = pg_strdup(PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "?");
		PQclear(res);
		if (acked)
		{
			pg_free(applied);
			return;
		}
		if (job_interrupted)
		{
			pg_log_error("interrupted while waiting for the stream");
			hold_give_up(ctl, h, EXIT_INTERRUPTED);
		}
		/* is a stream running at all? */
		res = job_query(src, "source",
						"SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
						1, p2);
		slot_inactive = PQntuples(res) == 0 || PQgetvalue(res, 0, 0)[0] != 't';
		PQclear(res);
		if (job_now_seconds() - start >= opts->timeout)
		{
			if (strcmp(lsn, "0/0") == 0)
				pg_log_error("the stream of domain \"%s\" did not pause within %d s",
							 opts->domain, opts->timeout);
			else
				pg_log_error("the stream of domain \"%s\" did not reach the verification point %s within %d s (applied up to %s)",
							 opts->domain, lsn, opts->timeout, applied);
			if (slot_inactive)
			{
				pg_log_error_detail("No \"migration-split stream\" is running for the domain (slot \"%s\" is inactive).", slot);
				pg_log_error_hint("Start \"migration-split stream\" for the domain, then run verify again.");
			}
			else if (!hold_report_lock_wait(ctl, target_schema))
				pg_log_error_hint("The stream is far behind the source; run verify again later or with a larger --timeout.");
			hold_give_up(ctl, h, EXIT_TIMEOUT);
		}
		/*
		 * After 5 s, say what verify waits for; again only when that
		 * changes (a stream started or stopped meanwhile), not every 5 s.
		 */
		if (job_now_seconds() - start >= 5 && said != (slot_inactive ? 1 : 2))
		{
			double		left = opts->timeout - (job_now_seconds() - start);

			if (slot_inactive)
				pg_log_info("no stream is running for domain \"%s\" (slot \"%s\" inactive); waiting up to %d s",
							opts->domain, slot, opts->timeout);
			else if (strcmp(lsn, "0/0") == 0)
				pg_log_info("waiting for the stream to pause (applied up to %s); at most %.0f s more",
							applied, left);
			else
				pg_log_info("waiting for the stream to reach %s (applied up to %s); at most %.0f s more",
							lsn, applied, left);
			said = slot_inactive ? 1 : 2;
		}
		pg_free(applied);
		pg_usleep(20000);
	}
}

/*
 * Create the temporary slot "slot" with an exported snapshot on "repl":
 * sets *lsn and *snapshot.  Creating it waits for the source's running
 * transactions to end; the wait is bounded by --timeout (counted from the
 * start of the creation, after the stream paused: the hold set then
 * expires only after twice --timeout and a minute, so it outlasts this
 * wait).  After 2 s the transactions waited for are named; when --timeout
 * passes, or on SIGINT/SIGTERM, the creation is cancelled (no slot is left
 * on the source), the hold released and verify exits with EXIT_TIMEOUT or
 * EXIT_INTERRUPTED.
 */
static void
take_source_point(const JobOptions *opts, PGconn *src, PGconn *repl,
				  PGconn *ctl, VerifyHold *h, const char *slot,
				  char **lsn, char **snapshot)
{
	SlotCreate	sc;
	char	   *hint;
	char	   *wait_hint;
	int			code;

	wait_hint = psprintf("verify gives up after %d s (--timeout); the stream is paused meanwhile.",
						 opts->timeout);
	/* reported once: the wait ends within --timeout */
	slot_create_request(&sc, repl, src, slot, true, opts->timeout, 0, wait_hint);

	switch (slot_create(&sc))
	{
		case SLOT_CREATED:
			*lsn = sc.lsn;
			*snapshot = sc.snapshot;
			sc.lsn = sc.snapshot = NULL;
			slot_create_free(&sc);
			pg_free(wait_hint);
			return;
		case SLOT_FAILED:
			{
				const char *state = PQresultErrorField(sc.error, PG_DIAG_SQLSTATE);

				pg_log_error("could not create a temporary replication slot on the source: %s",
							 job_error(repl));
				if (state && strcmp(state, "53400") == 0)
					pg_log_error_hint("verify needs one free replication slot: increase max_replication_slots on the source.");
				code = state && strcmp(state, "53400") == 0 ? EXIT_SLOT : job_exit_code_for(sc.error, repl);
				break;
			}
		case SLOT_TIMED_OUT:
			pg_log_error("could not create a temporary replication slot on the source within %d s",
						 opts->timeout);
			hint = slot_blocker_hint(&sc);
			if (sc.nblockers > 0)
			{
				pg_log_error_detail(SLOT_WAIT_DETAIL,
									sc.blockers);
				pg_log_error_hint("%s, or run verify again later or with a larger --timeout.", hint);
			}
			else
				pg_log_error_hint("Run verify again later or with a larger --timeout.");
			pg_free(hint);
			code = EXIT_TIMEOUT;
			break;
		case SLOT_INTERRUPTED:
		default:
			pg_log_error("interrupted while creating a temporary replication slot on the source; nothing was recorded, run verify again");
			code = EXIT_INTERRUPTED;
			break;
	}
	slot_create_free(&sc);
	pg_free(wait_hint);
	hold_give_up(ctl, h, code);
}

/*
 * Take the consistent point: pause the stream, create a temporary slot with
 * an exported snapshot, import it on "src", let the stream reach the slot's
 * position, import a target snapshot on "tgt", release the stream.
 * Returns the position; *src_snap and *tgt_snap are exported for workers.
 */
static char *
take_consistent_point(const JobOptions *opts, const JobState *js, PGconn *src,
					  PGconn *tgt, PGconn *ctl, VerifyHold *h,
					  char **src_snap, char **tgt_snap, double *held_seconds)
{
	PGconn	   *repl;
	PGresult   *res;
	PQExpBufferData sql;
	char	   *lsn;
	char	   *snapshot;
	char	   *slot;
	double		held_from;
	const char *params[2];

	repl = job_connect(opts->source, "source", true, true);
	res = job_query(repl, "source", "IDENTIFY_SYSTEM", 0, NULL);
	if (strcmp(PQgetvalue(res, 0, 0), js->system_id) != 0)
	{
		pg_log_error("the source (system identifier %s) is not the one domain \"%s\" was copied from (%s)",
					 PQgetvalue(res, 0, 0), opts->domain, js->system_id);
		pg_log_error_hint("Give --source the database init copied the domain from.");
		exit(EXIT_TARGET);
	}
	PQclear(res);

	/* 1: pause the stream */
	hold_request(opts, ctl, src, h, js->slot_name, js->target_schema, "0/0");
	held_from = job_now_seconds();

	/* 2: the source's position and snapshot, within --timeout */
	slot = psprintf("migration_split_verify_%d", (int) getpid());
	take_source_point(opts, src, repl, ctl, h, slot, &lsn, &snapshot);
	initPQExpBuffer(&sql);
	job_command(src, "source", VERIFY_SETTINGS);
	resetPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '%s'",
					  snapshot);
	job_command(src, "source", sql.data);
	res = job_query(src, "source", "SELECT pg_catalog.pg_export_snapshot()", 0, NULL);
	*src_snap = pg_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	/* the slot has done its work; its snapshot lives on in "src" */
	PQfinish(repl);

	/* 3: let the stream apply what committed before the position */
	hold_request(opts, ctl, src, h, js->slot_name, js->target_schema, lsn);

	/* 4: the target's snapshot, then release the stream */
	job_command(tgt, "target", VERIFY_SETTINGS);
	job_command(tgt, "target", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	params[0] = opts->domain;
	params[1] = lsn;
	res = job_query(tgt, "target",
					"SELECT applied_lsn <= $2::pg_catalog.pg_lsn AND held_lsn = $2::pg_catalog.pg_lsn,"
					" pg_catalog.pg_export_snapshot(), applied_lsn"
					" FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1",
					2, params);
	if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't')
	{
		pg_log_error("the target of domain \"%s\" is not at the verification point %s (applied up to %s)",
					 opts->domain, lsn, PQntuples(res) == 1 ? PQgetvalue(res, 0, 2) : "?");
		pg_log_error_hint("Another process may be applying changes to the target; run verify again.");
		hold_give_up(ctl, h, EXIT_TARGET);
	}
	*tgt_snap = pg_strdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	hold_release(ctl, h);
	*held_seconds = job_now_seconds() - held_from;
	termPQExpBuffer(&sql);
	return lsn;
}

/* ---------------------------------------------------------------------
 * Preparing the tables: keys, schema, chunk bounds
 * ---------------------------------------------------------------------
 */

static const char *
qi(PGconn *conn, const char *ident)
{
	return job_quote_ident(conn, ident);
}

/*
 * Columns and indexes of a table as text lines, comparable between the
 * sides: types in pg_catalog by format_type(), others by name (the target's
 * types live in the target schema), index definitions without their names.
 */
static PGresult *
describe_columns(PGconn *conn, const char *what, const char *qualified)
{
	const char *params[1] = {qualified};

	return job_query(conn, what,
					 "SELECT a.attname,"
					 " CASE WHEN t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace"
					 "  THEN pg_catalog.format_type(a.atttypid, a.atttypmod)"
					 "  ELSE t.typname::text || CASE WHEN a.atttypmod >= 0 THEN '(' || a.atttypmod || ')' ELSE '' END END,"
					 " a.attnotnull, COALESCE(co.collname::text, '')"
					 " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
					 " LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation"
					 " WHERE a.attrelid = $1::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped"
					 " ORDER BY a.attnum",
					 1, params);
}

static PGresult *
describe_indexes(PGconn *conn, const char *what, const char *qualified)
{
	const char *params[1] = {qualified};

	return job_query(conn, what,
					 "SELECT CASE WHEN i.indisprimary THEN 'primary key ' ELSE '' END ||"
					 " pg_catalog.regexp_replace(pg_catalog.pg_get_indexdef(i.indexrelid),"
					 "  '^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?\\S+ ', 'CREATE \\1INDEX ON t ')"
					 " FROM pg_catalog.pg_index i WHERE i.indrelid = $1::pg_catalog.regclass"
					 " ORDER BY 1",
					 1, params);
}

/* compare the schema of one table; fills t->schema, sets compare_rows */
static void
check_schema(PGconn *src, PGconn *tgt, VerifyTable *t, const char *srcq, const char *tgtq)
{
	PGresult   *sc = describe_columns(src, "source", srcq);
	PGresult   *tc = describe_columns(tgt, "target", tgtq);
	PGresult   *si;
	PGresult   *ti;
	int			i,
				j;

	t->compare_rows = true;
#define DIFF(...) do { appendPQExpBuffer(&t->schema, __VA_ARGS__); appendPQExpBufferChar(&t->schema, '\n'); t->nschema++; } while (0)
	for (i = 0; i < PQntuples(sc); i++)
	{
		const char *name = PQgetvalue(sc, i, 0);

		for (j = 0; j < PQntuples(tc); j++)
			if (strcmp(PQgetvalue(tc, j, 0), name) == 0)
				break;
		if (j == PQntuples(tc))
		{
			DIFF("column \"%s\" is missing on the target", name);
			t->compare_rows = false;
			continue;
		}
		if (j != i)
		{
			DIFF("column \"%s\" is column %d on the source, %d on the target", name, i + 1, j + 1);
			t->compare_rows = false;
		}
		if (strcmp(PQgetvalue(sc, i, 1), PQgetvalue(tc, j, 1)) != 0)
		{
			DIFF("column \"%s\" has type %s on the source, %s on the target",
				 name, PQgetvalue(sc, i, 1), PQgetvalue(tc, j, 1));
			t->compare_rows = false;
		}
		if (strcmp(PQgetvalue(sc, i, 2), PQgetvalue(tc, j, 2)) != 0)
			DIFF("column \"%s\" is %s on the source, %s on the target", name,
				 PQgetvalue(sc, i, 2)[0] == 't' ? "NOT NULL" : "nullable",
				 PQgetvalue(tc, j, 2)[0] == 't' ? "NOT NULL" : "nullable");
		if (strcmp(PQgetvalue(sc, i, 3), PQgetvalue(tc, j, 3)) != 0)
		{
			/* key ranges must sort the same on both sides */
			DIFF("column \"%s\" has collation \"%s\" on the source, \"%s\" on the target",
				 name, PQgetvalue(sc, i, 3), PQgetvalue(tc, j, 3));
			t->compare_rows = false;
		}
	}
	for (j = 0; j < PQntuples(tc); j++)
	{
		for (i = 0; i < PQntuples(sc); i++)
			if (strcmp(PQgetvalue(sc, i, 0), PQgetvalue(tc, j, 0)) == 0)
				break;
		if (i == PQntuples(sc))
		{
			DIFF("column \"%s\" exists only on the target", PQgetvalue(tc, j, 0));
			t->compare_rows = false;
		}
	}
	PQclear(sc);
	PQclear(tc);

	si = describe_indexes(src, "source", srcq);
	ti = describe_indexes(tgt, "target", tgtq);
	for (i = 0; i < PQntuples(si); i++)
	{
		for (j = 0; j < PQntuples(ti); j++)
			if (strcmp(PQgetvalue(si, i, 0), PQgetvalue(ti, j, 0)) == 0)
				break;
		if (j == PQntuples(ti))
			DIFF("index missing on the target: %s", PQgetvalue(si, i, 0));
	}
	for (j = 0; j < PQntuples(ti); j++)
	{
		for (i = 0; i < PQntuples(si); i++)
			if (strcmp(PQgetvalue(si, i, 0), PQgetvalue(ti, j, 0)) == 0)
				break;
		if (i == PQntuples(si))
			DIFF("index only on the target: %s", PQgetvalue(ti, j, 0));
	}
#undef DIFF
	PQclear(si);
	PQclear(ti);
}

/*
 * The 64-bit hash of one value, seeded with its column's position: the
 * type's own hash function where equal values have one representation
 * (integers; text and varchar compared bytewise; timestamps as their
 * microseconds, timestamptz taken in UTC; uuid), else the hash of its text
 * under the pinned settings (float digits, numeric scale, ... count),
 * bytewise.  bpchar keeps its padding (its cast to text would drop it).
 */
static char *
column_hash_expr(const char *qcol, unsigned int typoid, int seed)
{
	switch (typoid)
	{
		case 21:				/* int2 */
			return psprintf("pg_catalog.hashint2extended(%s, %d)", qcol, seed);
		case 23:				/* int4 */
			return psprintf("pg_catalog.hashint4extended(%s, %d)", qcol, seed);
		case 20:				/* int8 */
			return psprintf("pg_catalog.hashint8extended(%s, %d)", qcol, seed);
		case 25:				/* text */
		case 1043:				/* varchar */
			return psprintf("pg_catalog.hashtextextended(%s COLLATE \"C\", %d)", qcol, seed);
		case 1114:				/* timestamp */
			return psprintf("pg_catalog.timestamp_hash_extended(%s, %d)", qcol, seed);
		case 1184:				/* timestamptz: the session's TimeZone is UTC */
			return psprintf("pg_catalog.timestamp_hash_extended(%s::pg_catalog.\"timestamp\", %d)", qcol, seed);
		case 2950:				/* uuid */
			return psprintf("pg_catalog.uuid_hash_extended(%s, %d)", qcol, seed);
		case 1042:				/* bpchar */
			return psprintf("pg_catalog.hashtextextended(pg_catalog.textin(pg_catalog.bpcharout(%s)), %d)", qcol, seed);
		default:

			/*
			 * "C": the text of a value keeps the collation of a collatable
			 * type (a domain over text, an array of text), under which a
			 * non-deterministic collation hashes 'a' and 'A' alike
			 */
			return psprintf("pg_catalog.hashtextextended((%s::pg_catalog.text) COLLATE \"C\", %d)", qcol, seed);
	}
}

/*
 * The hash of a row: the column hashes chained through hashint8extended,
 * so that it depends on every value and its column (two rows exchanging a
 * value change both row hashes).  A NULL has its own constant.  About
 * twice as fast as hashing ROW(...)::text, whose output functions and
 * quoting dominate.
 */
static char *
row_hash_expr(PGconn *conn, const DomainTable *dt)
{
	PQExpBufferData b;
	char	   *r;
	int			i;

	initPQExpBuffer(&b);
	for (i = 0; i < dt->ncolumns; i++)
		appendPQExpBufferStr(&b, "pg_catalog.hashint8extended(");
	appendPQExpBufferStr(&b, "0::pg_catalog.int8");
	for (i = 0; i < dt->ncolumns; i++)
	{
		char	   *q = job_quote_ident(conn, dt->columns[i].name);
		char	   *h = column_hash_expr(q, dt->columns[i].typoid, i + 1);

		appendPQExpBuffer(&b, " # COALESCE(%s, 6061984739), %d)", h, i + 1);
		pg_free(q);
		pg_free(h);
	}
	r = pg_strdup(b.data);
	termPQExpBuffer(&b);
	return r;
}

/* an array literal of text values, for width_bucket() */
static char *
array_literal(char **values, int n, int stride)
{
	PQExpBufferData b;
	char	   *r;
	int			i;

	initPQExpBuffer(&b);
	appendPQExpBufferChar(&b, '{');
	for (i = 0; i < n; i++)
	{
		const char *p;

		appendPQExpBufferStr(&b, i ? ",\"" : "\"");
		for (p = values[i * stride]; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				appendPQExpBufferChar(&b, '\\');
			appendPQExpBufferChar(&b, *p);
		}
		appendPQExpBufferChar(&b, '"');
	}
	appendPQExpBufferChar(&b, '}');
	r = pg_strdup(b.data);
	termPQExpBuffer(&b);
	return r;
}

/*
 * The level-0 range bounds of a table from a sample of the source's keys
 * (on "src", in the snapshot): about --chunk-rows rows per range (times
 * FALLBACK_CHUNK_FACTOR for tables hashed chunk by chunk).
 */
static void
sample_bounds(const JobOptions *opts, PGconn *src, VerifyTable *t)
{
	DomainTable *dt = t->dt;
	PGresult   *res;
	PQExpBufferData b;
	double		est;
	long		nchunks;
	int			i;

	initPQExpBuffer(&b);
	/* range bounds from a sample of the source's keys */
	est = dt->est_rows > 0 ? dt->est_rows : dt->est_bytes / 100.0;
	nchunks = (long) (est / ((double) opts->chunk_rows * (t->scan ? 1 : FALLBACK_CHUNK_FACTOR))) + 1;
	/* the buckets of a scan are groups of a hash aggregate: a few MB */
	if (t->scan && nchunks > MAX_BUCKETS)
		nchunks = MAX_BUCKETS;
	if (t->nkey > 0 && t->compare_rows && nchunks > 1)
	{
		double		blocks = Max(dt->est_bytes / 8192.0, 1);
		bool		per_block = blocks >= 1024 && blocks >= 4.0 * nchunks;
		double		pct;
		int			nsample;
		int			step;

		resetPQExpBuffer(&b);
		appendPQExpBufferStr(&b, "SELECT ");
		if (per_block)
		{
			/*
			 * The first key of each sampled block (SYSTEM samples whole
			 * blocks, whose keys are often neighbours): about one per range.
			 */
			pct = Min(100.0, 100.0 * nchunks / blocks);
			for (i = 0; i < t->nkey; i++)
				appendPQExpBuffer(&b, "%s%s::pg_catalog.text AS verify_key_%d", i ? ", " : "", t->keycols[i], i);
			appendPQExpBuffer(&b, " FROM %s TABLESAMPLE SYSTEM (%g)"
							  " WHERE (ctid::pg_catalog.text::pg_catalog.point)[1] = 1 ORDER BY %s",
							  t->src_from, pct, t->keylist);
		}
		else
		{
			pct = 100.0 * nchunks * SAMPLES_PER_CHUNK / Max(est, 1);
			pct = Min(100.0, Max(pct, 100.0 * 64 / blocks));
			/* output names that cannot capture ORDER BY's key columns */
			for (i = 0; i < t->nkey; i++)
				appendPQExpBuffer(&b, "%s%s::pg_catalog.text AS verify_key_%d", i ? ", " : "", t->keycols[i], i);
			appendPQExpBuffer(&b, " FROM %s TABLESAMPLE SYSTEM (%g) ORDER BY %s",
							  t->src_from, pct, t->keylist);
		}
		/* a failure leaves one range: still correct, only coarser */
		res = PQexec(src, "SAVEPOINT sample");
		PQclear(res);
		res = PQexec(src, b.data);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			PQclear(res);
			res = NULL;
			PQclear(PQexec(src, "ROLLBACK TO SAVEPOINT sample"));
		}
		else
			PQclear(PQexec(src, "RELEASE SAVEPOINT sample"));
		nsample = res ? PQntuples(res) : 0;
		if (nchunks > nsample)
			nchunks = nsample;
		if (nchunks > 1)
		{
			int			k;

			step = nsample / nchunks;
			t->bounds = pg_malloc(sizeof(char *) * t->nkey * (nchunks - 1));
			t->nbounds = 0;
			for (i = 1; i < nchunks; i++)
			{
				for (k = 0; k < t->nkey; k++)
					t->bounds[t->nbounds * t->nkey + k] = pg_strdup(PQgetvalue(res, i * step, k));
				t->nbounds++;
			}
		}
		if (res)
			PQclear(res);
	}

	t->nchunks = (t->compare_rows) ? t->nbounds + 1 : 0;
	if (t->scan && t->nbounds > 0)
		t->bounds_array = array_literal(t->bounds, t->nbounds, 1);
	termPQExpBuffer(&b);
}

/*
 * The key column of a table scanned once, with an explicit COLLATE of its
 * collation (the bounds parameter has the default collation), as this side
 * names it: a collation of the domain's schema lives in the target schema
 * on the target (check_schema found the same name on both sides).
 */
static char *
bucket_key(PGconn *conn, const char *what, const char *qualified,
		   const char *attname, const char *qcol)
{
	const char *params[2] = {qualified, attname};
	PGresult   *res;
	char	   *r;

	res = job_query(conn, what,
					"SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.collname)"
					" FROM pg_catalog.pg_attribute a"
					" JOIN pg_catalog.pg_collation c ON c.oid = a.attcollation"
					" JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace"
					" WHERE a.attrelid = $1::pg_catalog.regclass AND a.attname = $2",
					2, params);
	if (PQntuples(res) == 1)
		r = psprintf("%s COLLATE %s", qcol, PQgetvalue(res, 0, 0));
	else
		r = pg_strdup(qcol);
	PQclear(res);
	return r;
}

/*
 * Key columns (primary key, else replica identity index), the expressions
 * of the row text and hash, the schema check and the chunk bounds of one
 * table.  Runs in the snapshots of src and tgt.
 */
static void
prepare_table(const JobOptions *opts, PGconn *src, PGconn *tgt, VerifyTable *t,
			  const char *target_schema, const char *hash_template,
			  bool default_collations_differ)
{
	DomainTable *dt = t->dt;
	char	   *srcq = schema_qualified(src, dt->schema, dt->name);
	char	   *tgtq = schema_qualified(tgt, target_schema, dt->name);
	const char *params[1];
	PGresult   *res;
	PQExpBufferData b;
	int			i;

	t->label = psprintf("%s.%s", dt->schema, dt->name);
	t->src_from = psprintf("%s%s", dt->relkind == 'p' ? "" : "ONLY ", srcq);
	t->tgt_from = psprintf("ONLY %s", tgtq);
	initPQExpBuffer(&t->schema);

	params[0] = tgtq;
	res = job_query(tgt, "target", "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, params);
	t->exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!t->exists)
	{
		appendPQExpBuffer(&t->schema, "table %s is missing on the target\n", tgtq);
		t->nschema++;
		pg_free(srcq);
		pg_free(tgtq);
		return;
	}
	check_schema(src, tgt, t, srcq, tgtq);

	/* key */
	params[0] = srcq;
	res = job_query(src, "source",
					"SELECT a.attname, a.attcollation = 100 FROM pg_catalog.pg_index i,"
					" LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, n),"
					" pg_catalog.pg_attribute a"
					" WHERE i.indexrelid = (SELECT x.indexrelid FROM pg_catalog.pg_index x"
					"   WHERE x.indrelid = $1::pg_catalog.regclass AND (x.indisprimary OR x.indisreplident)"
					"   ORDER BY x.indisprimary DESC LIMIT 1)"
					" AND k.n <= i.indnkeyatts AND a.attrelid = i.indrelid AND a.attnum = k.attnum"
					" ORDER BY k.n",
					1, params);
	t->nkey = PQntuples(res);
	t->keycols = pg_malloc0(sizeof(char *) * (t->nkey + 1));
	t->keyname = pg_malloc0(sizeof(char *) * (t->nkey + 1));
	initPQExpBuffer(&b);
	for (i = 0; i < t->nkey; i++)
	{
		t->keycols[i] = (char *) qi(src, PQgetvalue(res, i, 0));
		t->keyname[i] = pg_strdup(PQgetvalue(res, i, 0));
		if (default_collations_differ && PQgetvalue(res, i, 1)[0] == 't')
		{
			/*
			 * The databases' default collations sort differently: key ranges
			 * in "C" on both sides (the column's index is not used).
			 */
			char	   *c = psprintf("(%s COLLATE \"C\")", t->keycols[i]);

			pg_free(t->keycols[i]);
			t->keycols[i] = c;
			t->key_in_c = true;
		}
		appendPQExpBuffer(&b, "%s%s", i ? ", " : "", t->keycols[i]);
	}
	t->keylist = pg_strdup(b.data);
	resetPQExpBuffer(&b);
	for (i = 0; i < t->nkey; i++)
		appendPQExpBuffer(&b, "%s%s", i ? ", " : "", PQgetvalue(res, i, 0));
	t->keynames = pg_strdup(b.data);
	resetPQExpBuffer(&b);
	for (i = 0; i < t->nkey; i++)
		appendPQExpBuffer(&b, "%s%s::text", i ? ", " : "", t->keycols[i]);
	t->keytextlist = pg_strdup(b.data);
	PQclear(res);

	/* every column, generated ones included: they are data on the target too */
	t->ncols = dt->ncolumns;
	t->colnames = pg_malloc0(sizeof(char *) * (t->ncols + 1));
	resetPQExpBuffer(&b);
	appendPQExpBufferStr(&b, "ROW(");
	for (i = 0; i < dt->ncolumns; i++)
	{
		t->colnames[i] = dt->columns[i].name;
		appendPQExpBuffer(&b, "%s%s", i ? ", " : "", qi(src, dt->columns[i].name));
	}
	appendPQExpBufferStr(&b, ")::text");
	t->rowtext = pg_strdup(b.data);
	if (strcmp(hash_template, HASH_BUILTIN) == 0)
		t->hash = row_hash_expr(src, dt);
	else
		t->hash = psprintf(hash_template, t->rowtext);
	resetPQExpBuffer(&b);
	for (i = 0; i < dt->ncolumns; i++)
		appendPQExpBuffer(&b, "%s%s::text", i ? ", " : "", qi(src, dt->columns[i].name));
	t->coltextlist = pg_strdup(b.data);

	/*
	 * Level 0.  A table keyed by one column of a built-in type (not an
	 * array: its bounds could not be elements of one array literal of the
	 * key's type) is read once per side: a sequential scan computes the
	 * count and hash of every key range (bucket) at once, GROUP BY
	 * width_bucket(key, bounds).  Other keyed tables are hashed range by
	 * range (index scans, chunks of FALLBACK_CHUNK_FACTOR buckets).
	 */
	if (t->nkey == 1 && t->compare_rows)
	{
		const char *p2[2] = {srcq, t->keyname[0]};

		res = job_query(src, "source",
						"SELECT pg_catalog.format_type(a.atttypid, a.atttypmod),"
						" a.atttypid < 16384 AND t.typcategory <> 'A'"
						" FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
						" WHERE a.attrelid = $1::pg_catalog.regclass AND a.attname = $2",
						2, p2);
		if (PQntuples(res) == 1 && PQgetvalue(res, 0, 1)[0] == 't')
		{
			t->scan = true;
			t->keytype = pg_strdup(PQgetvalue(res, 0, 0));
			if (t->key_in_c)
			{
				t->bucket_key[0] = pg_strdup(t->keycols[0]);
				t->bucket_key[1] = pg_strdup(t->keycols[0]);
			}
			else
			{
				t->bucket_key[0] = bucket_key(src, "source", srcq, t->keyname[0], t->keycols[0]);
				t->bucket_key[1] = bucket_key(tgt, "target", tgtq, t->keyname[0], t->keycols[0]);
			}
		}
		PQclear(res);
	}

	t->nchunks = t->compare_rows ? 1 : 0;
	/* a scanned table is sampled by its worker, in parallel */
	if (!t->scan)
		sample_bounds(opts, src, t);
	termPQExpBuffer(&b);
	pg_free(srcq);
	pg_free(tgtq);
}

/* ---------------------------------------------------------------------
 * Workers
 * ---------------------------------------------------------------------
 */

/* WHERE clause of a key range; parameters point into its bounds */
static void
range_where(VerifyChunk *c, PQExpBuffer where, const char **params, int *nparams)
{
	VerifyTable *t = c->t;
	int			n = 0;
	int			k;
	int			side;

	resetPQExpBuffer(where);
	for (side = 0; side < 2; side++)
	{
		char	  **bound = side == 0 ? c->lo : c->hi;

		if (bound == NULL)
			continue;
		appendPQExpBuffer(where, "%s%s%s%s %s %s", where->len ? " AND " : "",
						  t->nkey > 1 ? "(" : "", t->keylist, t->nkey > 1 ? ")" : "",
						  side == 0 ? ">=" : "<", t->nkey > 1 ? "(" : "");
		for (k = 0; k < t->nkey; k++)
		{
			params[n++] = bound[k];
			appendPQExpBuffer(where, "%s$%d", k ? ", " : "", n);
		}
		if (t->nkey > 1)
			appendPQExpBufferChar(where, ')');
	}
	if (where->len == 0)
		appendPQExpBufferStr(where, "true");
	*nparams = n;
}

/* send one query to both sides and wait for both results */
static bool
both(PGconn *src, PGconn *tgt, const char *ssql, const char *tsql, int nparams,
	 const char **params, PGresult **sres, PGresult **tres, char **err)
{
	PGresult   *extra;

	*sres = *tres = NULL;
	if (PQsendQueryParams(src, ssql, nparams, NULL, params, NULL, NULL, 0) != 1)
	{
		*err = psprintf("source: %s", PQerrorMessage(src));
		return false;
	}
	if (PQsendQueryParams(tgt, tsql, nparams, NULL, params, NULL, NULL, 0) != 1)
	{
		*err = psprintf("target: %s", PQerrorMessage(tgt));
		return false;
	}
	*sres = PQgetResult(src);
	while ((extra = PQgetResult(src)) != NULL)
		PQclear(extra);
	*tres = PQgetResult(tgt);
	while ((extra = PQgetResult(tgt)) != NULL)
		PQclear(extra);
	if (PQresultStatus(*sres) != PGRES_TUPLES_OK)
		*err = psprintf("source: %s", PQresultErrorMessage(*sres));
	else if (PQresultStatus(*tres) != PGRES_TUPLES_OK)
		*err = psprintf("target: %s", PQresultErrorMessage(*tres));
	return *err == NULL;
}

typedef struct RowRef
{
	const char *key;			/* key text (or, without key, the row hash) */
	PGresult   *res;
	int			row;
} RowRef;

static int
rowref_cmp(const void *a, const void *b)
{
	return strcmp(((const RowRef *) a)->key, ((const RowRef *) b)->key);
}

static RowRef *
sorted_rows(PGresult *res)
{
	int			n = PQntuples(res);
	RowRef	   *r = pg_malloc(sizeof(RowRef) * (n + 1));
	int			i;

	for (i = 0; i < n; i++)
	{
		r[i].key = PQgetvalue(res, i, 0);
		r[i].res = res;
		r[i].row = i;
	}
	qsort(r, n, sizeof(RowRef), rowref_cmp);
	return r;
}

/* record a differing row; the caller holds the lock */
static void
add_diff(const JobOptions *opts, VerifyTable *t, char kind, PGresult *res, int row)
{
	VerifyDiff *d;
	int			k;

	if (kind == 'm')
		t->missing++;
	else if (kind == 'e')
		t->extra++;
	else
		t->changed++;
	if (t->ndiffs >= opts->max_diffs)
		return;
	if (t->diffs == NULL)
		t->diffs = pg_malloc0(sizeof(VerifyDiff) * Max(opts->max_diffs, 1));
	d = &t->diffs[t->ndiffs++];
	d->kind = kind;
	d->keytext = pg_strdup(PQgetvalue(res, row, t->nkey > 0 ? 0 : 2));
	d->keyvals = pg_malloc0(sizeof(char *) * (t->nkey + 1));
	for (k = 0; k < t->nkey; k++)
		d->keyvals[k] = pg_strdup(PQgetvalue(res, row, 2 + k));
}

/*
 * The rows of a small differing range: keys and row hashes of both sides
 * (without key: distinct row hashes, their counts and one row text) are
 * fetched and merged.
 */
static bool
drill_down(VerifyShared *vs, PGconn *src, PGconn *tgt, VerifyChunk *c, char **err)
{
	VerifyTable *t = c->t;
	PQExpBufferData s;
	PQExpBufferData g;
	PQExpBufferData where;
	const char *params[64];
	int			nparams;
	PGresult   *sres;
	PGresult   *tres;
	RowRef	   *a;
	RowRef	   *b;
	int			na,
				nb,
				i = 0,
				j = 0;

	initPQExpBuffer(&s);
	initPQExpBuffer(&g);
	initPQExpBuffer(&where);
	range_where(c, &where, params, &nparams);
	if (t->nkey > 0)
	{
		appendPQExpBuffer(&s, "SELECT ROW(%s)::text, %s, %s FROM %s WHERE %s",
						  t->keylist, t->hash, t->keytextlist, t->src_from, where.data);
		appendPQExpBuffer(&g, "SELECT ROW(%s)::text, %s, %s FROM %s WHERE %s",
						  t->keylist, t->hash, t->keytextlist, t->tgt_from, where.data);
	}
	else
	{
		appendPQExpBuffer(&s, "SELECT h::text, pg_catalog.count(*), pg_catalog.min(r) FROM"
						  " (SELECT %s AS h, %s AS r FROM %s) x GROUP BY h",
						  t->hash, t->rowtext, t->src_from);
		appendPQExpBuffer(&g, "SELECT h::text, pg_catalog.count(*), pg_catalog.min(r) FROM"
						  " (SELECT %s AS h, %s AS r FROM %s) x GROUP BY h",
						  t->hash, t->rowtext, t->tgt_from);
	}
	termPQExpBuffer(&where);
	if (!both(src, tgt, s.data, g.data, nparams, params, &sres, &tres, err))
	{
		PQclear(sres);
		PQclear(tres);
		termPQExpBuffer(&s);
		termPQExpBuffer(&g);
		return false;
	}
	termPQExpBuffer(&s);
	termPQExpBuffer(&g);
	na = PQntuples(sres);
	nb = PQntuples(tres);
	a = sorted_rows(sres);
	b = sorted_rows(tres);

	pthread_mutex_lock(&vs->lock);
	t->rows_fetched += na + nb;
	while (i < na || j < nb)
	{
		int			cmp = i >= na ? 1 : j >= nb ? -1 : strcmp(a[i].key, b[j].key);

		if (t->nkey == 0)
		{
			/* multiset: compare the counts of each row hash */
			long long	ca = cmp <= 0 ? atoll(PQgetvalue(sres, a[i].row, 1)) : 0;
			long long	cb = cmp >= 0 ? atoll(PQgetvalue(tres, b[j].row, 1)) : 0;
			long long	n;

			for (n = cb; n < ca; n++)
				add_diff(vs->opts, t, 'm', sres, a[i].row);
			for (n = ca; n < cb; n++)
				add_diff(vs->opts, t, 'e', tres, b[j].row);
		}
		else if (cmp < 0)
			add_diff(vs->opts, t, 'm', sres, a[i].row);
		else if (cmp > 0)
			add_diff(vs->opts, t, 'e', tres, b[j].row);
		else if (strcmp(PQgetvalue(sres, a[i].row, 1), PQgetvalue(tres, b[j].row, 1)) != 0)
			add_diff(vs->opts, t, 'c', sres, a[i].row);
		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
	}
	pthread_mutex_unlock(&vs->lock);
	pg_free(a);
	pg_free(b);
	PQclear(sres);
	PQclear(tres);
	return true;
}

/* the hash query of a range on one side */
static char *
range_hash_sql(VerifyChunk *c, bool source, const char **params, int *nparams)
{
	VerifyTable *t = c->t;
	PQExpBufferData where;
	char	   *sql;

	initPQExpBuffer(&where);
	range_where(c, &where, params, nparams);
	/* without key: the sum of the hashes, so that equal rows do not cancel */
	sql = psprintf("SELECT pg_catalog.count(*), %s(%s) FROM %s WHERE %s",
				   t->nkey > 0 ? "pg_catalog.bit_xor" : "pg_catalog.sum", t->hash,
				   source ? t->src_from : t->tgt_from, where.data);
	termPQExpBuffer(&where);
	return sql;
}

/*
 * Send the hash queries of n ranges to one side in pipeline mode: the
 * server runs them back to back, whatever the other side is doing.
 */
static bool
send_hashes(PGconn *conn, VerifyChunk *cs, int n, bool source, char **err)
{
	const char *params[64];
	int			nparams;
	int			i;

	if (PQenterPipelineMode(conn) != 1)
	{
		*err = psprintf("%s: %s", source ? "source" : "target", PQerrorMessage(conn));
		return false;
	}
	for (i = 0; i < n; i++)
	{
		char	   *sql = range_hash_sql(&cs[i], source, params, &nparams);
		int			r = PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

		pg_free(sql);
		if (r != 1)
		{
			*err = psprintf("%s: %s", source ? "source" : "target", PQerrorMessage(conn));
			return false;
		}
	}
	if (PQpipelineSync(conn) != 1)
	{
		*err = psprintf("%s: %s", source ? "source" : "target", PQerrorMessage(conn));
		return false;
	}
	return true;
}

/* read the n results of send_hashes: row counts and hashes */
static bool
read_hashes(PGconn *conn, int n, bool source, long long *counts, char **hashes, char **err)
{
	const char *what = source ? "source" : "target";
	PGresult   *res;
	int			i;

	for (i = 0; i < n; i++)
	{
		res = PQgetResult(conn);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		{
			*err = psprintf("%s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
			PQclear(res);
			return false;
		}
		counts[i] = atoll(PQgetvalue(res, 0, 0));
		hashes[i] = pg_strdup(PQgetvalue(res, 0, 1));
		PQclear(res);
		if ((res = PQgetResult(conn)) != NULL)
		{
			*err = psprintf("%s: unexpected result in pipeline", what);
			PQclear(res);
			return false;
		}
	}
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_PIPELINE_SYNC)
	{
		*err = psprintf("%s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	PQclear(res);
	if (PQexitPipelineMode(conn) != 1)
	{
		*err = psprintf("%s: %s", what, PQerrorMessage(conn));
		return false;
	}
	return true;
}

static bool verify_ranges(VerifyShared *vs, PGconn *src, PGconn *tgt, VerifyChunk *cs,
						  int n, bool level0, char **err);
static bool bucket_hashes(PGconn *src, PGconn *tgt, VerifyTable *t, const char *where,
						  const char **params, int nparams, const char *array, int nb,
						  long long **cnt, const char ***hash, PGresult **sres,
						  PGresult **tres, char **err);
static bool bucket_differs(long long **cnt, const char ***hash, int b);
static void free_buckets(long long **cnt, const char ***hash, PGresult *sres, PGresult *tres);

/*
 * Bisection of a range whose count or hash differ (c->ns and c->nt rows):
 * a small one is drilled down to its rows; a larger one is cut at every
 * step-th key of the side with more rows (the keys of the range read in key
 * order) into FANOUT ranges, or for a table scanned once into ranges of 8
 * rows (at most MAX_FANOUT of them), whose hashes are compared in turn.  So
 * only the rows of small differing ranges travel.
 */
static bool
bisect(VerifyShared *vs, PGconn *src, PGconn *tgt, VerifyChunk *c, char **err)
{
	VerifyTable *t = c->t;
	bool		source = c->ns >= c->nt;
	long long	n = Max(c->ns, c->nt);
	long long	step;
	PQExpBufferData sql;
	PQExpBufferData where;
	const char *params[64];
	int			nparams;
	PGresult   *res;
	VerifyChunk *sub;
	int			nsub;
	int			i,
				k;
	bool		ok;

	if (t->nkey == 0 || n <= LEAF_ROWS || c->depth >= MAX_DEPTH)
		return drill_down(vs, src, tgt, c, err);

	/*
	 * A scanned table hashes any number of sub-ranges in one query per
	 * side: cut straight down to ranges of about LEAF_ROWS rows (fewer round
	 * trips); otherwise one query per sub-range, FANOUT of them.
	 */
	if (t->scan)
		step = Max(LEAF_ROWS / 2, (n + MAX_FANOUT - 1) / MAX_FANOUT);
	else
		step = (n + FANOUT - 1) / FANOUT;
	initPQExpBuffer(&sql);
	initPQExpBuffer(&where);
	range_where(c, &where, params, &nparams);
	appendPQExpBufferStr(&sql, "SELECT ");
	for (k = 0; k < t->nkey; k++)
		appendPQExpBuffer(&sql, "%ss.verify_key_%d", k ? ", " : "", k);
	appendPQExpBufferStr(&sql, " FROM (SELECT ");
	for (k = 0; k < t->nkey; k++)
		appendPQExpBuffer(&sql, "%s::pg_catalog.text AS verify_key_%d, ", t->keycols[k], k);
	appendPQExpBuffer(&sql, "pg_catalog.row_number() OVER (ORDER BY %s) AS verify_rn FROM %s WHERE %s) s"
					  " WHERE s.verify_rn %% %lld = 0 ORDER BY s.verify_rn",
					  t->keylist, source ? t->src_from : t->tgt_from, where.data, step);
	termPQExpBuffer(&where);
	res = PQexecParams(source ? src : tgt, sql.data, nparams, NULL, params, NULL, NULL, 0);
	termPQExpBuffer(&sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		*err = psprintf("%s: %s", source ? "source" : "target", PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	nsub = PQntuples(res) + 1;
	if (nsub < 2)
	{
		PQclear(res);
		return drill_down(vs, src, tgt, c, err);
	}

	/* the sub-ranges [lo, b1), [b1, b2), ..., [bn, hi) */
	sub = pg_malloc0(sizeof(VerifyChunk) * nsub);
	for (i = 0; i < nsub; i++)
	{
		sub[i].t = t;
		sub[i].depth = c->depth + 1;
		sub[i].lo = c->lo;
		sub[i].hi = c->hi;
		if (i > 0)
		{
			sub[i].lo = pg_malloc(sizeof(char *) * t->nkey);
			for (k = 0; k < t->nkey; k++)
				sub[i].lo[k] = PQgetvalue(res, i - 1, k);
		}
		if (i > 0 && i < nsub)
			sub[i - 1].hi = sub[i].lo;
	}
	pthread_mutex_lock(&vs->lock);
	t->splits++;
	pthread_mutex_unlock(&vs->lock);
	if (t->scan)
	{
		/* one query per side: the sub-ranges are buckets of the range */
		char	  **keys = pg_malloc(sizeof(char *) * (nsub - 1));
		char	   *array;
		long long  *cnt[2];
		const char **hash[2];
		PGresult   *sres = NULL;
		PGresult   *tres = NULL;

		for (i = 1; i < nsub; i++)
			keys[i - 1] = sub[i].lo[0];
		array = array_literal(keys, nsub - 1, 1);
		pg_free(keys);
		initPQExpBuffer(&where);
		range_where(c, &where, params, &nparams);
		ok = bucket_hashes(src, tgt, t, where.data, params, nparams, array, nsub,
						   cnt, hash, &sres, &tres, err);
		termPQExpBuffer(&where);
		pg_free(array);
		for (i = 0; ok && i < nsub; i++)
			if (bucket_differs(cnt, hash, i))
			{
				sub[i].ns = cnt[0][i];
				sub[i].nt = cnt[1][i];
				ok = bisect(vs, src, tgt, &sub[i], err);
			}
		free_buckets(cnt, hash, sres, tres);
	}
	else
		ok = verify_ranges(vs, src, tgt, sub, nsub, false, err);
	for (i = 1; i < nsub; i++)
		pg_free(sub[i].lo);
	pg_free(sub);
	PQclear(res);
	return ok;
}

/* the table's last range is done: the caller holds the lock */
static void
table_progress(VerifyTable *t)
{
	DomainTable *dt = t->dt;

	dt->rows_done = t->rows_src;
	dt->bytes_done = (long long) (dt->est_bytes * Min(1.0, t->rows_src / Max(dt->est_rows, 1.0)));
	if (t->chunks_done == t->nchunks && t->open_ranges == 0)
	{
		t->finished = job_now_seconds();
		dt->state = TABLE_COPIED;
	}
}

/*
 * Hash n ranges on both sides at once (pipelined), then bisect those that
 * differ.  level0: the chunks of a table (their rows are counted).
 */
static bool
verify_ranges(VerifyShared *vs, PGconn *src, PGconn *tgt, VerifyChunk *cs, int n,
			  bool level0, char **err)
{
	long long  *ns = pg_malloc0(sizeof(long long) * n);
	long long  *nt = pg_malloc0(sizeof(long long) * n);
	char	  **hs = pg_malloc0(sizeof(char *) * n);
	char	  **ht = pg_malloc0(sizeof(char *) * n);
	bool		ok;
	int			i;

	ok = send_hashes(src, cs, n, true, err) &&
		send_hashes(tgt, cs, n, false, err) &&
		read_hashes(src, n, true, ns, hs, err) &&
		read_hashes(tgt, n, false, nt, ht, err);
	for (i = 0; ok && i < n; i++)
	{
		VerifyChunk *c = &cs[i];
		VerifyTable *t = c->t;

		if (level0)
		{
			pthread_mutex_lock(&vs->lock);
			t->rows_src += ns[i];
			t->rows_tgt += nt[i];
			pthread_mutex_unlock(&vs->lock);
		}
		if (ns[i] != nt[i] || strcmp(hs[i], ht[i]) != 0)
		{
			c->ns = ns[i];
			c->nt = nt[i];
			ok = bisect(vs, src, tgt, c, err);
		}
		if (level0)
		{
			pthread_mutex_lock(&vs->lock);
			t->chunks_done++;
			table_progress(t);
			pthread_mutex_unlock(&vs->lock);
		}
	}
	for (i = 0; i < n; i++)
	{
		if (hs[i])
			pg_free(hs[i]);
		if (ht[i])
			pg_free(ht[i]);
	}
	pg_free(ns);
	pg_free(nt);
	pg_free(hs);
	pg_free(ht);
	return ok;
}

/* queue a differing range for any worker; the caller holds the lock */
static void
push_range(VerifyShared *vs, VerifyChunk *c)
{
	if (vs->nranges == vs->ranges_alloc)
	{
		vs->ranges_alloc = Max(64, vs->ranges_alloc * 2);
		vs->ranges = pg_realloc(vs->ranges, sizeof(VerifyChunk) * vs->ranges_alloc);
	}
	vs->ranges[vs->nranges++] = *c;
	c->t->open_ranges++;
	pthread_cond_broadcast(&vs->cond);
}

/*
 * The count and hash of every bucket of a range on both sides, in one
 * query per side: GROUP BY width_bucket(key, array) (array NULL: one
 * bucket).  cnt[side][b] and hash[side][b] (NULL: no row) for b in
 * 0 .. nb - 1 point into *sres and *tres, which the caller clears.
 */
static bool
bucket_hashes(PGconn *src, PGconn *tgt, VerifyTable *t, const char *where,
			  const char **params, int nparams, const char *array, int nb,
			  long long **cnt, const char ***hash, PGresult **sres, PGresult **tres,
			  char **err)
{
	char	   *sql[2];
	int			side,
				i;

	for (side = 0; side < 2; side++)
	{
		const char *from = side == 0 ? t->src_from : t->tgt_from;

		if (array)
			sql[side] = psprintf("SELECT pg_catalog.width_bucket(%s, $%d::%s[]), pg_catalog.count(*),"
								 " pg_catalog.bit_xor(%s) FROM %s WHERE %s GROUP BY 1",
								 t->bucket_key[side], nparams + 1, t->keytype, t->hash, from, where);
		else
			sql[side] = psprintf("SELECT 0, pg_catalog.count(*), pg_catalog.bit_xor(%s) FROM %s WHERE %s",
								 t->hash, from, where);
	}
	if (array)
		params[nparams++] = array;
	cnt[0] = cnt[1] = NULL;
	hash[0] = hash[1] = NULL;
	if (!both(src, tgt, sql[0], sql[1], nparams, params, sres, tres, err))
	{
		pg_free(sql[0]);
		pg_free(sql[1]);
		return false;
	}
	pg_free(sql[0]);
	pg_free(sql[1]);
	for (side = 0; side < 2; side++)
	{
		PGresult   *res = side == 0 ? *sres : *tres;

		cnt[side] = pg_malloc0(sizeof(long long) * nb);
		hash[side] = pg_malloc0(sizeof(char *) * nb);
		for (i = 0; i < PQntuples(res); i++)
		{
			int			bucket = atoi(PQgetvalue(res, i, 0));

			if (bucket < 0 || bucket >= nb)
			{
				*err = psprintf("bucket %d out of range", bucket);
				return false;
			}
			cnt[side][bucket] = atoll(PQgetvalue(res, i, 1));
			hash[side][bucket] = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
		}
	}
	return true;
}

/* whether bucket b differs */
static bool
bucket_differs(long long **cnt, const char ***hash, int b)
{
	return cnt[0][b] != cnt[1][b] ||
		strcmp(hash[0][b] ? hash[0][b] : "", hash[1][b] ? hash[1][b] : "") != 0;
}

static void
free_buckets(long long **cnt, const char ***hash, PGresult *sres, PGresult *tres)
{
	int			side;

	for (side = 0; side < 2; side++)
	{
		if (cnt[side])
			pg_free(cnt[side]);
		if (hash[side])
			pg_free(hash[side]);
	}
	PQclear(sres);
	PQclear(tres);
}

/*
 * Level 0 of a table keyed by one column of a built-in type: its bounds
 * sampled, then one scan per side gives the count and hash of every
 * bucket; the differing buckets are queued for bisection.
 */
static bool
scan_table(VerifyShared *vs, PGconn *src, PGconn *tgt, VerifyTable *t, char **err)
{
	int			nb;
	const char *params[1];
	PGresult   *sres = NULL;
	PGresult   *tres = NULL;
	long long  *cnt[2];
	const char **hash[2];
	int			i;

	sample_bounds(vs->opts, src, t);
	nb = t->nbounds + 1;
	if (!bucket_hashes(src, tgt, t, "true", params, 0, t->bounds_array, nb,
					   cnt, hash, &sres, &tres, err))
	{
		free_buckets(cnt, hash, sres, tres);
		return false;
	}
	pthread_mutex_lock(&vs->lock);
	for (i = 0; i < nb; i++)
	{
		t->rows_src += cnt[0][i];
		t->rows_tgt += cnt[1][i];
		if (bucket_differs(cnt, hash, i))
		{
			VerifyChunk c;

			memset(&c, 0, sizeof(c));
			c.t = t;
			c.lo = i > 0 ? &t->bounds[i - 1] : NULL;
			c.hi = i < t->nbounds ? &t->bounds[i] : NULL;
			c.ns = cnt[0][i];
			c.nt = cnt[1][i];
			push_range(vs, &c);
		}
	}
	t->chunks_done = t->nchunks;
	table_progress(t);
	pthread_mutex_unlock(&vs->lock);
	free_buckets(cnt, hash, sres, tres);
	return true;
}

/* pinned settings, then the exported snapshot */
static bool
open_snapshot(PGconn *conn, const char *what, const char *snapshot, char **err)
{
	char	   *sql = psprintf("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
							   " SET TRANSACTION SNAPSHOT '%s'", snapshot);
	PGresult   *res = PQexec(conn, VERIFY_SETTINGS "; " WORKER_SETTINGS);

	if (PQresultStatus(res) == PGRES_COMMAND_OK)
	{
		PQclear(res);
		res = PQexec(conn, sql);
	}
	pg_free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		*err = psprintf("%s: could not import the snapshot: %s", what, PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

/* what a worker does next */
typedef enum
{
	TASK_NONE,
	TASK_RANGE,					/* bisect a differing bucket */
	TASK_SCAN,					/* level 0 of a table, one scan per side */
	TASK_CHUNKS					/* level 0 of a table, chunk by chunk */
} VerifyTaskKind;

/* take the next task under the lock; waits while scans may queue ranges */
static VerifyTaskKind
next_task(VerifyShared *vs, VerifyChunk *range, VerifyTable **scan, VerifyChunk *chunks, int *n)
{
	VerifyTaskKind kind = TASK_NONE;

	pthread_mutex_lock(&vs->lock);
	for (;;)
	{
		if (vs->failed || job_interrupted)
			break;
		if (vs->next_range < vs->nranges)
		{
			*range = vs->ranges[vs->next_range++];
			kind = TASK_RANGE;
			break;
		}
		if (vs->next_scan < vs->nscans)
		{
			*scan = vs->scans[vs->next_scan++];
			if ((*scan)->started == 0)
				(*scan)->started = job_now_seconds();
			(*scan)->dt->state = TABLE_COPYING;
			vs->scanning++;
			kind = TASK_SCAN;
			break;
		}
		if (vs->next < vs->nchunks)
		{
			*n = 0;
			while (*n < PIPELINE_CHUNKS && vs->next < vs->nchunks)
			{
				VerifyChunk *c = &vs->chunks[vs->next++];

				if (c->t->started == 0)
				{
					c->t->started = job_now_seconds();
					c->t->dt->state = TABLE_COPYING;
				}
				chunks[(*n)++] = *c;
			}
			kind = TASK_CHUNKS;
			break;
		}
		if (vs->scanning == 0)
			break;
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000)
			{
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&vs->cond, &vs->lock, &ts);
		}
	}
	pthread_mutex_unlock(&vs->lock);
	return kind;
}

static void *
verify_worker(void *arg)
{
	VerifyWorker *w = arg;
	VerifyShared *vs = w->vs;
	PGconn	   *src;
	PGconn	   *tgt = NULL;
	char	   *err = NULL;

	src = job_connect(vs->opts->source, "source", false, false);
	if (src)
		tgt = job_connect(vs->opts->target, "target", false, false);
	if (src == NULL || tgt == NULL)
	{
		err = pg_strdup("a worker could not connect");
		pthread_mutex_lock(&vs->lock);
		if (vs->error == NULL)
			vs->exit_code = EXIT_CONNECTION;
		pthread_mutex_unlock(&vs->lock);
	}
	else
	{
		pthread_mutex_lock(&vs->lock);
		w->src_cancel = PQgetCancel(src);
		w->tgt_cancel = PQgetCancel(tgt);
		pthread_mutex_unlock(&vs->lock);
		if (open_snapshot(src, "source", vs->src_snapshot, &err))
			open_snapshot(tgt, "target", vs->tgt_snapshot, &err);
	}

	while (err == NULL)
	{
		VerifyChunk range;
		VerifyChunk chunks[PIPELINE_CHUNKS];
		VerifyTable *scan = NULL;
		int			n = 0;
		VerifyTaskKind kind = next_task(vs, &range, &scan, chunks, &n);

		if (kind == TASK_NONE)
			break;
		if (kind == TASK_RANGE)
		{
			range.depth = 1;
			if (!bisect(vs, src, tgt, &range, &err))
			{
				char	   *e = psprintf("table %s: %s", range.t->label, err);

				pg_free(err);
				err = e;
			}
			pthread_mutex_lock(&vs->lock);
			range.t->open_ranges--;
			table_progress(range.t);
			pthread_mutex_unlock(&vs->lock);
		}
		else if (kind == TASK_SCAN)
		{
			if (!scan_table(vs, src, tgt, scan, &err))
			{
				char	   *e = psprintf("table %s: %s", scan->label, err);

				pg_free(err);
				err = e;
			}
			pthread_mutex_lock(&vs->lock);
			vs->scanning--;
			pthread_cond_broadcast(&vs->cond);
			pthread_mutex_unlock(&vs->lock);
		}
		else if (!verify_ranges(vs, src, tgt, chunks, n, true, &err))
		{
			char	   *e = psprintf("table %s: %s", chunks[0].t->label, err);

			pg_free(err);
			err = e;
		}
	}

	pthread_mutex_lock(&vs->lock);
	if (err)
	{
		if (vs->error == NULL)
			vs->error = err;
		vs->failed = true;
	}
	vs->running--;
	if (w->src_cancel)
		PQfreeCancel(w->src_cancel);
	if (w->tgt_cancel)
		PQfreeCancel(w->tgt_cancel);
	w->src_cancel = w->tgt_cancel = NULL;
	pthread_cond_broadcast(&vs->cond);
	pthread_mutex_unlock(&vs->lock);
	if (src)
		PQfinish(src);
	if (tgt)
		PQfinish(tgt);
	return NULL;
}

/* ---------------------------------------------------------------------
 * Details of changed rows, output, state
 * ---------------------------------------------------------------------
 */

/* name the differing columns of a changed row; main thread, in snapshots */
static void
describe_change(PGconn *src, PGconn *tgt, VerifyTable *t, VerifyDiff *d)
{
	PQExpBufferData sql;
	PQExpBufferData cols;
	PGresult   *sr;
	PGresult   *tr;
	int			k;
	int			i;

	initPQExpBuffer(&sql);
	initPQExpBuffer(&cols);
	for (k = 0; k < t->nkey; k++)
		appendPQExpBuffer(&cols, "%s%s = $%d", k ? " AND " : "", t->keycols[k], k + 1);
	appendPQExpBuffer(&sql, "SELECT %s FROM %s WHERE %s", t->coltextlist, t->src_from, cols.data);
	sr = job_query(src, "source", sql.data, t->nkey, (const char *const *) d->keyvals);
	resetPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "SELECT %s FROM %s WHERE %s", t->coltextlist, t->tgt_from, cols.data);
	tr = job_query(tgt, "target", sql.data, t->nkey, (const char *const *) d->keyvals);
	resetPQExpBuffer(&cols);
	if (PQntuples(sr) == 1 && PQntuples(tr) == 1)
	{
		for (i = 0; i < t->ncols && i < PQnfields(sr); i++)
		{
			bool		sn = PQgetisnull(sr, 0, i);
			bool		tn = PQgetisnull(tr, 0, i);

			if (sn != tn || (!sn && strcmp(PQgetvalue(sr, 0, i), PQgetvalue(tr, 0, i)) != 0))
				appendPQExpBuffer(&cols, "%s%s", cols.len ? ", " : "", t->colnames[i]);
		}
	}
	d->columns = pg_strdup(cols.data);
	PQclear(sr);
	PQclear(tr);
	termPQExpBuffer(&sql);
	termPQExpBuffer(&cols);
}

static bool
table_equal(const VerifyTable *t)
{
	return t->exists && t->compare_rows && t->nschema == 0 &&
		t->missing == 0 && t->extra == 0 && t->changed == 0;
}

static const char *
kind_text(char kind)
{
	return kind == 'm' ? "missing" : kind == 'e' ? "extra" : "changed";
}

/* "(id, line)=(3, 1)" like PostgreSQL's key details */
static char *
key_text(const VerifyTable *t, const VerifyDiff *d)
{
	PQExpBufferData b;
	int			k;
	char	   *r;

	initPQExpBuffer(&b);
	if (t->nkey == 0)
		appendPQExpBuffer(&b, "row %s", d->keytext);
	else
	{
		appendPQExpBuffer(&b, "(%s)=(", t->keynames);
		for (k = 0; k < t->nkey; k++)
			appendPQExpBuffer(&b, "%s%s", k ? ", " : "", d->keyvals[k]);
		appendPQExpBufferChar(&b, ')');
	}
	r = pg_strdup(b.data);
	termPQExpBuffer(&b);
	return r;
}

static void
print_text(const JobOptions *opts, VerifyTable *tables, int ntables, const char *lsn,
		   double seconds, double held)
{
	int			i,
				j;
	int			ndiffer = 0;
	long long	rows = 0;

	printf("%-40s %12s %7s %8s  %s\n", "table", "rows", "chunks", "seconds", "result");
	for (i = 0; i < ntables; i++)
	{
		VerifyTable *t = &tables[i];
		char		result[200];
		const char *line;

		rows += t->rows_src;
		if (!t->exists)
			snprintf(result, sizeof(result), "MISSING on the target");
		else if (!t->compare_rows)
			snprintf(result, sizeof(result), "SCHEMA DIFFERS, rows not compared");
		else if (table_equal(t))
			snprintf(result, sizeof(result), "equal%s", t->nkey == 0 ? " (no key: compared as a multiset)" : "");
		else if (t->missing + t->extra + t->changed == 0)
			snprintf(result, sizeof(result), "rows equal, SCHEMA DIFFERS");
		else
			snprintf(result, sizeof(result), "DIFFERENT: %lld missing, %lld extra, %lld changed%s%s",
					 t->missing, t->extra, t->changed,
					 t->nschema ? ", schema differs" : "",
					 t->nkey == 0 ? " (no key: a changed row counts as missing and extra)" : "");
		if (!table_equal(t))
			ndiffer++;
		printf("%-40s %12lld %7d %8.2f  %s\n", t->label, t->rows_src, t->nchunks,
			   t->finished > 0 ? t->finished - t->started : 0.0, result);
		for (line = t->schema.data; t->schema.len > 0 && *line;)
		{
			const char *nl = strchr(line, '\n');

			printf("    schema: %.*s\n", (int) (nl ? nl - line : (long) strlen(line)), line);
			line = nl ? nl + 1 : line + strlen(line);
		}
		for (j = 0; j < t->ndiffs; j++)
		{
			VerifyDiff *d = &t->diffs[j];
			char	   *key = key_text(t, d);

			if (d->kind == 'c')
				printf("    changed: %s: %s%s\n", key,
					   d->columns && d->columns[0] ? "columns " : "columns ?",
					   d->columns ? d->columns : "");
			else
				printf("    %s on the target: %s\n", d->kind == 'm' ? "missing" : "extra", key);
			pg_free(key);
		}
		if (t->missing + t->extra + t->changed > t->ndiffs)
			printf("    ... %lld more (--max-diffs %d)\n",
				   t->missing + t->extra + t->changed - t->ndiffs, opts->max_diffs);
	}
	if (ndiffer == 0)
		printf("domain \"%s\": %d %s, %lld %s equal at source position %s (%.2f s; stream held %.2f s)\n",
			   opts->domain, ntables, ngettext("table", "tables", ntables),
			   rows, ngettext("row", "rows", rows), lsn, seconds, held);
	else
		printf("domain \"%s\": %d of %d %s DIFFER at source position %s (%.2f s; stream held %.2f s)\n",
			   opts->domain, ndiffer, ntables, ngettext("table", "tables", ntables),
			   lsn, seconds, held);
}

static void
print_json(const JobOptions *opts, VerifyTable *tables, int ntables, const char *lsn,
		   double seconds, double held, bool equal)
{
	PQExpBufferData b;
	int			i,
				j,
				k;

	initPQExpBuffer(&b);
	appendPQExpBufferStr(&b, "{\"domain\": ");
	json_append_string(&b, opts->domain);
	appendPQExpBufferStr(&b, ", \"source_lsn\": ");
	json_append_string(&b, lsn);
	appendPQExpBuffer(&b, ", \"equal\": %s, \"seconds\": %.3f, \"stream_held_seconds\": %.3f, \"tables\": [",
					  equal ? "true" : "false", seconds, held);
	for (i = 0; i < ntables; i++)
	{
		VerifyTable *t = &tables[i];
		const char *line;

		appendPQExpBufferStr(&b, i ? ", {\"table\": " : "{\"table\": ");
		json_append_string(&b, t->label);
		appendPQExpBuffer(&b, ", \"equal\": %s, \"rows_compared\": %s, \"key\": %s, \"rows\": %lld, \"target_rows\": %lld,"
						  " \"chunks\": %d, \"splits\": %d, \"rows_fetched\": %lld,"
						  " \"seconds\": %.3f, \"missing\": %lld, \"extra\": %lld, \"changed\": %lld, \"schema\": [",
						  table_equal(t) ? "true" : "false",
						  t->exists && t->compare_rows ? "true" : "false",
						  t->nkey > 0 ? "true" : "false",
						  t->rows_src, t->rows_tgt, t->nchunks, t->splits, t->rows_fetched,
						  t->finished > 0 ? t->finished - t->started : 0.0,
						  t->missing, t->extra, t->changed);
		for (line = t->schema.data, k = 0; t->schema.len > 0 && *line; k++)
		{
			const char *nl = strchr(line, '\n');
			char	   *one = pnstrdup(line, nl ? nl - line : strlen(line));

			if (k)
				appendPQExpBufferStr(&b, ", ");
			json_append_string(&b, one);
			pg_free(one);
			line = nl ? nl + 1 : line + strlen(line);
		}
		appendPQExpBufferStr(&b, "], \"diffs\": [");
		for (j = 0; j < t->ndiffs; j++)
		{
			VerifyDiff *d = &t->diffs[j];

			appendPQExpBuffer(&b, "%s{\"kind\": \"%s\", \"key\": ", j ? ", " : "", kind_text(d->kind));
			if (t->nkey == 0)
				appendPQExpBufferStr(&b, "null, \"row\": ");
			if (t->nkey == 0)
				json_append_string(&b, d->keytext);
			else
			{
				appendPQExpBufferChar(&b, '{');
				for (k = 0; k < t->nkey; k++)
				{
					char	   *name = pg_strdup(t->keyname[k]);

					if (k)
						appendPQExpBufferStr(&b, ", ");
					json_append_string(&b, name);
					appendPQExpBufferStr(&b, ": ");
					json_append_string(&b, d->keyvals[k]);
					pg_free(name);
				}
				appendPQExpBufferChar(&b, '}');
			}
			if (d->kind == 'c')
			{
				appendPQExpBufferStr(&b, ", \"columns\": ");
				json_append_string(&b, d->columns);
			}
			appendPQExpBufferChar(&b, '}');
		}
		appendPQExpBufferStr(&b, "]}");
	}
	appendPQExpBufferStr(&b, "]}\n");
	fputs(b.data, stdout);
	termPQExpBuffer(&b);
}

/* which row hash both servers compute alike */
static const char *
choose_hash(PGconn *src, PGconn *tgt)
{
	const char *probe = "SELECT pg_catalog.hashtextextended('migration_split verify', 0)"
		" # pg_catalog.hashint8extended(1234567890123, 0)";
	PGresult   *a = job_query(src, "source", probe, 0, NULL);
	PGresult   *b = job_query(tgt, "target", probe, 0, NULL);
	bool		same = strcmp(PQgetvalue(a, 0, 0), PQgetvalue(b, 0, 0)) == 0;

	PQclear(a);
	PQclear(b);
	if (!same)
		pg_log_info("the servers hash differently (byte order): using md5");
	return same ? HASH_BUILTIN : HASH_MD5;
}

/* whether the table matches --table (NAME or SCHEMA.NAME) */
static bool
table_selected(const char *want, const DomainTable *dt)
{
	char	   *full;
	bool		r;

	if (want == NULL)
		return true;
	if (strcmp(want, dt->name) == 0)
		return true;
	full = psprintf("%s.%s", dt->schema, dt->name);
	r = strcmp(want, full) == 0;
	pg_free(full);
	return r;
}

/*
 * After a cutover the service takes the domain's writes and the monolith's
 * tables stay as they were at the freeze: there is no stream to hold, and
 * the two sides differ by design.  verify waited --timeout for a stream
 * and then said to start one, which stream refuses for a domain with a
 * reverse stream.  Refused at once, exit 3, as stream refuses it.
 */
static void
check_not_extracted(PGconn *src, const char *domain)
{
	const char *params[1] = {domain};
	char	   *state;

	if (job_query_value(src, "source",
						"SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle')", 0, NULL) == NULL)
		return;
	state = job_query_value(src, "source",
							"SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1", 1, params);
	if (state == NULL || (strcmp(state, "extracted") != 0 && strcmp(state, "final") != 0))
		return;
	pg_log_error("domain \"%s\" is %s: the service takes its writes, and the monolith's tables stay as they were at the cutover",
				 domain, state);
	pg_log_error_detail("verify compares the target with the source while the domain streams from the monolith.");
	if (strcmp(state, "extracted") == 0)
		pg_log_error_hint("To compare again, give the domain back to the monolith first with \"migration-split rollback\".");
	exit(EXIT_DOMAIN);
}

int
cmd_verify(const JobOptions *opts)
{
	PGconn	   *src;
	PGconn	   *tgt;
	PGconn	   *ctl;
	JobState	js;
	Domain	   *d;
	Domain		pd;
	VerifyTable *tables;
	VerifyShared vs;
	VerifyHold	hold;
	VerifyWorker *workers;
	pthread_t  *threads;
	bool		cancelled = false;
	int			ntables = 0;
	int			nworkers;
	int			i,
				c;
	char	   *lsn;
	char	   *src_snap;
	char	   *tgt_snap;
	const char *hash_template;
	bool		default_collations_differ;
	double		start = job_now_seconds();
	double		held = 0;
	double		prepare_start;
	bool		equal = true;
	const char *params[3];

	tgt = job_connect(opts->target, "target", false, true);
	job_require_writable(tgt, "target", opts->target, "verify", EXIT_TARGET);
	if (!state_read_job(tgt, opts->domain, &js))
	{
		pg_log_error("domain \"%s\" has not been initialised on the target", opts->domain);
		pg_log_error_hint("Run \"migration-split init\" first.");
		exit(EXIT_TARGET);
	}
	state_check_names(opts, &js);
	if (strcmp(js.phase, "streaming") != 0)
	{
		pg_log_error("init of domain \"%s\" is not finished (phase \"%s\")", opts->domain, js.phase);
		pg_log_error_hint("Run \"migration-split init\" again to finish it.");
		exit(EXIT_TARGET);
	}
	src = job_connect(opts->source, "source", false, true);
	job_require_primary(src, opts->source, "verify");
	check_not_extracted(src, opts->domain);
	d = catalog_read_domain(src, opts->domain);

	/* the tables to verify; progress.c reads the copies in pd */
	memset(&pd, 0, sizeof(pd));
	pd.name = d->name;
	pd.tables = pg_malloc0(sizeof(DomainTable) * Max(d->ntables, 1));
	for (i = 0; i < d->ntables; i++)
		if (table_selected(opts->table, &d->tables[i]))
		{
			pd.tables[pd.ntables] = d->tables[i];
			pd.tables[pd.ntables].state = TABLE_PENDING;
			pd.tables[pd.ntables].rows_done = 0;
			pd.tables[pd.ntables].bytes_done = 0;
			pd.ntables++;
		}
	if (pd.ntables == 0)
	{
		PQExpBufferData names;

		/* name the tables --table may give (the first 10) */
		initPQExpBuffer(&names);
		for (i = 0; i < d->ntables && i < 10; i++)
			appendPQExpBuffer(&names, "%s%s.%s", i > 0 ? ", " : "",
							  d->tables[i].schema, d->tables[i].name);
		if (d->ntables > 10)
			appendPQExpBuffer(&names, " and %d more", d->ntables - 10);
		pg_log_error("table \"%s\" is not in domain \"%s\"", opts->table, opts->domain);
		pg_log_error_detail("The domain's %s: %s.", ngettext("table is", "tables are", d->ntables), names.data);
		pg_log_error_hint("Give --table a table of the domain, as NAME or SCHEMA.NAME.");
		exit(EXIT_DOMAIN);
	}
	ntables = pd.ntables;

	ctl = job_connect(opts->target, "target", false, true);
	state_ensure_columns(ctl);
	hash_template = choose_hash(src, tgt);
	default_collations_differ = strcmp(job_default_collation(src, "source", NULL, NULL),
									   job_default_collation(tgt, "target", NULL, NULL)) != 0;

	memset(&hold, 0, sizeof(hold));
	hold.target = opts->target;
	hold.domain = opts->domain;
	active_hold = &hold;
	atexit(hold_release_at_exit);
	lsn = take_consistent_point(opts, &js, src, tgt, ctl, &hold, &src_snap, &tgt_snap, &held);
	pg_log_info("verifying domain \"%s\" at source position %s (stream held %.2f s)",
				opts->domain, lsn, held);

	/* prepare every table, then queue the chunks, largest table first */
	prepare_start = job_now_seconds();
	tables = pg_malloc0(sizeof(VerifyTable) * ntables);
	memset(&vs, 0, sizeof(vs));
	for (i = 0; i < ntables; i++)
	{
		tables[i].dt = &pd.tables[i];
		prepare_table(opts, src, tgt, &tables[i], js.target_schema, hash_template,
					  default_collations_differ);
		if (tables[i].scan)
			vs.nscans++;
		else
			vs.nchunks += tables[i].nchunks;
		if (tables[i].nchunks == 0)
			pd.tables[i].state = TABLE_COPIED;
	}
	pg_log_info("%d %s in one scan per side, %d %s of the others; point taken in %.2f s, tables prepared in %.2f s",
				vs.nscans, ngettext("table", "tables", vs.nscans),
				vs.nchunks, ngettext("chunk", "chunks", vs.nchunks), prepare_start - start, job_now_seconds() - prepare_start);
	vs.scans = pg_malloc0(sizeof(VerifyTable *) * Max(vs.nscans, 1));
	vs.chunks = pg_malloc0(sizeof(VerifyChunk) * Max(vs.nchunks, 1));
	vs.nscans = 0;
	c = 0;
	{
		bool	   *done = pg_malloc0(sizeof(bool) * ntables);
		int			k;

		for (k = 0; k < ntables; k++)
		{
			int			best = -1;
			int			b;

			for (i = 0; i < ntables; i++)
				if (!done[i] && (best < 0 || tables[i].dt->est_bytes > tables[best].dt->est_bytes))
					best = i;
			done[best] = true;
			if (tables[best].scan)
			{
				vs.scans[vs.nscans++] = &tables[best];
				continue;
			}
			for (b = 0; b < tables[best].nchunks; b++)
			{
				VerifyTable *t = &tables[best];

				vs.chunks[c].t = t;
				vs.chunks[c].lo = b > 0 ? &t->bounds[(b - 1) * t->nkey] : NULL;
				vs.chunks[c].hi = b < t->nbounds ? &t->bounds[b * t->nkey] : NULL;
				c++;
			}
		}
		pg_free(done);
	}

	vs.opts = opts;
	vs.src_snapshot = src_snap;
	vs.tgt_snapshot = tgt_snap;
	pthread_mutex_init(&vs.lock, NULL);
	pthread_cond_init(&vs.cond, NULL);
	/* a scan may leave buckets to bisect for every worker */
	nworkers = Max(1, vs.nscans > 0 ? opts->jobs : Min(opts->jobs, vs.nchunks));
	vs.running = nworkers;
	progress_set_verb("verifying");
	progress_start(&pd, opts->progress == -1 && opts->json ? -2 : (opts->progress == 0 ? -2 : opts->progress));
	threads = pg_malloc(sizeof(pthread_t) * nworkers);
	workers = pg_malloc0(sizeof(VerifyWorker) * nworkers);
	for (i = 0; i < nworkers; i++)
	{
		workers[i].vs = &vs;
		if (pthread_create(&threads[i], NULL, verify_worker, &workers[i]) != 0)
			pg_fatal("could not create thread: %m");
	}
	for (;;)
	{
		int			running;

		pthread_mutex_lock(&vs.lock);
		running = vs.running;
		/* an interrupt cancels the queries running, a scan may be long */
		if (job_interrupted && !cancelled)
		{
			char		errbuf[256];

			for (i = 0; i < nworkers; i++)
			{
				if (workers[i].src_cancel)
					PQcancel(workers[i].src_cancel, errbuf, sizeof(errbuf));
				if (workers[i].tgt_cancel)
					PQcancel(workers[i].tgt_cancel, errbuf, sizeof(errbuf));
			}
			pthread_cond_broadcast(&vs.cond);
			cancelled = true;
		}
		pthread_mutex_unlock(&vs.lock);
		if (running == 0)
			break;
		progress_update(false);
		pg_usleep(100000);
	}
	for (i = 0; i < nworkers; i++)
		pthread_join(threads[i], NULL);
	progress_update(true);
	progress_finish();

	if (job_interrupted)
	{
		pg_log_error("interrupted; nothing was recorded, run verify again");
		exit(EXIT_INTERRUPTED);
	}
	if (vs.failed)
	{
		pg_log_error("verification failed: %s", vs.error ? vs.error : "unknown error");
		if (vs.exit_code == EXIT_CONNECTION)
		{
			pg_log_error_hint("Each of the --jobs workers opens a connection to the source and one to the target; use fewer, or allow more connections.");
			exit(EXIT_CONNECTION);
		}
		exit(EXIT_SERVER);
	}

	for (i = 0; i < ntables; i++)
	{
		int			j;

		for (j = 0; j < tables[i].ndiffs; j++)
			if (tables[i].diffs[j].kind == 'c')
				describe_change(src, tgt, &tables[i], &tables[i].diffs[j]);
		if (!table_equal(&tables[i]))
			equal = false;
	}
	PQclear(job_query(src, "source", "COMMIT", 0, NULL));
	PQclear(job_query(tgt, "target", "COMMIT", 0, NULL));

	/* a verification of the whole domain is recorded */
	if (opts->table == NULL)
	{
		params[0] = opts->domain;
		params[1] = lsn;
		params[2] = equal ? "true" : "false";
		PQclear(job_query(ctl, "target",
						  "UPDATE " MS_STATE_SCHEMA ".jobs SET last_verify_at = pg_catalog.now(),"
						  " last_verify_lsn = $2, last_verify_equal = $3 WHERE domain = $1",
						  3, params));
	}

	if (opts->json)
		print_json(opts, tables, ntables, lsn, job_now_seconds() - start, held, equal);
	else
		print_text(opts, tables, ntables, lsn, job_now_seconds() - start, held);
	fflush(stdout);

	active_hold = NULL;
	PQfinish(ctl);
	PQfinish(src);
	PQfinish(tgt);
	return equal ? EXIT_OK : EXIT_DIFFERENCES;
}
