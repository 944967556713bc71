/*-------------------------------------------------------------------------
 *
 * apply.c
 *		Apply decoded changes to the target, exactly once.
 *
 * Many source transactions are applied in one target transaction (a
 * "batch").  The batch ends with an UPDATE of migration_split_job.jobs that
 * records the end LSN of the last source commit it contains, then COMMIT:
 * the position and the changes it covers become durable together.  On
 * restart, source transactions whose commit record starts before that
 * position are skipped, so none is applied twice and none is lost.
 *
 * Statements are prepared once per relation (and per set of unchanged TOAST
 * columns for UPDATE) and sent in libpq pipeline mode: the job does not wait
 * for one change to be applied before sending the next.  Runs of inserts
 * into one table become one multi-row INSERT, runs of deletes by a
 * one-column key one DELETE ... = ANY (array) whose row count is checked.  Results are checked
 * in order at every synchronisation point; an error, or an UPDATE or DELETE
 * that finds no row, stops the job with the table and the source LSN, and
 * the batch is rolled back.  The check happens before COMMIT is sent.
 *
 * A column added on the source is added on the target (ALTER TABLE) in a
 * batch that holds no earlier source transaction: deferred trigger events
 * of those would make the ALTER fail (see commit_before_alter).  A change
 * that cannot be applied sets the error and, when the usual "fix the target
 * and run again" cannot work, a hint of its own (apply_last_hint).
 *
 * Waiting for the target: while the job waits for results, nobody reads the
 * replication connection, and a wait can be long (a large transaction,
 * applied at its streamed commit or whole, slow triggers, locks).  The
 * source's walsender ends a connection that has not replied within its
 * wal_sender_timeout, after which the job receives the whole transaction
 * again.  So results are awaited with select(), and the caller's wait hook
 * (apply_set_wait_hook; stream.c sends a status update) runs about every
 * WAIT_HOOK_SECONDS of waiting.
 *
 * Per-table snapshot LSNs (migration_split_job.tables.sync_lsn) implement
 * resumed inits: a change of a table in a transaction that committed before
 * the table's snapshot is already in the copied data and is skipped.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/select.h>
#include <time.h>

#include "common/logging.h"

#include "job.h"
#include "apply.h"

/* longest run of inserts or deletes sent as one statement */
#define RUN_MAX 100

typedef struct UpdStmt
{
	char	   *sig;			/* unchanged column positions, "" if none */
	char		name[64];
	struct UpdStmt *next;
} UpdStmt;

typedef struct ApplyRel
{
	unsigned int relid;
	char	   *schema;			/* source names */
	char	   *table;
	char	   *qname;			/* quoted target name */
	int			ncols;
	char	  **qcols;			/* quoted column names */
	bool	   *skip;			/* generated column on the target */
	int			nkey;
	int		   *keypos;
	char		replident;
	unsigned long long sync_lsn;
	int			version;
	bool		ins_ready;
	bool		del_ready;
	bool		ins_run_ready[RUN_MAX + 1];
	bool		del_run_ready;
	char	   *keytype;		/* type of a one-column key, for "= ANY" */
	int			nsent;			/* columns sent (not generated on the target) */
	UpdStmt    *upds;
} ApplyRel;

typedef struct Pending
{
	char		action;			/* I, U, D, T, or 'S' for a statement */
	int			expect_rows;	/* must affect exactly this many rows; 0: any */
	int			nrows;			/* source changes in this statement */
	ApplyRel   *rel;
	unsigned long long commit_lsn;	/* of the (first) change */
	unsigned long long last_lsn;	/* of the last change */
	unsigned long long xid;
} Pending;

/*
 * Runs of inserts into one table, and of deletes from one table with a
 * one-column key, are sent as one statement (multi-row VALUES, or
 * "= ANY (array)"): far less work per row for the target.
 */


/* statements sent but not yet checked: at most MAX_PENDING */
#define MAX_PENDING 2000
#define PENDING_RING (MAX_PENDING + 16)

static PGconn *tgt;
static const JobOptions *aopts;
static ApplyRel **rels;
static int	nrels;
static int	caprels;
static ApplyRel *lastrel;
static int	rel_versions;

static Pending pending[PENDING_RING];
static int	phead;
static int	npending;

/* the open target transaction */
static bool batch_open;
static long long batch_rows;
static long long batch_xacts;
static unsigned long long batch_lsn;	/* end LSN of its last source commit */
static char *batch_commit_time;
static double batch_started;

/* the source transaction being received */
static bool in_xact;
static bool skip_xact;
static bool xact_sent;			/* some of its changes are in the batch */
static unsigned long long xact_commit_lsn;
static unsigned long long xact_xid;

/* positions */
static unsigned long long start_lsn;	/* applied position at session start */
static unsigned long long applied_lsn;	/* committed on the target */

/* table snapshot LSNs: source schema, table, sync lsn */
static int	nsync;
static char **sync_schema;
static char **sync_table;
static unsigned long long *sync_lsn;

static char *apply_error;
static const char *apply_hint;	/* NULL: the generic one of stream.c */

/* called about every WAIT_HOOK_SECONDS while results are awaited */
#define WAIT_HOOK_SECONDS	1
static void (*wait_hook) (void *arg);
static void *wait_hook_arg;
static time_t wait_hook_last;

static int	find_sync(const char *schema, const char *table);
static int	apply_by_partition_key(ApplyRel *r, Message *m);
static int	apply_ownership(Message *m);
static int	join_table(const char *schema, const char *table);

/*
 * The source transaction whose changes must start a target transaction of
 * their own (see apply_relation); survives sessions.
 */
static unsigned long long split_before_lsn;

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *
apply_last_error(void)
{
	return apply_error;
}

const char *
apply_last_hint(void)
{
	return apply_hint;
}

static int
fail(int code, const char *fmt,...) pg_attribute_printf(2, 3);

static int
fail(int code, const char *fmt,...)
{
	va_list		ap;
	char		buf[4096];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pg_free(apply_error);
	apply_error = pg_strdup(buf);
	apply_hint = NULL;
	return code;
}

static bool
connection_lost(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(tgt) == CONNECTION_BAD)
		return true;

	/*
	 * Class 08 and shutdowns mean the connection is gone; 08P01 (protocol
	 * violation) is a bug of ours on a live connection: stop, don't retry.
	 */
	if (state && strcmp(state, "08P01") == 0)
		return false;
	return state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0);
}

static const char *
action_name(char a)
{
	switch (a)
	{
		case 'I':
			return "INSERT";
		case 'U':
			return "UPDATE";
		case 'D':
			return "DELETE";
		case 'T':
			return "TRUNCATE";
		default:
			return "statement";
	}
}

/*
 * Check the result of one queued statement; returns the new rc.
 */
