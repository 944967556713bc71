/*-------------------------------------------------------------------------
 *
 * state.c
 *		The job's own state on the target, in schema migration_split_job.
 *
 * One row per domain in migration_split_job.jobs (slot, source system
 * identifier, phase, last applied source commit, counters, last error) and
 * one row per table in migration_split_job.tables (copy state, the LSN of
 * the snapshot the table was copied at, its source OID), with one row per
 * column in migration_split_job.columns (its source attnum).  Source
 * transactions applied beyond the job row's position are recorded in
 * migration_split_job.applied_xacts in the same target transaction as their
 * changes: that is what makes the stream exactly-once (coordinator.c states
 * the invariant).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"

#include "job.h"

static const char *state_ddl =
"CREATE SCHEMA IF NOT EXISTS " MS_STATE_SCHEMA ";\n"
"CREATE TABLE IF NOT EXISTS " MS_STATE_SCHEMA ".jobs (\n"
"  domain text PRIMARY KEY,\n"
"  target_schema name NOT NULL,\n"
"  slot_name name NOT NULL,\n"
"  source_system_id text NOT NULL,\n"
"  source_database name NOT NULL,\n"
"  phase text NOT NULL CHECK (phase IN ('creating', 'copying', 'streaming')),\n"
"  consistent_lsn pg_catalog.pg_lsn,\n"
"  applied_lsn pg_catalog.pg_lsn,\n"
"  applied_commit_time timestamptz,\n"
"  applied_at timestamptz,\n"
"  rows_applied bigint NOT NULL DEFAULT 0,\n"
"  xacts_applied bigint NOT NULL DEFAULT 0,\n"
"  last_error text,\n"
"  last_error_at timestamptz,\n"
"  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
"  init_done_at timestamptz\n"
");\n"
"CREATE TABLE IF NOT EXISTS " MS_STATE_SCHEMA ".tables (\n"
"  domain text NOT NULL REFERENCES " MS_STATE_SCHEMA ".jobs ON DELETE CASCADE,\n"
"  source_schema name NOT NULL,\n"
"  source_table name NOT NULL,\n"
"  state text NOT NULL CHECK (state IN ('pending', 'copied')),\n"
"  sync_lsn pg_catalog.pg_lsn,\n"
"  rows_copied bigint,\n"
"  bytes_copied bigint,\n"
"  seconds float8,\n"
"  copied_at timestamptz,\n"
"  PRIMARY KEY (domain, source_schema, source_table)\n"
");\n"
"COMMENT ON SCHEMA " MS_STATE_SCHEMA " IS 'state of migration-split jobs feeding this database';\n";

/*
 * verify (1.1): the last verification of the domain, and the hold by which
 * verify asks the stream to stop at one source position for a moment.
 * hold_lsn '0/0' means "pause before the next transaction"; another value
 * "apply every transaction that committed before it, none after"; held_lsn
 * is the stream's acknowledgement (equal to hold_lsn once it holds); a hold
 * whose hold_expires_at has passed is ignored, so a verify that was killed
 * cannot stop the stream for longer.  Run on targets created by 1.0 too.
 */
static const char *state_ddl_verify =
"ALTER TABLE " MS_STATE_SCHEMA ".jobs"
" ADD COLUMN IF NOT EXISTS last_verify_at timestamptz,"
" ADD COLUMN IF NOT EXISTS last_verify_lsn pg_catalog.pg_lsn,"
" ADD COLUMN IF NOT EXISTS last_verify_equal boolean,"
" ADD COLUMN IF NOT EXISTS hold_lsn pg_catalog.pg_lsn,"
" ADD COLUMN IF NOT EXISTS hold_expires_at timestamptz,"
" ADD COLUMN IF NOT EXISTS held_lsn pg_catalog.pg_lsn;\n";

/*
 * parallel apply (1.1): the source transactions that apply workers
 * committed beyond jobs.applied_lsn.  A worker inserts the rows of its
 * batch's transactions in the batch's own target transaction; the
 * coordinator then moves jobs.applied_lsn over every transaction committed
 * without a gap before it and deletes their rows in one statement.  A
 * source transaction is applied on the target exactly when its commit LSN
 * is below jobs.applied_lsn or it has a row here (see coordinator.c).
 * rows and commit_time feed the job row's counters when the rows go.
 */
static const char *state_ddl_apply =
"CREATE TABLE IF NOT EXISTS " MS_STATE_SCHEMA ".applied_xacts (\n"
"  domain text NOT NULL REFERENCES " MS_STATE_SCHEMA ".jobs ON DELETE CASCADE,\n"
"  commit_lsn pg_catalog.pg_lsn NOT NULL,\n"
"  rows bigint NOT NULL,\n"
"  commit_time timestamptz,\n"
"  PRIMARY KEY (domain, commit_lsn)\n"
");\n";

