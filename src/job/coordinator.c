/*-------------------------------------------------------------------------
 *
 * coordinator.c
 *		Parallel apply: route the source transactions of a stream session to
 *		apply workers, each with its own target connection (apply.c).
 *
 * The coordinator receives every message of the stream, in order.  It
 * keeps the messages of a source transaction until its commit, then gives
 * the whole transaction to one worker, which adds it to its open target
 * transaction (its batch).  Workers commit their batches independently, so
 * source transactions are not committed on the target in source commit
 * order; what keeps the target right is:
 *
 * Dependencies (writeset-based, as MySQL's parallel replication).  The
 * writeset of a transaction is the set of hashes of (target table, key)
 * (relmap_key_hash) of every row it changes: the key of an insert, the old
 * key of an update and its new one when the key changed, the key of a
 * delete; for a relation whose key does not name every row a change can
 * conflict with on the target (no key, replica identity full, another
 * unique index or an exclusion constraint, a key whose equality is not that
 * of its text; see relation_conflict_scope in apply.c), the relation as a
 * whole.  A hash table (WriteSet: open addressing on the
 * whole 64-bit hash) remembers, for each hash, the worker and the batch of
 * the last transaction that wrote it.  A
 * transaction whose hashes were last written in open batches of one worker
 * goes to that worker (applied after them, on the same connection); of
 * several workers, to one of them after the batches of the others
 * committed; of none, to the worker with the fewest statements in flight.
 * Two keys with the same 64-bit hash share an entry, which only adds
 * dependencies.  Transactions that carry a
 * relation description (R: it may add columns or copy a table in), a
 * TRUNCATE, an ownership event (O) or a change by a partition's own
 * replica identity are barriers: every worker commits first, the
 * transaction is applied alone by worker 0 and committed at once, and the
 * other workers then learn the relation.  So is a transaction with more
 * than XACT_BUFFER_MAX messages, whose messages then go to worker 0 as they
 * come instead of being kept (bounded memory).  A worker never waits on
 * the target for a row that another worker's open batch holds, so the
 * coordinator, which waits for one worker at a time, cannot deadlock.
 *
 * Recovery.  Invariant: a source transaction T whose commit record starts
 * at c(T) is applied on the target if and only if
 *		c(T) < jobs.applied_lsn, or (domain, c(T)) is in applied_xacts.
 * A worker's batch inserts the rows of its transactions into
 * migration_split_job.applied_xacts in the batch's own target transaction,
 * so a transaction and its row become durable together.  The coordinator
 * keeps the routed transactions in source order; when every transaction
 * up to some point is committed, it moves jobs.applied_lsn to the end of
 * the last of them and deletes their rows, in one statement (both or
 * neither).  A session starts streaming at jobs.applied_lsn and skips the
 * transactions below it and those with a row: whatever moment the job was
 * killed at, nothing is lost or applied twice.  The counters of the job row
 * (rows_applied, xacts_applied) are moved from the rows as they are
 * deleted, so they stay exact too.
 *
 * Durability.  The workers' batches and the position's statement commit
 * with synchronous_commit off, as PostgreSQL's apply worker does: a batch's
 * COMMIT does not wait for its WAL flush, so the target applies the next
 * batch meanwhile (a transaction applied live, live.c, still waits).  A crash of the
 * target loses a suffix of its WAL, and whatever suffix it loses, the
 * invariant above holds in what is left: a batch's rows of applied_xacts
 * go with its changes, and a position's statement comes after the
 * commits of the batches it covers.  The source must then still have what
 * was lost: it is told that everything up to a position is flushed only
 * once the target's WAL is flushed past that position's statement's start
 * (the "durable" position; its statement reads pg_current_wal_insert_lsn(),
 * which is past the COMMITs of every batch it covers, and
 * pg_current_wal_flush_lsn()).  Never more than the durable position is
 * confirmed (coord_durable); the target's WAL writer flushes within a few
 * hundred milliseconds, and coord_make_durable forces it when a session
 * ends caught up.
 *
 * Commits.  A worker's batch commits when it is big or old enough
 * (commit_due): the worker checks every result of the batch, sends its rows
 * of applied_xacts and COMMIT, and goes on with its next batch behind them
 * in its pipeline.  The COMMIT's result is read with the results that
 * follow it (apply.c); only then does the batch count as committed
 * (ApplyWorker.commits), and only then does the position move over its
 * transactions.  Barriers, a transaction that depends on several workers,
 * and the end of a session commit every batch and wait for the COMMITs
 * (coord_flush), in three steps over all of them (apply_commit_start,
 * _send, _finish) so that their waits overlap.
 *
 * With --apply-jobs 1 the same path runs with one worker, without the
 * writeset: every transaction goes to worker 0, after the ones before it
 * (each batch costs one more small target transaction, for the position).
 *
 * Memory: the messages of the transaction being received (at most
 * XACT_BUFFER_MAX), the routed transactions not yet below the position,
 * and the hash table, which is rebuilt without the entries of committed
 * batches when half full (at least four times as many entries as the
 * uncommitted batches' keys); all freed by coord_end.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"

#include "job.h"
#include "apply.h"

/* messages of one source transaction kept before it is applied directly */
#define XACT_BUFFER_MAX		10000

