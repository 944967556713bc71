/*-------------------------------------------------------------------------
 *
 * main.c
 *		Command line of the migration-split replication job.
 *
 *	migration-split init   --source S --target T --domain D [options]
 *	migration-split stream --source S --target T --domain D [options]
 *	migration-split status --source S --target T --domain D [--json]
 *	migration-split report --source S [--domain D] --html FILE [--markdown FILE]
 *	migration-split cutover --source S --target T --domain D [options]
 *	migration-split rollback --source S --target T --domain D [options]
 *	migration-split finalize --source S --target T --domain D [--drop-archive]
 *	migration-split verify --source S --target T --domain D [options]
 *
 * Subcommands in the style of git and pgcopydb; every subcommand has its own
 * --help.  The exit codes are in exit_codes.h and in the README.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <limits.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "common/logging.h"
#include "getopt_long.h"

#include "job.h"

volatile sig_atomic_t job_interrupted = 0;

static const char *progname;

static void
help_common_options(void)
{
	printf(_("\nConnection and naming options:\n"));
	printf(_("  -s, --source=CONNINFO      the monolith database (conninfo string or URI)\n"));
	printf(_("  -t, --target=CONNINFO      the service database (conninfo string or URI)\n"));
	printf(_("  -d, --domain=NAME          the domain to extract (migration_split.domains)\n"));
	printf(_("      --target-schema=NAME   schema of the tables on the target\n"
			 "                             (default: the domain name)\n"));
	printf(_("      --slot=NAME            logical replication slot on the source\n"
			 "                             (default: migration_split_DOMAIN)\n"));
	printf(_("  -v, --verbose              more messages (repeat for even more)\n"));
	printf(_("  -?, --help                 show this help, then exit\n"));
	printf(_("\nCONNINFO is a libpq connection string (\"host=db1 dbname=shop\") or URI\n"
			 "(\"postgresql://db1/shop\").  Missing parameters come from the PG* environment\n"
			 "variables; passwords from PGPASSWORD or the password file (~/.pgpass).\n"
			 "Passwords are never printed.\n"));
}

static void
help_exit_codes(void)
{
	printf(_("\nExit status:\n"
			 "  0 success (stream --until-caught-up: caught up)   1 bad command line\n"
			 "  2 a server could not be reached                   3 domain problem\n"
			 "  4 target not in the expected state                5 replication slot problem\n"
			 "  6 missing privilege                               7 a change could not be applied\n"
			 "  8 unexpected server or protocol error             9 interrupted (rerun resumes)\n"
			 " 10 verify: differences found                      11 verify: the stream or the\n"
			 "                                                      slot not ready in --timeout\n"
			 " 12 cutover, rollback, finalize: a preflight       13 cutover, rollback: --timeout\n"
			 "    check failed; init: domain cut over or busy         passed\n"));
}

static void
usage(void)
{
	printf(_("%s copies the tables of one domain of a monolith database into a service\n"
			 "database and keeps them up to date with logical decoding.\n\n"), progname);
	printf(_("Usage:\n"));
	printf(_("  %s COMMAND [OPTION]...\n\n"), progname);
	printf(_("Commands:\n"));
	printf(_("  init     create the slot, the target tables, and copy the data\n"));
	printf(_("  stream   apply the changes made since init, exactly once\n"));
	printf(_("  status   show lag, counters, slot state and the last error\n"));
	printf(_("  report   write the boundary report as HTML or Markdown\n"));
	printf(_("  cutover  freeze the domain in the monolith and hand it over to the service\n"));
	printf(_("  rollback bring the service's writes back and return the domain to the monolith\n"));
	printf(_("  finalize end an extraction: drop the slots, mark the domain final\n"));
	printf(_("  verify   compare the target with the source at one source position\n"));
	printf(_("\nRun \"%s COMMAND --help\" for the options of a command.\n"), progname);
	printf(_("\nExamples:\n"));
	printf(_("  %s init   -s \"host=monolith dbname=shop\" -t postgresql://orders-db/orders -d orders -j 8\n"), progname);
	printf(_("  %s stream -s \"host=monolith dbname=shop\" -t postgresql://orders-db/orders -d orders\n"), progname);
	printf(_("  %s status -s \"host=monolith dbname=shop\" -t postgresql://orders-db/orders -d orders --json\n"), progname);
	printf(_("  %s report -s \"host=monolith dbname=shop\" --html report.html\n"), progname);
	printf(_("  %s verify -s \"host=monolith dbname=shop\" -t postgresql://orders-db/orders -d orders -j 4\n"), progname);
	help_exit_codes();
}

static void
usage_init(void)
{
	printf(_("%s init creates a logical replication slot on the source with the\n"
			 "migration_split output plugin, creates the domain's tables in the target\n"
			 "schema (types, sequences, defaults, NOT NULL, checks, keys, indexes, then\n"
			 "foreign keys between the domain's own tables), and copies every row as of\n"
			 "the slot's snapshot with COPY over --jobs parallel connections.  Foreign keys\n"
			 "to tables of other domains are not created; they are listed as \"to be\n"
			 "replaced\".  An interrupted init resumes where it stopped when run again:\n"
			 "copied tables are kept, a partially copied table is copied again.\n\n"
			 "Creating the slot waits until every transaction running on the source has\n"
			 "ended.  init waits as long as it takes (it has no --timeout), naming those\n"
			 "transactions (pid, user, application, age, xid) after 2 s and every 60 s;\n"
			 "Ctrl-C cancels the creation and leaves no slot behind.\n\n"),
		   progname);
	printf(_("Usage:\n  %s init --source=CONNINFO --target=CONNINFO --domain=NAME [OPTION]...\n"),
		   progname);
	help_common_options();
	printf(_("\nOptions for init:\n"));
	printf(_("  -j, --jobs=N               copy N tables at a time (default: 4)\n"));
	printf(_("      --progress             progress bar even when not on a terminal\n"));
	printf(_("      --no-progress          no progress output, only the summary\n"));
	printf(_("      --drop                 start over: drop the slot, the target schema and\n"
			 "                             the job's state recorded for this domain on the\n"
			 "                             target, then init (a slot or schema the target's\n"
			 "                             job does not record is never dropped)\n"));
	help_exit_codes();
}

static void
usage_stream(void)
{
	printf(_("%s stream applies the domain's changes from the slot to the target in\n"
			 "source commit order.  The position of the last applied source commit is\n"
			 "stored in the target in the same transaction as the changes, so a crash at\n"
			 "any moment resumes without losing or repeating a change.  Flushed positions\n"
			 "are confirmed to the source, which then releases WAL.  When either server\n"
			 "restarts, the job reconnects with backoff.  A change that cannot be applied\n"
			 "stops the job with a message naming the table and the LSN.\n\n"), progname);
	printf(_("Usage:\n  %s stream --source=CONNINFO --target=CONNINFO --domain=NAME [OPTION]...\n"),
		   progname);
	help_common_options();
	printf(_("\nOptions for stream:\n"));
	printf(_("      --reverse              after a cutover: apply the service's changes to\n"
			 "                             the monolith's frozen tables (same --source and\n"
			 "                             --target as cutover; the forward stream must be\n"
			 "                             stopped); shortens a later rollback\n"));
	printf(_("      --until-caught-up      exit 0 once every change committed on the source\n"
			 "                             before the command started is applied\n"));
	printf(_("      --batch-changes=N      at most N changes per target transaction\n"
			 "                             (default: 10000)\n"));
	printf(_("      --batch-time=MS        commit on the target at least every MS\n"
			 "                             milliseconds (default: 100)\n"));
	printf(_("      --apply-jobs=N         apply independent transactions over N target\n"
			 "                             connections (default: %d)\n"), DEFAULT_APPLY_JOBS);
	printf(_("      --status-interval=SEC  print a status line every SEC seconds, 0 = never\n"
			 "                             (default: 10)\n"));
	printf(_("      --max-retries=N        give up after N failed reconnections in a row,\n"
			 "                             0 = never (default: 0)\n"));
	printf(_("      --spool-streamed       apply a large transaction the source streams\n"
			 "                             only at its commit, not while it runs\n"));
	help_exit_codes();
}

static void
usage_status(void)
{
	printf(_("%s status shows the state of the job: phase, lag in bytes and seconds,\n"
			 "rows and transactions applied, the slot's state and retained WAL, and the\n"
			 "last error.  The source is optional: without it only the target's view is\n"
			 "shown.  With it, after a cutover, the phase is \"cut over\" (the forward\n"
			 "stream must not run: no forward lag) and the reverse stream (service to\n"
			 "monolith) is shown too.\n\n"), progname);
	printf(_("Usage:\n  %s status --target=CONNINFO --domain=NAME [--source=CONNINFO] [OPTION]...\n"),
		   progname);
	help_common_options();
	printf(_("\nOptions for status:\n"));
	printf(_("      --json                 one JSON object instead of text\n"));
	help_exit_codes();
}

static void
usage_report(void)
{
	printf(_("%s report writes the boundary report of the source database as one\n"
			 "self-contained HTML page (inline CSS and SVG, no script, no network) and/or\n"
			 "as Markdown: the domain graph, one section per domain (size, crossings out\n"
			 "and in by kind, runtime crossings, lifecycle, readiness, extraction plan,\n"
			 "its own graph), and the top runtime crossings.  It only reads, with the\n"
			 "extension's PUBLIC privileges; no target is involved.\n\n"), progname);
	printf(_("Usage:\n  %s report --source=CONNINFO [--domain=NAME] --html=FILE [--markdown=FILE]\n"),
		   progname);
	printf(_("\nOptions for report:\n"));
	printf(_("  -s, --source=CONNINFO      the monolith database (conninfo string or URI)\n"));
	printf(_("  -d, --domain=NAME          only this domain (with its neighbours in the graph)\n"));
	printf(_("      --html=FILE            write the HTML report to FILE (\"-\": standard output)\n"));
	printf(_("      --markdown=FILE        write the Markdown report to FILE (\"-\": standard output)\n"));
	printf(_("  -v, --verbose              more messages (repeat for even more)\n"));
	printf(_("  -?, --help                 show this help, then exit\n"));
	help_exit_codes();
}

static void
usage_cutover(void)
{
	printf(_("%s cutover hands the domain over to the service: after a preflight\n"
			 "(stream running or able to catch up, lag below --max-lag, a recent verify\n"
			 "that found both sides equal, sequences movable), it freezes the domain in\n"
			 "the monolith (every write to its tables fails with SQLSTATE MS002, reads go\n"
			 "on), waits until the service has applied every change up to the freeze,\n"
			 "moves the service's sequences past the monolith's by a safety gap, sets up\n"
			 "the reverse stream (service to monolith, for \"rollback\"), and marks the\n"
			 "domain extracted.  If the service does not catch up within --timeout,\n"
			 "the domain is unfrozen and nothing else is changed.\n\n"), progname);
	printf(_("Usage:\n  %s cutover --source=CONNINFO --target=CONNINFO --domain=NAME [OPTION]...\n"),
		   progname);
	help_common_options();
	printf(_("\nOptions for cutover:\n"));
	printf(_("      --timeout=SEC          longest wait for writers in flight and for the\n"
			 "                             catch-up (default: 30)\n"));
	printf(_("      --dry-run              print every step and change nothing\n"));
	printf(_("      --read-path            replace the monolith's tables by postgres_fdw\n"
			 "                             foreign tables reading the service\n"));
	printf(_("      --read-path-server=NAME  postgres_fdw server for the read path (default:\n"
			 "                             migration_split_DOMAIN, created from --target)\n"));
	printf(_("      --max-lag=BYTES        refuse to start when the stream is further behind\n"
			 "                             (default: 16777216)\n"));
	printf(_("      --verify-max-age=SEC   the last equal verify may be this old (default: 3600)\n"));
	printf(_("      --skip-verify-check    cut over without a recorded verification\n"));
	printf(_("      --sequence-gap=N       move sequences N increments past the source's\n"
			 "                             values (default: 1000)\n"));
	printf(_("      --no-reverse           no reverse stream: the service's writes cannot be\n"
			 "                             brought back by \"rollback\"\n"));
	help_exit_codes();
}

static void
usage_rollback(void)
{
	printf(_("%s rollback undoes a cutover without losing a write of the service: it\n"
			 "freezes the domain in the service (writes fail with SQLSTATE MS002), applies\n"
			 "the reverse stream (the service's changes since the cutover) to the\n"
			 "monolith's frozen tables up to that freeze, moves the monolith's sequences\n"
			 "past the service's, moves the forward slot past the reverse stream's writes,\n"
			 "removes the read path, unfreezes the domain in the monolith and returns it to\n"
			 "state \"streaming\" without a new copy.  The service stays frozen for the\n"
			 "domain until the next cutover.  A rollback that stopped is resumed by running\n"
			 "it again.  If the reverse stream does not catch up within --timeout, the\n"
			 "service is unfrozen and nothing else is changed.\n\n"), progname);
	printf(_("Usage:\n  %s rollback --source=CONNINFO --target=CONNINFO --domain=NAME [OPTION]...\n"),
		   progname);
	help_common_options();
	printf(_("\nOptions for rollback:\n"));
	printf(_("      --timeout=SEC          longest wait for writers in flight and for the\n"
			 "                             reverse stream's catch-up (default: 30)\n"));
	printf(_("      --dry-run              print every step and change nothing\n"));
	printf(_("      --sequence-gap=N       move the monolith's sequences N increments past\n"
			 "                             the service's values (default: 1000)\n"));
	help_exit_codes();
}

static void
usage_finalize(void)
{
	printf(_("%s finalize ends the extraction of a domain that was cut over: it drops\n"
			 "the replication slots of the forward and reverse streams (which must be\n"
			 "stopped) and the reverse stream's state in the monolith, with\n"
			 "--drop-archive the monolith's archived tables of the read path, and marks\n"
			 "the domain final.\n\n"), progname);
	printf(_("Usage:\n  %s finalize --source=CONNINFO --target=CONNINFO --domain=NAME [--drop-archive]\n"),
		   progname);
	help_common_options();
	printf(_("\nOptions for finalize:\n"));
	printf(_("      --drop-archive         drop the tables archived by the read path\n"));
	help_exit_codes();
}

static void
usage_verify(void)
{
	printf(_("%s verify compares every table of the domain on the target with the source\n"
			 "as of one source position, while both take writes and \"stream\" runs: it\n"
			 "exports a snapshot on the source at a known position, asks the running\n"
			 "stream to hold there for the moment it takes to open a snapshot on the\n"
			 "target, then hashes the rows of both sides in key ranges (chunks) with\n"
			 "--jobs connections per side.  Only the keys and row hashes of differing\n"
			 "chunks, and then the differing rows, travel to the client.  Columns, types,\n"
			 "NOT NULL, keys and indexes are compared too.  The result of a verification\n"
			 "of the whole domain is recorded on the target and shown by \"status\".\n\n"),
		   progname);
	printf(_("Usage:\n  %s verify --source=CONNINFO --target=CONNINFO --domain=NAME [OPTION]...\n"),
		   progname);
	help_common_options();
	printf(_("\nOptions for verify:\n"));
	printf(_("  -j, --jobs=N               N connections per side (default: 4)\n"));
	printf(_("      --table=NAME           verify only this table (NAME or SCHEMA.NAME)\n"));
	printf(_("      --max-diffs=N          show at most N differing rows per table\n"
			 "                             (default: 10; all are counted)\n"));
	printf(_("      --chunk-rows=N         rows per hashed key range (default: 1000)\n"));
	printf(_("      --timeout=SEC          wait at most SEC seconds for the stream to pause,\n"
			 "                             for the temporary slot (which waits for the\n"
			 "                             source's running transactions), and for the\n"
			 "                             stream to reach the verification point, each\n"
			 "                             (default: 60)\n"));
	printf(_("      --json                 one JSON object instead of text\n"));
	printf(_("      --progress             progress bar even when not on a terminal\n"));
	printf(_("      --no-progress          no progress output\n"));
	help_exit_codes();
}

/*
 * SIGINT, SIGTERM, and SIGALRM of a deadline (job_deadline_arm): the
 * program stops at the next point that checks job_interrupted.
 */
