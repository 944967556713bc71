/*-------------------------------------------------------------------------
 *
 * copy.c
 *		Copy the domain's tables as of the slot's exported snapshot.
 *
 * N worker threads each open one source connection that imports the
 * snapshot (REPEATABLE READ, SET TRANSACTION SNAPSHOT) and one target
 * connection, then take tables from a shared queue.  A table is copied in
 * one target transaction: TRUNCATE, COPY ... FROM STDIN (FREEZE), keys and
 * indexes, ANALYZE, and the row in migration_split_job.tables marking it
 * copied with the LSN of the snapshot.  A crash leaves either the whole
 * table or nothing, so a rerun copies exactly the tables not marked copied.
 *
 * Binary COPY when every column type has binary send/receive functions,
 * text otherwise.  Target sessions run with session_replication_role =
 * replica, as the stream's apply session does, and with 1GB of
 * maintenance_work_mem for the index builds (unless the target has more).
 * Rows go to the target in CopyData messages of about COPY_BATCH_BYTES.  A
 * table's index builds use parallel maintenance workers only when no table
 * is left in the queue, in place of the idle copy workers.
 *
 * Thread rules: the workers are threads.  They never exit the process (no
 * job_query, job_command, job_quote_ident or pg_fatal here, and job_connect
 * only with fatal = false); a failure is recorded in the table (or, before a
 * table is taken, in CopyShared.error) and the other workers stop taking new
 * tables.  Shared state is the table queue and the failed flag under
 * CopyShared.lock, and per-table counters that only the owning worker writes
 * (the main thread's progress display reads them unlocked: aligned 64-bit
 * values, a stale number is fine).  job_error keeps its
 * buffers per thread.  Messages are printed by the main thread after the
 * workers are joined, except job_connect's and job_set_apply_role's
 * (pg_log_* formats into its own buffer; stderr's stdio lock keeps lines
 * whole).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <pthread.h>
#include <unistd.h>

#include "common/logging.h"

#include "job.h"

/* maintenance_work_mem of a copy worker's target session, for index builds */
#define COPY_MAINTENANCE_WORK_MEM "1GB"

/*
 * The source sends one CopyData message per row; the rows are passed on to
 * the target in messages of about this many bytes, so that the target's
 * backend reads one message per 64 kB instead of one per row.
 */
#define COPY_BATCH_BYTES 65536

typedef struct CopyShared
{
	const JobOptions *opts;
	Domain	   *d;
	const char *snapshot;
	const char *sync_lsn;
	const char *target_schema;
	pthread_mutex_t lock;
	int			next;			/* next table index to consider */
	bool		failed;			/* under lock */
	int			running;		/* under lock */
	int			busy;			/* workers copying a table, under lock */
	int			queued;			/* pending tables not yet taken, under lock */
	char	   *error;			/* first failure outside a table, under lock */
} CopyShared;

/*
 * Quote an identifier without a connection and without exiting: always
 * double-quoted, embedded quotes doubled (what quote_ident does when quoting
 * is needed; quoting a name that does not need it changes nothing).
 */
static char *
quote_name(const char *name)
{
	PQExpBufferData buf;
	const char *p;
	char	   *r;

	initPQExpBuffer(&buf);
	appendPQExpBufferChar(&buf, '"');
	for (p = name; *p; p++)
	{
		if (*p == '"')
			appendPQExpBufferChar(&buf, '"');
		appendPQExpBufferChar(&buf, *p);
	}
	appendPQExpBufferChar(&buf, '"');
	r = pg_strdup(buf.data);
	termPQExpBuffer(&buf);
	return r;
}

static char *
quote_qualified(const char *schema, const char *name)
{
	char	   *s = quote_name(schema);
	char	   *n = quote_name(name);
	char	   *r = psprintf("%s.%s", s, n);

	pg_free(s);
	pg_free(n);
	return r;
}

/* whether some worker failed: the others stop taking tables */
static bool
copy_failed(CopyShared *cs)
{
	bool		failed;

	pthread_mutex_lock(&cs->lock);
	failed = cs->failed;
	pthread_mutex_unlock(&cs->lock);
	return failed;
}

/* remember the first failure that is not a table's, for the main thread */
static void
worker_fail(CopyShared *cs, char *msg)
{
	pthread_mutex_lock(&cs->lock);
	if (cs->error == NULL)
		cs->error = msg;
	else
		pg_free(msg);
	cs->failed = true;
	pthread_mutex_unlock(&cs->lock);
}

