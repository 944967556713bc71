/*-------------------------------------------------------------------------
 *
 * cutover.c
 *		The "cutover" and "finalize" subcommands: hand a domain over to its
 *		service.
 *
 * cutover runs these steps, each printed as it starts (--dry-run prints
 * them, with the values it would use, and changes nothing):
 *
 *	1. Preflight, on both sides, before anything changes: the job streams
 *	   (phase "streaming" on the target), the slot exists and its lag is
 *	   below --max-lag, a verification no older than --verify-max-age found
 *	   both sides equal (migration_split_job.jobs.last_verify_*, written by
 *	   "migration-split verify"; without those columns or that result the
 *	   preflight fails unless --skip-verify-check), the domain's lifecycle
 *	   state allows the move, and every sequence of the domain can be moved
 *	   past the source's value by the safety gap within its bounds.
 *	2. Freeze: migration_split.freeze_domain() in one source transaction
 *	   (with lock_timeout = --timeout: it waits for writers in flight).  The
 *	   source's WAL insert position read after its commit is the freeze
 *	   LSN: every write of the domain that ever commits on the monolith
 *	   commits before it (see freeze_domain() in src/sql/extraction.sql).
 *	3. Catch up: wait until the slot's confirmed position reaches the freeze
 *	   LSN.  The stream confirms a position only once every change of the
 *	   domain before it is committed on the target.  When no stream holds
 *	   the slot, cutover streams itself (stream --until-caught-up) in this
 *	   process.  Past --timeout: unfreeze, exit EXIT_CUTOVER_TIMEOUT.
 *	4. Sequences: every sequence behind a serial or identity column of the
 *	   domain is set on the target to the source's last value plus
 *	   --sequence-gap increments (never moved backwards).
 *	5. In one source transaction: the read path (--read-path) and the state
 *	   "extracted" with the freeze LSN and the service.
 *
 * The write-unavailability window printed at the end is the time from the
 * freeze's commit to the commit of step 5.  A cutover that stopped after the
 * freeze (killed, connection lost) is resumed by running it again: a frozen
 * domain is not frozen again, and steps 3-5 are repeated.
 *
 * Unless --no-reverse, the reverse stream is set up (rollback.c) after step
 * 4 and before step 5, and after step 5 the service, when a rollback left
 * it frozen, is unfrozen.
 *
 * The freeze (step 2), the catch-up (3) and the sequence moves (4) are
 * those of catchup.c, which rollback runs in the other direction.
 *
 * finalize drops the reverse slot and state, the forward slot, optionally
 * the archived tables of the read path, and marks the domain final.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"

#include "job.h"

/* one sequence of the domain to be moved on the target */
typedef struct SequenceMove
{
	char	   *table;			/* qualified source table, for messages */
	char	   *column;
	char	   *target_table;	/* qualified target table */
	char	   *source_last;	/* NULL: never used on the source */
	SequenceTarget to;			/* the move on the target */
} SequenceMove;

/* everything cutover learns before it changes anything */
typedef struct CutoverPlan
{
	const JobOptions *opts;
	PGconn	   *src;
	PGconn	   *tgt;
	JobState	js;
	Domain	   *d;
	char	   *service;		/* the target described without secrets */
	char	   *state;			/* lifecycle state on the source */
	bool		slot_active;
	int			nseqs;
	SequenceMove *seqs;
	char	   *server;			/* --read-path: the postgres_fdw server */
	bool		server_exists;
	bool		frozen;			/* by this run: a failure unfreezes */
} CutoverPlan;

/*
 * A preflight finding in the step-by-step account: the same in both modes,
 * since the preflight runs in both.
 */
static void
finding(const char *fmt,...) pg_attribute_printf(1, 2);

