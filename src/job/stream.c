/*-------------------------------------------------------------------------
 *
 * stream.c
 *		The "stream" subcommand: replication protocol loop.
 *
 * One session = a replication connection to the source, a target
 * connection for the job row, one for holds, and the apply workers' target
 * connections (coordinator.c, apply.c).  START_REPLICATION begins at the
 * position stored on the target; XLogData messages carry the plugin's JSON
 * messages, which the coordinator routes to the apply workers;
 * those of streamed in-progress transactions wait in a spool (spool.c)
 * until their streamed commit, and are then applied like one transaction,
 * except for one at a time, which is also applied while it runs on a
 * target connection of its own and committed at its streamed commit
 * (live.c).
 * Standby status updates report as flushed the end of the last source
 * commit that is committed on the target and whose commit there is flushed
 * to its WAL (coordinator.c, Durability), or, when nothing is in flight and
 * all is flushed, the server's own WAL end from keepalives (everything
 * before it that concerned the domain has been applied), so the slot
 * releases WAL even when the domain is quiet.
 *
 * When a session ends because a server went away, the next one starts
 * after a backoff (1 s doubling to 30 s); when apply.c asks to receive the
 * same transactions again (APPLY_REPLAY, to cut a batch before a column is
 * added), at once.  Errors of a session that never acquired the slot are
 * not recorded in the job row: the job holding the slot may be healthy.  Errors that retrying cannot fix
 * end the program with their exit code, after being recorded in the job row.
 *
 * --until-caught-up captures pg_current_wal_lsn() on the source when the
 * command starts and ends once the confirmed position has passed it with no
 * transaction in flight.
 *
 * Holds for verify: verify writes a hold into the job row (hold_lsn, see
 * state.c) and the stream, which reads it over a second target connection
 * at least every HOLD_POLL_MS, honours it between source transactions:
 * hold_lsn '0/0' pauses it before the next transaction; another hold_lsn H
 * lets it apply every transaction whose commit record starts before H and
 * stops it before the first that starts at or after H (seen at its BEGIN,
 * or, when nothing is in flight, known to be absent once the source's WAL
 * end passed H).  Having committed its batch, it acknowledges (held_lsn =
 * hold_lsn) and waits until the hold changes, is cleared, or expires.  The
 * target then holds exactly the source transactions committed before H.
 *
 * Shape (as PostgreSQL's apply worker): stream_session opens the session
 * and runs session_loop, a short read-dispatch-feedback loop: each copy
 * message goes to its handler (session_data, session_keepalive), a pause in
 * the stream to session_idle (commit, feedback, holds, caught up).  The
 * state of a session is in its StreamSession, what outlives sessions in
 * the StreamRun; every step returns an ApplyResult.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "common/logging.h"
#include "port/pg_bswap.h"

#include "job.h"
#include "apply.h"
#include "spool.h"
#include "live.h"
#include "receive.h"

#define SPOOL_FAILED		(-10)	/* spool file or spooled message unusable */

/*
 * A batch younger than this waits for more data before committing: at most
 * one commit per QUIET_MS under a trickle.  The worker goes on while its
 * COMMIT is in flight, so a short wait costs little apply time; with 20 ms
 * the lag of bench/job_lag.sh was 29 ms at p50, with 5 ms 17 ms.
 */
#define QUIET_MS			5

/* how often the job row is read for a hold of verify, at most */
#define HOLD_POLL_MS		100

/* microseconds between 2000-01-01 and 1970-01-01 */
#define PG_EPOCH_OFFSET_USEC	(946684800LL * 1000000LL)

/* a hold requested by verify, as last read from the job row */
typedef struct StreamHold
{
	PGconn	   *ctl;			/* second target connection, autocommit */
	const char *domain;
	bool		active;			/* requested and not expired */
	unsigned long long lsn;		/* 0: pause before the next transaction */
	unsigned long long ignored; /* a hold we are already past */
	double		last_poll;
} StreamHold;

/* What lasts as long as the stream command: options, position to reach. */
typedef struct StreamRun
{
	const JobOptions *given;
	ApplyShared shared;			/* the apply workers' */
	unsigned long long stop_lsn;	/* --until-caught-up target */
	unsigned long long position;	/* applied, as the last session ended */
	bool		connected;		/* a session reached both servers */
} StreamRun;

/* One session: the connections and what is in flight. */
typedef struct StreamSession
{
	StreamRun  *run;
	JobOptions	opts;			/* with the job's slot and target schema */
	PGconn	   *tgt;			/* autocommit: the job row */
	PGconn	   *repl;
	JobState	js;
	Coordinator *apply;
	Spool		spool;
	LiveApply	live;			/* a streamed transaction applied while it
								 * runs */
	Receiver	rcv;			/* splits batched writes into messages */
	StreamHold	hold;
	unsigned long long server_end;	/* WAL end seen while idle */
	unsigned long long received_lsn;
	unsigned long long last_reported;	/* the flushed position reported */
	unsigned long long last_written;	/* the written position reported */
	double		last_status;
	double		last_feedback;
	bool		progress;		/* something was applied */
	int			exit_code;		/* with APPLY_STOP */
} StreamSession;

