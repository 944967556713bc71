/*-------------------------------------------------------------------------
 *
 * init.c
 *		The "init" subcommand: slot, target schema, consistent copy.
 *
 * Order of work, chosen so that an interruption at any point can be retried:
 *
 *	1. Validate everything that can be validated (domain, keys, privileges,
 *	   target schema empty, slot free) before creating anything.
 *	2. One target transaction: state schema, job row in phase "creating",
 *	   target schema with types, sequences and tables, one row per table.
 *	3. Create the slot with an exported snapshot; job row to phase
 *	   "copying" with the slot's consistent point.  A rerun that finds phase
 *	   "creating" drops what step 2 and 3 made and starts over.
 *	4. Copy the tables (copy.c), each in its own target transaction that
 *	   also marks it copied together with the snapshot's LSN.
 *	5. Foreign keys between the domain's tables: added NOT VALID in one
 *	   target transaction, validated over up to --jobs connections at once
 *	   (a rerun drops and adds them again); then one target transaction:
 *	   sequence values, phase "streaming".
 *
 * A rerun in phase "copying" cannot get the original snapshot back: it
 * creates a temporary slot for a new snapshot and copies the remaining
 * tables as of that snapshot, recording its LSN per table.  The stream then
 * skips, per table, changes that committed before the table's snapshot,
 * exactly like PostgreSQL's table synchronization workers do.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <unistd.h>

#include "common/logging.h"

#include "job.h"

/*
 * Where init's time went, printed at the end: the work before the copy
 * (validation, target schema, slot), the copy (wall time; the COPY and the
 * index builds of each table are in the table's summary line and summed
 * here), adding and validating the foreign keys, setting the sequences.
 */
typedef struct InitPhases
{
	double		start;
	double		prepare;
	double		copy;
	double		foreign_keys;
	double		sequences;
} InitPhases;

/* the "phases:" line of the summary */
static void
print_phases(const InitPhases *ph, const Domain *d, int jobs)
{
	double		copy_sum = 0;
	double		index_sum = 0;
	double		analyze_sum = 0;
	int			i;

	for (i = 0; i < d->ntables; i++)
	{
		copy_sum += d->tables[i].copy_seconds;
		index_sum += d->tables[i].index_seconds;
		analyze_sum += d->tables[i].analyze_seconds;
	}
	printf("\nphases: prepare %.2f s, copy %.2f s (COPY %.2f s, keys and indexes %.2f s and statistics %.2f s summed over %d %s, %d at a time), foreign keys %.2f s, sequences %.2f s; total %.2f s\n",
		   ph->prepare, ph->copy, copy_sum, index_sum, analyze_sum, d->ntables,
		   ngettext("table", "tables", d->ntables), jobs,
		   ph->foreign_keys, ph->sequences, job_now_seconds() - ph->start);
}

static int
cmp_tables_by_size(const void *a, const void *b)
{
	const DomainTable *ta = a;
	const DomainTable *tb = b;

	if (ta->est_bytes != tb->est_bytes)
		return ta->est_bytes > tb->est_bytes ? -1 : 1;
	return strcmp(ta->name, tb->name);
}

/*
 * Split a list setting's value as SHOW prints it ("a, b" or, for an element
 * holding a comma or spaces, "\"a, b\"") into its elements: a double-quoted
 * element is taken literally (doubled quotes stand for one), others are
 * trimmed.  Calls fn(element, arg) for each; stops when it returns true and
 * returns true then.
 */
static bool
list_elements(const char *list, bool (*fn) (const char *, void *), void *arg)
{
	const char *p = list;
	PQExpBufferData el;
	bool		found = false;

	initPQExpBuffer(&el);
	while (*p && !found)
	{
		resetPQExpBuffer(&el);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"')
		{
			for (p++; *p; p++)
			{
				if (*p == '"' && p[1] == '"')
					appendPQExpBufferChar(&el, *p++);
				else if (*p == '"')
				{
					p++;
					break;
				}
				else
					appendPQExpBufferChar(&el, *p);
			}
			while (*p && *p != ',')
				p++;
		}
		else
		{
			while (*p && *p != ',')
				appendPQExpBufferChar(&el, *p++);
			while (el.len > 0 && (el.data[el.len - 1] == ' ' || el.data[el.len - 1] == '\t'))
				el.data[--el.len] = '\0';
		}
		if (*p == ',')
			p++;
		if (el.len > 0)
			found = fn(el.data, arg);
	}
	termPQExpBuffer(&el);
	return found;
}

