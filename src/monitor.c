/*-------------------------------------------------------------------------
 *
 * monitor.c
 *		Runtime boundary monitor: GUCs and hook wiring.
 *
 * When the library is in shared_preload_libraries, ms_monitor_init()
 * defines the migration_split.* GUCs of the monitor, requests shared memory
 * (monitor_stats.c) and installs the hooks:
 *
 *	post_parse_analyze_hook   computes the query id of statements that may
 *	                          cross domains when query ids are not on, and
 *	                          remembers constant locations for normalizing
 *	                          the query text (monitor_track.c)
 *	ExecutorStart_hook        classifies the statement's relations by domain,
 *	                          enforces, counts crossings (monitor_track.c)
 *	ExecutorRun/Finish_hook   track the nesting level for
 *	                          migration_split.track = top (without PG_TRY:
 *	                          see ms_nesting_level)
 *	ExecutorEnd_hook          adds the rows and time of remote calls (reads
 *	                          of a read path) to their entries
 *	ProcessUtility_hook       the same, and enforces utility statements that
 *	                          reach tables without the executor (COPY,
 *	                          TRUNCATE, LOCK, ALTER TABLE, ...) and refuses
 *	                          changes of bindings (monitor_enforce.c,
 *	                          monitor_service.c)
 *	object_access_hook        enforces each object a DROP removes, CASCADE
 *	                          included, before it goes (monitor_enforce.c);
 *	                          a database or the extension dropped takes its
 *	                          runtime figures along (monitor_stats.c)
 *
 * Every hook calls the previous one.  Nothing here takes locks; see
 * monitor_stats.c for the shared memory locking rules.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/objectaccess.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "storage/ipc.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "monitor.h"

/* GUC variables */
int			ms_track = MS_TRACK_TOP;
int			ms_max = 5000;
int			ms_max_text = 1024;
bool		ms_save = true;
int			ms_enforce = MS_ENFORCE_OFF;
char	   *ms_service = NULL;

/*
 * Current nesting depth of ExecutorRun/Finish and ProcessUtility calls, and
 * how many of them are ProcessUtility calls.
 *
 * pg_stat_statements keeps its depth right with a PG_TRY block in each
 * hook; the two of ExecutorRun and ExecutorFinish (sigsetjmp) cost about 70
 * instructions a statement, a sixth of the monitor's cost for a simple
 * SELECT (bench/monitor.sh).  Here only ProcessUtility has one
 * (and restores both counters to their values at entry, whatever happened
 * below it); the executor hooks add and subtract one, and an error that
 * skips their subtraction is repaired where PostgreSQL resumes after it:
 *
 *	- a (sub)transaction abort: every error that does not end the backend
 *	  is followed by one before anything runs again (error recovery at top
 *	  level aborts the transaction; PL/pgSQL exception blocks and other
 *	  catchers roll back a subtransaction);
 *	- at a subtransaction abort, the depth returns to the one at its start
 *	  (ms_subxact_callback, monitor_track.c): a subtransaction starts and
 *	  ends in the same frame (a PL/pgSQL block, SAVEPOINT at top level);
 *	- at a transaction's end, the depth returns to ms_utility_level
 *	  (ms_reset_nesting_level): no executor frame is active when a
 *	  transaction ends other than by an error, since transaction control
 *	  (COMMIT and ROLLBACK in procedures) is refused below an executor
 *	  frame; the CALLs and DOs above it are utility frames, which stay.
 */
int			ms_nesting_level = 0;
static int	ms_utility_level = 0;

static const struct config_enum_entry track_options[] = {
	{"none", MS_TRACK_NONE, false},
	{"top", MS_TRACK_TOP, false},
	{"all", MS_TRACK_ALL, false},
	{NULL, 0, false}
};

static const struct config_enum_entry enforce_options[] = {
	{"off", MS_ENFORCE_OFF, false},
	{"warn", MS_ENFORCE_WARN, false},
	{"error", MS_ENFORCE_ERROR, false},
	{"false", MS_ENFORCE_OFF, true},
	{"no", MS_ENFORCE_OFF, true},
	{"0", MS_ENFORCE_OFF, true},
	{NULL, 0, false}
};