static int
check_result(Pending *p, PGresult *res)
{
	char		lsnbuf[32];
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED)
	{
		if (connection_lost(res))
			return fail(APPLY_RECONNECT, "target: %s", job_error(tgt));
		if (p->rel && p->nrows > 1)
		{
			char		lsnbuf2[32];

			return fail(EXIT_APPLY, "could not apply %s of %d rows on table \"%s.%s\" (source commit LSN %s to %s, first xid %llu): %s",
						action_name(p->action), p->nrows, p->rel->schema, p->rel->table,
						lsn_format(p->commit_lsn, lsnbuf), lsn_format(p->last_lsn, lsnbuf2),
						p->xid, job_result_error(res));
		}
		if (p->rel)
			return fail(EXIT_APPLY, "could not apply %s on table \"%s.%s\" (source commit LSN %s, xid %llu): %s",
						action_name(p->action), p->rel->schema, p->rel->table,
						lsn_format(p->commit_lsn, lsnbuf), p->xid,
						job_result_error(res));
		return fail(EXIT_APPLY, "target: %s", job_result_error(res));
	}
	if (st == PGRES_COMMAND_OK && p->expect_rows > 0 && atoi(PQcmdTuples(res)) != p->expect_rows)
	{
		char		lsnbuf2[32];

		if (p->rel && p->nrows > 1)
			return fail(EXIT_APPLY, "could not apply %s of %d rows on table \"%s.%s\" (source commit LSN %s to %s, first xid %llu): %s rows match their old keys on the target",
						action_name(p->action), p->nrows, p->rel->schema, p->rel->table,
						lsn_format(p->commit_lsn, lsnbuf), lsn_format(p->last_lsn, lsnbuf2),
						p->xid, PQcmdTuples(res));
		if (p->rel)
			return fail(EXIT_APPLY, "could not apply %s on table \"%s.%s\" (source commit LSN %s, xid %llu): %s rows match the old key on the target",
						action_name(p->action), p->rel->schema, p->rel->table,
						lsn_format(p->commit_lsn, lsnbuf), p->xid, PQcmdTuples(res));
		return fail(EXIT_APPLY, "the job's state row on the target is missing");
	}
	return APPLY_OK;
}

/*
 * Set (or with NULL clear) the function called about every
 * WAIT_HOOK_SECONDS while the job waits for the target's results.
 */
void
apply_set_wait_hook(void (*hook) (void *arg), void *arg)
{
	wait_hook = hook;
	wait_hook_arg = arg;
	wait_hook_last = time(NULL);
}

/*
 * Wait until PQgetResult would not block, running the wait hook when it is
 * due.  Returns false when the connection fails.
 */