unsigned long long
lsn_parse(const char *str)
{
	unsigned int hi,
				lo;

	if (str == NULL || sscanf(str, "%X/%X", &hi, &lo) != 2)
		return 0;
	return ((unsigned long long) hi << 32) | lo;
}

char *
lsn_format(unsigned long long lsn, char *buf)
{
	snprintf(buf, 32, "%X/%X", (unsigned int) (lsn >> 32), (unsigned int) lsn);
	return buf;
}

static long long
pg_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long) ts.tv_sec * 1000000LL + ts.tv_nsec / 1000 - PG_EPOCH_OFFSET_USEC;
}

static void
put64(char *p, unsigned long long v)
{
	v = pg_hton64(v);
	memcpy(p, &v, 8);
}

static unsigned long long
get64(const char *p)
{
	unsigned long long v;

	memcpy(&v, p, 8);
	return pg_ntoh64(v);
}

/*
 * The position up to which the source's transactions of the domain are
 * applied: when nothing is in flight, the server's WAL end (all before it
 * that concerned the domain is applied).
 */
static unsigned long long
applied_position(StreamSession *s)
{
	unsigned long long pos = coord_position(s->apply);

	if (coord_idle(s->apply) && s->server_end > pos)
		pos = s->server_end;
	return pos;
}

/*
 * The position that may be confirmed as flushed: as applied_position, but
 * only once what was applied is flushed on the target (coord_durable).
 */
static unsigned long long
confirmable_position(StreamSession *s)
{
	unsigned long long durable = coord_durable(s->apply);

	return durable == coord_position(s->apply) ? applied_position(s) : durable;
}

static bool
send_feedback(StreamSession *s, bool force)
{
	char		buf[1 + 8 * 4 + 1];
	unsigned long long flush = confirmable_position(s);
	unsigned long long write = Max(s->received_lsn, applied_position(s));
	PGconn	   *repl = s->repl;

	if (!force && flush == s->last_reported && write == s->last_written)
		return true;

	/*
	 * Written: received, or applied (committed on the target, perhaps not
	 * yet flushed there).  A walsender with nothing to send pings a client
	 * whose written and flushed positions are both behind what it has read
	 * (WalSndWaitForWal).  With the written position held back to the
	 * flushed one, one heartbeat in 25 of bench/job_lag.sh (TPC-B, 2,000
	 * tps) waited about 120 ms instead of 20; with this, 1 in 100 to 150.
	 */
	buf[0] = 'r';
	put64(buf + 1, write);		/* write */
	put64(buf + 9, flush);		/* flush */
	put64(buf + 17, flush);		/* apply */
	put64(buf + 25, (unsigned long long) pg_now_usec());
	buf[33] = 0;
	if (PQputCopyData(repl, buf, sizeof(buf)) <= 0 || PQflush(repl) != 0)
	{
		pg_log_warning("could not send feedback to the source: %s", job_error(repl));
		return false;
	}
	s->last_reported = flush;
	s->last_written = write;
	return true;
}

static void
print_status(StreamRun *run, unsigned long long position)
{
	char		b1[32];

	pg_log_info("domain %s: applied up to %s, %lld %s and %lld %s in this run",
				run->given->domain, lsn_format(position, b1),
				run->shared.stats.xacts, ngettext("transaction", "transactions", run->shared.stats.xacts),
				run->shared.stats.rows, ngettext("change", "changes", run->shared.stats.rows));
}

/*
 * The schemas of the domain's tables as of init, quoted and in init's order
 * (catalog.c sorts the tables by schema): the search_path init deparsed the
 * domain's DDL with.
 */
static char *
stream_source_search_path(PGconn *tgt, const char *domain)
{
	const char *params[1] = {domain};
	PGresult   *res;
	char	   *path;

	res = job_query(tgt, "target",
					"SELECT pg_catalog.string_agg(pg_catalog.quote_ident(s), ', ' ORDER BY s COLLATE \"C\")"
					" FROM (SELECT DISTINCT source_schema FROM " MS_STATE_SCHEMA ".tables"
					"       WHERE domain = $1) t(s)",
					1, params);
	path = pg_strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return path;
}

/* spool_replay's argument */
typedef struct ReplayArg
{
	Coordinator *apply;
	char	  **errmsg;			/* where a parse error goes */
} ReplayArg;

/*
 * Apply one spooled message of a streamed transaction (spool_replay's
 * callback).
 */
static int
replay_one(const char *data, int len, unsigned long long lsn, void *arg)
{
	ReplayArg  *ra = arg;
	Message		m;
	int			rc;

	if (!message_parse(data, len, &m, ra->errmsg))
		return SPOOL_FAILED;
	rc = coord_message(ra->apply, &m, lsn);
	message_free(&m);
	return rc;
}