static void
handle_signal(int signo)
{
	job_interrupted = 1;
}

void
job_install_signal_handlers(void)
{
	pqsignal(SIGINT, handle_signal);
	pqsignal(SIGTERM, handle_signal);
	pqsignal(SIGPIPE, SIG_IGN);
}

/* seconds on the monotonic clock: for durations and deadlines */
double
job_now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Interrupt the program (job_interrupted) in seconds, rounded up, at
 * least one: bounds a run of a subcommand that stops on an interrupt, such
 * as the stream that cutover and rollback run to catch up.
 */
void
job_deadline_arm(double seconds)
{
	pqsignal(SIGALRM, handle_signal);
	alarm((unsigned int) Max(seconds + 0.999, 1.0));
}

/* cancel job_deadline_arm */
void
job_deadline_disarm(void)
{
	alarm(0);
}

enum
{
	OPT_TARGET_SCHEMA = 256,
	OPT_SLOT,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_DROP,
	OPT_UNTIL_CAUGHT_UP,
	OPT_BATCH_CHANGES,
	OPT_BATCH_TIME,
	OPT_STATUS_INTERVAL,
	OPT_MAX_RETRIES,
	OPT_SPOOL_STREAMED,
	OPT_JSON,
	OPT_HTML,
	OPT_MARKDOWN,
	OPT_TIMEOUT,
	OPT_DRY_RUN,
	OPT_READ_PATH,
	OPT_READ_PATH_SERVER,
	OPT_SKIP_VERIFY_CHECK,
	OPT_VERIFY_MAX_AGE,
	OPT_MAX_LAG,
	OPT_SEQUENCE_GAP,
	OPT_DROP_ARCHIVE,
	OPT_TABLE,
	OPT_MAX_DIFFS,
	OPT_CHUNK_ROWS,
	OPT_NO_REVERSE,
	OPT_REVERSE,
	OPT_APPLY_JOBS
};

