/*-------------------------------------------------------------------------
 *
 * apply.c
 *		An apply worker: decoded changes applied on one target connection.
 *
 * The coordinator (coordinator.c) gives a worker whole source
 * transactions; the worker applies many of them in one target transaction
 * (its batch, ApplyBatch).  When the batch commits, it records the commit
 * LSNs of its source transactions in migration_split_job.applied_xacts in
 * the same target transaction: a source transaction and the proof that it
 * was applied become durable together.  The coordinator moves the job
 * row's applied position; coordinator.c states the exactly-once invariant.
 *
 * Like PostgreSQL's apply worker (worker.c), apply_message dispatches each
 * message to the handler of its kind (handle_begin, handle_commit,
 * apply_relation, handle_change, handle_truncate, handle_ownership).  All
 * the worker's state is in its ApplyWorker: the relation map (relmap.c),
 * the pipeline of statements sent but not yet checked (TargetPipeline),
 * the batch and the coalescer of runs of changes (Coalescer).
 *
 * Statements are prepared once per relation (and per set of unchanged TOAST
 * columns for UPDATE) and sent in libpq pipeline mode: the worker does not
 * wait for one change to be applied before sending the next.  Runs of
 * inserts into one table become one INSERT ... SELECT unnest() of one
 * array per column (a multi-row INSERT ... VALUES when a column's type has
 * no array type), runs of deletes by a one-column key one DELETE ... =
 * ANY (array) whose row count is checked, runs of updates of one table
 * that set the same columns and keep their key one UPDATE ... FROM the
 * rows' values in arrays, which names the first row that did not match
 * exactly one target row (run_flush_update).  A worker keeps a run open
 * per table and kind while it collects the others (Coalescer; run_open),
 * for tables where only the key orders changes (run_parkable), and sends a
 * run early when a change of one of its keys comes (run_key_conflict).
 * Values of a few built-in types go in binary where the target column has
 * the source's type (binparam.c; ParamSet): the target then does not parse
 * them.
 * Results are checked in order at every synchronisation point; an error,
 * or an UPDATE or DELETE that finds no row, stops the job with the table
 * and the source LSN, and the batch is rolled back.  The check happens
 * before COMMIT is sent.
 *
 * A column added on the source is added on the target (ALTER TABLE) in a
 * batch that holds no earlier source transaction: deferred trigger events
 * of those would make the ALTER fail (see commit_before_alter).  A change
 * that cannot be applied sets the error and, when the usual "fix the target
 * and run again" cannot work, a hint of its own (ApplyWorker.hint).
 *
 * Waiting for the target: while the job waits for results, nobody reads the
 * replication connection, and a wait can be long (a large transaction,
 * applied at its streamed commit or whole, slow triggers, locks).  The
 * source's walsender ends a connection that has not replied within its
 * wal_sender_timeout, after which the job receives the whole transaction
 * again.  So results are awaited with select(), and the caller's wait hook
 * (apply_set_wait_hook; stream.c sends a status update) runs about every
 * WAIT_HOOK_SECONDS of waiting.  The same select() watches the source's
 * socket (apply_set_read_ahead): what arrives meanwhile is read ahead
 * (receive.c says why), so that the walsender goes on decoding while the
 * target applies.  Sending does not block either (the connections are
 * non-blocking): what a socket does not take stays in libpq's buffer and is
 * sent during these waits, for every worker of the coordinator, so that
 * one worker's wait does not starve the others' targets.
 *
 * A worker in in_progress mode (live.c) applies one streamed transaction
 * while it still runs on the source: apply_begin_in_progress opens it
 * without a commit LSN (none is known yet; every LSN known is below it),
 * apply_statement adds the savepoints, apply_commit_in_progress commits it
 * with its real commit LSN.  Such a worker makes no DDL and copies no table:
 * a message that would need either fails, and live.c applies the
 * transaction the ordinary way at its commit.
 *
 * Per-table snapshot LSNs (migration_split_job.tables.sync_lsn, the
 * session's SyncList) implement resumed inits: a change of a table in a
 * transaction that committed before the table's snapshot is already in the
 * copied data and is skipped.
 *
 * Source identities: the job copied a source table, not a name.  The state
 * keeps the table's source OID (tables.source_relid, in the SyncList) and
 * each column's attnum (migration_split_job.columns, read with the target's
 * columns in apply_relation; a column the stream adds gets its row in the
 * same batch).  An R or O naming a table of the job under another OID, or
 * an R with one of its columns under another attnum, is a table dropped and
 * created again, or a column dropped and added again, under the same name:
 * the job stops (check_recreated) instead of mixing old and new rows.  A
 * table copied by a job that did not record them takes those of its next
 * R (learn_identity, learn_columns).
 *
 * Memory: per-change values are freed once sent; the relation map, the
 * batch's transaction list, the coalescer's buffer and the worker's error
 * message live until apply_reset (which discards the run before the map
 * its entries point into).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/select.h>
#include <time.h>

#include "catalog/pg_type_d.h"
#include "common/logging.h"

#include "job.h"
#include "apply.h"

/* the wait hook runs about this often while a worker waits for results */
#define WAIT_HOOK_SECONDS	1
/* after an interrupt, how long a statement may still run before its cancel */
#define INTERRUPT_GRACE_SECONDS	1.0

static ApplyResult apply_by_partition_key(ApplyWorker *w, ApplyRel *r, Message *m);
static ApplyResult join_table(ApplyWorker *w, const char *schema, const char *table);
static int	find_sync(ApplyWorker *w, const char *schema, const char *table);
static ApplyResult pipe_sync_wait(ApplyWorker *w);
static void queue(ApplyWorker *w, char action, int expect_rows, ApplyRel *rel);
static inline Pending *last_pending(ApplyWorker *w);
static void commit_done(ApplyWorker *w, const Pending *p);
static void batch_clear(ApplyWorker *w);
static ApplyResult relation_conflict_scope(ApplyWorker *w, ApplyRel *r, Message *m);
static ApplyResult key_operators(ApplyWorker *w, ApplyRel *r, Message *m);
static ApplyResult check_renamed(ApplyWorker *w, Message *m, const ApplyRel *old);
static bool identity_in_force(ApplyWorker *w, int i);
static bool identity_applies(ApplyWorker *w, int i);
static ApplyResult learn_identity(ApplyWorker *w, Message *m, int i);
static ApplyResult learn_columns(ApplyWorker *w, Message *m, const PGresult *tcols);
static ApplyResult check_recreated(ApplyWorker *w, Message *m, int i);

#define RENAME_HINT "The job copies no table under a new name: the target's table would keep the old name and stop changing. Run \"migration-split init --drop\" to copy the domain as it is now."
/* copying one table again: stream copies it in as a table that joined the domain */
#define RECOPY_HINT "Run \"migration-split init --drop\" to copy the domain as it is now, or, to copy only this table again, drop it on the target and delete its row from " MS_STATE_SCHEMA ".tables: the next stream copies it as a table that joined the domain."
#define RECREATED_HINT "The target's table holds the rows of the dropped table, and the new table's changes would be applied on top of them. " RECOPY_HINT
#define READDED_HINT "The target's rows keep the values of the dropped column, which the source's rows no longer have. " RECOPY_HINT

/*
 * Set the worker's error and return result (with APPLY_STOP, exit_code is
 * the exit code the job ends with).
 */
static ApplyResult
fail(ApplyWorker *w, ApplyResult result, int exit_code, const char *fmt,...) pg_attribute_printf(4, 5);

static ApplyResult
fail(ApplyWorker *w, ApplyResult result, int exit_code, const char *fmt,...)
{
	va_list		ap;
	char		buf[4096];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pg_free(w->error);
	w->error = pg_strdup(buf);
	w->hint = NULL;
	w->exit_code = exit_code;
	return result;
}

static bool
connection_lost(ApplyWorker *w, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(w->conn) == CONNECTION_BAD)
		return true;

	/*
	 * Class 08 and shutdowns mean the connection is gone; 08P01 (protocol
	 * violation) is a bug of ours on a live connection: stop, don't retry.
	 */
	if (state && strcmp(state, "08P01") == 0)
		return false;
	return state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0);
}

static const char *
action_name(char a)
{
	switch (a)
	{
		case 'I':
			return "INSERT";
		case 'U':
			return "UPDATE";
		case 'D':
			return "DELETE";
		case 'T':
			return "TRUNCATE";
		default:
			return "statement";
	}
}

/*
 * An UPDATE of a table with an identity column GENERATED ALWAYS on the
 * target that is not part of the key matches that column's new value
 * instead of setting it (update_statement): when no row matches, the
 * source may have given it a new value.
 */
#define GUARD_HINT "The job stopped before this change; nothing after it was applied. If the row is on the target, the update gave an identity column that is GENERATED ALWAYS on the target a new value (UPDATE ... SET column = DEFAULT on the source), which an UPDATE cannot set: make the column GENERATED BY DEFAULT on the target (ALTER TABLE ... ALTER COLUMN ... SET GENERATED BY DEFAULT), run stream again, and make it GENERATED ALWAYS again afterwards."

/* whether r has a GENERATED ALWAYS identity column outside its key */
static bool
has_guard(const ApplyRel *r)
{
	int			i,
				k;

	for (i = 0; i < r->ncols; i++)
	{
		bool		key = false;

		if (!r->always || !r->always[i] || r->skip[i])
			continue;
		for (k = 0; k < r->nkey; k++)
			if (r->keypos[k] == i)
				key = true;
		if (!key)
			return true;
	}
	return false;
}

/*
 * Whether a statement failed only because of what ran beside it on the
 * target: a deadlock with a session of the service, or a serialization
 * failure (a target whose default_transaction_isolation is serializable).
 * Nothing on the target needs fixing: the session ends, its batch rolled
 * back, and the stream applies the same transactions again, as after a lost
 * connection.  So is a statement that wait_for_result cancelled after an
 * interrupt (SQLSTATE 57014): the program then ends (stream.c).
 */
static bool
transient_error(const PGresult *res)
{
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return sqlstate != NULL &&
		(strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
		 (job_interrupted && strcmp(sqlstate, "57014") == 0));
}

/*
 * A run of updates returns the place in the run (from 1) of the row that
 * updated each target row (run_flush_update): every row of the run must
 * have updated exactly one.  The first that did not is reported as the
 * per-row statement would report it, with that row's source LSN and xid.
 */
static ApplyResult
check_update_run(ApplyWorker *w, Pending *p, PGresult *res)
{
	char		lsnbuf[32];
	int		   *matched = pg_malloc0(sizeof(int) * p->nrows);
	int			i;
	ApplyResult rc = APPLY_OK;

	for (i = 0; i < PQntuples(res); i++)
	{
		int			row = atoi(PQgetvalue(res, i, 0)) - 1;

		if (row < 0 || row >= p->nrows)
		{
			rc = fail(w, APPLY_STOP, EXIT_APPLY, "target: run of updates reported row %s of %d",
					  PQgetvalue(res, i, 0), p->nrows);
			pg_free(matched);
			return rc;
		}
		matched[row]++;
	}
	for (i = 0; i < p->nrows; i++)
		if (matched[i] != 1)
		{
			rc = fail(w, APPLY_STOP, EXIT_APPLY, "could not apply UPDATE on table \"%s.%s\" (source commit LSN %s, xid %llu): %d rows match the old key on the target",
					  p->rel->schema, p->rel->table, lsn_format(p->row_lsn[i], lsnbuf),
					  p->row_xid[i], matched[i]);
			if (has_guard(p->rel))
				w->hint = GUARD_HINT;
			break;
		}
	pg_free(matched);
	return rc;
}

/*
 * Check the result of one queued statement; returns the new rc.
 */
static ApplyResult
check_result(ApplyWorker *w, Pending *p, PGresult *res)
{
	char		lsnbuf[32];
	ExecStatusType st = PQresultStatus(res);
	ApplyResult rc;

	if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED)
	{
		ApplyResult stop = transient_error(res) ? APPLY_RECONNECT : APPLY_STOP;
		int			code = stop == APPLY_STOP ? EXIT_APPLY : 0;

		if (connection_lost(w, res))
			return fail(w, APPLY_RECONNECT, 0, "target: %s", job_error(w->conn));
		if (p->rel && p->nrows > 1)
		{
			char		lsnbuf2[32];

			return fail(w, stop, code, "could not apply %s of %d rows on table \"%s.%s\" (source commit LSN %s to %s, first xid %llu): %s",
						action_name(p->action), p->nrows, p->rel->schema, p->rel->table,
						lsn_format(p->commit_lsn, lsnbuf), lsn_format(p->last_lsn, lsnbuf2),
						p->xid, job_result_error(res));
		}
		if (p->rel && p->action == 'P')
			return fail(w, stop, code, "could not prepare a statement for table \"%s.%s\" (source commit LSN %s, xid %llu): %s",
						p->rel->schema, p->rel->table,
						lsn_format(p->commit_lsn, lsnbuf), p->xid,
						job_result_error(res));
		if (p->rel)
			return fail(w, stop, code, "could not apply %s on table \"%s.%s\" (source commit LSN %s, xid %llu): %s",
						action_name(p->action), p->rel->schema, p->rel->table,
						lsn_format(p->commit_lsn, lsnbuf), p->xid,
						job_result_error(res));
		if (p->action == 'T')
			return fail(w, stop, code, "could not apply TRUNCATE (source commit LSN %s, xid %llu): %s",
						lsn_format(p->commit_lsn, lsnbuf), p->xid, job_result_error(res));
		if (p->action == 'C')
			return fail(w, stop, code, "could not commit %lld source %s applied up to source LSN %s: %s",
						p->batch_xacts, ngettext("transaction", "transactions", p->batch_xacts),
						lsn_format(p->batch_lsn, lsnbuf), job_result_error(res));
		return fail(w, stop, code, "target: %s", job_result_error(res));
	}
	if (st == PGRES_TUPLES_OK && p->row_lsn != NULL)
		return check_update_run(w, p, res);
	if (st == PGRES_COMMAND_OK && p->expect_rows > 0 && atoi(PQcmdTuples(res)) != p->expect_rows)
	{
		char		lsnbuf2[32];

		if (p->rel && p->nrows > 1)
			return fail(w, APPLY_STOP, EXIT_APPLY, "could not apply %s of %d rows on table \"%s.%s\" (source commit LSN %s to %s, first xid %llu): %s rows match their old keys on the target",
						action_name(p->action), p->nrows, p->rel->schema, p->rel->table,
						lsn_format(p->commit_lsn, lsnbuf), lsn_format(p->last_lsn, lsnbuf2),
						p->xid, PQcmdTuples(res));
		if (p->rel)
		{
			rc = fail(w, APPLY_STOP, EXIT_APPLY, "could not apply %s on table \"%s.%s\" (source commit LSN %s, xid %llu): %s rows match the old key on the target",
					  action_name(p->action), p->rel->schema, p->rel->table,
					  lsn_format(p->commit_lsn, lsnbuf), p->xid, PQcmdTuples(res));
			if (p->action == 'U' && has_guard(p->rel))
				w->hint = GUARD_HINT;
			return rc;
		}
		return fail(w, APPLY_STOP, EXIT_APPLY, "the job's state row on the target is missing");
	}
	return APPLY_OK;
}

/*
 * Set (or with NULL clear) the function called about every
 * WAIT_HOOK_SECONDS while a worker of the run waits for the target's
 * results.  The hook lives in ApplyShared: the coordinator's workers share
 * one replication connection to keep alive.
 */
void
apply_set_wait_hook(ApplyShared *shared, void (*hook) (void *arg), void *arg)
{
	shared->wait_hook = hook;
	shared->wait_hook_arg = arg;
	shared->wait_hook_last = time(NULL);
}

/*
 * Set (or with NULL clear) the function that reads the source's socket
 * ahead while a worker waits, when sock is readable; it returns whether it
 * may read more in this wait (false: its queue is full).
 */
void
apply_set_read_ahead(ApplyShared *shared, int sock, bool (*read_ahead) (void *arg))
{
	shared->read_ahead = read_ahead;
	shared->read_ahead_sock = read_ahead != NULL ? sock : -1;
}

/*
 * Send what libpq holds for one target connection (it does not block, see
 * apply_start); when some is left, watch its socket for room in wfds.
 * Returns false when the connection failed.
 */
static bool
flush_output(PGconn *conn, fd_set *wfds, int *maxsock)
{
	int			r = PQflush(conn);
	int			sock = PQsocket(conn);

	if (r < 0 || sock < 0)
		return false;
	if (r > 0)
	{
		FD_SET(sock, wfds);
		*maxsock = Max(*maxsock, sock);
	}
	return true;
}

/*
 * Wait until PQgetResult on the worker's connection would not block,
 * running the wait hook when it is due, and reading the source ahead when
 * it has data.  Meanwhile the output of every worker of the coordinator is
 * sent as its socket takes it, so that the others' targets do not run dry.
 * Returns false when the connection fails.
 */