/*
 * source identities (1.1): what the job copied is a source object, not a
 * name.  tables.source_relid is the source OID of the table copied (of the
 * partitioned root for a partitioned table) and migration_split_job.columns
 * the attnum of each of its columns (the job adds the row of a column it
 * adds while streaming): a table dropped and created again under the same
 * name on the source, or a column dropped and added again, has another
 * one, which the stream's R and O messages carry (apply.c compares).  A
 * table copied by a job of before (source_relid NULL, no columns rows)
 * takes them from its next R (apply.c).  Run on targets created before too.
 */
static const char *state_ddl_identity =
"ALTER TABLE " MS_STATE_SCHEMA ".tables ADD COLUMN IF NOT EXISTS source_relid pg_catalog.oid;\n"
"CREATE TABLE IF NOT EXISTS " MS_STATE_SCHEMA ".columns (\n"
"  domain text NOT NULL,\n"
"  source_schema name NOT NULL,\n"
"  source_table name NOT NULL,\n"
"  source_column name NOT NULL,\n"
"  source_attnum int2 NOT NULL,\n"
"  PRIMARY KEY (domain, source_schema, source_table, source_column),\n"
"  FOREIGN KEY (domain, source_schema, source_table)\n"
"    REFERENCES " MS_STATE_SCHEMA ".tables ON DELETE CASCADE\n"
");\n";

/*
 * Whether the job's state exists on the target.  Looked up in the catalogs,
 * not with to_regclass, which fails on a schema the role may not use: such
 * a role (not the one that ran init, nor granted the state) gets a message
 * saying so, exit 6, instead of a failed query.
 */
bool
state_schema_exists(PGconn *tgt)
{
	PGresult   *res;
	bool		exists;

	res = job_query(tgt, "target",
					"SELECT c.oid IS NOT NULL, pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
					" FROM pg_catalog.pg_namespace n"
					" LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = 'jobs'"
					" WHERE n.nspname = '" MS_STATE_SCHEMA "'",
					0, NULL);
	exists = PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 't';
	if (exists && PQgetvalue(res, 0, 1)[0] != 't')
	{
		pg_log_error("permission denied for the job's state schema \"%s\" in database \"%s\"",
					 MS_STATE_SCHEMA, PQdb(tgt));
		pg_log_error_detail("The state of every domain's job is kept in this schema.");
		pg_log_error_hint("Connect as the role that created it (the first init), or GRANT USAGE ON SCHEMA %s and SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %s to the connecting role.",
						  MS_STATE_SCHEMA, MS_STATE_SCHEMA);
		PQclear(res);
		PQfinish(tgt);
		exit(EXIT_PRIVILEGE);
	}
	PQclear(res);
	return exists;
}

void
state_ensure_schema(PGconn *tgt)
{
	if (!state_schema_exists(tgt))
		job_command(tgt, "target", state_ddl);
	state_ensure_columns(tgt);
}

/* whether the columns of state_ddl_verify exist (a 1.0 target lacks them) */
static bool
state_has_verify_columns(PGconn *tgt)
{
	PGresult   *res;
	bool		exists;

	res = job_query(tgt, "target",
					"SELECT count(*) = 2 FROM pg_catalog.pg_attribute"
					" WHERE attrelid = pg_catalog.to_regclass('" MS_STATE_SCHEMA ".jobs')"
					" AND attname IN ('last_verify_equal', 'held_lsn') AND NOT attisdropped",
					0, NULL);
	exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return exists;
}

/*
 * Add the columns newer versions of the job use to an existing jobs table.
 * ALTER TABLE takes a lock on the table, so it only runs when one is
 * missing.
 */
void
state_ensure_columns(PGconn *tgt)
{
	PGresult   *res;
	bool		has_applied;
	bool		has_identity;

	if (!state_schema_exists(tgt))
		return;
	if (!state_has_verify_columns(tgt))
		job_command(tgt, "target", state_ddl_verify);
	res = job_query(tgt, "target",
					"SELECT pg_catalog.to_regclass('" MS_STATE_SCHEMA ".applied_xacts') IS NOT NULL",
					0, NULL);
	has_applied = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!has_applied)
		job_command(tgt, "target", state_ddl_apply);
	res = job_query(tgt, "target",
					"SELECT pg_catalog.to_regclass('" MS_STATE_SCHEMA ".columns') IS NOT NULL"
					" AND EXISTS (SELECT FROM pg_catalog.pg_attribute"
					"  WHERE attrelid = '" MS_STATE_SCHEMA ".tables'::pg_catalog.regclass"
					"  AND attname = 'source_relid' AND NOT attisdropped)",
					0, NULL);
	has_identity = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!has_identity)
		job_command(tgt, "target", state_ddl_identity);
}