static void
finding(const char *fmt,...)
{
	va_list		ap;

	printf("preflight: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void
preflight_fail(CutoverPlan *p, const char *hint, const char *fmt,...) pg_attribute_printf(3, 4);
static void unfreeze(CutoverPlan *p);

/*
 * Report a failed check and exit: nothing has changed (a check repeated
 * after the freeze, the sequences', unfreezes first).
 */
static void
preflight_fail(CutoverPlan *p, const char *hint, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	if (p->frozen)
	{
		/* the error first: unfreeze() exits with its own if it fails */
		preflight_report(NULL, NULL, fmt, ap);
		unfreeze(p);
		pg_log_error_detail("The domain was unfrozen and streams again; nothing else was changed.");
		if (hint)
			pg_log_error_hint("%s", hint);
	}
	else
		preflight_report("Nothing was changed.", hint, fmt, ap);
	va_end(ap);
	PQfinish(p->src);
	PQfinish(p->tgt);
	exit(EXIT_PREFLIGHT);
}

/*
 * The last verification recorded by "migration-split verify" must say
 * "equal" and be recent.  Job states written before verify existed have no
 * such columns: that fails too (a cut-over without a verification is a
 * choice the user makes with --skip-verify-check).
 */
static void
preflight_verify(CutoverPlan *p)
{
	const char *params[2];
	PGresult   *res;
	char		age[32];
	char	   *has;

	if (p->opts->skip_verify_check)
	{
		finding("verification not checked (--skip-verify-check)");
		return;
	}
	has = job_query_value(p->tgt, "target",
					  "SELECT pg_catalog.count(*) = 3 FROM pg_catalog.pg_attribute"
					  " WHERE attrelid = '" MS_STATE_SCHEMA ".jobs'::pg_catalog.regclass"
					  " AND attname IN ('last_verify_at', 'last_verify_lsn', 'last_verify_equal')"
					  " AND NOT attisdropped", 0, NULL);
	if (strcmp(has, "t") != 0)
		preflight_fail(p, "Run \"migration-split verify\" with this version of migration-split first, or pass --skip-verify-check.",
					   "the job state on the target records no verification of domain \"%s\"",
					   p->opts->domain);
	snprintf(age, sizeof(age), "%d", p->opts->verify_max_age);
	params[0] = p->opts->domain;
	params[1] = age;
	res = job_query(p->tgt, "target",
					"SELECT last_verify_at, last_verify_lsn, last_verify_equal,"
					" last_verify_at >= pg_catalog.now() - pg_catalog.make_interval(secs => $2::float8)"
					" FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1",
					2, params);
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 2))
		preflight_fail(p, "Run \"migration-split verify\" first, or pass --skip-verify-check.",
					   "domain \"%s\" has never been verified", p->opts->domain);
	if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
		preflight_fail(p, "Find and repair the differences, then run \"migration-split verify\" again.",
					   "the last verification of domain \"%s\" (at %s) found differences",
					   p->opts->domain, PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
		preflight_fail(p, "Run \"migration-split verify\" again, or raise --verify-max-age.",
					   "the last verification of domain \"%s\" (at %s) is older than %d %s",
					   p->opts->domain, PQgetvalue(res, 0, 0), p->opts->verify_max_age,
					   ngettext("second", "seconds", p->opts->verify_max_age));

	/*
	 * After a rollback, only a verification made since counts: the reverse
	 * stream rewrote the monolith's tables, and the forward slot was moved
	 * past its writes.  Every source position after the rollback is past
	 * the freeze of the cutover it undid (the forward stream cannot run
	 * while the domain is extracted), so a verification at or before that
	 * freeze is older than the rollback.
	 */
	{
		const char *vparams[2];
		PGresult   *prev;

		vparams[0] = p->opts->domain;
		vparams[1] = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
		prev = job_query(p->src, "source",
						 "SELECT pg_catalog.max(source_lsn),"
						 " $2::pg_catalog.pg_lsn IS NULL OR $2::pg_catalog.pg_lsn <= pg_catalog.max(source_lsn)"
						 " FROM migration_split.domain_transitions"
						 " WHERE domain = $1 AND to_state = 'extracted'",
						 2, vparams);
		if (!PQgetisnull(prev, 0, 0) && strcmp(PQgetvalue(prev, 0, 1), "t") == 0)
			preflight_fail(p, "Run \"migration-split verify\" again while the stream runs.",
						   "the last verification of domain \"%s\" (at %s, source position %s) was made before its last cutover (frozen at %s) and rollback",
						   p->opts->domain, PQgetvalue(res, 0, 0),
						   vparams[1] ? vparams[1] : "unknown", PQgetvalue(prev, 0, 0));
		PQclear(prev);
	}
	finding("verified equal at %s (source position %s)",
		 PQgetvalue(res, 0, 0), PQgetisnull(res, 0, 1) ? "unknown" : PQgetvalue(res, 0, 1));
	PQclear(res);
}

/*
 * Plan the move of every sequence behind a serial or identity column:
 * source last value + gap * increment, checked against the target
 * sequence's bounds, never behind the target's own value.  Run in the
 * preflight, and again after the catch-up: the source's sequences move
 * until the freeze (and nextval() may still be called on the monolith
 * afterwards, which is what the gap is for).
 */
static void
plan_sequences(CutoverPlan *p)
{
	int			i,
				j,
				n = 0;

	p->nseqs = 0;
	if (p->seqs)
		pg_free(p->seqs);

	for (i = 0; i < p->d->ntables; i++)
		for (j = 0; j < p->d->tables[i].ncolumns; j++)
			if (p->d->tables[i].columns[j].identity_seq || p->d->tables[i].columns[j].owned_seq)
				n++;
	p->seqs = pg_malloc0(sizeof(SequenceMove) * Max(n, 1));
	for (i = 0; i < p->d->ntables; i++)
	{
		DomainTable *t = &p->d->tables[i];

		for (j = 0; j < t->ncolumns; j++)
		{
			DomainColumn *c = &t->columns[j];
			const char *seq = c->identity_seq ? c->identity_seq : c->owned_seq;
			SequenceMove *m;

			if (seq == NULL)
				continue;
			m = &p->seqs[p->nseqs++];
			m->table = psprintf("%s.%s", t->schema, t->name);
			m->column = c->name;
			m->target_table = schema_qualified(p->tgt, p->js.target_schema, t->name);
			m->source_last = sequence_last_used(p->src, "source", seq);
			if (m->source_last == NULL)
			{
				/* never used on the source: the target's own start is right */
				continue;
			}

			sequence_plan(p->tgt, "target", m->target_table, c->name, m->source_last,
						  p->opts->sequence_gap, &m->to);
			if (m->to.kind == SEQUENCE_NONE)
				preflight_fail(p, "Run \"migration-split init --drop\" to recreate the target's tables.",
							   "column %s.%s has no sequence on the target", m->table, c->name);
			if (m->to.kind == SEQUENCE_OUT_OF_BOUNDS)
				preflight_fail(p, "Lower --sequence-gap, or widen the sequence's bounds on the target.",
							   "sequence of %s.%s cannot be moved by %d %s past %s: out of its bounds on the target",
							   m->table, c->name, p->opts->sequence_gap,
							   ngettext("increment", "increments", p->opts->sequence_gap),
							   m->source_last);
		}
	}
}

/*
 * Every check before the freeze.  Exits with EXIT_PREFLIGHT (or the exit
 * code of a failed query) when one fails.
 */
static void
preflight(CutoverPlan *p)
{
	const JobOptions *opts = p->opts;
	const char *params[2];
	PGresult   *res;
	char	   *v;

	/* an unknown domain first, with rollback's and finalize's exit code */
	v = job_query_value(p->src, "source",
					"SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle') IS NOT NULL", 0, NULL);
	if (v != NULL && strcmp(v, "t") == 0)
	{
		params[0] = opts->domain;
		if (job_query_value(p->src, "source",
							"SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1",
							1, params) == NULL)
			preflight_exit(EXIT_DOMAIN, NULL, "domain \"%s\" does not exist in the source database", opts->domain);
	}
	if (!state_read_job(p->tgt, opts->domain, &p->js))
		preflight_fail(p, "Run \"migration-split init\" and \"migration-split stream\" first.",
					   "domain \"%s\" has not been initialised on the target", opts->domain);
	state_check_names(opts, &p->js);
	if (strcmp(p->js.phase, "streaming") != 0)
		preflight_fail(p, "Run \"migration-split init\" again to finish it.",
					   "init of domain \"%s\" is not finished (phase \"%s\")", opts->domain, p->js.phase);

	/* the source is the one the job streams from */
	v = job_query_value(p->src, "source",
					"SELECT system_identifier::text FROM pg_catalog.pg_control_system()", 0, NULL);
	if (v == NULL || strcmp(v, p->js.system_id) != 0)
		preflight_fail(p, NULL, "the source (system identifier %s) is not the one domain \"%s\" was copied from (%s)",
					   v ? v : "?", opts->domain, p->js.system_id);

	/* lifecycle state */
	v = job_query_value(p->src, "source",
					"SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle') IS NOT NULL", 0, NULL);
	if (strcmp(v, "t") != 0)
		preflight_fail(p, "Run ALTER EXTENSION migration_split UPDATE in the source database.",
					   "the extension migration_split in the source database has no domain lifecycle (version 1.1 is needed)");
	params[0] = opts->domain;
	p->state = job_query_value(p->src, "source",
						   "SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1",
						   1, params);
	if (p->state == NULL)
		preflight_fail(p, NULL, "domain \"%s\" does not exist in the source database", opts->domain);
	if (strcmp(p->state, "final") == 0)
		preflight_fail(p, NULL, "domain \"%s\" is final: its extraction is over", opts->domain);
	if (strcmp(p->state, "extracted") == 0)
		return;					/* nothing to do; cmd_cutover says so */
	finding("domain \"%s\" is in state \"%s\"", opts->domain, p->state);

	/* the slot and the lag */
	params[0] = p->js.slot_name;
	res = job_query(p->src, "source",
					"SELECT active, confirmed_flush_lsn,"
					" pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn)::int8"
					" FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
					1, params);
	if (PQntuples(res) == 0)
		preflight_fail(p, "Run \"migration-split init --drop\" to start over.",
					   "replication slot \"%s\" of domain \"%s\" does not exist", p->js.slot_name, opts->domain);
	p->slot_active = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	if (atoll(PQgetvalue(res, 0, 2)) > opts->max_lag)
		preflight_fail(p, "Let \"migration-split stream\" catch up, or raise --max-lag.",
					   "the stream of domain \"%s\" is %s bytes behind the source (--max-lag %lld)",
					   opts->domain, PQgetvalue(res, 0, 2), (long long) opts->max_lag);
	finding("slot \"%s\" %s, confirmed up to %s, %s bytes behind",
		 p->js.slot_name, p->slot_active ? "streaming" : "idle (cutover will stream itself)",
		 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	PQclear(res);

	preflight_verify(p);

	if (!opts->no_reverse)
	{
		char	   *problem;
		const char *hint;

		reverse_preflight(p->src, p->tgt, opts->domain, &problem, &hint);
		if (problem)
			preflight_fail(p, hint, "%s", problem);
		finding("the service can run the reverse stream (wal_level logical, migration_split 1.1)");
	}
	else
		finding("no reverse stream (--no-reverse): the extraction cannot be rolled back by \"migration-split rollback\"");

	p->d = catalog_read_domain(p->src, opts->domain);
	job_set_search_path(p->src, "source", "pg_catalog");
	plan_sequences(p);
	finding("%d %s of the domain can be moved by %d %s", p->nseqs,
			ngettext("sequence", "sequences", p->nseqs), p->opts->sequence_gap,
			ngettext("increment", "increments", p->opts->sequence_gap));

	if (opts->read_path)
	{
		params[0] = p->server;
		v = job_query_value(p->src, "source",
						"SELECT w.fdwname FROM pg_catalog.pg_foreign_server s"
						" JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw"
						" WHERE s.srvname = $1", 1, params);
		p->server_exists = v != NULL;
		if (v && strcmp(v, "postgres_fdw") != 0)
			preflight_fail(p, "Name a postgres_fdw server with --read-path-server.",
						   "server \"%s\" uses foreign-data wrapper \"%s\", not postgres_fdw", p->server, v);
		if (!p->server_exists)
		{
			v = job_query_value(p->src, "source",
							"SELECT pg_catalog.count(*) FROM pg_catalog.pg_available_extensions"
							" WHERE name = 'postgres_fdw'", 0, NULL);
			if (strcmp(v, "1") != 0)
				preflight_fail(p, "Install PostgreSQL's contrib modules on the source's server.",
							   "extension postgres_fdw is not available on the source");
		}
		finding("read path through %s server \"%s\"",
			 p->server_exists ? "the existing" : "a new", p->server);
		catalog_warn_default_collation(p->src, p->tgt, opts->domain);
	}
}

/* record the transitions that lead a streaming job to state "streaming" */
static void
catch_up_lifecycle(CutoverPlan *p)
{
	const char *params[2] = {p->opts->domain, NULL};

	if (strcmp(p->state, "monolith") == 0)
	{
		job_step(p->opts, "record lifecycle: monolith -> copying (the job's init is done)");
		if (!p->opts->dry_run)
		{
			params[1] = "copying";
			PQclear(job_query(p->src, "source",
							  "SELECT migration_split.set_domain_state($1, $2)", 2, params));
		}
	}
	if (strcmp(p->state, "monolith") == 0 || strcmp(p->state, "copying") == 0)
	{
		job_step(p->opts, "record lifecycle: copying -> streaming (the job streams)");
		if (!p->opts->dry_run)
		{
			params[1] = "streaming";
			PQclear(job_query(p->src, "source",
							  "SELECT migration_split.set_domain_state($1, $2)", 2, params));
		}
	}
}

/* undo the freeze after a failed catch-up */
static void
unfreeze(CutoverPlan *p)
{
	const char *params[1] = {p->opts->domain};

	PQclear(job_query(p->src, "source",
					  "SELECT migration_split.unfreeze_domain($1)", 1, params));
}

/*
 * Set the target's sequences (planned by preflight_sequences) in one
 * target transaction.
 */
static void
move_sequences(CutoverPlan *p)
{
	int			i;

	if (!p->opts->dry_run)
		job_command(p->tgt, "target", "BEGIN");
	for (i = 0; i < p->nseqs; i++)
	{
		SequenceMove *m = &p->seqs[i];

		if (m->source_last == NULL)
		{
			job_step(p->opts, "sequence of %s.%s: never used on the source, left as it is", m->table, m->column);
			continue;
		}
		if (m->to.kind == SEQUENCE_AHEAD)
		{
			job_step(p->opts, "sequence of %s.%s: the target is past %s + gap already, left as it is",
				 m->table, m->column, m->source_last);
			continue;
		}
		job_step(p->opts, "sequence of %s.%s: source at %s, target set to %s", m->table, m->column,
			 m->source_last, m->to.value);
		if (!p->opts->dry_run)
			sequence_set(p->tgt, "target", &m->to);
	}
	if (!p->opts->dry_run)
		job_command(p->tgt, "target", "COMMIT");
}

/*
 * Run a statement that holds a secret: never printed, not even with -v -v;
 * on error only the server's message is shown.
 */
static void
secret_command(PGconn *conn, const char *sql, const char *what)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		int			code = job_exit_code_for(res, conn);

		pg_log_error("could not %s: %s", what, job_result_error(res));
		PQclear(res);
		PQfinish(conn);
		exit(code);
	}
	PQclear(res);
}