static bool
wait_for_result(void)
{
	for (;;)
	{
		if (wait_hook != NULL && time(NULL) - wait_hook_last >= WAIT_HOOK_SECONDS)
		{
			wait_hook(wait_hook_arg);
			wait_hook_last = time(NULL);
		}
		if (!PQisBusy(tgt))
			return true;
		if (wait_hook != NULL)
		{
			int			sock = PQsocket(tgt);
			fd_set		fds;
			struct timeval tv;

			FD_ZERO(&fds);
			FD_SET(sock, &fds);
			tv.tv_sec = WAIT_HOOK_SECONDS;
			tv.tv_usec = 0;
			if (select(sock + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
				return false;
		}
		else
			return true;		/* PQgetResult waits */
		if (PQconsumeInput(tgt) == 0)
			return false;
	}
}

/*
 * Read results of the oldest queued statements, in order, until at most
 * "keep" are outstanding.  Without a Sync, a Flush request makes the server
 * send what it has.  Returns APPLY_OK, APPLY_RECONNECT or EXIT_APPLY; after
 * an error the session ends, so the rest of the queue does not matter.
 */
static int
consume_results(int keep, bool flush_request)
{
	if (flush_request && (PQsendFlushRequest(tgt) != 1 || PQflush(tgt) < 0))
		return fail(APPLY_RECONNECT, "target: %s", job_error(tgt));
	while (npending > keep)
	{
		Pending    *p = &pending[phead];
		PGresult   *res = wait_for_result() ? PQgetResult(tgt) : NULL;
		PGresult   *extra;
		int			rc;

		if (res == NULL)
			return fail(APPLY_RECONNECT, "target: %s", job_error(tgt));
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
		{
			PQclear(res);
			return fail(APPLY_RECONNECT, "target: lost pipeline results");
		}
		rc = check_result(p, res);
		PQclear(res);
		/* each statement's results end with NULL */
		while ((extra = PQgetResult(tgt)) != NULL)
			PQclear(extra);
		phead = (phead + 1) % PENDING_RING;
		npending--;
		if (rc != APPLY_OK)
			return rc;
	}
	return APPLY_OK;
}

/*
 * Send a Sync and check the results of every queued statement.
 */
static int
pipe_sync(void)
{
	PGresult   *res;
	int			rc;

	if (PQpipelineSync(tgt) != 1)
		return fail(APPLY_RECONNECT, "target: %s", job_error(tgt));
	if ((rc = consume_results(0, false)) != APPLY_OK)
		return rc;
	for (;;)
	{
		res = wait_for_result() ? PQgetResult(tgt) : NULL;
		if (res == NULL)
		{
			if (PQstatus(tgt) == CONNECTION_BAD)
				return fail(APPLY_RECONNECT, "target: %s", job_error(tgt));
			continue;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
		{
			PQclear(res);
			return APPLY_OK;
		}
		PQclear(res);
	}
}

static void
queue(char action, int expect_rows, ApplyRel *rel)
{
	Pending    *p = &pending[(phead + npending) % PENDING_RING];

	npending++;
	p->action = action;
	p->expect_rows = expect_rows;
	p->nrows = 1;
	p->rel = rel;
	p->commit_lsn = p->last_lsn = xact_commit_lsn;
	p->xid = xact_xid;
}

static int
send_ok(int ok)
{
	if (ok != 1)
		return fail(APPLY_RECONNECT, "target: %s", job_error(tgt));
	/* keep the queue bounded without ever letting the target run dry */
	if (npending >= MAX_PENDING)
		return consume_results(MAX_PENDING / 4, true);
	return APPLY_OK;
}

static int
send_statement(const char *sql, int nparams, const char *const *params)
{
	int			ok = PQsendQueryParams(tgt, sql, nparams, NULL, params, NULL, NULL, 0);

	queue('S', false, NULL);
	return send_ok(ok);
}

/*
 * Run one statement synchronously (pipeline drained first); returns the
 * result or NULL after setting the error.
 */
static PGresult *
pipe_query(const char *sql, int nparams, const char *const *params, int *rc)
{
	PGresult   *res;
	PGresult   *r;

	*rc = pipe_sync();
	if (*rc != APPLY_OK)
		return NULL;
	if (PQsendQueryParams(tgt, sql, nparams, NULL, params, NULL, NULL, 0) != 1 ||
		PQpipelineSync(tgt) != 1)
	{
		*rc = fail(APPLY_RECONNECT, "target: %s", job_error(tgt));
		return NULL;
	}
	res = PQgetResult(tgt);
	while ((r = PQgetResult(tgt)) != NULL)
		PQclear(r);
	while ((r = PQgetResult(tgt)) != NULL)
	{
		bool		sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;

		PQclear(r);
		if (sync)
			break;
	}
	if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK &&
						PQresultStatus(res) != PGRES_COMMAND_OK))
	{
		*rc = fail(connection_lost(res) ? APPLY_RECONNECT : EXIT_APPLY,
				   "target: %s", res ? job_result_error(res) : job_error(tgt));
		PQclear(res);
		return NULL;
	}
	return res;
}

static int
begin_batch(void)
{
	if (batch_open)
		return APPLY_OK;
	batch_open = true;
	batch_started = now_seconds();
	return send_statement("BEGIN", 0, NULL);
}

/*
 * Start applying on a fresh target connection.
 */
int
apply_start(PGconn *conn, const JobOptions *opts, const char *applied)
{
	PGresult   *res;
	const char *params[1] = {opts->domain};
	char	   *q;
	int			i;

	tgt = conn;
	aopts = opts;
	start_lsn = applied_lsn = lsn_parse(applied);
	batch_open = false;
	batch_rows = batch_xacts = 0;
	batch_lsn = 0;
	in_xact = skip_xact = false;
	npending = phead = 0;
	nrels = 0;
	lastrel = NULL;

	q = job_quote_ident(conn, opts->target_schema);
	job_set_search_path(conn, "target", q);
	pg_free(q);

	res = job_query(conn, "target",
					"SELECT source_schema, source_table, sync_lsn FROM " MS_STATE_SCHEMA ".tables"
					" WHERE domain = $1 AND state = 'copied'",
					1, params);
	nsync = PQntuples(res);
	sync_schema = pg_malloc(sizeof(char *) * (nsync + 1));
	sync_table = pg_malloc(sizeof(char *) * (nsync + 1));
	sync_lsn = pg_malloc(sizeof(unsigned long long) * (nsync + 1));
	for (i = 0; i < nsync; i++)
	{
		sync_schema[i] = pg_strdup(PQgetvalue(res, i, 0));
		sync_table[i] = pg_strdup(PQgetvalue(res, i, 1));
		sync_lsn[i] = lsn_parse(PQgetvalue(res, i, 2));
	}
	PQclear(res);

	if (PQenterPipelineMode(conn) != 1)
		return fail(APPLY_RECONNECT, "target: could not enter pipeline mode: %s", job_error(conn));
	return APPLY_OK;
}

/*
 * Free what an ApplyRel points to (its prepared UPDATE variants, quoted
 * names, key layout), leaving the struct itself to the caller.
 */
static void
free_rel_contents(ApplyRel *r)
{
	UpdStmt    *u = r->upds;
	int			i;

	while (u)
	{
		UpdStmt    *next = u->next;

		pg_free(u->sig);
		pg_free(u);
		u = next;
	}
	for (i = 0; i < r->ncols; i++)
		pg_free(r->qcols[i]);
	pg_free(r->qcols);
	pg_free(r->skip);
	pg_free(r->keypos);
	pg_free(r->keytype);
	pg_free(r->schema);
	pg_free(r->table);
	pg_free(r->qname);
}

static ApplyRel *
find_rel(unsigned int relid)
{
	int			i;

	if (lastrel && lastrel->relid == relid)
		return lastrel;
	for (i = 0; i < nrels; i++)
		if (rels[i]->relid == relid)
			return lastrel = rels[i];
	return NULL;
}

/*
 * Before an ALTER TABLE ... ADD COLUMN: commit the earlier source
 * transactions of the batch.  Their changes of the table may have queued
 * deferred trigger events (DEFERRABLE INITIALLY DEFERRED foreign keys, as
 * Django creates them), and ALTER TABLE refuses to run in a transaction
 * holding such events ("cannot ALTER TABLE ... because it has pending
 * trigger events").  On the source the ALTER ran after those transactions
 * had committed, so committing them here first is the same order.
 *
 * When the current source transaction already has changes in the batch, the
 * batch cannot be cut between it and the earlier ones: the session ends
 * (rolling the batch back) with APPLY_REPLAY, and the next session, which
 * receives the same transactions again, commits before this one begins.
 */
static int
commit_before_alter(ApplyRel *r)
{
	char		lsnbuf[32];

	if (batch_xacts == 0)
		return APPLY_OK;
	if (!xact_sent)
		return apply_flush();
	split_before_lsn = xact_commit_lsn;
	return fail(APPLY_REPLAY, "a column was added to table \"%s.%s\" (source commit LSN %s): restarting the stream to commit the transactions before it first",
				r->schema, r->table, lsn_format(xact_commit_lsn, lsnbuf));
}

/*
 * An "R" message: (re)build the relation's description, add columns the
 * target lacks.
 */
static int
apply_relation(Message *m)
{
	ApplyRel   *r = find_rel(m->relid);
	PGresult   *res;
	int			rc;
	int			i,
				j;
	const char *params[2];
	char	   *qschema;
	char	   *qtable;
	char		lsnbuf[32];

	if (m->schema == NULL || m->table == NULL)
		return fail(EXIT_APPLY, "relation message without schema or table name");

	if (r == NULL)
	{
		if (nrels >= caprels)
		{
			caprels = caprels ? caprels * 2 : 16;
			rels = pg_realloc(rels, sizeof(ApplyRel *) * caprels);
		}
		r = pg_malloc0(sizeof(ApplyRel));
		rels[nrels++] = r;
	}
	else
	{
		free_rel_contents(r);
		memset(r, 0, sizeof(ApplyRel));
	}
	r->relid = m->relid;
	r->schema = pg_strdup(m->schema);
	r->table = pg_strdup(m->table);
	r->version = ++rel_versions;
	r->replident = m->replica_identity ? m->replica_identity : 'd';
	lastrel = r;

	/*
	 * A table the job lacks joined the domain without an O message before
	 * (through ALTER TABLE ... INHERIT, or while no session was decoding):
	 * copy it in now.
	 */
	if (find_sync(m->schema, m->table) < 0 && !skip_xact &&
		(rc = join_table(m->schema, m->table)) != APPLY_OK)
		return rc;
	r->sync_lsn = (unsigned long long) -1;
	for (i = 0; i < nsync; i++)
		if (strcmp(sync_schema[i], m->schema) == 0 && strcmp(sync_table[i], m->table) == 0)
			r->sync_lsn = sync_lsn[i];
	if (r->sync_lsn == (unsigned long long) -1)
		return fail(EXIT_APPLY, "table \"%s.%s\" of domain \"%s\" was not copied by init (source commit LSN %s); it was probably added to the domain after init",
					m->schema, m->table, aopts->domain, lsn_format(xact_commit_lsn, lsnbuf));

	qschema = job_quote_ident(tgt, aopts->target_schema);
	qtable = job_quote_ident(tgt, m->table);
	r->qname = psprintf("%s.%s", qschema, qtable);

	/* the target's columns */
	params[0] = aopts->target_schema;
	params[1] = m->table;
	res = pipe_query("SELECT a.attname, a.attgenerated <> '' FROM pg_catalog.pg_attribute a"
					 " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
					 " WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
					 2, params, &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return fail(EXIT_APPLY, "table %s does not exist on the target (changes of \"%s.%s\", source commit LSN %s)",
					r->qname, m->schema, m->table, lsn_format(xact_commit_lsn, lsnbuf));
	}

	/*
	 * A target column the source no longer sends, while the source sends one
	 * the target lacks, looks like a rename: adding the new column would send
	 * the data to another column than before.  Stop instead.
	 */
	for (j = 0; j < PQntuples(res); j++)
	{
		bool		in_source = PQgetvalue(res, j, 1)[0] == 't';	/* generated */
		bool		source_has_new = false;

		for (i = 0; i < m->ncolumns && !in_source; i++)
			if (m->columns[i].name && strcmp(m->columns[i].name, PQgetvalue(res, j, 0)) == 0)
				in_source = true;
		if (in_source)
			continue;
		for (i = 0; i < m->ncolumns; i++)
		{
			int			k;
			bool		found = false;

			for (k = 0; k < PQntuples(res); k++)
				if (m->columns[i].name && strcmp(m->columns[i].name, PQgetvalue(res, k, 0)) == 0)
					found = true;
			if (!found)
				source_has_new = true;
		}
		if (source_has_new)
		{
			char	   *col = pg_strdup(PQgetvalue(res, j, 0));

			PQclear(res);
			return fail(EXIT_APPLY, "columns of table \"%s.%s\" changed on the source in a way that cannot be applied (source commit LSN %s): target column \"%s\" is gone and new columns appeared; a renamed column must be renamed on the target by hand",
						m->schema, m->table, lsn_format(xact_commit_lsn, lsnbuf), col);
		}
	}

	r->ncols = m->ncolumns;
	r->qcols = pg_malloc0(sizeof(char *) * (m->ncolumns + 1));
	r->skip = pg_malloc0(sizeof(bool) * (m->ncolumns + 1));
	r->keypos = pg_malloc0(sizeof(int) * (m->ncolumns + 1));
	for (i = 0; i < m->ncolumns; i++)
	{
		MsgColumn  *c = &m->columns[i];
		bool		found = false;

		if (c->name == NULL || c->type == NULL)
		{
			PQclear(res);
			return fail(EXIT_APPLY, "relation message for \"%s.%s\" has a column without name or type",
						m->schema, m->table);
		}
		r->qcols[i] = job_quote_ident(tgt, c->name);
		for (j = 0; j < PQntuples(res); j++)
			if (strcmp(PQgetvalue(res, j, 0), c->name) == 0)
			{
				found = true;
				r->skip[i] = PQgetvalue(res, j, 1)[0] == 't';
			}
		if (!found)
		{
			/* a column added on the source: add it here, in this batch */
			char	   *sql = psprintf("ALTER TABLE %s ADD COLUMN %s %s", r->qname, r->qcols[i], c->type);
			PGresult   *ares;

			if ((rc = commit_before_alter(r)) != APPLY_OK ||
				(rc = begin_batch()) != APPLY_OK)
			{
				PQclear(res);
				pg_free(sql);
				return rc;
			}
			xact_sent = true;
			ares = pipe_query(sql, 0, NULL, &rc);
			if (ares == NULL)
			{
				PQclear(res);
				return fail(rc, "could not add column \"%s\" (%s) to table %s (source commit LSN %s): %s",
							c->name, c->type, r->qname, lsn_format(xact_commit_lsn, lsnbuf), apply_error);
			}
			PQclear(ares);
			pg_log_info("added column %s %s to table %s (source commit LSN %s)",
						r->qcols[i], c->type, r->qname, lsn_format(xact_commit_lsn, lsnbuf));
			pg_free(sql);
		}
		if (c->key)
			r->keypos[r->nkey++] = i;
		if (!r->skip[i])
			r->nsent++;
	}
	PQclear(res);
	if (r->nkey == 1 && r->replident != 'f')
		r->keytype = pg_strdup(m->columns[r->keypos[0]].type);
	pg_free(qschema);
	pg_free(qtable);
	return APPLY_OK;
}

/* WHERE clause matching the key parameters starting at $first */
static void
append_where(PQExpBuffer buf, ApplyRel *r, int first)
{
	int			k;

	if (r->replident == 'f')
	{
		/* no unique key: change one of the identical rows */
		appendPQExpBuffer(buf, " WHERE ctid = (SELECT ctid FROM %s WHERE ", r->qname);
		for (k = 0; k < r->nkey; k++)
			appendPQExpBuffer(buf, "%s%s IS NOT DISTINCT FROM $%d", k ? " AND " : "",
							  r->qcols[r->keypos[k]], first + k);
		appendPQExpBufferStr(buf, " LIMIT 1)");
		return;
	}
	appendPQExpBufferStr(buf, " WHERE ");
	for (k = 0; k < r->nkey; k++)
		appendPQExpBuffer(buf, "%s%s = $%d", k ? " AND " : "", r->qcols[r->keypos[k]], first + k);
}

static int
prepare(const char *name, const char *sql)
{
	int			ok = PQsendPrepare(tgt, name, sql, 0, NULL);

	queue('S', false, NULL);
	return send_ok(ok);
}

/* the run being collected */
static ApplyRel *run_rel;
static char run_action;
static int	run_n;
static char **run_vals;			/* run_n rows of nsent values (I) or 1 key (D) */
static unsigned long long run_first_lsn;
static unsigned long long run_first_xid;

static void
run_discard(void)
{
	int			i;
	int			width = run_action == 'I' && run_rel ? run_rel->nsent : 1;

	for (i = 0; i < run_n * width; i++)
		pg_free(run_vals[i]);
	run_n = 0;
	run_rel = NULL;
}

/* append "value" to an array literal, quoted */
static void
append_array_elem(PQExpBuffer buf, const char *value)
{
	const char *c;

	appendPQExpBufferChar(buf, '"');
	for (c = value; *c; c++)
	{
		if (*c == '"' || *c == '\\')
			appendPQExpBufferChar(buf, '\\');
		appendPQExpBufferChar(buf, *c);
	}
	appendPQExpBufferChar(buf, '"');
}

static int	apply_insert_one(ApplyRel *r, const char *const *vals);

static int	apply_delete_one(ApplyRel *r, const char *const *keys);

/*
 * Send the collected run as one statement.
 */
static int
run_flush(void)
{
	ApplyRel   *r = run_rel;
	int			n = run_n;
	int			rc;
	int			i,
				j;
	char		name[64];
	unsigned long long save_lsn = xact_commit_lsn;
	unsigned long long save_xid = xact_xid;
	Pending    *p;

	if (n == 0)
		return APPLY_OK;

	/* the queued statement is described by the run's first change */
	xact_commit_lsn = run_first_lsn;
	xact_xid = run_first_xid;

	if (n == 1)
	{
		rc = run_action == 'I' ? apply_insert_one(r, (const char *const *) run_vals)
			: apply_delete_one(r, (const char *const *) run_vals);
	}
	else if (run_action == 'I')
	{
		snprintf(name, sizeof(name), "i%d_%d", r->version, n);
		rc = APPLY_OK;
		if (!r->ins_run_ready[n])
		{
			PQExpBufferData sql;
			int			k = 0;

			initPQExpBuffer(&sql);
			appendPQExpBuffer(&sql, "INSERT INTO %s (", r->qname);
			for (i = 0; i < r->ncols; i++)
				if (!r->skip[i])
					appendPQExpBuffer(&sql, "%s%s", k++ ? ", " : "", r->qcols[i]);
			appendPQExpBufferStr(&sql, ") OVERRIDING SYSTEM VALUE VALUES ");
			for (j = 0, k = 0; j < n; j++)
			{
				appendPQExpBuffer(&sql, "%s(", j ? ", " : "");
				for (i = 0; i < r->nsent; i++, k++)
					appendPQExpBuffer(&sql, "%s$%d", i ? ", " : "", k + 1);
				appendPQExpBufferChar(&sql, ')');
			}
			rc = prepare(name, sql.data);
			termPQExpBuffer(&sql);
			r->ins_run_ready[n] = (rc == APPLY_OK);
		}
		if (rc == APPLY_OK)
		{
			rc = PQsendQueryPrepared(tgt, name, n * r->nsent, (const char *const *) run_vals,
									 NULL, NULL, 0);
			queue('I', 0, r);
			p = &pending[(phead + npending - 1) % PENDING_RING];
			p->nrows = n;
			p->last_lsn = save_lsn;
			rc = send_ok(rc);
		}
	}
	else
	{
		PQExpBufferData arr;
		const char *param[1];

		snprintf(name, sizeof(name), "da%d", r->version);
		rc = APPLY_OK;
		if (!r->del_run_ready)
		{
			char	   *sql = psprintf("DELETE FROM %s WHERE %s = ANY ($1::%s[])",
									   r->qname, r->qcols[r->keypos[0]], r->keytype);

			rc = prepare(name, sql);
			pg_free(sql);
			r->del_run_ready = (rc == APPLY_OK);
		}
		if (rc == APPLY_OK)
		{
			initPQExpBuffer(&arr);
			appendPQExpBufferChar(&arr, '{');
			for (j = 0; j < n; j++)
			{
				if (j)
					appendPQExpBufferChar(&arr, ',');
				append_array_elem(&arr, run_vals[j]);
			}
			appendPQExpBufferChar(&arr, '}');
			param[0] = arr.data;
			rc = PQsendQueryPrepared(tgt, name, 1, param, NULL, NULL, 0);
			termPQExpBuffer(&arr);
			queue('D', n, r);
			p = &pending[(phead + npending - 1) % PENDING_RING];
			p->nrows = n;
			p->last_lsn = save_lsn;
			rc = send_ok(rc);
		}
	}
	xact_commit_lsn = save_lsn;
	xact_xid = save_xid;
	run_discard();
	return rc;
}

/*
 * Add an insert or a delete to the run, sending the run first when the
 * change does not continue it.  Takes the values out of the message.
 */
static int
run_add(ApplyRel *r, char action, Message *m)
{
	int			width = action == 'I' ? r->nsent : 1;
	int			max_rows = Min(RUN_MAX, 65535 / Max(width, 1));
	int			rc;
	int			i;

	if (run_n > 0 && (run_rel != r || run_action != action || run_n >= max_rows))
	{
		if ((rc = run_flush()) != APPLY_OK)
			return rc;
	}
	if (run_vals == NULL)
		run_vals = pg_malloc(sizeof(char *) * 65536);
	if (run_n == 0)
	{
		run_rel = r;
		run_action = action;
		run_first_lsn = xact_commit_lsn;
		run_first_xid = xact_xid;
	}
	if (action == 'I')
	{
		int			k = run_n * width;

		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i])
			{
				run_vals[k++] = m->newvals[i];
				m->newvals[i] = NULL;
			}
	}
	else
	{
		run_vals[run_n] = m->keyvals[0];
		m->keyvals[0] = NULL;
	}
	run_n++;
	return APPLY_OK;
}

