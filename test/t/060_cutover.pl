# migration-split cutover end to end, two clusters: preflight without a
# verification, --dry-run changes nothing, a catch-up that times out
# unfreezes, cutover under a write load from several clients (every
# acknowledged write in the service, every later write refused with
# MS002), sequences moved past the source's, the read path (the service's
# rows, a join with another domain), rerun, finalize.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JobClusters;

my $job = orders_job();
my ($src, $tgt, $S, $T) = @$job{qw(src tgt S T)};
my @common = $job->common;

# the forward stream, in the background
my $stream_log = $PostgreSQL::Test::Utils::tmp_check . '/stream.log';
sub start_forward_stream
{
	return IPC::Run::start([ 'migration-split', 'stream', @common, '--status-interval', '0' ],
		'>>', $stream_log, '2>>', $stream_log);
}
my $stream = start_forward_stream();
sub slot_active
{
	return $src->poll_query_until('postgres',
		"SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'");
}
ok(slot_active(), 'stream holds the slot');

# the state of everything cutover could change, on both sides
sub snapshot
{
	return join("\n",
		$src->safe_psql('postgres', q{
			SELECT string_agg(format('%s %s %s %s', step, from_state, to_state, source_lsn), ',' ORDER BY step)
			  FROM migration_split.domain_transitions}),
		$src->safe_psql('postgres', q{
			SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal}),
		$src->safe_psql('postgres', q{
			SELECT string_agg(c.oid::regclass::text || ':' || c.relkind::text, ',' ORDER BY c.oid)
			  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace}),
		$src->safe_psql('postgres', q{SELECT count(*) FROM pg_foreign_server}),
		$src->safe_psql('postgres', q{SELECT count(*) || ' ' || sum(id) FROM orders}),
		$tgt->safe_psql('postgres', q{
			SELECT string_agg(format('%s %s', sequencename, last_value), ',' ORDER BY sequencename)
			  FROM pg_sequences WHERE schemaname = 'orders'}),
		$tgt->safe_psql('postgres', q{SELECT count(*) || ' ' || sum(id) FROM orders.orders}));
}

# 1. preflight: no verification recorded
my ($rc, $out, $err) = $job->run_job('cutover');
is($rc, 12, 'cutover without a verification: preflight fails (exit 12)');
like($err, qr/preflight failed: domain "orders" has never been verified/,
	'the message says why');
like($err, qr/--skip-verify-check/, 'the hint names --skip-verify-check');
is($job->lifecycle($src), 'monolith', 'nothing recorded by a failed preflight');

# preflight: lag too large
# (the stream stopped with SIGSTOP: it cannot confirm the new WAL)
$stream->signal('STOP');
$src->safe_psql('postgres', 'CREATE TABLE wal_filler AS SELECT generate_series(1, 20000) i;');
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--max-lag', '1000');
$stream->signal('CONT');
is($rc, 12, 'a stream further behind than --max-lag: preflight fails');
like($err, qr/the stream of domain "orders" is \d+ bytes behind the source \(--max-lag 1000\)/, 'lag named');
is($job->lifecycle($src), 'monolith', 'nothing recorded by a failed preflight');