/*
 * Create the postgres_fdw server for the read path from the target
 * connection's host, port and database, with a user mapping for the
 * current user that holds the target connection's user and password, in
 * one transaction (a server is never left without its mapping).
 */
static void
create_read_path_server(CutoverPlan *p)
{
	PQExpBufferData sql;
	char	   *qserver = job_quote_ident(p->src, p->server);

	job_command(p->src, "source", "BEGIN");
	job_command(p->src, "source", "CREATE EXTENSION IF NOT EXISTS postgres_fdw");
	initPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "CREATE SERVER %s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %s, port %s, dbname %s)",
					  qserver, job_quote_literal(p->src, PQhost(p->tgt)),
					  job_quote_literal(p->src, PQport(p->tgt)),
					  job_quote_literal(p->src, PQdb(p->tgt)));
	PQclear(job_query(p->src, "source", sql.data, 0, NULL));
	resetPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS (user %s",
					  qserver, job_quote_literal(p->src, PQuser(p->tgt)));
	if (PQpass(p->tgt) && PQpass(p->tgt)[0] != '\0')
		appendPQExpBuffer(&sql, ", password %s", job_quote_literal(p->src, PQpass(p->tgt)));
	appendPQExpBufferChar(&sql, ')');
	secret_command(p->src, sql.data, "create the user mapping of the read path");
	job_command(p->src, "source", "COMMIT");
	termPQExpBuffer(&sql);
}