static int
apply_insert(ApplyRel *r, Message *m)
{
	return run_add(r, 'I', m);
}

/* one row, values of the columns sent (generated ones left out) */
static int
apply_insert_one(ApplyRel *r, const char *const *vals)
{
	char		name[64];
	int			i;
	int			rc;

	snprintf(name, sizeof(name), "i%d", r->version);
	if (!r->ins_ready)
	{
		PQExpBufferData sql;
		int			p = 0;

		initPQExpBuffer(&sql);
		appendPQExpBuffer(&sql, "INSERT INTO %s (", r->qname);
		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i])
				appendPQExpBuffer(&sql, "%s%s", p++ ? ", " : "", r->qcols[i]);
		appendPQExpBufferStr(&sql, ") OVERRIDING SYSTEM VALUE VALUES (");
		for (i = 0, p = 0; i < r->ncols; i++)
			if (!r->skip[i])
			{
				appendPQExpBuffer(&sql, "%s$%d", p ? ", " : "", p + 1);
				p++;
			}
		appendPQExpBufferChar(&sql, ')');
		rc = prepare(name, sql.data);
		termPQExpBuffer(&sql);
		if (rc != APPLY_OK)
			return rc;
		r->ins_ready = true;
	}
	rc = PQsendQueryPrepared(tgt, name, r->nsent, vals, NULL, NULL, 0);
	queue('I', 0, r);
	return send_ok(rc);
}

