/*-------------------------------------------------------------------------
 *
 * rollback.c
 *		The reverse stream (service to monolith) and the "rollback"
 *		subcommand.
 *
 * The reverse stream is the ordinary stream with source and target
 * swapped.  The service database runs this extension too: cutover
 * (reverse_create) installs it there, tags the domain's tables of the
 * service, records the service's side of the lifecycle (copying,
 * streaming: the reverse stream now leaves the service), creates the
 * reverse slot on the service and writes the reverse job's state into
 * schema migration_split_job of the monolith, where the stream keeps its
 * position.  It does so after the forward catch-up (so none of the forward
 * stream's writes are in the reverse slot) and before the domain is marked
 * extracted, i.e. before the application is told to write to the service.
 * The reverse stream applies with session_replication_role = replica, which
 * the monolith's freeze triggers let through; its tables are found by name
 * in the monolith through their ownership tags, so an archived table of
 * the read path (schema migration_split_archive) is found where it is.
 *
 * rollback runs these steps, each printed as it starts (--dry-run prints
 * them and changes nothing), each safe to repeat:
 *
 *	1. Preflight: the domain is extracted in the monolith, its reverse
 *	   stream exists, the forward stream is stopped.
 *	2. Freeze the domain in the service with freeze_domain() (unless an
 *	   earlier run did); the service's WAL position after the commit is the
 *	   rollback position: no write of the domain commits in the service
 *	   after it.
 *	3. Catch up: wait until the reverse slot confirms that position,
 *	   streaming in this process when no reverse stream runs.  Past
 *	   --timeout: unfreeze the service, exit EXIT_CUTOVER_TIMEOUT.
 *	4. Sequences of the monolith moved past the service's (--sequence-gap).
 *	5. The forward slot advanced to the monolith's current WAL position:
 *	   the monolith's domain is still frozen, so every change of the domain
 *	   between the cutover's freeze and that position is a write of the
 *	   reverse stream; the forward stream must not send them back.
 *	6. In one monolith transaction: the read path removed, the domain
 *	   unfrozen (state "streaming", logged with who did it).
 *	7. The reverse slot and the reverse job's state dropped (a running
 *	   "stream --reverse", which has nothing left to apply, has its
 *	   walsender ended first).
 *
 * Steps 2 to 4 are cutover's (catchup.c) with the sides swapped; the
 * service's freeze passes rollback => true to freeze_domain(), so that
 * its refusals name the monolith.
 *
 * "stream --reverse" runs the reverse stream continuously while the domain
 * is extracted, so that a rollback has little left to apply.  The forward
 * stream and the reverse stream never run together: each refuses to start
 * while the other may write (reverse_guard_forward, cmd_reverse_stream),
 * and rollback requires the forward one stopped.
 *
 * A run that finds the domain streaming again with the reverse state still
 * present resumes at step 7.  The service stays frozen for the domain
 * (state "frozen" in the service) until the next cutover unfreezes it
 * (reverse_release_service).
 *
 * Advancing the forward slot was chosen over filtering by replication
 * origin: it needs no change in the output plugin or the apply session,
 * and it is exact because the monolith's tables of the domain accept no
 * other write while frozen.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <signal.h>

#include "common/logging.h"

#include "job.h"

/* everything rollback learns before it changes anything */
typedef struct Rollback
{
	const JobOptions *opts;
	PGconn	   *mono;			/* --source: the monolith */
	PGconn	   *svc;			/* --target: the service */
	char	   *monolith;		/* the monolith described without secrets */
	char	   *state;			/* lifecycle state in the monolith */
	char	   *svc_state;		/* lifecycle state in the service */
	JobState	fwd;			/* forward job (state on the service) */
	JobState	rev;			/* reverse job (state on the monolith) */
	char	   *rev_slot;
	bool		svc_frozen;		/* a failure unfreezes the service */
} Rollback;

/*
 * Testing hook: with MIGRATION_SPLIT_CRASH_AT set to the name of a point,
 * the program kills itself there with SIGKILL, as a crash would, so that
 * the TAP tests can stop cutover and rollback between any two steps.
 */
void
job_crash_point(const char *name)
{
	const char *at = getenv("MIGRATION_SPLIT_CRASH_AT");

	if (at && strcmp(at, name) == 0)
	{
		fflush(stdout);
		fflush(stderr);
		raise(SIGKILL);
	}
}

/* the reverse slot's name: migration_split_reverse_DOMAIN (job_slot_name) */
char *
reverse_slot_name(const char *domain)
{
	return job_slot_name("migration_split_reverse_", domain);
}

/*
 * The target schema of a table: opts->target_schema, except for the
 * reverse stream, whose tables may live in several schemas of the
 * monolith (or in migration_split_archive, with the read path).
 */
