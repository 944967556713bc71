/*-------------------------------------------------------------------------
 *
 * slotcreate.c
 *		Creating a logical replication slot with an exported snapshot, with
 *		the wait for the source's running transactions made visible and
 *		bounded.
 *
 * Creating a logical slot waits until the snapshot builder reaches its
 * consistent point: until every transaction that held a transaction ID on
 * the source when the slot was started has ended (and, in the later steps
 * of the builder, those running at each of its next steps).  One idle
 * session in a transaction that wrote something keeps CREATE_REPLICATION_SLOT
 * waiting as long as it stays open, with nothing said.  So the command is
 * sent asynchronously on the replication connection and the result polled;
 * after SLOT_REPORT_DELAY seconds the transactions it may be waiting for are
 * looked up on a separate normal connection to the same source
 * (pg_locks: every transaction ID is held as an ExclusiveLock by its
 * session, or by a prepared transaction; pg_stat_activity for who, where
 * and since when; pg_blocking_pids() of the walsender for the one it waits
 * for right now) and reported with pg_log_info, once or every
 * report_every seconds.
 *
 * On timeout or on SIGINT/SIGTERM (job_interrupted) the command is
 * cancelled.  The walsender then drops the slot itself: an ephemeral
 * (permanent-to-be) or temporary slot that errors out during creation is
 * dropped by the walsender's error cleanup.  Should the slot be completed
 * just before the cancel arrives, it is dropped here with
 * DROP_REPLICATION_SLOT.  Either way nothing is left on the source.
 *
 * The caller owns both connections; a SlotCreate holds the request and the
 * outcome, allocated strings freed by slot_create_free().  Main thread
 * only (it prints).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <math.h>
#include <sys/select.h>

#include "common/logging.h"

#include "job.h"

/* seconds of waiting before the first report of the transactions waited for */
#define SLOT_REPORT_DELAY	2.0

/* transactions named in a report, at most (oldest first) */
#define SLOT_REPORT_MAX		5

/* milliseconds between two looks at the replication connection */
#define SLOT_POLL_MS		100

/*
 * The transactions holding a transaction ID on the source, other than our
 * own sessions ($1: the walsender creating the slot), oldest first: one row
 * per session (its top-level ID, the oldest it holds) and one per prepared
 * transaction (pid NULL, gid set).  Columns: pid, usename,
 * application_name, datname, state, seconds since the transaction began
 * (or was prepared), xid, gid, whether the walsender waits for it right
 * now, the number of rows before LIMIT.
 */
#define SLOT_BLOCKERS_SQL \
	"SELECT pid, usename, application_name, datname, state, secs, xid, gid, now_waited," \
	" pg_catalog.count(*) OVER ()" \
	" FROM (SELECT DISTINCT ON (l.pid, p.gid)" \
	"        l.pid, a.usename, a.application_name, a.datname, a.state," \
	"        pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.now()" \
	"          - COALESCE(a.xact_start, p.prepared))::pg_catalog.numeric) AS secs," \
	"        l.transactionid AS xid, p.gid," \
	"        COALESCE(l.pid, 0) = ANY (pg_catalog.pg_blocking_pids($1)) AS now_waited," \
	"        pg_catalog.age(l.transactionid) AS xid_age" \
	"       FROM pg_catalog.pg_locks l" \
	"       LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid" \
	"       LEFT JOIN pg_catalog.pg_prepared_xacts p ON p.transaction = l.transactionid" \
	"       WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted" \
	"        AND (l.pid IS NOT NULL OR p.gid IS NOT NULL)" \
	"        AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()" \
	"        AND l.pid IS DISTINCT FROM $1" \
	"       ORDER BY l.pid, p.gid, pg_catalog.age(l.transactionid) DESC) x" \
	" ORDER BY xid_age DESC, pid" \
	" LIMIT " CppAsString2(SLOT_REPORT_MAX)

/* append ", " unless buf is empty */
static void
append_sep(PQExpBuffer buf)
{
	if (buf->len > 0)
		appendPQExpBufferStr(buf, ", ");
}