static bool
wait_for_result(ApplyWorker *w)
{
	ApplyShared *sh = w->shared;
	bool		ahead = sh->read_ahead != NULL && sh->read_ahead_sock >= 0;
	double		interrupted_at = 0;
	bool		cancelled = false;

	for (;;)
	{
		if (sh->wait_hook != NULL && time(NULL) - sh->wait_hook_last >= WAIT_HOOK_SECONDS)
		{
			sh->wait_hook(sh->wait_hook_arg);
			sh->wait_hook_last = time(NULL);
		}
		if (!PQisBusy(w->conn))
			return true;

		/*
		 * Interrupted (SIGINT, SIGTERM): a statement still running after
		 * INTERRUPT_GRACE_SECONDS waits for something that may never come
		 * (a lock held by a session of the service that stays idle in its
		 * transaction).  Cancel it: the batch is rolled back, and the next
		 * run applies it again from the recorded position.
		 */
		if (job_interrupted && !cancelled)
		{
			if (interrupted_at == 0)
				interrupted_at = job_now_seconds();
			else if (job_now_seconds() - interrupted_at >= INTERRUPT_GRACE_SECONDS)
			{
				PGcancel   *cancel = PQgetCancel(w->conn);
				char		errbuf[256];

				if (cancel == NULL || !PQcancel(cancel, errbuf, sizeof(errbuf)))
					pg_log_warning("could not cancel the statement on the target: %s",
								   cancel ? errbuf : "out of memory");
				if (cancel)
					PQfreeCancel(cancel);
				cancelled = true;
			}
		}
		if (sh->wait_hook != NULL)
		{
			int			sock = PQsocket(w->conn);
			int			maxsock = sock;
			fd_set		fds;
			fd_set		wfds;
			struct timeval tv;
			int			n;
			int			i;

			if (sock < 0)
				return false;	/* the target's connection is gone */
			FD_ZERO(&fds);
			FD_ZERO(&wfds);
			FD_SET(sock, &fds);
			if (!flush_output(w->conn, &wfds, &maxsock))
				return false;
			/* another worker's failure shows when it is next waited for */
			for (i = 0; i < sh->nworkers; i++)
				if (&sh->workers[i] != w && sh->workers[i].conn != NULL)
					(void) flush_output(sh->workers[i].conn, &wfds, &maxsock);
			if (ahead)
			{
				FD_SET(sh->read_ahead_sock, &fds);
				maxsock = Max(maxsock, sh->read_ahead_sock);
			}
			tv.tv_sec = job_interrupted ? 0 : WAIT_HOOK_SECONDS;
			tv.tv_usec = job_interrupted ? 100 * 1000 : 0;
			n = select(maxsock + 1, &fds, &wfds, NULL, &tv);
			if (n < 0 && errno == EBADF && ahead)
			{
				/*
				 * The read-ahead found the source's connection lost, and
				 * libpq closed its socket.  The target is fine: wait for it
				 * alone, so that the batch is applied; the session then
				 * finds the source lost and reconnects.  (Failing here made
				 * the stream blame the target, and pipe_sync_wait select()
				 * the closed socket for ever.)
				 */
				sh->read_ahead_sock = -1;
				ahead = false;
				continue;
			}
			if (n < 0 && errno != EINTR)
				return false;
			if (n > 0 && ahead && FD_ISSET(sh->read_ahead_sock, &fds))
				ahead = sh->read_ahead(sh->wait_hook_arg);
		}
		else
			return true;		/* PQgetResult waits */
		if (PQconsumeInput(w->conn) == 0)
			return false;
	}
}

/* Free what a checked statement's Pending owns (a run's row LSNs). */
static void
pending_release(Pending *p)
{
	pg_free(p->row_lsn);
	pg_free(p->row_xid);
	p->row_lsn = p->row_xid = NULL;
}

/*
 * Read results of the oldest queued statements, in order, until at most
 * "keep" are outstanding, holding at most "keep_rows" changes.  Without a
 * Sync, a Flush request makes the server send what it has.  Returns
 * APPLY_OK, APPLY_RECONNECT or EXIT_APPLY; after an error the session ends,
 * so the rest of the queue does not matter.
 */
static ApplyResult
consume_results(ApplyWorker *w, int keep, long keep_rows, bool flush_request)
{
	if (flush_request && (PQsendFlushRequest(w->conn) != 1 || PQflush(w->conn) < 0))
		return fail(w, APPLY_RECONNECT, 0, "target: %s", job_error(w->conn));
	while (w->pipe.n > keep || w->pipe.rows > keep_rows)
	{
		Pending    *p = &w->pipe.pending[w->pipe.head];
		PGresult   *res = wait_for_result(w) ? PQgetResult(w->conn) : NULL;
		PGresult   *extra;
		int			rc;

		if (res == NULL)
			return fail(w, APPLY_RECONNECT, 0, "target: %s", job_error(w->conn));
		if ((PQresultStatus(res) == PGRES_PIPELINE_SYNC) != (p->action == 'Y'))
		{
			PQclear(res);
			return fail(w, APPLY_RECONNECT, 0, "target: lost pipeline results");
		}
		rc = p->action == 'Y' ? APPLY_OK : check_result(w, p, res);
		PQclear(res);
		if (rc == APPLY_OK && p->action == 'C')
			commit_done(w, p);
		pending_release(p);
		/* each statement's results end with NULL (a Sync's do not) */
		while (p->action != 'Y' && (extra = PQgetResult(w->conn)) != NULL)
			PQclear(extra);
		w->pipe.head = (w->pipe.head + 1) % PENDING_RING;
		w->pipe.n--;
		w->pipe.rows -= p->nrows;
		if (rc != APPLY_OK)
			return rc;
	}
	return APPLY_OK;
}

/*
 * Send a Sync.  Its result is read in its place among the statements'
 * (consume_results), so that a COMMIT's Sync can stay in the pipeline
 * while the next batch is sent behind it.
 */
static ApplyResult
send_sync(ApplyWorker *w)
{
	if (PQpipelineSync(w->conn) != 1)
		return fail(w, APPLY_RECONNECT, 0, "target: %s", job_error(w->conn));
	queue(w, 'Y', 0, NULL);
	last_pending(w)->nrows = 0;
	return APPLY_OK;
}

/*
 * A batch's COMMIT succeeded: its source transactions are applied, and
 * recorded in applied_xacts (the coordinator moves the position over
 * them).
 */
static void
commit_done(ApplyWorker *w, const Pending *p)
{
	char		lsnbuf[32];

	pg_log_debug("worker %d committed %lld source %s, %lld %s, up to %s",
				 w->id, p->batch_xacts, ngettext("transaction", "transactions", p->batch_xacts),
				 p->batch_rows, ngettext("change", "changes", p->batch_rows),
				 lsn_format(p->batch_lsn, lsnbuf));
	w->shared->stats.rows += p->batch_rows;
	w->shared->stats.xacts += p->batch_xacts;
	w->commits++;
}

/*
 * Send a Sync and check the results of every queued statement.
 */
static ApplyResult
pipe_sync(ApplyWorker *w)
{
	ApplyResult rc;

	if ((rc = send_sync(w)) != APPLY_OK)
		return rc;
	return pipe_sync_wait(w);
}

/*
 * Check the results of every queued statement and Sync.
 */
static ApplyResult
pipe_sync_wait(ApplyWorker *w)
{
	bool		synced = w->pipe.n > 0 &&
		last_pending(w)->action == 'Y';

	/* without a Sync last, ask the server for the results it has */
	return consume_results(w, 0, 0, !synced);
}

/* The statement (or Sync) queued last. */
static inline Pending *
last_pending(ApplyWorker *w)
{
	return &w->pipe.pending[(w->pipe.head + w->pipe.n - 1) % PENDING_RING];
}

static void
queue(ApplyWorker *w, char action, int expect_rows, ApplyRel *rel)
{
	Pending    *p = &w->pipe.pending[(w->pipe.head + w->pipe.n) % PENDING_RING];

	w->pipe.n++;
	p->action = action;
	p->expect_rows = expect_rows;
	p->nrows = 1;
	p->rel = rel;
	p->commit_lsn = p->last_lsn = w->xact.commit_lsn;
	p->xid = w->xact.xid;
	p->row_lsn = p->row_xid = NULL;
}

static ApplyResult
send_ok(ApplyWorker *w, int ok)
{
	if (ok != 1)
		return fail(w, APPLY_RECONNECT, 0, "target: %s", job_error(w->conn));
	/* the statement just queued, with its final row count */
	w->pipe.rows += last_pending(w)->nrows;
	/* keep the queue bounded without ever letting the target run dry */
	if (w->pipe.n >= MAX_PENDING || w->pipe.rows >= MAX_PENDING_ROWS)
		return consume_results(w, MAX_PENDING / 4, MAX_PENDING_ROWS / 2, true);
	return APPLY_OK;
}

static ApplyResult
send_statement(ApplyWorker *w, const char *sql, int nparams, const char *const *params)
{
	int			ok = PQsendQueryParams(w->conn, sql, nparams, NULL, params, NULL, NULL, 0);

	queue(w, 'S', false, NULL);
	return send_ok(w, ok);
}

/*
 * Run one statement synchronously (pipeline drained first); returns the
 * result or NULL after setting the error.
 */
