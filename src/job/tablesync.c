/*-------------------------------------------------------------------------
 *
 * tablesync.c
 *		Copy a table that joined the domain while the job streams.
 *
 * When the stream says that a table the job does not have joined the
 * domain (an O message), the job copies it in online, the way PostgreSQL's
 * table synchronisation adds a table to a subscription: a temporary
 * logical slot on the source gives a snapshot and the LSN it corresponds
 * to (its consistent point); the table is created on the target and copied
 * as of that snapshot (copy.c, one target transaction that also marks it
 * copied with that LSN in migration_split_job.tables).  From then on the
 * apply skips the table's changes of transactions that committed before
 * that LSN (they are in the copy) and applies the later ones, exactly as
 * it does for tables whose copy by init ended at different snapshots.
 *
 * The copy commits on its own connections, independently of the apply's
 * open batch: if that batch is lost, the stream resumes before the O
 * message, finds the table copied, and only skips or applies its changes.
 *
 * Created on the target: the table, its keys and indexes, and sequences
 * its columns own.  Not created: types it needs that the domain's other
 * tables did not (the CREATE TABLE then fails with the type's name), and
 * its foreign keys (the target is at an earlier point than the copy, so
 * they could not be validated now); see the README.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <unistd.h>

#include "common/logging.h"

#include "job.h"
#include "apply.h"

/*
 * The CREATE SEQUENCE lines of created for the sequences that owned
 * attaches to columns of table tname (a quoted name), in order.
 */
static char *
table_sequence_lines(const char *created, const char *owned, const char *tname)
{
	PQExpBufferData out;
	PQExpBufferData pattern;
	const char *line;

	initPQExpBuffer(&out);
	initPQExpBuffer(&pattern);
	appendPQExpBuffer(&pattern, " OWNED BY %s.", tname);
	for (line = owned; line && *line;)
	{
		const char *end = strchr(line, '\n');
		int			len = end ? (int) (end - line) : (int) strlen(line);
		char	   *one = pnstrdup(line, len);
		char	   *by = strstr(one, pattern.data);

		if (strncmp(one, "ALTER SEQUENCE ", 15) == 0 && by != NULL)
		{
			char	   *seq = pnstrdup(one + 15, by - (one + 15));
			const char *c;

			/* its CREATE SEQUENCE line comes first */
			for (c = created; c && *c;)
			{
				const char *cend = strchr(c, '\n');
				int			clen = cend ? (int) (cend - c) : (int) strlen(c);

				if (strncmp(c, "CREATE SEQUENCE ", 16) == 0 &&
					strncmp(c + 16, seq, strlen(seq)) == 0 &&
					(c[16 + strlen(seq)] == ' ' || c[16 + strlen(seq)] == ';'))
					appendPQExpBuffer(&out, "%.*s\n", clen, c);
				c = cend ? cend + 1 : NULL;
			}
			pg_free(seq);
		}
		pg_free(one);
		line = end ? end + 1 : NULL;
	}
	termPQExpBuffer(&pattern);
	return out.data;
}

/*
 * The ALTER SEQUENCE ... OWNED BY lines of owned that name table tname.
 */
static char *
table_owned_lines(const char *owned, const char *tname)
{
	PQExpBufferData out;
	char	   *pattern = psprintf(" OWNED BY %s.", tname);
	const char *line;

	initPQExpBuffer(&out);
	for (line = owned; line && *line;)
	{
		const char *end = strchr(line, '\n');
		int			len = end ? (int) (end - line) : (int) strlen(line);
		char	   *one = pnstrdup(line, len);

		if (strstr(one, pattern) != NULL)
			appendPQExpBuffer(&out, "%s\n", one);
		pg_free(one);
		line = end ? end + 1 : NULL;
	}
	pg_free(pattern);
	return out.data;
}