static bool
element_is(const char *element, void *name)
{
	return strcmp(element, (const char *) name) == 0;
}

/* append an element as a quoted literal, for ALTER SYSTEM SET ... = 'a', 'b' */
static bool
element_append_literal(const char *element, void *buf)
{
	PQExpBuffer b = (PQExpBuffer) buf;
	const char *c;

	appendPQExpBufferStr(b, "'");
	for (c = element; *c; c++)
	{
		if (*c == '\'')
			appendPQExpBufferChar(b, '\'');
		appendPQExpBufferChar(b, *c);
	}
	appendPQExpBufferStr(b, "', ");
	return false;
}

/*
 * The source role must be allowed to use replication connections, and to
 * create a slot with our plugin: on PostgreSQL minor releases that have the
 * setting output_plugin_libraries (15.20 and later security releases), a
 * role with REPLICATION but not superuser may only use the plugins it lists.
 * Older minor releases do not know the setting (current_setting(..., true)
 * is then NULL) and do not restrict plugins.  Only roles with the
 * privileges of pg_read_all_settings may read the setting; for others the
 * server's refusal at slot creation is reported the same way (create_slot).
 */
/*
 * The domain must not have been handed over to the service: after a
 * cutover the service's tables hold the domain's writes, and init --drop
 * dropped them without a word and copied the monolith's frozen tables in
 * their place (the domain stayed "extracted"; every write of the service
 * since the cutover was lost).  init is for the states before a cutover
 * (monolith, copying, streaming); frozen, extracted and final are refused
 * as a failed preflight, nothing changed.  A source whose extension has no
 * lifecycle (1.0) has no cutover either.
 */
static void
check_lifecycle(PGconn *src, const char *domain)
{
	const char *params[1] = {domain};
	char	   *state;

	state = job_query_value(src, "source",
							"SELECT pg_catalog.to_regclass('migration_split.domain_lifecycle') IS NOT NULL",
							0, NULL);
	if (state == NULL || strcmp(state, "t") != 0)
		return;
	state = job_query_value(src, "source",
							"SELECT state FROM migration_split.domain_lifecycle WHERE domain = $1",
							1, params);
	if (state == NULL)
		return;
	if (strcmp(state, "extracted") == 0)
		preflight_exit(EXIT_PREFLIGHT,
					   "Run \"migration-split rollback\" to return the domain to the monolith; its stream then resumes without a new init.",
					   "domain \"%s\" is extracted: the service's tables hold its writes since the cutover, which init --drop would drop",
					   domain);
	if (strcmp(state, "frozen") == 0)
		preflight_exit(EXIT_PREFLIGHT,
					   "Run \"migration-split cutover\" again to finish the cutover, or unfreeze the domain with migration_split.unfreeze_domain().",
					   "domain \"%s\" is frozen: a cutover or rollback of it is in progress or stopped",
					   domain);
	if (strcmp(state, "final") == 0)
		preflight_exit(EXIT_PREFLIGHT, NULL,
					   "domain \"%s\" is final: its extraction is over and the service owns its data",
					   domain);
}

static void
check_source_privileges(PGconn *src)
{
	PGresult   *res;

	res = job_query(src, "source",
					"SELECT rolsuper OR rolreplication, current_user, rolsuper,"
					" CASE WHEN NOT rolsuper AND pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE')"
					"  THEN pg_catalog.current_setting('output_plugin_libraries', true) END"
					" FROM pg_catalog.pg_roles WHERE rolname = current_user",
					0, NULL);
	if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't')
	{
		pg_log_error("role \"%s\" on the source may not use replication",
					 PQntuples(res) ? PQgetvalue(res, 0, 1) : "?");
		pg_log_error_hint("ALTER ROLE ... REPLICATION, or use a role that has it.");
		exit(EXIT_PRIVILEGE);
	}
	if (PQgetvalue(res, 0, 2)[0] != 't' && !PQgetisnull(res, 0, 3) &&
		!list_elements(PQgetvalue(res, 0, 3), element_is, MS_PLUGIN_NAME))
	{
		const char *list = PQgetvalue(res, 0, 3);
		PQExpBufferData fix;

		/* one quoted literal per element: 'a, b' would be one element */
		initPQExpBuffer(&fix);
		list_elements(list, element_append_literal, &fix);
		pg_log_error("output plugin \"%s\" may not be used by role \"%s\" on the source",
					 MS_PLUGIN_NAME, PQgetvalue(res, 0, 1));
		pg_log_error_detail("The source's output_plugin_libraries is \"%s\"; a role that is not superuser may only create slots with the output plugins listed there.",
							list);
		pg_log_error_hint("As a superuser on the source: ALTER SYSTEM SET output_plugin_libraries = %s'%s'; SELECT pg_reload_conf();",
						  fix.data, MS_PLUGIN_NAME);
		termPQExpBuffer(&fix);
		exit(EXIT_PRIVILEGE);
	}
	PQclear(res);
}