static PGresult *
pipe_query(ApplyWorker *w, const char *sql, int nparams, const char *const *params, ApplyResult *rc)
{
	PGresult   *res;
	PGresult   *r;

	*rc = pipe_sync(w);
	if (*rc != APPLY_OK)
		return NULL;
	if (PQsendQueryParams(w->conn, sql, nparams, NULL, params, NULL, NULL, 0) != 1 ||
		PQpipelineSync(w->conn) != 1)
	{
		*rc = fail(w, APPLY_RECONNECT, 0, "target: %s", job_error(w->conn));
		return NULL;
	}
	res = PQgetResult(w->conn);
	while ((r = PQgetResult(w->conn)) != NULL)
		PQclear(r);
	while ((r = PQgetResult(w->conn)) != NULL)
	{
		bool		sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;

		PQclear(r);
		if (sync)
			break;
	}
	if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK &&
						PQresultStatus(res) != PGRES_COMMAND_OK))
	{
		*rc = fail(w, connection_lost(w, res) ? APPLY_RECONNECT : APPLY_STOP, EXIT_APPLY,
				   "target: %s", res ? job_result_error(res) : job_error(w->conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

static ApplyResult
begin_batch(ApplyWorker *w)
{
	if (w->batch.open)
		return APPLY_OK;
	w->batch.open = true;
	w->batch.started = job_now_seconds();
	return send_statement(w, "BEGIN", 0, NULL);
}

/*
 * The tables the job copied, with their snapshot LSNs, from the job's
 * state on the target.
 */
bool
sync_list_load(SyncList *sync, PGconn *conn, const char *domain)
{
	const char *params[1] = {domain};
	PGresult   *res;
	int			i;

	res = PQexecParams(conn,
					   "SELECT source_schema, source_table, sync_lsn, source_relid FROM " MS_STATE_SCHEMA ".tables"
					   " WHERE domain = $1 AND state = 'copied'",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_warning("could not read the job's tables on the target: %s", job_error(conn));
		PQclear(res);
		return false;
	}
	sync->n = PQntuples(res);
	sync->schema = pg_malloc(sizeof(char *) * (sync->n + 1));
	sync->table = pg_malloc(sizeof(char *) * (sync->n + 1));
	sync->lsn = pg_malloc(sizeof(unsigned long long) * (sync->n + 1));
	sync->relid = pg_malloc(sizeof(unsigned int) * (sync->n + 1));
	for (i = 0; i < sync->n; i++)
	{
		sync->schema[i] = pg_strdup(PQgetvalue(res, i, 0));
		sync->table[i] = pg_strdup(PQgetvalue(res, i, 1));
		sync->lsn[i] = lsn_parse(PQgetvalue(res, i, 2));
		sync->relid[i] = PQgetisnull(res, i, 3) ? 0 :
			(unsigned int) strtoul(PQgetvalue(res, i, 3), NULL, 10);
	}
	PQclear(res);
	return true;
}

void
sync_list_free(SyncList *sync)
{
	int			i;

	for (i = 0; i < sync->n; i++)
	{
		pg_free(sync->schema[i]);
		pg_free(sync->table[i]);
	}
	pg_free(sync->schema);
	pg_free(sync->table);
	pg_free(sync->lsn);
	pg_free(sync->relid);
	memset(sync, 0, sizeof(SyncList));
}

/*
 * Start a worker on a fresh target connection (session_replication_role
 * already set), which the worker owns from now on.
 */
ApplyResult
apply_start(ApplyWorker *w, PGconn *conn, ApplyShared *shared, SyncList *sync,
			const char *applied)
{
	char	   *q;
	PGresult   *res;
	ApplyResult rc;

	w->conn = conn;
	w->shared = shared;
	w->opts = shared->opts;
	w->sync = sync;
	w->start_lsn = lsn_parse(applied);

	q = job_quote_ident(conn, w->opts->target_schema);
	job_set_search_path(conn, "target", q);
	pg_free(q);

	/*
	 * Find rows by their key's index, as PostgreSQL's apply worker does, not
	 * by the plan the cost model prefers: it assumes uncached index pages,
	 * and a run of a few hundred updates or deletes on a table of some ten
	 * thousand rows would scan (or hash) the whole table once per run, where
	 * index probes take a fraction of a millisecond.  Tables without a usable
	 * index are still scanned (disabling a plan type only makes it costly).
	 * A COMMIT does not wait for its WAL flush: the coordinator confirms to
	 * the source only what is flushed (coordinator.c, Durability).
	 */
	res = PQexec(conn, "SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off;"
				 " SET synchronous_commit = off");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		rc = fail(w, APPLY_RECONNECT, 0, "target: could not set the settings of the apply session: %s",
				  job_error(conn));
		PQclear(res);
		return rc;
	}
	PQclear(res);

	if (PQenterPipelineMode(conn) != 1)
		return fail(w, APPLY_RECONNECT, 0, "target: could not enter pipeline mode: %s", job_error(conn));

	/*
	 * Sending never blocks: a send that blocked would stop the job, its
	 * read-ahead and its keepalives, and SIGTERM, while the target waits
	 * (for a lock, say).  What the socket does not take is sent in the
	 * waits (wait_for_result).
	 */
	if (PQsetnonblocking(conn, 1) != 0)
		return fail(w, APPLY_RECONNECT, 0, "target: could not make the connection non-blocking: %s", job_error(conn));
	return APPLY_OK;
}

/*
 * Before an ALTER TABLE ... ADD COLUMN: commit the earlier source
 * transactions of the batch.  Their changes of the table may have queued
 * deferred trigger events (DEFERRABLE INITIALLY DEFERRED foreign keys, as
 * Django creates them), and ALTER TABLE refuses to run in a transaction
 * holding such events ("cannot ALTER TABLE ... because it has pending
 * trigger events").  On the source the ALTER ran after those transactions
 * had committed, so committing them here first is the same order.
 *
 * When the current source transaction already has changes in the batch, the
 * batch cannot be cut between it and the earlier ones: the session ends
 * (rolling the batch back) with APPLY_REPLAY, and the next session, which
 * receives the same transactions again, commits before this one begins.
 */
static ApplyResult
commit_before_alter(ApplyWorker *w, ApplyRel *r)
{
	char		lsnbuf[32];

	if (w->batch.xacts == 0)
		return APPLY_OK;
	if (!w->xact.sent)
		return apply_flush(w);
	w->shared->split_before_lsn = w->xact.commit_lsn;
	return fail(w, APPLY_REPLAY, 0, "a column was added to table \"%s.%s\" (source commit LSN %s): restarting the stream to commit the transactions before it first",
				r->schema, r->table, lsn_format(w->xact.commit_lsn, lsnbuf));
}

/*
 * An "R" message: (re)build the relation's description, add columns the
 * target lacks.
 */
static ApplyResult
apply_relation(ApplyWorker *w, Message *m)
{
	ApplyRel   *r;
	PGresult   *res;
	ApplyResult rc;
	int			i,
				j;
	const char *params[4];
	char	   *qschema;
	char	   *qtable;
	char		lsnbuf[32];
	bool		check_columns;

	if (m->schema == NULL || m->table == NULL)
		return fail(w, APPLY_STOP, EXIT_APPLY, "relation message without schema or table name");

	/*
	 * A table of the job under another OID: dropped and created again.  A
	 * table copied by a job that did not record its OID gets this one.
	 */
	if ((rc = check_recreated(w, m, find_sync(w, m->schema, m->table))) != APPLY_OK ||
		(rc = learn_identity(w, m, find_sync(w, m->schema, m->table))) != APPLY_OK)
		return rc;

	/* a table the job lacks: a new one, or one of its own renamed? */
	if (find_sync(w, m->schema, m->table) < 0 && !w->xact.skip &&
		(rc = check_renamed(w, m, relmap_lookup(&w->relmap, m->relid))) != APPLY_OK)
		return rc;

	r = relmap_enter(&w->relmap, m->relid);
	r->schema = pg_strdup(m->schema);
	r->table = pg_strdup(m->table);
	r->replident = m->replica_identity ? m->replica_identity : 'd';

	/* a transaction applied before its commit makes no DDL, copies nothing */
	if (w->in_progress && find_sync(w, m->schema, m->table) < 0)
		return fail(w, APPLY_STOP, EXIT_APPLY, "table \"%s.%s\" was not copied by the job", m->schema, m->table);

	/*
	 * A table the job lacks joined the domain without an O message before
	 * (through ALTER TABLE ... INHERIT, or while no session was decoding):
	 * copy it in now.
	 */
	if (find_sync(w, m->schema, m->table) < 0 && !w->xact.skip &&
		(rc = join_table(w, m->schema, m->table)) != APPLY_OK)
		return rc;
	r->sync_lsn = (unsigned long long) -1;
	for (i = 0; i < w->sync->n; i++)
		if (strcmp(w->sync->schema[i], m->schema) == 0 && strcmp(w->sync->table[i], m->table) == 0)
			r->sync_lsn = w->sync->lsn[i];
	if (r->sync_lsn == (unsigned long long) -1)
		return fail(w, APPLY_STOP, EXIT_APPLY, "table \"%s.%s\" of domain \"%s\" was not copied by init (source commit LSN %s); it was probably added to the domain after init",
					m->schema, m->table, w->opts->domain, lsn_format(w->xact.commit_lsn, lsnbuf));

	qschema = job_quote_ident(w->conn, job_target_schema_for(w->opts, m->table));
	qtable = job_quote_ident(w->conn, m->table);
	r->qname = psprintf("%s.%s", qschema, qtable);
	pg_free(qschema);
	pg_free(qtable);

	/*
	 * The target's columns, with the source attnum the job recorded for each
	 * (migration_split_job.columns; NULL for a table copied by a job that
	 * did not record them).
	 */
	check_columns = identity_applies(w, find_sync(w, m->schema, m->table));
	params[0] = job_target_schema_for(w->opts, m->table);
	params[1] = m->table;
	params[2] = w->opts->domain;
	params[3] = m->schema;
	res = pipe_query(w, "SELECT a.attname, a.attgenerated <> '',"
					 " CASE WHEN t.typcategory <> 'A' THEN t.typarray ELSE 0 END,"
					 " CASE WHEN t.typcategory <> 'A' THEN t.typdelim ELSE ',' END,"
					 " CASE WHEN t.typcategory = 'A' AND NOT EXISTS (SELECT FROM pg_catalog.pg_cast k"
					 "  WHERE k.castsource = 'pg_catalog.text'::pg_catalog.regtype"
					 "  AND k.casttarget IN (t.oid, t.typbasetype))"
					 "  THEN pg_catalog.format_type(a.atttypid, NULL) END,"
					 " a.attidentity = 'a', sc.source_attnum, a.atttypid"
					 " FROM pg_catalog.pg_attribute a"
					 " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
					 " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					 " LEFT JOIN " MS_STATE_SCHEMA ".columns sc ON sc.domain = $3"
					 "  AND sc.source_schema = $4 AND sc.source_table = $2 AND sc.source_column = a.attname"
					 " WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
					 4, params, &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return fail(w, APPLY_STOP, EXIT_APPLY, "table %s does not exist on the target (changes of \"%s.%s\", source commit LSN %s)",
					r->qname, m->schema, m->table, lsn_format(w->xact.commit_lsn, lsnbuf));
	}

	/*
	 * A target column the source no longer sends, while the source sends one
	 * the target lacks, looks like a rename: adding the new column would send
	 * the data to another column than before.  Stop instead.
	 */
	for (j = 0; j < PQntuples(res); j++)
	{
		bool		in_source = PQgetvalue(res, j, 1)[0] == 't';	/* generated */
		bool		source_has_new = false;

		for (i = 0; i < m->ncolumns && !in_source; i++)
			if (m->columns[i].name && strcmp(m->columns[i].name, PQgetvalue(res, j, 0)) == 0)
				in_source = true;
		if (in_source)
			continue;
		for (i = 0; i < m->ncolumns; i++)
		{
			int			k;
			bool		found = false;

			for (k = 0; k < PQntuples(res); k++)
				if (m->columns[i].name && strcmp(m->columns[i].name, PQgetvalue(res, k, 0)) == 0)
					found = true;
			if (!found)
				source_has_new = true;
		}
		if (source_has_new)
		{
			char	   *col = pg_strdup(PQgetvalue(res, j, 0));

			PQclear(res);
			rc = fail(w, APPLY_STOP, EXIT_APPLY, "columns of table \"%s.%s\" changed on the source in a way that cannot be applied (source commit LSN %s): target column \"%s\" is gone and new columns appeared; a renamed column must be renamed on the target by hand",
					  m->schema, m->table, lsn_format(w->xact.commit_lsn, lsnbuf), col);
			pg_free(col);
			return rc;
		}
	}

	r->ncols = m->ncolumns;
	r->qcols = pg_malloc0(sizeof(char *) * (m->ncolumns + 1));
	r->skip = pg_malloc0(sizeof(bool) * (m->ncolumns + 1));
	r->always = pg_malloc0(sizeof(bool) * (m->ncolumns + 1));
	r->keypos = pg_malloc0(sizeof(int) * (m->ncolumns + 1));
	r->arraytype = pg_malloc0(sizeof(unsigned int) * (m->ncolumns + 1));
	r->binkind = pg_malloc0(sizeof(unsigned char) * (m->ncolumns + 1));
	r->delim = pg_malloc0(sizeof(char) * (m->ncolumns + 1));
	r->castname = pg_malloc0(sizeof(char *) * (m->ncolumns + 1));
	for (i = 0; i < m->ncolumns; i++)
	{
		MsgColumn  *c = &m->columns[i];
		bool		found = false;

		if (c->name == NULL || c->type == NULL)
		{
			PQclear(res);
			return fail(w, APPLY_STOP, EXIT_APPLY, "relation message for \"%s.%s\" has a column without name or type",
						m->schema, m->table);
		}
		r->qcols[i] = job_quote_ident(w->conn, c->name);
		for (j = 0; j < PQntuples(res); j++)
			if (strcmp(PQgetvalue(res, j, 0), c->name) == 0)
			{
				found = true;
				r->skip[i] = PQgetvalue(res, j, 1)[0] == 't';
				r->always[i] = PQgetvalue(res, j, 5)[0] == 't';
				r->arraytype[i] = (unsigned int) strtoul(PQgetvalue(res, j, 2), NULL, 10);
				r->delim[i] = PQgetvalue(res, j, 3)[0];
				/* the same built-in type on both sides: binary values */
				if (strtoul(PQgetvalue(res, j, 7), NULL, 10) == c->typoid)
					r->binkind[i] = (unsigned char) binparam_kind(c->typoid);
				if (!PQgetisnull(res, j, 4))
					r->castname[i] = pg_strdup(PQgetvalue(res, j, 4));
				if (check_columns && c->attnum > 0 && !PQgetisnull(res, j, 6) &&
					atoi(PQgetvalue(res, j, 6)) != c->attnum)
				{
					/*
					 * The column the job copied (or added) had another
					 * attnum on the source: it was dropped, and this one
					 * added under its name.  Its values in the target's rows
					 * are the dropped column's.
					 */
					PQclear(res);
					rc = fail(w, APPLY_STOP, EXIT_APPLY, "column \"%s\" of table \"%s.%s\" was dropped and added again on the source (source commit LSN %s)",
							  c->name, m->schema, m->table, lsn_format(w->xact.commit_lsn, lsnbuf));
					w->hint = READDED_HINT;
					return rc;
				}
			}
		if (!found && w->in_progress)
		{
			PQclear(res);
			return fail(w, APPLY_STOP, EXIT_APPLY, "table %s lacks column \"%s\"", r->qname, c->name);
		}
		if (!found && c->missing == NULL && c->rewritten)
		{
			/*
			 * A rewrite of the table gave the rows that existed values in
			 * this column (a volatile default, a serial or identity column,
			 * or a rewrite after it was added with a constant default): no
			 * change in the stream carries them.
			 */
			PQclear(res);
			rc = fail(w, APPLY_STOP, EXIT_APPLY, "column \"%s\" was added to table \"%s.%s\" on the source, and an ALTER TABLE that rewrote the table gave the existing rows values in it (source commit LSN %s): those values are not in the stream",
					  c->name, m->schema, m->table, lsn_format(w->xact.commit_lsn, lsnbuf));
			w->hint = "A column added with a volatile default (random(), gen_random_uuid(), clock_timestamp(), serial, an identity column) rewrites the table, as does ALTER COLUMN ... TYPE; a rewrite is not decoded. Run \"migration-split init --drop\" to copy the domain as it is now.";
			return rc;
		}
		if (!found)
		{
			/*
			 * A column added on the source: add it here, in this batch.  When
			 * the source added it with a constant default, the rows that
			 * existed then have that value (c->missing) without any change
			 * in the stream: the target's rows get it the same way, through a
			 * default that is dropped again at once (the target's later rows
			 * get their values from the stream).
			 */
			char	   *lit = c->missing ? job_quote_literal(w->conn, c->missing) : NULL;
			char	   *sql = psprintf("ALTER TABLE %s ADD COLUMN %s %s%s%s", r->qname, r->qcols[i], c->type,
									   lit ? " DEFAULT " : "", lit ? lit : "");
			PGresult   *ares;

			pg_free(lit);

			if ((rc = commit_before_alter(w, r)) != APPLY_OK ||
				(rc = begin_batch(w)) != APPLY_OK)
			{
				PQclear(res);
				pg_free(sql);
				return rc;
			}
			w->xact.sent = true;
			ares = pipe_query(w, sql, 0, NULL, &rc);
			if (ares != NULL && c->missing)
			{
				PQclear(ares);
				pg_free(sql);
				sql = psprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", r->qname, r->qcols[i]);
				ares = pipe_query(w, sql, 0, NULL, &rc);
			}
			if (ares == NULL)
			{
				PQclear(res);
				pg_free(sql);
				return fail(w, rc, w->exit_code, "could not add column \"%s\" (%s) to table %s (source commit LSN %s): %s",
							c->name, c->type, r->qname, lsn_format(w->xact.commit_lsn, lsnbuf), w->error);
			}
			PQclear(ares);
			if (c->attnum > 0)
			{
				/* its source identity, in the same target transaction */
				char		attnum[16];
				const char *ip[5] = {w->opts->domain, m->schema, m->table, c->name, attnum};

				snprintf(attnum, sizeof(attnum), "%d", c->attnum);
				ares = pipe_query(w, "INSERT INTO " MS_STATE_SCHEMA ".columns"
								  " (domain, source_schema, source_table, source_column, source_attnum)"
								  " VALUES ($1, $2, $3, $4, $5)"
								  " ON CONFLICT (domain, source_schema, source_table, source_column)"
								  " DO UPDATE SET source_attnum = EXCLUDED.source_attnum",
								  5, ip, &rc);
				if (ares == NULL)
				{
					PQclear(res);
					pg_free(sql);
					return fail(w, rc, w->exit_code, "could not record column \"%s\" of table %s in the job's state (source commit LSN %s): %s",
								c->name, r->qname, lsn_format(w->xact.commit_lsn, lsnbuf), w->error);
				}
				PQclear(ares);
			}
			if (c->missing)
				pg_log_info("added column %s %s to table %s, with the value the rows that existed then have on the source%s%s (source commit LSN %s)",
							r->qcols[i], c->type, r->qname,
							strlen(c->missing) <= 64 ? ": " : "",
							strlen(c->missing) <= 64 ? c->missing : "",
							lsn_format(w->xact.commit_lsn, lsnbuf));
			else
				pg_log_info("added column %s %s to table %s (source commit LSN %s)",
							r->qcols[i], c->type, r->qname, lsn_format(w->xact.commit_lsn, lsnbuf));
			pg_free(sql);
		}
		if (c->key)
			r->keypos[r->nkey++] = i;
		if (!r->skip[i])
			r->nsent++;
	}
	rc = learn_columns(w, m, res);
	PQclear(res);
	if (rc != APPLY_OK)
		return rc;
	/*
	 * Runs of deletes send their keys as one array of the key's type: not
	 * for a key that is an array itself ("integer[][]" is "integer[]", whose
	 * elements are no arrays).
	 */
	if (r->nkey == 1 && r->replident != 'f' && r->arraytype[r->keypos[0]] != 0)
		r->keytype = pg_strdup(m->columns[r->keypos[0]].type);
	r->ins_unnest = true;
	for (i = 0; i < r->ncols; i++)
		if (!r->skip[i] && r->arraytype[i] == 0)
			r->ins_unnest = false;
	if ((rc = key_operators(w, r, m)) != APPLY_OK)
		return rc;
	return relation_conflict_scope(w, r, m);
}

/*
 * Whether what the current transaction's messages say about table i of the
 * job (-1: none) is the table the target holds: not for a transaction
 * applied before, nor for one that committed before the table's copy (it
 * is in the copy, or was of an earlier table of that name: the copy holds
 * the later one).  A transaction applied before its commit (live.c) is: it
 * commits after every copy it may touch.
 */
static bool
identity_in_force(ApplyWorker *w, int i)
{
	if (i < 0 || w->xact.skip)
		return false;
	return w->in_progress || w->xact.commit_lsn >= w->sync->lsn[i];
}

/*
 * Whether the source identity of table i of the job is compared with the
 * messages of the current transaction: as above, once the job has it
 * (source_relid not NULL).
 */
static bool
identity_applies(ApplyWorker *w, int i)
{
	return identity_in_force(w, i) && w->sync->relid[i] != 0;
}

/*
 * Table i of the job was copied by a job that did not record its source
 * OID (a state from before): record the one of this R, so that a table
 * dropped and created again from now on is noticed (one before is not).
 * What R says is a fact about the source at this transaction's commit,
 * whether or not the batch holding the UPDATE commits: a session that
 * receives the transaction again learns the same.
 */
static ApplyResult
learn_identity(ApplyWorker *w, Message *m, int i)
{
	PGresult   *res;
	ApplyResult rc;
	char		relid[16];
	const char *params[4];

	if (!identity_in_force(w, i) || w->in_progress || w->sync->relid[i] != 0 || m->relid == 0)
		return APPLY_OK;
	snprintf(relid, sizeof(relid), "%u", m->relid);
	params[0] = w->opts->domain;
	params[1] = m->schema;
	params[2] = m->table;
	params[3] = relid;
	res = pipe_query(w, "UPDATE " MS_STATE_SCHEMA ".tables SET source_relid = $4"
					 " WHERE domain = $1 AND source_schema = $2 AND source_table = $3"
					 " AND source_relid IS NULL",
					 4, params, &rc);
	if (res == NULL)
		return rc;
	PQclear(res);
	w->sync->relid[i] = m->relid;
	return APPLY_OK;
}

/*
 * The columns of R that the target's table has (tcols: apply_relation's
 * query, the recorded attnum in its column 6) without a recorded source
 * attnum, copied by a job that did not record them: record the attnum of
 * this R, as learn_identity does for the table.
 */
static ApplyResult
learn_columns(ApplyWorker *w, Message *m, const PGresult *tcols)
{
	PQExpBufferData names;
	PQExpBufferData attnums;
	PGresult   *res;
	ApplyResult rc = APPLY_OK;
	const char *params[5];
	int			n = 0;
	int			i,
				j;

	if (!identity_in_force(w, find_sync(w, m->schema, m->table)) || w->in_progress)
		return APPLY_OK;
	initPQExpBuffer(&names);
	initPQExpBuffer(&attnums);
	for (i = 0; i < m->ncolumns; i++)
	{
		if (m->columns[i].attnum <= 0)
			continue;
		for (j = 0; j < PQntuples(tcols); j++)
			if (strcmp(PQgetvalue(tcols, j, 0), m->columns[i].name) == 0 &&
				PQgetisnull(tcols, j, 6))
			{
				appendPQExpBufferChar(&names, n > 0 ? ',' : '{');
				appendPQExpBufferChar(&attnums, n > 0 ? ',' : '{');
				job_append_array_elem(&names, m->columns[i].name);
				appendPQExpBuffer(&attnums, "%d", m->columns[i].attnum);
				n++;
			}
	}
	if (n > 0)
	{
		appendPQExpBufferChar(&names, '}');
		appendPQExpBufferChar(&attnums, '}');
		params[0] = w->opts->domain;
		params[1] = m->schema;
		params[2] = m->table;
		params[3] = names.data;
		params[4] = attnums.data;
		res = pipe_query(w, "INSERT INTO " MS_STATE_SCHEMA ".columns"
						 " (domain, source_schema, source_table, source_column, source_attnum)"
						 " SELECT $1, $2, $3, c, n"
						 " FROM ROWS FROM (pg_catalog.unnest($4::pg_catalog.name[]),"
						 " pg_catalog.unnest($5::pg_catalog.int2[])) AS u(c, n)"
						 " ON CONFLICT (domain, source_schema, source_table, source_column) DO NOTHING",
						 5, params, &rc);
		PQclear(res);
	}
	termPQExpBuffer(&names);
	termPQExpBuffer(&attnums);
	return rc;
}

/*
 * R or O of table i of the job (-1: none): a relid other than the one the
 * job copied is a table dropped and created again on the source under the
 * same name (and tagged again).  Taking it for the table the job has would
 * leave the old table's rows on the target and apply the new one's changes
 * on top of them: stop instead.
 */
static ApplyResult
check_recreated(ApplyWorker *w, Message *m, int i)
{
	char		lsnbuf[32];
	ApplyResult rc;

	if (!identity_applies(w, i) || m->relid == 0 || m->relid == w->sync->relid[i])
		return APPLY_OK;
	rc = fail(w, APPLY_STOP, EXIT_APPLY, "table \"%s.%s\" of the job was dropped and created again on the source (source commit LSN %s)",
			  m->schema, m->table, lsn_format(w->xact.commit_lsn, lsnbuf));
	w->hint = RECREATED_HINT;
	return rc;
}

/*
 * R names a table the job does not have.  If it is a table of the job
 * renamed (or moved to another schema) on the source, copying it in as a
 * new table would leave the old one on the target with rows that no
 * longer change, and the stream would go on without a word: stop instead.
 * A rename is certain when this session knew the relation (old) under
 * another name.  Otherwise the source is asked whether every table of the
 * job still exists under its name: one that does not was renamed or
 * dropped, and the new name is most probably its new name (a table that
 * joins the domain by inheritance, the other way to get here, while a
 * table of the job is gone, stops the job too; init --drop helps both).
 */
static ApplyResult
check_renamed(ApplyWorker *w, Message *m, const ApplyRel *old)
{
	PGconn	   *src;
	PGresult   *res;
	PQExpBufferData schemas;
	PQExpBufferData tables;
	const char *params[2];
	char		lsnbuf[32];
	ApplyResult rc = APPLY_OK;
	int			i;

	if (old != NULL && old->schema && old->table &&
		find_sync(w, old->schema, old->table) >= 0)
	{
		rc = fail(w, APPLY_STOP, EXIT_APPLY, "table \"%s.%s\" was renamed to \"%s.%s\" on the source (source commit LSN %s)",
				  old->schema, old->table, m->schema, m->table,
				  lsn_format(w->xact.commit_lsn, lsnbuf));
		w->hint = RENAME_HINT;
		return rc;
	}
	if (w->sync->n == 0)
		return APPLY_OK;

	src = job_connect(w->opts->source, "source", false, false);
	if (src == NULL)
		return fail(w, APPLY_RECONNECT, 0, "could not connect to the source to look up table \"%s.%s\"",
					m->schema, m->table);
	initPQExpBuffer(&schemas);
	initPQExpBuffer(&tables);
	appendPQExpBufferChar(&schemas, '{');
	appendPQExpBufferChar(&tables, '{');
	for (i = 0; i < w->sync->n; i++)
	{
		if (i > 0)
		{
			appendPQExpBufferChar(&schemas, ',');
			appendPQExpBufferChar(&tables, ',');
		}
		job_append_array_elem(&schemas, w->sync->schema[i]);
		job_append_array_elem(&tables, w->sync->table[i]);
	}
	appendPQExpBufferChar(&schemas, '}');
	appendPQExpBufferChar(&tables, '}');
	params[0] = schemas.data;
	params[1] = tables.data;
	res = PQexecParams(src,
					   "SELECT s, t FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]),"
					   " pg_catalog.unnest($2::pg_catalog.text[])) AS x(s, t)"
					   " WHERE pg_catalog.to_regclass(pg_catalog.quote_ident(s) OPERATOR(pg_catalog.||) '.'"
					   " OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t)) IS NULL"
					   " ORDER BY s, t LIMIT 1",
					   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = fail(w, PQstatus(src) == CONNECTION_BAD ? APPLY_RECONNECT : APPLY_STOP, EXIT_SERVER,
				  "could not look up the tables of the job on the source: %s", job_error(src));
	else if (PQntuples(res) > 0)
	{
		rc = fail(w, APPLY_STOP, EXIT_APPLY, "table \"%s.%s\" is not among the tables the job copied, and table \"%s.%s\" of the job no longer exists on the source: it was renamed or dropped (source commit LSN %s)",
				  m->schema, m->table, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
				  lsn_format(w->xact.commit_lsn, lsnbuf));
		w->hint = RENAME_HINT;
	}
	PQclear(res);
	PQfinish(src);
	termPQExpBuffer(&schemas);
	termPQExpBuffer(&tables);
	return rc;
}

/*
 * The equality operator of each key column, schema-qualified, into
 * r->keyop: the one of the btree operator family of the target's unique
 * index on the key (the primary key, else the replica identity index, else
 * any other), which is the operator that index enforces uniqueness with and
 * can be searched by.  An unqualified "=" would be resolved through the
 * apply session's search_path, the target schema: there, a role that may
 * create objects in that schema could define an "=" for a type of the
 * schema (an enum, a domain) that matches better than pg_catalog's
 * polymorphic one, and have its function run with the job's rights.
 *
 * Every column also gets one in r->colop, for keys without such an index on
 * the target (a key dropped there; the unique index of a partition with a
 * replica identity of its own, which the target's one table lacks): the
 * equality operator of the default btree operator class of the column's
 * type (of a domain's base type), else OPERATOR(pg_catalog.=), which
 * resolves pg_catalog's polymorphic operators (enums, arrays, composite
 * types, ranges) and those of types binary-coercible to a built-in one.
 *
 * r->key_image: that index exists, each key column has the source's type
 * (the same OID: a built-in type), and its operator class's equalimage
 * function says equal values are equal images (btequalimage, or
 * btvarstrequalimage under a deterministic collation; the functions are
 * compared by name, none is called).  Then two keys are one row on the
 * target if and only if their text is the same.
 */
static ApplyResult
key_operators(ApplyWorker *w, ApplyRel *r, Message *m)
{
	PGresult   *res;
	ApplyResult rc;
	const char *params[2];
	int			i,
				k;

	params[0] = job_target_schema_for(w->opts, m->table);
	params[1] = m->table;
	r->colop = pg_malloc0(sizeof(char *) * (r->ncols + 1));
	res = pipe_query(w, "SELECT a.attname,"
					 " (SELECT pg_catalog.format('OPERATOR(%I.%s)', n.nspname, o.oprname)"
					 "  FROM pg_catalog.pg_opclass oc"
					 "  JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'"
					 "  JOIN pg_catalog.pg_amop ao ON ao.amopfamily = oc.opcfamily AND ao.amopstrategy = 3"
					 "   AND ao.amoplefttype = oc.opcintype AND ao.amoprighttype = oc.opcintype"
					 "  JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr"
					 "  JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"
					 "  WHERE oc.opcdefault"
					 "   AND oc.opcintype = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
					 "  ORDER BY oc.oid LIMIT 1)"
					 " FROM pg_catalog.pg_attribute a"
					 " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
					 " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
					 " JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace"
					 " WHERE cn.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
					 2, params, &rc);
	if (res == NULL)
		return rc;
	for (i = 0; i < r->ncols; i++)
	{
		int			j;

		for (j = 0; j < PQntuples(res) && r->colop[i] == NULL; j++)
			if (m->columns[i].name && strcmp(PQgetvalue(res, j, 0), m->columns[i].name) == 0 &&
				!PQgetisnull(res, j, 1))
				r->colop[i] = pg_strdup(PQgetvalue(res, j, 1));
		if (r->colop[i] == NULL)
			r->colop[i] = pg_strdup("OPERATOR(pg_catalog.=)");
	}
	PQclear(res);

	r->keyop = pg_malloc0(sizeof(char *) * (r->nkey + 1));
	for (k = 0; k < r->nkey; k++)
		r->keyop[k] = pg_strdup(r->colop[r->keypos[k]]);
	if (r->nkey == 0 || r->replident == 'f')
		return APPLY_OK;
	res = pipe_query(w, "SELECT i.indexrelid, i.indnkeyatts, a.attname,"
					 " pg_catalog.format('OPERATOR(%I.%s)', n.nspname, o.oprname),"
					 " a.atttypid,"
					 " COALESCE((SELECT p.amproc OPERATOR(pg_catalog.=) 'pg_catalog.btequalimage'::pg_catalog.regproc"
					 "   OR (p.amproc OPERATOR(pg_catalog.=) 'pg_catalog.btvarstrequalimage'::pg_catalog.regproc"
					 "    AND COALESCE((SELECT co.collisdeterministic FROM pg_catalog.pg_collation co"
					 "     WHERE co.oid OPERATOR(pg_catalog.=) i.indcollation[x.k]), true))"
					 "  FROM pg_catalog.pg_amproc p WHERE p.amprocfamily OPERATOR(pg_catalog.=) oc.opcfamily"
					 "   AND p.amproclefttype OPERATOR(pg_catalog.=) oc.opcintype"
					 "   AND p.amprocrighttype OPERATOR(pg_catalog.=) oc.opcintype AND p.amprocnum OPERATOR(pg_catalog.=) 4), false)"
					 " FROM pg_catalog.pg_index i"
					 " JOIN pg_catalog.pg_class c ON c.oid = i.indrelid"
					 " JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace"
					 " CROSS JOIN LATERAL pg_catalog.generate_series(0, i.indnkeyatts - 1) AS x(k)"
					 " JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[x.k]"
					 " JOIN pg_catalog.pg_opclass oc ON oc.oid = i.indclass[x.k]"
					 " JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'"
					 " JOIN pg_catalog.pg_amop ao ON ao.amopfamily = oc.opcfamily AND ao.amopstrategy = 3"
					 "  AND ao.amoplefttype = oc.opcintype AND ao.amoprighttype = oc.opcintype"
					 " JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"
					 " WHERE cn.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indisvalid"
					 "  AND i.indpred IS NULL AND i.indexprs IS NULL"
					 " ORDER BY i.indisprimary DESC, i.indisreplident DESC, i.indexrelid, x.k",
					 2, params, &rc);
	if (res == NULL)
		return rc;

	/* the first index (in that order) whose columns are exactly the key's */
	for (i = 0; i < PQntuples(res);)
	{
		const char *index = PQgetvalue(res, i, 0);
		int			ncols = atoi(PQgetvalue(res, i, 1));
		int			end = i;
		int			matched = 0;

		while (end < PQntuples(res) && strcmp(PQgetvalue(res, end, 0), index) == 0)
			end++;
		if (end - i == ncols && ncols == r->nkey)
		{
			for (k = 0; k < r->nkey; k++)
			{
				int			j;

				for (j = i; j < end; j++)
					if (strcmp(PQgetvalue(res, j, 2), m->columns[r->keypos[k]].name) == 0)
					{
						matched++;
						break;
					}
			}
		}
		if (matched == r->nkey)
		{
			r->key_image = true;
			for (k = 0; k < r->nkey; k++)
			{
				int			j;

				for (j = i; j < end; j++)
					if (strcmp(PQgetvalue(res, j, 2), m->columns[r->keypos[k]].name) == 0)
					{
						pg_free(r->keyop[k]);
						r->keyop[k] = pg_strdup(PQgetvalue(res, j, 3));
						if (strtoul(PQgetvalue(res, j, 4), NULL, 10) != m->columns[r->keypos[k]].typoid ||
							PQgetvalue(res, j, 5)[0] != 't')
							r->key_image = false;
					}
			}
			break;
		}
		i = end;
	}
	PQclear(res);
	return APPLY_OK;
}

/*
 * Whether the key of r names every row a change of r can conflict with on
 * the target; if not, r->table_level.  The coordinator (which reads the
 * relation map of worker 0) lets transactions on different workers touch
 * the same table only when their keys differ, and a worker sends the runs
 * of a table in any order when their keys differ (run_parkable), which is
 * safe when the key is the only unique index and two keys of different
 * text are different rows: another unique index, an exclusion constraint,
 * replica identity full, no key at all, or a key without image equality
 * (r->key_image, key_operators) would let two changes with different keys
 * conflict (or wait for each other) on the target.  Another unique index or
 * an exclusion constraint also sets r->other_unique, which every worker
 * needs (update_statement).
 */
static ApplyResult
relation_conflict_scope(ApplyWorker *w, ApplyRel *r, Message *m)
{
	PGresult   *res;
	ApplyResult rc;
	const char *params[2];
	int			i,
				k;

	r->table_level = (r->nkey == 0 || r->replident == 'f');
	r->other_unique = false;
	if (r->table_level)
		return APPLY_OK;
	params[0] = job_target_schema_for(w->opts, m->table);
	params[1] = m->table;
	res = pipe_query(w, "SELECT i.indisexclusion OR i.indpred IS NOT NULL OR i.indexprs IS NOT NULL,"
					 " pg_catalog.array_to_string(ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a"
					 "  WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])), chr(1))"
					 " FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					 " WHERE n.nspname = $1 AND c.relname = $2 AND (i.indisunique OR i.indisexclusion)",
					 2, params, &rc);
	if (res == NULL)
		return rc;
	for (i = 0; i < PQntuples(res) && !r->table_level; i++)
	{
		char	   *cols = PQgetvalue(res, i, 1);
		int			ncols = 1;
		char	   *c;

		if (PQgetvalue(res, i, 0)[0] == 't')
		{
			r->table_level = r->other_unique = true;
			break;
		}
		for (c = cols; *c; c++)
			if (*c == '\001')
				ncols++;
		/* the same set of columns as the key: the key's own index */
		if (ncols != r->nkey)
		{
			r->table_level = r->other_unique = true;
			break;
		}
		for (k = 0; k < r->nkey; k++)
		{
			const char *name = m->columns[r->keypos[k]].name;
			size_t		len = strlen(name);
			bool		found = false;

			for (c = cols; c && *c;)
			{
				char	   *end = strchr(c, '\001');
				size_t		l = end ? (size_t) (end - c) : strlen(c);

				if (l == len && strncmp(c, name, len) == 0)
					found = true;
				c = end ? end + 1 : NULL;
			}
			if (!found)
				r->table_level = r->other_unique = true;
		}
	}
	PQclear(res);
	/* other_unique is known first: update_statement needs it either way */
	if (!r->key_image)
		r->table_level = true;
	return APPLY_OK;
}

/*
 * WHERE clause matching the key parameters starting at $first.
 *
 * Under replica identity full the old row is every column, and the target
 * row must be one whose every value is the one the source had, not merely
 * equal to it by the type's equality: numeric 1.0 equals 1.00, float 0
 * equals -0, citext 'Bob' equals 'bob', and types such as json, xml and
 * point have no equality operator at all.  So the row's text, as the
 * columns' output functions write it (record_out, through the cast of the
 * row to text; no column is cast to text on its own, which for bpchar or
 * inet is not its output), is compared with the text of the values the
 * source sent, byte for byte.  Both sides write values with the same pinned
 * settings (conn.c), so the same value has the same text.
 */
static void
append_where(ApplyWorker *w, PQExpBuffer buf, ApplyRel *r, int first)
{
	int			k;

	if (r->replident == 'f')
	{
		/* no unique key: change one of the identical rows */
		appendPQExpBuffer(buf, " WHERE ctid OPERATOR(pg_catalog.=) (SELECT ctid FROM %s WHERE ROW(", r->qname);
		for (k = 0; k < r->nkey; k++)
			appendPQExpBuffer(buf, "%s%s", k ? ", " : "", r->qcols[r->keypos[k]]);
		appendPQExpBufferStr(buf, ")::pg_catalog.text COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) ROW(");
		for (k = 0; k < r->nkey; k++)
			appendPQExpBuffer(buf, "%s$%d::pg_catalog.text", k ? ", " : "", first + k);
		appendPQExpBufferStr(buf, ")::pg_catalog.text LIMIT 1)");
		return;
	}
	appendPQExpBufferStr(buf, " WHERE ");
	for (k = 0; k < r->nkey; k++)
		appendPQExpBuffer(buf, "%s%s %s $%d", k ? " AND " : "", r->qcols[r->keypos[k]],
						  r->keyop[k], first + k);
}

/*
 * Prepare a statement of relation r, with the types of its first n
 * parameters (0: inferred); its failure names the table and the change it
 * was prepared for.
 */
static ApplyResult
prepare_typed(ApplyWorker *w, ApplyRel *r, const char *name, const char *sql,
			  int n, const Oid *types)
{
	int			ok = PQsendPrepare(w->conn, name, sql, n, types);

	queue(w, 'P', false, r);
	return send_ok(w, ok);
}

/* The same, every parameter's type inferred. */
static ApplyResult
prepare(ApplyWorker *w, ApplyRel *r, const char *name, const char *sql)
{
	return prepare_typed(w, r, name, sql, 0, NULL);
}

/* "INSERT INTO table (its sent columns) OVERRIDING SYSTEM VALUE " */
static void
append_insert_head(PQExpBuffer sql, ApplyRel *r)
{
	int			i;
	int			k = 0;

	appendPQExpBuffer(sql, "INSERT INTO %s (", r->qname);
	for (i = 0; i < r->ncols; i++)
		if (!r->skip[i])
			appendPQExpBuffer(sql, "%s%s", k++ ? ", " : "", r->qcols[i]);
	appendPQExpBufferStr(sql, ") OVERRIDING SYSTEM VALUE ");
}

/*
 * The declared types of an INSERT's parameters, nrows rows of r's sent
 * columns: a column whose values may go in binary has its parameters
 * declared with the source's type (binparam.c), others are inferred from
 * the column as before.  Allocated; the caller frees it.
 */
static Oid *
insert_param_types(ApplyRel *r, int nrows)
{
	Oid		   *types = pg_malloc(sizeof(Oid) * Max(nrows * r->nsent, 1));
	int			k = 0;
	int			i,
				j;

	for (j = 0; j < nrows; j++)
		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i])
				types[k++] = binparam_typoid((BinKind) r->binkind[i]);
	return types;
}

/* Empty the worker's parameter set for a statement of n parameters. */
static ParamSet *
params_reset(ApplyWorker *w, int n)
{
	ParamSet   *ps = &w->params;

	if (n > ps->cap)
	{
		ps->cap = Max(n, 64);
		ps->values = pg_realloc(ps->values, sizeof(char *) * ps->cap);
		ps->lengths = pg_realloc(ps->lengths, sizeof(int) * ps->cap);
		ps->formats = pg_realloc(ps->formats, sizeof(int) * ps->cap);
		ps->offsets = pg_realloc(ps->offsets, sizeof(size_t) * ps->cap);
	}
	if (ps->bin.data == NULL)
		initPQExpBuffer(&ps->bin);
	else
		resetPQExpBuffer(&ps->bin);
	ps->n = 0;
	ps->any_binary = false;
	return ps;
}

/* Free the worker's parameter set. */
static void
params_free(ApplyWorker *w)
{
	ParamSet   *ps = &w->params;

	pg_free(ps->values);
	pg_free(ps->lengths);
	pg_free(ps->formats);
	pg_free(ps->offsets);
	if (ps->bin.data)
		termPQExpBuffer(&ps->bin);
	memset(ps, 0, sizeof(ParamSet));
}

/*
 * Add a value of kind (NULL: SQL null): in binary when binparam.c converts
 * it, else its text, which the caller keeps until the statement is sent.
 */
static void
params_add(ParamSet *ps, BinKind kind, const char *value)
{
	int			k = ps->n++;
	size_t		start = ps->bin.len;

	ps->values[k] = value;
	ps->lengths[k] = 0;
	ps->formats[k] = 0;
	ps->offsets[k] = (size_t) -1;
	if (value != NULL && kind != BIN_NONE && binparam_append(&ps->bin, kind, value))
	{
		ps->formats[k] = 1;
		ps->offsets[k] = start;
		ps->lengths[k] = (int) (ps->bin.len - start);
		ps->any_binary = true;
	}
}

/*
 * Add a one-dimensional array of n values of kind, the i-th at
 * vals[i * stride]: in binary when every value converts, else as the text
 * of an array literal (elements quoted, separated by delim, NULL for a
 * null), which array_in reads.
 */
static void
params_add_array(ParamSet *ps, BinKind kind, const char *const *vals, int n,
				 int stride, char delim)
{
	int			k = ps->n++;
	size_t		start = ps->bin.len;
	int			i;

	ps->offsets[k] = start;
	ps->values[k] = NULL;
	if (kind != BIN_NONE && binparam_array(&ps->bin, kind, vals, n, stride))
	{
		ps->formats[k] = 1;
		ps->lengths[k] = (int) (ps->bin.len - start);
		ps->any_binary = true;
		return;
	}
	appendPQExpBufferChar(&ps->bin, '{');
	for (i = 0; i < n; i++)
	{
		const char *v = vals[i * stride];

		if (i)
			appendPQExpBufferChar(&ps->bin, delim);
		if (v == NULL)
			appendPQExpBufferStr(&ps->bin, "NULL");
		else
			job_append_array_elem(&ps->bin, v);
	}
	appendPQExpBufferStr(&ps->bin, "}");
	appendPQExpBufferChar(&ps->bin, '\0');	/* the text's end, kept */
	ps->formats[k] = 0;
	ps->lengths[k] = 0;
}

/*
 * Send the prepared statement name with the parameter set (values added
 * to bin are only placed now: bin may have moved while it grew).
 */
static int
params_send(ApplyWorker *w, const char *name)
{
	ParamSet   *ps = &w->params;
	int			k;

	if (PQExpBufferBroken(&ps->bin))
		pg_fatal("out of memory");
	for (k = 0; k < ps->n; k++)
		if (ps->offsets[k] != (size_t) -1)
			ps->values[k] = ps->bin.data + ps->offsets[k];
	return PQsendQueryPrepared(w->conn, name, ps->n, ps->values, ps->lengths,
							   ps->any_binary ? ps->formats : NULL, 0);
}

/* How many of the set's parameters are in binary (for -v). */
static int
params_binary(const ParamSet *ps)
{
	int			n = 0;
	int			k;

	for (k = 0; k < ps->n; k++)
		n += ps->formats[k];
	return n;
}

/* Send the prepared INSERT name with nrows rows of r's sent columns. */
static int
send_insert(ApplyWorker *w, ApplyRel *r, const char *name, int nrows,
			const char *const *vals)
{
	ParamSet   *ps = params_reset(w, nrows * r->nsent);
	int			k = 0;
	int			i,
				j;

	for (j = 0; j < nrows; j++)
		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i])
				params_add(ps, (BinKind) r->binkind[i], vals[k++]);
	return params_send(w, name);
}