/* DROP TABLE IF EXISTS of schema.table on the target */
static void
drop_target_table(PGconn *tgt, const char *schema, const char *table)
{
	char	   *qschema = job_quote_ident(tgt, schema);
	char	   *qtable = job_quote_ident(tgt, table);
	char	   *sql = psprintf("DROP TABLE IF EXISTS %s.%s", qschema, qtable);

	job_command(tgt, "target", sql);
	pg_free(sql);
	pg_free(qtable);
	pg_free(qschema);
}

/*
 * Copy table schema.table, which joined the domain, to the target.  On
 * success returns 0, the LSN of its snapshot in *sync_lsn and its source
 * OID in *relid (recorded in the job's state with it); else
 * an exit code (or TABLESYNC_RECONNECT) with *errmsg (allocated, for the
 * caller to free) and, when retrying cannot help, *hint set.
 */
int
tablesync_copy_table(const JobOptions *opts, const char *schema,
					 const char *table, char **sync_lsn, unsigned int *relid,
					 char **errmsg, const char **hint)
{
	PGconn	   *src = NULL;
	PGconn	   *repl = NULL;
	PGconn	   *tgt = NULL;
	Domain	   *d;
	Domain		one;
	DomainTable *t = NULL;
	PGresult   *res;
	PQExpBufferData sql;
	char	   *snapshot = NULL;
	char	   *lsn = NULL;
	char	   *qslot;
	char	   *tname = NULL;
	char	   *seqs = NULL;
	char	   *owned = NULL;
	const char *params[3];
	int			i;
	int			rc = 0;
	bool		ok;
	SlotCreate	sc;
	JobOptions	copyopts = *opts;

	*sync_lsn = NULL;
	*errmsg = NULL;
	*hint = NULL;

	src = job_connect(opts->source, "source", false, false);
	if (src == NULL)
	{
		*errmsg = pg_strdup("could not connect to the source to copy a table that joined the domain");
		return TABLESYNC_RECONNECT;
	}
	d = catalog_read_domain(src, opts->domain);
	for (i = 0; i < d->ntables; i++)
		if (strcmp(d->tables[i].schema, schema) == 0 && strcmp(d->tables[i].name, table) == 0)
			t = &d->tables[i];
	if (t == NULL)
	{
		*errmsg = psprintf("table \"%s.%s\" joined domain \"%s\" on the source but is no longer in it", schema, table, opts->domain);
		*hint = "The stream cannot reproduce a table that joined and left the domain since the applied position. Run \"migration-split init --drop\" to copy the domain as it is now.";
		catalog_free_domain(d);
		PQfinish(src);
		return EXIT_DOMAIN;
	}

	/* the snapshot and its LSN: a temporary slot, as tablesync does */
	repl = job_connect(opts->source, "source", true, false);
	if (repl == NULL)
	{
		catalog_free_domain(d);
		PQfinish(src);
		*errmsg = pg_strdup("could not open a replication connection to the source to copy a table that joined the domain");
		return TABLESYNC_RECONNECT;
	}
	qslot = psprintf("ms_sync_%d", (int) getpid());
	initPQExpBuffer(&sql);

	/*
	 * Creating the slot waits for the source's running transactions to end:
	 * as long as it takes (the stream cannot go on without the table), the
	 * transactions named after 2 s and then every minute, as init does.
	 */
	slot_create_request(&sc, repl, src, qslot, true, 0, SLOT_REPORT_EVERY,
						"The stream waits as long as it takes (it reports again every "
						CppAsString2(SLOT_REPORT_EVERY) " s); end those transactions to go on.");
	switch (slot_create(&sc))
	{
		case SLOT_CREATED:
			break;
		case SLOT_INTERRUPTED:
		case SLOT_TIMED_OUT:	/* no timeout: cannot happen */
			/* the stream's loop sees job_interrupted and exits */
			*errmsg = psprintf("interrupted while creating a temporary replication slot to copy table \"%s.%s\"",
							   schema, table);
			slot_create_free(&sc);
			rc = TABLESYNC_RECONNECT;
			goto done;
		case SLOT_FAILED:
			*errmsg = psprintf("could not create a temporary replication slot to copy table \"%s.%s\": %s",
							   schema, table, job_error(repl));
			*hint = "The slot needs a free replication slot on the source (max_replication_slots).";
			slot_create_free(&sc);
			rc = EXIT_SLOT;
			goto done;
	}
	lsn = sc.lsn;
	snapshot = sc.snapshot;
	sc.lsn = sc.snapshot = NULL;
	slot_create_free(&sc);
	pg_log_info("table \"%s.%s\" joined domain \"%s\": copying it as of %s",
				schema, table, opts->domain, lsn);

	/* the table on the target, and its row in the job state */
	tgt = job_connect(opts->target, "target", false, false);
	if (tgt == NULL)
	{
		*errmsg = pg_strdup("could not connect to the target to copy a table that joined the domain");
		rc = TABLESYNC_RECONNECT;
		goto done;
	}
	memset(&one, 0, sizeof(one));
	one.name = d->name;
	one.search_path = d->search_path;
	one.ntables = 1;
	one.tables = t;
	tname = job_quote_ident(src, t->name);
	seqs = table_sequence_lines(d->sequences_ddl, d->sequences_owned_ddl, tname);
	one.sequences_ddl = seqs;
	owned = table_owned_lines(d->sequences_owned_ddl, tname);
	one.sequences_owned_ddl = owned;
	params[0] = opts->domain;
	params[1] = schema;
	params[2] = table;
	job_command(tgt, "target", "BEGIN");

	/* a copy interrupted earlier (the job was killed): start over */
	res = job_query(tgt, "target",
					"DELETE FROM " MS_STATE_SCHEMA ".tables WHERE domain = $1 AND source_schema = $2"
					" AND source_table = $3 AND state = 'pending'",
					3, params);
	if (strcmp(PQcmdTuples(res), "0") != 0)
		drop_target_table(tgt, opts->target_schema, t->name);
	PQclear(res);
	schema_create_target(tgt, &one, opts->target_schema);
	PQclear(job_query(tgt, "target",
					  "INSERT INTO " MS_STATE_SCHEMA ".tables (domain, source_schema, source_table, state)"
					  " VALUES ($1, $2, $3, 'pending')",
					  3, params));
	job_command(tgt, "target", "COMMIT");

	t->state = TABLE_PENDING;
	copyopts.jobs = 1;
	progress_start(&one, 0);
	ok = copy_tables(&copyopts, &one, snapshot, lsn, opts->target_schema);
	progress_finish();			/* progress must not keep a pointer to one */
	if (!ok)
	{
		*errmsg = psprintf("could not copy table \"%s.%s\", which joined domain \"%s\": %s",
						   schema, table, opts->domain, t->error ? t->error : "unknown error");
		/* forget the half-made table: the next attempt starts over */
		job_command(tgt, "target", "BEGIN");
		PQclear(job_query(tgt, "target",
						  "DELETE FROM " MS_STATE_SCHEMA ".tables WHERE domain = $1 AND source_schema = $2 AND source_table = $3",
						  3, params));
		drop_target_table(tgt, opts->target_schema, t->name);
		job_command(tgt, "target", "COMMIT");
		rc = EXIT_APPLY;
		goto done;
	}
	pg_log_info("table \"%s.%s\": %lld %s copied; its changes after %s are streamed",
				schema, table, (long long) t->rows_done,
				ngettext("row", "rows", t->rows_done), lsn);
	*sync_lsn = lsn;
	*relid = t->relid;
	lsn = NULL;

done:
	/* a table may join many times in one stream: free what it needed */
	termPQExpBuffer(&sql);
	pg_free(qslot);
	pg_free(lsn);
	pg_free(snapshot);
	pg_free(tname);
	pg_free(seqs);
	pg_free(owned);
	catalog_free_domain(d);
	if (tgt)
		PQfinish(tgt);
	if (repl)
		PQfinish(repl);			/* drops the temporary slot */
	if (src)
		PQfinish(src);
	return rc;
}