/* the source's system identifier, over the replication connection */
static char *
identify_system(PGconn *repl)
{
	PGresult   *res = job_query(repl, "source", "IDENTIFY_SYSTEM", 0, NULL);
	char	   *sysid = pg_strdup(PQgetvalue(res, 0, 0));

	PQclear(res);
	return sysid;
}

/*
 * Create a logical slot with an exported snapshot.  Returns the snapshot
 * name and sets *lsn to the consistent point.  The snapshot lives as long
 * as "repl" sends no other command.  Creating the slot waits for the
 * source's running transactions to end, as long as it takes: init has no
 * --timeout, since a copy must start some time and the DBA decides (ending
 * the transactions, or interrupting init) with the list in view; after 2 s
 * and then every SLOT_REPORT_EVERY seconds they are named ("src" looks them
 * up).  On failure returns "!<exit code>" with the error reported; on
 * SIGINT/SIGTERM the creation is cancelled (no slot is left) and
 * "!<EXIT_INTERRUPTED>" returned.
 */
static char *
create_slot(PGconn *repl, PGconn *src, const char *slot, bool temporary, char **lsn)
{
	SlotCreate	sc;
	PGresult   *res;
	char	   *snapshot;
	int			code;

	slot_create_request(&sc, repl, src, slot, temporary, 0, SLOT_REPORT_EVERY,
						"init waits as long as it takes (it reports again every "
						CppAsString2(SLOT_REPORT_EVERY) " s); end those transactions to go on, or interrupt init: no slot is left behind.");

	switch (slot_create(&sc))
	{
		case SLOT_CREATED:
			*lsn = sc.lsn;
			snapshot = sc.snapshot;
			sc.lsn = sc.snapshot = NULL;
			slot_create_free(&sc);
			return snapshot;
		case SLOT_INTERRUPTED:
		case SLOT_TIMED_OUT:	/* no timeout: cannot happen */
			pg_log_error("interrupted while creating replication slot \"%s\" on the source; no slot was left, run the same command again",
						 slot);
			slot_create_free(&sc);
			*lsn = NULL;
			return psprintf("!%d", EXIT_INTERRUPTED);
		case SLOT_FAILED:
			break;
	}

	res = sc.error;
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		code = job_exit_code_for(res, repl);
		pg_log_error("could not create replication slot \"%s\" on the source: %s",
					 slot, job_error(repl));
		if (state && strcmp(state, "42710") == 0)
			code = EXIT_SLOT;
		else if (state && strcmp(state, "42501") == 0)
		{
			/* output_plugin_libraries (15.20 and later) does not list us */
			pg_log_error_detail("On the source, a role that is not superuser may only create slots with the output plugins listed in output_plugin_libraries.");
			pg_log_error_hint("As a superuser on the source, add %s to output_plugin_libraries: ALTER SYSTEM SET output_plugin_libraries = <each current entry quoted>, '%s'; SELECT pg_reload_conf();",
							  MS_PLUGIN_NAME, MS_PLUGIN_NAME);
			code = EXIT_PRIVILEGE;
		}
		else if (state && strcmp(state, "53400") == 0)
		{
			pg_log_error_hint("Increase max_replication_slots on the source.");
			code = EXIT_SLOT;
		}
		else if (state && strcmp(state, "58P01") == 0)
		{
			pg_log_error_hint("Install the migration_split extension's library on the source server.");
			code = EXIT_DOMAIN;
		}
	}
	slot_create_free(&sc);
	*lsn = NULL;
	return psprintf("!%d", code);
}

/*
 * Look the slot up on the source, waiting up to five seconds for it to
 * become inactive: a killed predecessor's walsender may take a moment to go
 * away.  Returns the (active_pid) row, none when the slot does not exist.
 */
static PGresult *
wait_for_idle_slot(PGconn *src, const char *slot)
{
	const char *params[1] = {slot};
	PGresult   *res;
	int			tries;

	for (tries = 0;; tries++)
	{
		res = job_query(src, "source",
						"SELECT active_pid FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
						1, params);
		if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0) || tries >= 20)
			return res;
		PQclear(res);
		pg_usleep(250000);
	}
}

