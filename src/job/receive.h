/*-------------------------------------------------------------------------
 *
 * receive.h
 *		Interface of receive.c (the replication stream's CopyData, one
 *		plugin message at a time), used by stream.c.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_RECEIVE_H
#define MS_JOB_RECEIVE_H

#include "libpq-fe.h"

/* A CopyData message read ahead (receive_read_ahead), not handed out yet. */
typedef struct AheadMessage
{
	struct AheadMessage *next;
	char	   *buf;			/* from PQgetCopyData */
	int			len;
} AheadMessage;

typedef struct Receiver
{
	/* an XLogData message of the walsender whose messages are handed out */
	char	   *copybuf;		/* from PQgetCopyData, or NULL */
	int			len;			/* its length */
	int			pos;			/* where its next message starts */

	/* messages read ahead, oldest first, and their bytes */
	AheadMessage *head;
	AheadMessage *tail;
	size_t		ahead_bytes;
	int			ahead_end;		/* 0, or PQgetCopyData's -1 or -2 met while
								 * reading ahead, returned after them */
} Receiver;

extern int	receive_copy_data(Receiver *rcv, PGconn *conn, char **buffer);
extern bool receive_read_ahead(Receiver *rcv, PGconn *conn);
extern void receive_reset(Receiver *rcv);

#endif							/* MS_JOB_RECEIVE_H */