/*
 * apply.c's wait hook: a status update to the source's walsender, which
 * nobody reads while the job waits for the target (a long wait would
 * otherwise exceed the source's wal_sender_timeout).
 */
static void
apply_wait_keepalive(void *arg)
{
	StreamSession *s = arg;

	send_feedback(s, true);
	live_check_blocking(&s->live, s->hold.ctl, s->apply);
}

/*
 * The read-ahead of apply.c's waits: the messages that arrived from the
 * source meanwhile go to the session's Receiver queue (receive.c).
 */
static bool
apply_wait_read_ahead(void *arg)
{
	StreamSession *s = arg;

	return receive_read_ahead(&s->rcv, s->repl);
}

/*
 * Route one message: blocks of streamed transactions (S ... E) go to their
 * spool, and those of the live transaction to live.c as well; A forgets
 * spooled changes (and rolls them back when live); a streamed C commits the
 * live transaction or applies the spooled one as one transaction;
 * everything else goes to the coordinator at once.  Returns an
 * ApplyResult, or SPOOL_FAILED with *errmsg set.
 */
static int
dispatch_message(Coordinator *apply, Spool *sp, LiveApply *live, Message *m,
				 const char *data, int len, unsigned long long lsn, char **errmsg)
{
	int			rc;

	switch (m->action)
	{
		case MSG_STREAM_START:
			return live_block_start(live, apply, spool_block_start(sp, m->xid));
		case MSG_STREAM_STOP:
			spool_block_end(sp);
			live_block_end(live);
			return APPLY_OK;
		case MSG_STREAM_ABORT:
			live_abort(live, m->xid, m->subxid);
			return spool_abort(sp, m->xid, m->subxid, errmsg) ? APPLY_OK : SPOOL_FAILED;
		default:
			break;
	}
	if (sp->current != NULL)
	{
		if (!spool_add(sp, m, data, len, lsn, errmsg))
			return SPOOL_FAILED;
		live_message(live, m, lsn);
		return APPLY_OK;
	}
	/* the workers apply nothing while the live backend runs something */
	live_drain(live);

	if (m->action == MSG_COMMIT && m->streamed)
	{
		Message		b;
		ReplayArg	ra = {apply, errmsg};
		bool		applied;

		if ((rc = live_commit(live, apply, m, lsn, &applied)) != APPLY_OK)
			return rc;
		if (applied)
		{
			spool_forget(sp, m->xid);
			return APPLY_OK;
		}

		/* the transaction as if it had arrived whole: B, its changes, C */
		memset(&b, 0, sizeof(b));
		b.action = MSG_BEGIN;
		b.xid = m->xid;
		b.commit_lsn = m->commit_lsn ? pg_strdup(m->commit_lsn) : NULL;
		b.commit_time = m->commit_time ? pg_strdup(m->commit_time) : NULL;
		rc = coord_message(apply, &b, lsn);
		message_free(&b);
		if (rc == APPLY_OK)
			rc = spool_replay(sp, m->xid, replay_one, &ra, errmsg);
		if (rc == -3)
			rc = SPOOL_FAILED;
		if (rc != APPLY_OK)
			return rc;
	}
	return coord_message(apply, m, lsn);
}

/*
 * START_REPLICATION failed: when because plugin and job speak different
 * protocol versions, say so with what to do, and return true.  A plugin
 * older than protocol versions (extension 1.0) refuses the option
 * proto-version as unknown; a newer or older versioned plugin names both
 * versions itself.
 */
static bool
protocol_refused(const PGresult *res, const char *slot)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (msg == NULL)
		return false;
	if (strstr(msg, "option \"" MS_OPT_PROTO_VERSION "\"") != NULL &&
		strstr(msg, "is unknown") != NULL)
	{
		pg_log_error("the output plugin of slot \"%s\" does not speak protocol version %d: it predates protocol versions (extension 1.0, protocol version 1)",
					 slot, MS_PROTOCOL_VERSION);
		pg_log_error_detail("The source answered: %s", msg);
		pg_log_error_hint("Install migration_split 1.1 on the source (the library, then ALTER EXTENSION migration_split UPDATE), or use the migration-split program of the source's release.");
		return true;
	}
	if (strstr(msg, "protocol version") != NULL &&
		strstr(msg, MS_PROTO_PLUGIN_NAME) != NULL)
	{
		pg_log_error("the output plugin of slot \"%s\" does not speak protocol version %d of this migration-split program",
					 slot, MS_PROTOCOL_VERSION);
		pg_log_error_detail("The source answered: %s", msg);
		pg_log_error_hint("Use the migration-split program of the same release as the migration_split library on the source.");
		return true;
	}
	return false;
}

/*
 * Read the hold of the job row.  Returns false when the target went away.
 */