/* the run being collected */

/* values per row of the run */
static int
run_width(ApplyWorker *w)
{
	if (w->run.rel == NULL)
		return 1;
	if (w->run.action == 'I')
		return w->run.rel->nsent;
	if (w->run.action == 'U')
		return w->run.upd->width;
	return 1;
}

/* forget the run being collected, freeing its values */
static void
run_discard(ApplyWorker *w)
{
	int			i;
	int			width = run_width(w);

	for (i = 0; i < w->run.n * width; i++)
		pg_free(w->run.vals[i]);
	w->run.n = 0;
	w->run.rel = NULL;
	w->run.upd = NULL;
}

static void
run_swap(Coalescer *a, Coalescer *b)
{
	Coalescer	t = *a;

	*a = *b;
	*b = t;
}

/* forget every open run (the batch is given up) */
static void
run_discard_all(ApplyWorker *w)
{
	int			i;

	run_discard(w);
	for (i = 0; i < RUN_PARKED; i++)
	{
		run_swap(&w->run, &w->parked[i]);
		run_discard(w);
		run_swap(&w->run, &w->parked[i]);
	}
}

static ApplyResult apply_insert_one(ApplyWorker *w, ApplyRel *r, const char *const *vals);

static ApplyResult apply_delete_one(ApplyWorker *w, ApplyRel *r, const char *const *keys);