/*
 * The subcommands that take an option beyond the common ones.  An option
 * given to another subcommand is refused (exit 1), whatever its value: it
 * would be ignored, and the user would believe it acted.  Checked by what
 * was given, not by a value that differs from the default, so that
 * "init --batch-changes 10000" is refused like "init --batch-changes 5".
 */
static const struct
{
	int			code;
	const char *name;
	const char *commands;		/* space-separated */
}			option_scope[] = {
	{'t', "--target", "init stream status cutover rollback finalize verify"},
	{OPT_TARGET_SCHEMA, "--target-schema", "init stream status cutover rollback finalize verify"},
	{OPT_SLOT, "--slot", "init stream status cutover rollback finalize verify"},
	{'j', "--jobs", "init verify"},
	{OPT_PROGRESS, "--progress", "init verify"},
	{OPT_NO_PROGRESS, "--no-progress", "init verify"},
	{OPT_DROP, "--drop", "init"},
	{OPT_UNTIL_CAUGHT_UP, "--until-caught-up", "stream"},
	{OPT_BATCH_CHANGES, "--batch-changes", "stream"},
	{OPT_BATCH_TIME, "--batch-time", "stream"},
	{OPT_APPLY_JOBS, "--apply-jobs", "stream"},
	{OPT_STATUS_INTERVAL, "--status-interval", "stream"},
	{OPT_MAX_RETRIES, "--max-retries", "stream"},
	{OPT_SPOOL_STREAMED, "--spool-streamed", "stream"},
	{OPT_REVERSE, "--reverse", "stream"},
	{OPT_JSON, "--json", "status verify"},
	{OPT_HTML, "--html", "report"},
	{OPT_MARKDOWN, "--markdown", "report"},
	{OPT_TIMEOUT, "--timeout", "verify cutover rollback"},
	{OPT_DRY_RUN, "--dry-run", "cutover rollback"},
	{OPT_SEQUENCE_GAP, "--sequence-gap", "cutover rollback"},
	{OPT_READ_PATH, "--read-path", "cutover"},
	{OPT_READ_PATH_SERVER, "--read-path-server", "cutover"},
	{OPT_SKIP_VERIFY_CHECK, "--skip-verify-check", "cutover"},
	{OPT_VERIFY_MAX_AGE, "--verify-max-age", "cutover"},
	{OPT_MAX_LAG, "--max-lag", "cutover"},
	{OPT_NO_REVERSE, "--no-reverse", "cutover"},
	{OPT_DROP_ARCHIVE, "--drop-archive", "finalize"},
	{OPT_TABLE, "--table", "verify"},
	{OPT_MAX_DIFFS, "--max-diffs", "verify"},
	{OPT_CHUNK_ROWS, "--chunk-rows", "verify"},
};

