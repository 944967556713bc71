/*-------------------------------------------------------------------------
 *
 * apply.h
 *		The apply pipeline of the stream: one apply worker per target
 *		connection (apply.c), the coordinator that routes source
 *		transactions to the workers (coordinator.c), and the relation map
 *		(relmap.c).
 *
 * Every function of these files returns an ApplyResult.  APPLY_STOP
 * carries an exit code (exit_codes.h) and a message, kept in the worker or
 * the coordinator that failed; the other results need none.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_APPLY_H
#define MS_JOB_APPLY_H

#include <time.h>

#include "job.h"
#include "relmap.h"
#include "binparam.h"

typedef enum ApplyResult
{
	APPLY_OK = 0,
	APPLY_RECONNECT,			/* a server went away: new session after a
								 * backoff */
	APPLY_REPLAY,				/* end the session and start again at once
								 * from the applied position */
	APPLY_STOP					/* stop the job with exit_code and the error */
} ApplyResult;

/* tablesync_copy_table: the source went away (else APPLY_OK or exit code) */
#define TABLESYNC_RECONNECT	(-1)

typedef struct ApplyStats
{
	long long	rows;			/* changes applied in this run */
	long long	xacts;			/* source transactions applied in this run */
} ApplyStats;

/*
 * What outlives one session of the stream command: the source transaction
 * that must begin a target transaction of its own (see
 * commit_before_alter), and the counters of the run.
 */
typedef struct ApplyShared
{
	const JobOptions *opts;
	unsigned long long split_before_lsn;
	ApplyStats	stats;
	/* called about every WAIT_HOOK_SECONDS while a worker waits (keepalive) */
	void		(*wait_hook) (void *arg);
	void	   *wait_hook_arg;
	time_t		wait_hook_last;
	/* called with wait_hook_arg when read_ahead_sock is readable meanwhile */
	bool		(*read_ahead) (void *arg);
	int			read_ahead_sock;
	/* the coordinator's workers, whose output is sent while one waits */
	struct ApplyWorker *workers;
	int			nworkers;
} ApplyShared;

/*
 * The tables the job copied, with the LSN of each table's snapshot and its
 * source OID (0: copied by a job that did not record it).
 */
typedef struct SyncList
{
	int			n;
	char	  **schema;
	char	  **table;
	unsigned long long *lsn;
	unsigned int *relid;
} SyncList;

/* A statement sent on a worker's connection whose result is not yet read. */
typedef struct Pending
{
	char		action;			/* I, U, D, T, 'S' for a statement, 'C' for
								 * a batch's COMMIT, 'Y' for a Sync */
	int			expect_rows;	/* must affect exactly this many rows; 0: any */
	int			nrows;			/* source changes in this statement */
	ApplyRel   *rel;
	unsigned long long commit_lsn;	/* of the (first) change */
	unsigned long long last_lsn;	/* of the last change */
	unsigned long long xid;
	/* a run of updates: each row's commit LSN and xid (owned), else NULL */
	unsigned long long *row_lsn;
	unsigned long long *row_xid;
	/* C: the batch it commits */
	long long	batch_rows;
	long long	batch_xacts;
	unsigned long long batch_lsn;
} Pending;

/*
 * statements sent but not yet checked: at most MAX_PENDING, holding at most
 * MAX_PENDING_ROWS changes (a run is one statement of many changes).  The
 * target connections do not block (PQsetnonblocking): what the socket does
 * not take waits in libpq's buffer, sent while the job waits for any
 * worker (wait_for_result).  The bound keeps that buffer to a few MB, and
 * deep enough that a worker's target does not run dry while the job waits
 * for another worker: with 2,000, two workers together applied no faster
 * than one (bench/job_apply.sh).
 */
#define MAX_PENDING 8000
#define MAX_PENDING_ROWS 8000
#define PENDING_RING (MAX_PENDING + 16)

/*
 * The libpq pipeline of a worker: statements whose results are unread,
 * with every Sync sent between them (its result comes in their order).
 */
typedef struct TargetPipeline
{
	Pending		pending[PENDING_RING];
	int			head;
	int			n;
	long		rows;			/* changes in them */
} TargetPipeline;

