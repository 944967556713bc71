/*-------------------------------------------------------------------------
 *
 * monitor.h
 *		Declarations shared by the files of the runtime boundary monitor:
 *
 *		monitor.c          GUCs, hook wiring, nesting level
 *		monitor_stats.c    shared memory statistics, stats file, views
 *		monitor_track.c    per-statement analysis, RI detection, per-
 *		                   transaction write tracking, text normalization
 *		monitor_enforce.c  per-service enforcement and the allowlist
 *		monitor_service.c  the service and level of a session: bindings
 *		monitor_analyze.c  analyze_statements() over pg_stat_statements
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATION_SPLIT_MONITOR_H
#define MIGRATION_SPLIT_MONITOR_H

#include "executor/execdesc.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/guc.h"
#include "utils/queryjumble.h"
#include "utils/timestamp.h"

#include "migration_split.h"

/* Most domains remembered per statement or transaction entry. */
#define MS_ENTRY_DOMAINS		8
/* Most distinct domain names the shared dictionary holds. */
#define MS_MAX_SHARED_DOMAINS	4096
/* Bytes of table names kept per statement entry. */
#define MS_TABLES_LEN			256
/* Table oids kept per statement entry (of its first table names). */
#define MS_ENTRY_TABLES			16
/* Sample queryids kept per transaction entry. */
#define MS_XACT_SAMPLES			4
/* Bytes of normalized text kept per sampled statement of a transaction. */
#define MS_XACT_TEXT_LEN		256

/* SQLSTATE of enforcement violations (class MS: migration_split). */
#define ERRCODE_MS_CROSS_DOMAIN_ACCESS	MAKE_SQLSTATE('M','S','0','0','1')

typedef enum MsTrackLevel
{
	MS_TRACK_NONE,
	MS_TRACK_TOP,
	MS_TRACK_ALL
} MsTrackLevel;

typedef enum MsEnforceMode
{
	MS_ENFORCE_OFF,
	MS_ENFORCE_WARN,
	MS_ENFORCE_ERROR
} MsEnforceMode;

/*
 * Sorted set of shared domain indexes (see monitor_stats.c); unused slots
 * are zero.  Shared indexes start at 1.
 */
typedef struct MsDomainSet
{
	int			count;
	uint16		ids[MS_ENTRY_DOMAINS];
} MsDomainSet;

/*
 * One statement that wrote a domain first in a transaction (see
 * monitor_track.c): its query id, the user who ran it and its normalized
 * text ("" until known).
 */
typedef struct MsXactSample
{
	uint64		queryid;
	Oid			userid;
	char		text[MS_XACT_TEXT_LEN];
} MsXactSample;

/* GUCs (monitor.c) */
extern int	ms_track;
extern int	ms_max;
extern int	ms_max_text;
extern bool ms_save;
extern int	ms_enforce;
extern char *ms_service;
extern int	ms_nesting_level;

/* monitor.c */
extern void ms_reset_nesting_level(void);

/* monitor_stats.c */
extern void ms_stats_shmem_request(void);
extern void ms_stats_shmem_startup(void);
extern bool ms_stats_available(void);
extern void ms_stats_require(void);
extern uint16 ms_shared_domain(MsDomainId local);
extern bool ms_stats_count_query(uint64 queryid, const MsDomainSet *domains,
								 const MsDomainSet *remote);
extern void ms_stats_create_query(uint64 queryid, CmdType kind,
								  const MsDomainSet *domains,
								  const MsDomainSet *remote,
								  const char *tables, const Oid *relids,
								  const char *text);
extern void ms_stats_add_remote_call(uint64 queryid, Oid userid,
									 const MsDomainSet *domains,
									 const MsDomainSet *remote, uint64 rows,
									 double time_ms);
extern bool ms_stats_xact_count_known(const MsDomainSet *domains,
									  const uint64 *queryids, int n,
									  bool *missing);
extern void ms_stats_count_xact(const MsDomainSet *domains,
								const MsXactSample *samples, int nsamples,
								bool count);
extern void ms_stats_note_violation(const MsDomainSet *domains);
extern void ms_stats_note_exemption(int64 allowlist_id);
extern void ms_stats_apply_domain_changes(void);
extern void ms_stats_domain_changes_subabort(SubTransactionId subid);
extern void ms_stats_domain_changes_reset(void);
extern void ms_stats_note_drop(Oid classId, Oid objectId);

/* monitor_track.c */
extern void ms_track_init(void);
extern void ms_track_post_parse(Query *query, JumbleState *jstate,
								const char *sourceText);
extern void ms_track_executor_start(QueryDesc *queryDesc, int eflags);
extern void ms_track_executor_end(QueryDesc *queryDesc);
extern int	ms_remote_npending;
extern bool ms_query_may_cross(Query *query, bool *writes_new);
extern bool ms_cached_writer_id(Query *query, const char *source);
extern void ms_cache_writer_id(Query *query, const char *source);
extern char *ms_normalize_query(const char *query, int query_loc,
								int *query_len, const LocationLen *locs,
								int nlocs, int first_param);

/* monitor_enforce.c */
extern void ms_enforce_init(void);
extern void ms_enforce_check(List *rtable, const MsDomainId *domains,
							 int ndomains, const char *service_name,
							 int level);
extern void ms_enforce_check_routing(PlannedStmt *ps, const char *service_name,
									 int level);
extern void ms_enforce_tag_change(Oid old_rel, const char *old_domain,
								  Oid new_rel);
extern void ms_enforce_drop(Oid classId, Oid objectId);
extern void ms_enforce_drop_reset(void);
extern void ms_enforce_utility(Node *stmt, const char *service_name,
							   int level);
extern bool ms_domain_exists(const char *name);

/* monitor_service.c */
extern bool ms_session_is_admin(void);
extern PGDLLIMPORT Oid ms_unbound_user;
extern void ms_service_effective_slow(const char **service, int *level);

/*
 * The service the current statement acts for ("" for none) and the
 * enforcement level that applies to it.  Every statement asks, so the
 * common answer, a login role without a binding (ms_unbound_user, set
 * when its binding was read), is given inline.
 */
static inline void
ms_service_effective(const char **service, int *level)
{
	if (likely(ms_unbound_user == GetSessionUserId() &&
			   OidIsValid(ms_unbound_user)))
	{
		*service = ms_service ? ms_service : "";
		*level = ms_enforce;
		return;
	}
	ms_service_effective_slow(service, level);
}
extern bool ms_check_service(char **newval, void **extra, GucSource source);
extern void ms_service_check_utility(Node *stmt);

#endif							/* MIGRATION_SPLIT_MONITOR_H */
