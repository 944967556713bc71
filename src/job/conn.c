/*-------------------------------------------------------------------------
 *
 * conn.c
 *		Connections to the source and the target, and query helpers.
 *
 * Connection strings are passed to libpq as "dbname" with expand_dbname, so
 * both key=value strings and URIs work and the PG* environment variables and
 * the password file fill in what is missing.  Messages about a connection
 * show host, port and database only: never the password.
 *
 * Every connection pins the settings that decide what text means (date,
 * interval and float output, bytea output, encoding, time zone, XML option,
 * string literal syntax, whether an unquoted NULL in an array is a null) and the ones that could make a statement fail or
 * silently differ (timeouts, row security), in the startup packet: settings
 * given there override ALTER DATABASE / ALTER ROLE defaults on both sides.
 * This is what pg_dump (setup_connection) and the apply worker's walreceiver
 * connection do.  search_path is empty; our SQL is schema-qualified.
 *
 * Query helpers exit the program on error, with the exit code that matches
 * the SQLSTATE (privilege, slot in use, connection lost, other); they are for
 * the main thread only.  The error text helpers (job_error,
 * job_result_error) are thread-safe: copy workers use them.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/select.h>

#include "common/logging.h"

#include "job.h"

/*
 * Describe a connection string without its secrets: "host=... port=...
 * dbname=...", values libpq would take from the environment shown as such;
 * with a service, "service=NAME" and the values the string gives.
 */
char *
job_describe_conninfo(const char *conninfo)
{
	PQconninfoOption *opts;
	PQconninfoOption *o;
	const char *host = NULL;
	const char *port = NULL;
	const char *dbname = NULL;
	const char *service = NULL;
	char	   *err = NULL;
	char	   *result;

	opts = PQconninfoParse(conninfo, &err);
	if (opts == NULL)
	{
		if (err)
			PQfreemem(err);
		return pg_strdup("(invalid connection string)");
	}
	for (o = opts; o->keyword != NULL; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0 ||
			(host == NULL && strcmp(o->keyword, "hostaddr") == 0))
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
		else if (strcmp(o->keyword, "service") == 0)
			service = o->val;
	}

	/*
	 * With a service (the connection string's or PGSERVICE), what the string
	 * does not give comes from the service file, before the environment:
	 * name the service and only the values given.
	 */
	if (service == NULL && getenv("PGSERVICE") && getenv("PGSERVICE")[0] != '\0')
		service = getenv("PGSERVICE");
	if (service != NULL)
	{
		result = psprintf("service=%s%s%s%s%s%s%s", service,
						  host ? " host=" : "", host ? host : "",
						  port ? " port=" : "", port ? port : "",
						  dbname ? " dbname=" : "", dbname ? dbname : "");
		PQconninfoFree(opts);
		return result;
	}
	if (host == NULL)
		host = getenv("PGHOST") ? getenv("PGHOST") : "(default)";
	if (port == NULL)
		port = getenv("PGPORT") ? getenv("PGPORT") : "(default)";
	if (dbname == NULL)
		dbname = getenv("PGDATABASE") ? getenv("PGDATABASE") : "(default)";
	result = psprintf("host=%s port=%s dbname=%s", host, port, dbname);
	PQconninfoFree(opts);
	return result;
}

/*
 * The settings every session runs with, as postgres command-line options
 * (the startup packet's "options").  Server defaults of these settings
 * (postgresql.conf, ALTER DATABASE, ALTER ROLE) have a lower priority than
 * the client's options, so these win whatever the databases say.
 */
#define JOB_SESSION_OPTIONS \
	"-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3" \
	" -c TimeZone=UTC -c bytea_output=hex -c standard_conforming_strings=on" \
	" -c xmloption=content -c lc_monetary=C -c array_nulls=on" \
	" -c row_security=off" \
	" -c search_path=" \
	" -c statement_timeout=0 -c lock_timeout=0" \
	" -c idle_in_transaction_session_timeout=0 -c idle_session_timeout=0"

