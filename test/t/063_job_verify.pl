# migration-split verify: equal under a concurrent write load while the
# stream runs (many times, no false difference), differences reported by
# table and key (changed, missing, extra; composite key, empty table, 1-row
# table, table without key), values a naive text compare would get wrong
# (float digits, time zones, numeric scale), schema differences, interrupt
# and rerun, the last verification in status, and bad input.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JobClusters;

my ($src, $tgt) = source_and_target();

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');
my @common = ('--source', $S, '--target', $T, '--domain', 'shop');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE acct (id int PRIMARY KEY, val int NOT NULL DEFAULT 0, note text);
CREATE TABLE item (id bigserial PRIMARY KEY, acct_id int, qty int);
CREATE INDEX ON item (acct_id);
CREATE TABLE lines (order_id int, line int, qty int, PRIMARY KEY (order_id, line));
CREATE TABLE vals (id int PRIMARY KEY, f float8, ts timestamptz, n numeric);
CREATE TABLE empty_t (id int PRIMARY KEY);
CREATE TABLE one (id int PRIMARY KEY, v text);
CREATE TABLE nokey (a int, b text);
ALTER TABLE nokey REPLICA IDENTITY FULL;
CREATE TABLE big (id int PRIMARY KEY, v text);
CREATE TABLE codes (code char(6) PRIMARY KEY, v int);
INSERT INTO acct SELECT i, 0, md5(i::text) FROM generate_series(1, 20000) i;
INSERT INTO item (acct_id, qty) SELECT i % 20000 + 1, i FROM generate_series(1, 20000) i;
INSERT INTO lines SELECT i / 10, i % 10, i FROM generate_series(1, 5000) i;
INSERT INTO vals VALUES (1, 0.1, '2026-01-01 00:00:00+00', 1.0), (2, 1e-300, '2026-06-30 23:59:59.5+00', 2.50),
	(3, '-0', '1999-12-31 12:00+05', 3);
INSERT INTO one VALUES (1, 'only');
INSERT INTO nokey VALUES (1, 'a'), (1, 'a'), (2, 'b');
INSERT INTO big SELECT i, repeat('x', 50) FROM generate_series(1, 100000) i;
INSERT INTO codes SELECT 'c' || lpad(i::text, 5, '0'), i FROM generate_series(1, 5000) i;
INSERT INTO migration_split.domains (domain) VALUES ('shop');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('acct', 'shop'), ('item', 'shop'),
	('lines', 'shop'), ('vals', 'shop'), ('empty_t', 'shop'), ('one', 'shop'), ('nokey', 'shop'),
	('big', 'shop'), ('codes', 'shop');
ANALYZE;
});

my ($stdout, $stderr, $ret);
ok(run_log([ 'migration-split', 'init', @common, '--jobs', '2', '--no-progress' ]), 'init');

sub verify { return run_verify(\@common, @_); }

# no stream running: waits --timeout, then exit 11, and the hold is released
($ret, $stdout, $stderr) = verify('--timeout', '2');
is($ret, 11, 'verify without a stream exits 11');
like($stderr, qr/the stream of domain "shop" did not pause within 2 s/, 'says the stream did not pause');
like($stderr, qr/No "migration-split stream" is running for the domain \(slot "migration_split_shop" is inactive\)/,
	'says no stream runs');
is($tgt->safe_psql('postgres', 'SELECT hold_lsn IS NULL FROM migration_split_job.jobs'), 't',
	'the hold is released after a timeout');

# the stream runs from here on
my ($stream, $log) = start_stream($src, @common);

# a write load on the source while verify runs again and again
my $script = $src->basedir . '/load.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set a random(1, 20000)
\set k random(1, 10)
BEGIN;
UPDATE acct SET val = val + 1, note = md5(random()::text) WHERE id = :a;
INSERT INTO item (acct_id, qty) VALUES (:a, :k);
DELETE FROM item WHERE id = (SELECT max(id) - 30 FROM item) AND :k <= 4;
UPDATE lines SET qty = qty + 1 WHERE order_id = :a % 500 AND line = :k - 1;
END;
});
my ($lout, $lerr) = ('', '');
my $load = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-T', '40', '-R', '200', '-f', $script, $S ],
	'>', \$lout, '2>', \$lerr);