const char *
job_target_schema_for(const JobOptions *opts, const char *table)
{
	int			i;

	for (i = 0; i < opts->ntable_schemas; i++)
		if (strcmp(opts->table_schema_names[i], table) == 0)
			return opts->table_schemas[i];
	return opts->target_schema;
}

/*
 * Cutover's preflight of the reverse stream: the service must decode
 * (wal_level logical) and have migration_split 1.1 available.  Sets
 * *problem (NULL when none) and *hint.
 */
void
reverse_preflight(PGconn *src, PGconn *tgt, const char *domain,
				  char **problem, const char **hint)
{
	char	   *v;

	*problem = NULL;
	*hint = "Set wal_level = logical and install migration_split 1.1 in the service's server, or pass --no-reverse (then the extraction cannot be rolled back by \"migration-split rollback\").";
	v = job_query_value(tgt, "target", "SELECT pg_catalog.current_setting('wal_level')", 0, NULL);
	if (v == NULL || strcmp(v, "logical") != 0)
	{
		*problem = psprintf("the service cannot run the reverse stream of domain \"%s\": its wal_level is \"%s\", not \"logical\"",
							domain, v ? v : "?");
		return;
	}
	v = job_query_value(tgt, "target",
				 "SELECT pg_catalog.count(*) FROM pg_catalog.pg_available_extension_versions"
				 " WHERE name = 'migration_split' AND version = '1.1'", 0, NULL);
	if (v == NULL || strcmp(v, "0") == 0)
	{
		*problem = psprintf("the service cannot run the reverse stream of domain \"%s\": extension migration_split 1.1 is not available in its server",
							domain);
		return;
	}
	v = job_query_value(tgt, "target",
				 "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'migration_split'", 0, NULL);
	if (v != NULL && strcmp(v, "1.1") != 0)
		*problem = psprintf("the service cannot run the reverse stream of domain \"%s\": extension migration_split in the service database is version %s",
							domain, v);
	if (v != NULL && strcmp(v, "1.1") != 0)
		*hint = "Run ALTER EXTENSION migration_split UPDATE in the service database.";
}

/*
 * Set up the reverse stream (see the file header).  Called by cutover after
 * the catch-up and before the domain is marked extracted.  Any reverse slot
 * found is stale (a rolled back extraction, or a cutover killed before it
 * marked the domain): it holds changes of the forward stream, so it is
 * dropped and created again.
 */
