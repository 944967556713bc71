/*-------------------------------------------------------------------------
 *
 * spool.c
 *		Spool files of streamed in-progress transactions.
 *
 * With the plugin option stream-changes, a large transaction arrives in
 * blocks (S ... E) while it is still running on the source, interleaved
 * with other transactions, and ends with A (abort) or a streamed C.  Like
 * PostgreSQL's apply worker, the job keeps the changes of each such
 * transaction in a file of its own until the transaction's fate is known;
 * at the streamed C it applies them like an ordinary transaction.
 *
 * Subtransactions: every change inside a block names the xid of the
 * (sub)transaction it belongs to.  The job notes the file offset of the
 * first change of each subtransaction.  An A of a subtransaction (ROLLBACK
 * TO SAVEPOINT on the source) truncates the file at the first change of
 * that subtransaction or of one it contains: those changes follow each
 * other with nothing of the parent between them.  R messages
 * in the truncated part are kept (copied to the new end): the plugin will
 * not send a relation's R again inside the same streamed transaction.
 *
 * Record format: an SpoolRecord header then the message's JSON bytes.
 * Files are anonymous (tmpfile) and vanish with the process: a job that
 * restarts receives the transaction again from its start.
 *
 * Memory: one SpoolTxn per open streamed transaction; the messages live in
 * the files only.  State is in the Spool passed by the caller.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <unistd.h>

#include "common/logging.h"

#include "job.h"
#include "spool.h"

typedef struct SpoolRecord
{
	unsigned long long lsn;		/* data_start of the XLogData message */
	int			len;			/* bytes of JSON that follow */
	char		action;
} SpoolRecord;

static SpoolTxn *spool_find(Spool *sp, unsigned long long xid, bool create);
static void spool_free_txn(SpoolTxn *t);

/* The spool of a top-level xid, created on demand. */
static SpoolTxn *
spool_find(Spool *sp, unsigned long long xid, bool create)
{
	SpoolTxn   *t;

	for (t = sp->txns; t != NULL; t = t->next)
		if (t->xid == xid)
			return t;
	if (!create)
		return NULL;
	t = pg_malloc0(sizeof(SpoolTxn));
	t->xid = xid;
	t->file = tmpfile();
	if (t->file == NULL)
		pg_fatal("could not create a spool file for streamed transaction %llu: %m", xid);
	t->next = sp->txns;
	sp->txns = t;
	return t;
}

static void
spool_free_txn(SpoolTxn *t)
{
	if (t->file)
		fclose(t->file);
	pg_free(t->subs);
	pg_free(t);
}

/*
 * S: the following messages, up to E, belong to top-level xid.  Returns
 * its spool (nblocks is 1 at the transaction's first block).
 */
SpoolTxn *
spool_block_start(Spool *sp, unsigned long long xid)
{
	sp->current = spool_find(sp, xid, true);
	sp->current->nblocks++;
	return sp->current;
}

/* E: the block ends. */
void
spool_block_end(Spool *sp)
{
	sp->current = NULL;
}

/*
 * Append a message of the current block.  Returns false (with an error
 * message in *errmsg) when the file cannot be written.
 */
bool
spool_add(Spool *sp, const Message *m, const char *data, int len,
		  unsigned long long lsn, char **errmsg)
{
	SpoolTxn   *t = sp->current;
	SpoolRecord rec;

	Assert(t != NULL);

	/* the first change of a subtransaction: remember where it starts */
	if (m->action != MSG_RELATION && m->xid != 0 && m->xid != t->xid)
	{
		bool		known = false;
		int			i;

		for (i = 0; i < t->nsubs && !known; i++)
			known = (t->subs[i].xid == m->xid);
		if (!known)
		{
			if (t->nsubs == t->capsubs)
			{
				t->capsubs = t->capsubs ? t->capsubs * 2 : 8;
				t->subs = pg_realloc(t->subs, sizeof(SpoolSub) * t->capsubs);
			}
			t->subs[t->nsubs].xid = m->xid;
			t->subs[t->nsubs].offset = t->size;
			t->nsubs++;
		}
	}

	memset(&rec, 0, sizeof(rec));
	rec.lsn = lsn;
	rec.len = len;
	rec.action = (char) m->action;
	if (fseeko(t->file, t->size, SEEK_SET) != 0 ||
		fwrite(&rec, sizeof(rec), 1, t->file) != 1 ||
		fwrite(data, 1, len, t->file) != (size_t) len)
	{
		*errmsg = psprintf("could not write the spool file of streamed transaction %llu: %m", t->xid);
		return false;
	}
	t->size += sizeof(rec) + len;
	if (m->action != MSG_RELATION)
		t->nchanges++;
	return true;
}

/*
 * A: forget a streamed transaction (subxid 0 or equal to xid), or the
 * changes of one of its subtransactions and of those that followed it.
 */