/* entries of the writeset hash table at first (a power of two) */
#define WRITESET_MIN_SLOTS	(1 << 16)

/* a transaction routed to a worker, in source order */
typedef struct RoutedXact
{
	unsigned long long commit_lsn;
	unsigned long long end_lsn;
	int			worker;			/* -1: applied before (skipped) */
	long long	batch;			/* the worker's batch that holds it
								 * (ApplyWorker.batches when routed) */
} RoutedXact;

/*
 * A position and the target's WAL insert position read by its statement:
 * the position is durable once the target's WAL is flushed up to "wal".
 */
typedef struct DurableMark
{
	unsigned long long position;
	unsigned long long wal;
} DurableMark;

/* marks kept; when full, the newest absorbs the next (it only waits longer) */
#define DURABLE_MARKS		16

/*
 * how often coord_durable asks the target how far its WAL is flushed, while
 * a position is not known to be durable
 */
#define FLUSH_POLL_MS		50

/* the last writer of a hash */
typedef struct WriteSlot
{
	unsigned long long hash;	/* 0: a free entry */
	int			worker;
	long long	batch;			/* the worker's batch number */
} WriteSlot;

/* the last writer of each hash written in this session */
typedef struct WriteSet
{
	WriteSlot  *slots;
	int			cap;			/* a power of two */
	int			used;			/* entries not free */
} WriteSet;

typedef struct KeptMessage
{
	Message		m;
	unsigned long long lsn;
} KeptMessage;

struct Coordinator
{
	PGconn	   *ctl;			/* autocommit: the job row */
	ApplyShared *shared;
	const JobOptions *opts;
	SyncList	sync;
	int			nworkers;
	ApplyWorker *workers;

	/* transactions applied beyond the start position, sorted */
	int			ndone;
	unsigned long long *done;
	unsigned long long start;	/* jobs.applied_lsn at session start */
	unsigned long long position;	/* jobs.applied_lsn now */
	unsigned long long durable; /* a position flushed on the target (0:
								 * none known yet) */
	DurableMark marks[DURABLE_MARKS];	/* positions not yet durable, in
										 * order */
	int			nmarks;
	double		flush_polled;	/* when coord_durable last asked */

	/* the source transaction being received */
	bool		in_xact;
	bool		skip;
	bool		barrier;
	bool		direct;			/* its messages go to worker 0 as they come */
	unsigned long long commit_lsn;
	KeptMessage *kept;
	int			nkept;
	int			capkept;
	Message    *learn;			/* R messages of a direct transaction */
	int			nlearn;
	int			caplearn;

	/* routed transactions not yet below the position: a ring */
	RoutedXact *routed;
	int			rhead;
	int			rn;
	int			rcap;

	WriteSet	writeset;
	unsigned long long *hashes; /* writeset of the transaction */
	int			nhashes;
	int			caphashes;
	int			next_worker;

	char	   *error;
	const char *hint;
	int			exit_code;
};

/* Copy the error of a worker that failed; returns its result. */
static ApplyResult
take_error(Coordinator *c, ApplyWorker *w, ApplyResult rc)
{
	if (rc == APPLY_OK)
		return rc;
	pg_free(c->error);
	c->error = pg_strdup(w->error ? w->error : "apply worker failed");
	c->hint = w->hint;
	c->exit_code = w->exit_code;
	if (c->nworkers > 1)
		pg_log_debug("apply worker %d failed", w->id);
	return rc;
}

static ApplyResult
coord_fail(Coordinator *c, ApplyResult rc, int exit_code, const char *msg)
{
	pg_free(c->error);
	c->error = pg_strdup(msg);
	c->hint = NULL;
	c->exit_code = exit_code;
	return rc;
}

/*
 * A statement on the job row's connection failed: the session ends (to
 * retry when the connection was lost).
 */
static ApplyResult
ctl_failed(Coordinator *c)
{
	char	   *msg = psprintf("target: %s", job_error(c->ctl));
	ApplyResult rc = PQstatus(c->ctl) == CONNECTION_BAD ? APPLY_RECONNECT : APPLY_STOP;

	coord_fail(c, rc, EXIT_APPLY, msg);
	pg_free(msg);
	return rc;
}

/* The target's WAL is flushed up to "flushed": every mark at or below it is durable. */
static void
durable_flushed(Coordinator *c, unsigned long long flushed)
{
	int			n = 0;

	while (n < c->nmarks && c->marks[n].wal <= flushed)
		c->durable = c->marks[n++].position;
	c->nmarks -= n;
	memmove(c->marks, c->marks + n, sizeof(DurableMark) * c->nmarks);
}

/*
 * "position" is durable once the target's WAL is flushed up to the first
 * column of res (its insert position when the position was recorded); the
 * second is how far it is flushed now.
 */
