/*-------------------------------------------------------------------------
 *
 * job.h
 *		Declarations shared by the files of the migration-split job.
 *
 * The job is a libpq client.  One file per responsibility:
 *
 *	main.c		command line, subcommands, --help
 *	conn.c		connections, query helpers, error to exit code mapping
 *	catalog.c	reading the domain's tables from the source catalog
 *	schema.c	DDL for the target: types, sequences, tables, constraints
 *	state.c		the job's own state on the target (schema migration_split_job)
 *	copy.c		parallel COPY of the tables as of the slot's snapshot
 *	progress.c	progress bar on a terminal, periodic lines otherwise
 *	init.c		the "init" subcommand
 *	message.c	parsing of the output plugin's JSON messages
 *	coordinator.c	parallel apply: source transactions routed to workers
 *	apply.c		an apply worker: changes applied on one target connection
 *	relmap.c	an apply worker's map of the source's relations
 *	spool.c		streamed in-progress transactions, kept until they end
 *	live.c		a streamed transaction applied while it runs on the source
 *	tablesync.c	online copy of a table that joined the domain while streaming
 *	stream.c	the "stream" subcommand: replication protocol loop
 *	status.c	the "status" subcommand
 *	report.c	the "report" subcommand: HTML and Markdown boundary report
 *	cutover.c	the "cutover" and "finalize" subcommands
 *	rollback.c	the reverse stream and the "rollback" subcommand
 *	verify.c	the "verify" subcommand: both sides compared at one position
 *
 * Memory: this is a short-lived client; per-change allocations are freed
 * after the change is applied, the catalog description lives until exit.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MS_JOB_H
#define MS_JOB_H

#include <signal.h>

#include "libpq-fe.h"
#include "pqexpbuffer.h"

#include "exit_codes.h"
#include "protocol.h"

/* Name of the output plugin and of the job's state schema on the target. */
#define MS_PLUGIN_NAME		MS_PROTO_PLUGIN_NAME
#define MS_STATE_SCHEMA		"migration_split_job"
#define MS_MESSAGE_PREFIX	MS_PROTO_MESSAGE_PREFIX

/*
 * stream: apply workers by default.  bench/job_apply.sh on the 2-core
 * development machine measured no gain from more (README, "Performance":
 * on 2026-12-07 one connection took 2.10 and 2.29 s, two 2.40 and 2.45 s,
 * in runs of either order), so one; more pay when the target's apply is
 * what limits the stream.
 */
#define DEFAULT_APPLY_JOBS	1

/* Options common to every subcommand, plus per-subcommand ones. */
typedef struct JobOptions
{
	const char *source;			/* conninfo or URI of the monolith */
	const char *target;			/* conninfo or URI of the service database */
	const char *domain;
	const char *target_schema;	/* default: domain name */
	const char *slot;			/* default: migration_split_<domain> */
	bool		target_schema_given;	/* else stream takes the job's */
	bool		slot_given;
	int			jobs;			/* init: parallel COPY connections */
	bool		until_caught_up;	/* stream */
	bool		json;			/* status */
	int			progress;		/* -1 auto, 0 off, 1 on */
	int			batch_changes;	/* stream: changes per target transaction */
	int			batch_ms;		/* stream: max time per target transaction */
	int			apply_jobs;		/* stream: apply workers (target connections) */
	int			status_interval;	/* stream: seconds between status lines */
	int			max_retries;	/* stream: reconnect attempts, 0 = forever */
	bool		spool_streamed; /* stream: streamed transactions applied at
								 * their commit only (not live.c) */
	bool		drop;			/* init --drop: start over */
	const char *html_file;		/* report --html */
	const char *markdown_file;	/* report --markdown */
	/* cutover, finalize */
	int			timeout;		/* cutover: seconds for the freeze and the
								 * catch-up; verify: seconds to wait for the
								 * stream (-1: the command's default) */
	bool		dry_run;
	bool		read_path;
	const char *read_path_server;	/* default: migration_split_<domain> */
	bool		skip_verify_check;
	int			verify_max_age;	/* seconds */
	int64		max_lag;		/* bytes */
	int			sequence_gap;	/* increments */
	bool		drop_archive;	/* finalize */
	bool		no_reverse;		/* cutover: no reverse stream */
	bool		reverse;		/* stream: the reverse stream */
	bool		guard_reverse;	/* stream (forward): reverse_guard_forward at
								 * every reconnect */
	/* the reverse stream: target schema of each table (rollback.c) */
	int			ntable_schemas;
	char	  **table_schema_names;	/* table names */
	char	  **table_schemas;	/* their schemas on the target */
	int			max_diffs;		/* verify: differing rows shown per table */
	int			chunk_rows;		/* verify: rows per hashed chunk */
	const char *table;			/* verify: only this table */
} JobOptions;

