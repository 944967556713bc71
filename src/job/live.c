/*-------------------------------------------------------------------------
 *
 * live.c
 *		A streamed in-progress transaction applied on the target while it
 *		still runs on the source, so that its target commit follows its
 *		source commit closely (as PostgreSQL's parallel apply does for
 *		streaming = parallel).
 *
 * At most one streamed transaction is applied live at a time: the first
 * one whose first block (S) arrives while no other is live.  It gets a
 * target connection of its own (an ApplyWorker in in_progress mode) and
 * one open target transaction:
 *
 *	S		the coordinator's workers commit first (coord_flush): changes of
 *			transactions committed on the source before this block are
 *			visible to it, and no open batch holds a lock it needs.
 *	changes	applied as they come; the first change of a subtransaction is
 *			preceded by SAVEPOINT (one per subtransaction, in order of their
 *			first changes, as the spool notes its offsets).
 *	E		everything is sent; the results are read before the workers
 *			get anything to apply (live_drain): while they apply, the live
 *			backend runs nothing, so it never waits for their locks.  Blocks
 *			that follow each other are applied without a wait between them,
 *			so that the target applies one while the source decodes the next.
 *	A		of a subtransaction: ROLLBACK TO the savepoint of the first
 *			subtransaction not older than it (spool.c explains why that is
 *			the cut), then RELEASE of that savepoint; of the transaction: the
 *			connection is closed (rolled back).
 *	C		the workers commit first; then the transaction's row of
 *			applied_xacts is inserted and it commits in the same target
 *			transaction (apply_commit_in_progress), and the coordinator moves
 *			the position over it.  If it was applied in an earlier session
 *			(its row exists), it is rolled back instead.
 *
 * Exactly once: nothing of the live transaction is committed before its
 * row of applied_xacts is, and a crash rolls the open transaction back;
 * the source then sends the whole transaction again (decoding restarts
 * before its first change, at the slot's restart_lsn, whatever position
 * was confirmed, as for PostgreSQL's subscriber).
 *
 * Fallback: every message of the live transaction is also spooled
 * (spool.c).  Whenever applying it live is not possible, the live
 * transaction is rolled back and it is applied from its spool at its
 * commit, as every other streamed transaction is: an error of any kind on
 * the live connection (the ordinary path then reports it, with the commit
 * LSN), a relation message that would need DDL or a table copy, a TRUNCATE
 * or an ownership event, and a lock wait: a worker's statement waiting for
 * a lock the live transaction holds (a target trigger writing one row for
 * both, a unique index the source lacks) would make the job wait for the
 * worker forever, since the live transaction only ends at a message the job
 * no longer reads.  While a worker waits, apply.c's wait hook calls
 * live_check_blocking about every second; when the live backend is among
 * the backends blocking a worker's (directly or through others), the live
 * transaction is rolled back and the worker goes on.
 *
 * Memory: the worker's pipeline and relation map, the savepoint list;
 * freed when the transaction ends.  State in the LiveApply of the session.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"

#include "job.h"
#include "live.h"

/* workers whose backends the lock check looks at, at most */
#define LIVE_MAX_PIDS		64

/* Set up the session's live apply (nothing is open yet). */
void
live_init(LiveApply *l, const JobOptions *opts, ApplyShared *shared)
{
	memset(l, 0, sizeof(LiveApply));
	l->opts = opts;
	l->shared = shared;
	l->enabled = !opts->spool_streamed;
}

/* Close the live transaction's connection (rolling it back) and forget it. */
static void
live_close(LiveApply *l)
{
	apply_reset(&l->w);			/* frees w.error too */
	memset(&l->w, 0, sizeof(ApplyWorker));
	sync_list_free(&l->sync);
	l->active = l->in_block = l->busy = l->unsynced = false;
	l->xid = 0;
	l->nsubs = 0;
}

/*
 * Give up applying the transaction live: roll it back; it is applied from
 * its spool at its commit.
 */
static void
live_fallback(LiveApply *l, const char *why)
{
	pg_log_info("streamed transaction %llu is applied at its commit instead of while it runs: %s",
				l->xid, why ? why : "the target failed");
	live_close(l);
}

/*
 * Open the live transaction of top-level xid on a new target connection.
 * Returns false (nothing open) when the connection cannot be set up.
 */