static bool
hold_poll(StreamHold *h)
{
	const char *params[1] = {h->domain};
	PGresult   *res;

	h->last_poll = job_now_seconds();
	res = PQexecParams(h->ctl,
					   "SELECT hold_lsn, hold_expires_at > pg_catalog.now()"
					   " FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_warning("could not read the job's hold on the target: %s", job_error(h->ctl));
		PQclear(res);
		return false;
	}
	h->active = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
		PQgetvalue(res, 0, 1)[0] == 't';
	h->lsn = h->active ? lsn_parse(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	if (h->active && h->lsn != 0 && h->lsn == h->ignored)
		h->active = false;
	return true;
}

/*
 * Whether the stream must stop before a transaction whose commit record
 * starts at commit_lsn (0: when nothing is in flight and the source's WAL
 * end is known to be past "pos").  Polls the job row when due.
 */
static bool
hold_due(StreamSession *s, unsigned long long commit_lsn, bool *ok)
{
	StreamHold *h = &s->hold;
	unsigned long long applied = coord_position(s->apply);
	char		b1[32],
				b2[32];

	*ok = true;
	if (job_now_seconds() - h->last_poll >= HOLD_POLL_MS / 1000.0 && !(*ok = hold_poll(h)))
		return false;
	if (!h->active)
		return false;
	if (h->lsn == 0)
		return true;
	if (applied > h->lsn)
	{
		/* verify sees applied_lsn > hold_lsn and gives up on this one */
		pg_log_warning("cannot hold at %s for verify: already applied up to %s",
					   lsn_format(h->lsn, b1), lsn_format(applied, b2));
		h->ignored = h->lsn;
		h->active = false;
		return false;
	}
	return commit_lsn >= h->lsn;
}

/*
 * The batch is committed: acknowledge the hold and wait until it changes.
 * Feedback keeps the replication connection alive meanwhile; the messages
 * the source sends wait in the socket.  Returns false when a connection
 * went away.
 */
static bool
hold_wait(StreamSession *s)
{
	StreamHold *h = &s->hold;
	const char *params[2];
	char		b1[32];
	PGresult   *res;
	unsigned long long lsn = h->lsn;
	double		last_feedback = job_now_seconds();

	params[0] = h->domain;
	params[1] = lsn_format(lsn, b1);
	res = PQexecParams(h->ctl,
					   "UPDATE " MS_STATE_SCHEMA ".jobs SET held_lsn = hold_lsn"
					   " WHERE domain = $1 AND hold_lsn = $2::pg_catalog.pg_lsn",
					   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		pg_log_warning("could not acknowledge the hold on the target: %s", job_error(h->ctl));
		PQclear(res);
		return false;
	}
	PQclear(res);
	if (lsn == 0)
		pg_log_info("paused for verify at %s", lsn_format(coord_position(s->apply), b1));
	else
		pg_log_info("holding for verify at %s", b1);
	while (!job_interrupted)
	{
		pg_usleep(20000);
		if (job_now_seconds() - last_feedback >= 5)
		{
			if (!send_feedback(s, true))
				return false;
			last_feedback = job_now_seconds();
		}
		if (!hold_poll(h))
			return false;
		if (!h->active || h->lsn != lsn)
			break;
	}
	if (job_interrupted)
		return false;			/* the caller ends the session */
	pg_log_info("hold at %s released", lsn_format(lsn, b1));
	return true;
}


/* End the session with an exit code (APPLY_STOP). */
static ApplyResult
session_exit(StreamSession *s, int exit_code)
{
	s->exit_code = exit_code;
	return APPLY_STOP;
}

/*
 * Connect to both sides, check that they are the job's, and start
 * replication at the position stored on the target.
 */
static ApplyResult
session_open(StreamSession *s)
{
	StreamRun  *run = s->run;
	const JobOptions *given = run->given;
	JobOptions *opts = &s->opts;
	PGresult   *res;
	PQExpBufferData sql;
	char	   *qslot;
	char	   *qdomain;
	char		lsnbuf[32];
	int			code = EXIT_CONNECTION;
	int			attempt;
	ApplyResult rc;

	/*
	 * Until a session of this run has reached both servers, a connection
	 * that fails ends the run (exit 2), as in every other subcommand: a
	 * mistyped connection string, an unknown role or database, a wrong
	 * password or a server that is down when the command starts is not
	 * retried for ever.  Afterwards a lost server is reconnected with
	 * backoff.
	 */
	s->tgt = job_try_connect(opts->target, "target", false, !run->connected);
	if (s->tgt == NULL)
		return run->connected ? APPLY_RECONNECT : session_exit(s, EXIT_CONNECTION);
	job_require_writable(s->tgt, "target", opts->target, "stream", EXIT_TARGET);
	if (!job_set_apply_role(s->tgt, &code))
		return code == EXIT_CONNECTION ? APPLY_RECONNECT : session_exit(s, code);
	s->hold.ctl = job_try_connect(opts->target, "target", false, !run->connected);
	if (s->hold.ctl == NULL)
		return run->connected ? APPLY_RECONNECT : session_exit(s, EXIT_CONNECTION);
	state_ensure_columns(s->hold.ctl);
	if (!state_read_job(s->tgt, opts->domain, &s->js))
	{
		pg_log_error("domain \"%s\" has not been initialised on the target", opts->domain);
		pg_log_error_hint("Run \"migration-split init\" first.");
		return session_exit(s, EXIT_TARGET);
	}
	if (strcmp(s->js.phase, "streaming") != 0)
	{
		pg_log_error("init of domain \"%s\" is not finished (phase \"%s\")", opts->domain, s->js.phase);
		pg_log_error_hint("Run \"migration-split init\" again to finish it.");
		return session_exit(s, EXIT_TARGET);
	}
	/* slot and target schema: those of init unless given */
	if (!given->slot_given)
		opts->slot = s->js.slot_name;
	if (!given->target_schema_given)
		opts->target_schema = s->js.target_schema;
	if (strcmp(s->js.slot_name, opts->slot) != 0 || strcmp(s->js.target_schema, opts->target_schema) != 0)
	{
		pg_log_error("the job of domain \"%s\" uses slot \"%s\" and target schema \"%s\"",
					 opts->domain, s->js.slot_name, s->js.target_schema);
		pg_log_error_hint("Pass the same --slot and --target-schema as to init.");
		return session_exit(s, EXIT_USAGE);
	}

	s->repl = job_try_connect(opts->source, "source", true, !run->connected);
	if (s->repl == NULL)
		return run->connected ? APPLY_RECONNECT : session_exit(s, EXIT_CONNECTION);
	/* a reconnect of the forward stream: was the domain cut over meanwhile? */
	if (run->connected && given->guard_reverse)
		reverse_guard_forward(given, true);
	run->connected = true;
	job_require_primary(s->repl, opts->source, "stream");
	res = PQexec(s->repl, "IDENTIFY_SYSTEM");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_warning("IDENTIFY_SYSTEM failed on the source: %s", job_error(s->repl));
		PQclear(res);
		return APPLY_RECONNECT;
	}
	if (strcmp(PQgetvalue(res, 0, 0), s->js.system_id) != 0)
	{
		pg_log_error("the source (system identifier %s) is not the one domain \"%s\" was copied from (%s)",
					 PQgetvalue(res, 0, 0), opts->domain, s->js.system_id);
		pg_log_error_hint("Give --source the database init copied the domain from, or run init --drop to copy it again from this one.");
		PQclear(res);
		return session_exit(s, EXIT_TARGET);
	}
	PQclear(res);

	/*
	 * The plugin names column types with format_type, which qualifies a type
	 * that is not visible in the walsender's search_path.  Use the path init
	 * deparsed the domain's DDL with (the schemas of its tables), so that a
	 * type name in an "R" message means on the target what init created.
	 */
	{
		char	   *path = stream_source_search_path(s->tgt, opts->domain);
		char	   *setsql = psprintf("SET search_path = %s", path[0] ? path : "''");

		res = PQexec(s->repl, setsql);
		pg_free(setsql);
		pg_free(path);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			pg_log_warning("could not set search_path on the source: %s", job_error(s->repl));
			PQclear(res);
			return APPLY_RECONNECT;
		}
		PQclear(res);
	}

	if (opts->until_caught_up && run->stop_lsn == 0)
	{
		res = PQexec(s->repl, "SELECT pg_catalog.pg_current_wal_lsn()");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			pg_log_warning("could not read the source's WAL position: %s", job_error(s->repl));
			PQclear(res);
			return APPLY_RECONNECT;
		}
		run->stop_lsn = lsn_parse(PQgetvalue(res, 0, 0));
		PQclear(res);
		pg_log_info("streaming until the source's position %s is applied", lsn_format(run->stop_lsn, lsnbuf));
	}

	/* START_REPLICATION; the slot may still be held by a killed predecessor */
	qslot = job_quote_ident(s->repl, opts->slot);
	qdomain = job_quote_literal(s->repl, opts->domain);
	initPQExpBuffer(&sql);
	/* proto-version first: a plugin that does not know it stops there */
	appendPQExpBuffer(&sql, "START_REPLICATION SLOT %s LOGICAL %s (\"" MS_OPT_PROTO_VERSION "\" '" MS_PROTOCOL_VERSION_STR "',"
					  " \"" MS_OPT_DOMAIN "\" %s, \"" MS_OPT_INCLUDE_XIDS "\" 'on', \"" MS_OPT_INCLUDE_LSN "\" 'on',"
					  " \"" MS_OPT_INCLUDE_TIMESTAMP "\" 'on', \"" MS_OPT_STREAM_CHANGES "\" 'on',"
					  " \"" MS_OPT_BATCH_WRITES "\" 'on')",
					  qslot, s->js.applied_lsn ? s->js.applied_lsn : "0/0", qdomain);
	pg_free(qslot);				/* once per session: free, sessions repeat */
	pg_free(qdomain);
	for (attempt = 0;; attempt++)
	{
		const char *state;

		res = PQexec(s->repl, sql.data);
		if (PQresultStatus(res) == PGRES_COPY_BOTH)
			break;
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state && strcmp(state, "55006") == 0 && attempt < 20 && !job_interrupted)
		{
			/* in use: wait a little, it may be our own killed predecessor */
			PQclear(res);
			pg_usleep(500000);
			continue;
		}
		rc = APPLY_RECONNECT;
		if (protocol_refused(res, opts->slot))
			rc = session_exit(s, EXIT_SERVER);
		else if (state && (strcmp(state, "55006") == 0 || strcmp(state, "42704") == 0))
		{
			pg_log_error("could not start streaming from slot \"%s\": %s", opts->slot, job_error(s->repl));
			if (strcmp(state, "55006") == 0)
				pg_log_error_hint("Another migration-split stream for this domain is running.");
			else
				pg_log_error_hint("The slot was dropped; run init --drop to start over.");

			/*
			 * Not recorded in the job row: this run never held the slot, and
			 * the job that does may be running fine.
			 */
			rc = session_exit(s, EXIT_SLOT);
		}
		else
		{
			pg_log_warning("could not start streaming from slot \"%s\": %s", opts->slot, job_error(s->repl));
			if (state && strncmp(state, "08", 2) != 0 && strncmp(state, "57P", 3) != 0 &&
				PQstatus(s->repl) == CONNECTION_OK)
				rc = session_exit(s, EXIT_SERVER);
		}
		PQclear(res);
		termPQExpBuffer(&sql);
		return rc;
	}
	PQclear(res);
	termPQExpBuffer(&sql);
	pg_log_info("streaming domain \"%s\" from slot \"%s\" at %s", opts->domain, opts->slot,
				s->js.applied_lsn ? s->js.applied_lsn : "0/0");

	run->shared.opts = opts;
	live_init(&s->live, opts, &run->shared);
	s->apply = coord_start(s->tgt, &run->shared, s->js.applied_lsn, &rc);
	if (rc != APPLY_OK)
	{
		if (rc == APPLY_STOP)
			s->exit_code = coord_exit_code(s->apply);
		return rc;
	}
	apply_set_wait_hook(&run->shared, apply_wait_keepalive, s);
	apply_set_read_ahead(&run->shared, PQsocket(s->repl), apply_wait_read_ahead);
	if (!hold_poll(&s->hold))
		return APPLY_RECONNECT;
	s->last_reported = s->last_written = 0;
	s->server_end = 0;
	send_feedback(s, true);
	return APPLY_OK;
}