static void
durable_mark(Coordinator *c, unsigned long long position, const PGresult *res)
{
	DurableMark m = {position, lsn_parse(PQgetvalue(res, 0, 0))};

	if (c->nmarks == DURABLE_MARKS)
		c->marks[c->nmarks - 1] = m;
	else
		c->marks[c->nmarks++] = m;
	durable_flushed(c, lsn_parse(PQgetvalue(res, 0, 1)));
}

/* Set the session's error from outside the workers (live.c). */
void
coord_set_error(Coordinator *c, ApplyResult rc, int exit_code, const char *msg)
{
	coord_fail(c, rc, exit_code, msg);
}

const char *
coord_error(Coordinator *c)
{
	return c->error;
}

const char *
coord_hint(Coordinator *c)
{
	return c->hint;
}

int
coord_exit_code(Coordinator *c)
{
	return c->exit_code;
}

/* Whether commit_lsn is in the sorted set of transactions applied before. */
static bool
applied_before(Coordinator *c, unsigned long long commit_lsn)
{
	int			lo = 0,
				hi = c->ndone - 1;

	if (commit_lsn < c->start)
		return true;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (c->done[mid] == commit_lsn)
			return true;
		if (c->done[mid] < commit_lsn)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/*
 * Start a session's workers: opts->apply_jobs target connections, the
 * copied tables, the transactions applied beyond the position.  ctl is the
 * session's own target connection (autocommit), used for the job row.
 * Returns NULL with *result set when a connection or query failed.
 */
Coordinator *
coord_start(PGconn *ctl, ApplyShared *shared, const char *applied,
			ApplyResult *result)
{
	Coordinator *c = pg_malloc0(sizeof(Coordinator));
	const char *params[2];
	PGresult   *res;
	int			i;

	c->ctl = ctl;
	c->shared = shared;
	c->opts = shared->opts;
	c->start = c->position = lsn_parse(applied);
	c->nworkers = Max(c->opts->apply_jobs, 1);
	c->workers = pg_malloc0(sizeof(ApplyWorker) * c->nworkers);
	for (i = 0; i < c->nworkers; i++)
		c->workers[i].id = i;
	c->writeset.cap = WRITESET_MIN_SLOTS;
	c->writeset.slots = pg_malloc0(sizeof(WriteSlot) * c->writeset.cap);
	*result = APPLY_RECONNECT;

	if (!sync_list_load(&c->sync, ctl, c->opts->domain))
		return c;

	/* no WAL flush waits (see Durability above) */
	res = PQexec(ctl, "SET synchronous_commit = off");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		pg_log_warning("could not set synchronous_commit on the target: %s", job_error(ctl));
		PQclear(res);
		return c;
	}
	PQclear(res);

	/*
	 * The start position was read committed, not necessarily flushed (the
	 * previous session may have ended just after moving it): it is durable
	 * once the WAL written before now is.
	 */
	res = PQexec(ctl, "SELECT pg_catalog.pg_current_wal_insert_lsn(), pg_catalog.pg_current_wal_flush_lsn()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		pg_log_warning("could not read the target's WAL position: %s", job_error(ctl));
		PQclear(res);
		return c;
	}
	durable_mark(c, c->start, res);
	PQclear(res);

	params[0] = c->opts->domain;
	params[1] = applied ? applied : "0/0";
	res = PQexecParams(ctl,
					   "SELECT commit_lsn FROM " MS_STATE_SCHEMA ".applied_xacts"
					   " WHERE domain = $1 AND commit_lsn >= $2::pg_catalog.pg_lsn ORDER BY commit_lsn",
					   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_warning("could not read the applied transactions on the target: %s", job_error(ctl));
		PQclear(res);
		return c;
	}
	c->ndone = PQntuples(res);
	c->done = pg_malloc(sizeof(unsigned long long) * (c->ndone + 1));
	for (i = 0; i < c->ndone; i++)
		c->done[i] = lsn_parse(PQgetvalue(res, i, 0));
	PQclear(res);
	if (c->ndone > 0)
		pg_log_info(ngettext("%d source transaction after %s was applied before: skipping it",
							 "%d source transactions after %s were applied before: skipping them",
							 c->ndone),
					c->ndone, params[1]);

	for (i = 0; i < c->nworkers; i++)
	{
		PGconn	   *conn = job_connect(c->opts->target, "target", false, false);
		int			code = EXIT_CONNECTION;

		/*
		 * A worker that cannot connect (the target's max_connections) ends
		 * the session like a lost connection: *result holds the previous
		 * worker's APPLY_OK here, and a session with unconnected workers
		 * must not go on.
		 */
		if (conn == NULL)
		{
			*result = APPLY_RECONNECT;
			return c;
		}
		if (!job_set_apply_role(conn, &code))
		{
			PQfinish(conn);
			*result = APPLY_RECONNECT;
			if (code != EXIT_CONNECTION)
			{
				*result = coord_fail(c, APPLY_STOP, code, "could not set session_replication_role on the target");
				c->hint = NULL;
			}
			return c;
		}
		if ((*result = take_error(c, &c->workers[i],
								  apply_start(&c->workers[i], conn, shared, &c->sync, applied))) != APPLY_OK)
			return c;
	}
	shared->workers = c->workers;
	shared->nworkers = c->nworkers;
	*result = APPLY_OK;
	return c;
}