#define OPT_CODES (OPT_APPLY_JOBS + 1)

/* whether a space-separated list of words holds word */
static bool
word_in(const char *list, const char *word)
{
	size_t		len = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL)
	{
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
		p += len;
	}
	return false;
}

/*
 * Refuse an option the command does not take, naming the commands that do
 * ("init and verify", "verify, cutover and rollback").
 */
static void
check_option_scope(const char *command, const bool *given)
{
	int			i;

	for (i = 0; i < lengthof(option_scope); i++)
	{
		PQExpBufferData names;
		const char *w;
		int			n = 0;
		int			k = 0;

		if (!given[option_scope[i].code] || word_in(option_scope[i].commands, command))
			continue;
		for (w = option_scope[i].commands; *w; w++)
			if (*w == ' ')
				n++;
		initPQExpBuffer(&names);
		for (w = option_scope[i].commands; *w; w++)
		{
			if (*w != ' ')
			{
				appendPQExpBufferChar(&names, *w);
				continue;
			}
			k++;
			appendPQExpBufferStr(&names, k == n ? " and " : ", ");
		}
		if (n >= 5)
			pg_log_error("option %s is not valid for %s", option_scope[i].name, command);
		else
			pg_log_error("option %s is only valid for %s", option_scope[i].name, names.data);
		pg_log_error_hint("Try \"%s %s --help\" for the options of %s.", progname, command, command);
		exit(EXIT_USAGE);
	}
}