/*
 * Interrupted while the target had not committed the batch (the apply
 * waited for a lock and was cancelled, see apply.c's wait_for_result, or
 * the target went away): the batch was rolled back and nothing of it is
 * recorded, so the next run applies it again.  Not an error of the job.
 */
static ApplyResult
session_interrupted_rolled_back(StreamSession *s)
{
	pg_log_info("interrupted; the changes not yet committed on the target were rolled back, the next run applies them");
	return session_exit(s, EXIT_INTERRUPTED);
}

/*
 * The apply failed: a lost target connection (or a deadlock or
 * serialization failure, see apply.c's transient_error) ends the session, a replay
 * starts the next one at once, anything else ends the job after the error
 * is recorded in the job row.
 */
static ApplyResult
session_apply_failed(StreamSession *s, ApplyResult arc)
{
	const char *err = coord_error(s->apply);

	if (arc == APPLY_RECONNECT && job_interrupted)
		return session_interrupted_rolled_back(s);
	if (arc == APPLY_RECONNECT)
	{
		pg_log_warning("streaming again from the applied position after a failure on the target: %s", err);
		return APPLY_RECONNECT;
	}
	if (arc == APPLY_REPLAY)
	{
		pg_log_info("%s", err);
		return APPLY_REPLAY;
	}
	pg_log_error("%s", err);
	/* a target that turned read-only: say so; the error cannot be recorded */
	if (job_explain_read_only(s->hold.ctl, s->opts.target, "stream"))
		return session_exit(s, EXIT_TARGET);
	if (coord_hint(s->apply))
		pg_log_error_hint("%s", coord_hint(s->apply));
	else
		pg_log_error_hint("The job stopped before this change; nothing after it was applied. Fix the target and run stream again.");
	state_record_error(s->tgt, s->opts.domain, err);
	return session_exit(s, coord_exit_code(s->apply));
}

