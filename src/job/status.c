/*-------------------------------------------------------------------------
 *
 * status.c
 *		The "status" subcommand.
 *
 * Reads the job row on the target and, when --source is given, the slot on
 * the source.  Lag in bytes is the distance from the applied (or confirmed,
 * whichever is further) position to the source's current WAL position; lag
 * in seconds is the delay of the last applied source transaction: the time
 * it was committed on the target minus the time it committed on the source.
 *
 * After a cutover, the reverse stream (service to monolith, rollback.c)
 * is shown too, the same way with the sides swapped: its job row is in the
 * monolith (--source), its slot on the service (--target).  The forward
 * stream must not run then (rollback.c, reverse_guard_forward()): the phase
 * shown is "cut over", with whether the forward stream still runs, and the
 * forward lag is not shown (its slot no longer follows the monolith's WAL);
 * so too after a cutover without a reverse stream, and "final" after
 * finalize.  Without --source the target's view cannot tell: the job row's
 * phase.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"

#include "job.h"

/*
 * Append val to buf as a JSON string (null for NULL), escaped; shared by
 * the --json output of status and verify.
 */
void
json_append_string(PQExpBuffer buf, const char *val)
{
	const char *p;

	if (val == NULL)
	{
		appendPQExpBufferStr(buf, "null");
		return;
	}
	appendPQExpBufferChar(buf, '"');
	for (p = val; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			appendPQExpBuffer(buf, "\\%c", *p);
		else if ((unsigned char) *p < 0x20)
			appendPQExpBuffer(buf, "\\u%04x", (unsigned char) *p);
		else
			appendPQExpBufferChar(buf, *p);
	}
	appendPQExpBufferChar(buf, '"');
}

static void
json_str(PQExpBuffer buf, const char *key, const char *val, bool comma)
{
	appendPQExpBuffer(buf, "%s\"%s\": ", comma ? ", " : "", key);
	json_append_string(buf, val);
}

static void
json_raw(PQExpBuffer buf, const char *key, const char *val, bool comma)
{
	appendPQExpBuffer(buf, "%s\"%s\": %s", comma ? ", " : "", key, val ? val : "null");
}

/* the columns of the slot query of status_read_stream */
typedef enum SlotColumn
{
	SLOT_ACTIVE,
	SLOT_PID,
	SLOT_RESTART,
	SLOT_CONFIRMED,
	SLOT_RETAINED,
	SLOT_WALSTATUS
} SlotColumn;

/* one stream as status shows it: its job row, its slot, its lag */
typedef struct StreamStatus
{
	JobState	js;
	bool		slot_read;		/* the slot's side was connected */
	PGresult   *slotres;		/* one row when the slot exists */
	char	   *source_lsn;		/* the WAL position of the stream's source */
	char	   *lag_bytes;
	char	   *lag_seconds;
} StreamStatus;

/* a column of the stream's slot; NULL when SQL NULL or no slot */
static const char *
slot_value(const StreamStatus *st, SlotColumn col)
{
	if (st->slotres == NULL || PQntuples(st->slotres) != 1 ||
		PQgetisnull(st->slotres, 0, col))
		return NULL;
	return PQgetvalue(st->slotres, 0, col);
}

static bool
slot_exists(const StreamStatus *st)
{
	return st->slotres != NULL && PQntuples(st->slotres) == 1;
}

/*
 * Read a stream whose job row js was read from state_conn: the delay of
 * its last applied transaction, and with slot_conn (the stream's source,
 * or NULL) its slot and its lag in bytes.
 */