/*
 * Look up the transactions the slot may be waiting for; sets sc->blockers
 * (their description, "" when none), sc->blocker_pids ("123, 456"),
 * sc->prepared_gids and sc->nblockers.  A failed query only loses the
 * explanation, so it is not fatal (and leaves the previous findings).
 */
static void
slot_find_blockers(SlotCreate *sc, int walsender_pid)
{
	char		pidbuf[16];
	const char *params[1] = {pidbuf};
	PGresult   *res;
	PQExpBufferData desc;
	PQExpBufferData pids;
	PQExpBufferData gids;
	int			i;

	snprintf(pidbuf, sizeof(pidbuf), "%d", walsender_pid);
	res = PQexecParams(sc->info, SLOT_BLOCKERS_SQL, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_debug("could not list the source's running transactions: %s", job_error(sc->info));
		PQclear(res);
		return;
	}
	initPQExpBuffer(&desc);
	initPQExpBuffer(&pids);
	initPQExpBuffer(&gids);
	for (i = 0; i < PQntuples(res); i++)
	{
		PQExpBufferData one;

		initPQExpBuffer(&one);
		if (!PQgetisnull(res, i, 7))
		{
			/* a prepared transaction: no session to end */
			appendPQExpBuffer(&one, "prepared transaction '%s' (xid %s",
							  PQgetvalue(res, i, 7), PQgetvalue(res, i, 6));
			if (!PQgetisnull(res, i, 5))
				appendPQExpBuffer(&one, ", prepared %s s ago", PQgetvalue(res, i, 5));
			append_sep(&gids);
			appendPQExpBuffer(&gids, "'%s'", PQgetvalue(res, i, 7));
		}
		else
		{
			/* what pg_stat_activity does not show this role is left out */
			appendPQExpBuffer(&one, "pid %s (", PQgetvalue(res, i, 0));
			if (!PQgetisnull(res, i, 1))
				appendPQExpBuffer(&one, "user \"%s\", ", PQgetvalue(res, i, 1));
			if (!PQgetisnull(res, i, 2) && PQgetvalue(res, i, 2)[0] != '\0')
				appendPQExpBuffer(&one, "application \"%s\", ", PQgetvalue(res, i, 2));
			if (!PQgetisnull(res, i, 3))
				appendPQExpBuffer(&one, "database \"%s\", ", PQgetvalue(res, i, 3));
			if (!PQgetisnull(res, i, 4))
				appendPQExpBuffer(&one, "%s, ", PQgetvalue(res, i, 4));
			if (!PQgetisnull(res, i, 5))
				appendPQExpBuffer(&one, "transaction started %s s ago, ", PQgetvalue(res, i, 5));
			appendPQExpBuffer(&one, "xid %s", PQgetvalue(res, i, 6));
			append_sep(&pids);
			appendPQExpBufferStr(&pids, PQgetvalue(res, i, 0));
		}
		if (PQgetvalue(res, i, 8)[0] == 't')
			appendPQExpBufferStr(&one, ", waited for now");
		appendPQExpBufferChar(&one, ')');
		if (desc.len > 0)
			appendPQExpBufferStr(&desc, "; ");
		appendPQExpBufferStr(&desc, one.data);
		termPQExpBuffer(&one);
	}
	sc->nblockers = PQntuples(res) > 0 ? atoi(PQgetvalue(res, 0, 9)) : 0;
	if (sc->nblockers > PQntuples(res))
		appendPQExpBuffer(&desc, "; and %d more", sc->nblockers - PQntuples(res));
	PQclear(res);
	pg_free(sc->blockers);
	pg_free(sc->blocker_pids);
	pg_free(sc->prepared_gids);
	sc->blockers = desc.data;
	sc->blocker_pids = pids.data;
	sc->prepared_gids = gids.data;
}

/*
 * Say which transactions the slot is waiting for, with the caller's hint
 * (how long it goes on waiting).  Returns false when none was found (the
 * builder may be between two of its steps): nothing is printed then.
 */