/* drop the slot if it exists and nobody uses it; returns false if in use */
static bool
drop_slot_if_idle(PGconn *src, const char *slot)
{
	const char *params[1] = {slot};
	PGresult   *res = wait_for_idle_slot(src, slot);

	if (PQntuples(res) == 1)
	{
		if (!PQgetisnull(res, 0, 0))
		{
			pg_log_error("replication slot \"%s\" is in use by process %s on the source",
						 slot, PQgetvalue(res, 0, 0));
			pg_log_error_hint("Stop the other migration-split job for this slot first.");
			PQclear(res);
			return false;
		}
		PQclear(res);
		res = job_query(src, "source", "SELECT pg_catalog.pg_drop_replication_slot($1)", 1, params);
		pg_log_info("dropped replication slot \"%s\" on the source", slot);
	}
	PQclear(res);
	return true;
}

/* drop the target schema and the job's state for the domain */
static void
drop_target(PGconn *tgt, const char *domain, const char *target_schema)
{
	char	   *q = job_quote_ident(tgt, target_schema);
	char	   *sql = psprintf("DROP SCHEMA IF EXISTS %s CASCADE", q);
	const char *params[1] = {domain};

	job_command(tgt, "target", "BEGIN");
	job_command(tgt, "target", sql);
	if (state_schema_exists(tgt))
		PQclear(job_query(tgt, "target",
						  "DELETE FROM " MS_STATE_SCHEMA ".jobs WHERE domain = $1",
						  1, params));
	job_command(tgt, "target", "COMMIT");
	pg_free(sql);
	pg_free(q);
}

/* fresh init: target checks before anything is created */
static void
check_target_fresh(PGconn *tgt, const char *target_schema)
{
	const char *params[1] = {target_schema};
	PGresult   *res;

	/* the name is checked on the command line (main.c) */
	res = job_query(tgt, "target",
					"SELECT count(c.oid), pg_catalog.string_agg(c.relname, ', ' ORDER BY c.relname),"
					" pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),"
					" (SELECT pg_catalog.has_schema_privilege(n2.oid, 'CREATE')"
					"  FROM pg_catalog.pg_namespace n2 WHERE n2.nspname = $1),"
					" pg_catalog.to_regclass('" MS_STATE_SCHEMA ".jobs') IS NOT NULL"
					" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					" WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
					1, params);
	if (atoi(PQgetvalue(res, 0, 0)) > 0)
	{
		pg_log_error("target schema \"%s\" already holds other tables: %s",
					 target_schema, PQgetvalue(res, 0, 1));
		pg_log_error_hint("Use --target-schema to choose another schema, or drop these tables.");
		exit(EXIT_TARGET);
	}
	/*
	 * CREATE on the database, even when the target schema and the job's
	 * state exist already: init runs CREATE SCHEMA IF NOT EXISTS for both,
	 * which the server refuses without it before looking for the schema.
	 */
	if (PQgetvalue(res, 0, 2)[0] != 't')
	{
		pg_log_error("permission denied to create schemas in the target database");
		pg_log_error_detail("init creates the target schema and the job's state schema \"%s\" if they do not exist, and PostgreSQL requires the privilege even when they do.",
							MS_STATE_SCHEMA);
		pg_log_error_hint("GRANT CREATE ON DATABASE ... to the role of --target.");
		exit(EXIT_PRIVILEGE);
	}
	if (!PQgetisnull(res, 0, 3) && PQgetvalue(res, 0, 3)[0] != 't')
	{
		pg_log_error("permission denied to create tables in target schema \"%s\"", target_schema);
		pg_log_error_hint("GRANT CREATE ON SCHEMA ... to the role of --target, or use --target-schema.");
		exit(EXIT_PRIVILEGE);
	}
	PQclear(res);
}

/*
 * The copy workers and the stream apply with session_replication_role =
 * replica (job_set_apply_role): check that the target role may set it
 * before anything is created.  This session itself keeps the default role:
 * the job's own state relies on its foreign key's ON DELETE CASCADE.
 */
static void
check_apply_role(PGconn *tgt)
{
	int			code;

	if (!job_set_apply_role(tgt, &code))
		exit(code);
	job_command(tgt, "target", "RESET session_replication_role");
}