/*
 * Move jobs.applied_lsn over every routed transaction whose batch has
 * committed, without a gap, and delete their rows of applied_xacts (one
 * statement: both or neither).  It looks only at the rows from the
 * previous position on: those below it went with the statements before,
 * and their index entries, dead but not removable while another worker's
 * batch is open, made each statement visit all of them again.  Its result is the target's WAL insert
 * position (past every COMMIT of the batches it covers) and flush position
 * (durable_mark).
 */
static ApplyResult
advance_position(Coordinator *c)
{
	unsigned long long pos = c->position;
	const char *params[3];
	char		lsnbuf[32];
	char		lsnbuf2[32];
	PGresult   *res;

	while (c->rn > 0)
	{
		RoutedXact *x = &c->routed[c->rhead];

		if (x->worker >= 0 && c->workers[x->worker].commits <= x->batch)
			break;
		pos = x->end_lsn;
		c->rhead = (c->rhead + 1) % c->rcap;
		c->rn--;
	}
	if (pos == c->position)
		return APPLY_OK;
	params[0] = c->opts->domain;
	params[1] = lsn_format(pos, lsnbuf);
	/* the first one of a session also takes what an earlier one left */
	params[2] = lsn_format(c->position > c->start ? c->position : 0, lsnbuf2);
	res = PQexecParams(c->ctl,
					   "WITH d AS (DELETE FROM " MS_STATE_SCHEMA ".applied_xacts"
					   "  WHERE domain = $1 AND commit_lsn < $2::pg_catalog.pg_lsn"
					   "  AND commit_lsn >= $3::pg_catalog.pg_lsn"
					   "  RETURNING rows, commit_time)"
					   " UPDATE " MS_STATE_SCHEMA ".jobs SET applied_lsn = $2,"
					   " applied_commit_time = COALESCE((SELECT max(commit_time) FROM d), applied_commit_time),"
					   " applied_at = pg_catalog.now(),"
					   " rows_applied = rows_applied + COALESCE((SELECT sum(rows) FROM d), 0),"
					   " xacts_applied = xacts_applied + (SELECT count(*) FROM d),"
					   " last_error = NULL, last_error_at = NULL WHERE domain = $1"
					   " RETURNING pg_catalog.pg_current_wal_insert_lsn(), pg_catalog.pg_current_wal_flush_lsn()",
					   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		PQclear(res);
		return ctl_failed(c);
	}
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		return coord_fail(c, APPLY_STOP, EXIT_APPLY, "the job's state row on the target is missing");
	}
	durable_mark(c, pos, res);
	PQclear(res);
	c->position = pos;
	return APPLY_OK;
}

/* Commit one worker's batch and move the position. */
static ApplyResult
flush_worker(Coordinator *c, ApplyWorker *w)
{
	ApplyResult rc;

	if ((rc = take_error(c, w, apply_flush(w))) != APPLY_OK)
		return rc;
	return advance_position(c);
}

/*
 * Commit the batches of the workers in which[] (all when NULL) with their
 * waits overlapping: every batch's changes and Sync first, then every
 * check and COMMIT, then every COMMIT's result; then move the position.
 */
static ApplyResult
flush_workers(Coordinator *c, const bool *which)
{
	ApplyResult rc;
	int			i;

	for (i = 0; i < c->nworkers; i++)
		if ((!which || which[i]) &&
			(rc = take_error(c, &c->workers[i], apply_commit_start(&c->workers[i]))) != APPLY_OK)
			return rc;
	for (i = 0; i < c->nworkers; i++)
		if ((rc = take_error(c, &c->workers[i], apply_commit_send(&c->workers[i]))) != APPLY_OK)
			return rc;
	for (i = 0; i < c->nworkers; i++)
		if ((rc = take_error(c, &c->workers[i], apply_commit_finish(&c->workers[i]))) != APPLY_OK)
			return rc;
	return advance_position(c);
}

/* Commit every worker's batch, wait for the COMMITs, move the position. */
ApplyResult
coord_flush(Coordinator *c)
{
	return flush_workers(c, NULL);
}

/*
 * Commit the batches that are big or old enough without waiting for their
 * COMMITs: such a worker checks its batch's results, sends COMMIT, and
 * goes on with its next batch behind it in its pipeline.  The other
 * workers' targets meanwhile apply what they were sent: batches commit
 * one at a time as they become due, not all together, so that the targets
 * do not all run dry at once.  A COMMIT's result is read with the results
 * after it; the position moves over the batches known committed.
 */
static ApplyResult
commit_due(Coordinator *c)
{
	ApplyResult rc;
	int			i;

	for (i = 0; i < c->nworkers; i++)
	{
		ApplyWorker *w = &c->workers[i];

		if (apply_batch_due(w) &&
			((rc = take_error(c, w, apply_commit_start(w))) != APPLY_OK ||
			 (rc = take_error(c, w, apply_commit_send(w))) != APPLY_OK))
			return rc;
	}
	return advance_position(c);
}

