/*-------------------------------------------------------------------------
 *
 * receive.c
 *		The replication stream's CopyData messages, one plugin message at
 *		a time.
 *
 * The job asks the plugin for batch-writes: one XLogData message of the
 * walsender then holds several plugin messages (JSON objects) separated
 * by MS_BATCH_SEPARATOR, which saves the walsender one send() per change.
 * receive_copy_data() hides that from its caller: it returns what
 * PQgetCopyData() returns, except that an XLogData holding several
 * messages is returned as several XLogData messages, each with the
 * original 25-byte header ('w', dataStart, walEnd, sendTime) and one JSON
 * object.  The LSNs in that header are those of the whole write; the job
 * takes the positions it confirms from the commit_lsn and end_lsn fields
 * of B and C, not from the header.
 *
 * Memory: every buffer returned is released by the caller with PQfreemem(),
 * as one from PQgetCopyData() is: an XLogData with one message is returned
 * as libpq gave it; the pieces of a batch are copies made with pg_malloc(),
 * that is malloc(), which is what PQfreemem() frees (libpq allocates them
 * with malloc() too).  The
 * batch being split stays in the Receiver until its last piece is handed
 * out, so at most one write of the plugin (about 64 kB, or one message
 * larger than that) is held.
 *
 * Reading ahead.  While the job waits for a target's results (apply.c's
 * wait_for_result), nobody reads the replication connection: the
 * walsender fills the socket's buffer (a few hundred kB) and stops
 * decoding, and when the wait ends the job finds little to give the
 * target, which then sits idle while the walsender catches up again: the
 * three processes take turns instead of working at once.  So during such
 * waits receive_read_ahead() moves the CopyData messages that have arrived
 * into a queue of the Receiver, at most READ_AHEAD_BYTES of them (plus one
 * message), and receive_copy_data() hands those out first, in the order
 * they came.  The queue only changes when messages are taken out of libpq:
 * what is handed out, and in which order, is what PQgetCopyData() would
 * have returned.  Messages still queued when a session ends are dropped,
 * like those in libpq's buffer: the next session receives them again from
 * the confirmed position.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "protocol.h"
#include "receive.h"

/* 'w', dataStart, walEnd, sendTime */
#define XLOGDATA_HEADER		25

/* messages read ahead while a worker waits, at most (in bytes) */
#define READ_AHEAD_BYTES	(16 * 1024 * 1024)

/* Release the batch whose pieces were all handed out. */
static void
batch_release(Receiver *rcv)
{
	if (rcv->copybuf != NULL)
		PQfreemem(rcv->copybuf);
	rcv->copybuf = NULL;
	rcv->len = 0;
	rcv->pos = 0;
}

/*
 * The next piece of the current batch as an XLogData message of its own,
 * in *buffer; returns its length.  Releases the batch after its last one.
 */
static int
receive_next_piece(Receiver *rcv, char **buffer)
{
	const char *start = rcv->copybuf + rcv->pos;
	const char *end = memchr(start, MS_BATCH_SEPARATOR, rcv->len - rcv->pos);
	int			n = end ? (int) (end - start) : rcv->len - rcv->pos;
	char	   *piece = pg_malloc(XLOGDATA_HEADER + n + 1);

	memcpy(piece, rcv->copybuf, XLOGDATA_HEADER);
	memcpy(piece + XLOGDATA_HEADER, start, n);
	piece[XLOGDATA_HEADER + n] = '\0';
	rcv->pos += n + 1;
	if (rcv->pos >= rcv->len)
		batch_release(rcv);
	*buffer = piece;
	return XLOGDATA_HEADER + n;
}

/*
 * The next CopyData message as PQgetCopyData(conn, buffer, true) returns
 * it: from the messages read ahead first, then what they ended with, then
 * from libpq.
 */
static int
receive_raw(Receiver *rcv, PGconn *conn, char **buffer)
{
	AheadMessage *a = rcv->head;
	int			len;

	if (a != NULL)
	{
		rcv->head = a->next;
		if (rcv->head == NULL)
			rcv->tail = NULL;
		rcv->ahead_bytes -= a->len;
		*buffer = a->buf;
		len = a->len;
		pg_free(a);
		return len;
	}
	if (rcv->ahead_end != 0)
	{
		len = rcv->ahead_end;
		rcv->ahead_end = 0;
		*buffer = NULL;
		return len;
	}
	return PQgetCopyData(conn, buffer, 1);
}

/*
 * Move the messages that have arrived on conn into the queue, while it
 * holds less than READ_AHEAD_BYTES.  Returns whether more may be read
 * ahead later: false once the queue is full or the COPY ended (or failed;
 * the caller learns of it from receive_copy_data, after the messages
 * before).
 */
bool
receive_read_ahead(Receiver *rcv, PGconn *conn)
{
	if (rcv->ahead_end != 0 || rcv->ahead_bytes >= READ_AHEAD_BYTES)
		return false;
	if (PQconsumeInput(conn) == 0)
	{
		rcv->ahead_end = -2;
		return false;
	}
	while (rcv->ahead_bytes < READ_AHEAD_BYTES)
	{
		char	   *buf;
		int			len = PQgetCopyData(conn, &buf, 1);
		AheadMessage *a;

		if (len == 0)
			return true;
		if (len < 0)
		{
			rcv->ahead_end = len;
			return false;
		}
		a = pg_malloc(sizeof(AheadMessage));
		a->next = NULL;
		a->buf = buf;
		a->len = len;
		if (rcv->tail != NULL)
			rcv->tail->next = a;
		else
			rcv->head = a;
		rcv->tail = a;
		rcv->ahead_bytes += len;
	}
	return false;
}

/*
 * Like PQgetCopyData(conn, buffer, true): the next CopyData message, its
 * length, 0 when none is available now, -1 at the end of the COPY, -2 on
 * error; but an XLogData holding a batch of plugin messages comes as one
 * XLogData per message, in order.
 */
int
receive_copy_data(Receiver *rcv, PGconn *conn, char **buffer)
{
	char	   *buf;
	int			len;

	if (rcv->copybuf != NULL)
		return receive_next_piece(rcv, buffer);

	len = receive_raw(rcv, conn, &buf);
	if (len <= XLOGDATA_HEADER || buf[0] != 'w' ||
		memchr(buf + XLOGDATA_HEADER, MS_BATCH_SEPARATOR, len - XLOGDATA_HEADER) == NULL)
	{
		/* not XLogData, or a single message: as is */
		*buffer = buf;
		return len;
	}
	rcv->copybuf = buf;
	rcv->len = len;
	rcv->pos = XLOGDATA_HEADER;
	return receive_next_piece(rcv, buffer);
}

/* Forget the batch being split and the messages read ahead (the session ends). */
void
receive_reset(Receiver *rcv)
{
	AheadMessage *a;

	batch_release(rcv);
	while ((a = rcv->head) != NULL)
	{
		rcv->head = a->next;
		PQfreemem(a->buf);
		pg_free(a);
	}
	rcv->tail = NULL;
	rcv->ahead_bytes = 0;
	rcv->ahead_end = 0;
}
