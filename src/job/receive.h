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

/* An XLogData message of the walsender whose messages are being handed out. */
typedef struct Receiver
{
	char	   *copybuf;		/* from PQgetCopyData, or NULL */
	int			len;			/* its length */
	int			pos;			/* where its next message starts */
} Receiver;

extern int	receive_copy_data(Receiver *rcv, PGconn *conn, char **buffer);
extern void receive_reset(Receiver *rcv);

#endif							/* MS_JOB_RECEIVE_H */