static int
apply_update(ApplyRel *r, Message *m)
{
	const char *vals[3200];
	PQExpBufferData sig;
	UpdStmt    *u;
	bool	   *unch = NULL;
	int			n = 0;
	int			i;
	int			rc;

	/* the set of unchanged columns selects the prepared UPDATE, whole */
	initPQExpBuffer(&sig);
	if (m->nunchanged > 0)
	{
		unch = pg_malloc0(sizeof(bool) * (r->ncols + 1));
		for (i = 0; i < m->nunchanged; i++)
		{
			int			pos = m->unchanged[i];

			if (pos >= 0 && pos < r->ncols)
			{
				unch[pos] = true;
				appendPQExpBuffer(&sig, "%d,", pos);
			}
		}
	}
	for (u = r->upds; u; u = u->next)
		if (strcmp(u->sig, sig.data) == 0)
			break;
	if (u == NULL)
	{
		PQExpBufferData sql;
		int			p = 0;

		u = pg_malloc0(sizeof(UpdStmt));
		u->sig = pg_strdup(sig.data);
		snprintf(u->name, sizeof(u->name), "u%d_%p", r->version, (void *) u);
		u->next = r->upds;
		r->upds = u;

		initPQExpBuffer(&sql);
		appendPQExpBuffer(&sql, "UPDATE %s SET ", r->qname);
		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i] && !(unch && unch[i]))
			{
				appendPQExpBuffer(&sql, "%s%s = $%d", p ? ", " : "", r->qcols[i], p + 1);
				p++;
			}
		if (p == 0)
		{
			/* every column unchanged TOAST: nothing to write, but check the row */
			appendPQExpBuffer(&sql, "%s = %s", r->qcols[r->keypos[0]], r->qcols[r->keypos[0]]);
		}
		append_where(&sql, r, p + 1);
		rc = prepare(u->name, sql.data);
		termPQExpBuffer(&sql);
		if (rc != APPLY_OK)
		{
			pg_free(unch);
			termPQExpBuffer(&sig);
			return rc;
		}
	}
	termPQExpBuffer(&sig);
	for (i = 0; i < r->ncols; i++)
		if (!r->skip[i] && !(unch && unch[i]))
			vals[n++] = m->newvals[i];
	for (i = 0; i < r->nkey; i++)
		vals[n++] = m->keyvals[i];
	pg_free(unch);
	rc = PQsendQueryPrepared(tgt, u->name, n, vals, NULL, NULL, 0);
	queue('U', true, r);
	return send_ok(rc);
}