/*
 * The "options" value for a connection: the user's own options (from the
 * connection string, else PGOPTIONS) followed by ours, so that ours win.
 */
static char *
session_options(const char *conninfo)
{
	PQconninfoOption *opts;
	PQconninfoOption *o;
	const char *user = NULL;
	char	   *result;

	opts = PQconninfoParse(conninfo, NULL);
	if (opts != NULL)
	{
		for (o = opts; o->keyword != NULL; o++)
			if (strcmp(o->keyword, "options") == 0 && o->val != NULL)
				user = o->val;
	}
	if (user == NULL)
		user = getenv("PGOPTIONS");
	if (user != NULL && user[0] != '\0')
		result = psprintf("%s %s", user, JOB_SESSION_OPTIONS);
	else
		result = pg_strdup(JOB_SESSION_OPTIONS);
	if (opts != NULL)
		PQconninfoFree(opts);
	return result;
}

/*
 * Make the pinned settings stick.  libpq sends PGDATESTYLE and PGTZ from the
 * environment as startup parameters of their own, which the server applies
 * after the "options" (the backend's process_startup_options): they would
 * override DateStyle and TimeZone of every session.  With
 * PGDATESTYLE='SQL, DMY' and PGTZ=Asia/Kolkata, the walsender wrote
 * timestamptz values with the abbreviation IST, which the target read as
 * Israel's (+02): every streamed timestamp moved by 3.5 hours.  So they
 * are removed from the environment, once, before any connection and any
 * thread (the copy workers connect from threads; unsetenv is not
 * thread-safe).
 */
void
job_connect_setup(void)
{
	unsetenv("PGDATESTYLE");
	unsetenv("PGTZ");
}

/*
 * Open a connection.  "what" names it in messages ("source", "target").
 * replication: a logical replication connection (replication=database).
 * fatal: exit with EXIT_CONNECTION on failure, else return NULL (and never
 * exit: copy worker threads call this with fatal false).
 */
PGconn *
job_connect(const char *conninfo, const char *what, bool replication,
			bool fatal)
{
	PGconn	   *conn = job_try_connect(conninfo, what, replication, fatal);

	if (conn == NULL && fatal)
		exit(EXIT_CONNECTION);
	return conn;
}

/*
 * Open a connection, or return NULL after a message: an error when
 * as_error (the caller gives up), else a warning (the caller retries).
 * Never exits.
 */
PGconn *
job_try_connect(const char *conninfo, const char *what, bool replication,
				bool as_error)
{
	const char *keywords[7];
	const char *values[7];
	int			n = 0;
	char	   *options = session_options(conninfo);
	PGconn	   *conn;

	keywords[n] = "dbname";
	values[n++] = conninfo;
	if (replication)
	{
		keywords[n] = "replication";
		values[n++] = "database";
	}
	keywords[n] = "options";
	values[n++] = options;
	keywords[n] = "client_encoding";
	values[n++] = "UTF8";
	keywords[n] = "fallback_application_name";
	values[n++] = "migration-split";
	keywords[n] = NULL;
	values[n] = NULL;

	conn = PQconnectdbParams(keywords, values, true);
	pg_free(options);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		char	   *desc = job_describe_conninfo(conninfo);

		flockfile(stderr);		/* one whole message among the workers' */
		if (as_error)
			pg_log_error("could not connect to the %s database (%s): %s",
						 what, desc, conn ? job_error(conn) : "out of memory");
		else
			pg_log_warning("could not connect to the %s database (%s): %s",
						   what, desc, conn ? job_error(conn) : "out of memory");
		funlockfile(stderr);
		pg_free(desc);
		if (conn)
			PQfinish(conn);
		return NULL;
	}
	flockfile(stderr);
	pg_log_debug("connected to the %s database (host=%s port=%s dbname=%s)",
				 what, PQhost(conn), PQport(conn), PQdb(conn));
	funlockfile(stderr);

	if (!replication)
	{
		/* the server's NOTICEs ("drop cascades to ...") are not for the user */
		PGresult   *res = PQexec(conn, "SET client_min_messages = warning");

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			flockfile(stderr);
			pg_log_warning("could not set up the %s session: %s", what, job_error(conn));
			funlockfile(stderr);
			PQclear(res);
			PQfinish(conn);
			return NULL;
		}
		PQclear(res);
	}
	return conn;
}