static bool
slot_report_wait(SlotCreate *sc, int walsender_pid, double waited)
{
	slot_find_blockers(sc, walsender_pid);
	if (sc->nblockers == 0)
		return false;
	pg_log_info("creating replication slot \"%s\" on the source has waited %.0f s for %d transaction%s on the source to end",
				sc->slot, waited, sc->nblockers, sc->nblockers == 1 ? "" : "s");
	pg_log_info_detail(SLOT_WAIT_DETAIL, sc->blockers);
	if (sc->wait_hint)
		pg_log_info_hint("%s", sc->wait_hint);
	return true;
}

/* wait until "sock" is readable or ms milliseconds have passed (or a signal) */
static void
wait_readable(int sock, int ms)
{
	fd_set		fds;
	struct timeval tv;

	FD_ZERO(&fds);
	FD_SET(sock, &fds);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	/* EINTR (a signal) is fine: the caller looks at job_interrupted */
	(void) select(sock + 1, &fds, NULL, NULL, &tv);
}

/*
 * Cancel the slot creation running on sc->repl and wait for its end.  When
 * the slot was completed before the cancel arrived, drop it: the caller
 * gives up on it, and a permanent slot would otherwise stay and hold WAL.
 */
static void
slot_cancel(SlotCreate *sc)
{
	PGcancel   *cancel = PQgetCancel(sc->repl);
	char		errbuf[256];
	PGresult   *res;
	bool		created = false;

	if (cancel == NULL || !PQcancel(cancel, errbuf, sizeof(errbuf)))
		pg_log_warning("could not cancel the creation of replication slot \"%s\": %s",
					   sc->slot, cancel ? errbuf : "out of memory");
	if (cancel)
		PQfreeCancel(cancel);
	while ((res = PQgetResult(sc->repl)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			created = true;
		PQclear(res);
	}
	if (created)
	{
		char	   *qslot = job_quote_ident(sc->repl, sc->slot);
		char	   *sql = psprintf("DROP_REPLICATION_SLOT %s", qslot);
		int			attempt;

		/* the late cancel may still hit the first DROP: then once more */
		for (attempt = 0; attempt < 2; attempt++)
		{
			const char *state;

			res = PQexec(sc->repl, sql);
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (PQresultStatus(res) == PGRES_COMMAND_OK ||
				attempt == 1 || state == NULL || strcmp(state, "57014") != 0)
				break;
			PQclear(res);
		}
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			pg_log_warning("could not drop replication slot \"%s\" on the source: %s",
						   sc->slot, job_error(sc->repl));
		PQclear(res);
		pg_free(sql);
		pg_free(qslot);
	}
}

/*
 * Fill in the request of sc (its outcome empty): what every caller of
 * slot_create sets.
 */
void
slot_create_request(SlotCreate *sc, PGconn *repl, PGconn *info, const char *slot,
					bool temporary, double timeout, double report_every,
					const char *wait_hint)
{
	memset(sc, 0, sizeof(SlotCreate));
	sc->repl = repl;
	sc->info = info;
	sc->slot = slot;
	sc->temporary = temporary;
	sc->timeout = timeout;
	sc->report_every = report_every;
	sc->wait_hint = wait_hint;
}

/*
 * Create the slot described by sc (see the file header).  On SLOT_CREATED,
 * sc->lsn and sc->snapshot are set and the snapshot lives as long as
 * sc->repl sends no other command; on SLOT_FAILED sc->error holds the
 * server's error; on SLOT_TIMED_OUT and SLOT_INTERRUPTED the creation was
 * cancelled, no slot is left, and sc->blockers says what it waited for
 * (looked up at the moment of giving up).
 */
SlotCreateStatus
slot_create(SlotCreate *sc)
{
	PQExpBufferData sql;
	char	   *qslot = job_quote_ident(sc->repl, sc->slot);
	int			walsender = PQbackendPID(sc->repl);
	double		start = job_now_seconds();
	double		next_report = start + SLOT_REPORT_DELAY;
	bool		reported = false;
	SlotCreateStatus status = SLOT_CREATED;
	PGresult   *res;

	sc->lsn = sc->snapshot = NULL;
	sc->error = NULL;
	sc->nblockers = 0;
	initPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "CREATE_REPLICATION_SLOT %s %sLOGICAL %s (SNAPSHOT 'export')",
					  qslot, sc->temporary ? "TEMPORARY " : "", MS_PLUGIN_NAME);
	pg_free(qslot);
	pg_log_debug("source: %s", sql.data);
	if (!PQsendQuery(sc->repl, sql.data))
	{
		termPQExpBuffer(&sql);
		sc->error = PQmakeEmptyPGresult(sc->repl, PGRES_FATAL_ERROR);
		return SLOT_FAILED;
	}
	termPQExpBuffer(&sql);

	for (;;)
	{
		double		now;

		/* a lost connection ends the wait too: PQgetResult reports it */
		if (!PQconsumeInput(sc->repl) || !PQisBusy(sc->repl))
			break;
		now = job_now_seconds();
		if (job_interrupted || (sc->timeout > 0 && now - start >= sc->timeout))
		{
			status = job_interrupted ? SLOT_INTERRUPTED : SLOT_TIMED_OUT;
			slot_find_blockers(sc, walsender);
			slot_cancel(sc);
			sc->waited = job_now_seconds() - start;
			return status;
		}
		if (now >= next_report)
		{
			/* once (report_every 0) or periodically; retry soon if none seen */
			if (slot_report_wait(sc, walsender, now - start))
			{
				reported = true;
				next_report = sc->report_every > 0 ? now + sc->report_every : HUGE_VAL;
			}
			else
				next_report = now + (reported && sc->report_every > 0 ? sc->report_every : 1.0);
		}
		wait_readable(PQsocket(sc->repl), SLOT_POLL_MS);
	}

	sc->waited = job_now_seconds() - start;
	res = PQgetResult(sc->repl);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		sc->error = res;
		status = SLOT_FAILED;
	}
	else
	{
		sc->lsn = pg_strdup(PQgetvalue(res, 0, 1));
		sc->snapshot = pg_strdup(PQgetvalue(res, 0, 2));
		PQclear(res);
	}
	/* the end of the command: nothing else may be pending */
	while ((res = PQgetResult(sc->repl)) != NULL)
		PQclear(res);
	if (reported && status == SLOT_CREATED)
		pg_log_info("created replication slot \"%s\" after waiting %.0f s", sc->slot, sc->waited);
	return status;
}