void
reverse_create(PGconn *src, PGconn *tgt, const JobOptions *opts,
			   const JobState *js)
{
	char	   *slot = reverse_slot_name(opts->domain);
	const char *params[6];
	char	   *tables;
	char	   *mono_schema;
	char	   *svc_state;
	char	   *lsn;
	char	   *sysid;
	char	   *dbname;
	char	   *old;

	/* the service's tables of the domain: those init copied */
	params[0] = opts->domain;
	tables = job_query_value(tgt, "target",
					  "SELECT pg_catalog.array_agg(source_table ORDER BY source_table)::text"
					  " FROM " MS_STATE_SCHEMA ".tables WHERE domain = $1", 1, params);
	mono_schema = job_query_value(src, "source",
						   "SELECT n.nspname FROM migration_split.ownership o"
						   " JOIN pg_catalog.pg_class c ON c.oid = o.rel::pg_catalog.oid"
						   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
						   " WHERE o.domain = $1 AND c.relkind IN ('r', 'p')"
						   " ORDER BY n.nspname COLLATE \"C\" LIMIT 1", 1, params);
	if (tables == NULL || mono_schema == NULL)
	{
		pg_log_error("domain \"%s\" has no tables in the job's state", opts->domain);
		exit(EXIT_TARGET);
	}
	old = !state_schema_exists(src) ? NULL :
		job_query_value(src, "source",
				 "SELECT slot_name FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1",
				 1, params);
	if (old != NULL && strcmp(old, slot) != 0)
	{
		pg_log_error("the monolith's schema %s holds a job of domain \"%s\" that is not its reverse stream (slot \"%s\")",
					 MS_STATE_SCHEMA, opts->domain, old);
		pg_log_error_hint("The monolith is the target of another job for a domain of the same name; pass --no-reverse.");
		exit(EXIT_TARGET);
	}

	job_step(opts, "reverse stream: tag the tables %s of schema \"%s\" in the service database as domain \"%s\" (extension migration_split)",
			tables, js->target_schema, opts->domain);
	if (!opts->dry_run)
	{
		job_command(tgt, "target", "CREATE EXTENSION IF NOT EXISTS migration_split");
		PQclear(job_query(tgt, "target",
						  "SELECT migration_split.create_domain($1) WHERE NOT EXISTS"
						  " (SELECT FROM migration_split.domains WHERE domain = $1)", 1, params));
		params[1] = js->target_schema;
		params[2] = tables;
		PQclear(job_query(tgt, "target",
						  "SELECT migration_split.assign_table(r, $1)"
						  " FROM (SELECT pg_catalog.format('%I.%I', $2::text, t)::pg_catalog.regclass"
						  "       FROM pg_catalog.unnest($3::text[]) t) x(r)"
						  " WHERE NOT EXISTS (SELECT FROM migration_split.ownership o"
						  "                   WHERE o.rel = x.r AND o.domain = $1)", 3, params));
		svc_state = job_query_value(tgt, "target",
							 "SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1",
							 1, params);
		if (svc_state == NULL || strcmp(svc_state, "monolith") == 0)
		{
			/* the service's side: the reverse stream leaves it from now */
			job_command(tgt, "target", "BEGIN");
			PQclear(job_query(tgt, "target", "SELECT migration_split.set_domain_state($1, 'copying')", 1, params));
			PQclear(job_query(tgt, "target", "SELECT migration_split.set_domain_state($1, 'streaming')", 1, params));
			job_command(tgt, "target", "COMMIT");
		}
	}

	job_step(opts, "reverse stream: create slot \"%s\" on the service, before its first write of the domain",
			slot);
	if (opts->dry_run)
	{
		job_step(opts, "reverse stream: its state (slot, position) in schema %s of the monolith", MS_STATE_SCHEMA);
		return;
	}
	params[0] = slot;
	PQclear(job_query(tgt, "target",
					  "SELECT pg_catalog.pg_drop_replication_slot(slot_name)"
					  " FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, params));
	lsn = job_query_value(tgt, "target",
				   "SELECT lsn FROM pg_catalog.pg_create_logical_replication_slot($1, '" MS_PLUGIN_NAME "')",
				   1, params);
	sysid = job_query_value(tgt, "target",
					 "SELECT system_identifier::text FROM pg_catalog.pg_control_system()", 0, NULL);
	dbname = job_query_value(tgt, "target", "SELECT pg_catalog.current_database()", 0, NULL);

	job_step(opts, "reverse stream: its state (slot, position %s) in schema %s of the monolith", lsn, MS_STATE_SCHEMA);
	state_ensure_schema(src);
	job_command(src, "source", "BEGIN");
	params[0] = opts->domain;
	PQclear(job_query(src, "source", "DELETE FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1", 1, params));
	params[1] = mono_schema;
	params[2] = slot;
	params[3] = sysid;
	params[4] = dbname;
	params[5] = lsn;
	PQclear(job_query(src, "source",
					  "INSERT INTO " MS_STATE_SCHEMA ".jobs (domain, target_schema, slot_name,"
					  " source_system_id, source_database, phase, consistent_lsn, applied_lsn, init_done_at)"
					  " VALUES ($1, $2, $3, $4, $5, 'streaming', $6, $6, pg_catalog.now())", 6, params));
	params[1] = js->target_schema;
	params[2] = tables;
	params[3] = lsn;
	PQclear(job_query(src, "source",
					  "INSERT INTO " MS_STATE_SCHEMA ".tables (domain, source_schema, source_table, state, sync_lsn, copied_at)"
					  " SELECT $1, $2, t, 'copied', $4::pg_catalog.pg_lsn, pg_catalog.now()"
					  " FROM pg_catalog.unnest($3::text[]) t", 4, params));
	job_command(src, "source", "COMMIT");
}

/*
 * The next cutover after a rollback: the service, frozen by the rollback,
 * takes the domain's writes again.
 */
void
reverse_release_service(PGconn *tgt, const JobOptions *opts)
{
	const char *params[1] = {opts->domain};
	char	   *state;

	if (job_query_value(tgt, "target", "SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle')", 0, NULL) == NULL)
		return;
	state = job_query_value(tgt, "target",
					 "SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1", 1, params);
	if (state == NULL || strcmp(state, "frozen") != 0)
		return;
	job_step(opts, "service: migration_split.unfreeze_domain('%s') in the service database (frozen by the last rollback)",
			opts->domain);
	if (!opts->dry_run)
		PQclear(job_query(tgt, "target", "SELECT migration_split.unfreeze_domain($1)", 1, params));
}

/*
 * finalize: drop the reverse slot on the service (its stream must have
 * stopped) and the reverse job's state in the monolith.
 */
void
reverse_drop(PGconn *src, PGconn *tgt, const JobOptions *opts)
{
	char	   *slot = reverse_slot_name(opts->domain);
	const char *params[1] = {slot};
	char	   *active;

	active = job_query_value(tgt, "target",
					  "SELECT active::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, params);
	if (active && strcmp(active, "true") == 0)
	{
		pg_log_error("replication slot \"%s\" of the reverse stream is in use", slot);
		pg_log_error_hint("Stop \"migration-split stream --reverse\" for domain \"%s\" first.", opts->domain);
		exit(EXIT_SLOT);
	}
	if (active)
	{
		printf("drop replication slot \"%s\" of the reverse stream\n", slot);
		PQclear(job_query(tgt, "target", "SELECT pg_catalog.pg_drop_replication_slot($1)", 1, params));
	}
	params[0] = opts->domain;
	if (state_schema_exists(src) &&
		job_query_value(src, "source", "SELECT 1 FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1", 1, params))
	{
		printf("drop the reverse stream's state in the monolith\n");
		PQclear(job_query(src, "source", "DELETE FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1", 1, params));
	}
}

/*
 * The options of the reverse stream: source and target swapped, the
 * reverse slot, and the monolith's schema of each table of the domain as
 * it is now (archived by the read path, or not).
 */
static void
reverse_options(PGconn *mono, const JobOptions *opts, const JobState *rev,
				JobOptions *so)
{
	const char *params[1] = {opts->domain};
	PGresult   *res;
	int			i;

	*so = *opts;
	so->source = opts->target;
	so->target = opts->source;
	so->slot = rev->slot_name;
	so->slot_given = true;
	so->target_schema = rev->target_schema;
	so->target_schema_given = true;
	so->reverse = false;
	res = job_query(mono, "source",
					"SELECT c.relname, n.nspname FROM migration_split.ownership o"
					" JOIN pg_catalog.pg_class c ON c.oid = o.rel::pg_catalog.oid"
					" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					" WHERE o.domain = $1 AND c.relkind IN ('r', 'p')"
					" ORDER BY c.relname COLLATE \"C\"", 1, params);
	so->ntable_schemas = PQntuples(res);
	so->table_schema_names = pg_malloc0(sizeof(char *) * (so->ntable_schemas + 1));
	so->table_schemas = pg_malloc0(sizeof(char *) * (so->ntable_schemas + 1));
	for (i = 0; i < so->ntable_schemas; i++)
	{
		so->table_schema_names[i] = pg_strdup(PQgetvalue(res, i, 0));
		so->table_schemas[i] = pg_strdup(PQgetvalue(res, i, 1));
	}
	PQclear(res);
}

/*
 * Whether the forward stream (the slot named in the service's job state)
 * is running.  Sets *exists.
 */
static bool
forward_active(PGconn *mono, const JobState *fwd, bool *exists)
{
	const char *params[1] = {fwd->slot_name};
	char	   *v;

	v = job_query_value(mono, "source",
				 "SELECT active::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, params);
	*exists = v != NULL;
	return v && strcmp(v, "true") == 0;
}

/*
 * stream --reverse: apply the service's changes to the monolith while the
 * domain is extracted, so that a later rollback has little left to apply.
 */
int
cmd_reverse_stream(const JobOptions *opts)
{
	PGconn	   *mono = job_connect(opts->source, "source", false, true);
	PGconn	   *svc = job_connect(opts->target, "target", false, true);
	JobState	rev;
	JobState	fwd;
	JobOptions	so;
	bool		exists;

	if (!state_read_job(mono, opts->domain, &rev) ||
		strcmp(rev.slot_name, reverse_slot_name(opts->domain)) != 0)
	{
		pg_log_error("domain \"%s\" has no reverse stream", opts->domain);
		pg_log_error_hint("The reverse stream is set up by \"migration-split cutover\" and removed by rollback and finalize.");
		exit(EXIT_TARGET);
	}
	/* the monolith is what the reverse stream writes in: named --source */
	job_require_writable(mono, "source", opts->source, "stream --reverse", EXIT_TARGET);
	if (state_read_job(svc, opts->domain, &fwd) && forward_active(mono, &fwd, &exists))
	{
		pg_log_error("the forward stream of domain \"%s\" is running (slot \"%s\")", opts->domain, fwd.slot_name);
		pg_log_error_detail("It would send the reverse stream's writes back to the service.");
		pg_log_error_hint("Stop \"migration-split stream\" for domain \"%s\" first.", opts->domain);
		exit(EXIT_SLOT);
	}
	reverse_options(mono, opts, &rev, &so);
	PQfinish(mono);
	PQfinish(svc);
	return cmd_stream(&so);
}

/*
 * The forward stream must not run while a reverse stream may write into the
 * monolith: it would send those writes back to the service.  Called before
 * "stream" (forward), and again at each of its reconnects (reconnect true:
 * a failed connection is left to the stream's own, which retries): a stream
 * left running through the cutover must not resume after a restart of the
 * monolith, maybe while a reverse stream runs.  Exits when the domain is
 * extracted with a reverse stream.
 */
void
reverse_guard_forward(const JobOptions *opts, bool reconnect)
{
	PGconn	   *mono = reconnect ? job_try_connect(opts->source, "source", false, false)
		: job_connect(opts->source, "source", false, true);
	const char *params[1] = {opts->domain};
	char	   *state;

	if (mono == NULL)
		return;					/* the stream's own connection reports it */
	if (job_query_value(mono, "source", "SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle')", 0, NULL) == NULL ||
		!state_schema_exists(mono))
	{
		PQfinish(mono);
		return;
	}
	state = job_query_value(mono, "source",
					 "SELECT l.state FROM migration_split.domain_lifecycle l"
					 " JOIN " MS_STATE_SCHEMA ".jobs j USING (domain) WHERE l.domain = $1", 1, params);
	if (state && strcmp(state, "extracted") == 0)
	{
		pg_log_error("domain \"%s\" is extracted and has a reverse stream: the forward stream must not run", opts->domain);
		pg_log_error_detail("It would send the service's writes, applied to the monolith by the reverse stream, back to the service.");
		pg_log_error_hint("Run \"migration-split rollback\" first to give the domain back to the monolith.");
		PQfinish(mono);
		exit(EXIT_DOMAIN);
	}
	PQfinish(mono);
}

static void
rb_fail(Rollback *r, int code, const char *hint, const char *fmt,...) pg_attribute_printf(4, 5);

/* a failed check before anything changed: report and exit */
static void
rb_fail(Rollback *r, int code, const char *hint, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	preflight_report("Nothing was changed.", hint, fmt, ap);
	va_end(ap);
	PQfinish(r->mono);
	PQfinish(r->svc);
	exit(code);
}

/* steps 7: forget the reverse stream (after the monolith's commit) */
static void
rb_cleanup(Rollback *r)
{
	const char *params[1] = {r->rev_slot};
	char	   *active;

	active = job_query_value(r->svc, "target",
					  "SELECT active::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, params);
	job_step(r->opts, "drop the reverse slot \"%s\" on the service and the reverse stream's state in the monolith",
			r->rev_slot);
	if (r->opts->dry_run)
		return;
	if (active && strcmp(active, "true") == 0)
	{
		int			tries;

		/*
		 * A "stream --reverse" holds the slot: it has nothing left to apply
		 * (the service is frozen and caught up), so end its walsender; it
		 * exits when it finds the slot gone.
		 */
		for (tries = 0; tries < 100 && active && strcmp(active, "true") == 0; tries++)
		{
			PQclear(job_query(r->svc, "target",
							  "SELECT pg_catalog.pg_terminate_backend(active_pid) FROM pg_catalog.pg_replication_slots"
							  " WHERE slot_name = $1 AND active", 1, params));
			pg_usleep(50000);
			active = job_query_value(r->svc, "target",
							  "SELECT active::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, params);
		}
		if (active && strcmp(active, "true") == 0)
		{
			pg_log_error("replication slot \"%s\" of the reverse stream is in use", r->rev_slot);
			pg_log_error_detail("The domain is back in the monolith; only the reverse stream's slot and state are left.");
			pg_log_error_hint("Stop \"migration-split stream --reverse\" for domain \"%s\", then run rollback again.",
							  r->opts->domain);
			exit(EXIT_SLOT);
		}
	}
	if (active)
		PQclear(job_query(r->svc, "target", "SELECT pg_catalog.pg_drop_replication_slot($1)", 1, params));
	job_crash_point("rollback-slot-dropped");
	params[0] = r->opts->domain;
	PQclear(job_query(r->mono, "source", "DELETE FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1", 1, params));
}

/* every check before the service is frozen */
static void
rb_preflight(Rollback *r)
{
	const JobOptions *opts = r->opts;
	const char *params[2] = {opts->domain, NULL};
	char	   *v;
	bool		exists;
	bool		has_rev;

	v = job_query_value(r->mono, "source",
				 "SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle') IS NOT NULL", 0, NULL);
	if (v == NULL || strcmp(v, "t") != 0)
		rb_fail(r, EXIT_PREFLIGHT, "Run ALTER EXTENSION migration_split UPDATE in the source database.",
				"the extension migration_split in the source database has no domain lifecycle (version 1.1 is needed)");
	r->state = job_query_value(r->mono, "source",
						"SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1", 1, params);
	if (r->state == NULL)
		rb_fail(r, EXIT_DOMAIN, NULL, "domain \"%s\" does not exist in the source database", opts->domain);
	has_rev = state_read_job(r->mono, opts->domain, &r->rev) &&
		strcmp(r->rev.slot_name, r->rev_slot) == 0;
	if (strcmp(r->state, "streaming") == 0 && has_rev)
		return;					/* an earlier rollback stopped at step 7 */
	if (strcmp(r->state, "extracted") != 0)
		rb_fail(r, EXIT_PREFLIGHT, "Only an extracted domain can be rolled back; a frozen one is unfrozen by running \"migration-split cutover\" again or migration_split.unfreeze_domain().",
				"domain \"%s\" is not extracted (state \"%s\")", opts->domain, r->state);
	if (!has_rev)
		rb_fail(r, EXIT_PREFLIGHT, "The service's writes must be copied back by hand, then migration_split.disable_read_path() and migration_split.unfreeze_domain() run in the monolith.",
				"domain \"%s\" has no reverse stream (it was cut over with --no-reverse or by migration-split 1.0)", opts->domain);
	v = job_query_value(r->svc, "target",
				 "SELECT system_identifier::text FROM pg_catalog.pg_control_system()", 0, NULL);
	if (v == NULL || strcmp(v, r->rev.system_id) != 0)
		rb_fail(r, EXIT_PREFLIGHT, NULL, "the target (system identifier %s) is not the service domain \"%s\" was cut over to (%s)",
				v ? v : "?", opts->domain, r->rev.system_id);
	if (!state_read_job(r->svc, opts->domain, &r->fwd))
		rb_fail(r, EXIT_PREFLIGHT, NULL, "the service has no job state of domain \"%s\"", opts->domain);
	state_check_names(opts, &r->fwd);
	if (forward_active(r->mono, &r->fwd, &exists))
		rb_fail(r, EXIT_PREFLIGHT, "Stop \"migration-split stream\" for this domain first; run it again after the rollback.",
				"the forward stream of domain \"%s\" is running (slot \"%s\"): it would send the service's writes back to the service",
				opts->domain, r->fwd.slot_name);
	if (!exists)
		rb_fail(r, EXIT_PREFLIGHT, "Without it the domain cannot stream forward again: run \"migration-split init --drop\" after restoring the domain by hand.",
				"replication slot \"%s\" of the forward stream does not exist", r->fwd.slot_name);
	params[0] = r->rev_slot;
	if (job_query_value(r->svc, "target", "SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, params) == NULL)
		rb_fail(r, EXIT_PREFLIGHT, "The service's writes since the cutover cannot be streamed back without it: they must be copied back by hand, then migration_split.disable_read_path() and migration_split.unfreeze_domain() run in the monolith.",
				"replication slot \"%s\" of the reverse stream does not exist on the service", r->rev_slot);
	params[0] = opts->domain;
	r->svc_state = job_query_value(r->svc, "target",
							"SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1", 1, params);
	if (r->svc_state == NULL || (strcmp(r->svc_state, "streaming") != 0 && strcmp(r->svc_state, "frozen") != 0))
		rb_fail(r, EXIT_PREFLIGHT, NULL, "domain \"%s\" is in state \"%s\" in the service database",
				opts->domain, r->svc_state ? r->svc_state : "none");
	printf("preflight: domain \"%s\" is extracted; reverse slot \"%s\" on the service; the forward stream is stopped\n",
		   opts->domain, r->rev_slot);
}

/* step 2: freeze the domain in the service; returns the rollback position */
static char *
rb_freeze_service(Rollback *r)
{
	const JobOptions *opts = r->opts;
	char	   *lsn;

	if (strcmp(r->svc_state, "frozen") == 0)
	{
		job_step(opts, "freeze: domain \"%s\" is frozen in the service already (an earlier rollback stopped); continuing",
				opts->domain);
		r->svc_frozen = true;
		return opts->dry_run ? NULL :
			job_query_value(r->svc, "target", "SELECT pg_catalog.pg_current_wal_lsn()", 0, NULL);
	}
	job_step(opts, "freeze: migration_split.freeze_domain('%s', '%s', rollback => true) in the service; writes to the domain fail with SQLSTATE MS002 there from now on",
			opts->domain, r->monolith);
	if (opts->dry_run)
		return NULL;
	lsn = catchup_freeze(r->svc, "target", opts->domain, r->monolith, true,
						 opts->timeout, " in the service");
	r->svc_frozen = true;
	return lsn;
}

/*
 * Step 4: every sequence behind a column of the domain's service tables:
 * the monolith's is set to the service's last value plus --sequence-gap
 * increments, never moved backwards.
 */
static void
rb_sequences(Rollback *r)
{
	const JobOptions *opts = r->opts;
	JobOptions	so;
	const char *params[2] = {opts->domain, r->fwd.target_schema};
	PGresult   *res;
	int			i;

	reverse_options(r->mono, opts, &r->rev, &so);
	res = job_query(r->svc, "target",
					"SELECT c.relname, a.attname, q.seq::pg_catalog.oid::pg_catalog.text"
					" FROM migration_split.ownership o"
					" JOIN pg_catalog.pg_class c ON c.oid = o.rel::pg_catalog.oid"
					" JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
					" CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_serial_sequence(o.rel::pg_catalog.text, a.attname)::pg_catalog.regclass) q(seq)"
					" WHERE o.domain = $1 AND q.seq IS NOT NULL"
					" ORDER BY c.relname COLLATE \"C\", a.attnum", 1, params);
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *table = PQgetvalue(res, i, 0);
		const char *column = PQgetvalue(res, i, 1);
		char	   *mtable;
		char	   *last = sequence_last_used(r->svc, "target", PQgetvalue(res, i, 2));
		SequenceTarget st;

		if (last == NULL)
		{
			job_step(opts, "sequence of %s.%s: never used in the service, left as it is", table, column);
			continue;
		}
		mtable = schema_qualified(r->mono, job_target_schema_for(&so, table), table);
		sequence_plan(r->mono, "source", mtable, column, last, opts->sequence_gap, &st);
		if (st.kind == SEQUENCE_NONE)
			job_step(opts, "sequence of %s.%s: the monolith's table %s has no sequence on this column, nothing to move",
					 table, column, mtable);
		else if (st.kind == SEQUENCE_AHEAD)
			job_step(opts, "sequence of %s.%s: the monolith is past %s + gap already, left as it is",
					 mtable, column, last);
		else if (st.kind == SEQUENCE_OUT_OF_BOUNDS)
		{
			pg_log_error("sequence of %s.%s cannot be moved by %d %s past %s: out of its bounds in the monolith",
						 mtable, column, opts->sequence_gap,
						 ngettext("increment", "increments", opts->sequence_gap), last);
			pg_log_error_detail("The service is frozen and the reverse stream caught up; the domain is still extracted.");
			pg_log_error_hint("Lower --sequence-gap, or widen the sequence's bounds in the monolith, then run rollback again.");
			exit(EXIT_SERVER);
		}
		else
		{
			job_step(opts, "sequence of %s.%s: service at %s, monolith set to %s", mtable, column, last, st.value);
			if (!opts->dry_run)
				sequence_set(r->mono, "source", &st);
		}
		pg_free(mtable);
		pg_free(last);
	}
	PQclear(res);
}

/*
 * Step 5: move the forward slot to the monolith's current position (every
 * change of the domain before it is the reverse stream's; see the file
 * header), and the forward job's applied position in the service with it.
 */
static void
rb_advance_forward(Rollback *r)
{
	const JobOptions *opts = r->opts;
	const char *params[3] = {r->fwd.slot_name, NULL, opts->domain};
	char	   *lsn;

	job_step(opts, "forward slot \"%s\": advance past the reverse stream's writes to the monolith's current position",
			r->fwd.slot_name);
	if (opts->dry_run)
		return;
	lsn = job_query_value(r->mono, "source", "SELECT pg_catalog.pg_current_wal_lsn()", 0, NULL);
	params[1] = lsn;
	PQclear(job_query(r->mono, "source",
					  "SELECT pg_catalog.pg_replication_slot_advance(slot_name, $2::pg_catalog.pg_lsn)"
					  " FROM pg_catalog.pg_replication_slots"
					  " WHERE slot_name = $1 AND confirmed_flush_lsn < $2::pg_catalog.pg_lsn", 2, params));
	params[0] = opts->domain;
	PQclear(job_query(r->svc, "target",
					  "UPDATE " MS_STATE_SCHEMA ".jobs SET applied_lsn = $2::pg_catalog.pg_lsn"
					  " WHERE domain = $1 AND (applied_lsn IS NULL OR applied_lsn < $2::pg_catalog.pg_lsn)",
					  2, params));
	printf("forward slot \"%s\" confirmed up to %s\n", r->fwd.slot_name, lsn);
}

/* undo the service's freeze after a failed catch-up */
static void
rb_unfreeze_service(Rollback *r)
{
	const char *params[1] = {r->opts->domain};

	if (PQstatus(r->svc) != CONNECTION_OK)
		return;
	PQclear(job_query(r->svc, "target", "SELECT migration_split.unfreeze_domain($1)", 1, params));
	pg_log_error_detail("The domain was unfrozen in the service, which takes its writes again; nothing else was changed.");
}

int
cmd_rollback(const JobOptions *opts)
{
	Rollback	rb;
	Rollback   *r = &rb;
	const char *params[1] = {opts->domain};
	char	   *lsn;
	char	   *nread;
	double		deadline;
	double		frozen_at;
	long long	rows_before;
	int			rc;

	memset(r, 0, sizeof(*r));
	r->opts = opts;
	r->mono = job_connect(opts->source, "source", false, true);
	r->svc = job_connect(opts->target, "target", false, true);
	if (!opts->dry_run)
	{
		job_require_writable(r->mono, "source", opts->source, "rollback", EXIT_PREFLIGHT);
		job_require_writable(r->svc, "target", opts->target, "rollback", EXIT_TARGET);
	}
	r->monolith = job_describe_conninfo(opts->source);
	r->rev_slot = reverse_slot_name(opts->domain);

	catchup_lock_domain(r->mono, "source", opts->domain, "rollback");
	rb_preflight(r);
	if (strcmp(r->state, "streaming") == 0)
	{
		job_step(opts, "domain \"%s\" is back in the monolith already (an earlier rollback stopped); finishing",
				opts->domain);
		rb_cleanup(r);
		printf("%srollback of domain \"%s\" is complete\n", opts->dry_run ? "dry run: nothing was changed; " : "",
			   opts->domain);
		PQfinish(r->mono);
		PQfinish(r->svc);
		return EXIT_OK;
	}
	rows_before = r->rev.rows_applied;

	deadline = job_now_seconds() + opts->timeout;
	lsn = rb_freeze_service(r);
	frozen_at = job_now_seconds();
	job_crash_point("rollback-frozen");

	job_step(opts, "catch up: apply the reverse stream to the monolith up to the service's position %s (at most %d s)",
			lsn ? lsn : "(pg_current_wal_lsn() after the freeze)", opts->timeout);
	if (!opts->dry_run)
	{
		JobOptions	so;

		reverse_options(r->mono, opts, &r->rev, &so);
		rc = catchup_wait(r->svc, "target", r->rev_slot, lsn, deadline, &so, "rollback");
	}
	else
		rc = EXIT_OK;
	if (rc != EXIT_OK)
	{
		bool		interrupted = job_interrupted;

		if (rc == EXIT_CUTOVER_TIMEOUT)
			pg_log_error("the monolith did not apply the service's changes up to %s within %d s", lsn, opts->timeout);
		else
			pg_log_error("the reverse stream could not catch up to %s", lsn);
		job_interrupted = 0;
		rb_unfreeze_service(r);
		pg_log_error_hint("Check the reverse stream's last_error in " MS_STATE_SCHEMA ".jobs of the monolith, then run rollback again%s.",
						  rc == EXIT_CUTOVER_TIMEOUT ? ", with a longer --timeout if needed" : "");
		PQfinish(r->mono);
		PQfinish(r->svc);
		return interrupted ? EXIT_INTERRUPTED : rc;
	}
	job_crash_point("rollback-caught-up");

	rb_sequences(r);
	rb_advance_forward(r);
	job_crash_point("rollback-advanced");

	/* read path and unfreeze: one monolith transaction */
	if (!opts->dry_run)
		job_command(r->mono, "source", "BEGIN");
	nread = job_query_value(r->mono, "source",
					 "SELECT pg_catalog.count(*) FROM migration_split.read_paths WHERE domain = $1", 1, params);
	if (strcmp(nread, "0") != 0)
	{
		job_step(opts, "read path: migration_split.disable_read_path('%s'): the foreign tables dropped, the %s archived %s moved back",
				opts->domain, nread, strcmp(nread, "1") == 0 ? "table" : "tables");
		if (!opts->dry_run)
			PQclear(job_query(r->mono, "source", "SELECT migration_split.disable_read_path($1)", 1, params));
	}
	job_step(opts, "unfreeze: migration_split.unfreeze_domain('%s') in the monolith; the domain streams to the service again",
			opts->domain);
	if (!opts->dry_run)
	{
		PQclear(job_query(r->mono, "source", "SELECT migration_split.unfreeze_domain($1)", 1, params));
		job_command(r->mono, "source", "COMMIT");
	}
	job_crash_point("rollback-unfrozen");
	if (opts->dry_run)
	{
		rb_cleanup(r);
		printf("dry run: nothing was changed\n");
		PQfinish(r->mono);
		PQfinish(r->svc);
		return EXIT_OK;
	}
	{
		double		window_ms = (job_now_seconds() - frozen_at) * 1000.0;
		JobState	after;

		state_read_job(r->mono, opts->domain, &after);
		rb_cleanup(r);
		printf("rollback of domain \"%s\": %lld %s of the service applied to the monolith in this run; the domain accepted writes nowhere for %.0f ms\n",
			   opts->domain, after.rows_applied - rows_before,
			   ngettext("change", "changes", after.rows_applied - rows_before), window_ms);
	}
	printf("\nDomain \"%s\" is back in the monolith.  The application must now:\n", opts->domain);
	printf("  - send every write of the domain's tables to the monolith again;\n");
	printf("  - expect SQLSTATE MS002 from the service for any write to them (it stays frozen until the next cutover);\n");
	printf("  - run \"migration-split stream\" for this domain again: the service follows the monolith.\n");
	PQfinish(r->mono);
	PQfinish(r->svc);
	return EXIT_OK;
}