/*
 * The loose foreign keys between the domain and the rest of the monolith
 * (migration_split.loosen_foreign_key) after a cut-over: their clean-up is
 * the monolith's process_loose_foreign_keys(), which can no longer do it.
 * A key from the domain: the monolith's deletes are still queued, but the
 * clean-up of the domain's rows (archived, frozen) fails with MS002 at every
 * run, and the service's rows stay.  A key to the domain: its rows are now
 * deleted in the service, whose deletes queue nothing in the monolith.
 * Both must be carried by the application (events) from now on.
 */
static void
print_loose_foreign_keys(CutoverPlan *p)
{
	const char *params[1] = {p->opts->domain};
	PGresult   *res;
	int			i;

	res = job_query(p->src, "source",
					"SELECT constraint_name, from_table::pg_catalog.text,"
					" from_domain, to_table::pg_catalog.text, to_domain,"
					" from_domain IS NOT DISTINCT FROM $1"
					" FROM migration_split.loose_foreign_keys"
					" WHERE (from_domain IS NOT DISTINCT FROM $1) <> (to_domain IS NOT DISTINCT FROM $1)"
					" ORDER BY 6 DESC, from_table::pg_catalog.text COLLATE \"C\", constraint_name",
					1, params);
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *key = PQgetvalue(res, i, 0);
		const char *from = PQgetvalue(res, i, 1);
		const char *to = PQgetvalue(res, i, 3);

		if (PQgetvalue(res, i, 5)[0] == 't')
			printf("  - loose foreign key \"%s\" of %s references %s (%s): the monolith still queues the deletes there, but cannot clean up the domain's rows (SQLSTATE MS002); the service must delete its rows itself (send it the monolith's deletes);\n",
				   key, from, to, PQgetisnull(res, i, 4) ? "no domain" :
				   psprintf("domain \"%s\"", PQgetvalue(res, i, 4)));
		else
			printf("  - loose foreign key \"%s\" of %s (%s) references %s: its deletes are made in the service now and queue nothing in the monolith; clean up %s when the service deletes (send the monolith the service's deletes);\n",
				   key, from, PQgetisnull(res, i, 2) ? "no domain" :
				   psprintf("domain \"%s\"", PQgetvalue(res, i, 2)), to, from);
	}
	PQclear(res);
}