/*
 * The open target transaction of a worker: the source transactions it
 * holds, recorded in migration_split_job.applied_xacts when it commits.
 */
typedef struct ApplyBatch
{
	bool		open;			/* BEGIN sent */
	long long	rows;
	long long	xacts;
	unsigned long long lsn;		/* end LSN of its last source commit */
	char	   *commit_time;	/* of its last source commit */
	double		started;
	int			nx;				/* source transactions, for applied_xacts */
	int			capx;
	unsigned long long *x_commit;	/* their commit LSNs */
	long long  *x_rows;			/* their changes */
	char	  **x_time;			/* their commit times */
} ApplyBatch;

/* longest run of inserts or deletes sent as one statement */
#define RUN_MAX RELMAP_RUN_MAX
/* longest run of updates */
#define UPD_RUN_MAX RELMAP_UPD_RUN_MAX
/* values a run holds at most */
#define RUN_VALUES 65536
/* runs a worker keeps open besides the one it adds to (see Coalescer) */
#define RUN_PARKED 7
/* slots of the hash of the open runs' keys (a power of 2) */
#define OPEN_KEY_SLOTS 16384
/* keys entered before it is emptied (after every open run is sent) */
#define OPEN_KEY_MAX (OPEN_KEY_SLOTS / 2)

/*
 * The coalescer: a run of inserts into one table, of deletes from one
 * table with a one-column key, or of updates of one table that set the
 * same columns (UpdStmt) and do not change the key, each row's key
 * distinct, sent as one statement.
 *
 * A worker adds to one run (ApplyWorker.run) and may keep up to RUN_PARKED
 * more open (ApplyWorker.parked) for tables whose key names every row a
 * change can conflict with (run_parkable): no two open runs hold the same
 * key of the same table (OpenKeys), so the statements of the runs of a
 * batch may be sent in any order and leave the target as the source's
 * order would.
 */
typedef struct Coalescer
{
	ApplyRel   *rel;
	char		action;
	UpdStmt    *upd;			/* U: the statement of the run */
	int			n;
	unsigned int gen;			/* a number no other run of the worker had */
	char	  **vals;			/* n rows of nsent values (I), 1 key (D) or
								 * upd->width values (U) */
	unsigned long long first_lsn;
	unsigned long long first_xid;
	unsigned long long last_lsn;	/* commit LSN of its last change */
	unsigned long long *row_lsn;	/* U: each row's source commit LSN */
	unsigned long long *row_xid;	/* U: and xid */
} Coalescer;

/*
 * The keys of the open runs: open addressing on a 64-bit hash of (target
 * table, key) (relmap_key_hash), each with the gen of the run that holds it.  An entry whose
 * run was sent since stays until the hash is emptied: its gen is no open
 * run's.  Two keys with the same hash only make a run be sent earlier.
 */
typedef struct OpenKeys
{
	unsigned long long *hash;	/* 0: free slot */
	unsigned int *gen;
	int			filled;
} OpenKeys;

/*
 * The parameters of the statement being sent: values as text, or in binary
 * where binparam.c converts them (their bytes in bin, one after the other:
 * values[] points into it once all are added).  Reused by every statement
 * of the worker; grown to the most parameters one statement had.
 */
typedef struct ParamSet
{
	int			n;
	int			cap;
	const char **values;
	int		   *lengths;
	int		   *formats;		/* 0: text, 1: binary */
	size_t	   *offsets;		/* of a binary value in bin */
	bool		any_binary;
	PQExpBufferData bin;
} ParamSet;

/* The source transaction a worker is receiving. */
typedef struct SourceXact
{
	bool		active;
	bool		skip;			/* applied before */
	bool		sent;			/* some of its changes are in the batch */
	unsigned long long commit_lsn;
	unsigned long long xid;
	long long	rows;			/* batch.rows when it began */
} SourceXact;