/* Remember a routed transaction, in source order. */
static void
route_push(Coordinator *c, unsigned long long commit_lsn,
		   unsigned long long end_lsn, int worker)
{
	RoutedXact *x;

	if (c->rn == c->rcap)
	{
		int			newcap = c->rcap ? c->rcap * 2 : 1024;
		RoutedXact *n = pg_malloc(sizeof(RoutedXact) * newcap);
		int			i;

		for (i = 0; i < c->rn; i++)
			n[i] = c->routed[(c->rhead + i) % c->rcap];
		pg_free(c->routed);
		c->routed = n;
		c->rhead = 0;
		c->rcap = newcap;
	}
	x = &c->routed[(c->rhead + c->rn) % c->rcap];
	c->rn++;
	x->commit_lsn = commit_lsn;
	x->end_lsn = end_lsn;
	x->worker = worker;
	x->batch = worker >= 0 ? c->workers[worker].batches : 0;
}

static void
kept_free(Coordinator *c)
{
	int			i;

	for (i = 0; i < c->nkept; i++)
		message_free(&c->kept[i].m);
	c->nkept = 0;
	for (i = 0; i < c->nlearn; i++)
		message_free(&c->learn[i]);
	c->nlearn = 0;
}

/* Keep a message (taking over its contents) until the commit. */
static void
keep(Coordinator *c, Message *m, unsigned long long lsn)
{
	if (c->nkept == c->capkept)
	{
		c->capkept = c->capkept ? c->capkept * 2 : 256;
		c->kept = pg_realloc(c->kept, sizeof(KeptMessage) * c->capkept);
	}
	c->kept[c->nkept].m = *m;
	c->kept[c->nkept].lsn = lsn;
	c->nkept++;
	memset(m, 0, sizeof(Message));
}

/* Keep an R message of a direct transaction for the other workers. */
static void
keep_learn(Coordinator *c, Message *m)
{
	if (c->nlearn == c->caplearn)
	{
		c->caplearn = c->caplearn ? c->caplearn * 2 : 16;
		c->learn = pg_realloc(c->learn, sizeof(Message) * c->caplearn);
	}
	c->learn[c->nlearn++] = *m;
	memset(m, 0, sizeof(Message));
}

/* Give the kept messages to a worker, in order. */
static ApplyResult
feed_kept(Coordinator *c, ApplyWorker *w)
{
	ApplyResult rc;
	int			i;

	for (i = 0; i < c->nkept; i++)
		if ((rc = take_error(c, w, apply_message(w, &c->kept[i].m, c->kept[i].lsn))) != APPLY_OK)
			return rc;
	return APPLY_OK;
}

/*
 * The other workers learn the relations worker 0 applied: R messages kept
 * (of a transaction applied alone) and those given directly.
 */
static ApplyResult
learn_relations(Coordinator *c)
{
	ApplyResult rc;
	int			i,
				k;

	for (k = 1; k < c->nworkers; k++)
	{
		ApplyWorker *w = &c->workers[k];

		for (i = 0; i < c->nkept; i++)
			if (c->kept[i].m.action == MSG_RELATION &&
				(rc = take_error(c, w, apply_learn_relation(w, &c->kept[i].m))) != APPLY_OK)
				return rc;
		for (i = 0; i < c->nlearn; i++)
			if ((rc = take_error(c, w, apply_learn_relation(w, &c->learn[i]))) != APPLY_OK)
				return rc;
	}
	return APPLY_OK;
}

static void
add_hash(Coordinator *c, unsigned long long h)
{
	if (c->nhashes == c->caphashes)
	{
		c->caphashes = c->caphashes ? c->caphashes * 2 : 256;
		c->hashes = pg_realloc(c->hashes, sizeof(unsigned long long) * c->caphashes);
	}
	c->hashes[c->nhashes++] = h;
}

/*
 * The writeset of the kept transaction (c->hashes); false when it must be
 * applied alone (a relation not described yet, a partition's own replica
 * identity).
 */
static bool
build_writeset(Coordinator *c)
{
	RelMap	   *map = &c->workers[0].relmap;
	int			i,
				k;

	c->nhashes = 0;
	for (i = 0; i < c->nkept; i++)
	{
		Message    *m = &c->kept[i].m;
		ApplyRel   *r;

		if (!message_is_row_change(m))
			continue;
		r = relmap_lookup(map, m->relid);
		if (r == NULL || (m->action != MSG_INSERT && m->nkeycols > 0))
			return false;
		if (r->table_level || r->nkey == 0)
		{
			add_hash(c, relmap_key_hash(r, NULL, NULL, 0));
			continue;
		}
		if (m->action != MSG_INSERT)
		{
			if (m->keyvals == NULL || m->nkey != r->nkey)
				return false;	/* worker 0 reports it */
			add_hash(c, relmap_key_hash(r, m->keyvals, NULL, r->nkey));
		}
		if (m->action != MSG_DELETE)
		{
			bool		unchanged = false;

			if (m->newvals == NULL || m->nnew != r->ncols)
				return false;
			for (k = 0; k < m->nunchanged && !unchanged; k++)
			{
				int			j;

				for (j = 0; j < r->nkey; j++)
					if (m->unchanged[k] == r->keypos[j])
						unchanged = true;
			}
			/* an unchanged key column: the new key is the old one */
			if (!unchanged)
				add_hash(c, relmap_key_hash(r, m->newvals, r->keypos, r->nkey));
		}
	}
	return true;
}