# a recent equal verify satisfies the preflight; an old one does not
$src->poll_query_until('postgres',
	"SELECT confirmed_flush_lsn >= pg_current_wal_lsn() FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'stream does not confirm';
my ($vout, $verr) = ('', '');
IPC::Run::run([ 'migration-split', 'verify', @common, '--no-progress' ], '>', \$vout, '2>', \$verr);
is($? >> 8, 0, 'verify finds both sides equal while the stream runs');
($rc, $out, $err) = $job->run_job('cutover', '--dry-run');
is($rc, 0, 'with a recent equal verification the preflight passes (dry run)');
sleep(2);
($rc, $out, $err) = $job->run_job('cutover', '--dry-run', '--verify-max-age', '1');
is($rc, 12, 'a verification older than --verify-max-age fails the preflight');
like($err, qr/the last verification of domain "orders" \(at .*\) is older than 1 second\b/,
	'the message names its age limit');

# 2. --dry-run changes nothing
$src->poll_query_until('postgres',
	"SELECT confirmed_flush_lsn >= pg_current_wal_lsn() FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'stream does not confirm';
my $before = snapshot();
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--dry-run', '--read-path');
is($rc, 0, '--dry-run exits 0');
like($out, qr/^would: freeze: migration_split\.freeze_domain\('orders', 'host=.* dbname=postgres'\)/m,
	'--dry-run prints the freeze');
like($out, qr/^would: sequence of public\.orders\.id: source at 100, target set to 1100$/m,
	'--dry-run prints the sequence moves');
like($out, qr/^would: read path: create server "migration_split_orders"/m, '--dry-run prints the read path');
like($out, qr/^would: mark extracted/m, '--dry-run prints the last step');
like($out, qr/^dry run: nothing was changed$/m, '--dry-run says so');
is(snapshot(), $before, '--dry-run changed nothing on either side');

# 3a. a writer keeps its transaction open past --timeout: the freeze gives
# up, nothing frozen, the writer commits
my $writer = IPC::Run::start(
	[ 'psql', '-X', '-d', $S, '-c',
	  "BEGIN; INSERT INTO orders (client, note) VALUES (0, 'long'); SELECT pg_sleep(5); COMMIT;" ],
	'>', '/dev/null', '2>', '/dev/null');
$src->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_locks WHERE mode = 'RowExclusiveLock' AND relation = 'orders'::regclass AND pid <> pg_backend_pid()")
  or die 'no writer';
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--timeout', '1');
is($rc, 13, 'a writer holding its transaction past --timeout: exit 13');
like($err, qr/could not freeze domain "orders": canceling statement due to lock timeout/, 'lock timeout reported');
is($job->lifecycle($src), 'streaming', 'not frozen');
$writer->finish;
is($src->safe_psql('postgres', "SELECT count(*) FROM orders WHERE note = 'long'"), '1', 'the writer committed');

# 3. the catch-up times out: unfreeze, exit 13, nothing else changed
# (the target's table locked: the stream cannot apply the new row)
my $locker = lock_table_for($tgt, 'orders.orders', 8);
$src->safe_psql('postgres', "INSERT INTO orders (client, note) VALUES (0, 'blocked')");
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--timeout', '2');
is($rc, 13, 'catch-up past --timeout: exit 13');
like($err, qr/the target did not apply the changes up to [0-9A-F]+\/[0-9A-F]+ within 2 s/, 'timeout reported');
like($err, qr/The domain was unfrozen/, 'unfreeze reported');
is($job->lifecycle($src), 'streaming', 'domain streams again after the timeout');
is($src->safe_psql('postgres', "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'migration_split_freeze%'"),
	'0', 'no freeze trigger left');
$src->safe_psql('postgres', "INSERT INTO orders (client, note) VALUES (0, 'after timeout')");
pass('the monolith accepts writes after the timeout');
is($tgt->safe_psql('postgres', q{SELECT string_agg(format('%s %s', sequencename, last_value), ',' ORDER BY sequencename COLLATE "C")
	FROM pg_sequences WHERE schemaname = 'orders'}),
	'order_line_id_seq 100,orders_id_seq 100', 'target sequences untouched by the timed-out cutover');
$locker->finish;

# 4. cutover under a write load from several clients
my $script = $PostgreSQL::Test::Utils::tmp_check . '/insert.sql';
open(my $fh, '>', $script) or die;
print $fh "\\set c random(1, 10)\n";
print $fh "INSERT INTO orders (client, customer_id, note) VALUES (:client_id + 1, :c, 'load');\n";
print $fh "INSERT INTO order_line (order_id, qty) VALUES (currval('orders_id_seq'), :client_id);\n";
close $fh;
my ($lout, $lerr) = ('', '');
my $load = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '4', '-T', '20', '-f', $script, $S ],
	'>', \$lout, '2>', \$lerr);
$src->poll_query_until('postgres', "SELECT count(*) > 200 FROM orders WHERE client > 0")
  or die 'no load';
my $t0 = time;
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--timeout', '30', '--read-path');
is($rc, 0, 'cutover under load exits 0') or diag($err);
$load->finish;
like($lerr, qr/cannot insert into table "public\.(orders|order_line)": domain "orders" belongs to service "host=.*" now/,
	'the load clients were refused by the freeze');