/* One apply worker: a target connection and what is in flight on it. */
typedef struct ApplyWorker
{
	int			id;
	PGconn	   *conn;
	const JobOptions *opts;
	ApplyShared *shared;
	SyncList   *sync;			/* the session's, shared by its workers */
	RelMap		relmap;
	TargetPipeline pipe;
	ApplyBatch	batch;
	Coalescer	run;
	Coalescer	parked[RUN_PARKED]; /* n == 0: a free slot */
	unsigned int run_gen;		/* the last run's gen */
	OpenKeys	open_keys;
	ParamSet	params;
	SourceXact	xact;
	unsigned long long start_lsn;	/* applied position at session start */
	long long	batches;		/* batches whose COMMIT was sent in this
								 * session; the open batch is number
								 * batches */
	long long	commits;		/* of them, committed (COMMIT's result
								 * read): batch k is committed iff
								 * commits > k */
	int			commit_step;	/* 1: Sync sent, 2: COMMIT sent */
	bool		in_progress;	/* applies a transaction before its commit
								 * (live.c): plain changes only */
	char	   *error;
	const char *hint;			/* NULL: the generic one of stream.c */
	int			exit_code;		/* with APPLY_STOP */
} ApplyWorker;

/* apply.c: one worker */
extern ApplyResult apply_start(ApplyWorker *w, PGconn *conn, ApplyShared *shared,
							   SyncList *sync, const char *applied);
extern ApplyResult apply_message(ApplyWorker *w, Message *m,
								 unsigned long long data_start);
extern ApplyResult apply_learn_relation(ApplyWorker *w, Message *m);
extern ApplyResult apply_flush(ApplyWorker *w);
extern ApplyResult apply_commit_start(ApplyWorker *w);
extern ApplyResult apply_commit_send(ApplyWorker *w);
extern ApplyResult apply_commit_finish(ApplyWorker *w);
extern ApplyResult apply_push(ApplyWorker *w);
extern bool apply_batch_due(ApplyWorker *w);
extern double apply_batch_age_ms(ApplyWorker *w);
extern bool apply_idle(ApplyWorker *w);
extern void apply_reset(ApplyWorker *w);
extern void apply_begin_in_progress(ApplyWorker *w, unsigned long long xid);
extern ApplyResult apply_statement(ApplyWorker *w, const char *sql);
extern ApplyResult apply_send_all(ApplyWorker *w);
extern ApplyResult apply_wait_all(ApplyWorker *w);
extern ApplyResult apply_commit_in_progress(ApplyWorker *w, Message *m,
											unsigned long long data_start);
extern void apply_set_wait_hook(ApplyShared *shared, void (*hook) (void *arg),
								void *arg);
extern void apply_set_read_ahead(ApplyShared *shared, int sock,
								 bool (*read_ahead) (void *arg));
extern void sync_list_free(SyncList *sync);
extern bool sync_list_load(SyncList *sync, PGconn *conn, const char *domain);

/* coordinator.c: the workers of a session */
typedef struct Coordinator Coordinator;

extern Coordinator *coord_start(PGconn *ctl, ApplyShared *shared,
								const char *applied, ApplyResult *result);
extern ApplyResult coord_message(Coordinator *c, Message *m,
								 unsigned long long data_start);
extern ApplyResult coord_flush(Coordinator *c);
extern bool coord_batch_due(Coordinator *c);
extern double coord_batch_age_ms(Coordinator *c);
extern bool coord_idle(Coordinator *c);
extern bool coord_in_xact(Coordinator *c);
extern unsigned long long coord_position(Coordinator *c);
extern unsigned long long coord_durable(Coordinator *c);
extern ApplyResult coord_make_durable(Coordinator *c);
extern bool coord_applied_before(Coordinator *c, unsigned long long commit_lsn);
extern ApplyResult coord_applied_elsewhere(Coordinator *c,
										   unsigned long long commit_lsn,
										   unsigned long long end_lsn);
extern int	coord_backend_pids(Coordinator *c, int *pids, int max);
extern void coord_set_error(Coordinator *c, ApplyResult rc, int exit_code,
							const char *msg);
extern const char *coord_error(Coordinator *c);
extern const char *coord_hint(Coordinator *c);
extern int	coord_exit_code(Coordinator *c);
extern void coord_end(Coordinator *c);

/* tablesync.c */
extern int	tablesync_copy_table(const JobOptions *opts, const char *schema,
								 const char *table, char **sync_lsn,
								 unsigned int *relid,
								 char **errmsg, const char **hint);

#endif							/* MS_JOB_APPLY_H */