my $runs = 0;
my $false = 0;
my @bad;
my $first_lsn;
my $last_lsn;
for my $i (1 .. 10)
{
	# small chunks: many range bounds cross the rows being written
	($ret, $stdout, $stderr) = verify('--jobs', '2', '--chunk-rows', '700');
	$runs++;
	if ($ret != 0)
	{
		$false++;
		push @bad, "exit $ret: $stdout $stderr";
	}
	my ($lsn) = $stdout =~ /equal at source position (\S+)/;
	$first_lsn //= $lsn;
	$last_lsn = $lsn if defined $lsn;
}
$load->finish;
like($lout, qr/number of transactions actually processed: [1-9]\d+/, 'the load ran');
is($false, 0, "no false difference in $runs verifications under load")
  or diag(join("\n", @bad));
isnt($first_lsn, $last_lsn, 'the verifications were at different source positions');
my $stream_log = slurp_file($log);
like($stream_log, qr/holding for verify at/, 'the stream held for verify');
like($stream_log, qr/hold at \S+ released/, 'and went on');

# status shows the last verification
run_log([ 'migration-split', 'status', @common, '--json' ], '>', \$stdout);
like($stdout, qr/"last_verify_lsn": "\Q$last_lsn\E", "last_verify_equal": true/,
	'status --json shows the last verification');
run_log([ 'migration-split', 'status', @common ], '>', \$stdout);
like($stdout, qr/last verification:\s+equal at source position \Q$last_lsn\E, on \d{4}-/,
	'status shows the last verification');

# one changed row (composite key), one missing (1-row table), one extra
# (empty table), and a changed duplicate in a table without key
$tgt->safe_psql('postgres', q{
UPDATE shop.lines SET qty = qty * 1000 WHERE order_id = 3 AND line = 2;
DELETE FROM shop.one;
INSERT INTO shop.empty_t VALUES (42);
UPDATE shop.nokey SET b = 'z' WHERE ctid = (SELECT min(ctid) FROM shop.nokey WHERE a = 1);
});
($ret, $stdout, $stderr) = verify('--jobs', '3');
is($ret, 10, 'differences: exit 10');
like($stdout, qr/^public\.lines\s+5000\s+\d+\s+\S+\s+DIFFERENT: 0 missing, 0 extra, 1 changed$/m, 'lines: 1 changed');
like($stdout, qr/^    changed: \(order_id, line\)=\(3, 2\): columns qty$/m, 'the changed row by key and column');
like($stdout, qr/^public\.one\s+1\s+1\s+\S+\s+DIFFERENT: 1 missing, 0 extra, 0 changed$/m, 'one: 1 missing');
like($stdout, qr/^    missing on the target: \(id\)=\(1\)$/m, 'the missing row by key');
like($stdout, qr/^public\.empty_t\s+0\s+1\s+\S+\s+DIFFERENT: 0 missing, 1 extra, 0 changed$/m, 'empty_t: 1 extra');
like($stdout, qr/^    extra on the target: \(id\)=\(42\)$/m, 'the extra row by key');
like($stdout, qr/^public\.nokey\s+3\s+1\s+\S+\s+DIFFERENT: 1 missing, 1 extra, 0 changed/m,
	'table without key: a changed row is one missing and one extra');
like($stdout, qr/^    missing on the target: row \(1,a\)$/m, 'the missing row of the table without key');
like($stdout, qr/^    extra on the target: row \(1,z\)$/m, 'the extra row of the table without key');
like($stdout, qr/^public\.acct\s+20000\s+\d+\s+\S+\s+equal$/m, 'acct equal');
like($stdout, qr/^public\.big\s+100000\s+\d+\s+\S+\s+equal$/m, 'big equal');
like($stdout, qr/domain "shop": 4 of 9 tables DIFFER at source position/, 'summary line');
is($tgt->safe_psql('postgres', 'SELECT last_verify_equal FROM migration_split_job.jobs'), 'f',
	'the job records the difference');

my $recorded = $tgt->safe_psql('postgres', 'SELECT last_verify_lsn FROM migration_split_job.jobs');
($ret, $stdout, $stderr) = verify('--table', 'lines', '--json');
is($tgt->safe_psql('postgres', 'SELECT last_verify_lsn FROM migration_split_job.jobs'), $recorded,
	'a verification of one table is not recorded as one of the domain');