/* what the application must change, after a cut-over */
static void
print_switch(CutoverPlan *p)
{
	int			i;

	printf("\nDomain \"%s\" is extracted.  The application must now:\n", p->opts->domain);
	printf("  - send every write of the domain's tables to the service: %s, schema \"%s\":\n",
		   p->service, p->js.target_schema);
	for (i = 0; i < p->d->ntables; i++)
		printf("      %s.%s -> %s.%s\n", p->d->tables[i].schema, p->d->tables[i].name,
			   p->js.target_schema, p->d->tables[i].name);
	printf("  - expect SQLSTATE MS002 from the monolith for any write to those tables;\n");
	if (p->opts->read_path)
		printf("  - reads in the monolith go to the service through server \"%s\" (the monolith's tables are in schema migration_split_archive);\n",
			   p->server);
	else
		printf("  - read the domain's data from the service (the monolith's copy no longer changes);\n");
	print_loose_foreign_keys(p);
	printf("  - stop \"migration-split stream\" for this domain: it has nothing more to apply.\n");
	if (!p->opts->no_reverse)
		printf("The service's writes to the domain are kept for \"migration-split rollback\" by slot \"%s\" on the service.\n",
			   reverse_slot_name(p->opts->domain));
}

int
cmd_cutover(const JobOptions *opts)
{
	CutoverPlan plan;
	CutoverPlan *p = &plan;
	const char *params[4];
	char	   *freeze_lsn = NULL;
	double		frozen_at = 0;
	double		deadline;
	double		window_ms;
	int			rc;

	memset(p, 0, sizeof(*p));
	p->opts = opts;
	p->src = job_connect(opts->source, "source", false, true);
	p->tgt = job_connect(opts->target, "target", false, true);
	if (!opts->dry_run)
	{
		job_require_writable(p->src, "source", opts->source, "cutover", EXIT_PREFLIGHT);
		job_require_writable(p->tgt, "target", opts->target, "cutover", EXIT_TARGET);
	}
	p->service = job_describe_conninfo(opts->target);
	p->server = opts->read_path_server ? pg_strdup(opts->read_path_server)
		: psprintf("migration_split_%s", opts->domain);

	catchup_lock_domain(p->src, "source", opts->domain, "cutover");
	preflight(p);
	if (strcmp(p->state, "extracted") == 0)
	{
		/* a cutover stopped between the mark and the service's unfreeze */
		if (!opts->no_reverse)
			reverse_release_service(p->tgt, opts);
		printf("domain \"%s\" is extracted already; nothing to do\n", opts->domain);
		PQfinish(p->src);
		PQfinish(p->tgt);
		return EXIT_OK;
	}

	catch_up_lifecycle(p);

	/* freeze */
	deadline = job_now_seconds() + opts->timeout;
	if (strcmp(p->state, "frozen") == 0)
	{
		job_step(p->opts, "freeze: domain \"%s\" is frozen already (an earlier cutover stopped); continuing", opts->domain);
		if (!opts->dry_run)
		{
			freeze_lsn = job_query_value(p->src, "source", "SELECT pg_catalog.pg_current_wal_lsn()", 0, NULL);
			p->frozen = true;
		}
	}
	else
	{
		job_step(p->opts, "freeze: migration_split.freeze_domain('%s', '%s'); writes to the domain fail with SQLSTATE MS002 from now on",
			 opts->domain, p->service);
		if (!opts->dry_run)
		{
			freeze_lsn = catchup_freeze(p->src, "source", opts->domain, p->service,
										false, opts->timeout, "");
			p->frozen = true;
		}
	}
	frozen_at = job_now_seconds();
	job_crash_point("cutover-frozen");

	/* catch up */
	job_step(p->opts, "catch up: wait until the target has applied everything up to the freeze position %s (at most %d s)",
		 freeze_lsn ? freeze_lsn : "(pg_current_wal_lsn() after the freeze)", opts->timeout);
	if (!opts->dry_run)
	{
		JobOptions	so = *opts;

		so.slot = p->js.slot_name;
		so.target_schema = p->js.target_schema;
		so.slot_given = false;
		so.target_schema_given = false;
		rc = catchup_wait(p->src, "source", p->js.slot_name, freeze_lsn, deadline,
						  &so, "cut-over");
	}
	else
		rc = EXIT_OK;
	if (rc != EXIT_OK)
	{
		bool		interrupted = job_interrupted;

		if (rc == EXIT_CUTOVER_TIMEOUT)
			pg_log_error("the target did not apply the changes up to %s within %d s", freeze_lsn, opts->timeout);
		else
			pg_log_error("the target could not catch up to %s", freeze_lsn);
		/* unfreeze even after Ctrl-C: the domain must not stay frozen */
		job_interrupted = 0;
		if (PQstatus(p->src) == CONNECTION_OK)
		{
			unfreeze(p);
			pg_log_error_detail("The domain was unfrozen and streams again; nothing else was changed.");
		}
		pg_log_error_hint("Check \"migration-split status\", then run cutover again%s.",
						  rc == EXIT_CUTOVER_TIMEOUT ? ", with a longer --timeout if needed" : "");
		PQfinish(p->src);
		PQfinish(p->tgt);
		return interrupted ? EXIT_INTERRUPTED : rc;
	}

	/* sequences, read again now that nothing of the domain commits */
	if (!opts->dry_run)
		plan_sequences(p);
	move_sequences(p);

	/* the reverse stream's slot, before the service's first write */
	if (!opts->no_reverse)
	{
		reverse_create(p->src, p->tgt, opts, &p->js);
		job_crash_point("cutover-reverse");
	}

	/* read path and the state, in one source transaction */
	if (opts->read_path && !p->server_exists)
	{
		job_step(p->opts, "read path: create server \"%s\" (postgres_fdw, host %s port %s dbname %s) and a user mapping for the current user",
			 p->server, PQhost(p->tgt), PQport(p->tgt), PQdb(p->tgt));
		if (!opts->dry_run)
			create_read_path_server(p);
	}
	if (!opts->dry_run)
		job_command(p->src, "source", "BEGIN");
	if (opts->read_path)
	{
		job_step(p->opts, "read path: migration_split.enable_read_path('%s', '%s', '%s'): tables archived in schema migration_split_archive, replaced by foreign tables",
			 opts->domain, p->server, p->js.target_schema);
		if (!opts->dry_run)
		{
			params[0] = opts->domain;
			params[1] = p->server;
			params[2] = p->js.target_schema;
			PQclear(job_query(p->src, "source",
							  "SELECT migration_split.enable_read_path($1, $2, $3)", 3, params));
		}
	}
	job_step(p->opts, "mark extracted: migration_split.set_domain_state('%s', 'extracted', %s, '%s')",
		 opts->domain, freeze_lsn ? freeze_lsn : "freeze position", p->service);
	if (opts->dry_run)
	{
		printf("dry run: nothing was changed\n");
		PQfinish(p->src);
		PQfinish(p->tgt);
		return EXIT_OK;
	}
	params[0] = opts->domain;
	params[1] = freeze_lsn;
	params[2] = p->service;
	PQclear(job_query(p->src, "source",
					  "SELECT migration_split.set_domain_state($1, 'extracted', $2::pg_catalog.pg_lsn, $3)",
					  3, params));
	job_command(p->src, "source", "COMMIT");
	job_crash_point("cutover-extracted");
	if (!opts->no_reverse)
		reverse_release_service(p->tgt, opts);
	window_ms = (job_now_seconds() - frozen_at) * 1000.0;

	printf("cutover of domain \"%s\": frozen at source position %s; writes were refused for %.0f ms before the service was ready\n",
		   opts->domain, freeze_lsn, window_ms);
	print_switch(p);
	PQfinish(p->src);
	PQfinish(p->tgt);
	return EXIT_OK;
}