static ApplyResult apply_update_one(ApplyWorker *w, ApplyRel *r, UpdStmt *u,
								   const char *const *vals);

static ApplyResult run_flush_update(ApplyWorker *w, ApplyRel *r, UpdStmt *u,
									unsigned long long last_lsn);
static ApplyResult run_flush(ApplyWorker *w);

/*
 * Send the run being collected as one statement.
 */
static ApplyResult
run_send(ApplyWorker *w)
{
	ApplyRel   *r = w->run.rel;
	int			n = w->run.n;
	int			rc;
	int			i,
				j;
	char		name[64];
	unsigned long long save_lsn = w->xact.commit_lsn;
	unsigned long long save_xid = w->xact.xid;
	Pending    *p;

	if (n == 0)
		return APPLY_OK;

	/* the queued statement is described by the run's first change */
	w->xact.commit_lsn = w->run.first_lsn;
	w->xact.xid = w->run.first_xid;

	if (n == 1 && w->run.action == 'U')
		rc = apply_update_one(w, r, w->run.upd, (const char *const *) w->run.vals);
	else if (n == 1)
	{
		rc = w->run.action == 'I' ? apply_insert_one(w, r, (const char *const *) w->run.vals)
			: apply_delete_one(w, r, (const char *const *) w->run.vals);
	}
	else if (w->run.action == 'U')
		rc = run_flush_update(w, r, w->run.upd, w->run.last_lsn);
	else if (w->run.action == 'I' && r->ins_unnest)
	{
		snprintf(name, sizeof(name), "iu%d", r->version);
		rc = APPLY_OK;
		if (!r->ins_unnest_ready)
		{
			PQExpBufferData sql;
			Oid		   *types = pg_malloc(sizeof(Oid) * r->nsent);
			int			k = 0;

			initPQExpBuffer(&sql);
			append_insert_head(&sql, r);
			appendPQExpBufferStr(&sql, "SELECT ");
			for (i = 0; i < r->ncols; i++)
				if (!r->skip[i])
				{
					types[k] = r->arraytype[i];
					appendPQExpBuffer(&sql, "%spg_catalog.unnest($%d)", k ? ", " : "", k + 1);
					k++;
				}
			rc = prepare_typed(w, r, name, sql.data, r->nsent, types);
			pg_free(types);
			termPQExpBuffer(&sql);
			r->ins_unnest_ready = (rc == APPLY_OK);
		}
		if (rc == APPLY_OK)
		{
			ParamSet   *ps = params_reset(w, r->nsent);
			int			k = 0;

			for (i = 0; i < r->ncols; i++)
				if (!r->skip[i])
				{
					params_add_array(ps, (BinKind) r->binkind[i], (const char *const *) &w->run.vals[k],
									 n, r->nsent, r->delim[i]);
					k++;
				}
			rc = params_send(w, name);
			pg_log_debug("worker %d: %d inserts of table \"%s.%s\" in one statement (%d of %d parameters in binary)",
						 w->id, n, r->schema, r->table, params_binary(ps), ps->n);
			queue(w, 'I', 0, r);
			p = last_pending(w);
			p->nrows = n;
			p->last_lsn = w->run.last_lsn;
			rc = send_ok(w, rc);
		}
	}
	else if (w->run.action == 'I')
	{
		snprintf(name, sizeof(name), "i%d_%d", r->version, n);
		rc = APPLY_OK;
		if (!r->ins_run_ready[n])
		{
			PQExpBufferData sql;
			Oid		   *types;
			int			k = 0;

			initPQExpBuffer(&sql);
			append_insert_head(&sql, r);
			appendPQExpBufferStr(&sql, "VALUES ");
			for (j = 0; j < n; j++)
			{
				appendPQExpBuffer(&sql, "%s(", j ? ", " : "");
				for (i = 0; i < r->nsent; i++, k++)
					appendPQExpBuffer(&sql, "%s$%d", i ? ", " : "", k + 1);
				appendPQExpBufferChar(&sql, ')');
			}
			types = insert_param_types(r, n);
			rc = prepare_typed(w, r, name, sql.data, n * r->nsent, types);
			pg_free(types);
			termPQExpBuffer(&sql);
			r->ins_run_ready[n] = (rc == APPLY_OK);
		}
		if (rc == APPLY_OK)
		{
			rc = send_insert(w, r, name, n, (const char *const *) w->run.vals);
			pg_log_debug("worker %d: %d inserts of table \"%s.%s\" in one statement (%d of %d parameters in binary)",
						 w->id, n, r->schema, r->table, params_binary(&w->params), w->params.n);
			queue(w, 'I', 0, r);
			p = last_pending(w);
			p->nrows = n;
			p->last_lsn = w->run.last_lsn;
			rc = send_ok(w, rc);
		}
	}
	else
	{
		int			key = r->keypos[0];
		BinKind		kind = (BinKind) r->binkind[key];

		snprintf(name, sizeof(name), "da%d", r->version);
		rc = APPLY_OK;
		if (!r->del_run_ready)
		{
			char	   *sql = psprintf("DELETE FROM %s WHERE %s %s ANY ($1::%s[])",
									   r->qname, r->qcols[key], r->keyop[0], r->keytype);
			/* a binary array is read as the key column's array type */
			Oid			type = kind != BIN_NONE ? (Oid) r->arraytype[key] : 0;

			rc = prepare_typed(w, r, name, sql, 1, &type);
			pg_free(sql);
			r->del_run_ready = (rc == APPLY_OK);
		}
		if (rc == APPLY_OK)
		{
			ParamSet   *ps = params_reset(w, 1);

			params_add_array(ps, kind, (const char *const *) w->run.vals, n, 1, r->delim[key]);
			rc = params_send(w, name);
			pg_log_debug("worker %d: %d deletes of table \"%s.%s\" in one statement (%d of %d parameters in binary)",
						 w->id, n, r->schema, r->table, params_binary(ps), ps->n);
			queue(w, 'D', n, r);
			p = last_pending(w);
			p->nrows = n;
			p->last_lsn = w->run.last_lsn;
			rc = send_ok(w, rc);
		}
	}
	w->xact.commit_lsn = save_lsn;
	w->xact.xid = save_xid;
	run_discard(w);
	return rc;
}

/* send parked run i */
static ApplyResult
run_send_parked(ApplyWorker *w, int i)
{
	ApplyResult rc;

	run_swap(&w->run, &w->parked[i]);
	rc = run_send(w);
	run_swap(&w->run, &w->parked[i]);
	return rc;
}

/*
 * Send every open run: what comes next (a statement of its own, COMMIT)
 * must follow all of them.  Their keys are disjoint (OpenKeys), so the
 * order they go in does not matter.
 */
static ApplyResult
run_flush(ApplyWorker *w)
{
	ApplyResult rc = run_send(w);
	int			i;

	for (i = 0; i < RUN_PARKED && rc == APPLY_OK; i++)
		if (w->parked[i].n > 0)
			rc = run_send_parked(w, i);
	return rc;
}

/*
 * Whether r's runs may wait while runs of other tables or kinds are
 * collected: its key is the only thing a change of it can conflict with on
 * the target (not r->table_level, which another unique index, an exclusion
 * constraint, or a key whose equality is not that of its text also set,
 * see relation_conflict_scope).  Deferred checks and triggers do not run:
 * the session's session_replication_role is replica.
 */
static bool
run_parkable(const ApplyRel *r)
{
	return r != NULL && !r->table_level;
}

/* the parked run of r, action and u (NULL r: a free slot), else -1 */
static int
run_find(ApplyWorker *w, const ApplyRel *r, char action, const UpdStmt *u)
{
	int			i;

	for (i = 0; i < RUN_PARKED; i++)
	{
		Coalescer  *c = &w->parked[i];

		if (r == NULL ? c->n == 0 :
			(c->n > 0 && c->rel == r && c->action == action && c->upd == u))
			return i;
	}
	return -1;
}

/*
 * Before a change with key hash h is added to a run: send the open run
 * that holds that key (the change must see its result), and return the
 * slot of OpenKeys where h goes.  Empties OpenKeys, after sending every
 * open run, when it is half full.
 */
static ApplyResult
run_key_conflict(ApplyWorker *w, unsigned long long h, int *slot)
{
	OpenKeys   *ok = &w->open_keys;
	ApplyResult rc;
	unsigned int i;

	if (ok->hash == NULL)
	{
		ok->hash = pg_malloc0(sizeof(unsigned long long) * OPEN_KEY_SLOTS);
		ok->gen = pg_malloc0(sizeof(unsigned int) * OPEN_KEY_SLOTS);
	}
	if (ok->filled >= OPEN_KEY_MAX)
	{
		if ((rc = run_flush(w)) != APPLY_OK)
			return rc;
		memset(ok->hash, 0, sizeof(unsigned long long) * OPEN_KEY_SLOTS);
		ok->filled = 0;
	}
	for (i = (unsigned int) (h ^ (h >> 32)) & (OPEN_KEY_SLOTS - 1);;
		 i = (i + 1) & (OPEN_KEY_SLOTS - 1))
	{
		int			j;

		if (ok->hash[i] == 0)
		{
			ok->filled++;
			break;
		}
		if (ok->hash[i] != h)
			continue;
		/* the run that holds the key, if it is still open */
		if (w->run.n > 0 && w->run.gen == ok->gen[i])
			rc = run_send(w);
		else
		{
			rc = APPLY_OK;
			for (j = 0; j < RUN_PARKED; j++)
				if (w->parked[j].n > 0 && w->parked[j].gen == ok->gen[i])
					rc = run_send_parked(w, j);
		}
		if (rc != APPLY_OK)
			return rc;
		break;
	}
	ok->hash[i] = h;
	*slot = (int) i;
	return APPLY_OK;
}

/*
 * Make w->run the open run of r, action and u with room for a row: park
 * the run being collected when it is of another table or kind (send it
 * when it cannot wait or no slot is free), take up a parked one, send it
 * when it is full.  The run's gen is set when it starts (n == 0).
 */
static ApplyResult
run_open(ApplyWorker *w, ApplyRel *r, char action, UpdStmt *u, int max_rows)
{
	ApplyResult rc;
	int			i;

	if (w->run.n > 0 && (w->run.rel != r || w->run.action != action || w->run.upd != u))
	{
		i = run_parkable(w->run.rel) ? run_find(w, NULL, 0, NULL) : -1;
		if (i >= 0)
			run_swap(&w->run, &w->parked[i]);
		else if ((rc = run_send(w)) != APPLY_OK)
			return rc;
	}
	if (w->run.n == 0 && (i = run_find(w, r, action, u)) >= 0)
		run_swap(&w->run, &w->parked[i]);
	if (w->run.n >= max_rows && (rc = run_send(w)) != APPLY_OK)
		return rc;
	if (w->run.vals == NULL)
		w->run.vals = pg_malloc(sizeof(char *) * RUN_VALUES);
	if (w->run.n == 0)
	{
		w->run.rel = r;
		w->run.action = action;
		w->run.upd = u;
		w->run.gen = ++w->run_gen;
		w->run.first_lsn = w->xact.commit_lsn;
		w->run.first_xid = w->xact.xid;
	}
	w->run.last_lsn = w->xact.commit_lsn;
	return APPLY_OK;
}