static void
status_read_stream(PGconn *state_conn, const char *state_what,
				   PGconn *slot_conn, const char *slot_what, StreamStatus *st)
{
	JobState   *js = &st->js;

	if (js->applied_at && js->applied_commit_time)
	{
		/* delay of the last applied transaction: apply time - commit time */
		const char *lp[2] = {js->applied_at, js->applied_commit_time};

		st->lag_seconds = job_query_value(state_conn, state_what,
										  "SELECT round(extract(epoch FROM $1::timestamptz - $2::timestamptz), 3)",
										  2, lp);
	}
	if (slot_conn == NULL)
		return;
	st->slot_read = true;
	{
		const char *sp[1] = {js->slot_name};

		st->slotres = job_query(slot_conn, slot_what,
								"SELECT active, active_pid, restart_lsn, confirmed_flush_lsn,"
								" pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::bigint,"
								" wal_status"
								" FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
								1, sp);
	}
	st->source_lsn = job_query_value(slot_conn, slot_what, "SELECT pg_catalog.pg_current_wal_lsn()", 0, NULL);
	{
		/* lag, computed on the state's side to reuse its pg_lsn arithmetic */
		const char *confirmed = slot_value(st, SLOT_CONFIRMED);
		const char *lp[3] = {st->source_lsn, js->applied_lsn ? js->applied_lsn : "0/0",
		confirmed ? confirmed : "0/0"};

		st->lag_bytes = job_query_value(state_conn, state_what,
										"SELECT GREATEST(pg_catalog.pg_wal_lsn_diff($1::pg_catalog.pg_lsn,"
										" GREATEST($2::pg_catalog.pg_lsn, $3::pg_catalog.pg_lsn)), 0)::bigint",
										3, lp);
	}
}

/* the fields of a stream in the --json object, after others */
static void
status_json_stream(PQExpBuffer b, const StreamStatus *st)
{
	const JobState *js = &st->js;
	char		num[32];

	json_str(b, "slot", js->slot_name, true);
	json_str(b, "applied_lsn", js->applied_lsn, true);
	json_str(b, "applied_commit_time", js->applied_commit_time, true);
	json_str(b, "applied_at", js->applied_at, true);
	snprintf(num, sizeof(num), "%lld", js->rows_applied);
	json_raw(b, "rows_applied", num, true);
	snprintf(num, sizeof(num), "%lld", js->xacts_applied);
	json_raw(b, "transactions_applied", num, true);
	json_str(b, "source_lsn", st->source_lsn, true);
	json_raw(b, "lag_bytes", st->lag_bytes, true);
	json_raw(b, "lag_seconds", st->lag_seconds, true);
	if (st->slot_read)
	{
		const char *active = slot_value(st, SLOT_ACTIVE);

		json_raw(b, "slot_exists", slot_exists(st) ? "true" : "false", true);
		json_raw(b, "slot_active", active ? (active[0] == 't' ? "true" : "false") : NULL, true);
		json_raw(b, "slot_active_pid", slot_value(st, SLOT_PID), true);
		json_str(b, "slot_restart_lsn", slot_value(st, SLOT_RESTART), true);
		json_str(b, "slot_confirmed_flush_lsn", slot_value(st, SLOT_CONFIRMED), true);
		json_raw(b, "slot_retained_wal_bytes", slot_value(st, SLOT_RETAINED), true);
		json_str(b, "slot_wal_status", slot_value(st, SLOT_WALSTATUS), true);
	}
}

/* the slot's line of the text output; where: "on the source", ... */
static void
status_print_slot(const char *label, const StreamStatus *st, const char *where)
{
#define OR_DASH(col) (slot_value(st, (col)) ? slot_value(st, (col)) : "-")
	if (slot_exists(st))
		printf("%s%s, %s%s%s, restart %s, confirmed %s, retains %s bytes of WAL (%s)\n",
			   label, st->js.slot_name, slot_value(st, SLOT_ACTIVE)[0] == 't' ? "active" : "inactive",
			   slot_value(st, SLOT_PID) ? " pid " : "", slot_value(st, SLOT_PID) ? slot_value(st, SLOT_PID) : "",
			   OR_DASH(SLOT_RESTART), OR_DASH(SLOT_CONFIRMED), OR_DASH(SLOT_RETAINED), OR_DASH(SLOT_WALSTATUS));
#undef OR_DASH
	else
		printf("%s%s MISSING %s\n", label, st->js.slot_name, where);
}

/* the last error line of the text output */
static void
status_print_error(const char *label, const JobState *js)
{
	printf("%s%s%s%s\n", label, js->last_error ? js->last_error : "none",
		   js->last_error_at ? " at " : "", js->last_error_at ? js->last_error_at : "");
}

