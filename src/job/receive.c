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
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "protocol.h"
#include "receive.h"

/* 'w', dataStart, walEnd, sendTime */
#define XLOGDATA_HEADER		25

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
		receive_reset(rcv);
	*buffer = piece;
	return XLOGDATA_HEADER + n;
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

	len = PQgetCopyData(conn, &buf, 1);
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

/* Forget the batch being split (the session ends). */
void
receive_reset(Receiver *rcv)
{
	if (rcv->copybuf != NULL)
		PQfreemem(rcv->copybuf);
	rcv->copybuf = NULL;
	rcv->len = 0;
	rcv->pos = 0;
}