static void
check_slot_free(PGconn *src, const char *slot)
{
	const char *params[1] = {slot};
	PGresult   *res;

	res = job_query(src, "source",
					"SELECT active_pid, plugin, database FROM pg_catalog.pg_replication_slots"
					" WHERE slot_name = $1",
					1, params);
	if (PQntuples(res) == 1)
	{
		if (!PQgetisnull(res, 0, 0))
			pg_log_error("replication slot \"%s\" already exists and is in use by process %s on the source",
						 slot, PQgetvalue(res, 0, 0));
		else
			pg_log_error("replication slot \"%s\" already exists on the source (plugin %s, database %s)",
						 slot, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		pg_log_error_detail("The target has no job for this slot, so another job or target may own it.");
		pg_log_error_hint("Use --slot to choose another name, or drop the slot with SELECT pg_drop_replication_slot('%s') if it is unused.",
						  slot);
		exit(EXIT_SLOT);
	}
	PQclear(res);
}

/* load per-table state of a resumed init; tables must match the catalog */
static void
load_table_states(PGconn *tgt, Domain *d)
{
	const char *params[1] = {d->name};
	PGresult   *res;
	int			i,
				j;

	res = job_query(tgt, "target",
					"SELECT source_schema, source_table, state, sync_lsn, rows_copied,"
					" bytes_copied, seconds FROM " MS_STATE_SCHEMA ".tables WHERE domain = $1",
					1, params);
	if (PQntuples(res) != d->ntables)
	{
		pg_log_error("the tables of domain \"%s\" changed since init started (%d then, %d now)",
					 d->name, PQntuples(res), d->ntables);
		pg_log_error_hint("Run init again with --drop to start over.");
		exit(EXIT_TARGET);
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		DomainTable *t = NULL;

		for (j = 0; j < d->ntables; j++)
			if (strcmp(d->tables[j].schema, PQgetvalue(res, i, 0)) == 0 &&
				strcmp(d->tables[j].name, PQgetvalue(res, i, 1)) == 0)
				t = &d->tables[j];
		if (t == NULL)
		{
			pg_log_error("table \"%s.%s\" is no longer part of domain \"%s\"",
						 PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), d->name);
			pg_log_error_hint("Run init again with --drop to start over.");
			exit(EXIT_TARGET);
		}
		if (strcmp(PQgetvalue(res, i, 2), "copied") == 0)
		{
			t->state = TABLE_COPIED;
			t->sync_lsn = pg_strdup(PQgetvalue(res, i, 3));
			t->rows_done = atoll(PQgetvalue(res, i, 4));
			t->bytes_done = atoll(PQgetvalue(res, i, 5));
			t->seconds = atof(PQgetvalue(res, i, 6));
		}
	}
	PQclear(res);
}

/* set the target's sequences to the source's current values */
static void
sync_sequences(PGconn *src, PGconn *tgt, Domain *d, const char *target_schema)
{
	int			i,
				j;
	char	   *qschema = job_quote_ident(tgt, target_schema);

	job_set_search_path(tgt, "target", qschema);
	for (i = 0; i < d->ntables; i++)
	{
		DomainTable *t = &d->tables[i];

		for (j = 0; j < t->ncolumns; j++)
		{
			DomainColumn *c = &t->columns[j];
			const char *seq = c->identity_seq ? c->identity_seq : c->owned_seq;
			char	   *last;

			if (seq == NULL)
				continue;
			last = sequence_last_used(src, "source", seq);
			if (last != NULL)
			{
				char	   *tname = job_quote_ident(tgt, t->name);
				const char *tp[3] = {tname, c->name, last};

				PQclear(job_query(tgt, "target",
								  "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence($1, $2), $3)",
								  3, tp));
				pg_free(tname);
				pg_free(last);
			}
		}
	}
	job_set_search_path(tgt, "target", "pg_catalog");
	pg_free(qschema);
}

/*
 * Step 5a: add the foreign keys between the domain's tables, NOT VALID (those
 * valid on the source are validated next, several at a time), in one target
 * transaction.  A rerun after an init that stopped later in step 5 finds
 * them already there: the foreign keys of the target schema's tables are
 * dropped first (the schema is the job's own, and holds nothing else until
 * init is done), so that the rerun adds and validates them again.
 */