static bool
live_begin(LiveApply *l, unsigned long long xid)
{
	PGconn	   *conn = job_connect(l->opts->target, "target", false, false);
	int			code;

	if (conn == NULL)
		return false;
	if (!job_set_apply_role(conn, &code) ||
		!sync_list_load(&l->sync, conn, l->opts->domain))
	{
		PQfinish(conn);
		sync_list_free(&l->sync);
		return false;
	}
	l->w.id = -1;				/* not a worker of the coordinator */
	l->xid = xid;
	l->active = true;
	if (apply_start(&l->w, conn, l->shared, &l->sync, NULL) != APPLY_OK)
	{
		live_fallback(l, l->w.error);
		return false;
	}
	apply_begin_in_progress(&l->w, xid);
	pg_log_debug("applying streamed transaction %llu while it runs on the source", xid);
	return true;
}

/*
 * S: a block of the streamed transaction of spool t begins.  It is applied
 * live when it is the live transaction, or when it is a new transaction and
 * none is live; then the workers commit first.  Returns the coordinator's
 * result (an error of the live apply only makes it fall back).
 */
ApplyResult
live_block_start(LiveApply *l, Coordinator *c, SpoolTxn *t)
{
	bool		first = l->enabled && !l->active && t->nblocks == 1;
	ApplyResult rc;

	if (!first && !(l->active && l->xid == t->xid))
		return APPLY_OK;
	if ((rc = coord_flush(c)) != APPLY_OK)
		return rc;
	if (first)
	{
		if (!live_begin(l, t->xid))
			return APPLY_OK;
	}
	else if (!l->active)
		return APPLY_OK;		/* fell back while the workers committed */
	l->in_block = true;
	return APPLY_OK;
}

/*
 * Before the first change of a subtransaction: its savepoint.  Returns
 * false after falling back.
 */
static bool
live_savepoint(LiveApply *l, unsigned long long subxid)
{
	char		sql[64];
	int			i;

	for (i = 0; i < l->nsubs; i++)
		if (l->subs[i].xid == subxid)
			return true;
	if (l->nsubs == l->capsubs)
	{
		l->capsubs = l->capsubs ? l->capsubs * 2 : 8;
		l->subs = pg_realloc(l->subs, sizeof(LiveSub) * l->capsubs);
	}
	l->subs[l->nsubs].xid = subxid;
	l->subs[l->nsubs].rows = l->w.batch.rows;
	l->nsubs++;
	snprintf(sql, sizeof(sql), "SAVEPOINT ms_sub_%llu", subxid);
	if (apply_statement(&l->w, sql) != APPLY_OK)
	{
		live_fallback(l, l->w.error);
		return false;
	}
	return true;
}

/* A message inside a block (already spooled): applied when live. */
void
live_message(LiveApply *l, Message *m, unsigned long long lsn)
{
	if (!l->in_block)
		return;
	l->busy = true;
	/* the subtransaction of a change, as spool_add tells them apart */
	if (m->action != MSG_RELATION && m->xid != 0 && m->xid != l->xid &&
		!live_savepoint(l, m->xid))
		return;
	if (apply_message(&l->w, m, lsn) != APPLY_OK)
	{
		live_fallback(l, l->w.error);
		return;
	}
	l->busy = false;
}

/* E: send everything of the block. */
void
live_block_end(LiveApply *l)
{
	if (!l->in_block)
		return;
	l->busy = true;
	if (apply_send_all(&l->w) != APPLY_OK)
	{
		live_fallback(l, l->w.error);
		return;
	}
	l->unsynced = true;
	l->in_block = l->busy = false;
}

/*
 * Before the coordinator's workers apply anything: wait until the target
 * has applied what was sent of the live transaction, and check it.
 */
void
live_drain(LiveApply *l)
{
	if (!l->active || !l->unsynced)
		return;
	l->busy = true;
	if (apply_wait_all(&l->w) != APPLY_OK)
	{
		live_fallback(l, l->w.error);
		return;
	}
	l->unsynced = l->busy = false;
}

/*
 * A: the live transaction (subxid 0 or xid) or one of its subtransactions
 * was rolled back on the source.
 */
void
live_abort(LiveApply *l, unsigned long long xid, unsigned long long subxid)
{
	char		sql[80];
	char		rel[80];
	int			i;

	if (!l->active || l->xid != xid)
		return;
	if (subxid == 0 || subxid == xid)
	{
		pg_log_debug("streamed transaction %llu aborted: rolled back on the target", xid);
		live_close(l);
		return;
	}
	/* the first savepoint of it or of a subtransaction started inside it */
	for (i = 0; i < l->nsubs; i++)
		if ((int) ((unsigned int) l->subs[i].xid - (unsigned int) subxid) >= 0)
			break;
	if (i == l->nsubs)
		return;					/* none of its changes was applied */
	/* then RELEASE it: back to the level before it, as the source is */
	snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT ms_sub_%llu", l->subs[i].xid);
	snprintf(rel, sizeof(rel), "RELEASE SAVEPOINT ms_sub_%llu", l->subs[i].xid);
	l->busy = true;
	if (apply_statement(&l->w, sql) != APPLY_OK || apply_statement(&l->w, rel) != APPLY_OK ||
		apply_wait_all(&l->w) != APPLY_OK)
	{
		live_fallback(l, l->w.error);
		return;
	}
	l->busy = l->unsynced = false;
	l->w.batch.rows = l->subs[i].rows;
	l->nsubs = i;
	pg_log_debug("subtransaction %llu of streamed transaction %llu rolled back on the target", subxid, xid);
}