/* free what slot_create allocated (not the request's own fields) */
void
slot_create_free(SlotCreate *sc)
{
	pg_free(sc->lsn);
	pg_free(sc->snapshot);
	pg_free(sc->blockers);
	pg_free(sc->blocker_pids);
	pg_free(sc->prepared_gids);
	if (sc->error)
		PQclear(sc->error);
	sc->lsn = sc->snapshot = sc->blockers = sc->blocker_pids = sc->prepared_gids = NULL;
	sc->error = NULL;
}

/*
 * The hint of a slot creation given up on: what ends the transactions it
 * waited for (sc->blocker_pids, sc->prepared_gids), as one sentence
 * fragment in a palloc'd string; "" when none was seen.
 */
char *
slot_blocker_hint(const SlotCreate *sc)
{
	PQExpBufferData buf;

	initPQExpBuffer(&buf);
	if (sc->blocker_pids && sc->blocker_pids[0])
	{
		bool		one = strchr(sc->blocker_pids, ',') == NULL;

		if (one)
			appendPQExpBuffer(&buf, "End the transaction of source process %s (COMMIT or ROLLBACK in that session, or on the source: SELECT pg_catalog.pg_terminate_backend(%s))",
							  sc->blocker_pids, sc->blocker_pids);
		else
			appendPQExpBuffer(&buf, "End the transactions of source processes %s (COMMIT or ROLLBACK in those sessions, or on the source: SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE pid IN (%s))",
							  sc->blocker_pids, sc->blocker_pids);
	}
	if (sc->prepared_gids && sc->prepared_gids[0])
	{
		bool		one = strchr(sc->prepared_gids, ',') == NULL;

		appendPQExpBuffer(&buf, "%s the prepared transaction%s %s on the source (COMMIT PREPARED or ROLLBACK PREPARED)",
						  buf.len > 0 ? "; end" : "End", one ? "" : "s", sc->prepared_gids);
	}
	return buf.data;
}