/*
 * Add an insert or a delete to the open run of its table and kind (a run
 * of a table whose changes cannot wait is sent first when the change does
 * not continue it).  Takes the values out of the message.
 */
static ApplyResult
run_add(ApplyWorker *w, ApplyRel *r, char action, Message *m)
{
	int			width = action == 'I' ? r->nsent : 1;
	/*
	 * A run sent in arrays (deletes, inserts through unnest) may be as long
	 * as a run of updates; one sent as VALUES has a statement per length.
	 */
	int			max_rows = (action == 'D' || r->ins_unnest) ?
		Min(UPD_RUN_MAX, RUN_VALUES / Max(width, 1)) :
		Min(RUN_MAX, 65535 / Max(width, 1));
	int			slot = -1;
	int			rc;
	int			i;

	if (run_parkable(r))
	{
		unsigned long long h = action == 'I' ?
			relmap_key_hash(r, m->newvals, r->keypos, r->nkey) :
			relmap_key_hash(r, m->keyvals, NULL, r->nkey);

		if ((rc = run_key_conflict(w, h, &slot)) != APPLY_OK)
			return rc;
	}
	if ((rc = run_open(w, r, action, NULL, max_rows)) != APPLY_OK)
		return rc;
	if (slot >= 0)
		w->open_keys.gen[slot] = w->run.gen;
	if (action == 'I')
	{
		int			k = w->run.n * width;

		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i])
			{
				w->run.vals[k++] = m->newvals[i];
				m->newvals[i] = NULL;
			}
	}
	else
	{
		w->run.vals[w->run.n] = m->keyvals[0];
		m->keyvals[0] = NULL;
	}
	w->run.n++;
	return APPLY_OK;
}

static ApplyResult
apply_insert(ApplyWorker *w, ApplyRel *r, Message *m)
{
	return run_add(w, r, 'I', m);
}

/* one row, values of the columns sent (generated ones left out) */
static ApplyResult
apply_insert_one(ApplyWorker *w, ApplyRel *r, const char *const *vals)
{
	char		name[64];
	int			i;
	int			rc;

	snprintf(name, sizeof(name), "i%d", r->version);
	if (!r->ins_ready)
	{
		PQExpBufferData sql;
		Oid		   *types;
		int			p = 0;

		initPQExpBuffer(&sql);
		append_insert_head(&sql, r);
		appendPQExpBufferStr(&sql, "VALUES (");
		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i])
			{
				appendPQExpBuffer(&sql, "%s$%d", p ? ", " : "", p + 1);
				p++;
			}
		appendPQExpBufferChar(&sql, ')');
		types = insert_param_types(r, 1);
		rc = prepare_typed(w, r, name, sql.data, r->nsent, types);
		pg_free(types);
		termPQExpBuffer(&sql);
		if (rc != APPLY_OK)
			return rc;
		r->ins_ready = true;
	}
	rc = send_insert(w, r, name, 1, vals);
	queue(w, 'I', 0, r);
	return send_ok(w, rc);
}

/*
 * The prepared UPDATE for the columns m sets (its unchanged TOAST columns
 * left out, see the file header), created and prepared on first use.  It
 * may be sent as a run (run_flush_update) when it sets at least one column
 * and every value it sends can go in an array parameter: a column of a
 * type with an array type goes in that array type; one whose type is an
 * array itself (or a domain over one: arrays of arrays do not exist) goes
 * in a text array, each element cast to the column's type, which reads it
 * with the array's input function as the per-row parameter is read (unless
 * a cast from text to that type exists).  A column of a type without an
 * array type makes the statement per-row, and so does replica identity
 * full, whose rows have no key to join on, and a unique index other than
 * the key's or an exclusion constraint on the target (r->other_unique: a
 * run's rows are updated in the plan's order, and a row may take a value
 * that another row of the run gives up before it on the source).
 *
 * An identity column GENERATED ALWAYS on the target cannot be set by an
 * UPDATE: it is left out of the columns set, and when it is not a key
 * column, its new value is matched instead (a guard, after the key's
 * parameters), so that an update that gave it a new value matches no row
 * rather than leaving the old value silently (check_always_changed stops
 * at a new value of such a key column).
 */
static UpdStmt *
update_statement(ApplyWorker *w, ApplyRel *r, Message *m, ApplyResult *rc)
{
	PQExpBufferData sig;
	PQExpBufferData sql;
	UpdStmt    *u;
	bool	   *unch;
	int			i;

	*rc = APPLY_OK;
	unch = pg_malloc0(sizeof(bool) * (r->ncols + 1));
	initPQExpBuffer(&sig);
	for (i = 0; i < m->nunchanged; i++)
	{
		int			pos = m->unchanged[i];

		if (pos >= 0 && pos < r->ncols)
		{
			unch[pos] = true;
			appendPQExpBuffer(&sig, "%d,", pos);
		}
	}
	for (u = r->upds; u; u = u->next)
		if (strcmp(u->sig, sig.data) == 0)
			break;
	if (u != NULL)
	{
		pg_free(unch);
		termPQExpBuffer(&sig);
		return u;
	}

	u = pg_malloc0(sizeof(UpdStmt));
	u->sig = pg_strdup(sig.data);
	termPQExpBuffer(&sig);
	snprintf(u->name, sizeof(u->name), "u%d_%p", r->version, (void *) u);
	snprintf(u->run_name, sizeof(u->run_name), "ur%d_%p", r->version, (void *) u);
	u->next = r->upds;
	r->upds = u;
	u->cols = pg_malloc(sizeof(int) * (r->ncols + r->nkey + 1));
	for (i = 0; i < r->ncols; i++)
		if (!r->skip[i] && !unch[i] && !r->always[i])
			u->cols[u->nset++] = i;
	for (i = 0; i < r->nkey; i++)
		u->cols[u->nset + i] = r->keypos[i];
	for (i = 0; i < r->ncols; i++)
	{
		int			k;
		bool		key = false;

		for (k = 0; k < r->nkey; k++)
			if (r->keypos[k] == i)
				key = true;
		if (r->always[i] && !r->skip[i] && !unch[i] && !key)
			u->cols[u->nset + r->nkey + u->nguard++] = i;
	}
	u->width = u->nset + r->nkey + u->nguard;
	pg_free(unch);

	u->set_ok = r->replident != 'f' && r->nkey > 0 && u->nset > 0 &&
		!r->other_unique && u->width <= RUN_VALUES / 2;
	for (i = 0; i < u->width && u->set_ok; i++)
		if (r->arraytype == NULL ||
			(r->arraytype[u->cols[i]] == 0 && r->castname[u->cols[i]] == NULL))
			u->set_ok = false;

	initPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "UPDATE %s SET ", r->qname);
	for (i = 0; i < u->nset; i++)
		appendPQExpBuffer(&sql, "%s%s = $%d", i ? ", " : "", r->qcols[u->cols[i]], i + 1);
	if (u->nset == 0)
	{
		/*
		 * Nothing to write (every column unchanged TOAST, or an identity
		 * column GENERATED ALWAYS), but check the row: assign a column that
		 * may be assigned its own value.
		 */
		int			self = r->keypos[0];

		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i] && !r->always[i])
			{
				self = i;
				break;
			}
		appendPQExpBuffer(&sql, "%s = %s", r->qcols[self], r->qcols[self]);
	}
	append_where(w, &sql, r, u->nset + 1);
	for (i = 0; i < u->nguard; i++)
		appendPQExpBuffer(&sql, " AND %s OPERATOR(pg_catalog.=) $%d",
						  r->qcols[u->cols[u->nset + r->nkey + i]], u->nset + r->nkey + i + 1);
	*rc = prepare(w, r, u->name, sql.data);
	termPQExpBuffer(&sql);
	return *rc == APPLY_OK ? u : NULL;
}

/*
 * Whether an update changes its row's key: the new value of a key column
 * (when sent) differs from the old key's text.  Such an update is applied
 * on its own, in order, since the run joins on the old key and its rows
 * must name distinct rows.
 */
static bool
update_changes_key(ApplyRel *r, Message *m)
{
	int			k;
	int			i;

	for (k = 0; k < r->nkey; k++)
	{
		int			pos = r->keypos[k];
		const char *newval = m->newvals[pos];
		const char *oldval = m->keyvals[k];
		bool		unchanged = false;

		for (i = 0; i < m->nunchanged; i++)
			if (m->unchanged[i] == pos)
				unchanged = true;
		if (unchanged)
			continue;
		if ((newval == NULL) != (oldval == NULL) ||
			(newval != NULL && strcmp(newval, oldval) != 0))
			return true;
	}
	return false;
}

/*
 * Add an update to the open run of its statement (UpdStmt), sending first
 * the open run that holds a change of the row (the update must see its
 * result: OpenKeys).  Takes the values out of the message.
 */
static ApplyResult
run_add_update(ApplyWorker *w, ApplyRel *r, UpdStmt *u, Message *m)
{
	int			max_rows = Min(UPD_RUN_MAX, RUN_VALUES / u->width);
	int			rc;
	int			slot;
	int			k;
	int			i;

	if ((rc = run_key_conflict(w, relmap_key_hash(r, m->keyvals, NULL, r->nkey), &slot)) != APPLY_OK ||
		(rc = run_open(w, r, 'U', u, max_rows)) != APPLY_OK)
		return rc;
	w->open_keys.gen[slot] = w->run.gen;
	if (w->run.row_lsn == NULL)
	{
		w->run.row_lsn = pg_malloc(sizeof(unsigned long long) * UPD_RUN_MAX);
		w->run.row_xid = pg_malloc(sizeof(unsigned long long) * UPD_RUN_MAX);
	}
	k = w->run.n * u->width;
	for (i = 0; i < u->nset; i++)
	{
		w->run.vals[k++] = m->newvals[u->cols[i]];
		m->newvals[u->cols[i]] = NULL;
	}
	for (i = 0; i < r->nkey; i++)
	{
		w->run.vals[k++] = m->keyvals[i];
		m->keyvals[i] = NULL;
	}
	for (i = 0; i < u->nguard; i++)
	{
		int			pos = u->cols[u->nset + r->nkey + i];

		w->run.vals[k++] = m->newvals[pos];
		m->newvals[pos] = NULL;
	}
	w->run.row_lsn[w->run.n] = w->xact.commit_lsn;
	w->run.row_xid[w->run.n] = w->xact.xid;
	w->run.n++;
	return APPLY_OK;
}

/* one update: u's values (the columns set, then the key) */
static ApplyResult
apply_update_one(ApplyWorker *w, ApplyRel *r, UpdStmt *u, const char *const *vals)
{
	int			rc;

	rc = PQsendQueryPrepared(w->conn, u->name, u->width, vals, NULL, NULL, 0);
	queue(w, 'U', true, r);
	return send_ok(w, rc);
}

/*
 * Send a run of updates as one statement: the rows' values go as one array
 * parameter per column, typed as the target column's array type (a text
 * array for array types, see update_statement), so that each element is
 * read by the column type's input function just as the per-row statement's
 * parameter is (domains check their constraints, session settings such as
 * DateStyle apply alike); NULL elements are NULLs.  The rows join the table
 * on the key (distinct keys, see run_add_update).  The statement returns the
 * place in the run of the row that updated each target row;
 * check_update_run reports the first row that did not update exactly one
 * as the per-row statement's row count would be: the same message, with
 * that row's source LSN and xid.  (A statement that found those rows
 * itself, with a materialized CTE, an anti-join and an aggregate, cost the
 * target about 1 us more per row.)
 */
static ApplyResult
run_flush_update(ApplyWorker *w, ApplyRel *r, UpdStmt *u, unsigned long long last_lsn)
{
	int			n = w->run.n;
	int			width = u->width;
	ParamSet   *ps;
	Pending    *p;
	int			rc = APPLY_OK;
	int			j;

	if (!u->run_ready)
	{
		PQExpBufferData sql;
		Oid		   *types = pg_malloc(sizeof(Oid) * width);

		initPQExpBuffer(&sql);
		appendPQExpBuffer(&sql, "UPDATE %s AS ms_t SET ", r->qname);
		for (j = 0; j < u->nset; j++)
		{
			appendPQExpBuffer(&sql, "%s%s = ms_v.p%d", j ? ", " : "", r->qcols[u->cols[j]], j + 1);
			if (r->arraytype[u->cols[j]] == 0)
				appendPQExpBuffer(&sql, "::%s", r->castname[u->cols[j]]);
		}
		/*
		 * The rows: the set-returning functions in the select list run in
		 * lockstep (unlike ROWS FROM, they do not expand a composite type's
		 * value into its fields); o is the row's place in the run.
		 */
		appendPQExpBufferStr(&sql, " FROM (SELECT ");
		for (j = 0; j < width; j++)
		{
			/* text elements of an array type's column are cast below */
			types[j] = r->arraytype[u->cols[j]] ? (Oid) r->arraytype[u->cols[j]] : TEXTARRAYOID;
			appendPQExpBuffer(&sql, "pg_catalog.unnest($%d) AS p%d, ", j + 1, j + 1);
		}
		appendPQExpBufferStr(&sql, "pg_catalog.generate_subscripts($1, 1) AS o) AS ms_v WHERE ");
		for (j = u->nset; j < width; j++)
		{
			/* the key's columns, then the guards (integers) */
			appendPQExpBuffer(&sql, "%sms_t.%s %s ms_v.p%d", j > u->nset ? " AND " : "",
							  r->qcols[u->cols[j]],
							  j - u->nset < r->nkey ? r->keyop[j - u->nset] : "OPERATOR(pg_catalog.=)",
							  j + 1);
			if (r->arraytype[u->cols[j]] == 0)
				appendPQExpBuffer(&sql, "::%s", r->castname[u->cols[j]]);
		}
		appendPQExpBufferStr(&sql, " RETURNING ms_v.o");
		rc = prepare_typed(w, r, u->run_name, sql.data, width, types);
		termPQExpBuffer(&sql);
		pg_free(types);
		if (rc != APPLY_OK)
			return rc;
		u->run_ready = true;
	}

	ps = params_reset(w, width);
	for (j = 0; j < width; j++)
	{
		int			col = u->cols[j];

		/* a text[] parameter whose elements are cast: text only */
		params_add_array(ps, r->arraytype[col] ? (BinKind) r->binkind[col] : BIN_NONE,
						 (const char *const *) &w->run.vals[j], n, width, r->delim[col]);
	}
	rc = params_send(w, u->run_name);
	pg_log_debug("worker %d: %d updates of table \"%s.%s\" in one statement (%d of %d parameters in binary)",
				 w->id, n, r->schema, r->table, params_binary(ps), width);
	queue(w, 'U', 0, r);
	p = last_pending(w);
	p->nrows = n;
	p->last_lsn = last_lsn;
	/* the Pending owns the rows' LSNs now */
	p->row_lsn = w->run.row_lsn;
	p->row_xid = w->run.row_xid;
	w->run.row_lsn = w->run.row_xid = NULL;
	return send_ok(w, rc);
}

/*
 * An UPDATE cannot set an identity column GENERATED ALWAYS (only to
 * DEFAULT, which would take the target sequence's next value), so such a
 * column is left out of the UPDATEs (update_statement).  When the source
 * gave a key column of that kind a new value (UPDATE ... SET id = DEFAULT,
 * or an explicit value while it was BY DEFAULT on the source), leaving it
 * out would keep the old key: stop, saying what to do.  keys: the old key's
 * values, for key columns at keypos (NULL: r's own key).
 */
static ApplyResult
check_always_changed(ApplyWorker *w, ApplyRel *r, Message *m, int nkey,
					 const int *keypos)
{
	int			k,
				i;
	char		lsnbuf[32];

	for (k = 0; k < nkey; k++)
	{
		int			pos = keypos[k];
		const char *newval = m->newvals[pos];
		const char *oldval = m->keyvals[k];
		bool		unchanged = false;

		if (pos < 0 || pos >= r->ncols || !r->always[pos] || r->skip[pos])
			continue;
		for (i = 0; i < m->nunchanged; i++)
			if (m->unchanged[i] == pos)
				unchanged = true;
		if (unchanged || (newval == NULL && oldval == NULL) ||
			(newval != NULL && oldval != NULL && strcmp(newval, oldval) == 0))
			continue;
		fail(w, APPLY_STOP, EXIT_APPLY, "could not apply UPDATE on table \"%s.%s\" (source commit LSN %s, xid %llu): it gives column %s a new value, and that column is an identity column GENERATED ALWAYS on the target",
			 r->schema, r->table, lsn_format(w->xact.commit_lsn, lsnbuf), w->xact.xid,
			 r->qcols[pos]);
		w->hint = "The job stopped before this change; nothing after it was applied. An UPDATE cannot set such a column: make it GENERATED BY DEFAULT on the target (ALTER TABLE ... ALTER COLUMN ... SET GENERATED BY DEFAULT), run stream again, and make it GENERATED ALWAYS again afterwards.";
		return APPLY_STOP;
	}
	return APPLY_OK;
}

static ApplyResult
check_always_key(ApplyWorker *w, ApplyRel *r, Message *m)
{
	if (m->nkey != r->nkey || m->newvals == NULL)
		return APPLY_OK;
	return check_always_changed(w, r, m, r->nkey, r->keypos);
}

/*
 * U: a run of updates when the statement allows it and the key stays,
 * else one UPDATE, after the run collected so far.
 */