/*
 * Streamed C: when m ends the live transaction, commit it (*applied set);
 * otherwise, or after falling back, the caller applies the spool.  Returns
 * APPLY_RECONNECT when the live connection went away during the commit
 * (whether it committed is then unknown: the next session knows from
 * applied_xacts), or the coordinator's result.
 */
ApplyResult
live_commit(LiveApply *l, Coordinator *c, Message *m, unsigned long long lsn,
			bool *applied)
{
	unsigned long long commit_lsn = m->commit_lsn ? lsn_parse(m->commit_lsn) : lsn;
	unsigned long long end_lsn = m->end_lsn ? lsn_parse(m->end_lsn) : lsn;
	long long	rows = l->w.batch.rows;
	char		lsnbuf[32];
	ApplyResult rc;

	*applied = false;
	if (!l->active || l->xid != m->xid)
		return APPLY_OK;
	if ((rc = coord_flush(c)) != APPLY_OK)
		return rc;
	if (!l->active)
		return APPLY_OK;		/* fell back while the workers committed */
	*applied = true;
	if (coord_applied_before(c, commit_lsn))
	{
		pg_log_debug("skipping streamed transaction %llu committed at %s, already applied",
					 l->xid, lsn_format(commit_lsn, lsnbuf));
		live_close(l);
		return coord_applied_elsewhere(c, commit_lsn, end_lsn);
	}
	l->busy = true;
	rc = apply_commit_in_progress(&l->w, m, lsn);
	l->busy = false;
	if (rc == APPLY_RECONNECT)
	{
		coord_set_error(c, APPLY_RECONNECT, 0, l->w.error ? l->w.error : "target connection lost");
		live_close(l);
		return APPLY_RECONNECT;
	}
	if (rc != APPLY_OK)
	{
		*applied = false;
		live_fallback(l, l->w.error);
		return APPLY_OK;
	}
	pg_log_info("streamed transaction %llu (%lld %s) was applied while it ran on the source; committed with source commit %s",
				l->xid, rows, ngettext("change", "changes", rows), lsn_format(commit_lsn, lsnbuf));
	live_close(l);
	return coord_applied_elsewhere(c, commit_lsn, end_lsn);
}

/*
 * apply.c's wait hook, while the job waits for a worker: if the live
 * transaction holds a lock a worker's backend waits for (directly or
 * through other backends), roll it back so that the worker can go on.
 * probe is an idle autocommit target connection.
 */
void
live_check_blocking(LiveApply *l, PGconn *probe, Coordinator *c)
{
	int			pids[LIVE_MAX_PIDS];
	int			n = coord_backend_pids(c, pids, LIVE_MAX_PIDS);
	PQExpBufferData arr;
	char		livepid[16];
	const char *params[2];
	PGresult   *res;
	bool		blocked;
	int			i;

	if (!l->active || l->busy || l->w.conn == NULL || n == 0 || probe == NULL)
		return;
	initPQExpBuffer(&arr);
	for (i = 0; i < n; i++)
		appendPQExpBuffer(&arr, "%c%d", i ? ',' : '{', pids[i]);
	appendPQExpBufferChar(&arr, '}');
	snprintf(livepid, sizeof(livepid), "%d", PQbackendPID(l->w.conn));
	params[0] = arr.data;
	params[1] = livepid;
	res = PQexecParams(probe,
					   "WITH RECURSIVE b(pid) AS ("
					   " SELECT p FROM pg_catalog.unnest($1::pg_catalog.int4[]) p"
					   " UNION SELECT x FROM b, pg_catalog.unnest(pg_catalog.pg_blocking_pids(b.pid)) x)"
					   " SELECT $2::pg_catalog.int4 IN (SELECT pid FROM b)",
					   2, NULL, params, NULL, NULL, 0);
	termPQExpBuffer(&arr);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_warning("could not check the target's lock waits: %s", job_error(probe));
		PQclear(res);
		return;
	}
	blocked = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (blocked)
		live_fallback(l, "another target connection of the job waits for a lock it holds");
}

/* The session ends: an open live transaction is rolled back. */
void
live_end(LiveApply *l)
{
	if (l->active)
		live_close(l);
	pg_free(l->subs);
	l->subs = NULL;
	l->capsubs = 0;
}