static int
parse_int_option(const char *arg, const char *name, int min, int max)
{
	char	   *end;
	long		val;

	errno = 0;
	val = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || val < min || val > max)
	{
		pg_log_error("invalid value \"%s\" for option %s", arg, name);
		pg_log_error_detail("The value must be an integer between %d and %d.", min, max);
		exit(EXIT_USAGE);
	}
	return (int) val;
}

/*
 * --target-schema: a name the target can create and keep as given, so that
 * a mistake is a usage error (exit 1) and not a server error after the
 * checks (exit 8): not empty, at most 63 bytes (the server would cut a
 * longer name), without the prefix "pg_" that the server reserves, and not
 * a schema every database has for another purpose (create_domain()
 * refuses the same names as domain names, the default target schema).
 */
static void
check_target_schema_name(const char *name)
{
	if (name[0] == '\0' || strlen(name) > 63)
	{
		pg_log_error("invalid target schema name \"%s\"", name);
		pg_log_error_detail("Schema names are 1 to 63 bytes long.");
		exit(EXIT_USAGE);
	}
	if (strncmp(name, "pg_", 3) == 0)
	{
		pg_log_error("invalid target schema name \"%s\"", name);
		pg_log_error_detail("The prefix \"pg_\" is reserved for system schemas.");
		exit(EXIT_USAGE);
	}
	if (strcmp(name, "public") == 0 || strcmp(name, "information_schema") == 0 ||
		strcmp(name, "migration_split") == 0)
	{
		pg_log_error("invalid target schema name \"%s\"", name);
		pg_log_error_detail("Schema \"%s\" has another purpose in every database (or holds the extension cutover installs there): init would put the service's tables into it, and init --drop would drop it with all it holds.",
							name);
		pg_log_error_hint("Give the service's tables a schema of their own with --target-schema.");
		exit(EXIT_USAGE);
	}
	if (strcmp(name, MS_STATE_SCHEMA) == 0)
	{
		/* before: refused by init only, after connecting; ignored by the rest */
		pg_log_error("invalid target schema name \"%s\"", name);
		pg_log_error_detail("Schema \"%s\" holds the state of the jobs feeding the target database.", name);
		pg_log_error_hint("Give the service's tables a schema of their own with --target-schema.");
		exit(EXIT_USAGE);
	}
}