/* Whether the batch of a slot's writer is not known committed yet. */
static bool
slot_live(Coordinator *c, const WriteSlot *s)
{
	return c->workers[s->worker].commits <= s->batch;
}

/* The entry of hash h, or the free one where it would go. */
static WriteSlot *
writeset_find(WriteSet *ws, unsigned long long h)
{
	unsigned int i = (unsigned int) (h ^ (h >> 32)) & (ws->cap - 1);

	while (ws->slots[i].hash != 0 && ws->slots[i].hash != h)
		i = (i + 1) & (ws->cap - 1);
	return &ws->slots[i];
}

/*
 * Rebuild the hash table with only the entries of uncommitted batches, at
 * least four times as large as they need.
 */
static void
writeset_rebuild(Coordinator *c)
{
	WriteSet   *ws = &c->writeset;
	WriteSet	old = *ws;
	int			live = 0;
	int			i;

	for (i = 0; i < old.cap; i++)
		if (old.slots[i].hash != 0 && slot_live(c, &old.slots[i]))
			live++;
	ws->cap = WRITESET_MIN_SLOTS;
	while (ws->cap < 4 * live)
		ws->cap *= 2;
	ws->slots = pg_malloc0(sizeof(WriteSlot) * ws->cap);
	ws->used = 0;
	for (i = 0; i < old.cap; i++)
		if (old.slots[i].hash != 0 && slot_live(c, &old.slots[i]))
		{
			*writeset_find(ws, old.slots[i].hash) = old.slots[i];
			ws->used++;
		}
	pg_free(old.slots);
}

/* Record that the open batch of worker w wrote hash h. */
static void
writeset_set(Coordinator *c, unsigned long long h, int w)
{
	WriteSlot  *s = writeset_find(&c->writeset, h);

	if (s->hash == 0)
	{
		s->hash = h;
		c->writeset.used++;
	}
	s->worker = w;
	s->batch = c->workers[w].batches;
	if (c->writeset.used > c->writeset.cap / 2)
		writeset_rebuild(c);
}

/*
 * Route the kept transaction (writeset in c->hashes) to a worker: the one
 * whose open batch it depends on, after committing the batches of any
 * other it depends on; else the least busy one.
 */
static ApplyResult
route(Coordinator *c, ApplyWorker **chosen)
{
	bool	   *dep = pg_malloc0(sizeof(bool) * c->nworkers);
	int			best = -1;
	int			ndeps = 0;
	int			i;
	ApplyResult rc = APPLY_OK;

	for (i = 0; i < c->nhashes; i++)
	{
		WriteSlot  *s = writeset_find(&c->writeset, c->hashes[i]);

		if (s->hash != 0 && slot_live(c, s) && !dep[s->worker])
		{
			dep[s->worker] = true;
			ndeps++;
			/* keep the one with most in flight: the others commit */
			if (best < 0 || c->workers[s->worker].pipe.n > c->workers[best].pipe.n)
				best = s->worker;
		}
	}
	if (ndeps > 1)
	{
		dep[best] = false;
		rc = flush_workers(c, dep);
	}
	pg_free(dep);
	if (rc != APPLY_OK)
		return rc;
	if (best < 0)
	{
		/* independent: the worker with the fewest statements in flight */
		for (i = 0; i < c->nworkers; i++)
		{
			int			k = (c->next_worker + i) % c->nworkers;

			if (best < 0 || c->workers[k].pipe.n < c->workers[best].pipe.n)
				best = k;
		}
		c->next_worker = (best + 1) % c->nworkers;
	}
	for (i = 0; i < c->nhashes; i++)
		writeset_set(c, c->hashes[i], best);
	*chosen = &c->workers[best];
	return APPLY_OK;
}

/*
 * C: apply the kept transaction.  m is the commit message.
 */