/* Wait for the source's socket at most timeout_us; false if it went away. */
static bool
session_wait_source(StreamSession *s, long timeout_us, bool *readable)
{
	int			sock = PQsocket(s->repl);
	fd_set		fds;
	struct timeval tv;
	int			n;

	FD_ZERO(&fds);
	FD_SET(sock, &fds);
	tv.tv_sec = timeout_us / 1000000;
	tv.tv_usec = timeout_us % 1000000;
	n = select(sock + 1, &fds, NULL, NULL, &tv);
	if (n < 0 && errno != EINTR)
	{
		pg_log_warning("select() failed: %m");
		return false;
	}
	*readable = n > 0;
	if (PQconsumeInput(s->repl) == 0)
	{
		pg_log_warning("lost the connection to the source: %s", job_error(s->repl));
		return false;
	}
	return true;
}

/*
 * Nothing to read: commit, unless the batch is younger than QUIET_MS and
 * more data arrives meanwhile.  Committing at every momentary gap would
 * mean one fsync per few changes when the decoder is just slower than we
 * are; never committing in gaps would make a steady trickle wait for
 * --batch-time.  Then report, honour a hold, end when caught up, and wait.
 */
static ApplyResult
session_idle(StreamSession *s)
{
	const JobOptions *opts = &s->opts;
	ApplyResult arc;
	bool		hold_ok = true;
	bool		readable;
	char		lsnbuf[32];

	if (!coord_in_xact(s->apply) && !coord_idle(s->apply))
	{
		double		wait_ms = QUIET_MS - coord_batch_age_ms(s->apply);

		if (wait_ms > 0)
		{
			if (!session_wait_source(s, (long) (wait_ms * 1000), &readable))
				return APPLY_RECONNECT;
			if (readable && !coord_batch_due(s->apply))
				return APPLY_OK;
		}
		if ((arc = coord_flush(s->apply)) != APPLY_OK)
			return session_apply_failed(s, arc);
	}
	send_feedback(s, false);
	if (coord_idle(s->apply) && hold_due(s, applied_position(s), &hold_ok))
	{
		/* nothing in flight, and everything before the hold applied */
		return hold_wait(s) ? APPLY_OK : APPLY_RECONNECT;
	}
	if (!hold_ok)
		return APPLY_RECONNECT;
	if (opts->until_caught_up && s->run->stop_lsn > 0 && coord_idle(s->apply) &&
		applied_position(s) >= s->run->stop_lsn)
	{
		if ((arc = coord_make_durable(s->apply)) != APPLY_OK)
			return session_apply_failed(s, arc);
		send_feedback(s, true);
		pg_log_info("caught up: applied everything up to %s", lsn_format(confirmable_position(s), lsnbuf));
		return session_exit(s, EXIT_OK);
	}
	if (opts->status_interval > 0 && job_now_seconds() - s->last_status >= opts->status_interval)
	{
		print_status(s->run, coord_position(s->apply));
		s->last_status = job_now_seconds();
	}
	if (job_now_seconds() - s->last_feedback > 10)
	{
		send_feedback(s, true);
		s->last_feedback = job_now_seconds();
	}
	/* short: a hold of verify is noticed while idle too */
	return session_wait_source(s, HOLD_POLL_MS * 1000L, &readable) ? APPLY_OK : APPLY_RECONNECT;
}