/*
 * Make a target session apply like PostgreSQL's apply worker: with
 * session_replication_role = replica, foreign key actions and ordinary
 * triggers of the target's tables do not fire (the source already did what
 * they would do, and its changes arrive in the stream).  Returns false with a
 * message (and *code set) when the role may not set it; never exits, so copy
 * workers can call it.
 */
bool
job_set_apply_role(PGconn *conn, int *code)
{
	PGresult   *res = PQexec(conn, "SET session_replication_role = replica");

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		*code = job_exit_code_for(res, conn);
		flockfile(stderr);		/* one whole message among the workers' */
		pg_log_error("could not set session_replication_role on the target: %s",
					 job_error(conn));
		if (state && strcmp(state, "42501") == 0)
		{
			pg_log_error_detail("Changes are applied with session_replication_role = replica, so that the target's foreign key actions and triggers do not act on them a second time.");
			pg_log_error_hint("Connect to the target as a superuser, or GRANT SET ON PARAMETER session_replication_role TO the role of --target.");
		}
		funlockfile(stderr);
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

/*
 * What a command writes in the target database (what: "target") or the
 * source database ("source"), for the messages about a database that takes
 * no writes.
 */
static const char *
target_writes(const char *command, const char *what)
{
	if (strcmp(what, "source") == 0)
	{
		if (strcmp(command, "cutover") == 0)
			return "cutover freezes the domain and records its lifecycle in the source database";
		if (strcmp(command, "rollback") == 0)
			return "rollback applies the service's writes to the domain's tables in the source database and unfreezes them";
		if (strcmp(command, "finalize") == 0)
			return "finalize records the domain's lifecycle in the source database";
		if (strcmp(command, "stream --reverse") == 0)
			return "stream --reverse applies the service's changes to the domain's tables and writes its state in the source database";
		return psprintf("%s writes in the source database", command);
	}
	if (strcmp(command, "init") == 0)
		return "init creates the domain's tables and writes its state in the target database";
	if (strcmp(command, "stream") == 0)
		return "stream applies the domain's changes and writes its state in the target database";
	if (strcmp(command, "verify") == 0)
		return "verify pauses the stream through the job's state in the target database";
	if (strcmp(command, "cutover") == 0)
		return "cutover moves the domain's sequences and sets up the reverse stream in the target database";
	if (strcmp(command, "rollback") == 0)
		return "rollback freezes the domain in the target database";
	return psprintf("%s writes in the target database", command);
}

/*
 * Whether conn's database takes no writes: a hot standby, or
 * default_transaction_read_only on (for the server, the database, the role
 * or in the connection's options).  When it takes none, *reason says why
 * (NULL for a standby) and *fix what to do.  A query that fails (a
 * connection gone meanwhile) counts as "takes writes": the caller's own
 * statement reports that.  Never exits.
 */
static bool
target_read_only(PGconn *conn, const char *what, char **reason, char **fix)
{
	PGresult   *res;
	const char *src;
	const char *db;
	const char *role;

	*reason = NULL;
	*fix = NULL;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK ||
		PQtransactionStatus(conn) != PQTRANS_IDLE)
		return false;
	res = PQexec(conn,
				 "SELECT pg_catalog.pg_is_in_recovery(),"
				 " pg_catalog.current_setting('default_transaction_read_only')::bool,"
				 " (SELECT source FROM pg_catalog.pg_settings WHERE name = 'default_transaction_read_only'),"
				 " pg_catalog.quote_ident(pg_catalog.current_database()),"
				 " pg_catalog.quote_ident(session_user)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		PQclear(res);
		return false;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
	{
		PQclear(res);
		return true;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
	{
		PQclear(res);
		return false;
	}
	src = PQgetvalue(res, 0, 2);
	db = PQgetvalue(res, 0, 3);
	role = PQgetvalue(res, 0, 4);
	if (strcmp(src, "database") == 0)
	{
		*reason = pg_strdup("default_transaction_read_only is on for the database (ALTER DATABASE)");
		*fix = psprintf("Run ALTER DATABASE %s RESET default_transaction_read_only in the %s database", db, what);
	}
	else if (strcmp(src, "user") == 0)
	{
		*reason = pg_strdup("default_transaction_read_only is on for the role (ALTER ROLE)");
		*fix = psprintf("Run ALTER ROLE %s RESET default_transaction_read_only in the %s database", role, what);
	}
	else if (strcmp(src, "database user") == 0)
	{
		*reason = pg_strdup("default_transaction_read_only is on for the role in this database (ALTER ROLE ... IN DATABASE)");
		*fix = psprintf("Run ALTER ROLE %s IN DATABASE %s RESET default_transaction_read_only in the %s database", role, db, what);
	}
	else if (strcmp(src, "configuration file") == 0)
	{
		*reason = pg_strdup("default_transaction_read_only is on for the server (configuration file)");
		*fix = psprintf("Turn default_transaction_read_only off in the %s server's configuration (ALTER SYSTEM RESET default_transaction_read_only, then reload)", what);
	}
	else if (strcmp(src, "client") == 0)
	{
		*reason = pg_strdup("default_transaction_read_only is on in the connection's options");
		*fix = psprintf("Remove -c default_transaction_read_only=on from the options of --%s or from PGOPTIONS", what);
	}
	else
	{
		*reason = psprintf("default_transaction_read_only is on (source: %s)", src);
		*fix = psprintf("Turn default_transaction_read_only off for the %s database", what);
	}
	PQclear(res);
	return true;
}

/*
 * Exit with code when a database the command writes in takes no writes (a
 * hot standby, or default_transaction_read_only on), before the command
 * has changed anything.  Without this check such a database failed at the
 * command's first write with exit 8 (init, verify, cutover) or 7 (stream),
 * the server's bare "cannot execute ... in a read-only transaction".  The
 * database the changes are applied to (the target; the monolith for stream
 * --reverse): EXIT_TARGET, not EXIT_PRIVILEGE, since no GRANT makes such a
 * database writable; it is its state.  The monolith of cutover, rollback
 * and finalize: EXIT_PREFLIGHT, the failed check before anything changes
 * of those commands ("preflight failed: ...").
 */
void
job_require_writable(PGconn *conn, const char *what, const char *conninfo,
					 const char *command, int code)
{
	char	   *reason;
	char	   *fix;
	char	   *desc;
	bool		source = code == EXIT_PREFLIGHT;

	if (!target_read_only(conn, what, &reason, &fix))
		return;
	desc = job_describe_conninfo(conninfo);
	if (reason == NULL)
	{
		pg_log_error("%sthe %s database (%s) is a hot standby", source ? "preflight failed: " : "", what, desc);
		pg_log_error_detail("%s; a standby server takes no writes.%s", target_writes(command, what),
							source ? " Nothing was changed." : "");
		pg_log_error_hint("Give --%s the primary server of the %s database.", what,
						  strcmp(what, "target") == 0 ? "service" : "monolith");
	}
	else
	{
		pg_log_error("%sthe %s database (%s) is read-only", source ? "preflight failed: " : "", what, desc);
		pg_log_error_detail("%s; %s.%s", reason, target_writes(command, what),
							source ? " Nothing was changed." : "");
		pg_log_error_hint("%s, or give --%s a database that takes writes.", fix, what);
	}
	PQfinish(conn);
	exit(code);
}

/*
 * Exit with EXIT_DOMAIN when the source is a hot standby: PostgreSQL 15
 * decodes only on a primary, and init, stream and verify decode (init and
 * verify create a slot, stream reads one).  Before this check, init failed
 * at the slot's creation with exit 8, and stream retried for ever ("could
 * not read the source's WAL position: recovery is in progress").  Exit 3,
 * with wal_level not logical: the source cannot feed the job as it is.
 * conn may be a replication connection (replication=database).
 */
void
job_require_primary(PGconn *conn, const char *conninfo, const char *command)
{
	PGresult   *res = PQexec(conn, "SELECT pg_catalog.pg_is_in_recovery()");
	bool		standby;
	char	   *desc;
	const char *why;

	standby = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!standby)
		return;
	if (strcmp(command, "init") == 0)
		why = "init creates the domain's replication slot on the source";
	else if (strcmp(command, "verify") == 0)
		why = "verify creates a temporary replication slot on the source";
	else
		why = "stream reads the domain's changes from its replication slot on the source";
	desc = job_describe_conninfo(conninfo);
	pg_log_error("the source database (%s) is a hot standby", desc);
	pg_log_error_detail("PostgreSQL 15 decodes changes only on a primary server; %s.", why);
	pg_log_error_hint("Give --source the primary server of the monolith database.");
	PQfinish(conn);
	exit(EXIT_DOMAIN);
}

/*
 * After a statement on the target failed (its error printed already): when
 * the target takes no writes (it turned read-only while the command ran),
 * say so as the error's detail and hint and return true; the caller ends
 * with EXIT_TARGET.  conn must be idle (an autocommit connection).
 */
bool
job_explain_read_only(PGconn *conn, const char *conninfo, const char *command)
{
	char	   *reason;
	char	   *fix;
	char	   *desc;

	if (!target_read_only(conn, "target", &reason, &fix))
		return false;
	desc = job_describe_conninfo(conninfo);
	if (reason == NULL)
	{
		pg_log_error_detail("The target database (%s) is a hot standby: %s; a standby server takes no writes.",
							desc, target_writes(command, "target"));
		pg_log_error_hint("Give --target the primary server of the service database, then run %s again.", command);
	}
	else
	{
		pg_log_error_detail("The target database (%s) is read-only: %s; %s.", desc, reason, target_writes(command, "target"));
		pg_log_error_hint("%s, then run %s again.", fix, command);
	}
	return true;
}

/*
 * Server and libpq error texts made fit for one line of a message or the
 * job's last_error: without the "ERROR:  " severity prefix, the trailing
 * newline and line breaks ("DETAIL:  ..." follows on the same line).  The
 * result lives in one of a few buffers of the calling thread, so that a
 * message may use two of them.
 */
static char *
next_error_buffer(void)
{
	/* per thread: copy workers report errors concurrently */
	static __thread char bufs[4][2048];
	static __thread int next;

	next = (next + 1) % 4;
	return bufs[next];
}

static const char *
clean_error_text(const char *raw, char *buf, size_t size)
{
	static const char *const prefixes[] = {"ERROR:  ", "FATAL:  ", "PANIC:  "};
	size_t		n = 0;
	int			i;

	if (raw == NULL)
		return "";
	for (i = 0; i < lengthof(prefixes); i++)
		if (strncmp(raw, prefixes[i], strlen(prefixes[i])) == 0)
			raw += strlen(prefixes[i]);
	for (; *raw && n < size - 1; raw++)
	{
		if (*raw == '\n')
		{
			/* line break and indentation: one space, unless at the end */
			while (raw[1] == '\n' || raw[1] == '\t' || raw[1] == ' ')
				raw++;
			if (raw[1] != '\0' && n > 0)
				buf[n++] = ' ';
			continue;
		}
		/* "DETAIL:  x" on a following line reads "DETAIL: x" */
		if (*raw == ' ' && n > 0 && buf[n - 1] == ':' && raw[1] == ' ')
			continue;
		buf[n++] = *raw;
	}
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\n'))
		n--;
	buf[n] = '\0';
	return buf;
}

/* the connection's last error (PQerrorMessage), cleaned */
const char *
job_error(const PGconn *conn)
{
	return clean_error_text(PQerrorMessage(conn), next_error_buffer(), 2048);
}

/* a failed result's error: primary message, then its detail if any */
const char *
job_result_error(const PGresult *res)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	char	   *buf = next_error_buffer();
	char	   *p;

	if (primary == NULL)
		return clean_error_text(PQresultErrorMessage(res), buf, 2048);
	if (detail)
		snprintf(buf, 2048, "%s DETAIL: %s", primary, detail);
	else
		snprintf(buf, 2048, "%s", primary);
	/* one line, also for a detail of several (a deadlock's, one per process) */
	for (p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return buf;
}

/*
 * Map a failed result to an exit code.
 */
int
job_exit_code_for(const PGresult *res, PGconn *conn)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn) == CONNECTION_BAD)
		return EXIT_CONNECTION;
	if (state == NULL)
		return EXIT_SERVER;
	if (strcmp(state, "42501") == 0)
		return EXIT_PRIVILEGE;
	if (strcmp(state, "55006") == 0)
		return EXIT_SLOT;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return EXIT_CONNECTION;
	return EXIT_SERVER;
}

