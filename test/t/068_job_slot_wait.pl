# Creating a logical slot waits for the source's running transactions: a
# session idle in a transaction that holds a transaction ID keeps it waiting.
# init names that session (pid, user, application, state, xid) after 2 s and
# keeps waiting until it commits; SIGINT while it waits leaves no slot and
# no job state.  verify names it too, gives up after --timeout with exit 11
# (cancelling the slot creation: no slot left, hold released), is
# interrupted cleanly by SIGINT, and succeeds once the session commits.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use JobClusters;

my ($src, $tgt) = source_and_target(source_conf => "max_prepared_transactions = 5\n");
my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');
my @common = ('--source', $S, '--target', $T, '--domain', 'shop');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE acct (id int PRIMARY KEY, val int NOT NULL DEFAULT 0);
INSERT INTO acct SELECT i, i FROM generate_series(1, 1000) i;
INSERT INTO migration_split.domains (domain) VALUES ('shop');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('acct', 'shop');
});

# A session of the source idle in a transaction that holds a transaction ID
# (txid_current() assigns one, as a write would); returns it, its pid and
# xid.
sub start_blocker
{
	my ($name) = @_;
	my $b = $src->background_psql('postgres');
	$b->query_safe("SET application_name = '$name'");
	$b->query_safe('BEGIN');
	my $xid = $b->query_safe('SELECT txid_current()');
	my $pid = $b->query_safe('SELECT pg_backend_pid()');
	chomp($xid, $pid);
	return ($b, $pid, $xid);
}

# Start a command in the background; returns the handle and refs to its
# output.
sub start_cmd
{
	my (@cmd) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
	return ($h, \$out, \$err);
}