static ApplyResult
apply_update(ApplyWorker *w, ApplyRel *r, Message *m)
{
	const char **vals;
	UpdStmt    *u;
	ApplyResult rc;
	int			i;

	if ((rc = check_always_key(w, r, m)) != APPLY_OK)
		return rc;
	u = update_statement(w, r, m, &rc);
	if (u == NULL)
		return rc;
	if (u->set_ok && !update_changes_key(r, m))
		return run_add_update(w, r, u, m);
	if ((rc = run_flush(w)) != APPLY_OK)
		return rc;
	vals = pg_malloc(sizeof(char *) * (u->width + 1));
	for (i = 0; i < u->nset; i++)
		vals[i] = m->newvals[u->cols[i]];
	for (i = 0; i < r->nkey; i++)
		vals[u->nset + i] = m->keyvals[i];
	for (i = 0; i < u->nguard; i++)
		vals[u->nset + r->nkey + i] = m->newvals[u->cols[u->nset + r->nkey + i]];
	rc = apply_update_one(w, r, u, vals);
	pg_free(vals);
	return rc;
}

static ApplyResult
apply_delete(ApplyWorker *w, ApplyRel *r, Message *m)
{
	int			rc;

	if (r->keytype != NULL && m->keyvals[0] != NULL)
		return run_add(w, r, 'D', m);
	if ((rc = run_flush(w)) != APPLY_OK)
		return rc;
	return apply_delete_one(w, r, (const char *const *) m->keyvals);
}

static ApplyResult
apply_delete_one(ApplyWorker *w, ApplyRel *r, const char *const *keys)
{
	char		name[64];
	int			rc;

	snprintf(name, sizeof(name), "d%d", r->version);
	if (!r->del_ready)
	{
		PQExpBufferData sql;

		initPQExpBuffer(&sql);
		appendPQExpBuffer(&sql, "DELETE FROM %s", r->qname);
		append_where(w, &sql, r, 1);
		rc = prepare(w, r, name, sql.data);
		termPQExpBuffer(&sql);
		if (rc != APPLY_OK)
			return rc;
		r->del_ready = true;
	}
	rc = PQsendQueryPrepared(w->conn, name, r->nkey, keys, NULL, NULL, 0);
	queue(w, 'D', 1, r);
	return send_ok(w, rc);
}

static ApplyResult
apply_truncate(ApplyWorker *w, Message *m)
{
	PQExpBufferData sql;
	int			n = 0;
	int			i,
				j;
	int			rc = APPLY_OK;

	initPQExpBuffer(&sql);
	appendPQExpBufferStr(&sql, "TRUNCATE ");
	for (i = 0; i < m->nrelations; i++)
	{
		unsigned long long slsn = (unsigned long long) -1;
		char	   *qs;
		char	   *qt;

		if (m->trunc_schemas[i] == NULL || m->trunc_tables[i] == NULL)
			continue;
		for (j = 0; j < w->sync->n; j++)
			if (strcmp(w->sync->schema[j], m->trunc_schemas[i]) == 0 &&
				strcmp(w->sync->table[j], m->trunc_tables[i]) == 0)
				slsn = w->sync->lsn[j];
		if (slsn == (unsigned long long) -1)
		{
			char		lsnbuf[32];

			termPQExpBuffer(&sql);
			return fail(w, APPLY_STOP, EXIT_APPLY, "could not apply TRUNCATE on table \"%s.%s\" (source commit LSN %s): the table was not copied by init",
						m->trunc_schemas[i], m->trunc_tables[i], lsn_format(w->xact.commit_lsn, lsnbuf));
		}
		if (w->xact.commit_lsn < slsn)
			continue;
		if (m->trunc_part_tables[i] != NULL)
		{
			char		lsnbuf[32];

			/*
			 * The target holds the partitioned table as one table: which of
			 * its rows came from this partition is not known here.
			 */
			termPQExpBuffer(&sql);
			rc = fail(w, APPLY_STOP, EXIT_APPLY, "cannot apply TRUNCATE of partition \"%s\".\"%s\" of table \"%s\".\"%s\" (source commit LSN %s): the target holds the partitioned table as one table",
					  m->trunc_part_schemas[i] ? m->trunc_part_schemas[i] : m->trunc_schemas[i],
					  m->trunc_part_tables[i], m->trunc_schemas[i], m->trunc_tables[i],
					  lsn_format(w->xact.commit_lsn, lsnbuf));
			w->hint = "The job cannot skip a change, and deleting the partition's rows on the target does not let it go on: run \"migration-split init --drop\" to copy the domain again.";
			return rc;
		}
		qs = job_quote_ident(w->conn, job_target_schema_for(w->opts, m->trunc_tables[i]));
		qt = job_quote_ident(w->conn, m->trunc_tables[i]);
		appendPQExpBuffer(&sql, "%s%s.%s", n++ ? ", " : "", qs, qt);
		pg_free(qs);
		pg_free(qt);
	}
	if (m->restart_identity)
		appendPQExpBufferStr(&sql, " RESTART IDENTITY");

	/*
	 * Never CASCADE, whatever the source did (as PostgreSQL's apply worker):
	 * the change lists every table of the domain the source emptied, and on
	 * the target a cascade would also empty tables of the service's own that
	 * reference them.  Such a reference makes the TRUNCATE fail instead.
	 */
	if (n > 0)
	{
		int			ok = PQsendQueryParams(w->conn, sql.data, 0, NULL, NULL, NULL, NULL, 0);

		queue(w, 'T', false, NULL);
		rc = send_ok(w, ok);
		w->batch.rows++;
	}
	termPQExpBuffer(&sql);
	return rc;
}

/*
 * U or D of a partition whose replica identity differs from its root's:
 * the key names its columns (key_columns, output positions).  Sent as a
 * statement of its own, not prepared: such partitions are rare.  It must
 * change exactly one row, as every U and D must.
 */
static ApplyResult
apply_by_partition_key(ApplyWorker *w, ApplyRel *r, Message *m)
{
	PQExpBufferData sql;
	const char **vals;
	bool	   *unch;
	int			n = 0;
	int			i;
	int			rc;
	char		lsnbuf[32];

	if ((rc = run_flush(w)) != APPLY_OK)
		return rc;
	if (m->nkey != m->nkeycols)
		return fail(w, APPLY_STOP, EXIT_APPLY, "change of table \"%s.%s\" has %d key %s for %d key %s (source commit LSN %s)",
					r->schema, r->table, m->nkey, ngettext("value", "values", m->nkey),
					m->nkeycols, ngettext("column", "columns", m->nkeycols), lsn_format(w->xact.commit_lsn, lsnbuf));
	for (i = 0; i < m->nkeycols; i++)
		if (m->keycols[i] < 0 || m->keycols[i] >= r->ncols)
			return fail(w, APPLY_STOP, EXIT_APPLY, "change of table \"%s.%s\" names key column %d of %d (source commit LSN %s)",
						r->schema, r->table, m->keycols[i], r->ncols, lsn_format(w->xact.commit_lsn, lsnbuf));

	vals = pg_malloc(sizeof(char *) * (r->ncols + m->nkey + 1));
	unch = pg_malloc0(sizeof(bool) * (r->ncols + 1));
	for (i = 0; i < m->nunchanged; i++)
		if (m->unchanged[i] >= 0 && m->unchanged[i] < r->ncols)
			unch[m->unchanged[i]] = true;

	if (m->action == MSG_UPDATE && m->newvals != NULL &&
		(rc = check_always_changed(w, r, m, m->nkeycols, m->keycols)) != APPLY_OK)
	{
		pg_free(vals);
		pg_free(unch);
		return rc;
	}

	initPQExpBuffer(&sql);
	if (m->action == MSG_UPDATE)
	{
		int			self = m->keycols[0];

		appendPQExpBuffer(&sql, "UPDATE %s SET ", r->qname);
		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i] && !unch[i] && !r->always[i])
			{
				vals[n++] = m->newvals[i];
				appendPQExpBuffer(&sql, "%s%s = $%d", n > 1 ? ", " : "", r->qcols[i], n);
			}
		for (i = 0; i < r->ncols && n == 0; i++)
			if (!r->skip[i] && !r->always[i])
			{
				self = i;
				break;
			}
		if (n == 0)
			appendPQExpBuffer(&sql, "%s = %s", r->qcols[self], r->qcols[self]);
	}
	else
		appendPQExpBuffer(&sql, "DELETE FROM %s", r->qname);
	appendPQExpBufferStr(&sql, " WHERE ");
	for (i = 0; i < m->nkeycols; i++)
	{
		vals[n++] = m->keyvals[i];
		appendPQExpBuffer(&sql, "%s%s %s $%d", i ? " AND " : "",
						  r->qcols[m->keycols[i]], r->colop[m->keycols[i]], n);
	}
	/* identity columns GENERATED ALWAYS: matched, not set (see above) */
	for (i = 0; m->action == MSG_UPDATE && i < r->ncols; i++)
	{
		int			k;
		bool		key = false;

		for (k = 0; k < m->nkeycols; k++)
			if (m->keycols[k] == i)
				key = true;
		if (r->always[i] && !r->skip[i] && !unch[i] && !key)
		{
			vals[n++] = m->newvals[i];
			appendPQExpBuffer(&sql, " AND %s OPERATOR(pg_catalog.=) $%d", r->qcols[i], n);
		}
	}
	rc = PQsendQueryParams(w->conn, sql.data, n, NULL, vals, NULL, NULL, 0);
	queue(w, m->action, true, r);
	termPQExpBuffer(&sql);
	pg_free(vals);
	pg_free(unch);
	return send_ok(w, rc);
}

/* The index of a copied table in the sync list, or -1. */
static int
find_sync(ApplyWorker *w, const char *schema, const char *table)
{
	int			i;

	for (i = 0; i < w->sync->n; i++)
		if (strcmp(w->sync->schema[i], schema) == 0 && strcmp(w->sync->table[i], table) == 0)
			return i;
	return -1;
}

/*
 * O: a table joined or left the domain in the transaction being applied.
 * A table that joined and that the job lacks is copied in online
 * (tablesync.c) and added to the sync list, so that its changes are
 * skipped before its snapshot and applied after.  A table of the job that
 * left, or a partition that left a partitioned table of the job, stops the
 * job: its later changes are no longer in the stream, and going on would
 * let the target diverge without a word.
 */
static ApplyResult
apply_ownership(ApplyWorker *w, Message *m)
{
	char		lsnbuf[32];
	int			i;
	int			rc;

	if (m->schema == NULL || m->table == NULL)
		return fail(w, APPLY_STOP, EXIT_APPLY, "ownership message without schema or table name");

	if (!m->in_domain)
	{
		/* where it went, "%s%s%s" in the messages: nothing to free */
		const char *now = m->domain ? "now in domain \"" : "no longer tagged";
		const char *now_domain = m->domain ? m->domain : "";
		const char *now_end = m->domain ? "\"" : "";

		/*
		 * Keep what came before, if nothing of this transaction is in the
		 * batch yet: the target then holds the state just before the
		 * table left.
		 */
		if (((m->root_schema && m->root_table && find_sync(w, m->root_schema, m->root_table) >= 0) ||
			 ((i = find_sync(w, m->schema, m->table)) >= 0 && w->sync->lsn[i] <= w->xact.commit_lsn)) &&
			!w->xact.sent && (rc = apply_flush(w)) != APPLY_OK)
			return rc;

		if (m->root_schema && m->root_table && find_sync(w, m->root_schema, m->root_table) >= 0)
		{
			rc = fail(w, APPLY_STOP, EXIT_DOMAIN, "partition \"%s.%s\" of table \"%s.%s\" left domain \"%s\" on the source (%s%s%s; source commit LSN %s)",
					  m->schema, m->table, m->root_schema, m->root_table, w->opts->domain,
					  now, now_domain, now_end, lsn_format(w->xact.commit_lsn, lsnbuf));
			w->hint = "The job stopped before this transaction. The target's table would keep the partition's rows and miss their later changes. Run \"migration-split init --drop\" to copy the domain as it is now.";
			return rc;
		}
		i = find_sync(w, m->schema, m->table);
		if (i < 0 || w->sync->lsn[i] > w->xact.commit_lsn)
			return APPLY_OK;	/* not the job's, or copied after this */
		rc = fail(w, APPLY_STOP, EXIT_DOMAIN, "table \"%s.%s\" left domain \"%s\" on the source (%s%s%s; source commit LSN %s)",
				  m->schema, m->table, w->opts->domain, now, now_domain, now_end,
				  lsn_format(w->xact.commit_lsn, lsnbuf));
		w->hint = "The job stopped before this transaction: the target holds the table as of the transactions applied before it, and its later changes are no longer streamed. Run \"migration-split init --drop\" to copy the domain as it is now.";
		return rc;
	}

	if ((i = find_sync(w, m->schema, m->table)) >= 0)
		return check_recreated(w, m, i);	/* the job has it: the same? */
	return join_table(w, m->schema, m->table);
}

/*
 * A table the job lacks is in the domain from this point of the stream on:
 * copy it in online (tablesync.c) and add it to the sync list.  Its
 * changes in transactions that committed before the copy's snapshot are
 * then skipped, later ones applied.
 */
static ApplyResult
join_table(ApplyWorker *w, const char *schema, const char *table)
{
	char	   *lsn;
	unsigned int relid;
	char	   *err;
	const char *hint;
	int			rc;

	rc = tablesync_copy_table(w->opts, schema, table, &lsn, &relid, &err, &hint);
	if (rc != 0)
	{
		ApplyResult res;

		res = fail(w, rc == TABLESYNC_RECONNECT ? APPLY_RECONNECT : APPLY_STOP, rc, "%s", err);
		pg_free(err);			/* fail() kept a copy */
		w->hint = hint;
		return res;
	}
	w->sync->schema = pg_realloc(w->sync->schema, sizeof(char *) * (w->sync->n + 1));
	w->sync->table = pg_realloc(w->sync->table, sizeof(char *) * (w->sync->n + 1));
	w->sync->lsn = pg_realloc(w->sync->lsn, sizeof(unsigned long long) * (w->sync->n + 1));
	w->sync->relid = pg_realloc(w->sync->relid, sizeof(unsigned int) * (w->sync->n + 1));
	w->sync->schema[w->sync->n] = pg_strdup(schema);
	w->sync->table[w->sync->n] = pg_strdup(table);
	w->sync->lsn[w->sync->n] = lsn_parse(lsn);
	w->sync->relid[w->sync->n] = relid;
	w->sync->n++;
	pg_free(lsn);
	return APPLY_OK;
}

/*
 * Commit the open batch.  Its source transactions are recorded in
 * migration_split_job.applied_xacts in the same target transaction as
 * their changes (the coordinator moves jobs.applied_lsn past them later),
 * so they are applied exactly when they are recorded.
 */
ApplyResult
apply_flush(ApplyWorker *w)
{
	ApplyResult rc;

	if ((rc = apply_commit_start(w)) != APPLY_OK ||
		(rc = apply_commit_send(w)) != APPLY_OK)
		return rc;
	return apply_commit_finish(w);
}

/*
 * A commit in three steps, so that the coordinator can commit several
 * workers' batches with their waits overlapping: send every change and a
 * Sync (apply_commit_start); check every result, then send the batch's
 * applied_xacts rows, COMMIT and a Sync (apply_commit_send): a change that
 * failed or missed its row is never committed; wait for COMMIT
 * (apply_commit_finish).  Each step does nothing unless the previous one
 * ran.
 */
ApplyResult
apply_commit_start(ApplyWorker *w)
{
	ApplyResult rc;

	if (w->batch.xacts == 0 && !w->batch.open)
		return APPLY_OK;
	if ((rc = begin_batch(w)) != APPLY_OK)
		return rc;
	if ((rc = run_flush(w)) != APPLY_OK || (rc = send_sync(w)) != APPLY_OK)
		return rc;
	w->commit_step = 1;
	return APPLY_OK;
}