/*
 * Run a query with text parameters; on error report and exit.
 */
PGresult *
job_query(PGconn *conn, const char *what, const char *sql,
		  int nparams, const char *const *params)
{
	PGresult   *res;
	ExecStatusType st;

	pg_log_debug("%s: %s", what, sql);
	if (nparams > 0)
		res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	else
		res = PQexec(conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
	{
		int			code = job_exit_code_for(res, conn);

		pg_log_error("query on the %s database failed: %s", what, job_error(conn));
		pg_log_error_detail("Query was: %s", sql);
		PQclear(res);
		PQfinish(conn);
		exit(code);
	}
	return res;
}

/*
 * PQexecParams that Ctrl-C (SIGINT, SIGTERM: job_interrupted) cancels: the
 * statement is sent, and while it runs the socket is watched in steps of
 * 100 ms; once job_interrupted is set, the server is asked to cancel it
 * (its result is then an error, SQLSTATE 57014).  For statements that may
 * wait long on a lock held by someone else (cutover's freeze waits up to
 * --timeout for the writers in flight, and queues every other writer of
 * the domain behind it meanwhile), so that an interrupt ends the wait at
 * once.  Returns the last result; never NULL.
 */
PGresult *
job_exec_interruptible(PGconn *conn, const char *sql, int nparams,
					   const char *const *params)
{
	PGresult   *res;
	PGresult   *last = NULL;
	bool		cancelled = false;

	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR);
	for (;;)
	{
		int			sock = PQsocket(conn);
		fd_set		fds;
		struct timeval tv;

		/* a lost connection ends the wait too: PQgetResult reports it */
		if (!PQconsumeInput(conn) || !PQisBusy(conn))
			break;
		if (job_interrupted && !cancelled)
		{
			PGcancel   *cancel = PQgetCancel(conn);
			char		errbuf[256];

			if (cancel == NULL || !PQcancel(cancel, errbuf, sizeof(errbuf)))
				pg_log_warning("could not cancel the statement: %s",
							   cancel ? errbuf : "out of memory");
			if (cancel)
				PQfreeCancel(cancel);
			cancelled = true;
		}
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		tv.tv_sec = 0;
		tv.tv_usec = 100 * 1000;
		/* EINTR (a signal) is fine: the loop looks at job_interrupted */
		(void) select(sock + 1, &fds, NULL, NULL, &tv);
	}
	while ((res = PQgetResult(conn)) != NULL)
	{
		PQclear(last);
		last = res;
	}
	return last ? last : PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR);
}