/*
 * finalize: the extraction is over.  Drop the forward slot (its stream must
 * have stopped), with --drop-archive the archived tables of the read path,
 * and mark the domain final.
 */
int
cmd_finalize(const JobOptions *opts)
{
	PGconn	   *src;
	PGconn	   *tgt;
	JobState	js;
	const char *params[2] = {opts->domain, NULL};
	char	   *state;
	PGresult   *res;
	int			i;

	src = job_connect(opts->source, "source", false, true);
	tgt = job_connect(opts->target, "target", false, true);
	job_require_writable(src, "source", opts->source, "finalize", EXIT_PREFLIGHT);
	catchup_lock_domain(src, "source", opts->domain, "finalize");

	/*
	 * The domain's lifecycle state first, with the codes rollback uses: an
	 * unknown domain is a domain problem (EXIT_DOMAIN), a domain in the
	 * wrong state for the command a failed preflight (EXIT_PREFLIGHT).
	 */
	state = job_query_value(src, "source",
						"SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle') IS NOT NULL", 0, NULL);
	if (state == NULL || strcmp(state, "t") != 0)
		preflight_exit(EXIT_PREFLIGHT, "Run ALTER EXTENSION migration_split UPDATE in the source database.",
					  "the extension migration_split in the source database has no domain lifecycle (version 1.1 is needed)");
	state = job_query_value(src, "source",
						"SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1", 1, params);
	if (state == NULL)
		preflight_exit(EXIT_DOMAIN, NULL, "domain \"%s\" does not exist in the source database", opts->domain);
	if (strcmp(state, "final") == 0)
		preflight_exit(EXIT_PREFLIGHT, NULL, "domain \"%s\" is final already: its extraction is over", opts->domain);
	if (strcmp(state, "extracted") != 0)
		preflight_exit(EXIT_PREFLIGHT, "Only an extracted domain can be finalized: run \"migration-split cutover\" first.",
					  "domain \"%s\" is not extracted (state \"%s\")", opts->domain, state);
	if (!state_read_job(tgt, opts->domain, &js))
	{
		pg_log_error("domain \"%s\" has not been initialised on the target", opts->domain);
		pg_log_error_hint("Give --target the service database the domain was cut over to.");
		exit(EXIT_TARGET);
	}
	state_check_names(opts, &js);

	job_command(src, "source", "BEGIN");
	params[0] = js.slot_name;
	res = job_query(src, "source",
					"SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, params);
	if (PQntuples(res) > 0)
	{
		if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		{
			pg_log_error("replication slot \"%s\" is in use", js.slot_name);
			pg_log_error_hint("Stop \"migration-split stream\" for domain \"%s\" first.", opts->domain);
			exit(EXIT_SLOT);
		}
		printf("drop replication slot \"%s\"\n", js.slot_name);
	}
	PQclear(res);

	/*
	 * The reverse stream: its slot now (a running reverse stream stops
	 * finalize here, with nothing changed), its state in this transaction.
	 */
	reverse_drop(src, tgt, opts);

	if (opts->drop_archive)
	{
		params[0] = opts->domain;
		res = job_query(src, "source",
						"SELECT archived::text FROM migration_split.read_paths WHERE domain = $1"
						" ORDER BY archived::oid", 1, params);
		for (i = 0; i < PQntuples(res); i++)
		{
			const char *dp[1] = {PQgetvalue(res, i, 0)};
			char	   *drop;

			/* regclass output: schema-qualified and quoted */
			printf("drop archived table %s\n", dp[0]);
			PQclear(job_query(src, "source",
							  "DELETE FROM migration_split.read_paths WHERE archived = $1::pg_catalog.regclass",
							  1, dp));
			drop = psprintf("DROP TABLE %s", dp[0]);
			job_command(src, "source", drop);
			pg_free(drop);
		}
		if (PQntuples(res) == 0)
			printf("no archived tables (the domain has no read path); the monolith's frozen tables are kept\n");
		PQclear(res);
	}

	params[0] = opts->domain;
	PQclear(job_query(src, "source",
					  "SELECT migration_split.set_domain_state($1, 'final')", 1, params));
	job_command(src, "source", "COMMIT");
	/* after the commit: a slot cannot be dropped in a transaction block */
	params[0] = js.slot_name;
	PQclear(job_query(src, "source",
					  "SELECT pg_catalog.pg_drop_replication_slot(slot_name)"
					  " FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, params));
	printf("domain \"%s\" is final\n", opts->domain);
	PQfinish(src);
	PQfinish(tgt);
	return EXIT_OK;
}