static ApplyResult
handle_commit(Coordinator *c, Message *m, unsigned long long lsn)
{
	unsigned long long end_lsn = m->end_lsn ? lsn_parse(m->end_lsn) : lsn;
	ApplyWorker *w0 = &c->workers[0];
	ApplyWorker *w;
	ApplyResult rc;
	int			i;

	c->in_xact = false;
	if (c->skip)
	{
		bool		has_rel = false;

		for (i = 0; i < c->nkept; i++)
			if (c->kept[i].m.action == MSG_RELATION)
				has_rel = true;
		if (has_rel)
		{
			/* worker 0 may add columns: alone, committed before the others learn */
			if ((rc = coord_flush(c)) != APPLY_OK)
				return rc;
			for (i = 0; i < c->nkept; i++)
				if (c->kept[i].m.action == MSG_RELATION &&
					(rc = take_error(c, w0, apply_learn_relation(w0, &c->kept[i].m))) != APPLY_OK)
					return rc;
			if ((rc = flush_worker(c, w0)) != APPLY_OK || (rc = learn_relations(c)) != APPLY_OK)
				return rc;
		}
		if (c->commit_lsn >= c->start)
			route_push(c, c->commit_lsn, end_lsn, -1);
		return advance_position(c);
	}

	/* one worker: nothing to route, so no writeset to keep */
	if (!c->barrier && !c->direct && c->nworkers > 1 && !build_writeset(c))
		c->barrier = true;
	if (c->barrier || c->direct)
	{
		/* alone on worker 0, committed at once */
		if (!c->direct && ((rc = coord_flush(c)) != APPLY_OK || (rc = feed_kept(c, w0)) != APPLY_OK))
			return rc;
		if ((rc = take_error(c, w0, apply_message(w0, m, lsn))) != APPLY_OK)
			return rc;
		route_push(c, c->commit_lsn, end_lsn, 0);
		if ((rc = flush_worker(c, w0)) != APPLY_OK)
			return rc;
		return learn_relations(c);
	}

	if (c->nworkers == 1)
		w = w0;
	else if ((rc = route(c, &w)) != APPLY_OK)
		return rc;
	route_push(c, c->commit_lsn, end_lsn, w->id);
	if ((rc = feed_kept(c, w)) != APPLY_OK ||
		(rc = take_error(c, w, apply_message(w, m, lsn))) != APPLY_OK ||
		(rc = take_error(c, w, apply_push(w))) != APPLY_OK)
		return rc;

	/* a batch big or old enough: commit it */
	return commit_due(c);
}

/*
 * A message of a transaction too large to keep: from now on its messages
 * go to worker 0 as they come, after every other batch committed.
 */
static ApplyResult
go_direct(Coordinator *c)
{
	ApplyResult rc;
	int			i;

	if ((rc = coord_flush(c)) != APPLY_OK || (rc = feed_kept(c, &c->workers[0])) != APPLY_OK)
		return rc;
	for (i = 0; i < c->nkept; i++)
	{
		if (c->kept[i].m.action == MSG_RELATION)
			keep_learn(c, &c->kept[i].m);
		else
			message_free(&c->kept[i].m);
	}
	c->nkept = 0;
	c->direct = true;
	return APPLY_OK;
}

/*
 * Take one message of the stream (taking over its contents: the caller's
 * *m is empty afterwards).  data_start is the LSN of its XLogData header.
 */
ApplyResult
coord_message(Coordinator *c, Message *m, unsigned long long data_start)
{
	ApplyResult rc = APPLY_OK;

	switch (m->action)
	{
		case MSG_BEGIN:
			if (c->in_xact)
			{
				char		lsnbuf[32];
				char	   *msg = psprintf("transaction begins inside another one (LSN %s)",
										   lsn_format(data_start, lsnbuf));

				coord_fail(c, APPLY_STOP, EXIT_APPLY, msg);
				pg_free(msg);
				return APPLY_STOP;
			}
			kept_free(c);
			c->in_xact = true;
			c->barrier = c->direct = false;
			c->commit_lsn = m->commit_lsn ? lsn_parse(m->commit_lsn) : data_start;
			c->skip = !m->streamed && applied_before(c, c->commit_lsn);
			if (c->skip)
				pg_log_debug("skipping transaction %llu committed at %s, already applied",
							 m->xid, m->commit_lsn ? m->commit_lsn : "?");
			keep(c, m, data_start);
			return APPLY_OK;

		case MSG_COMMIT:
			if (!c->in_xact)
				break;			/* worker 0 reports it */
			rc = handle_commit(c, m, data_start);
			kept_free(c);
			return rc;

		default:
			if (!c->in_xact)
				break;
			if (c->skip)
			{
				/* only the relation descriptions matter */
				if (m->action == MSG_RELATION)
					keep(c, m, data_start);
				return APPLY_OK;
			}
			if (m->action == MSG_RELATION || m->action == MSG_TRUNCATE ||
				m->action == MSG_OWNERSHIP)
				c->barrier = true;
			if (c->direct)
			{
				rc = take_error(c, &c->workers[0], apply_message(&c->workers[0], m, data_start));
				if (m->action == MSG_RELATION)
					keep_learn(c, m);
				return rc;
			}
			keep(c, m, data_start);
			if (c->nkept > XACT_BUFFER_MAX)
				return go_direct(c);
			return APPLY_OK;
	}

	/*
	 * Outside of a transaction: a relation description (applied by worker
	 * 0 alone, then learnt by the others), or a message worker 0 reports as
	 * misplaced.
	 */
	if ((rc = coord_flush(c)) != APPLY_OK)
		return rc;
	if ((rc = take_error(c, &c->workers[0], apply_message(&c->workers[0], m, data_start))) != APPLY_OK)
		return rc;
	if (m->action == MSG_RELATION)
	{
		int			k;

		if ((rc = flush_worker(c, &c->workers[0])) != APPLY_OK)
			return rc;
		for (k = 1; k < c->nworkers; k++)
			if ((rc = take_error(c, &c->workers[k], apply_learn_relation(&c->workers[k], m))) != APPLY_OK)
				return rc;
	}
	return APPLY_OK;
}