unlike($lerr, qr/password/, 'no password in messages');
my ($window) = $out =~ /writes were refused for (\d+) ms before the service was ready/;
ok(defined $window, "write-unavailability window reported: $window ms");
cmp_ok($window, '<', 5000, 'write-unavailability window under 5 s on this shared machine');
like($out, qr/Domain "orders" is extracted\.  The application must now:/, 'what to switch is printed');
like($out, qr/public\.orders -> orders\.orders/, 'tables to switch listed');

my $acked = $src->safe_psql('postgres',
	"SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY id)) FROM migration_split_archive.orders");
is($tgt->safe_psql('postgres',
	"SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY id)) FROM orders.orders"),
	$acked, 'every acknowledged write of the monolith is in the service');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM orders.order_line'),
	$src->safe_psql('postgres', 'SELECT count(*) FROM migration_split_archive.order_line'),
	'order lines too');
is($src->safe_psql('postgres', q{SELECT state || ' ' || (source_lsn IS NOT NULL) || ' ' || (service LIKE 'host=%')
	FROM migration_split.domain_lifecycle WHERE domain = 'orders'}),
	'extracted true true', 'domain extracted with the freeze LSN and the service');

# every write after the freeze: MS002
my ($r2, $o2, $e2) = $src->psql('postgres',
	"\\set VERBOSITY verbose\nINSERT INTO migration_split_archive.orders (client) VALUES (99)");
like($e2, qr/ERROR:  MS002: cannot insert into table "migration_split_archive\.orders"/, 'a later write fails with MS002');
($r2, $o2, $e2) = $src->psql('postgres', "\\set VERBOSITY verbose\nTRUNCATE migration_split_archive.order_line");
like($e2, qr/ERROR:  MS002/, 'TRUNCATE after the freeze fails with MS002');
($r2, $o2, $e2) = $src->psql('postgres', "INSERT INTO orders (client) VALUES (99)");
like($e2, qr/foreign table "orders" does not allow inserts/, 'writes through the read path are refused');

# sequences: the service inserts without a collision
my $srcmax = $src->safe_psql('postgres', 'SELECT max(id) FROM migration_split_archive.orders');
my $newid = $tgt->safe_psql('postgres', "INSERT INTO orders.orders (client, note) VALUES (-1, 'service') RETURNING id");
cmp_ok($newid, '>', $srcmax + 999, "the service's next order id $newid is past the monolith's $srcmax by the gap");
$tgt->safe_psql('postgres', "INSERT INTO orders.order_line (order_id, qty) VALUES ($newid, 1)");
pass('the service inserts an order line without a collision');

# the read path: the service's rows, and a join with another domain
is($src->safe_psql('postgres', "SELECT note FROM orders WHERE id = $newid"), 'service',
	"the monolith reads the service's new order through the read path");
is($src->safe_psql('postgres', "SELECT c.name FROM orders o JOIN customer c ON c.id = o.customer_id WHERE o.id = 1"),
	$tgt->safe_psql('postgres', "SELECT 'c' || customer_id FROM orders.orders WHERE id = 1"),
	'a join with another domain answers');
is($src->safe_psql('postgres', 'SELECT count(*) FROM orders'),
	$tgt->safe_psql('postgres', 'SELECT count(*) FROM orders.orders'), 'every row readable in the monolith');
is($src->safe_psql('postgres', q{SELECT umoptions IS NULL FROM pg_user_mappings WHERE srvname = 'migration_split_orders'}),
	'f', 'the user mapping exists');

# a second cutover has nothing to do
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check');
is($rc, 0, 'cutover again exits 0');
like($out, qr/domain "orders" is extracted already; nothing to do/, 'and says so');

# finalize: the stream must stop first
my ($frc, $fout, $ferr);
IPC::Run::run([ 'migration-split', 'finalize', @common, '--drop-archive' ], '>', \$fout, '2>', \$ferr);
is($? >> 8, 5, 'finalize while the stream runs: exit 5');
like($ferr, qr/replication slot "migration_split_orders" is in use/, 'slot in use reported');
$stream->signal('TERM');
$stream->finish;
$src->poll_query_until('postgres',
	"SELECT NOT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'");
