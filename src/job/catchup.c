/*-------------------------------------------------------------------------
 *
 * catchup.c
 *		What "cutover" and "rollback" share: the printed account of their
 *		steps and of a failed preflight check, the freeze of a domain on
 *		one side, the catch-up of a stream to the freeze position, and the
 *		move of a sequence past the other side's value.
 *
 * cutover (monolith frozen, forward stream catches up to the service) and
 * rollback (service frozen, reverse stream catches up to the monolith) are
 * the same handover in two directions.  The parts here take the side they
 * act on as a connection and its name ("source", "target") and know
 * nothing of the direction; the callers keep what differs (preflights,
 * messages naming the sides, what to undo).
 *
 * Rules: everything runs in the main thread and exits the program on a
 * query error, as the query helpers of conn.c do.  The catch-up may run
 * "stream --until-caught-up" in this process: it bounds that run with
 * SIGALRM (job_deadline_arm: the alarm sets job_interrupted, the flag that
 * SIGINT and SIGTERM set), so a deadline and an interrupt end the stream
 * the same way and are told apart by the clock afterwards.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"

#include "job.h"

/*
 * One line of the step-by-step account of cutover and rollback: a step
 * that changes something, "would: " first with --dry-run (which prints the
 * steps and changes nothing).
 */
void
job_step(const JobOptions *opts, const char *fmt,...)
{
	va_list		ap;

	printf("%s", opts->dry_run ? "would: " : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/*
 * The error of a failed preflight check of cutover, rollback or finalize
 * ("preflight failed: " and the message), its detail (what was changed:
 * "Nothing was changed.", or the freeze undone) and its hint, if any, in
 * that order as the server reports them; the caller exits with
 * EXIT_PREFLIGHT or the code that fits.
 */
void
preflight_report(const char *detail, const char *hint, const char *fmt, va_list ap)
{
	char		msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pg_log_error("preflight failed: %s", msg);
	if (detail)
		pg_log_error_detail("%s", detail);
	if (hint)
		pg_log_error_hint("%s", hint);
}

/*
 * A failed check before anything changed: the error, "Nothing was
 * changed." and the hint, if any; exit with code.
 */
void
preflight_exit(int code, const char *hint, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	preflight_report("Nothing was changed.", hint, fmt, ap);
	va_end(ap);
	exit(code);
}

/*
 * One handover of a domain at a time: init, cutover, rollback and finalize
 * take this session-level advisory lock on the monolith (mono, named
 * what), keyed by the domain's name, before their preflight, and hold it
 * until they exit (the server releases it when the connection closes,
 * also after a crash of this program).  When another one holds it for
 * 5 s (the server process of a command killed just before may take a
 * moment to notice and exit): exit EXIT_PREFLIGHT, nothing changed.
 * Without the lock, a cutover run while a rollback was between its freeze
 * of the service and its end found the domain still extracted and unfroze
 * the service (both sides took writes), a second cutover waited in the
 * first one's freeze, and of two inits at once the second found the first
 * one's tables in the target schema.  The key is two hashes of text, so
 * two domains may share it (rarely): the message names the process
 * holding it.
 */
#define MS_HANDOVER_LOCK_TRIES 50	/* 100 ms apart */

void
catchup_lock_domain(PGconn *mono, const char *what, const char *domain,
					const char *command)
{
	const char *params[1] = {domain};
	char	   *got;
	char	   *holders;
	int			attempt;

	for (attempt = 0;; attempt++)
	{
		got = job_query_value(mono, what,
							  "SELECT pg_catalog.pg_try_advisory_lock("
							  "pg_catalog.hashtext('migration_split handover'), pg_catalog.hashtext($1))",
							  1, params);
		if (got != NULL && strcmp(got, "t") == 0)
			return;
		if (attempt >= MS_HANDOVER_LOCK_TRIES)
			break;
		pg_usleep(100000L);
	}
	holders = job_query_value(mono, what,
							  "SELECT pg_catalog.string_agg(l.pid::pg_catalog.text || COALESCE("
							  " ' (' || NULLIF(a.application_name, '') || ')', ''), ', ' ORDER BY l.pid)"
							  " FROM pg_catalog.pg_locks l"
							  " LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
							  " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
							  " AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d"
							  "                    WHERE d.datname = pg_catalog.current_database())"
							  " AND l.classid = pg_catalog.hashtext('migration_split handover')::pg_catalog.oid"
							  " AND l.objid = pg_catalog.hashtext($1)::pg_catalog.oid",
							  1, params);
	pg_log_error("preflight failed: another init, cutover, rollback or finalize of domain \"%s\" is running",
				 domain);
	pg_log_error_detail("Process %s holds the domain's handover lock in the %s database; nothing was changed.",
						holders ? holders : "(gone meanwhile)", what);
	pg_log_error_hint("Wait for it to end, then run %s again if it is still needed.", command);
	PQfinish(mono);
	exit(EXIT_PREFLIGHT);
}

/*
 * Freeze a domain with migration_split.freeze_domain() in one transaction
 * on conn, with lock_timeout = timeout seconds: the freeze waits for the
 * writers in flight, at most that long.  to is what the domain's writes go
 * to from now on, named in the freeze triggers' error; rollback is true
 * when the service is frozen to give the domain back to the monolith.
 * Returns conn's WAL insert position read after the commit: no write of
 * the domain commits on that side after it.  A lock timeout exits with
 * EXIT_CUTOVER_TIMEOUT (nothing changed); Ctrl-C during the wait cancels
 * the freeze and exits with EXIT_INTERRUPTED (nothing changed); another
 * error with its code.
 * where ("" or " in the service") completes the messages.
 */
char *
catchup_freeze(PGconn *conn, const char *what, const char *domain,
			   const char *to, bool rollback, int timeout, const char *where)
{
	const char *params[3];
	char		tbuf[32];
	PGresult   *res;

	job_command(conn, what, "BEGIN");
	snprintf(tbuf, sizeof(tbuf), "%d", timeout * 1000);
	params[0] = tbuf;
	PQclear(job_query(conn, what, "SELECT pg_catalog.set_config('lock_timeout', $1, true)", 1, params));
	params[0] = domain;
	params[1] = to;
	params[2] = rollback ? "true" : "false";
	/* Ctrl-C cancels the wait for the writers in flight */
	res = job_exec_interruptible(conn, "SELECT migration_split.freeze_domain($1, $2, $3::pg_catalog.bool)",
								 3, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		int			code = job_exit_code_for(res, conn);

		if (job_interrupted)
		{
			pg_log_error("interrupted while freezing domain \"%s\"%s", domain, where);
			pg_log_error_detail("The freeze was rolled back; nothing was changed.");
			PQclear(res);
			PQfinish(conn);
			exit(EXIT_INTERRUPTED);
		}
		pg_log_error("could not freeze domain \"%s\"%s: %s", domain, where, job_result_error(res));
		if (state && strcmp(state, "55P03") == 0)
		{
			pg_log_error_hint("A transaction writing to the domain%s stayed open for longer than --timeout; nothing was changed.",
							  where);
			code = EXIT_CUTOVER_TIMEOUT;
		}
		PQclear(res);
		PQfinish(conn);
		exit(code);
	}
	PQclear(res);
	job_command(conn, what, "COMMIT");
	return job_query_value(conn, what, "SELECT pg_catalog.pg_current_wal_lsn()", 0, NULL);
}

/*
 * Wait until slot (on conn) has confirmed lsn.  While a stream holds the
 * slot, poll it; while none does, run "stream --until-caught-up" here with
 * the options so (its own target position is taken after the freeze, so
 * at or past lsn), bounded by the deadline (job_now_seconds() clock).
 * during names the operation in messages ("cut-over", "rollback").
 * Returns EXIT_OK, EXIT_CUTOVER_TIMEOUT, EXIT_INTERRUPTED, EXIT_SLOT when
 * the slot is gone, or the exit code of a stream run here that failed.
 */
int
catchup_wait(PGconn *conn, const char *what, const char *slot, const char *lsn,
			 double deadline, const JobOptions *so, const char *during)
{
	const char *params[2] = {slot, lsn};

	for (;;)
	{
		PGresult   *res;
		bool		done;
		bool		active;

		res = job_query(conn, what,
						"SELECT confirmed_flush_lsn >= $2::pg_catalog.pg_lsn, active"
						" FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
						2, params);
		if (PQntuples(res) == 0)
		{
			PQclear(res);
			pg_log_error("replication slot \"%s\" disappeared during the %s", slot, during);
			return EXIT_SLOT;
		}
		done = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		active = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
		PQclear(res);
		if (done)
			return EXIT_OK;
		if (job_interrupted)
			return EXIT_INTERRUPTED;
		if (job_now_seconds() >= deadline)
			return EXIT_CUTOVER_TIMEOUT;
		if (!active)
		{
			JobOptions	run = *so;
			int			rc;

			run.until_caught_up = true;
			run.status_interval = 0;
			run.max_retries = 1;
			job_deadline_arm(deadline - job_now_seconds());
			rc = cmd_stream(&run);
			job_deadline_disarm();
			if (rc == EXIT_INTERRUPTED && job_now_seconds() >= deadline - 0.5)
			{
				job_interrupted = 0;	/* the deadline, not the user */
				return EXIT_CUTOVER_TIMEOUT;
			}
			if (rc != EXIT_OK)
				return rc;
			continue;
		}
		pg_usleep(5000);
	}
}

/*
 * The last value a sequence (seq: a regclass text) on conn has handed out,
 * or NULL when it has handed out none since its start.  Its last_value
 * alone (pg_sequences, pg_sequence_last_value()) is NULL also when the
 * next value was set without being used (ALTER SEQUENCE ... RESTART WITH,
 * setval(..., false), as after a load with explicit keys): then the value
 * before the next one counts, so that the other side's sequence is moved
 * past the keys the table may hold below it (with SELECT on the sequence;
 * without, its last_value).
 */
char *
sequence_last_used(PGconn *conn, const char *what, const char *seq)
{
	const char *params[1] = {seq};
	char	   *qualified;
	char	   *sql;
	char	   *v;

	/* without SELECT on it, only its last_value can be read */
	qualified = job_query_value(conn, what,
								"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)"
								" FROM pg_catalog.pg_class c"
								" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
								" WHERE c.oid = $1::pg_catalog.regclass"
								" AND pg_catalog.has_sequence_privilege(c.oid, 'SELECT')",
								1, params);
	if (qualified == NULL)
		return job_query_value(conn, what,
							   "SELECT pg_catalog.pg_sequence_last_value($1::pg_catalog.regclass)",
							   1, params);
	sql = psprintf("SELECT CASE WHEN s.is_called THEN s.last_value::pg_catalog.numeric"
				   "  WHEN s.last_value <> p.seqstart AND s.last_value::pg_catalog.numeric - p.seqincrement"
				   "   BETWEEN p.seqmin AND p.seqmax THEN s.last_value::pg_catalog.numeric - p.seqincrement END"
				   " FROM %s s, pg_catalog.pg_sequence p"
				   " WHERE p.seqrelid = $1::pg_catalog.regclass", qualified);
	v = job_query_value(conn, what, sql, 1, params);
	pg_free(sql);
	pg_free(qualified);
	return v;
}

/*
 * Plan the move of the sequence behind table.column on conn past another
 * side's last value: last + gap increments (of conn's sequence), checked
 * against its bounds, and never backwards (SEQUENCE_AHEAD when conn's own
 * value is there already).  table is schema-qualified and quoted.
 */
void
sequence_plan(PGconn *conn, const char *what, const char *table,
			  const char *column, const char *last, int gap, SequenceTarget *st)
{
	char		gbuf[32];
	const char *params[4] = {table, column, last, gbuf};
	PGresult   *res;

	memset(st, 0, sizeof(*st));
	snprintf(gbuf, sizeof(gbuf), "%d", gap);
	res = job_query(conn, what,
					"WITH s AS (SELECT pg_catalog.pg_get_serial_sequence($1, $2)::pg_catalog.regclass AS seq),"
					" q AS (SELECT s.seq, p.seqincrement AS inc, p.seqmin, p.seqmax,"
					"   pg_catalog.pg_sequence_last_value(s.seq) AS mine"
					"  FROM s JOIN pg_catalog.pg_sequence p ON p.seqrelid = s.seq),"
					" v AS (SELECT q.*, $3::numeric + $4::numeric * q.inc AS want FROM q)"
					" SELECT v.seq::pg_catalog.oid::pg_catalog.text, v.want,"
					"  v.mine IS NOT NULL AND (v.inc > 0 AND v.mine >= v.want OR v.inc < 0 AND v.mine <= v.want),"
					"  v.want BETWEEN v.seqmin AND v.seqmax FROM v",
					4, params);
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
		st->kind = SEQUENCE_NONE;
	else
	{
		st->seq = pg_strdup(PQgetvalue(res, 0, 0));
		st->value = pg_strdup(PQgetvalue(res, 0, 1));
		if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
			st->kind = SEQUENCE_AHEAD;
		else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
			st->kind = SEQUENCE_OUT_OF_BOUNDS;
		else
			st->kind = SEQUENCE_MOVE;
	}
	PQclear(res);
}

/* set a sequence planned SEQUENCE_MOVE by sequence_plan */
void
sequence_set(PGconn *conn, const char *what, const SequenceTarget *st)
{
	const char *params[2] = {st->seq, st->value};

	Assert(st->kind == SEQUENCE_MOVE);
	PQclear(job_query(conn, what,
					  "SELECT pg_catalog.setval($1::pg_catalog.oid::pg_catalog.regclass, $2::int8)", 2, params));
}