/* A column of a domain table, as read from the source catalog. */
typedef struct DomainColumn
{
	char	   *name;
	char	   *type;			/* format_type() with the domain's search_path */
	unsigned int typoid;
	bool		not_null;
	char	   *collation;		/* qualified COLLATE name, or NULL */
	char	   *default_expr;	/* usable default, or NULL */
	char	   *skipped_default;	/* default pointing outside the domain */
	char		identity;		/* attidentity: '\0', 'a', 'd' */
	char		generated;		/* attgenerated: '\0', 's' */
	char	   *identity_seq;	/* sequence behind an identity column */
	char	   *owned_seq;		/* sequence owned by this column (serial) */
	int			attnum;			/* in the source table: its identity */
} DomainColumn;

typedef enum TableCopyState
{
	TABLE_PENDING,
	TABLE_COPYING,
	TABLE_COPIED,
	TABLE_FAILED
} TableCopyState;

/* A table of the domain (partitioned tables are one table: the root). */
typedef struct DomainTable
{
	unsigned int relid;
	char	   *schema;
	char	   *name;
	char		relkind;
	char		replident;
	bool		binary;			/* every column type has send/receive */
	double		est_rows;		/* reltuples, for progress */
	long long	est_bytes;		/* pg_total_relation_size, for progress */
	int			ncolumns;
	DomainColumn *columns;
	char	   *check_ddl;		/* ALTER TABLE ... ADD CONSTRAINT CHECK ... */
	char	   *index_ddl;		/* PK, unique, exclusion, indexes: after load */
	char	   *fk_ddl;			/* FKs to the domain's own tables, NOT VALID */
	char	   *fk_validate_ddl;	/* VALIDATE CONSTRAINT of those valid on
									 * the source */

	/* copy progress, updated by the copy workers */
	volatile TableCopyState state;
	volatile long long rows_done;
	volatile long long bytes_done;
	double		seconds;
	double		copy_seconds;	/* of seconds: the COPY itself */
	double		index_seconds;	/* of seconds: keys and indexes */
	double		analyze_seconds;	/* of seconds: ANALYZE */
	char	   *sync_lsn;
	char	   *error;
} DomainTable;

typedef struct Domain
{
	char	   *name;
	char	   *search_path;	/* source schemas of the domain's tables */
	int			ntables;
	DomainTable *tables;
	char	   *types_ddl;		/* schemas, extensions, collations, text
								 * search objects, types the tables need */
	char	   *sequences_ddl;	/* sequences owned by the domain's columns */
	char	   *sequences_owned_ddl;	/* ALTER SEQUENCE ... OWNED BY */
	PQExpBufferData external_fks;	/* lines "table: constraint ..." */
	PQExpBufferData skipped_defaults;	/* lines "table.column: expr" */
} Domain;

/* A column of a relation as announced by an "R" message. */
typedef struct MsgColumn
{
	char	   *name;
	char	   *type;
	unsigned int typoid;
	bool		key;
	char	   *missing;		/* value of the rows that existed when it was
								 * added with a constant default, or NULL */
	bool		rewritten;		/* an ALTER TABLE of the transaction rewrote
								 * the table, giving it non-null values */
	int			attnum;			/* in the source relation; 0: not sent */
} MsgColumn;