# Pump h until its stderr matches re (at most secs, default 60 s); true if
# it did.
sub wait_stderr
{
	my ($h, $err, $re, $secs) = @_;
	my $until = time + ($secs // 60);
	while (time < $until)
	{
		$h->pump_nb;
		return 1 if $$err =~ $re;
		usleep(100_000);
	}
	return 0;
}

sub slots
{
	return $src->safe_psql('postgres',
		'SELECT coalesce(string_agg(slot_name, \',\' ORDER BY slot_name), \'none\') FROM pg_replication_slots');
}

my ($vout, $verr);
my $waits_re = qr/migration-split: creating replication slot "(\S+)" on the source has waited \d+ s for 1 transaction on the source to end/;

# the choices, in --help
my ($help) = ('');
IPC::Run::run([ 'migration-split', 'init', '--help' ], '>', \$help);
like($help, qr/^ended\.  init waits as long as it takes \(it has no --timeout\), naming those$/m,
	'init --help: init waits for the slot as long as it takes');
IPC::Run::run([ 'migration-split', 'verify', '--help' ], '>', \$help);
like($help, qr/^\s+--timeout=SEC\s+wait at most SEC seconds for the stream to pause,\n\s+for the temporary slot \(which waits for the\n/m,
	'verify --help: --timeout bounds the slot creation too');

# ---------------------------------------------------------------------
# init: waits, names the session, SIGINT leaves nothing
# ---------------------------------------------------------------------
my ($b, $pid, $xid) = start_blocker('blocker_one');
my ($h, $out, $err) = start_cmd('migration-split', 'init', @common, '--no-progress');
ok(wait_stderr($h, $err, $waits_re), 'init reports the wait for the running transaction')
  or diag($$err);
like($$err, qr/creating replication slot "migration_split_shop" on the source has waited [2-9] s for 1 transaction/,
	'init: the report comes after about 2 s and names the slot');
like($$err, qr/^migration-split: detail: Creating a logical replication slot waits until every transaction that held a transaction ID on the source when it started has ended\. Still running, oldest first: pid \Q$pid\E \(user "\w+", application "blocker_one", database "postgres", idle in transaction, transaction started \d+ s ago, xid \Q$xid\E, waited for now\)\.$/m,
	'init: the detail names pid, user, application, database, state, age and xid of the blocker');
like($$err, qr/^migration-split: hint: init waits as long as it takes \(it reports again every 60 s\); end those transactions to go on, or interrupt init: no slot is left behind\.$/m,
	'init: the hint says init goes on waiting');
is($src->safe_psql('postgres', "SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE $pid = ANY (pg_blocking_pids(pid))"),
	'Lock/transactionid', 'the walsender creating the slot waits for the blocker\'s transaction ID');

$h->signal('INT');
eval { $h->finish; };
is($@, '', 'init: SIGINT ends the wait');
is($? >> 8, 9, 'init interrupted while creating the slot: exit 9');
like($$err, qr/interrupted while creating replication slot "migration_split_shop" on the source; no slot was left, run the same command again/,
	'init: interrupt message');
is(slots(), 'none', 'init: no slot left on the source after SIGINT');
is($tgt->safe_psql('postgres',
	"SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'shop') || '/' || (SELECT count(*) FROM migration_split_job.jobs)"),
	'0/0', 'init: no target schema and no job row left after SIGINT');

# init again: waits until the blocker commits, then completes
($h, $out, $err) = start_cmd('migration-split', 'init', @common, '--no-progress');
ok(wait_stderr($h, $err, $waits_re), 'init again: waiting for the blocker') or diag($$err);
like($$err, qr/pid \Q$pid\E \(user/, 'init again: names the blocker');
# the report is repeated every 60 s while the wait lasts
ok(wait_stderr($h, $err, qr/has waited \d+ s for 1 transaction.*has waited \d+ s for 1 transaction/s, 90),
	'init again: the report is repeated') or diag($$err);
my @waited = $$err =~ /has waited (\d+) s for 1 transaction/g;
ok(@waited == 2 && $waited[1] - $waited[0] >= 59 && $waited[1] - $waited[0] <= 62,
	"init again: 60 s after the first one (@waited)");
is($tgt->safe_psql('postgres', 'SELECT phase FROM migration_split_job.jobs'), 'creating',
	'init is still creating the slot while the blocker runs');
$b->query_safe('COMMIT');
eval { $h->finish; };
is($@ . ($? >> 8), '0', 'init completes once the blocker commits') or diag($$err);
note("init stderr:\n$$err");
like($$err, qr/created replication slot "migration_split_shop" after waiting \d+ s/, 'init says how long it waited');
is(slots(), 'migration_split_shop', 'init: its slot exists');
is($tgt->safe_psql('postgres', 'SELECT phase || \'/\' || count(*) FROM migration_split_job.jobs, shop.acct GROUP BY phase'),
	'streaming/1000', 'init copied the table');
$b->quit;

# ---------------------------------------------------------------------
# init resuming an interrupted copy: its temporary slot waits the same way
# ---------------------------------------------------------------------
# the state an init interrupted during the copy leaves: phase copying, the
# table pending and empty, without its key (its copy, which builds the key
# after the rows, rolled back with its transaction)
$tgt->safe_psql('postgres', q{
UPDATE migration_split_job.jobs SET phase = 'copying', init_done_at = NULL;
UPDATE migration_split_job.tables SET state = 'pending', sync_lsn = NULL;
TRUNCATE shop.acct;
ALTER TABLE shop.acct DROP CONSTRAINT acct_pkey;
});
($b, $pid, $xid) = start_blocker('blocker_resume');
($h, $out, $err) = start_cmd('migration-split', 'init', @common, '--no-progress');
ok(wait_stderr($h, $err, $waits_re), 'init resuming: reports the wait') or diag($$err);
like($$err, qr/creating replication slot "migration_split_shop_resume_\d+" on the source has waited \d+ s for 1 transaction on the source to end\n.*pid \Q$pid\E \(user "\w+", application "blocker_resume", database "postgres", idle in transaction, transaction started \d+ s ago, xid \Q$xid\E, waited for now\)/,
	'init resuming: its temporary slot names the blocker');
$h->signal('INT');
eval { $h->finish; };
is($@ . ($? >> 8), '9', 'init resuming, interrupted while creating the slot: exit 9');
is(slots(), 'migration_split_shop', 'init resuming: no temporary slot left after SIGINT, the job\'s slot kept');
is($tgt->safe_psql('postgres', 'SELECT phase FROM migration_split_job.jobs'), 'copying',
	'init resuming: the job is still to be resumed');
$b->query_safe('COMMIT');
$b->quit;
($vout, $verr) = ('', '');
IPC::Run::run([ 'migration-split', 'init', @common, '--no-progress' ], '>', \$vout, '2>', \$verr, IPC::Run::timeout(120));
is($? >> 8, 0, 'init resumes once the blocker committed') or diag($verr);
is($tgt->safe_psql('postgres', 'SELECT phase || \'/\' || count(*) FROM migration_split_job.jobs, shop.acct GROUP BY phase'),
	'streaming/1000', 'init resumed: the table copied again');
is(slots(), 'migration_split_shop', 'init resumed: no temporary slot left');

# ---------------------------------------------------------------------
# verify: bounded by --timeout
# ---------------------------------------------------------------------
my $log = $src->basedir . '/stream.log';
my $stream = IPC::Run::start([ 'migration-split', 'stream', @common, '--batch-time', '50' ],
	'>>', $log, '2>>', $log);
$src->safe_psql('postgres', 'UPDATE acct SET val = -1 WHERE id = 1');
$tgt->poll_query_until('postgres', 'SELECT val = -1 FROM shop.acct WHERE id = 1')
  or die 'the stream does not run';

($b, $pid, $xid) = start_blocker('blocker_two');
my $t0 = time;
($vout, $verr) = ('', '');
eval {
	IPC::Run::run([ 'migration-split', 'verify', @common, '--no-progress', '--timeout', '3' ],
		'>', \$vout, '2>', \$verr, IPC::Run::timeout(60));
};
my $ret = $@ ? "died: $@" : $? >> 8;
my $took = time - $t0;
note("verify stderr:\n$verr");
is($ret, 11, 'verify behind a running source transaction: exit 11') or diag($verr);
cmp_ok($took, '<=', 15, "verify gave up after a bounded wait ($took s for --timeout 3)");
like($verr, qr/^migration-split: creating replication slot "migration_split_verify_\d+" on the source has waited 2 s for 1 transaction on the source to end$/m,
	'verify reports the wait after 2 s');
like($verr, qr/^migration-split: hint: verify gives up after 3 s \(--timeout\); the stream is paused meanwhile\.$/m,
	'the report says when verify gives up');
like($verr, qr/^migration-split: error: could not create a temporary replication slot on the source within 3 s$/m,
	'verify: the error says what timed out');
like($verr, qr/^migration-split: detail: Creating a logical replication slot waits until every transaction that held a transaction ID on the source when it started has ended\. Still running, oldest first: pid \Q$pid\E \(user "\w+", application "blocker_two", database "postgres", idle in transaction, transaction started \d+ s ago, xid \Q$xid\E, waited for now\)\.$/m,
	'verify: the detail names the blocking session');
like($verr, qr/^migration-split: hint: End the transaction of source process \Q$pid\E \(COMMIT or ROLLBACK in that session, or on the source: SELECT pg_catalog\.pg_terminate_backend\(\Q$pid\E\)\), or run verify again later or with a larger --timeout\.$/m,
	'verify: the hint says how to end it');
is(slots(), 'migration_split_shop', 'verify: no temporary slot left after the timeout');
is($tgt->safe_psql('postgres', 'SELECT hold_lsn IS NULL AND held_lsn IS NULL FROM migration_split_job.jobs'), 't',
	'verify: the hold is released after the timeout');

# SIGINT while verify waits for the slot
($h, $out, $err) = start_cmd('migration-split', 'verify', @common, '--no-progress', '--timeout', '100');
ok(wait_stderr($h, $err, $waits_re), 'verify waits for the blocker') or diag($$err);
$h->signal('INT');
eval { $h->finish; };
is($@ . ($? >> 8), '9', 'verify interrupted while creating its slot: exit 9');
like($$err, qr/interrupted while creating a temporary replication slot on the source; nothing was recorded, run verify again/,
	'verify: interrupt message');
is(slots(), 'migration_split_shop', 'verify: no temporary slot left after SIGINT');
is($tgt->safe_psql('postgres', 'SELECT hold_lsn IS NULL AND held_lsn IS NULL FROM migration_split_job.jobs'), 't',
	'verify: the hold is released after SIGINT');

# the blocker commits: verify succeeds
$b->query_safe('COMMIT');
$b->quit;
($vout, $verr) = ('', '');
IPC::Run::run([ 'migration-split', 'verify', @common, '--no-progress', '--timeout', '60' ],
	'>', \$vout, '2>', \$verr, IPC::Run::timeout(120));
is($? >> 8, 0, 'verify succeeds once the blocker committed') or diag($vout . $verr);
like($vout, qr/^domain "shop": 1 table, 1000 rows equal at source position /m, 'and finds the domain equal') or diag($vout);
unlike($verr, qr/creating replication slot .* has waited/, 'without a blocker verify reports no wait');
is(slots(), 'migration_split_shop', 'verify: no slot left after success');

# a prepared transaction holding a transaction ID: named by its GID
$src->safe_psql('postgres', "BEGIN; SELECT txid_current(); PREPARE TRANSACTION 'slot_wait_gx'");
my $pxid = $src->safe_psql('postgres', "SELECT transaction FROM pg_prepared_xacts WHERE gid = 'slot_wait_gx'");
($vout, $verr) = ('', '');
eval {
	IPC::Run::run([ 'migration-split', 'verify', @common, '--no-progress', '--timeout', '3' ],
		'>', \$vout, '2>', \$verr, IPC::Run::timeout(60));
};
is($@ ? "died: $@" : $? >> 8, 11, 'verify behind a prepared transaction: exit 11') or diag($verr);
like($verr, qr/^migration-split: detail: .* Still running, oldest first: prepared transaction 'slot_wait_gx' \(xid \Q$pxid\E, prepared \d+ s ago, waited for now\)\.$/m,
	'verify: the detail names the prepared transaction');
like($verr, qr/^migration-split: hint: End the prepared transaction 'slot_wait_gx' on the source \(COMMIT PREPARED or ROLLBACK PREPARED\), or run verify again later or with a larger --timeout\.$/m,
	'verify: the hint says how to end it');
is(slots(), 'migration_split_shop', 'verify: no temporary slot left behind a prepared transaction');
$src->safe_psql('postgres', "COMMIT PREPARED 'slot_wait_gx'");

# ---------------------------------------------------------------------
# a table joins the domain while the stream runs: its copy's slot waits
# ---------------------------------------------------------------------
$src->safe_psql('postgres', 'CREATE TABLE j (id int PRIMARY KEY); INSERT INTO j SELECT generate_series(1, 50)');
($b, $pid, $xid) = start_blocker('blocker_three');
$src->safe_psql('postgres', "INSERT INTO migration_split.ownership (rel, domain) VALUES ('j', 'shop')");
my $until = time + 60;
my $slog = '';
until ($slog =~ /creating replication slot "ms_sync_\d+" on the source has waited \d+ s for 1 transaction.*\n.*pid \Q$pid\E \(/ || time > $until)
{
	usleep(200_000);
	$slog = slurp_file($log);
}
like($slog, qr/^migration-split: detail: Creating a logical replication slot waits until every transaction that held a transaction ID on the source when it started has ended\. Still running, oldest first: pid \Q$pid\E \(user "\w+", application "blocker_three", database "postgres", idle in transaction, transaction started \d+ s ago, xid \Q$xid\E, waited for now\)\.$/m,
	'stream: the copy of a joining table names the transaction its slot waits for');
is($tgt->safe_psql('postgres', "SELECT to_regclass('shop.j') IS NULL"), 't',
	'stream: the joining table is not created before the slot');

# SIGINT while the copy's slot waits: the stream stops, no slot left; a
# new stream copies the table (waiting again until the blocker commits)
$stream->signal('INT');
eval { $stream->finish; };
is($@ . ($? >> 8), '9', 'stream interrupted while the copy\'s slot waits: exit 9');
is(slots(), 'migration_split_shop', 'stream: no slot of the copy left after SIGINT');
$stream = IPC::Run::start([ 'migration-split', 'stream', @common, '--batch-time', '50' ],
	'>>', $log, '2>>', $log);
$b->query_safe('COMMIT');
$b->quit;
$tgt->poll_query_until('postgres', "SELECT to_regclass('shop.j') IS NOT NULL AND (SELECT count(*) FROM shop.j) = 50")
  or diag(slurp_file($log));
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM shop.j'), '50', 'stream: the table is copied once the transaction commits');
# the copy's temporary slot goes when its walsender has ended, which
# PQfinish() does not wait for: shortly after the copy is visible
$src->poll_query_until('postgres',
	"SELECT NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name LIKE 'ms\\_sync\\_%')");
is(slots(), 'migration_split_shop', 'stream: no slot left after the copy');

$stream->signal('INT');
$stream->finish;
done_testing();
