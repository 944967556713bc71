/*-------------------------------------------------------------------------
 *
 * exit_codes.h
 *		Exit codes of the migration-split replication job.
 *
 * Every way the program can end is named here and documented in the
 * README (section "job"), so that scripts and orchestration can tell a
 * configuration mistake, which retrying will not fix, from a transient
 * failure, which it will.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_EXIT_CODES_H
#define MS_JOB_EXIT_CODES_H

/* success; for "stream --until-caught-up": caught up */
#define EXIT_OK					0
/* bad command line: unknown subcommand or option, an option the subcommand
 * does not take, missing argument, a connection string that libpq cannot
 * parse, a --slot or --target-schema other than the job's; report: an
 * output file that cannot be written */
#define EXIT_USAGE				1
/* a server could not be reached or refused the login (retrying may help) */
#define EXIT_CONNECTION			2
/* domain unknown (also to cutover, rollback and finalize) or without
 * tables, table without a usable key, extension not installed on the
 * source, wal_level not logical, the source a hot standby (init, stream,
 * verify), verify of a domain extracted or final, a forward stream of a
 * domain extracted with a reverse stream (at start and at a reconnect) */
#define EXIT_DOMAIN				3
/* the target is not in the expected state: target schema holds other
 * tables, job state belongs to another source, init not done or done; the
 * target takes no writes (a hot standby, default_transaction_read_only on:
 * no GRANT fixes that, so not EXIT_PRIVILEGE) */
#define EXIT_TARGET				4
/* replication slot problem: slot in use by another process, slot missing,
 * slot exists without a job that owns it */
#define EXIT_SLOT				5
/* missing privilege on the source or the target */
#define EXIT_PRIVILEGE			6
/* a change could not be applied on the target; the job stopped before it;
 * also a table of the job renamed, or dropped and created again, or a
 * column dropped and added again, on the source */
#define EXIT_APPLY				7
/* a server reported an unexpected error, or a protocol error */
#define EXIT_SERVER				8
/* interrupted by SIGINT or SIGTERM; state is consistent, rerun resumes */
#define EXIT_INTERRUPTED		9
/* verify: the target differs from the source (rows or schema) */
#define EXIT_DIFFERENCES		10
/* verify: the stream did not reach the verification point within --timeout
 * (not running, too far behind, or an apply transaction waiting for a lock
 * on the target), or the temporary slot was not created within --timeout
 * (transactions running on the source; the creation was cancelled);
 * nothing was compared */
#define EXIT_TIMEOUT			11
/* cutover, rollback, finalize: a preflight check failed (the domain is not
 * in the lifecycle state the command needs, ...); nothing was changed;
 * also init: the domain is frozen, extracted or final, or another init,
 * cutover, rollback or finalize of the domain is running */
#define EXIT_PREFLIGHT			12
/* cutover: the freeze or the catch-up took longer than --timeout; the
 * domain was unfrozen (or never frozen) and nothing else was changed;
 * rollback: the same in the service (its freeze, or the reverse stream's
 * catch-up): the service was unfrozen and nothing else was changed */
#define EXIT_CUTOVER_TIMEOUT	13

#endif							/* MS_JOB_EXIT_CODES_H */