static void
add_foreign_keys(PGconn *tgt, Domain *d, const char *target_schema)
{
	const char *params[1] = {target_schema};
	char	   *qschema = job_quote_ident(tgt, target_schema);
	PGresult   *res;
	int			i;

	job_command(tgt, "target", "BEGIN");
	res = job_query(tgt, "target",
					"SELECT pg_catalog.format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, c.relname, con.conname)"
					" FROM pg_catalog.pg_constraint con"
					" JOIN pg_catalog.pg_class c ON c.oid = con.conrelid"
					" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					" WHERE con.contype = 'f' AND n.nspname = $1",
					1, params);
	for (i = 0; i < PQntuples(res); i++)
		job_command(tgt, "target", PQgetvalue(res, i, 0));
	PQclear(res);
	job_set_search_path(tgt, "target", qschema);
	for (i = 0; i < d->ntables; i++)
		if (d->tables[i].fk_ddl[0] != '\0')
			job_command(tgt, "target", d->tables[i].fk_ddl);
	job_set_search_path(tgt, "target", "pg_catalog");
	job_command(tgt, "target", "COMMIT");
	pg_free(qschema);
}

/*
 * Step 5b: validate the foreign keys added NOT VALID, one table's at a time
 * on each of up to --jobs target connections.  VALIDATE CONSTRAINT takes
 * SHARE UPDATE EXCLUSIVE on the table and ROW SHARE on the referenced
 * table, so validations of different tables run side by side.  A failure
 * stops init; the rerun adds and validates the keys again (step 5a).
 */
static void
validate_foreign_keys(const JobOptions *opts, Domain *d, const char *target_schema)
{
	PGconn	  **conns;
	DomainTable **busy;
	int			nconns = 0;
	int			next = 0;
	int			running = 0;
	int			todo = 0;
	int			i;

	for (i = 0; i < d->ntables; i++)
		if (d->tables[i].fk_validate_ddl[0] != '\0')
			todo++;
	if (todo == 0)
		return;
	nconns = Min(todo, Max(opts->jobs, 1));
	conns = pg_malloc0(sizeof(PGconn *) * nconns);
	busy = pg_malloc0(sizeof(DomainTable *) * nconns);
	for (i = 0; i < nconns; i++)
	{
		char	   *qschema;

		conns[i] = job_connect(opts->target, "target", false, true);
		qschema = job_quote_ident(conns[i], target_schema);
		job_set_search_path(conns[i], "target", qschema);
		pg_free(qschema);
	}

	for (;;)
	{
		/* hand out the next tables to idle connections */
		for (i = 0; i < nconns; i++)
		{
			while (busy[i] == NULL && next < d->ntables)
			{
				DomainTable *t = &d->tables[next++];

				if (t->fk_validate_ddl[0] == '\0')
					continue;
				if (!PQsendQuery(conns[i], t->fk_validate_ddl))
				{
					pg_log_error("could not validate the foreign keys of table \"%s\" on the target: %s",
								 t->name, job_error(conns[i]));
					exit(EXIT_SERVER);
				}
				busy[i] = t;
				running++;
			}
		}
		if (running == 0)
			break;

		/* collect what finished */
		for (i = 0; i < nconns; i++)
		{
			PGresult   *res;

			if (busy[i] == NULL)
				continue;
			if (!PQconsumeInput(conns[i]))
			{
				pg_log_error("could not validate the foreign keys of table \"%s\" on the target: %s",
							 busy[i]->name, job_error(conns[i]));
				exit(EXIT_SERVER);
			}
			if (PQisBusy(conns[i]))
				continue;
			while ((res = PQgetResult(conns[i])) != NULL)
			{
				if (PQresultStatus(res) != PGRES_COMMAND_OK)
				{
					int			code = job_exit_code_for(res, conns[i]);

					pg_log_error("could not validate the foreign keys of table \"%s\" on the target: %s",
								 busy[i]->name, job_error(conns[i]));
					pg_log_error_hint("Fix the cause and run the same command again.");
					exit(code);
				}
				PQclear(res);
			}
			busy[i] = NULL;
			running--;
		}
		if (job_interrupted)
		{
			pg_log_error("interrupted; run the same command again to resume");
			exit(EXIT_INTERRUPTED);
		}
		pg_usleep(10000);
	}
	for (i = 0; i < nconns; i++)
		PQfinish(conns[i]);
	pg_free(conns);
	pg_free(busy);
}