int
cmd_status(const JobOptions *opts)
{
	PGconn	   *tgt;
	PGconn	   *src = NULL;
	StreamStatus fwd;
	StreamStatus rev;
	bool		has_rev = false;
	bool		cut_over = false;
	bool		fwd_running = false;
	bool		final = false;
	const char *phase;
	JobState   *js = &fwd.js;
	PGresult   *tabres;
	const char *params[1] = {opts->domain};
	int			ncopied = 0;
	int			i;

	memset(&fwd, 0, sizeof(fwd));
	memset(&rev, 0, sizeof(rev));
	tgt = job_connect(opts->target, "target", false, true);
	if (!state_read_job(tgt, opts->domain, js))
	{
		pg_log_error("domain \"%s\" has no job on the target", opts->domain);
		pg_log_error_hint("Run \"migration-split init\" first.");
		exit(EXIT_TARGET);
	}
	state_check_names(opts, js);
	tabres = job_query(tgt, "target",
					   "SELECT source_schema || '.' || source_table, state, rows_copied, sync_lsn"
					   " FROM " MS_STATE_SCHEMA ".tables WHERE domain = $1 ORDER BY 1",
					   1, params);
	for (i = 0; i < PQntuples(tabres); i++)
		if (strcmp(PQgetvalue(tabres, i, 1), "copied") == 0)
			ncopied++;

	if (opts->source)
	{
		char	   *sysid;

		src = job_connect(opts->source, "source", false, true);

		/*
		 * Another server's slot and WAL position would make the lag and the
		 * slot's state meaningless: refused, as stream and verify do.
		 */
		sysid = job_query_value(src, "source",
								"SELECT system_identifier::text FROM pg_catalog.pg_control_system()", 0, NULL);
		if (sysid == NULL || strcmp(sysid, js->system_id) != 0)
		{
			pg_log_error("the source (system identifier %s) is not the one domain \"%s\" was copied from (%s)",
						 sysid ? sysid : "?", opts->domain, js->system_id);
			pg_log_error_hint("Give --source the database init copied the domain from, or leave it out to see the target's view only.");
			exit(EXIT_TARGET);
		}
	}
	status_read_stream(tgt, "target", src, "source", &fwd);
	phase = js->phase;

	/* the reverse stream: its job row in the monolith, its slot on the service */
	if (src && state_read_job(src, opts->domain, &rev.js) &&
		strcmp(rev.js.slot_name, reverse_slot_name(opts->domain)) == 0)
	{
		has_rev = true;
		status_read_stream(src, "source", tgt, "target", &rev);
	}

	/*
	 * The domain's lifecycle in the monolith: once extracted (or final) the
	 * forward stream has ended, whatever the job row's phase says.
	 */
	if (src)
	{
		char	   *lstate = NULL;
		char	   *haslc = job_query_value(src, "source",
											"SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle') IS NOT NULL",
											0, NULL);

		if (haslc && strcmp(haslc, "t") == 0)
			lstate = job_query_value(src, "source",
									 "SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1",
									 1, params);
		if (lstate && strcmp(lstate, "extracted") == 0)
		{
			cut_over = true;
			phase = "cut over";
		}
		else if (lstate && strcmp(lstate, "final") == 0)
		{
			cut_over = true;
			final = true;
			phase = "final";
		}
	}
	if (cut_over)
	{
		const char *active = slot_value(&fwd, SLOT_ACTIVE);

		fwd_running = active != NULL && active[0] == 't';
		fwd.lag_bytes = NULL;
		fwd.lag_seconds = NULL;
	}

	if (opts->json)
	{
		PQExpBufferData b;
		char		num[32];

		initPQExpBuffer(&b);
		appendPQExpBufferChar(&b, '{');
		json_str(&b, "domain", opts->domain, false);
		json_str(&b, "phase", phase, true);
		json_str(&b, "target_schema", js->target_schema, true);
		snprintf(num, sizeof(num), "%d", PQntuples(tabres));
		json_raw(&b, "tables", num, true);
		snprintf(num, sizeof(num), "%d", ncopied);
		json_raw(&b, "tables_copied", num, true);
		status_json_stream(&b, &fwd);
		json_str(&b, "last_verify_at", js->last_verify_at, true);
		json_str(&b, "last_verify_lsn", js->last_verify_lsn, true);
		json_raw(&b, "last_verify_equal", js->last_verify_equal ?
				 (js->last_verify_equal[0] == 't' ? "true" : "false") : NULL, true);
		json_str(&b, "last_error", js->last_error, true);
		json_str(&b, "last_error_at", js->last_error_at, true);
		if (src)
		{
			/* null: no reverse stream (not cut over, or --no-reverse) */
			json_raw(&b, "forward_stream_running", cut_over ? (fwd_running ? "true" : "false") : NULL, true);
			appendPQExpBufferStr(&b, ", \"reverse\": ");
			if (has_rev)
			{
				appendPQExpBufferChar(&b, '{');
				json_str(&b, "target_schema", rev.js.target_schema, false);
				status_json_stream(&b, &rev);
				json_str(&b, "last_error", rev.js.last_error, true);
				json_str(&b, "last_error_at", rev.js.last_error_at, true);
				appendPQExpBufferChar(&b, '}');
			}
			else
				appendPQExpBufferStr(&b, "null");
		}
		appendPQExpBufferStr(&b, "}\n");
		fputs(b.data, stdout);
		termPQExpBuffer(&b);
	}
	else
	{
		printf("domain:                %s\n", opts->domain);
		if (!cut_over)
			printf("phase:                 %s\n", js->phase);
		else if (final)
			printf("phase:                 final (domain \"%s\" was cut over and finalized; the forward stream has ended)\n",
				   opts->domain);
		else if (fwd_running)
			printf("phase:                 cut over (domain \"%s\" is extracted; the forward stream still runs and must be stopped)\n",
				   opts->domain);
		else if (has_rev)
			printf("phase:                 cut over (domain \"%s\" is extracted; the forward stream is stopped, the reverse stream brings the service's writes to the monolith)\n",
				   opts->domain);
		else
			printf("phase:                 cut over (domain \"%s\" is extracted without a reverse stream; the forward stream has nothing more to apply)\n",
				   opts->domain);
		printf("target schema:         %s\n", js->target_schema);
		printf("tables copied:         %d of %d\n", ncopied, PQntuples(tabres));
		printf("applied up to:         %s (source commit at %s)\n",
			   js->applied_lsn ? js->applied_lsn : "-",
			   js->applied_commit_time ? js->applied_commit_time : "-");
		printf("rows applied:          %lld\n", js->rows_applied);
		printf("transactions applied:  %lld\n", js->xacts_applied);
		if (src)
		{
			printf("source WAL position:   %s\n", fwd.source_lsn);
			if (cut_over)
				printf("lag:                   - (the forward stream ends at the cutover)\n");
			else
				printf("lag:                   %s bytes, %s s\n", fwd.lag_bytes,
					   fwd.lag_seconds ? fwd.lag_seconds : "-");
			if (final && !slot_exists(&fwd))
				printf("slot:                  %s, dropped by finalize\n", js->slot_name);
			else
				status_print_slot("slot:                  ", &fwd, "on the source");
		}
		if (js->last_verify_at)
			printf("last verification:     %s at source position %s, on %s\n",
				   js->last_verify_equal && js->last_verify_equal[0] == 't' ? "equal" : "DIFFERENCES",
				   js->last_verify_lsn ? js->last_verify_lsn : "-", js->last_verify_at);
		else
			printf("last verification:     never\n");
		status_print_error("last error:            ", js);
		if (has_rev)
		{
			printf("reverse stream (service to monolith, state in the monolith):\n");
			printf("  applied up to:       %s (service commit at %s)\n",
				   rev.js.applied_lsn ? rev.js.applied_lsn : "-",
				   rev.js.applied_commit_time ? rev.js.applied_commit_time : "-");
			printf("  rows applied:        %lld\n", rev.js.rows_applied);
			printf("  service WAL position: %s\n", rev.source_lsn);
			printf("  lag:                 %s bytes, %s s\n", rev.lag_bytes,
				   rev.lag_seconds ? rev.lag_seconds : "-");
			status_print_slot("  slot:                ", &rev, "on the service");
			status_print_error("  last error:          ", &rev.js);
		}
		else if (src)
			printf("reverse stream:        none\n");
	}
	PQclear(tabres);
	if (fwd.slotres)
		PQclear(fwd.slotres);
	if (rev.slotres)
		PQclear(rev.slotres);
	if (src)
		PQfinish(src);
	PQfinish(tgt);
	return EXIT_OK;
}
