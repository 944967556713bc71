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

int
cmd_status(const JobOptions *opts)
{
	PGconn	   *tgt;
	PGconn	   *src = NULL;
	JobState	js;
	PGresult   *tabres;
	PGresult   *slotres = NULL;
	const char *params[1] = {opts->domain};
	int			ncopied = 0;
	int			i;
	char	   *lag_bytes = NULL;
	char	   *lag_seconds = NULL;
	char	   *source_lsn = NULL;
	char	   *slot_active = NULL;
	char	   *slot_pid = NULL;
	char	   *slot_restart = NULL;
	char	   *slot_confirmed = NULL;
	char	   *slot_retained = NULL;
	char	   *slot_walstatus = NULL;
	bool		slot_exists = false;

	tgt = job_connect(opts->target, "target", false, true);
	if (state_read_job(tgt, opts->domain, &js) && js.applied_at && js.applied_commit_time)
	{
		/* delay of the last applied transaction: apply time - commit time */
		const char *lp[2] = {js.applied_at, js.applied_commit_time};
		PGresult   *r = job_query(tgt, "target",
									"SELECT round(extract(epoch FROM $1::timestamptz - $2::timestamptz), 3)",
									2, lp);

		lag_seconds = pg_strdup(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (!state_read_job(tgt, opts->domain, &js))
	{
		pg_log_error("domain \"%s\" has no job on the target", opts->domain);
		pg_log_error_hint("Run \"migration-split init\" first.");
		exit(EXIT_TARGET);
	}
	tabres = job_query(tgt, "target",
					   "SELECT source_schema || '.' || source_table, state, rows_copied, sync_lsn"
					   " FROM " MS_STATE_SCHEMA ".tables WHERE domain = $1 ORDER BY 1",
					   1, params);
	for (i = 0; i < PQntuples(tabres); i++)
		if (strcmp(PQgetvalue(tabres, i, 1), "copied") == 0)
			ncopied++;

	if (opts->source)
	{
		const char *sp[3];
		PGresult   *lagres;

		src = job_connect(opts->source, "source", false, true);
		sp[0] = js.slot_name;
		slotres = job_query(src, "source",
							"SELECT active, active_pid, restart_lsn, confirmed_flush_lsn,"
							" pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::bigint,"
							" wal_status, pg_catalog.pg_current_wal_lsn()"
							" FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
							1, sp);
		if (PQntuples(slotres) == 1)
		{
			slot_exists = true;
#define G(c) (PQgetisnull(slotres, 0, (c)) ? NULL : PQgetvalue(slotres, 0, (c)))
			slot_active = G(0);
			slot_pid = G(1);
			slot_restart = G(2);
			slot_confirmed = G(3);
			slot_retained = G(4);
			slot_walstatus = G(5);
			source_lsn = G(6);
#undef G
		}
		else
		{
			PGresult   *r = job_query(src, "source", "SELECT pg_catalog.pg_current_wal_lsn()", 0, NULL);

			source_lsn = pg_strdup(PQgetvalue(r, 0, 0));
			PQclear(r);
		}
		/* lag, computed on the target to reuse its pg_lsn arithmetic */
		sp[0] = source_lsn;
		sp[1] = js.applied_lsn ? js.applied_lsn : "0/0";
		sp[2] = slot_confirmed ? slot_confirmed : "0/0";
		{
			const char *lp[3] = {sp[0], sp[1], sp[2]};

			lagres = job_query(tgt, "target",
							   "SELECT GREATEST(pg_catalog.pg_wal_lsn_diff($1::pg_catalog.pg_lsn,"
							   " GREATEST($2::pg_catalog.pg_lsn, $3::pg_catalog.pg_lsn)), 0)::bigint",
							   3, lp);
			lag_bytes = pg_strdup(PQgetvalue(lagres, 0, 0));
			PQclear(lagres);
		}
	}

	if (opts->json)
	{
		PQExpBufferData b;
		char		num[32];

		initPQExpBuffer(&b);
		appendPQExpBufferChar(&b, '{');
		json_str(&b, "domain", opts->domain, false);
		json_str(&b, "phase", js.phase, true);
		json_str(&b, "target_schema", js.target_schema, true);
		json_str(&b, "slot", js.slot_name, true);
		json_str(&b, "applied_lsn", js.applied_lsn, true);
		json_str(&b, "applied_commit_time", js.applied_commit_time, true);
		json_str(&b, "applied_at", js.applied_at, true);
		snprintf(num, sizeof(num), "%lld", js.rows_applied);
		json_raw(&b, "rows_applied", num, true);
		snprintf(num, sizeof(num), "%lld", js.xacts_applied);
		json_raw(&b, "transactions_applied", num, true);
		snprintf(num, sizeof(num), "%d", PQntuples(tabres));
		json_raw(&b, "tables", num, true);
		snprintf(num, sizeof(num), "%d", ncopied);
		json_raw(&b, "tables_copied", num, true);
		json_str(&b, "source_lsn", source_lsn, true);
		json_raw(&b, "lag_bytes", lag_bytes, true);
		json_raw(&b, "lag_seconds", lag_seconds, true);
		if (src)
		{
			json_raw(&b, "slot_exists", slot_exists ? "true" : "false", true);
			json_raw(&b, "slot_active", slot_active ? (slot_active[0] == 't' ? "true" : "false") : NULL, true);
			json_raw(&b, "slot_active_pid", slot_pid, true);
			json_str(&b, "slot_restart_lsn", slot_restart, true);
			json_str(&b, "slot_confirmed_flush_lsn", slot_confirmed, true);
			json_raw(&b, "slot_retained_wal_bytes", slot_retained, true);
			json_str(&b, "slot_wal_status", slot_walstatus, true);
		}
		json_str(&b, "last_verify_at", js.last_verify_at, true);
		json_str(&b, "last_verify_lsn", js.last_verify_lsn, true);
		json_raw(&b, "last_verify_equal", js.last_verify_equal ?
				 (js.last_verify_equal[0] == 't' ? "true" : "false") : NULL, true);
		json_str(&b, "last_error", js.last_error, true);
		json_str(&b, "last_error_at", js.last_error_at, true);
		appendPQExpBufferStr(&b, "}\n");
		fputs(b.data, stdout);
		termPQExpBuffer(&b);
	}
	else
	{
		printf("domain:                %s\n", opts->domain);
		printf("phase:                 %s\n", js.phase);
		printf("target schema:         %s\n", js.target_schema);
		printf("tables copied:         %d of %d\n", ncopied, PQntuples(tabres));
		printf("applied up to:         %s (source commit at %s)\n",
			   js.applied_lsn ? js.applied_lsn : "-",
			   js.applied_commit_time ? js.applied_commit_time : "-");
		printf("rows applied:          %lld\n", js.rows_applied);
		printf("transactions applied:  %lld\n", js.xacts_applied);
		if (src)
		{
			printf("source WAL position:   %s\n", source_lsn);
			printf("lag:                   %s bytes, %s s\n", lag_bytes, lag_seconds ? lag_seconds : "-");
			if (slot_exists)
				printf("slot:                  %s, %s%s%s, restart %s, confirmed %s, retains %s bytes of WAL (%s)\n",
					   js.slot_name, slot_active[0] == 't' ? "active" : "inactive",
					   slot_pid ? " pid " : "", slot_pid ? slot_pid : "",
					   slot_restart ? slot_restart : "-", slot_confirmed ? slot_confirmed : "-",
					   slot_retained ? slot_retained : "-", slot_walstatus ? slot_walstatus : "-");
			else
				printf("slot:                  %s MISSING on the source\n", js.slot_name);
		}
		if (js.last_verify_at)
			printf("last verification:     %s at source position %s, on %s\n",
				   js.last_verify_equal && js.last_verify_equal[0] == 't' ? "equal" : "DIFFERENCES",
				   js.last_verify_lsn ? js.last_verify_lsn : "-", js.last_verify_at);
		else
			printf("last verification:     never\n");
		printf("last error:            %s%s%s\n", js.last_error ? js.last_error : "none",
			   js.last_error_at ? " at " : "", js.last_error_at ? js.last_error_at : "");
	}
	PQclear(tabres);
	if (slotres)
		PQclear(slotres);
	if (src)
		PQfinish(src);
	PQfinish(tgt);
	return EXIT_OK;
}
