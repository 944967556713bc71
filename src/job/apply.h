/*-------------------------------------------------------------------------
 *
 * apply.h
 *		Interface of apply.c, used by stream.c.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_APPLY_H
#define MS_JOB_APPLY_H

#include "job.h"

/* return values besides exit codes */
#define APPLY_OK			0
#define APPLY_RECONNECT		(-1)
/* end the session and start again at once from the applied position */
#define APPLY_REPLAY		(-2)

typedef struct ApplyStats
{
	long long	rows;			/* changes applied in this run */
	long long	xacts;			/* source transactions applied in this run */
} ApplyStats;

extern ApplyStats apply_stats;

extern int	apply_start(PGconn *conn, const JobOptions *opts, const char *applied);
extern int	apply_message(Message *m, unsigned long long data_start);
extern int	apply_flush(void);
extern bool apply_batch_due(void);
extern bool apply_idle(void);
extern double apply_batch_age_ms(void);
extern bool apply_in_xact(void);
extern unsigned long long apply_position(void);
extern const char *apply_last_error(void);
extern const char *apply_last_hint(void);
extern void apply_reset(void);
extern void apply_set_wait_hook(void (*hook) (void *arg), void *arg);

/* tablesync.c */
extern int	tablesync_copy_table(const JobOptions *opts, const char *schema,
								 const char *table, char **sync_lsn,
								 char **errmsg, const char **hint);

#endif							/* MS_JOB_APPLY_H */