typedef enum MsgAction
{
	MSG_BEGIN = 'B',
	MSG_COMMIT = 'C',
	MSG_RELATION = 'R',
	MSG_INSERT = 'I',
	MSG_UPDATE = 'U',
	MSG_DELETE = 'D',
	MSG_TRUNCATE = 'T',
	MSG_MESSAGE = 'M',
	MSG_STREAM_START = 'S',
	MSG_STREAM_STOP = 'E',
	MSG_STREAM_ABORT = 'A',
	MSG_OWNERSHIP = 'O',
	MSG_OTHER = '?'
} MsgAction;

/* One decoded message of the output plugin. */
typedef struct Message
{
	MsgAction	action;
	unsigned int relid;
	char	   *schema;
	char	   *table;
	unsigned long long xid;		/* in a stream: of the (sub)transaction */
	unsigned long long subxid;	/* A: the subtransaction aborted, or 0 */
	char	   *commit_lsn;
	char	   *end_lsn;
	char	   *commit_time;
	char		replica_identity;
	bool		streamed;
	/* R */
	int			ncolumns;
	MsgColumn  *columns;
	/* I, U: new values; U, D: key values (NULL array when JSON null) */
	int			nnew;
	char	  **newvals;
	int			nkey;
	char	  **keyvals;
	bool		key_null;
	int			nunchanged;
	int		   *unchanged;
	/* T */
	int			nrelations;
	unsigned int *trunc_relids;
	char	  **trunc_schemas;
	char	  **trunc_tables;
	char	  **trunc_part_schemas;	/* the partition truncated, when the */
	char	  **trunc_part_tables;	/* relation is a partitioned root */
	bool		cascade;
	bool		restart_identity;
	/* O: the relation is in the domain after the change, and its domain */
	bool		in_domain;
	char	   *domain;
	char	   *root_schema;	/* a partition left this partitioned table */
	char	   *root_table;
	/* U, D of a partition with a replica identity of its own: key columns */
	int			nkeycols;
	int		   *keycols;
	/* M */
	bool		transactional;
	char	   *prefix;
	char	   *content;
} Message;

/* interrupt flag set by SIGINT/SIGTERM */
extern volatile sig_atomic_t job_interrupted;

/* main.c */
extern void job_install_signal_handlers(void);
extern double job_now_seconds(void);
extern char *job_slot_name(const char *prefix, const char *domain);
extern void job_deadline_arm(double seconds);
extern void job_deadline_disarm(void);

/* conn.c */
extern void job_connect_setup(void);
extern PGconn *job_connect(const char *conninfo, const char *what,
						   bool replication, bool fatal);
extern PGresult *job_exec_interruptible(PGconn *conn, const char *sql,
										int nparams, const char *const *params);
extern PGconn *job_try_connect(const char *conninfo, const char *what,
							   bool replication, bool as_error);
extern char *job_describe_conninfo(const char *conninfo);
extern int	job_exit_code_for(const PGresult *res, PGconn *conn);
extern PGresult *job_query(PGconn *conn, const char *what, const char *sql,
						   int nparams, const char *const *params);
extern void job_command(PGconn *conn, const char *what, const char *sql);
extern char *job_query_value(PGconn *conn, const char *what, const char *sql,
							 int nparams, const char *const *params);
extern char *job_quote_ident(PGconn *conn, const char *ident);
extern char *job_quote_literal(PGconn *conn, const char *str);
extern void job_append_array_elem(PQExpBuffer buf, const char *value);
extern const char *job_error(const PGconn *conn);
extern const char *job_result_error(const PGresult *res);
extern void job_set_search_path(PGconn *conn, const char *what,
								const char *path);
extern void job_require_writable(PGconn *conn, const char *what,
								 const char *conninfo, const char *command,
								 int code);
extern void job_require_primary(PGconn *conn, const char *conninfo,
								const char *command);
