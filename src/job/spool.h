/*-------------------------------------------------------------------------
 *
 * spool.h
 *		Interface of spool.c (streamed in-progress transactions), used by
 *		stream.c.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_SPOOL_H
#define MS_JOB_SPOOL_H

#include <stdio.h>

#include "job.h"

/* Where a subtransaction's first change starts in its spool file. */
typedef struct SpoolSub
{
	unsigned long long xid;
	off_t		offset;
} SpoolSub;

/* One streamed top-level transaction whose end has not arrived yet. */
typedef struct SpoolTxn
{
	unsigned long long xid;
	FILE	   *file;
	off_t		size;			/* bytes written (the file may be longer) */
	long long	nchanges;
	int			nblocks;		/* S ... E blocks received */
	int			nsubs;
	int			capsubs;
	SpoolSub   *subs;			/* in order of their first change */
	struct SpoolTxn *next;
} SpoolTxn;

typedef struct Spool
{
	SpoolTxn   *txns;
	SpoolTxn   *current;		/* between S and E */
} Spool;

extern SpoolTxn *spool_block_start(Spool *sp, unsigned long long xid);
extern void spool_block_end(Spool *sp);
extern bool spool_add(Spool *sp, const Message *m, const char *data, int len,
					  unsigned long long lsn, char **errmsg);
extern bool spool_abort(Spool *sp, unsigned long long xid,
						unsigned long long subxid, char **errmsg);
extern int	spool_replay(Spool *sp, unsigned long long xid,
						 int (*apply_one) (const char *data, int len,
										   unsigned long long lsn, void *arg),
						 void *arg, char **errmsg);
extern void spool_forget(Spool *sp, unsigned long long xid);
extern void spool_reset(Spool *sp);

#endif							/* MS_JOB_SPOOL_H */