is($ret, 10, '--table with a difference: exit 10');
like($stdout, qr/"tables": \[\{"table": "public\.lines", "equal": false, .*"changed": 1, "schema": \[\], "diffs": \[\{"kind": "changed", "key": \{"order_id": "3", "line": "2"\}, "columns": "qty"\}\]\}\]\}/,
	'--json names the table, key and column');
unlike($stdout, qr/public\.acct/, '--table verifies that table only');

# bisection: a composite key (ranges hashed chunk by chunk) with chunks of
# 500 rows, and a one-column key (one bucketed scan per side) with buckets
# of about 1000 rows, cut until at most 16 rows are fetched per side (for
# the one-column key in one step, into ranges of 8 rows)
($ret, $stdout) = verify('--table', 'lines', '--json', '--chunk-rows', '50');
is($ret, 10, 'composite key, small chunks: exit 10');
like($stdout, qr/"changed": 1, "schema": \[\], "diffs": \[\{"kind": "changed", "key": \{"order_id": "3", "line": "2"\}/,
	'composite key: the changed row found by bisection');
ok($stdout =~ /"chunks": (\d+), "splits": (\d+), "rows_fetched": (\d+),/ && $1 >= 5 && $2 >= 1 && $3 <= 32,
	'composite key: chunks cut, at most 16 rows fetched per side') or diag($stdout);
$tgt->safe_psql('postgres', "UPDATE shop.big SET v = 'changed' WHERE id = 54321");
($ret, $stdout) = verify('--table', 'big', '--json');
is($ret, 10, 'one changed row of 100000: exit 10');
like($stdout, qr/"diffs": \[\{"kind": "changed", "key": \{"id": "54321"\}, "columns": "v"\}\]/,
	'one-column key: the changed row found by bisection');
ok($stdout =~ /"rows": 100000, "target_rows": 100000, "chunks": (\d+), "splits": (\d+), "rows_fetched": (\d+),/
	&& $1 >= 50 && $2 >= 1 && $3 <= 32,
	'one-column key: about 100 buckets, one bisected, at most 16 rows fetched per side') or diag($stdout);
$tgt->safe_psql('postgres', "UPDATE shop.big SET v = repeat('x', 50) WHERE id = 54321");

# a key of a type with a length (char(6)): the bucket bounds keep it
$tgt->safe_psql('postgres', "UPDATE shop.codes SET v = -1 WHERE code = 'c00042'");
($ret, $stdout) = verify('--table', 'codes', '--chunk-rows', '100');
is($ret, 10, 'char(6) key: exit 10');
like($stdout, qr/^public\.codes\s+5000\s+(\d+)\s+\S+\s+DIFFERENT: 0 missing, 0 extra, 1 changed$/m,
	'char(6) key: the one changed row counted');
like($stdout, qr/^    changed: \(code\)=\(c00042\): columns v$/m, 'char(6) key: and shown');
$tgt->safe_psql('postgres', "UPDATE shop.codes SET v = 42 WHERE code = 'c00042'");

# --max-diffs
$tgt->safe_psql('postgres', 'UPDATE shop.acct SET val = -1 WHERE id <= 30');
($ret, $stdout) = verify('--table', 'public.acct', '--max-diffs', '5');
is($ret, 10, 'many differences: exit 10');
like($stdout, qr/DIFFERENT: 0 missing, 0 extra, 30 changed/, 'all counted');
is(scalar(() = $stdout =~ /^    changed: /mg), 5, '--max-diffs rows shown');
like($stdout, qr/^    \.\.\. 25 more \(--max-diffs 5\)$/m, 'the rest is counted');

# two rows exchanging a value: both changed (row hashes depend on the row)
$tgt->safe_psql('postgres', q{
UPDATE shop.acct a SET note = b.note FROM shop.acct b WHERE (a.id, b.id) IN ((100, 101), (101, 100));
});
($ret, $stdout) = verify('--table', 'acct', '--max-diffs', '50');
like($stdout, qr/DIFFERENT: 0 missing, 0 extra, 32 changed/, 'an exchange of values: both rows changed');
like($stdout, qr/^    changed: \(id\)=\(101\): columns note$/m, 'the exchanged column named');
$src->safe_psql('postgres', 'UPDATE acct SET note = note WHERE id IN (100, 101)');

# repair the target: equal again
$tgt->safe_psql('postgres', q{
INSERT INTO shop.one VALUES (1, 'only');
DELETE FROM shop.empty_t;
UPDATE shop.nokey SET b = 'a' WHERE b = 'z';
});
$src->safe_psql('postgres', 'UPDATE lines SET qty = qty WHERE order_id = 3 AND line = 2; UPDATE acct SET val = val WHERE id <= 30');
# the UPDATEs above are replicated as whole rows: the target's values return
($ret, $stdout, $stderr) = verify();
is($ret, 0, 'equal again after the repair') or diag($stdout . $stderr);

# values a naive text compare gets wrong, with different session defaults
$src->safe_psql('postgres', q{ALTER DATABASE postgres SET TimeZone = 'America/New_York'});
$tgt->safe_psql('postgres', q{ALTER DATABASE postgres SET TimeZone = 'Asia/Tokyo'; ALTER DATABASE postgres SET DateStyle = 'German, DMY'; ALTER DATABASE postgres SET extra_float_digits = 0});
isnt($src->safe_psql('postgres', 'SELECT string_agg(ts::text, \',\' ORDER BY id) FROM vals'),
	$tgt->safe_psql('postgres', 'SELECT string_agg(ts::text, \',\' ORDER BY id) FROM shop.vals'),
	'naive: the timestamps read differently under the two servers\' defaults');
($ret, $stdout) = verify('--table', 'vals');
is($ret, 0, 'verify: equal timestamps are equal whatever the time zone and DateStyle');
$tgt->safe_psql('postgres', q{
UPDATE shop.vals SET f = '0.10000000000000002' WHERE id = 1;
UPDATE shop.vals SET n = 2.5 WHERE id = 2;
UPDATE shop.vals SET f = 0.0 WHERE id = 3;
});
is($src->safe_psql('postgres', 'SET extra_float_digits = 0; SELECT f FROM vals WHERE id = 1'),
	$tgt->safe_psql('postgres', 'SET extra_float_digits = 0; SELECT f FROM shop.vals WHERE id = 1'),
	'naive: the float values print alike with extra_float_digits 0');
is($tgt->safe_psql('postgres', 'SELECT n = 2.50 FROM shop.vals WHERE id = 2'), 't',
	'naive: 2.5 = 2.50 as numeric values');
($ret, $stdout) = verify('--table', 'vals');
is($ret, 10, 'verify: the float digit, the numeric scale and the sign of zero differ');
like($stdout, qr/^    changed: \(id\)=\(1\): columns f$/m, 'float digits');
like($stdout, qr/^    changed: \(id\)=\(2\): columns n$/m, 'numeric scale');
like($stdout, qr/^    changed: \(id\)=\(3\): columns f$/m, 'negative zero');
$tgt->safe_psql('postgres', q{
UPDATE shop.vals SET f = 0.1 WHERE id = 1;
UPDATE shop.vals SET n = 2.50 WHERE id = 2;
UPDATE shop.vals SET f = '-0' WHERE id = 3;
});
($ret, $stdout) = verify('--table', 'vals');
is($ret, 0, 'equal after the repair');

# schema differences
$tgt->safe_psql('postgres', q{
ALTER TABLE shop.acct ALTER COLUMN note TYPE varchar(40);
ALTER TABLE shop.acct ALTER COLUMN val DROP NOT NULL;
DROP INDEX shop.item_acct_id_idx;
});
($ret, $stdout) = verify('--table', 'acct');
is($ret, 10, 'schema difference: exit 10');
like($stdout, qr/^public\.acct .* SCHEMA DIFFERS, rows not compared$/m, 'rows not compared');
like($stdout, qr/^    schema: column "note" has type text on the source, character varying\(40\) on the target$/m,
	'type difference');
like($stdout, qr/^    schema: column "val" is NOT NULL on the source, nullable on the target$/m,
	'NOT NULL difference');
($ret, $stdout) = verify('--table', 'item');
is($ret, 10, 'index difference: exit 10');
like($stdout, qr/^public\.item .* rows equal, SCHEMA DIFFERS$/m, 'rows equal, schema differs');
like($stdout, qr/^    schema: index missing on the target: CREATE INDEX ON t USING btree \(acct_id\)$/m,
	'missing index');
$tgt->safe_psql('postgres', q{
ALTER TABLE shop.acct ALTER COLUMN note TYPE text;
ALTER TABLE shop.acct ALTER COLUMN val SET NOT NULL;
CREATE INDEX ON shop.item (acct_id);
});

# interrupt and rerun: a lock on the target keeps the scan of big waiting,
# the interrupt cancels it (without an index on the target, preparing the
# table does not wait for the lock: pg_get_indexdef() would)
$tgt->safe_psql('postgres', 'ALTER TABLE shop.big DROP CONSTRAINT big_pkey');
my $locker = $tgt->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE shop.big IN ACCESS EXCLUSIVE MODE');
my ($vout, $verr) = ('', '');
my $v = IPC::Run::start([ 'migration-split', 'verify', @common, '--no-progress', '--jobs', '1',
	'--timeout', '120' ], '>', \$vout, '2>', \$verr, IPC::Run::timeout(60));
my $waited = 0;
until ($tgt->safe_psql('postgres', q{SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'shop.big'::regclass}) > 0
	|| $waited++ > 600)
{
	$v->pump_nb;
	usleep(100_000);
}
$v->pump_nb;
like($verr, qr/verifying domain "shop"/, 'verify waits for the lock on the target');
$v->signal('INT');
eval { $v->finish; };
is($@, '', 'the interrupt ends the waiting query');
is($? >> 8, 9, 'interrupted verify exits 9');
$locker->query_safe('ROLLBACK');
$locker->quit;
$tgt->safe_psql('postgres', 'ALTER TABLE shop.big ADD PRIMARY KEY (id)');
like($verr, qr/interrupted; nothing was recorded, run verify again/, 'interrupt message');
is($tgt->safe_psql('postgres', 'SELECT hold_lsn IS NULL AND held_lsn IS NULL FROM migration_split_job.jobs'), 't',
	'no hold left behind');
$src->safe_psql('postgres', 'INSERT INTO big VALUES (100001, \'after\')');
($ret, $stdout, $stderr) = verify();
is($ret, 0, 'rerun after the interrupt: equal');
like($stdout, qr/^public\.big\s+100001 /m, 'the rerun sees the stream\'s later changes');

# an expired hold is ignored by the stream
$tgt->safe_psql('postgres', q{UPDATE migration_split_job.jobs SET hold_lsn = '0/0', hold_expires_at = now() - interval '1 s'});
$src->safe_psql('postgres', 'INSERT INTO big VALUES (100002, \'expired hold\')');
$tgt->poll_query_until('postgres', 'SELECT count(*) = 1 FROM shop.big WHERE id = 100002')
  or die 'stream held by an expired hold';
pass('an expired hold does not stop the stream');
# an unexpired hold of another verify is respected
$tgt->safe_psql('postgres', q{UPDATE migration_split_job.jobs SET hold_lsn = '0/0', hold_expires_at = now() + interval '1 h'});
($ret, $stdout, $stderr) = verify();
is($ret, 4, 'another verify holding: exit 4');
like($stderr, qr/another verify of domain "shop" is holding its stream/, 'says so');
$tgt->safe_psql('postgres', q{UPDATE migration_split_job.jobs SET hold_lsn = NULL, held_lsn = NULL, hold_expires_at = NULL});

# bad input
($ret, $stdout, $stderr) = verify('--table', 'nosuch');
is($ret, 3, 'unknown table: exit 3');
like($stderr, qr/table "nosuch" is not in domain "shop"/, 'unknown table message');
IPC::Run::run([ 'migration-split', 'verify', '--source', $S, '--target', $T, '--domain', 'nosuch', '--no-progress' ],
	'>', \$stdout, '2>', \$stderr);
is($? >> 8, 4, 'unknown domain: exit 4');
like($stderr, qr/domain "nosuch" has not been initialised on the target/, 'unknown domain message');
$tgt->safe_psql('postgres', 'CREATE DATABASE fresh');
IPC::Run::run([ 'migration-split', 'verify', '--source', $S, '--target', $tgt->connstr('fresh'), '--domain', 'shop' ],
	'>', \$stdout, '2>', \$stderr);
is($? >> 8, 4, 'target never initialised: exit 4');
like($stderr, qr/domain "shop" has not been initialised on the target/, 'never initialised message');
IPC::Run::run([ 'migration-split', 'verify', '--source', 'host=/nonexistent port=1', '--target', $T, '--domain', 'shop' ],
	'>', \$stdout, '2>', \$stderr);
is($? >> 8, 2, 'unreachable source: exit 2');
like($stderr, qr/could not connect to the source database/, 'unreachable source message');
IPC::Run::run([ 'migration-split', 'verify', '--source', $S, '--target', 'host=/nonexistent port=1', '--domain', 'shop' ],
	'>', \$stdout, '2>', \$stderr);
is($? >> 8, 2, 'unreachable target: exit 2');
IPC::Run::run([ 'migration-split', 'verify', @common, '--timeout', 'x' ], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 1, 'bad --timeout: exit 1');
IPC::Run::run([ 'migration-split', 'status', @common, '--max-diffs', '3' ], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 1, 'verify option on status: exit 1');
like($stderr, qr/only valid for verify/, 'says which command takes it');

# an apply transaction of the stream waits for a lock on the target (a
# target session holds the table): the stream cannot pause, and verify
# gives up after --timeout (not later), naming the waiting transaction and
# the process holding the lock, and releases its hold
my $apply_blocker = lock_table_for($tgt, 'shop.big', 120);
my $locker_pid = $tgt->safe_psql('postgres',
	"SELECT pid FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'shop.big'::regclass AND granted");
$src->safe_psql('postgres', "UPDATE big SET v = 'stuck' WHERE id = 1");
$tgt->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $locker_pid = ANY (pg_blocking_pids(pid))")
  or die 'the apply does not wait';
my $t0 = time;
($stdout, $stderr) = ('', '');
eval {
	IPC::Run::run([ 'migration-split', 'verify', @common, '--no-progress', '--timeout', '3' ],
		'>', \$stdout, '2>', \$stderr, IPC::Run::timeout(60));
};
$ret = $@ ? -1 : $? >> 8;
my $took = time - $t0;
is($ret, 11, 'verify behind an apply transaction waiting for a lock: exit 11') or diag($@ . $stderr);
cmp_ok($took, '<=', 15, "verify gave up after a bounded wait ($took s for --timeout 3)");
like($stderr, qr/the stream of domain "shop" did not pause within 3 s/, 'says the stream did not pause');
like($stderr, qr/An apply transaction of the stream \(target process \d+\) has been waiting for a lock for [\d.]+ s, held by target process \Q$locker_pid\E;/,
	'names the waiting apply transaction and the process holding the lock');
like($stderr, qr/End the transaction of target process \Q$locker_pid\E/, 'the hint says what to end');
unlike($stderr, qr/far behind/, 'not mistaken for a stream far behind');
is($tgt->safe_psql('postgres', 'SELECT hold_lsn IS NULL FROM migration_split_job.jobs'), 't', 'the hold is released');
$tgt->safe_psql('postgres', "SELECT pg_terminate_backend($locker_pid)");
$apply_blocker->finish;
($ret, $stdout, $stderr) = verify();
is($ret, 0, 'equal once the lock is gone') or diag($stdout . $stderr);

# the stream far behind: it is stopped (SIGSTOP) while the source moves on
$stream->signal('STOP');
$src->safe_psql('postgres', 'INSERT INTO big VALUES (100003, \'behind\')');
($ret, $stdout, $stderr) = verify('--timeout', '3');
is($ret, 11, 'stream not moving: exit 11');
like($stderr, qr/the stream of domain "shop" did not pause within 3 s/, 'says the stream did not pause');
like($stderr, qr/The stream is far behind the source/, 'hints that the stream is behind');
$stream->signal('CONT');
($ret, $stdout, $stderr) = verify();
is($ret, 0, 'equal once the stream goes on') or diag($stdout . $stderr);

$stream->signal('INT');
$stream->finish;
done_testing();