/*
 * A connection string that libpq cannot parse is a mistake on the command
 * line (exit 1), not a server that cannot be reached (exit 2): retrying
 * will not fix it.  libpq's message may quote a URI, password included:
 * it is cut before the quote.
 */
static void
check_conninfo(const char *conninfo, const char *option)
{
	PQconninfoOption *parsed;
	char	   *err = NULL;
	char	   *quoted;

	if (conninfo == NULL)
		return;
	parsed = PQconninfoParse(conninfo, &err);
	if (parsed != NULL)
	{
		PQconninfoFree(parsed);
		return;
	}
	if (err == NULL)
		pg_fatal("out of memory");
	quoted = strstr(err, conninfo);
	if (quoted != NULL)
	{
		*quoted = '\0';
		while (quoted > err && strchr(": \"", quoted[-1]) != NULL)
			*--quoted = '\0';
	}
	pg_log_error("invalid connection string for %s: %s", option, err);
	pg_log_error_hint("Pass a libpq connection string (\"host=db1 dbname=shop\") or URI (\"postgresql://db1/shop\").");
	PQfreemem(err);
	exit(EXIT_USAGE);
}

/*
 * A slot name of a domain: prefix and the domain when that fits in
 * NAMEDATALEN - 1 (63) bytes.  A longer domain name (up to 63) is cut to
 * fit and followed by a hash of the whole name, so that two long names
 * with the same beginning get different slots: "<prefix><first characters>_<8
 * hex digits>".  Domain names are lower-case identifiers, so the result is
 * a valid slot name.  The forward stream's default slot is
 * "migration_split_<domain>" (38 characters of a long name), the reverse
 * stream's "migration_split_reverse_<domain>" (rollback.c, 30).
 */
char *
job_slot_name(const char *prefix, const char *domain)
{
	uint32		hash = 2166136261u;	/* FNV-1a */
	const unsigned char *p;
	int			keep = 63 - (int) strlen(prefix) - 9;	/* "_" and 8 hex digits */

	if (strlen(prefix) + strlen(domain) <= 63)
		return psprintf("%s%s", prefix, domain);
	for (p = (const unsigned char *) domain; *p; p++)
	{
		hash ^= *p;
		hash *= 16777619u;
	}
	return psprintf("%s%.*s_%08x", prefix, keep, domain, hash);
}