/* run a command; on failure record the message and return false */
static bool
worker_exec(PGconn *conn, const char *sql, DomainTable *t, const char *what)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		if (t && t->error == NULL)
			t->error = psprintf("%s: %s", what, job_error(conn));
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

/*
 * Before a table's keys and indexes are built: allow the target's parallel
 * maintenance workers only in place of copy workers that have nothing left
 * to do.  While every worker has a table, the target already runs --jobs
 * backends for the copy, and a parallel index build only adds processes
 * competing for the same cores, plus the cost of its own: the workers' sorted
 * runs go through temporary files and the leader merges them (measured on 2
 * cores, --jobs 4: 17 % more target CPU for the keys and indexes of a table
 * than a serial build).  At the end of the copy, when fewer tables are left
 * than workers, each idle worker's share goes to the builds still running.
 * The server's own max_parallel_maintenance_workers stays the upper bound;
 * SET LOCAL ends with the table's transaction.
 */
static bool
limit_index_workers(CopyShared *cs, PGconn *tgt, DomainTable *t)
{
	int			spare;
	char		sql[256];

	pthread_mutex_lock(&cs->lock);
	spare = cs->queued > 0 ? 0 : cs->opts->jobs - cs->busy;
	pthread_mutex_unlock(&cs->lock);
	snprintf(sql, sizeof(sql),
			 "SELECT pg_catalog.set_config('max_parallel_maintenance_workers',"
			 " LEAST(pg_catalog.current_setting('max_parallel_maintenance_workers')::pg_catalog.int4, %d)::pg_catalog.text,"
			 " true)", Max(spare, 0));
	return worker_exec(tgt, sql, t, "target");
}

/* send the rows gathered in batch to the target and empty it */
static bool
put_batch(PGconn *tgt, PQExpBuffer batch, DomainTable *t)
{
	if (PQputCopyData(tgt, batch->data, batch->len) != 1)
	{
		t->error = psprintf("target: %s", job_error(tgt));
		return false;
	}
	resetPQExpBuffer(batch);
	return true;
}