static int
apply_delete(ApplyRel *r, Message *m)
{
	int			rc;

	if (r->keytype != NULL && m->keyvals[0] != NULL)
		return run_add(r, 'D', m);
	if ((rc = run_flush()) != APPLY_OK)
		return rc;
	return apply_delete_one(r, (const char *const *) m->keyvals);
}

static int
apply_delete_one(ApplyRel *r, const char *const *keys)
{
	char		name[64];
	int			rc;

	snprintf(name, sizeof(name), "d%d", r->version);
	if (!r->del_ready)
	{
		PQExpBufferData sql;

		initPQExpBuffer(&sql);
		appendPQExpBuffer(&sql, "DELETE FROM %s", r->qname);
		append_where(&sql, r, 1);
		rc = prepare(name, sql.data);
		termPQExpBuffer(&sql);
		if (rc != APPLY_OK)
			return rc;
		r->del_ready = true;
	}
	rc = PQsendQueryPrepared(tgt, name, r->nkey, keys, NULL, NULL, 0);
	queue('D', 1, r);
	return send_ok(rc);
}

static int
apply_truncate(Message *m)
{
	PQExpBufferData sql;
	int			n = 0;
	int			i,
				j;
	int			rc = APPLY_OK;

	initPQExpBuffer(&sql);
	appendPQExpBufferStr(&sql, "TRUNCATE ");
	for (i = 0; i < m->nrelations; i++)
	{
		unsigned long long slsn = (unsigned long long) -1;
		char	   *qs;
		char	   *qt;

		if (m->trunc_schemas[i] == NULL || m->trunc_tables[i] == NULL)
			continue;
		for (j = 0; j < nsync; j++)
			if (strcmp(sync_schema[j], m->trunc_schemas[i]) == 0 &&
				strcmp(sync_table[j], m->trunc_tables[i]) == 0)
				slsn = sync_lsn[j];
		if (slsn == (unsigned long long) -1)
		{
			char		lsnbuf[32];

			termPQExpBuffer(&sql);
			return fail(EXIT_APPLY, "could not apply TRUNCATE on table \"%s.%s\" (source commit LSN %s): the table was not copied by init",
						m->trunc_schemas[i], m->trunc_tables[i], lsn_format(xact_commit_lsn, lsnbuf));
		}
		if (xact_commit_lsn < slsn)
			continue;
		if (m->trunc_part_tables[i] != NULL)
		{
			char		lsnbuf[32];

			/*
			 * The target holds the partitioned table as one table: which of
			 * its rows came from this partition is not known here.
			 */
			termPQExpBuffer(&sql);
			rc = fail(EXIT_APPLY, "cannot apply TRUNCATE of partition \"%s\".\"%s\" of table \"%s\".\"%s\" (source commit LSN %s): the target holds the partitioned table as one table",
					  m->trunc_part_schemas[i] ? m->trunc_part_schemas[i] : m->trunc_schemas[i],
					  m->trunc_part_tables[i], m->trunc_schemas[i], m->trunc_tables[i],
					  lsn_format(xact_commit_lsn, lsnbuf));
			apply_hint = "The job cannot skip a change, and deleting the partition's rows on the target does not let it go on: run \"migration-split init --drop\" to copy the domain again.";
			return rc;
		}
		qs = job_quote_ident(tgt, aopts->target_schema);
		qt = job_quote_ident(tgt, m->trunc_tables[i]);
		appendPQExpBuffer(&sql, "%s%s.%s", n++ ? ", " : "", qs, qt);
		pg_free(qs);
		pg_free(qt);
	}
	if (m->restart_identity)
		appendPQExpBufferStr(&sql, " RESTART IDENTITY");
	if (m->cascade)
		appendPQExpBufferStr(&sql, " CASCADE");
	if (n > 0)
	{
		int			ok = PQsendQueryParams(tgt, sql.data, 0, NULL, NULL, NULL, NULL, 0);

		queue('T', false, NULL);
		rc = send_ok(ok);
		batch_rows++;
	}
	termPQExpBuffer(&sql);
	return rc;
}

/*
 * U or D of a partition whose replica identity differs from its root's:
 * the key names its columns (key_columns, output positions).  Sent as a
 * statement of its own, not prepared: such partitions are rare.  It must
 * change exactly one row, as every U and D must.
 */
static int
apply_by_partition_key(ApplyRel *r, Message *m)
{
	PQExpBufferData sql;
	const char **vals;
	bool	   *unch;
	int			n = 0;
	int			i;
	int			rc;
	char		lsnbuf[32];

	if ((rc = run_flush()) != APPLY_OK)
		return rc;
	if (m->nkey != m->nkeycols)
		return fail(EXIT_APPLY, "change of table \"%s.%s\" has %d key values for %d key columns (source commit LSN %s)",
					r->schema, r->table, m->nkey, m->nkeycols, lsn_format(xact_commit_lsn, lsnbuf));
	for (i = 0; i < m->nkeycols; i++)
		if (m->keycols[i] < 0 || m->keycols[i] >= r->ncols)
			return fail(EXIT_APPLY, "change of table \"%s.%s\" names key column %d of %d (source commit LSN %s)",
						r->schema, r->table, m->keycols[i], r->ncols, lsn_format(xact_commit_lsn, lsnbuf));

	vals = pg_malloc(sizeof(char *) * (r->ncols + m->nkey + 1));
	unch = pg_malloc0(sizeof(bool) * (r->ncols + 1));
	for (i = 0; i < m->nunchanged; i++)
		if (m->unchanged[i] >= 0 && m->unchanged[i] < r->ncols)
			unch[m->unchanged[i]] = true;

	initPQExpBuffer(&sql);
	if (m->action == MSG_UPDATE)
	{
		appendPQExpBuffer(&sql, "UPDATE %s SET ", r->qname);
		for (i = 0; i < r->ncols; i++)
			if (!r->skip[i] && !unch[i])
			{
				vals[n++] = m->newvals[i];
				appendPQExpBuffer(&sql, "%s%s = $%d", n > 1 ? ", " : "", r->qcols[i], n);
			}
		if (n == 0)
			appendPQExpBuffer(&sql, "%s = %s", r->qcols[m->keycols[0]], r->qcols[m->keycols[0]]);
	}
	else
		appendPQExpBuffer(&sql, "DELETE FROM %s", r->qname);
	appendPQExpBufferStr(&sql, " WHERE ");
	for (i = 0; i < m->nkeycols; i++)
	{
		vals[n++] = m->keyvals[i];
		appendPQExpBuffer(&sql, "%s%s = $%d", i ? " AND " : "",
						  r->qcols[m->keycols[i]], n);
	}
	rc = PQsendQueryParams(tgt, sql.data, n, NULL, vals, NULL, NULL, 0);
	queue(m->action, true, r);
	termPQExpBuffer(&sql);
	pg_free(vals);
	pg_free(unch);
	return send_ok(rc);
}