/*
 * XLogData: one message of the plugin.  A hold (verify) stops the stream
 * before a transaction that commits at or after its position: before its
 * BEGIN, or before the commit of a streamed transaction, whose changes
 * wait in the spool until then.
 */
static ApplyResult
session_data(StreamSession *s, char *buf, int len)
{
	unsigned long long data_start = get64(buf + 1);
	Message		m;
	char	   *perr = NULL;
	char		lsnbuf[32];
	int			arc = APPLY_OK;

	if (data_start > s->received_lsn)
		s->received_lsn = data_start;
	if (!message_parse(buf + 25, len - 25, &m, &perr))
	{
		pg_log_error("%s (at LSN %s): %.*s", perr, lsn_format(data_start, lsnbuf),
					 Min(len - 25, 200), buf + 25);
		state_record_error(s->tgt, s->opts.domain, perr);
		return session_exit(s, EXIT_SERVER);
	}

	if (m.action == MSG_BEGIN || (m.action == MSG_COMMIT && m.streamed))
	{
		unsigned long long commit_lsn = m.commit_lsn ? lsn_parse(m.commit_lsn) : data_start;
		bool		hold_ok = true;

		while (hold_due(s, commit_lsn, &hold_ok))
		{
			if ((arc = coord_flush(s->apply)) != APPLY_OK)
				break;
			if (!hold_wait(s))
			{
				message_free(&m);
				return APPLY_RECONNECT;
			}
		}
		if (!hold_ok)
		{
			message_free(&m);
			return APPLY_RECONNECT;
		}
		if (arc != APPLY_OK)
		{
			message_free(&m);
			return session_apply_failed(s, arc);
		}
	}
	arc = dispatch_message(s->apply, &s->spool, &s->live, &m, buf + 25, len - 25, data_start, &perr);
	if (arc == APPLY_OK && m.action == MSG_COMMIT && coord_batch_due(s->apply))
		arc = coord_flush(s->apply);
	message_free(&m);
	if (arc == SPOOL_FAILED)
	{
		pg_log_error("%s (at LSN %s)", perr, lsn_format(data_start, lsnbuf));
		state_record_error(s->tgt, s->opts.domain, perr);
		return session_exit(s, EXIT_SERVER);
	}
	if (arc != APPLY_OK)
		return session_apply_failed(s, arc);
	s->progress = true;
	return APPLY_OK;
}