ApplyResult
apply_commit_send(ApplyWorker *w)
{
	ApplyResult rc;
	char		lsnbuf[32];
	int			i;
	long long	rows = w->batch.rows;
	long long	xacts = w->batch.xacts;
	unsigned long long lsn = w->batch.lsn;
	Pending    *p;
	int			ok;

	if (w->commit_step != 1)
		return APPLY_OK;
	w->commit_step = 0;
	/* check every change before COMMIT is sent */
	if ((rc = pipe_sync_wait(w)) != APPLY_OK)
		return rc;

	if (w->batch.nx > 0)
	{
		PQExpBufferData lsns;
		PQExpBufferData rows;
		PQExpBufferData times;
		const char *params[4];

		initPQExpBuffer(&lsns);
		initPQExpBuffer(&rows);
		initPQExpBuffer(&times);
		for (i = 0; i < w->batch.nx; i++)
		{
			appendPQExpBuffer(&lsns, "%c%s", i ? ',' : '{', lsn_format(w->batch.x_commit[i], lsnbuf));
			appendPQExpBuffer(&rows, "%c%lld", i ? ',' : '{', w->batch.x_rows[i]);
			appendPQExpBufferChar(&times, i ? ',' : '{');
			if (w->batch.x_time[i])
				job_append_array_elem(&times, w->batch.x_time[i]);
			else
				appendPQExpBufferStr(&times, "NULL");
		}
		appendPQExpBufferChar(&lsns, '}');
		appendPQExpBufferChar(&rows, '}');
		appendPQExpBufferChar(&times, '}');
		params[0] = w->opts->domain;
		params[1] = lsns.data;
		params[2] = rows.data;
		params[3] = times.data;
		ok = PQsendQueryParams(w->conn,
							   "INSERT INTO " MS_STATE_SCHEMA ".applied_xacts (domain, commit_lsn, rows, commit_time)"
							   " SELECT $1, x.l, x.r, x.t FROM ROWS FROM (pg_catalog.unnest($2::pg_catalog.pg_lsn[]),"
							   " pg_catalog.unnest($3::pg_catalog.int8[]),"
							   " pg_catalog.unnest($4::pg_catalog.timestamptz[])) AS x(l, r, t)",
							   4, NULL, params, NULL, NULL, 0);
		termPQExpBuffer(&lsns);
		termPQExpBuffer(&rows);
		termPQExpBuffer(&times);
		queue(w, 'S', 0, NULL);
		if ((rc = send_ok(w, ok)) != APPLY_OK)
			return rc;
	}

	/*
	 * The next batch may follow in the pipeline at once: this one is number
	 * w->batches until its COMMIT's result is read (commit_done).
	 */
	w->batches++;
	batch_clear(w);
	ok = PQsendQueryParams(w->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	queue(w, 'C', 0, NULL);
	p = last_pending(w);
	p->nrows = 0;
	p->batch_rows = rows;
	p->batch_xacts = xacts;
	p->batch_lsn = lsn;
	if ((rc = send_ok(w, ok)) != APPLY_OK || (rc = send_sync(w)) != APPLY_OK)
		return rc;
	w->commit_step = 2;
	return APPLY_OK;
}

/*
 * Wait for the COMMIT sent by apply_commit_send (and for whatever was sent
 * after it).
 */
ApplyResult
apply_commit_finish(ApplyWorker *w)
{
	if (w->commit_step != 2)
		return APPLY_OK;
	w->commit_step = 0;
	return pipe_sync_wait(w);
}

/* Empty the batch after its commit (or when the session ends). */
static void
batch_clear(ApplyWorker *w)
{
	int			i;

	for (i = 0; i < w->batch.nx; i++)
		pg_free(w->batch.x_time[i]);
	w->batch.nx = 0;
	w->batch.open = false;
	w->batch.rows = w->batch.xacts = 0;
	w->batch.lsn = 0;
	/* a transaction being received has no changes in the batch now */
	w->xact.rows = 0;
}

/*
 * Send what libpq holds for the target now, as far as the socket takes it
 * (the rest goes in the next wait).  In pipeline mode libpq sends only when
 * its buffer is full: without this, a worker's target would sit idle while
 * the coordinator feeds the others.
 */
ApplyResult
apply_push(ApplyWorker *w)
{
	if (PQflush(w->conn) < 0)
		return fail(w, APPLY_RECONNECT, 0, "target: %s", job_error(w->conn));
	return APPLY_OK;
}

/* Whether the batch is big or old enough to be committed. */
bool
apply_batch_due(ApplyWorker *w)
{
	if (!w->batch.open && w->batch.xacts == 0)
		return false;
	return w->batch.rows >= w->opts->batch_changes ||
		(job_now_seconds() - w->batch.started) * 1000 >= w->opts->batch_ms;
}

double
apply_batch_age_ms(ApplyWorker *w)
{
	if (!w->batch.open && w->batch.xacts == 0)
		return 0;
	return (job_now_seconds() - w->batch.started) * 1000;
}

/* Nothing received and not committed. */
bool
apply_idle(ApplyWorker *w)
{
	return !w->xact.active && !w->batch.open && w->batch.xacts == 0 &&
		w->commits == w->batches;
}

/*
 * B: a source transaction begins.  It is skipped when it committed before
 * the session's start position (the coordinator does not pass on those it
 * knows to be applied from migration_split_job.applied_xacts).
 */
static ApplyResult
handle_begin(ApplyWorker *w, Message *m, unsigned long long data_start)
{
	char		lsnbuf[32];
	ApplyResult rc;

	if (m->streamed)
		return fail(w, APPLY_STOP, EXIT_APPLY, "streamed in-progress transactions are not supported");
	w->xact.active = true;
	w->xact.xid = m->xid;
	w->xact.commit_lsn = m->commit_lsn ? lsn_parse(m->commit_lsn) : data_start;
	w->xact.skip = w->xact.commit_lsn < w->start_lsn;
	w->xact.sent = false;
	/* see commit_before_alter() */
	if (!w->xact.skip && w->xact.commit_lsn == w->shared->split_before_lsn && w->batch.xacts > 0 &&
		(rc = apply_flush(w)) != APPLY_OK)
		return rc;
	w->xact.rows = w->batch.rows;
	if (w->xact.skip)
		pg_log_debug("skipping transaction %llu committed at %s, already applied",
					 w->xact.xid, lsn_format(w->xact.commit_lsn, lsnbuf));
	return APPLY_OK;
}

/* C: the source transaction is in the batch. */
static ApplyResult
handle_commit(ApplyWorker *w, Message *m, unsigned long long data_start)
{
	char		lsnbuf[32];

	if (!w->xact.active)
		return fail(w, APPLY_STOP, EXIT_APPLY, "commit message without a transaction (LSN %s)",
					lsn_format(data_start, lsnbuf));
	w->xact.active = false;
	if (w->xact.skip)
		return APPLY_OK;
	if (w->batch.nx >= w->batch.capx)
	{
		w->batch.capx = w->batch.capx ? w->batch.capx * 2 : 64;
		w->batch.x_commit = pg_realloc(w->batch.x_commit, sizeof(unsigned long long) * w->batch.capx);
		w->batch.x_rows = pg_realloc(w->batch.x_rows, sizeof(long long) * w->batch.capx);
		w->batch.x_time = pg_realloc(w->batch.x_time, sizeof(char *) * w->batch.capx);
	}
	w->batch.x_commit[w->batch.nx] = w->xact.commit_lsn;
	w->batch.x_rows[w->batch.nx] = w->batch.rows - w->xact.rows;
	w->batch.x_time[w->batch.nx] = m->commit_time ? pg_strdup(m->commit_time) : NULL;
	w->batch.nx++;
	w->batch.xacts++;
	w->batch.lsn = m->end_lsn ? lsn_parse(m->end_lsn) : data_start;
	if (m->commit_time)
	{
		pg_free(w->batch.commit_time);
		w->batch.commit_time = pg_strdup(m->commit_time);
	}
	if (w->batch.xacts == 1 && !w->batch.open)
		w->batch.started = job_now_seconds();
	return APPLY_OK;
}

/*
 * I, U, D: one change, checked against the relation map, then given to the
 * coalescer (inserts, deletes by a one-column key) or sent as it is.
 */
static ApplyResult
handle_change(ApplyWorker *w, Message *m, unsigned long long data_start)
{
	ApplyRel   *r;
	char		lsnbuf[32];
	char		lsnbuf2[32];
	ApplyResult rc;

	if (!w->xact.active)
		return fail(w, APPLY_STOP, EXIT_APPLY, "change outside of a transaction (LSN %s)",
					lsn_format(data_start, lsnbuf));
	if (w->xact.skip)
		return APPLY_OK;
	r = relmap_lookup(&w->relmap, m->relid);
	if (r == NULL)
		return fail(w, APPLY_STOP, EXIT_APPLY, "change of relation %u without relation message (source commit LSN %s)",
					m->relid, lsn_format(w->xact.commit_lsn, lsnbuf));
	/*
	 * A transaction still running on the source (live.c) cannot tell yet:
	 * a table copied from a snapshot later than this change may hold it
	 * (when the transaction commits before that snapshot) or not.  Only
	 * its commit decides; live.c then applies it from its spool.
	 */
	if (w->in_progress && r->sync_lsn > data_start)
		return fail(w, APPLY_STOP, EXIT_APPLY, "table \"%s.%s\" was copied from a snapshot at %s, after this change (LSN %s): its commit decides whether the copy holds it",
					r->schema, r->table, lsn_format(r->sync_lsn, lsnbuf),
					lsn_format(data_start, lsnbuf2));
	if (w->xact.commit_lsn < r->sync_lsn)
		return APPLY_OK;		/* already in the table's copy */
	if (m->action != MSG_DELETE && m->nnew != r->ncols)
		return fail(w, APPLY_STOP, EXIT_APPLY, "change of table \"%s.%s\" has %d %s, its relation message %d %s (source commit LSN %s)",
					r->schema, r->table, m->nnew, ngettext("value", "values", m->nnew),
					r->ncols, ngettext("column", "columns", r->ncols), lsn_format(w->xact.commit_lsn, lsnbuf));
	if (m->action != MSG_INSERT && m->nkeycols > 0 && !m->key_null)
	{
		/* a partition's own replica identity */
		if ((rc = begin_batch(w)) != APPLY_OK)
			return rc;
		w->xact.sent = true;
		w->batch.rows++;
		return apply_by_partition_key(w, r, m);
	}
	if (m->action != MSG_INSERT && (m->key_null || m->nkey != r->nkey || r->nkey == 0))
	{
		rc = fail(w, APPLY_STOP, EXIT_APPLY, "could not apply %s on table \"%s.%s\" (source commit LSN %s): the change carries no usable key (replica identity \"%c\")",
				  action_name(m->action), r->schema, r->table,
				  lsn_format(w->xact.commit_lsn, lsnbuf), r->replident);
		/* nothing on the target can identify the row */
		w->hint = "Add a primary key or a replica identity to the table on the source, then run \"migration-split init --drop\" to copy the domain again.";
		return rc;
	}
	if ((rc = begin_batch(w)) != APPLY_OK)
		return rc;
	w->xact.sent = true;
	w->batch.rows++;
	if (m->action == MSG_INSERT)
		return apply_insert(w, r, m);
	if (m->action == MSG_UPDATE)
		return apply_update(w, r, m);
	return apply_delete(w, r, m);
}

/* O: a table joined or left the domain. */
static ApplyResult
handle_ownership(ApplyWorker *w, Message *m, unsigned long long data_start)
{
	char		lsnbuf[32];

	if (!w->xact.active)
		return fail(w, APPLY_STOP, EXIT_APPLY, "ownership message outside of a transaction (LSN %s)",
					lsn_format(data_start, lsnbuf));
	if (w->xact.skip)
		return APPLY_OK;
	if (w->in_progress)
		return fail(w, APPLY_STOP, EXIT_APPLY, "a table joins or leaves the domain in it");
	return apply_ownership(w, m);
}

/* T: tables truncated. */
static ApplyResult
handle_truncate(ApplyWorker *w, Message *m)
{
	ApplyResult rc;

	if (w->xact.skip)
		return APPLY_OK;
	if (w->in_progress)
		return fail(w, APPLY_STOP, EXIT_APPLY, "it truncates a table");
	if ((rc = begin_batch(w)) != APPLY_OK)
		return rc;
	w->xact.sent = true;
	return apply_truncate(w, m);
}

/*
 * Apply one message: dispatch to the handler of its kind.  data_start is
 * the LSN of the XLogData header.
 */
ApplyResult
apply_message(ApplyWorker *w, Message *m, unsigned long long data_start)
{
	ApplyResult rc;

	/* runs continue only through changes and transaction ends */
	if (m->action != MSG_INSERT && m->action != MSG_DELETE &&
		m->action != MSG_UPDATE && m->action != MSG_BEGIN && m->action != MSG_COMMIT &&
		(rc = run_flush(w)) != APPLY_OK)
		return rc;

	switch (m->action)
	{
		case MSG_BEGIN:
			return handle_begin(w, m, data_start);
		case MSG_COMMIT:
			return handle_commit(w, m, data_start);
		case MSG_RELATION:
			return apply_relation(w, m);
		case MSG_INSERT:
		case MSG_UPDATE:
		case MSG_DELETE:
			return handle_change(w, m, data_start);
		case MSG_OWNERSHIP:
			return handle_ownership(w, m, data_start);
		case MSG_TRUNCATE:
			return handle_truncate(w, m);
		default:
			/* M and anything newer: nothing to apply */
			return APPLY_OK;
	}
}

/*
 * An "R" message that another worker applied (adding columns, copying a
 * joining table): enter the relation into this worker's map only.
 */
ApplyResult
apply_learn_relation(ApplyWorker *w, Message *m)
{
	SourceXact	save = w->xact;
	ApplyResult rc;

	/* the run may point to the entry about to be rebuilt */
	if ((rc = run_flush(w)) != APPLY_OK)
		return rc;
	w->xact.skip = true;		/* no tablesync: the other worker did it */
	rc = apply_relation(w, m);
	w->xact = save;
	return rc;
}

/*
 * End the worker: close its connection (an open batch is rolled back by
 * the server) and free what it holds.
 */
void
apply_reset(ApplyWorker *w)
{
	int			i;

	/* before the map: run_discard reads the runs' entries and statements */
	run_discard_all(w);
	relmap_clear(&w->relmap);
	params_free(w);
	for (i = -1; i < RUN_PARKED; i++)
	{
		Coalescer  *c = i < 0 ? &w->run : &w->parked[i];

		pg_free(c->vals);
		pg_free(c->row_lsn);
		pg_free(c->row_xid);
		c->vals = NULL;
		c->row_lsn = c->row_xid = NULL;
	}
	pg_free(w->open_keys.hash);
	pg_free(w->open_keys.gen);
	w->open_keys.hash = NULL;
	w->open_keys.gen = NULL;
	w->open_keys.filled = 0;
	batch_clear(w);
	pg_free(w->batch.x_commit);
	pg_free(w->batch.x_rows);
	pg_free(w->batch.x_time);
	pg_free(w->batch.commit_time);
	w->batch.x_commit = NULL;
	w->batch.x_rows = NULL;
	w->batch.x_time = NULL;
	w->batch.commit_time = NULL;
	w->batch.capx = 0;
	w->xact.active = false;
	while (w->pipe.n > 0)
	{
		pending_release(&w->pipe.pending[w->pipe.head]);
		w->pipe.head = (w->pipe.head + 1) % PENDING_RING;
		w->pipe.n--;
	}
	w->pipe.head = 0;
	w->pipe.rows = 0;
	if (w->conn)
		PQfinish(w->conn);
	w->conn = NULL;
	/* the coordinator and live.c copy or print it before the reset */
	pg_free(w->error);
	w->error = NULL;
}

/*
 * Begin a source transaction that is still running on the source (live.c):
 * its commit LSN is not known yet, but it is above every LSN received so
 * far: the transaction counts as committed after the start position, and
 * a change of a table counts as committed after the table's snapshot when
 * the change itself comes after it (apply_change; a change before a
 * table's snapshot fails, and live.c applies the transaction at its
 * commit).  Its changes name the highest LSN in messages until
 * apply_commit_in_progress sets the real one.
 */
void
apply_begin_in_progress(ApplyWorker *w, unsigned long long xid)
{
	w->in_progress = true;
	w->xact.active = true;
	w->xact.skip = false;
	w->xact.sent = false;
	w->xact.xid = xid;
	w->xact.commit_lsn = (unsigned long long) -1;
	w->xact.rows = w->batch.rows;
}

/*
 * Send one statement of the job's own (SAVEPOINT, ROLLBACK TO SAVEPOINT)
 * in the open target transaction, after the changes before it.
 */
ApplyResult
apply_statement(ApplyWorker *w, const char *sql)
{
	ApplyResult rc;

	if ((rc = run_flush(w)) != APPLY_OK || (rc = begin_batch(w)) != APPLY_OK)
		return rc;
	return send_statement(w, sql, 0, NULL);
}

/*
 * Send everything queued (the coalescer's run included) without waiting
 * for the results.
 */
ApplyResult
apply_send_all(ApplyWorker *w)
{
	ApplyResult rc;

	if ((rc = run_flush(w)) != APPLY_OK)
		return rc;
	return apply_push(w);
}

/*
 * Send everything and wait until the target has applied it, checking every
 * result: afterwards the worker's backend runs nothing, so it waits for no
 * lock.
 */
ApplyResult
apply_wait_all(ApplyWorker *w)
{
	ApplyResult rc;

	if ((rc = run_flush(w)) != APPLY_OK)
		return rc;
	return pipe_sync(w);
}

/*
 * The streamed C of the transaction begun by apply_begin_in_progress:
 * record it with its real commit LSN and commit it, with its row of
 * applied_xacts, in the same target transaction.  APPLY_RECONNECT when the
 * connection went away (the COMMIT may or may not have happened), APPLY_STOP
 * when the target refused something (nothing was committed).
 */
ApplyResult
apply_commit_in_progress(ApplyWorker *w, Message *m, unsigned long long data_start)
{
	ApplyResult rc;

	if ((rc = run_flush(w)) != APPLY_OK)
		return rc;
	w->xact.commit_lsn = m->commit_lsn ? lsn_parse(m->commit_lsn) : data_start;
	if ((rc = handle_commit(w, m, data_start)) != APPLY_OK)
		return rc;
	rc = apply_flush(w);
	w->in_progress = false;
	return rc;
}