/*
 * --slot and --target-schema given to a command that works on the job init
 * made (status, verify, cutover, rollback, finalize) must name the job's
 * slot and schema: those commands take them from the job's state, and a
 * different name was ignored without a word, so that "status --slot other"
 * showed the job's slot as if it were the one asked for.  Exit 1, as
 * stream does.
 */
void
state_check_names(const JobOptions *opts, const JobState *js)
{
	if ((opts->slot_given && strcmp(opts->slot, js->slot_name) != 0) ||
		(opts->target_schema_given && strcmp(opts->target_schema, js->target_schema) != 0))
	{
		pg_log_error("the job of domain \"%s\" uses slot \"%s\" and target schema \"%s\"",
					 opts->domain, js->slot_name, js->target_schema);
		pg_log_error_hint("Pass the same --slot and --target-schema as to init, or leave them out.");
		exit(EXIT_USAGE);
	}
}

/*
 * Free the strings of a JobState filled by state_read_job and zero it, for
 * callers that read the job row again and again (every stream session).
 */
void
state_free_job(JobState *js)
{
	pg_free(js->target_schema);
	pg_free(js->slot_name);
	pg_free(js->system_id);
	pg_free(js->phase);
	pg_free(js->consistent_lsn);
	pg_free(js->applied_lsn);
	pg_free(js->applied_commit_time);
	pg_free(js->applied_at);
	pg_free(js->init_done_at);
	pg_free(js->last_error);
	pg_free(js->last_error_at);
	pg_free(js->last_verify_at);
	pg_free(js->last_verify_lsn);
	pg_free(js->last_verify_equal);
	memset(js, 0, sizeof(*js));
}

/*
 * Read the job row of a domain.  Returns false when there is none.
 */
bool
state_read_job(PGconn *tgt, const char *domain, JobState *js)
{
	PGresult   *res;
	const char *params[1] = {domain};

	memset(js, 0, sizeof(*js));
	if (!state_schema_exists(tgt))
		return false;
	res = job_query(tgt, "target",
					"SELECT target_schema, slot_name, source_system_id, phase,"
					" consistent_lsn, applied_lsn, applied_commit_time, rows_applied,"
					" xacts_applied, last_error, last_error_at, applied_at, init_done_at"
					" FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1",
					1, params);
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return false;
	}
#define S(i) (PQgetisnull(res, 0, (i)) ? NULL : pg_strdup(PQgetvalue(res, 0, (i))))
	js->target_schema = S(0);
	js->slot_name = S(1);
	js->system_id = S(2);
	js->phase = S(3);
	js->consistent_lsn = S(4);
	js->applied_lsn = S(5);
	js->applied_commit_time = S(6);
	js->rows_applied = atoll(PQgetvalue(res, 0, 7));
	js->xacts_applied = atoll(PQgetvalue(res, 0, 8));
	js->last_error = S(9);
	js->last_error_at = S(10);
	js->applied_at = S(11);
	js->init_done_at = S(12);
	PQclear(res);
	if (state_has_verify_columns(tgt))
	{
		res = job_query(tgt, "target",
						"SELECT last_verify_at, last_verify_lsn, last_verify_equal"
						" FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1",
						1, params);
		if (PQntuples(res) == 1)
		{
			js->last_verify_at = S(0);
			js->last_verify_lsn = S(1);
			js->last_verify_equal = S(2);
		}
		PQclear(res);
	}
#undef S
	return true;
}

/*
 * Record an error in the job row (in its own transaction), so that status
 * can show it.  Best effort: the connection may be the reason of the error.
 */
void
state_record_error(PGconn *tgt, const char *domain, const char *error)
{
	const char *params[2] = {domain, error};
	PGresult   *res;

	if (tgt == NULL || PQstatus(tgt) != CONNECTION_OK)
		return;
	if (PQpipelineStatus(tgt) != PQ_PIPELINE_OFF)
	{
		/* end the pipeline: Sync, then discard everything up to it */
		if (PQpipelineSync(tgt) != 1)
			return;
		for (;;)
		{
			res = PQgetResult(tgt);
			if (res == NULL)
			{
				if (PQstatus(tgt) == CONNECTION_BAD)
					return;
				continue;
			}
			if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
			{
				/* an earlier Sync may still have been outstanding */
				PQclear(res);
				if (PQexitPipelineMode(tgt) == 1)
					break;
				continue;
			}
			PQclear(res);
		}
	}
	if (PQtransactionStatus(tgt) != PQTRANS_IDLE)
		PQclear(PQexec(tgt, "ROLLBACK"));
	res = PQexecParams(tgt,
					   "UPDATE " MS_STATE_SCHEMA ".jobs SET last_error = $2,"
					   " last_error_at = pg_catalog.now() WHERE domain = $1",
					   2, NULL, params, NULL, NULL, 0);
	PQclear(res);
}