void
job_command(PGconn *conn, const char *what, const char *sql)
{
	PQclear(job_query(conn, what, sql, 0, NULL));
}

/* a single text value of a query (NULL when no row or SQL NULL) */
char *
job_query_value(PGconn *conn, const char *what, const char *sql,
				int nparams, const char *const *params)
{
	PGresult   *res = job_query(conn, what, sql, nparams, params);
	char	   *v = NULL;

	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		v = pg_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

void
job_set_search_path(PGconn *conn, const char *what, const char *path)
{
	PGresult   *res;
	const char *params[1] = {path};

	res = job_query(conn, what,
					"SELECT pg_catalog.set_config('search_path', $1, false)",
					1, params);
	PQclear(res);
}

char *
job_quote_ident(PGconn *conn, const char *ident)
{
	char	   *q = PQescapeIdentifier(conn, ident, strlen(ident));
	char	   *r;

	if (q == NULL)
		pg_fatal("could not quote identifier \"%s\": %s", ident, PQerrorMessage(conn));
	r = pg_strdup(q);
	PQfreemem(q);
	return r;
}

char *
job_quote_literal(PGconn *conn, const char *str)
{
	char	   *q = PQescapeLiteral(conn, str, strlen(str));
	char	   *r;

	if (q == NULL)
		pg_fatal("could not quote literal: %s", PQerrorMessage(conn));
	r = pg_strdup(q);
	PQfreemem(q);
	return r;
}

/* append "value" to an array literal, quoted */
void
job_append_array_elem(PQExpBuffer buf, const char *value)
{
	const char *c;

	appendPQExpBufferChar(buf, '"');
	for (c = value; *c; c++)
	{
		if (*c == '"' || *c == '\\')
			appendPQExpBufferChar(buf, '\\');
		appendPQExpBufferChar(buf, *c);
	}
	appendPQExpBufferChar(buf, '"');
}

/*
 * The default collation of conn's database (provider, locales) as one
 * string: where it differs between two databases, text of the default
 * collation sorts and compares differently in them although the collation
 * has the same name.  Read from the row as JSON: the columns depend on the
 * version.  With description, also as words (ICU locale "sv-SE", libc
 * locale "de_DE.utf8"); with create_clause, as the locale clause of CREATE
 * DATABASE that gives a database the same default.
 */
const char *
job_default_collation(PGconn *conn, const char *what, char **description,
					  char **create_clause)
{
	PGresult   *res;
	const char *key;

	res = job_query(conn, what,
					"SELECT pg_catalog.concat_ws('/', p, c, t, i),"
					" CASE WHEN p = 'i' THEN pg_catalog.format('ICU locale \"%s\"', i)"
					"  WHEN c = t THEN pg_catalog.format('libc locale \"%s\"', c)"
					"  ELSE pg_catalog.format('libc locales \"%s\" (LC_COLLATE) and \"%s\" (LC_CTYPE)',"
					"   c, t) END,"
					" CASE WHEN p = 'i' THEN pg_catalog.format('LOCALE_PROVIDER icu ICU_LOCALE %L', i)"
					"  WHEN c = t THEN pg_catalog.format('LOCALE %L', c)"
					"  ELSE pg_catalog.format('LC_COLLATE %L LC_CTYPE %L', c, t) END"
					" FROM (SELECT pg_catalog.json_extract_path_text(j, 'datlocprovider') AS p,"
					"  pg_catalog.json_extract_path_text(j, 'datcollate') AS c,"
					"  pg_catalog.json_extract_path_text(j, 'datctype') AS t,"
					"  pg_catalog.json_extract_path_text(j, 'daticulocale') AS i"
					"  FROM (SELECT pg_catalog.row_to_json(d) AS j FROM pg_catalog.pg_database d"
					"   WHERE d.datname = pg_catalog.current_database()) x) y",
					0, NULL);
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		if (description)
			*description = pg_strdup("?");
		if (create_clause)
			*create_clause = pg_strdup("?");
		return "";
	}
	key = pg_strdup(PQgetvalue(res, 0, 0));
	if (description)
		*description = pg_strdup(PQgetvalue(res, 0, 1));
	if (create_clause)
		*create_clause = pg_strdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	return key;
}