int
cmd_init(const JobOptions *given)
{
	JobOptions	o = *given;
	const JobOptions *opts = &o;
	PGconn	   *src;
	PGconn	   *tgt;
	PGconn	   *repl;
	Domain	   *d;
	JobState	js;
	bool		have_job;
	bool		resume = false;
	char	   *sysid;
	char	   *snapshot;
	char	   *lsn;
	const char *target_schema;
	int			i;
	InitPhases	ph;

	memset(&ph, 0, sizeof(ph));
	ph.start = job_now_seconds();
	src = job_connect(opts->source, "source", false, true);
	job_require_primary(src, opts->source, "init");
	tgt = job_connect(opts->target, "target", false, true);
	job_require_writable(tgt, "target", opts->target, "init", EXIT_TARGET);
	catchup_lock_domain(src, "source", opts->domain, "init");

	check_source_privileges(src);
	catalog_check_source(src, opts->domain);
	check_lifecycle(src, opts->domain);

	have_job = state_read_job(tgt, opts->domain, &js);

	/* a rerun takes the slot and target schema of the first run unless given */
	if (have_job && !given->slot_given)
		o.slot = js.slot_name;
	if (have_job && !given->target_schema_given)
		o.target_schema = js.target_schema;
	target_schema = opts->target_schema;

	if (opts->drop && have_job)
	{
		/* only what this target's job owns: never another job's slot */
		if (!drop_slot_if_idle(src, js.slot_name))
			exit(EXIT_SLOT);
		drop_target(tgt, opts->domain, js.target_schema);
		pg_log_info("dropped target schema \"%s\" and the job's state", js.target_schema);
		have_job = false;
	}
	else if (have_job && strcmp(js.phase, "creating") == 0)
	{
		/* an init that died before its slot was recorded: start over */
		pg_log_info("previous init of domain \"%s\" stopped before the copy began; starting over",
					opts->domain);
		if (!drop_slot_if_idle(src, js.slot_name))
			exit(EXIT_SLOT);
		drop_target(tgt, opts->domain, js.target_schema);
		have_job = false;
	}

	repl = job_connect(opts->source, "source", true, true);
	sysid = identify_system(repl);

	if (have_job)
	{
		if (strcmp(js.system_id, sysid) != 0)
		{
			pg_log_error("the job of domain \"%s\" on the target was fed by another source (system identifier %s, this source is %s)",
						 opts->domain, js.system_id, sysid);
			pg_log_error_hint("Give --source the database the first init copied from, or run init --drop to start over from this one.");
			exit(EXIT_TARGET);
		}
		if (strcmp(js.phase, "streaming") == 0)
		{
			pg_log_error("init of domain \"%s\" is already done (at %s)", opts->domain,
						 js.init_done_at ? js.init_done_at : "?");
			pg_log_error_hint("Run \"migration-split stream\", or init --drop to start over.");
			exit(EXIT_TARGET);
		}
		if (strcmp(js.target_schema, target_schema) != 0 || strcmp(js.slot_name, opts->slot) != 0)
		{
			pg_log_error("an init of domain \"%s\" with target schema \"%s\" and slot \"%s\" is in progress",
						 opts->domain, js.target_schema, js.slot_name);
			pg_log_error_hint("Rerun with the same --target-schema and --slot, or use --drop to start over.");
			exit(EXIT_TARGET);
		}
		{
			PGresult   *res = wait_for_idle_slot(src, js.slot_name);

			if (PQntuples(res) == 0)
			{
				pg_log_error("replication slot \"%s\" of the interrupted init no longer exists on the source",
							 js.slot_name);
				pg_log_error_hint("Run init again with --drop to start over.");
				exit(EXIT_SLOT);
			}
			if (!PQgetisnull(res, 0, 0))
			{
				pg_log_error("replication slot \"%s\" is in use by process %s on the source",
							 js.slot_name, PQgetvalue(res, 0, 0));
				exit(EXIT_SLOT);
			}
			PQclear(res);
		}
		resume = true;
	}

	/* validation of the domain; nothing is created before this passes */
	d = catalog_read_domain(src, opts->domain);
	qsort(d->tables, d->ntables, sizeof(DomainTable), cmp_tables_by_size);

	if (!resume)
	{
		const char *params[6];
		PQExpBufferData sql;

		check_target_fresh(tgt, target_schema);
		check_slot_free(src, opts->slot);
		check_apply_role(tgt);
		catalog_warn_default_collation(src, tgt, opts->domain);

		/* step 2: state and schema, in one transaction */
		job_command(tgt, "target", "BEGIN");
		state_ensure_schema(tgt);
		params[0] = opts->domain;
		params[1] = target_schema;
		params[2] = opts->slot;
		params[3] = sysid;
		params[4] = PQdb(src);
		PQclear(job_query(tgt, "target",
						  "INSERT INTO " MS_STATE_SCHEMA ".jobs (domain, target_schema, slot_name,"
						  " source_system_id, source_database, phase) VALUES ($1, $2, $3, $4, $5, 'creating')",
						  5, params));
		initPQExpBuffer(&sql);
		for (i = 0; i < d->ntables; i++)
		{
			const char *tp[3] = {opts->domain, d->tables[i].schema, d->tables[i].name};

			PQclear(job_query(tgt, "target",
							  "INSERT INTO " MS_STATE_SCHEMA ".tables (domain, source_schema, source_table, state)"
							  " VALUES ($1, $2, $3, 'pending')", 3, tp));
		}
		termPQExpBuffer(&sql);
		schema_create_target(tgt, d, target_schema);
		job_command(tgt, "target", "COMMIT");

		/* step 3: the slot */
		snapshot = create_slot(repl, src, opts->slot, false, &lsn);
		if (snapshot[0] == '!')
		{
			int			code = atoi(snapshot + 1);

			drop_target(tgt, opts->domain, target_schema);
			exit(code);
		}
		params[1] = lsn;
		PQclear(job_query(tgt, "target",
						  "UPDATE " MS_STATE_SCHEMA ".jobs SET phase = 'copying', consistent_lsn = $2,"
						  " applied_lsn = $2 WHERE domain = $1",
						  2, params));
		pg_log_info("created replication slot \"%s\" at %s, exported snapshot %s",
					opts->slot, lsn, snapshot);
	}
	else
	{
		check_apply_role(tgt);
		load_table_states(tgt, d);
		/* a temporary slot; cut the name so that it fits in 63 bytes */
		snapshot = create_slot(repl, src, psprintf("%.40s_resume_%d", opts->slot, (int) getpid()),
							   true, &lsn);
		if (snapshot[0] == '!')
			exit(atoi(snapshot + 1));
		pg_log_info("resuming init of domain \"%s\": copying the remaining tables as of %s",
					opts->domain, lsn);
	}

	/* step 4: copy */
	ph.prepare = job_now_seconds() - ph.start;
	progress_start(d, opts->progress);
	if (!copy_tables(opts, d, snapshot, lsn, target_schema))
	{
		progress_finish();
		progress_summary(d);
		if (job_interrupted)
		{
			pg_log_error("interrupted; run the same command again to resume");
			exit(EXIT_INTERRUPTED);
		}
		pg_log_error("copy of domain \"%s\" failed; tables marked copied are kept", opts->domain);
		pg_log_error_hint("Fix the cause and run the same command again to copy the remaining tables.");
		for (i = 0; i < d->ntables; i++)
			if (d->tables[i].state == TABLE_FAILED &&
				strcmp(d->tables[i].error, "stopped after another table failed") != 0)
			{
				state_record_error(tgt, opts->domain,
								   psprintf("init: %s.%s: %s", d->tables[i].schema,
											d->tables[i].name, d->tables[i].error));
				break;
			}
		exit(EXIT_SERVER);
	}
	progress_finish();
	ph.copy = job_now_seconds() - ph.start - ph.prepare;

	/* step 5: foreign keys, sequences, phase */
	{
		const char *params[1] = {opts->domain};
		double		t0 = job_now_seconds();

		add_foreign_keys(tgt, d, target_schema);
		validate_foreign_keys(opts, d, target_schema);
		ph.foreign_keys = job_now_seconds() - t0;

		t0 = job_now_seconds();
		job_command(tgt, "target", "BEGIN");
		sync_sequences(src, tgt, d, target_schema);
		ph.sequences = job_now_seconds() - t0;
		PQclear(job_query(tgt, "target",
						  "UPDATE " MS_STATE_SCHEMA ".jobs SET phase = 'streaming',"
						  " init_done_at = pg_catalog.now(), last_error = NULL WHERE domain = $1",
						  1, params));
		job_command(tgt, "target", "COMMIT");
	}
	PQfinish(repl);				/* releases the snapshot, drops a temporary slot */

	progress_summary(d);
	if (d->external_fks.len > 0)
		printf("\nforeign keys to other domains, not created (to be replaced):\n%s",
			   d->external_fks.data);
	if (d->skipped_defaults.len > 0)
		printf("\ncolumn defaults pointing outside the domain, not created:\n%s",
			   d->skipped_defaults.data);
	print_phases(&ph, d, opts->jobs);
	printf("\ninit of domain \"%s\" done: %d %s in schema \"%s\"; next: migration-split stream\n",
		   opts->domain, d->ntables, ngettext("table", "tables", d->ntables), target_schema);

	PQfinish(src);
	PQfinish(tgt);
	return EXIT_OK;
}