/* Saved hook values */
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

static void ms_shmem_request(void);
static void ms_shmem_startup(void);
static JumbleState *ms_jumble(ParseState *pstate, Query *query);
static void ms_post_parse_analyze(ParseState *pstate, Query *query,
								  JumbleState *jstate);
static void ms_ExecutorStart(QueryDesc *queryDesc, int eflags);
static void ms_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
						   uint64 count, bool execute_once);
static void ms_ExecutorFinish(QueryDesc *queryDesc);
static void ms_ExecutorEnd(QueryDesc *queryDesc);
static void ms_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							  bool readOnlyTree, ProcessUtilityContext context,
							  ParamListInfo params, QueryEnvironment *queryEnv,
							  DestReceiver *dest, QueryCompletion *qc);
static void ms_object_access(ObjectAccessType access, Oid classId,
							 Oid objectId, int subId, void *arg);

/*
 * Install hooks and request shared memory; called from _PG_init only while
 * shared_preload_libraries is being processed.
 */
void
ms_monitor_init(void)
{
	DefineCustomEnumVariable("migration_split.track",
							 "Selects which statements the boundary monitor records.",
							 "none records nothing, top records top-level statements, "
							 "all also records statements run inside functions.",
							 &ms_track, MS_TRACK_TOP, track_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("migration_split.max",
							"Maximum number of cross-domain statements and transaction "
							"shapes kept in shared memory.",
							NULL, &ms_max, 5000, 10, INT_MAX / 2,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("migration_split.max_query_text",
							"Bytes of normalized query text kept per cross-domain statement.",
							NULL, &ms_max_text, 1024, 64, 65536,
							PGC_POSTMASTER, GUC_UNIT_BYTE, NULL, NULL, NULL);

	DefineCustomBoolVariable("migration_split.save",
							 "Saves the monitor's statistics across server shutdowns.",
							 NULL, &ms_save, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomEnumVariable("migration_split.enforce",
							 "Reacts to statements of a service that touch another domain's tables.",
							 "off does nothing, warn raises a WARNING, error fails the statement.",
							 &ms_enforce, MS_ENFORCE_OFF, enforce_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("migration_split.service",
							   "Domain the session acts for, checked by migration_split.enforce.",
							   "Empty for none, or a domain name.",
							   &ms_service, "",
							   PGC_USERSET, 0, ms_check_service, NULL, NULL);

	ms_track_init();
	ms_enforce_init();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ms_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ms_shmem_startup;
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = ms_post_parse_analyze;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = ms_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = ms_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = ms_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ms_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ms_ProcessUtility;
	prev_object_access_hook = object_access_hook;
	object_access_hook = ms_object_access;
}

/*
 * Every object PostgreSQL is about to drop, whether a statement named it
 * or CASCADE reached it (deleteOneObject calls the hook before the
 * deletion, so the catalogs still show the object).
 */
static void
ms_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_DROP)
	{
		ms_enforce_drop(classId, objectId);
		/* a database or the extension takes its runtime figures along */
		ms_stats_note_drop(classId, objectId);
	}
}

static void
ms_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	ms_stats_shmem_request();
}

static void
ms_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	ms_stats_shmem_startup();
}

/*
 * Compute a statement's query id as PostgreSQL would.  JumbleQuery insists
 * that query ids be enabled, so enable them for the call
 * (compute_query_id = off counts as auto for it).
 */
static JumbleState *
ms_jumble(ParseState *pstate, Query *query)
{
	JumbleState *jstate;
	bool		save = query_id_enabled;
	int			save_compute = compute_query_id;

	query_id_enabled = true;
	if (compute_query_id == COMPUTE_QUERY_ID_OFF)
		compute_query_id = COMPUTE_QUERY_ID_AUTO;
	/* restore both also when the jumble fails */
	PG_TRY();
	{
		jstate = JumbleQuery(query, pstate->p_sourcetext);
	}
	PG_FINALLY();
	{
		compute_query_id = save_compute;
		query_id_enabled = save;
	}
	PG_END_TRY();
	return jstate;
}