extern bool job_explain_read_only(PGconn *conn, const char *conninfo,
								  const char *command);
extern bool job_set_apply_role(PGconn *conn, int *code);
extern const char *job_default_collation(PGconn *conn, const char *what,
										 char **description, char **create_clause);

/* slotcreate.c: a logical slot with an exported snapshot, waited for visibly */
typedef enum SlotCreateStatus
{
	SLOT_CREATED,				/* lsn and snapshot set */
	SLOT_FAILED,				/* the server refused: error holds why */
	SLOT_TIMED_OUT,				/* timeout passed: cancelled, no slot left */
	SLOT_INTERRUPTED			/* SIGINT/SIGTERM: cancelled, no slot left */
} SlotCreateStatus;

typedef struct SlotCreate
{
	/* the request, set by the caller */
	PGconn	   *repl;			/* replication connection, idle */
	PGconn	   *info;			/* normal connection to the same source */
	const char *slot;			/* slot name, unquoted */
	bool		temporary;
	double		timeout;		/* seconds; 0: wait as long as it takes */
	double		report_every;	/* seconds between reports; 0: report once */
	const char *wait_hint;		/* hint of the reports: how the wait ends */

	/* the outcome */
	char	   *lsn;			/* SLOT_CREATED: the consistent point */
	char	   *snapshot;		/* SLOT_CREATED: the exported snapshot */
	PGresult   *error;			/* SLOT_FAILED: the server's error */
	int			nblockers;		/* transactions last seen holding an xid */
	char	   *blockers;		/* their description, oldest first */
	char	   *blocker_pids;	/* "123, 456": their sessions' pids */
	char	   *prepared_gids;	/* "'a', 'b'": prepared transactions */
	double		waited;			/* seconds */
} SlotCreate;

/*
 * Seconds between the reports of a wait without timeout (init, and the copy
 * of a table joining the domain): the first report comes after 2 s.
 */
#define SLOT_REPORT_EVERY	60

/* the detail naming what a slot waits for (%s: SlotCreate.blockers) */
#define SLOT_WAIT_DETAIL \
	"Creating a logical replication slot waits until every transaction that" \
	" held a transaction ID on the source when it started has ended. Still" \
	" running, oldest first: %s."

extern void slot_create_request(SlotCreate *sc, PGconn *repl, PGconn *info,
								const char *slot, bool temporary, double timeout,
								double report_every, const char *wait_hint);
extern SlotCreateStatus slot_create(SlotCreate *sc);
extern void slot_create_free(SlotCreate *sc);
extern char *slot_blocker_hint(const SlotCreate *sc);

/* catalog.c */
extern Domain *catalog_read_domain(PGconn *src, const char *domain);
extern void catalog_free_domain(Domain *d);
extern void catalog_check_source(PGconn *src, const char *domain);
extern void catalog_warn_default_collation(PGconn *src, PGconn *tgt,
										   const char *domain);

/* schema.c */
extern void schema_create_target(PGconn *tgt, Domain *d,
								 const char *target_schema);
extern char *schema_qualified(PGconn *conn, const char *schema,
							  const char *name);

/* state.c: the job row of a domain on the target */
typedef struct JobState
{
	char	   *target_schema;
	char	   *slot_name;
	char	   *system_id;
	char	   *phase;			/* creating, copying, streaming */
	char	   *consistent_lsn;
	char	   *applied_lsn;
	char	   *applied_commit_time;
	char	   *applied_at;
	char	   *init_done_at;
	long long	rows_applied;
	long long	xacts_applied;
	char	   *last_error;
	char	   *last_error_at;
	char	   *last_verify_at;	/* NULL: never verified */
	char	   *last_verify_lsn;
	char	   *last_verify_equal;	/* "t" or "f" */
} JobState;

extern void state_ensure_schema(PGconn *tgt);
extern void state_ensure_columns(PGconn *tgt);
extern bool state_schema_exists(PGconn *tgt);
extern bool state_read_job(PGconn *tgt, const char *domain, JobState *js);
extern void state_free_job(JobState *js);
extern void state_check_names(const JobOptions *opts, const JobState *js);
extern void state_record_error(PGconn *tgt, const char *domain,
							   const char *error);