/* Whether some worker's batch is big or old enough to be committed. */
bool
coord_batch_due(Coordinator *c)
{
	int			i;

	for (i = 0; i < c->nworkers; i++)
		if (apply_batch_due(&c->workers[i]))
			return true;
	return false;
}

/* Age of the oldest open batch. */
double
coord_batch_age_ms(Coordinator *c)
{
	double		age = 0;
	int			i;

	for (i = 0; i < c->nworkers; i++)
		age = Max(age, apply_batch_age_ms(&c->workers[i]));
	return age;
}

/* Nothing received that is not committed and below the position. */
bool
coord_idle(Coordinator *c)
{
	int			i;

	if (c->in_xact || c->rn > 0)
		return false;
	for (i = 0; i < c->nworkers; i++)
		if (!apply_idle(&c->workers[i]))
			return false;
	return true;
}

bool
coord_in_xact(Coordinator *c)
{
	return c->in_xact;
}

/* jobs.applied_lsn: every source transaction before it is applied. */
unsigned long long
coord_position(Coordinator *c)
{
	return c->position;
}

/*
 * The position the source may be told is flushed (see Durability): the
 * latest position whose batches are flushed on the target; 0 while none is
 * known.  While a later one is not, asks the target how far its WAL is
 * flushed, at most every FLUSH_POLL_MS (a failure shows in the next
 * statement on the connection).
 */
unsigned long long
coord_durable(Coordinator *c)
{
	if (c->nmarks > 0 && job_now_seconds() - c->flush_polled >= FLUSH_POLL_MS / 1000.0)
	{
		PGresult   *res = PQexec(c->ctl, "SELECT pg_catalog.pg_current_wal_flush_lsn()");

		c->flush_polled = job_now_seconds();
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			durable_flushed(c, lsn_parse(PQgetvalue(res, 0, 0)));
		PQclear(res);
	}
	return c->durable;
}

/*
 * Make the position durable now: a transaction committed with
 * synchronous_commit on waits for the flush of the WAL before its commit
 * record, and so of every batch and position before it.
 */
ApplyResult
coord_make_durable(Coordinator *c)
{
	const char *params[1] = {c->opts->domain};
	PGresult   *res;
	bool		ok;

	if (c->nmarks == 0)
		return APPLY_OK;
	res = PQexec(c->ctl, "BEGIN; SET LOCAL synchronous_commit = on");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (ok)
	{
		res = PQexecParams(c->ctl,
						   "UPDATE " MS_STATE_SCHEMA ".jobs SET applied_at = applied_at WHERE domain = $1",
						   1, NULL, params, NULL, NULL, 0);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		res = PQexec(c->ctl, ok ? "COMMIT" : "ROLLBACK");
		ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
	}
	if (!ok)
		return ctl_failed(c);
	c->durable = c->marks[c->nmarks - 1].position;
	c->nmarks = 0;
	return APPLY_OK;
}

/*
 * Whether a source transaction committed at commit_lsn was applied before
 * (in an earlier session): a streamed transaction applied while in progress
 * (live.c) learns its commit LSN only at its end.
 */
bool
coord_applied_before(Coordinator *c, unsigned long long commit_lsn)
{
	return applied_before(c, commit_lsn);
}

/*
 * A source transaction was committed on the target outside the workers
 * (live.c, with its row of applied_xacts), or found applied before: move
 * the position over it like over a skipped one.  The caller committed
 * every earlier transaction first (coord_flush).
 */
ApplyResult
coord_applied_elsewhere(Coordinator *c, unsigned long long commit_lsn,
						unsigned long long end_lsn)
{
	route_push(c, commit_lsn, end_lsn, -1);
	return advance_position(c);
}

/*
 * The backend process IDs of the workers' target connections (at most
 * max); returns how many.
 */
int
coord_backend_pids(Coordinator *c, int *pids, int max)
{
	int			i,
				n = 0;

	for (i = 0; i < c->nworkers && n < max; i++)
		if (c->workers[i].conn != NULL)
			pids[n++] = PQbackendPID(c->workers[i].conn);
	return n;
}

/* End the session's workers (open batches are rolled back). */
void
coord_end(Coordinator *c)
{
	int			i;

	if (c == NULL)
		return;
	c->shared->workers = NULL;
	c->shared->nworkers = 0;
	for (i = 0; i < c->nworkers; i++)
		apply_reset(&c->workers[i]);
	kept_free(c);
	pg_free(c->kept);
	pg_free(c->learn);
	pg_free(c->workers);
	pg_free(c->done);
	pg_free(c->routed);
	pg_free(c->writeset.slots);
	pg_free(c->hashes);
	pg_free(c->error);
	sync_list_free(&c->sync);
	pg_free(c);
}