static void
ms_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
	if (ms_track == MS_TRACK_NONE)
		return;

	/*
	 * Query ids not computed for every statement (compute_query_id = auto
	 * and no other module asked for them): compute the same id for the
	 * statements that may cross domains only, sparing every other
	 * statement the cost of the jumble.  The statements that write a
	 * domain the transaction has not written yet get one whatever
	 * compute_query_id says: they name the writers of cross-domain
	 * transactions; backend-local templates of statement texts spare them
	 * the jumble when the same statement ran before.
	 */
	if (jstate == NULL && query->queryId == UINT64CONST(0) &&
		query->commandType != CMD_UTILITY)
	{
		bool		writes_new;

		/* one walk answers both questions */
		if (ms_query_may_cross(query, &writes_new) &&
			compute_query_id != COMPUTE_QUERY_ID_OFF)
			jstate = ms_jumble(pstate, query);
		else if (writes_new &&
				 !ms_cached_writer_id(query, pstate->p_sourcetext))
		{
			jstate = ms_jumble(pstate, query);
			ms_cache_writer_id(query, pstate->p_sourcetext);
		}
	}
	if (jstate)
		ms_track_post_parse(query, jstate, pstate->p_sourcetext);
}

/*
 * Classify and count the statement once the executor has its final range
 * table (views expanded, partitions added), but before any row is touched,
 * so that enforcement can stop it.
 */
static void
ms_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		ms_track_executor_start(queryDesc, eflags);
}

/*
 * Executor frames count in the nesting depth; no PG_TRY: see
 * ms_nesting_level.
 */
static void
ms_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	ms_nesting_level++;
	if (prev_ExecutorRun)
		prev_ExecutorRun(queryDesc, direction, count, execute_once);
	else
		standard_ExecutorRun(queryDesc, direction, count, execute_once);
	ms_nesting_level--;
}

static void
ms_ExecutorFinish(QueryDesc *queryDesc)
{
	ms_nesting_level++;
	if (prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
	ms_nesting_level--;
}

/*
 * The end of a transaction, committed or aborted: only utility frames can
 * be active (see ms_nesting_level).
 */
void
ms_reset_nesting_level(void)
{
	ms_nesting_level = ms_utility_level;
}

/*
 * The end of a statement: a remote call being timed gets its rows and time
 * (nothing to do, one compare, for every other statement).
 */
static void
ms_ExecutorEnd(QueryDesc *queryDesc)
{
	if (unlikely(ms_remote_npending > 0))
		ms_track_executor_end(queryDesc);
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static void
ms_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	/*
	 * EXECUTE of a prepared statement runs that statement at the level of
	 * the EXECUTE itself, as pg_stat_statements counts it.  Transaction
	 * statements (BEGIN, COMMIT, SAVEPOINT, ...) only change the state of
	 * the transaction block (a commit happens after ProcessUtility): they
	 * run no statement, reach no table and change no binding, so they go
	 * straight through too.
	 */
	if (IsA(pstmt->utilityStmt, ExecuteStmt) ||
		IsA(pstmt->utilityStmt, TransactionStmt))
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		return;
	}

	/*
	 * Statements that reach tables without the executor are enforced here,
	 * before they run; a service may not change the bindings either.
	 */
	ms_service_check_utility(pstmt->utilityStmt);
	{
		const char *service;
		int			level;

		if (ms_utility_level == 0)
			ms_enforce_drop_reset();
		ms_service_effective(&service, &level);
		/*
		 * Foreign-key checks and cascades run no utility statement: one
		 * that runs in their security context (SECURITY_NOFORCE_RLS) is
		 * the code of a trigger of a cascaded row, and is enforced.
		 */
		if (level != MS_ENFORCE_OFF && service[0] != '\0')
			ms_enforce_utility(pstmt->utilityStmt, service, level);
	}

	{
		int			save_nesting = ms_nesting_level;

		ms_nesting_level++;
		ms_utility_level++;
		PG_TRY();
		{
			if (prev_ProcessUtility)
				prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
			else
				standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
										params, queryEnv, dest, qc);
		}
		PG_FINALLY();
		{
			/* also undoes what an error skipped in executor frames below */
			ms_nesting_level = save_nesting;
			ms_utility_level--;
		}
		PG_END_TRY();
	}
}