/* copy.c */
extern bool copy_tables(const JobOptions *opts, Domain *d,
						const char *snapshot, const char *sync_lsn,
						const char *target_schema);

/* progress.c */
extern void progress_start(Domain *d, int mode);
extern void progress_update(bool force);
extern void progress_finish(void);
extern void progress_summary(Domain *d);
extern void progress_set_verb(const char *verb);

/* init.c, stream.c, status.c */
extern int	cmd_init(const JobOptions *opts);
extern int	cmd_stream(const JobOptions *opts);
extern int	cmd_status(const JobOptions *opts);
extern void json_append_string(PQExpBuffer buf, const char *val);
extern int	cmd_report(const JobOptions *opts);

/* cutover.c */
extern int	cmd_cutover(const JobOptions *opts);
extern int	cmd_finalize(const JobOptions *opts);
extern int	cmd_verify(const JobOptions *opts);

/* catchup.c: what cutover and rollback share */
typedef enum SequenceMoveKind
{
	SEQUENCE_NONE,				/* the column has no sequence on that side */
	SEQUENCE_AHEAD,				/* that side's sequence is past already */
	SEQUENCE_OUT_OF_BOUNDS,		/* the new value is out of its bounds */
	SEQUENCE_MOVE				/* set it to value */
} SequenceMoveKind;

typedef struct SequenceTarget
{
	SequenceMoveKind kind;
	char	   *seq;			/* the sequence's oid, as text */
	char	   *value;			/* last + gap increments */
} SequenceTarget;

extern void job_step(const JobOptions *opts, const char *fmt,...) pg_attribute_printf(2, 3);
extern void preflight_exit(int code, const char *hint, const char *fmt,...) pg_attribute_printf(3, 4) pg_attribute_noreturn();
extern void preflight_report(const char *detail, const char *hint, const char *fmt, va_list ap) pg_attribute_printf(3, 0);
extern void catchup_lock_domain(PGconn *mono, const char *what, const char *domain,
								const char *command);
extern char *catchup_freeze(PGconn *conn, const char *what, const char *domain,
							const char *to, bool rollback, int timeout,
							const char *where);
extern int	catchup_wait(PGconn *conn, const char *what, const char *slot,
						 const char *lsn, double deadline,
						 const JobOptions *so, const char *during);
extern char *sequence_last_used(PGconn *conn, const char *what, const char *seq);
extern void sequence_plan(PGconn *conn, const char *what, const char *table,
						  const char *column, const char *last, int gap,
						  SequenceTarget *st);
extern void sequence_set(PGconn *conn, const char *what,
						 const SequenceTarget *st);

/* rollback.c */
extern char *reverse_slot_name(const char *domain);
extern const char *job_target_schema_for(const JobOptions *opts,
										 const char *table);
extern void reverse_preflight(PGconn *src, PGconn *tgt, const char *domain,
							  char **problem, const char **hint);
extern void reverse_create(PGconn *src, PGconn *tgt, const JobOptions *opts,
						   const JobState *js);
extern void reverse_release_service(PGconn *tgt, const JobOptions *opts);
extern void reverse_drop(PGconn *src, PGconn *tgt, const JobOptions *opts);
extern void reverse_guard_forward(const JobOptions *opts, bool reconnect);
extern void job_crash_point(const char *name);
extern int	cmd_rollback(const JobOptions *opts);
extern int	cmd_reverse_stream(const JobOptions *opts);

/* message.c */
extern bool message_parse(const char *data, int len, Message *msg,
						  char **errmsg);
extern void message_free(Message *msg);
extern bool message_is_row_change(const Message *m);

/* lsn helpers (stream.c) */
extern unsigned long long lsn_parse(const char *str);
extern char *lsn_format(unsigned long long lsn, char *buf);

#endif							/* MS_JOB_H */