static bool
copy_one_table(CopyShared *cs, PGconn *src, PGconn *tgt, DomainTable *t)
{
	PQExpBufferData sql;
	PQExpBufferData cols;
	PQExpBufferData batch;
	char	   *srcname = quote_qualified(t->schema, t->name);
	char	   *tgtname = quote_qualified(cs->target_schema, t->name);
	char	   *qschema = quote_name(cs->target_schema);
	PGresult   *res;
	char	   *buf;
	int			len;
	bool		ok = true;
	double		start = job_now_seconds();
	long long	rows = 0;
	int			i;
	const char *params[6];
	char		rowsbuf[32];
	char		relidbuf[16];
	char		bytesbuf[32];
	char		secbuf[32];

	initPQExpBuffer(&sql);
	initPQExpBuffer(&cols);
	initPQExpBuffer(&batch);
	enlargePQExpBuffer(&batch, COPY_BATCH_BYTES);
	for (i = 0; i < t->ncolumns; i++)
	{
		char	   *c;

		if (t->columns[i].generated != '\0')
			continue;
		c = quote_name(t->columns[i].name);
		appendPQExpBuffer(&cols, "%s%s", cols.len ? ", " : "", c);
		pg_free(c);
	}

	t->rows_done = 0;
	t->bytes_done = 0;

	/* target side first, so that COPY data has somewhere to go */
	appendPQExpBuffer(&sql, "BEGIN; SET LOCAL search_path = %s; SET LOCAL synchronous_commit = off; TRUNCATE %s",
					  qschema, tgtname);
	if (!worker_exec(tgt, sql.data, t, "target"))
		goto fail;
	resetPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "COPY %s (%s) FROM STDIN WITH (FORMAT %s, FREEZE)",
					  tgtname, cols.data, t->binary ? "binary" : "text");
	res = PQexec(tgt, sql.data);
	if (PQresultStatus(res) != PGRES_COPY_IN)
	{
		t->error = psprintf("target: %s", job_error(tgt));
		PQclear(res);
		goto fail;
	}
	PQclear(res);

	resetPQExpBuffer(&sql);
	if (t->relkind == 'p')
		appendPQExpBuffer(&sql, "COPY (SELECT %s FROM %s) TO STDOUT WITH (FORMAT %s)",
						  cols.data, srcname, t->binary ? "binary" : "text");
	else
		appendPQExpBuffer(&sql, "COPY %s (%s) TO STDOUT WITH (FORMAT %s)",
						  srcname, cols.data, t->binary ? "binary" : "text");
	res = PQexec(src, sql.data);
	if (PQresultStatus(res) != PGRES_COPY_OUT)
	{
		t->error = psprintf("source: %s", job_error(src));
		PQclear(res);
		PQputCopyEnd(tgt, "source failed");
		goto fail;
	}
	PQclear(res);

	while ((len = PQgetCopyData(src, &buf, 0)) > 0)
	{
		if (batch.len > 0 && batch.len + len > COPY_BATCH_BYTES &&
			!put_batch(tgt, &batch, t))
		{
			PQfreemem(buf);
			ok = false;
			break;
		}
		appendBinaryPQExpBuffer(&batch, buf, len);
		PQfreemem(buf);
		t->rows_done++;
		t->bytes_done += len;
		/* every 1024 rows: is the copy to stop? */
		if ((t->rows_done & 1023) == 0 && (job_interrupted || copy_failed(cs)))
		{
			ok = false;
			break;
		}
	}
	if (ok && batch.len > 0 && !put_batch(tgt, &batch, t))
		ok = false;
	if (!ok)
	{
		PQputCopyEnd(tgt, "aborted");
		goto fail;
	}
	if (len == -2)
	{
		t->error = psprintf("source: %s", job_error(src));
		PQputCopyEnd(tgt, "source failed");
		goto fail;
	}
	res = PQgetResult(src);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		t->error = psprintf("source: %s", job_error(src));
		PQclear(res);
		PQputCopyEnd(tgt, "source failed");
		goto fail;
	}
	rows = atoll(PQcmdTuples(res));
	PQclear(res);
	while ((res = PQgetResult(src)) != NULL)
		PQclear(res);

	if (PQputCopyEnd(tgt, NULL) != 1)
	{
		t->error = psprintf("target: %s", job_error(tgt));
		goto fail;
	}
	res = PQgetResult(tgt);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		t->error = psprintf("target: %s", job_error(tgt));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	while ((res = PQgetResult(tgt)) != NULL)
		PQclear(res);
	t->rows_done = rows;
	t->copy_seconds = job_now_seconds() - start;

	/* keys and indexes, then mark the table copied */
	if (t->index_ddl[0] != '\0')
	{
		if (!limit_index_workers(cs, tgt, t) ||
			!worker_exec(tgt, t->index_ddl, t, "target"))
			goto fail;
	}

	t->index_seconds = job_now_seconds() - start - t->copy_seconds;

	/*
	 * Statistics, in the same transaction: the service's first queries are
	 * planned with them, not with the empty table's defaults, and nobody
	 * has to remember the ANALYZE that a restore needs (pgcopydb runs
	 * VACUUM ANALYZE for the same reason; COPY FREEZE already left the
	 * pages all-visible, so there is nothing to vacuum).  The target's
	 * tables are plain tables without inheritance children (partitions
	 * travel with their root into one table), so this samples only the
	 * table this worker holds locked.
	 */
	resetPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "ANALYZE %s", tgtname);
	if (!worker_exec(tgt, sql.data, t, "target"))
		goto fail;
	t->seconds = job_now_seconds() - start;
	t->analyze_seconds = t->seconds - t->copy_seconds - t->index_seconds;
	snprintf(rowsbuf, sizeof(rowsbuf), "%lld", rows);
	snprintf(bytesbuf, sizeof(bytesbuf), "%lld", (long long) t->bytes_done);
	snprintf(secbuf, sizeof(secbuf), "%.3f", t->seconds);
	params[0] = cs->d->name;
	params[1] = t->schema;
	params[2] = t->name;
	params[3] = cs->sync_lsn;
	params[4] = rowsbuf;
	params[5] = bytesbuf;
	snprintf(relidbuf, sizeof(relidbuf), "%u", t->relid);
	{
		const char *p[8] = {params[0], params[1], params[2], params[3], params[4], params[5],
		secbuf, relidbuf};

		res = PQexecParams(tgt,
						   "UPDATE " MS_STATE_SCHEMA ".tables SET state = 'copied', sync_lsn = $4,"
						   " rows_copied = $5, bytes_copied = $6, seconds = $7, copied_at = pg_catalog.now(),"
						   " source_relid = $8"
						   " WHERE domain = $1 AND source_schema = $2 AND source_table = $3",
						   8, NULL, p, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(res), "1") != 0)
	{
		t->error = psprintf("target: could not mark table copied: %s", job_error(tgt));
		PQclear(res);
		goto fail;
	}
	PQclear(res);

	/*
	 * The source identity of its columns (the table's is its OID, above):
	 * the stream stops on a column dropped and added again under the same
	 * name (apply.c).
	 */
	{
		PQExpBufferData names;
		PQExpBufferData attnums;
		const char *p[5];

		initPQExpBuffer(&names);
		initPQExpBuffer(&attnums);
		appendPQExpBufferChar(&names, '{');
		appendPQExpBufferChar(&attnums, '{');
		for (i = 0; i < t->ncolumns; i++)
		{
			if (i > 0)
			{
				appendPQExpBufferChar(&names, ',');
				appendPQExpBufferChar(&attnums, ',');
			}
			job_append_array_elem(&names, t->columns[i].name);
			appendPQExpBuffer(&attnums, "%d", t->columns[i].attnum);
		}
		appendPQExpBufferChar(&names, '}');
		appendPQExpBufferChar(&attnums, '}');
		p[0] = params[0];
		p[1] = params[1];
		p[2] = params[2];
		p[3] = names.data;
		p[4] = attnums.data;
		res = PQexecParams(tgt,
						   "INSERT INTO " MS_STATE_SCHEMA ".columns"
						   " (domain, source_schema, source_table, source_column, source_attnum)"
						   " SELECT $1, $2, $3, c, n"
						   " FROM ROWS FROM (pg_catalog.unnest($4::pg_catalog.name[]),"
						   " pg_catalog.unnest($5::pg_catalog.int2[])) AS u(c, n)"
						   " ON CONFLICT (domain, source_schema, source_table, source_column)"
						   " DO UPDATE SET source_attnum = EXCLUDED.source_attnum",
						   5, NULL, p, NULL, NULL, 0);
		termPQExpBuffer(&names);
		termPQExpBuffer(&attnums);
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		t->error = psprintf("target: could not record the columns of the table: %s", job_error(tgt));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (!worker_exec(tgt, "COMMIT", t, "target"))
		goto fail;

	t->sync_lsn = pg_strdup(cs->sync_lsn);
	t->state = TABLE_COPIED;
	termPQExpBuffer(&sql);
	termPQExpBuffer(&cols);
	termPQExpBuffer(&batch);
	pg_free(srcname);
	pg_free(tgtname);
	pg_free(qschema);
	return true;

fail:
	/* drain and roll back; the table stays pending */
	while ((res = PQgetResult(tgt)) != NULL)
		PQclear(res);
	if (PQtransactionStatus(tgt) != PQTRANS_IDLE)
		PQclear(PQexec(tgt, "ROLLBACK"));
	if (t->error == NULL)
		t->error = pg_strdup(job_interrupted ? "interrupted" : "stopped after another table failed");
	t->state = TABLE_FAILED;
	termPQExpBuffer(&sql);
	termPQExpBuffer(&cols);
	termPQExpBuffer(&batch);
	pg_free(srcname);
	pg_free(tgtname);
	pg_free(qschema);
	return false;
}