/* The index of a copied table in the sync list, or -1. */
static int
find_sync(const char *schema, const char *table)
{
	int			i;

	for (i = 0; i < nsync; i++)
		if (strcmp(sync_schema[i], schema) == 0 && strcmp(sync_table[i], table) == 0)
			return i;
	return -1;
}

/*
 * O: a table joined or left the domain in the transaction being applied.
 * A table that joined and that the job lacks is copied in online
 * (tablesync.c) and added to the sync list, so that its changes are
 * skipped before its snapshot and applied after.  A table of the job that
 * left, or a partition that left a partitioned table of the job, stops the
 * job: its later changes are no longer in the stream, and going on would
 * let the target diverge without a word.
 */
static int
apply_ownership(Message *m)
{
	char		lsnbuf[32];
	int			i;
	int			rc;

	if (m->schema == NULL || m->table == NULL)
		return fail(EXIT_APPLY, "ownership message without schema or table name");

	if (!m->in_domain)
	{
		const char *now = m->domain ? psprintf("now in domain \"%s\"", m->domain) : "no longer tagged";

		/*
		 * Keep what came before, if nothing of this transaction is in the
		 * batch yet: the target then holds the state just before the
		 * table left.
		 */
		if (((m->root_schema && m->root_table && find_sync(m->root_schema, m->root_table) >= 0) ||
			 ((i = find_sync(m->schema, m->table)) >= 0 && sync_lsn[i] <= xact_commit_lsn)) &&
			!xact_sent && (rc = apply_flush()) != APPLY_OK)
			return rc;

		if (m->root_schema && m->root_table && find_sync(m->root_schema, m->root_table) >= 0)
		{
			rc = fail(EXIT_DOMAIN, "partition \"%s.%s\" of table \"%s.%s\" left domain \"%s\" on the source (%s; source commit LSN %s)",
					  m->schema, m->table, m->root_schema, m->root_table, aopts->domain,
					  now, lsn_format(xact_commit_lsn, lsnbuf));
			apply_hint = "The job stopped before this transaction. The target's table would keep the partition's rows and miss their later changes. Run \"migration-split init --drop\" to copy the domain as it is now.";
			return rc;
		}
		i = find_sync(m->schema, m->table);
		if (i < 0 || sync_lsn[i] > xact_commit_lsn)
			return APPLY_OK;	/* not the job's, or copied after this */
		rc = fail(EXIT_DOMAIN, "table \"%s.%s\" left domain \"%s\" on the source (%s; source commit LSN %s)",
				  m->schema, m->table, aopts->domain, now,
				  lsn_format(xact_commit_lsn, lsnbuf));
		apply_hint = "The job stopped before this transaction: the target holds the table as of the transactions applied before it, and its later changes are no longer streamed. Run \"migration-split init --drop\" to copy the domain as it is now.";
		return rc;
	}

	if (find_sync(m->schema, m->table) >= 0)
		return APPLY_OK;		/* the job has it */
	return join_table(m->schema, m->table);
}

/*
 * A table the job lacks is in the domain from this point of the stream on:
 * copy it in online (tablesync.c) and add it to the sync list.  Its
 * changes in transactions that committed before the copy's snapshot are
 * then skipped, later ones applied.
 */
static int
join_table(const char *schema, const char *table)
{
	char	   *lsn;
	char	   *err;
	const char *hint;
	int			rc;

	rc = tablesync_copy_table(aopts, schema, table, &lsn, &err, &hint);
	if (rc != APPLY_OK)
	{
		rc = fail(rc, "%s", err);
		apply_hint = hint;
		return rc;
	}
	sync_schema = pg_realloc(sync_schema, sizeof(char *) * (nsync + 1));
	sync_table = pg_realloc(sync_table, sizeof(char *) * (nsync + 1));
	sync_lsn = pg_realloc(sync_lsn, sizeof(unsigned long long) * (nsync + 1));
	sync_schema[nsync] = pg_strdup(schema);
	sync_table[nsync] = pg_strdup(table);
	sync_lsn[nsync] = lsn_parse(lsn);
	nsync++;
	pg_free(lsn);
	return APPLY_OK;
}

/*
 * Commit the open batch with its position.  Returns APPLY_OK,
 * APPLY_RECONNECT or an exit code.
 */
int
apply_flush(void)
{
	int			rc;
	char		lsnbuf[32];
	char		rowsbuf[32];
	char		xactsbuf[32];
	const char *params[5];

	if (batch_xacts == 0 && !batch_open)
		return APPLY_OK;
	if ((rc = begin_batch()) != APPLY_OK)
		return rc;
	if ((rc = run_flush()) != APPLY_OK)
		return rc;
	/* check every change before COMMIT is sent */
	if ((rc = pipe_sync()) != APPLY_OK)
		return rc;

	snprintf(rowsbuf, sizeof(rowsbuf), "%lld", batch_rows);
	snprintf(xactsbuf, sizeof(xactsbuf), "%lld", batch_xacts);
	params[0] = aopts->domain;
	params[1] = lsn_format(batch_lsn ? batch_lsn : applied_lsn, lsnbuf);
	params[2] = batch_commit_time;
	params[3] = rowsbuf;
	params[4] = xactsbuf;
	if (PQsendQueryParams(tgt,
						  "UPDATE " MS_STATE_SCHEMA ".jobs SET applied_lsn = $2,"
						  " applied_commit_time = COALESCE($3::timestamptz, applied_commit_time),"
						  " applied_at = pg_catalog.now(), rows_applied = rows_applied + $4,"
						  " xacts_applied = xacts_applied + $5, last_error = NULL,"
						  " last_error_at = NULL WHERE domain = $1",
						  5, NULL, params, NULL, NULL, 0) != 1)
		return fail(APPLY_RECONNECT, "target: %s", job_error(tgt));
	queue('S', true, NULL);
	if ((rc = send_statement("COMMIT", 0, NULL)) != APPLY_OK)
		return rc;
	if ((rc = pipe_sync()) != APPLY_OK)
		return rc;

	if (batch_lsn)
		applied_lsn = batch_lsn;
	pg_log_debug("committed %lld source transactions, %lld changes, up to %s",
				 batch_xacts, batch_rows, lsn_format(applied_lsn, lsnbuf));
	apply_stats.rows += batch_rows;
	apply_stats.xacts += batch_xacts;
	batch_open = false;
	batch_rows = batch_xacts = 0;
	batch_lsn = 0;
	pg_free(batch_commit_time);
	batch_commit_time = NULL;
	return APPLY_OK;
}