int
main(int argc, char **argv)
{
	static struct option long_options[] = {
		{"source", required_argument, NULL, 's'},
		{"target", required_argument, NULL, 't'},
		{"domain", required_argument, NULL, 'd'},
		{"target-schema", required_argument, NULL, OPT_TARGET_SCHEMA},
		{"slot", required_argument, NULL, OPT_SLOT},
		{"jobs", required_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"drop", no_argument, NULL, OPT_DROP},
		{"until-caught-up", no_argument, NULL, OPT_UNTIL_CAUGHT_UP},
		{"batch-changes", required_argument, NULL, OPT_BATCH_CHANGES},
		{"batch-time", required_argument, NULL, OPT_BATCH_TIME},
		{"apply-jobs", required_argument, NULL, OPT_APPLY_JOBS},
		{"status-interval", required_argument, NULL, OPT_STATUS_INTERVAL},
		{"max-retries", required_argument, NULL, OPT_MAX_RETRIES},
		{"spool-streamed", no_argument, NULL, OPT_SPOOL_STREAMED},
		{"json", no_argument, NULL, OPT_JSON},
		{"html", required_argument, NULL, OPT_HTML},
		{"markdown", required_argument, NULL, OPT_MARKDOWN},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"read-path", no_argument, NULL, OPT_READ_PATH},
		{"read-path-server", required_argument, NULL, OPT_READ_PATH_SERVER},
		{"skip-verify-check", no_argument, NULL, OPT_SKIP_VERIFY_CHECK},
		{"verify-max-age", required_argument, NULL, OPT_VERIFY_MAX_AGE},
		{"max-lag", required_argument, NULL, OPT_MAX_LAG},
		{"sequence-gap", required_argument, NULL, OPT_SEQUENCE_GAP},
		{"drop-archive", no_argument, NULL, OPT_DROP_ARCHIVE},
		{"table", required_argument, NULL, OPT_TABLE},
		{"max-diffs", required_argument, NULL, OPT_MAX_DIFFS},
		{"chunk-rows", required_argument, NULL, OPT_CHUNK_ROWS},
		{"no-reverse", no_argument, NULL, OPT_NO_REVERSE},
		{"reverse", no_argument, NULL, OPT_REVERSE},
		{NULL, 0, NULL, 0}
	};
	JobOptions	opts;
	bool		given[OPT_CODES] = {0};
	const char *command;
	void		(*command_usage) (void);
	int			c;
	int			optindex;

	pg_logging_init(argv[0]);
	progname = get_progname(argv[0]);
	job_connect_setup();

	if (argc < 2)
	{
		pg_log_error("no command given");
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(EXIT_USAGE);
	}
	command = argv[1];
	if (strcmp(command, "--help") == 0 || strcmp(command, "-?") == 0 ||
		strcmp(command, "help") == 0)
	{
		usage();
		exit(EXIT_OK);
	}
	if (strcmp(command, "--version") == 0 || strcmp(command, "-V") == 0)
	{
		puts("migration-split (migration_split) " MS_VERSION);
		exit(EXIT_OK);
	}
	if (strcmp(command, "init") == 0)
		command_usage = usage_init;
	else if (strcmp(command, "stream") == 0)
		command_usage = usage_stream;
	else if (strcmp(command, "status") == 0)
		command_usage = usage_status;
	else if (strcmp(command, "report") == 0)
		command_usage = usage_report;
	else if (strcmp(command, "cutover") == 0)
		command_usage = usage_cutover;
	else if (strcmp(command, "finalize") == 0)
		command_usage = usage_finalize;
	else if (strcmp(command, "rollback") == 0)
		command_usage = usage_rollback;
	else if (strcmp(command, "verify") == 0)
		command_usage = usage_verify;
	else
	{
		pg_log_error("unknown command \"%s\"", command);
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(EXIT_USAGE);
	}

	memset(&opts, 0, sizeof(opts));
	opts.jobs = 4;
	opts.progress = -1;
	opts.batch_changes = 10000;
	opts.batch_ms = 100;
	opts.apply_jobs = DEFAULT_APPLY_JOBS;
	opts.status_interval = 10;
	opts.timeout = -1;		/* cutover: 30, verify: 60 */
	opts.verify_max_age = 3600;
	opts.max_lag = 16 * 1024 * 1024;
	opts.sequence_gap = 1000;
	opts.max_diffs = -1;
	opts.chunk_rows = -1;

	/* parse the options after the command; getopt names it in errors */
	argc--;
	argv++;
	argv[0] = psprintf("%s %s", progname, command);
	for (c = 1; c < argc; c++)
	{
		if (strcmp(argv[c], "--help") == 0 || strcmp(argv[c], "-?") == 0)
		{
			command_usage();
			exit(EXIT_OK);
		}
	}
	while ((c = getopt_long(argc, argv, "s:t:d:j:v", long_options, &optindex)) != -1)
	{
		if (c >= 0 && c < OPT_CODES)
			given[c] = true;
		switch (c)
		{
			case 's':
				opts.source = pg_strdup(optarg);
				break;
			case 't':
				opts.target = pg_strdup(optarg);
				break;
			case 'd':
				opts.domain = pg_strdup(optarg);
				break;
			case OPT_TARGET_SCHEMA:
				opts.target_schema = pg_strdup(optarg);
				opts.target_schema_given = true;
				break;
			case OPT_SLOT:
				opts.slot = pg_strdup(optarg);
				opts.slot_given = true;
				break;
			case 'j':
				opts.jobs = parse_int_option(optarg, "-j/--jobs", 1, 64);
				break;
			case 'v':
				pg_logging_increase_verbosity();
				break;
			case OPT_PROGRESS:
				opts.progress = 1;
				break;
			case OPT_NO_PROGRESS:
				opts.progress = 0;
				break;
			case OPT_DROP:
				opts.drop = true;
				break;
			case OPT_UNTIL_CAUGHT_UP:
				opts.until_caught_up = true;
				break;
			case OPT_BATCH_CHANGES:
				opts.batch_changes = parse_int_option(optarg, "--batch-changes", 1, 10000000);
				break;
			case OPT_BATCH_TIME:
				opts.batch_ms = parse_int_option(optarg, "--batch-time", 1, 3600000);
				break;
			case OPT_APPLY_JOBS:
				opts.apply_jobs = parse_int_option(optarg, "--apply-jobs", 1, 64);
				break;
			case OPT_STATUS_INTERVAL:
				opts.status_interval = parse_int_option(optarg, "--status-interval", 0, 86400);
				break;
			case OPT_MAX_RETRIES:
				opts.max_retries = parse_int_option(optarg, "--max-retries", 0, 1000000);
				break;
			case OPT_SPOOL_STREAMED:
				opts.spool_streamed = true;
				break;
			case OPT_JSON:
				opts.json = true;
				break;
			case OPT_HTML:
				opts.html_file = pg_strdup(optarg);
				break;
			case OPT_MARKDOWN:
				opts.markdown_file = pg_strdup(optarg);
				break;
			case OPT_TIMEOUT:
				opts.timeout = parse_int_option(optarg, "--timeout", 1, 86400);
				break;
			case OPT_DRY_RUN:
				opts.dry_run = true;
				break;
			case OPT_READ_PATH:
				opts.read_path = true;
				break;
			case OPT_READ_PATH_SERVER:
				opts.read_path_server = pg_strdup(optarg);
				opts.read_path = true;
				break;
			case OPT_SKIP_VERIFY_CHECK:
				opts.skip_verify_check = true;
				break;
			case OPT_VERIFY_MAX_AGE:
				opts.verify_max_age = parse_int_option(optarg, "--verify-max-age", 1, 31536000);
				break;
			case OPT_MAX_LAG:
				opts.max_lag = parse_int_option(optarg, "--max-lag", 0, INT_MAX);
				break;
			case OPT_SEQUENCE_GAP:
				opts.sequence_gap = parse_int_option(optarg, "--sequence-gap", 0, 1000000000);
				break;
			case OPT_DROP_ARCHIVE:
				opts.drop_archive = true;
				break;
			case OPT_NO_REVERSE:
				opts.no_reverse = true;
				break;
			case OPT_REVERSE:
				opts.reverse = true;
				break;
			case OPT_TABLE:
				opts.table = pg_strdup(optarg);
				break;
			case OPT_MAX_DIFFS:
				opts.max_diffs = parse_int_option(optarg, "--max-diffs", 0, 1000000);
				break;
			case OPT_CHUNK_ROWS:
				opts.chunk_rows = parse_int_option(optarg, "--chunk-rows", 1, 100000000);
				break;
			default:
				pg_log_error_hint("Try \"%s %s --help\" for more information.",
								  progname, command);
				exit(EXIT_USAGE);
		}
	}

	if (optind < argc)
	{
		pg_log_error("too many command-line arguments (first is \"%s\")", argv[optind]);
		pg_log_error_hint("Try \"%s %s --help\" for more information.", progname, command);
		exit(EXIT_USAGE);
	}

	/* options that only make sense for some commands */
	check_option_scope(command, given);
	if (opts.timeout == -1)
		opts.timeout = strcmp(command, "verify") != 0 ? 30 : 60;
	if (opts.max_diffs == -1)
		opts.max_diffs = 10;
	if (opts.chunk_rows == -1)
		opts.chunk_rows = 1000;
	check_conninfo(opts.source, "--source");
	check_conninfo(opts.target, "--target");
	if (strcmp(command, "report") == 0)
		return cmd_report(&opts);
	if (opts.domain == NULL)
	{
		pg_log_error("no domain specified");
		pg_log_error_hint("Use --domain to name the domain to extract.");
		exit(EXIT_USAGE);
	}
	if (opts.target == NULL)
	{
		pg_log_error("no target database specified");
		pg_log_error_hint("Use --target to give the service database's connection string.");
		exit(EXIT_USAGE);
	}
	if (opts.source == NULL && strcmp(command, "status") != 0)
	{
		pg_log_error("no source database specified");
		pg_log_error_hint("Use --source to give the monolith database's connection string.");
		exit(EXIT_USAGE);
	}
	if (strlen(opts.domain) == 0 || strlen(opts.domain) > 63 ||
		strspn(opts.domain, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(opts.domain) ||
		(opts.domain[0] >= '0' && opts.domain[0] <= '9'))
	{
		pg_log_error("invalid domain name \"%s\"", opts.domain);
		pg_log_error_detail("Domain names are lower-case identifiers of at most 63 characters.");
		exit(EXIT_USAGE);
	}
	if (opts.target_schema == NULL)
		opts.target_schema = opts.domain;
	check_target_schema_name(opts.target_schema);
	if (opts.slot == NULL)
		opts.slot = job_slot_name("migration_split_", opts.domain);
	if (opts.slot[0] == '\0' || strlen(opts.slot) > 63 ||
		strspn(opts.slot, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(opts.slot))
	{
		pg_log_error("invalid replication slot name \"%s\"", opts.slot);
		pg_log_error_detail("Replication slot names may only contain lower case letters, numbers, and the underscore character, at most 63.");
		exit(EXIT_USAGE);
	}

	job_install_signal_handlers();

	if (strcmp(command, "init") == 0)
		return cmd_init(&opts);
	if (strcmp(command, "stream") == 0)
	{
		if (opts.reverse)
			return cmd_reverse_stream(&opts);
		reverse_guard_forward(&opts, false);
		opts.guard_reverse = true;
		return cmd_stream(&opts);
	}
	if (strcmp(command, "rollback") == 0)
		return cmd_rollback(&opts);
	if (strcmp(command, "cutover") == 0)
		return cmd_cutover(&opts);
	if (strcmp(command, "finalize") == 0)
		return cmd_finalize(&opts);
	if (strcmp(command, "verify") == 0)
		return cmd_verify(&opts);
	return cmd_status(&opts);
}