static void *
copy_worker(void *arg)
{
	CopyShared *cs = arg;
	PGconn	   *src;
	PGconn	   *tgt;
	PQExpBufferData sql;
	int			code;
	bool		ok;

	src = job_connect(cs->opts->source, "source", false, false);
	tgt = src ? job_connect(cs->opts->target, "target", false, false) : NULL;
	if (src == NULL || tgt == NULL)
	{
		worker_fail(cs, pg_strdup("could not connect"));
		goto done;
	}
	if (!job_set_apply_role(tgt, &code))
	{
		worker_fail(cs, psprintf("target: %s", job_error(tgt)));
		goto done;
	}

	/*
	 * The keys and indexes are built right after each table's COPY: with the
	 * default 64MB of maintenance_work_mem, the sort of a large table spills
	 * to disk.  Raise it to COPY_MAINTENANCE_WORK_MEM for this session, unless
	 * the target is configured with more.
	 */
	if (!worker_exec(tgt,
					 "SELECT pg_catalog.set_config('maintenance_work_mem', '" COPY_MAINTENANCE_WORK_MEM "', false)"
					 " FROM pg_catalog.pg_settings WHERE name = 'maintenance_work_mem'"
					 " AND setting::pg_catalog.int8 * 1024 < pg_catalog.pg_size_bytes('" COPY_MAINTENANCE_WORK_MEM "')",
					 NULL, "target"))
	{
		worker_fail(cs, psprintf("target: %s", job_error(tgt)));
		goto done;
	}

	initPQExpBuffer(&sql);
	/*
	 * row_security off, as pg_dump does: a table whose row level security
	 * policies would apply to us fails the copy instead of running the
	 * policies' code with our rights and copying a filtered subset.
	 */
	appendPQExpBuffer(&sql, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '%s'; SET LOCAL row_security = off",
					  cs->snapshot);
	if (!worker_exec(src, sql.data, NULL, "source"))
	{
		worker_fail(cs, psprintf("could not import the snapshot of the slot: %s", job_error(src)));
		termPQExpBuffer(&sql);
		goto done;
	}
	termPQExpBuffer(&sql);

	for (;;)
	{
		DomainTable *t = NULL;

		pthread_mutex_lock(&cs->lock);
		while (!cs->failed && !job_interrupted && cs->next < cs->d->ntables)
		{
			DomainTable *cand = &cs->d->tables[cs->next++];

			if (cand->state == TABLE_PENDING)
			{
				t = cand;
				t->state = TABLE_COPYING;
				cs->queued--;
				cs->busy++;
				break;
			}
		}
		pthread_mutex_unlock(&cs->lock);
		if (t == NULL)
			break;
		ok = copy_one_table(cs, src, tgt, t);
		pthread_mutex_lock(&cs->lock);
		cs->busy--;
		if (!ok)
			cs->failed = true;
		pthread_mutex_unlock(&cs->lock);
		if (!ok)
			break;
	}

done:
	if (src)
		PQfinish(src);
	if (tgt)
		PQfinish(tgt);
	pthread_mutex_lock(&cs->lock);
	cs->running--;
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

/*
 * Copy every table in state TABLE_PENDING.  Returns true when all are
 * copied.  Tables are taken largest first so that the longest copy starts
 * early.
 */
bool
copy_tables(const JobOptions *opts, Domain *d, const char *snapshot,
			const char *sync_lsn, const char *target_schema)
{
	CopyShared	cs;
	pthread_t  *threads;
	int			nworkers = opts->jobs;
	int			pending = 0;
	int			i;

	for (i = 0; i < d->ntables; i++)
		if (d->tables[i].state == TABLE_PENDING)
			pending++;
	if (pending == 0)
		return true;
	if (nworkers > pending)
		nworkers = pending;

	memset(&cs, 0, sizeof(cs));
	cs.opts = opts;
	cs.d = d;
	cs.snapshot = snapshot;
	cs.sync_lsn = sync_lsn;
	cs.target_schema = target_schema;
	pthread_mutex_init(&cs.lock, NULL);
	cs.running = nworkers;
	cs.queued = pending;

	threads = pg_malloc(sizeof(pthread_t) * nworkers);
	for (i = 0; i < nworkers; i++)
	{
		if (pthread_create(&threads[i], NULL, copy_worker, &cs) != 0)
			pg_fatal("could not create thread: %m");
	}
	for (;;)
	{
		int			running;

		pthread_mutex_lock(&cs.lock);
		running = cs.running;
		pthread_mutex_unlock(&cs.lock);
		if (running == 0)
			break;
		progress_update(false);
		usleep(100000);
	}
	for (i = 0; i < nworkers; i++)
		pthread_join(threads[i], NULL);
	pg_free(threads);
	pthread_mutex_destroy(&cs.lock);
	progress_update(true);
	if (cs.error != NULL)
	{
		pg_log_error("%s", cs.error);
		pg_free(cs.error);
	}

	for (i = 0; i < d->ntables; i++)
		if (d->tables[i].state != TABLE_COPIED)
			return false;
	return true;
}
