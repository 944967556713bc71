/*-------------------------------------------------------------------------
 *
 * live.h
 *		Interface of live.c (a streamed transaction applied on the target
 *		while it runs on the source), used by stream.c.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_LIVE_H
#define MS_JOB_LIVE_H

#include "job.h"
#include "apply.h"
#include "spool.h"

/* A subtransaction of the live transaction: its savepoint on the target. */
typedef struct LiveSub
{
	unsigned long long xid;
	long long	rows;			/* the batch's changes before it */
} LiveSub;

/* At most one streamed transaction applied live; the others are spooled. */
typedef struct LiveApply
{
	const JobOptions *opts;
	ApplyShared *shared;
	bool		enabled;		/* not --spool-streamed */
	bool		active;			/* a transaction is open on w */
	bool		in_block;		/* between its S and E */
	bool		unsynced;		/* statements sent, results not all read */
	bool		busy;			/* the job is inside w: the wait hook must
								 * not touch it */
	unsigned long long xid;		/* its top-level xid */
	ApplyWorker w;				/* its own target connection */
	SyncList	sync;
	int			nsubs;
	int			capsubs;
	LiveSub    *subs;			/* in order of their first change */
} LiveApply;

extern void live_init(LiveApply *l, const JobOptions *opts, ApplyShared *shared);
extern ApplyResult live_block_start(LiveApply *l, Coordinator *c, SpoolTxn *t);
extern void live_message(LiveApply *l, Message *m, unsigned long long lsn);
extern void live_block_end(LiveApply *l);
extern void live_drain(LiveApply *l);
extern void live_abort(LiveApply *l, unsigned long long xid,
					   unsigned long long subxid);
extern ApplyResult live_commit(LiveApply *l, Coordinator *c, Message *m,
							   unsigned long long lsn, bool *applied);
extern void live_check_blocking(LiveApply *l, PGconn *probe, Coordinator *c);
extern void live_end(LiveApply *l);

#endif							/* MS_JOB_LIVE_H */