IPC::Run::run([ 'migration-split', 'finalize', @common, '--drop-archive' ], '>', \$fout, '2>', \$ferr);
is($? >> 8, 0, 'finalize exits 0') or diag($ferr);
like($fout, qr/drop archived table migration_split_archive\.orders/, 'archived table dropped');
is($job->lifecycle($src), 'final', 'domain final');
is($src->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots"), '0', 'slot dropped');
is($src->safe_psql('postgres', "SELECT count(*) FROM migration_split.read_paths"), '0', 'read paths forgotten');
is($src->safe_psql('postgres', 'SELECT count(*) FROM orders'),
	$tgt->safe_psql('postgres', 'SELECT count(*) FROM orders.orders'), 'the read path still answers');
is($src->safe_psql('postgres', q{SELECT string_agg(to_state, ',' ORDER BY step) FROM migration_split.domain_transitions
	WHERE domain = 'orders'}),
	'copying,streaming,frozen,streaming,frozen,extracted,final', 'the whole story in the log');

# 5. a cutover killed (SIGKILL) while it waits for the catch-up leaves the
# domain frozen; running it again resumes; with no stream holding the
# slot, cutover streams itself
my @cc = ('--source', $S, '--target', $T, '--domain', 'customers');
ok(run_log([ 'migration-split', 'init', @cc ]), 'init of domain customers');
$locker = lock_table_for($tgt, 'customers.customer', 5);
$src->safe_psql('postgres', q{
INSERT INTO customer VALUES (11, 'late');
UPDATE customer SET name = 'changed' WHERE id = 1;
});
my $killed = IPC::Run::start([ 'migration-split', 'cutover', @cc, '--skip-verify-check', '--timeout', '60' ],
	'>', '/dev/null', '2>', '/dev/null');
$src->poll_query_until('postgres',
	"SELECT state = 'frozen' FROM migration_split.domain_lifecycle WHERE domain = 'customers'")
  or die 'not frozen';
$killed->signal('KILL');
$killed->finish;
is($job->lifecycle($src, 'customers'), 'frozen', 'a killed cutover leaves the domain frozen');
$locker->finish;
$src->poll_query_until('postgres',
	"SELECT NOT active FROM pg_replication_slots WHERE slot_name = 'migration_split_customers'")
  or die 'slot still active';
IPC::Run::run([ 'migration-split', 'cutover', @cc, '--skip-verify-check' ], '>', \$out, '2>', \$err);
is($? >> 8, 0, 'a cutover resumed after the freeze exits 0') or diag($err);
like($out, qr/freeze: domain "customers" is frozen already \(an earlier cutover stopped\); continuing/,
	'resumed, not frozen again');
like($out, qr/preflight: slot "migration_split_customers" idle \(cutover will stream itself\)/,
	'no stream running: cutover streams itself');
is($tgt->safe_psql('postgres', q{SELECT string_agg(id || ' ' || name, ',' ORDER BY id) FROM customers.customer WHERE id IN (1, 11)}),
	'1 changed,11 late', 'the changes made before the freeze are in the service');
is($src->safe_psql('postgres', q{SELECT state || ' ' || (service LIKE 'host=%') FROM migration_split.domain_lifecycle WHERE domain = 'customers'}),
	'extracted true', 'customers extracted');

# 6. pg_dump keeps all of it: the lifecycle log, the read paths, the
# freeze triggers of the monolith's tables
my $dump = $PostgreSQL::Test::Utils::tmp_check . '/source.sql';
$src->command_ok([ 'pg_dump', '-f', $dump, '-d', $S ], 'pg_dump of the monolith');
$tgt->safe_psql('postgres', 'CREATE DATABASE restored');
$tgt->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $dump, '-d', $tgt->connstr('restored') ],
	'restore of the monolith');
is($tgt->safe_psql('restored', q{SELECT string_agg(domain || ' ' || state, ',' ORDER BY domain) FROM migration_split.domain_lifecycle}),
	'customers extracted,orders final', 'lifecycle restored');
is($tgt->safe_psql('restored', q{SELECT string_agg(step || to_state, ',' ORDER BY step) FROM migration_split.domain_transitions WHERE domain = 'customers'}),
	'1copying,2streaming,3frozen,4extracted', 'transition log restored');
my ($r3, $o3, $e3) = $tgt->psql('restored', "\\set VERBOSITY verbose\nDELETE FROM customer");
like($e3, qr/ERROR:  MS002: cannot delete from table "public\.customer": domain "customers"/,
	'the restored monolith keeps the domain frozen');

done_testing();