bool
spool_abort(Spool *sp, unsigned long long xid, unsigned long long subxid,
			char **errmsg)
{
	SpoolTxn   *t = spool_find(sp, xid, false);
	SpoolTxn  **prev;
	int			i;
	off_t		cut;
	off_t		pos;
	PQExpBufferData keep;

	if (t == NULL)
		return true;			/* nothing of it was spooled */

	if (subxid == 0 || subxid == xid)
	{
		for (prev = &sp->txns; *prev != t; prev = &(*prev)->next)
			;
		*prev = t->next;
		if (sp->current == t)
			sp->current = NULL;
		pg_log_debug("streamed transaction %llu aborted: %lld changes forgotten", xid, t->nchanges);
		spool_free_txn(t);
		return true;
	}

	/*
	 * The cut: the first change of the subtransaction or of any of its own
	 * subtransactions, which may have written before it did.  Those are
	 * the spooled subtransactions with an xid not older than subxid: a
	 * parent is always assigned its xid before its children, and nothing
	 * outside the aborted one started since it did.
	 */
	cut = -1;
	for (i = 0; i < t->nsubs; i++)
		if ((int) ((unsigned int) t->subs[i].xid - (unsigned int) subxid) >= 0 &&
			(cut < 0 || t->subs[i].offset < cut))
			cut = t->subs[i].offset;
	if (cut < 0)
		return true;			/* no change of it was spooled */

	/* keep the R messages of the part that goes */
	initPQExpBuffer(&keep);
	for (pos = cut; pos < t->size;)
	{
		SpoolRecord rec;
		char	   *buf;

		if (fseeko(t->file, pos, SEEK_SET) != 0 ||
			fread(&rec, sizeof(rec), 1, t->file) != 1)
			goto read_error;
		if (rec.action == MSG_RELATION)
		{
			buf = pg_malloc(rec.len);
			if (fread(buf, 1, rec.len, t->file) != (size_t) rec.len)
			{
				pg_free(buf);
				goto read_error;
			}
			appendBinaryPQExpBuffer(&keep, (const char *) &rec, sizeof(rec));
			appendBinaryPQExpBuffer(&keep, buf, rec.len);
			pg_free(buf);
		}
		else
			t->nchanges--;
		pos += sizeof(rec) + rec.len;
	}
	if (fflush(t->file) != 0 || ftruncate(fileno(t->file), cut) != 0)
		goto read_error;
	t->size = cut;
	if (keep.len > 0)
	{
		if (fseeko(t->file, cut, SEEK_SET) != 0 ||
			fwrite(keep.data, 1, keep.len, t->file) != (size_t) keep.len)
			goto read_error;
		t->size += keep.len;
	}
	termPQExpBuffer(&keep);
	pg_log_debug("subtransaction %llu of streamed transaction %llu aborted", subxid, xid);
	/* it and the subtransactions that started after it are gone */
	for (i = 0, pos = 0; i < t->nsubs; i++)
		if (t->subs[i].offset < cut)
			t->subs[pos++] = t->subs[i];
	t->nsubs = (int) pos;
	return true;

read_error:
	termPQExpBuffer(&keep);
	*errmsg = psprintf("could not rewrite the spool file of streamed transaction %llu: %m", xid);
	return false;
}

/*
 * Streamed C: hand the spooled messages of xid, in order, to apply_one,
 * then forget them.  Stops at the first result other than 0 and returns
 * it; -3 with *errmsg set when the file cannot be read.
 */
int
spool_replay(Spool *sp, unsigned long long xid,
			 int (*apply_one) (const char *data, int len,
							   unsigned long long lsn, void *arg),
			 void *arg, char **errmsg)
{
	SpoolTxn   *t = spool_find(sp, xid, false);
	SpoolTxn  **prev;
	off_t		pos;
	int			rc = 0;
	char	   *buf = NULL;
	int			bufsize = 0;

	if (t == NULL)
		return 0;
	if (fflush(t->file) != 0 || fseeko(t->file, 0, SEEK_SET) != 0)
	{
		*errmsg = psprintf("could not read the spool file of streamed transaction %llu: %m", xid);
		return -3;
	}
	for (pos = 0; pos < t->size && rc == 0;)
	{
		SpoolRecord rec;

		if (fread(&rec, sizeof(rec), 1, t->file) != 1)
		{
			*errmsg = psprintf("could not read the spool file of streamed transaction %llu: %m", xid);
			rc = -3;
			break;
		}
		if (rec.len + 1 > bufsize)
		{
			bufsize = Max(rec.len + 1, bufsize * 2);
			buf = pg_realloc(buf, bufsize);
		}
		if (fread(buf, 1, rec.len, t->file) != (size_t) rec.len)
		{
			*errmsg = psprintf("could not read the spool file of streamed transaction %llu: %m", xid);
			rc = -3;
			break;
		}
		buf[rec.len] = '\0';
		rc = apply_one(buf, rec.len, rec.lsn, arg);
		pos += sizeof(rec) + rec.len;
	}
	pg_free(buf);

	for (prev = &sp->txns; *prev != t; prev = &(*prev)->next)
		;
	*prev = t->next;
	if (sp->current == t)
		sp->current = NULL;
	spool_free_txn(t);
	return rc;
}

/* Forget the spooled messages of xid (applied without them, live.c). */
void
spool_forget(Spool *sp, unsigned long long xid)
{
	SpoolTxn   *t = spool_find(sp, xid, false);
	SpoolTxn  **prev;

	if (t == NULL)
		return;
	for (prev = &sp->txns; *prev != t; prev = &(*prev)->next)
		;
	*prev = t->next;
	if (sp->current == t)
		sp->current = NULL;
	spool_free_txn(t);
}

/* Forget every spooled transaction (the session ends). */
void
spool_reset(Spool *sp)
{
	while (sp->txns != NULL)
	{
		SpoolTxn   *t = sp->txns;

		sp->txns = t->next;
		spool_free_txn(t);
	}
	sp->current = NULL;
}