ApplyStats	apply_stats;

bool
apply_batch_due(void)
{
	if (!batch_open && batch_xacts == 0)
		return false;
	return batch_rows >= aopts->batch_changes ||
		(now_seconds() - batch_started) * 1000 >= aopts->batch_ms;
}

double
apply_batch_age_ms(void)
{
	if (!batch_open && batch_xacts == 0)
		return 0;
	return (now_seconds() - batch_started) * 1000;
}

bool
apply_idle(void)
{
	return !in_xact && !batch_open && batch_xacts == 0;
}

bool
apply_in_xact(void)
{
	return in_xact;
}

unsigned long long
apply_position(void)
{
	return applied_lsn;
}

/*
 * Apply one message.  dataStart is the LSN of the XLogData header.
 */
int
apply_message(Message *m, unsigned long long data_start)
{
	ApplyRel   *r;
	char		lsnbuf[32];
	int			rc;

	/* a run continues only through inserts, deletes and transaction ends */
	if (run_n > 0 && m->action != MSG_INSERT && m->action != MSG_DELETE &&
		m->action != MSG_BEGIN && m->action != MSG_COMMIT &&
		(rc = run_flush()) != APPLY_OK)
		return rc;

	switch (m->action)
	{
		case MSG_BEGIN:
			if (m->streamed)
				return fail(EXIT_APPLY, "streamed in-progress transactions are not supported");
			in_xact = true;
			xact_xid = m->xid;
			xact_commit_lsn = m->commit_lsn ? lsn_parse(m->commit_lsn) : data_start;
			skip_xact = xact_commit_lsn < start_lsn;
			xact_sent = false;
			/* see commit_before_alter() */
			if (!skip_xact && xact_commit_lsn == split_before_lsn && batch_xacts > 0 &&
				(rc = apply_flush()) != APPLY_OK)
				return rc;
			if (skip_xact)
				pg_log_debug("skipping transaction %llu committed at %s, already applied",
							 xact_xid, lsn_format(xact_commit_lsn, lsnbuf));
			return APPLY_OK;

		case MSG_COMMIT:
			if (!in_xact)
				return fail(EXIT_APPLY, "commit message without a transaction (LSN %s)",
							lsn_format(data_start, lsnbuf));
			in_xact = false;
			if (skip_xact)
				return APPLY_OK;
			batch_xacts++;
			batch_lsn = m->end_lsn ? lsn_parse(m->end_lsn) : data_start;
			if (m->commit_time)
			{
				pg_free(batch_commit_time);
				batch_commit_time = pg_strdup(m->commit_time);
			}
			if (batch_xacts == 1 && !batch_open)
				batch_started = now_seconds();
			return APPLY_OK;

		case MSG_RELATION:
			return apply_relation(m);

		case MSG_INSERT:
		case MSG_UPDATE:
		case MSG_DELETE:
			if (!in_xact)
				return fail(EXIT_APPLY, "change outside of a transaction (LSN %s)",
							lsn_format(data_start, lsnbuf));
			if (skip_xact)
				return APPLY_OK;
			r = find_rel(m->relid);
			if (r == NULL)
				return fail(EXIT_APPLY, "change of relation %u (\"%s.%s\") without relation message (source commit LSN %s)",
							m->relid, m->schema ? m->schema : "?", m->table ? m->table : "?",
							lsn_format(xact_commit_lsn, lsnbuf));
			if (xact_commit_lsn < r->sync_lsn)
				return APPLY_OK;	/* already in the table's copy */
			if (m->action != MSG_DELETE && m->nnew != r->ncols)
				return fail(EXIT_APPLY, "change of table \"%s.%s\" has %d values, its relation message %d columns (source commit LSN %s)",
							r->schema, r->table, m->nnew, r->ncols, lsn_format(xact_commit_lsn, lsnbuf));
			if (m->action != MSG_INSERT && m->nkeycols > 0 && !m->key_null)
			{
				/* a partition's own replica identity */
				if ((rc = begin_batch()) != APPLY_OK)
					return rc;
				xact_sent = true;
				batch_rows++;
				return apply_by_partition_key(r, m);
			}
			if (m->action != MSG_INSERT && (m->key_null || m->nkey != r->nkey || r->nkey == 0))
			{
				rc = fail(EXIT_APPLY, "could not apply %s on table \"%s.%s\" (source commit LSN %s): the change carries no usable key (replica identity \"%c\")",
						  action_name(m->action), r->schema, r->table,
						  lsn_format(xact_commit_lsn, lsnbuf), r->replident);
				/* nothing on the target can identify the row */
				apply_hint = "Add a primary key or a replica identity to the table on the source, then run \"migration-split init --drop\" to copy the domain again.";
				return rc;
			}
			if ((rc = begin_batch()) != APPLY_OK)
				return rc;
			xact_sent = true;
			batch_rows++;
			if (m->action == MSG_INSERT)
				return apply_insert(r, m);
			if (m->action == MSG_UPDATE)
				return apply_update(r, m);
			return apply_delete(r, m);

		case MSG_OWNERSHIP:
			if (!in_xact)
				return fail(EXIT_APPLY, "ownership message outside of a transaction (LSN %s)",
							lsn_format(data_start, lsnbuf));
			if (skip_xact)
				return APPLY_OK;
			return apply_ownership(m);

		case MSG_TRUNCATE:
			if (skip_xact)
				return APPLY_OK;
			if ((rc = begin_batch()) != APPLY_OK)
				return rc;
			xact_sent = true;
			return apply_truncate(m);

		default:
			/* M and anything newer: nothing to apply */
			return APPLY_OK;
	}
}

/*
 * Forget the connection (after an error); an open batch is rolled back by
 * the server when the connection closes.
 */
void
apply_reset(void)
{
	int			i;

	for (i = 0; i < nrels; i++)
	{
		free_rel_contents(rels[i]);
		pg_free(rels[i]);
	}
	run_discard();
	wait_hook = NULL;
	nrels = 0;
	lastrel = NULL;
	for (i = 0; i < nsync; i++)
	{
		pg_free(sync_schema[i]);
		pg_free(sync_table[i]);
	}
	pg_free(sync_schema);
	pg_free(sync_table);
	pg_free(sync_lsn);
	sync_schema = sync_table = NULL;
	sync_lsn = NULL;
	nsync = 0;
	batch_open = false;
	batch_rows = batch_xacts = 0;
	batch_lsn = 0;
	in_xact = false;
	npending = phead = 0;
	tgt = NULL;
}