/* Primary keepalive: the server's WAL end, maybe a request to reply. */
static ApplyResult
session_keepalive(StreamSession *s, char *buf)
{
	unsigned long long wal_end = get64(buf + 1);
	bool		reply = buf[17] != 0;

	if (coord_idle(s->apply) && wal_end > s->server_end)
		s->server_end = wal_end;
	if (reply || coord_idle(s->apply))
		send_feedback(s, reply);
	return APPLY_OK;
}

/*
 * Interrupted: commit what is received, report it, stop.  A commit that
 * waits too long is cancelled (apply.c's wait_for_result); a change that
 * cannot be applied is reported as without the interrupt.
 */
static ApplyResult
session_interrupted(StreamSession *s)
{
	ApplyResult arc = coord_flush(s->apply);

	if (arc == APPLY_STOP)
		return session_apply_failed(s, arc);
	if (arc != APPLY_OK)
		return session_interrupted_rolled_back(s);
	send_feedback(s, true);
	pg_log_info("interrupted; everything received so far is applied");
	return session_exit(s, EXIT_INTERRUPTED);
}

/*
 * The read-dispatch-feedback loop of a session, until it ends.
 */
static ApplyResult
session_loop(StreamSession *s)
{
	for (;;)
	{
		char	   *buf = NULL;
		int			len;
		ApplyResult rc = APPLY_OK;
		PGresult   *res;

		if (job_interrupted)
			return session_interrupted(s);
		len = receive_copy_data(&s->rcv, s->repl, &buf);
		if (len == 0)
			rc = session_idle(s);
		else if (len == -1)
		{
			/* the server ended the COPY: slot dropped, shutdown, ... */
			res = PQgetResult(s->repl);
			pg_log_warning("replication stream from the source ended: %s",
						   PQresultStatus(res) == PGRES_COMMAND_OK ? "server ended streaming" : job_result_error(res));
			PQclear(res);
			return APPLY_RECONNECT;
		}
		else if (len < 0)
		{
			pg_log_warning("lost the connection to the source: %s", job_error(s->repl));
			return APPLY_RECONNECT;
		}
		else if (buf[0] == 'k' && len >= 18)
			rc = session_keepalive(s, buf);
		else if (buf[0] == 'w' && len >= 25)
			rc = session_data(s, buf, len);
		if (buf)
			PQfreemem(buf);
		if (rc != APPLY_OK)
			return rc;
	}
}

/*
 * One session: open, loop, close.  Returns APPLY_RECONNECT, APPLY_REPLAY
 * or APPLY_STOP with *exit_code; *progress is set when the session applied
 * something (the backoff then restarts).
 */
static ApplyResult
stream_session(StreamRun *run, int *exit_code, bool *progress)
{
	StreamSession s;
	ApplyResult rc;

	memset(&s, 0, sizeof(s));
	s.run = run;
	s.opts = *run->given;
	s.hold.domain = run->given->domain;
	s.last_status = job_now_seconds();

	rc = session_open(&s);
	if (rc == APPLY_OK)
		rc = session_loop(&s);

	*exit_code = s.exit_code;
	*progress = s.progress;
	if (s.apply)
		run->position = coord_position(s.apply);
	apply_set_wait_hook(&run->shared, NULL, NULL);
	apply_set_read_ahead(&run->shared, -1, NULL);
	receive_reset(&s.rcv);
	spool_reset(&s.spool);
	live_end(&s.live);
	coord_end(s.apply);
	PQfinish(s.repl);
	PQfinish(s.tgt);
	PQfinish(s.hold.ctl);
	state_free_job(&s.js);		/* sessions repeat: reconnects, catch-ups */
	return rc;
}

int
cmd_stream(const JobOptions *opts)
{
	StreamRun	run;
	int			failures = 0;
	int			delay = 1;

	memset(&run, 0, sizeof(run));
	run.given = opts;
	run.shared.opts = opts;
	for (;;)
	{
		bool		progress = false;
		int			code = EXIT_OK;
		ApplyResult rc = stream_session(&run, &code, &progress);

		if (rc == APPLY_REPLAY)
			continue;
		if (rc == APPLY_STOP)
		{
			/* after a failure, the error is what the user must read */
			if (code == EXIT_OK || code == EXIT_INTERRUPTED)
				print_status(&run, run.position);
			return code;
		}
		if (job_interrupted)
			return EXIT_INTERRUPTED;
		if (progress)
		{
			failures = 0;
			delay = 1;
		}
		failures++;
		if (opts->max_retries > 0 && failures > opts->max_retries)
		{
			pg_log_error("giving up after %d failed %s in a row (--max-retries)", opts->max_retries,
						 ngettext("reconnection", "reconnections", opts->max_retries));
			return EXIT_CONNECTION;
		}
		pg_log_info("reconnecting in %d s", delay);
		pg_usleep(delay * 1000000L);
		delay = Min(delay * 2, 30);
	}
}
