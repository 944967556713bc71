# migration-split rollback end to end, two clusters: the reverse stream set
# up by cutover, rollback errors, rollback under a write load on the service
# from several clients (every acknowledged service write found in the
# monolith), the monolith writes again and streams forward without a
# duplicate, cutover again; then cutover and rollback killed (SIGKILL) at
# every step and at a random moment, rerun, nothing lost or duplicated.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use JobClusters;

my $job = orders_job();
my ($src, $tgt, $S, $T) = @$job{qw(src tgt S T)};
my @common = $job->common;

# 1. rollback errors before any cutover
my ($rc, $out, $err) = $job->run_job('rollback');
is($rc, 12, 'rollback of a domain that is not extracted: exit 12');
like($err, qr/preflight failed: domain "orders" is not extracted \(state "monolith"\)/, 'the message says why');
like($err, qr/Nothing was changed\./, 'and that nothing changed');
($rc, $out, $err) = $job->run_job('rollback', '--domain', 'nosuch');
is($rc, 3, 'rollback of an unknown domain: exit 3');
like($err, qr/domain "nosuch" does not exist in the source database/, 'unknown domain named');
IPC::Run::run([ 'migration-split', 'rollback', '--source', $S, '--target', 'host=/nonexistent port=1 dbname=x',
	'--domain', 'orders' ], '>', \$out, '2>', \$err);
is($? >> 8, 2, 'rollback with an unreachable service: exit 2');
($rc, $out, $err) = $job->run_job('rollback', '--read-path');
is($rc, 1, '--read-path is not an option of rollback');

# 2. cutover sets up the reverse stream (the forward stream running)
$job->stream_until_caught_up();
my $fwdlog = $PostgreSQL::Test::Utils::tmp_check . '/forward.log';
my $fwd = IPC::Run::start([ 'migration-split', 'stream', @common, '--status-interval', '0' ],
	'>>', $fwdlog, '2>>', $fwdlog);
$src->poll_query_until('postgres', "SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'forward stream does not start';
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--read-path');
is($rc, 0, 'cutover with the read path') or diag($err);
like($out, qr/^preflight: the service can run the reverse stream/m, 'the preflight checks the service');
like($out, qr/^reverse stream: create slot "migration_split_reverse_orders" on the service/m, 'reverse slot step printed');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'migration_split_reverse_orders' AND plugin = 'migration_split'}),
	'1', 'the reverse slot exists on the service');
is($src->safe_psql('postgres', q{SELECT slot_name || ' ' || phase || ' ' || target_schema FROM migration_split_job.jobs WHERE domain = 'orders'}),
	'migration_split_reverse_orders streaming public', 'the reverse job state is in the monolith');
is($tgt->safe_psql('postgres', q{SELECT string_agg(rel::text, ',' ORDER BY rel::text) FROM migration_split.ownership WHERE domain = 'orders'}),
	'orders.order_line,orders.orders', "the service's tables are tagged");
is($job->lifecycle($tgt), 'streaming', "the service's side of the lifecycle: the reverse stream leaves it");
is($job->lifecycle($src), 'extracted', 'the domain is extracted');

# status shows the reverse stream next to the forward one
($rc, $out, $err) = $job->run_job('status');
is($rc, 0, 'status after the cutover') or diag($err);
like($out, qr/^reverse stream \(service to monolith, state in the monolith\):$/m, 'status shows the reverse stream');
like($out, qr/^  slot:\s+migration_split_reverse_orders, inactive, restart [0-9A-F]+\/[0-9A-F]+, confirmed [0-9A-F]+\/[0-9A-F]+, retains \d+ bytes of WAL/m,
	'its slot on the service');
like($out, qr/^  applied up to:\s+[0-9A-F]+\/[0-9A-F]+ \(service commit at -\)$/m, 'its applied position');
like($out, qr/^  lag:\s+\d+ bytes, - s$/m, 'its lag');
like($out, qr/^  last error:\s+none$/m, 'its last error');
like($out, qr/^slot:\s+migration_split_orders, active/m, 'the forward slot is still shown');
($rc, $out, $err) = $job->run_job('status', '--json');
is($rc, 0, 'status --json after the cutover') or diag($err);
like($out, qr/"reverse": \{"target_schema": "public", "slot": "migration_split_reverse_orders", "applied_lsn": "[0-9A-F]+\/[0-9A-F]+",.* "lag_bytes": \d+,.* "slot_exists": true, "slot_active": false,.* "last_error": null, "last_error_at": null\}\}$/m,
	'status --json shows the reverse stream');

# the forward stream must be stopped first
($rc, $out, $err) = $job->run_job('rollback');
is($rc, 12, 'rollback while the forward stream runs: exit 12');
like($err, qr/the forward stream of domain "orders" is running \(slot "migration_split_orders"\)/, 'the message names it');
$fwd->signal('TERM');
$fwd->finish;
$src->poll_query_until('postgres', "SELECT NOT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'forward stream does not stop';
($rc, $out, $err) = $job->run_job('stream', '--until-caught-up');
is($rc, 3, 'the forward stream refuses to start while the domain is extracted with a reverse stream');
like($err, qr/domain "orders" is extracted and has a reverse stream: the forward stream must not run/, 'and says why');

# 3. the service takes writes; --dry-run changes nothing
my $newid = $tgt->safe_psql('postgres', "INSERT INTO orders.orders (client, note) VALUES (-1, 'service') RETURNING id");
$tgt->safe_psql('postgres', "UPDATE orders.orders SET note = 'changed in service' WHERE id = 5; DELETE FROM orders.order_line WHERE id = 7");
sub snapshot
{
	return join("\n",
		$src->safe_psql('postgres', q{SELECT string_agg(format('%s %s %s', step, to_state, changed_by), ',' ORDER BY step) FROM migration_split.domain_transitions}),
		$tgt->safe_psql('postgres', q{SELECT string_agg(format('%s %s', step, to_state), ',' ORDER BY step) FROM migration_split.domain_transitions}),
		$src->safe_psql('postgres', q{SELECT string_agg(c.oid::regclass::text || ':' || c.relkind::text, ',' ORDER BY c.oid) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace}),
		$src->safe_psql('postgres', q{SELECT string_agg(slot_name || ' ' || confirmed_flush_lsn, ',') FROM pg_replication_slots}),
		$tgt->safe_psql('postgres', q{SELECT string_agg(slot_name || ' ' || confirmed_flush_lsn, ',') FROM pg_replication_slots}),
		$src->safe_psql('postgres', q{SELECT string_agg(format('%s %s', sequencename, last_value), ',' ORDER BY sequencename) FROM pg_sequences}),
		$job->rows_digest($src, $job->mono_table('orders'), $job->mono_table('order_line')));
}
my $before = snapshot();
($rc, $out, $err) = $job->run_job('rollback', '--dry-run');
is($rc, 0, 'rollback --dry-run exits 0') or diag($err);
like($out, qr/^would: freeze: migration_split\.freeze_domain\('orders', 'host=.*', rollback => true\) in the service/m, 'prints the freeze');
like($out, qr/^would: catch up: apply the reverse stream/m, 'prints the catch-up');
like($out, qr/^would: forward slot "migration_split_orders": advance/m, 'prints the slot advance');
like($out, qr/^would: read path: migration_split\.disable_read_path\('orders'\)/m, 'prints the read path removal');
like($out, qr/^would: unfreeze: /m, 'prints the unfreeze');
like($out, qr/^dry run: nothing was changed$/m, 'says so');
is(snapshot(), $before, 'rollback --dry-run changed nothing on either side');

# the reverse stream cannot apply in time: the service is unfrozen, exit 13
my $locker = lock_table_for($src, 'migration_split_archive.orders', 8);
($rc, $out, $err) = $job->run_job('rollback', '--timeout', '2');
is($rc, 13, 'a reverse catch-up past --timeout: exit 13');
like($err, qr/the monolith did not apply the service's changes up to [0-9A-F]+\/[0-9A-F]+ within 2 s/, 'timeout reported');
like($err, qr/The domain was unfrozen in the service, which takes its writes again/, 'the unfreeze is reported');
is($job->lifecycle($tgt) . ' ' . $job->lifecycle($src), 'streaming extracted', 'the service takes writes, the domain stays extracted');
$locker->finish;

# 4. rollback under a write load on the service from several clients
my $script = $PostgreSQL::Test::Utils::tmp_check . '/svc.sql';
open(my $fh, '>', $script) or die;
print $fh "\\set c random(1, 10)\n\\set u random(1, 100)\n";
print $fh "INSERT INTO orders.orders (client, customer_id, note) VALUES (:client_id + 1, :c, 'svc');\n";
print $fh "INSERT INTO orders.order_line (order_id, qty) VALUES (currval('orders.orders_id_seq'), :client_id);\n";
print $fh "UPDATE orders.orders SET note = note || '+' WHERE id = :u;\n";
close $fh;
my ($lout, $lerr) = ('', '');
my $load = IPC::Run::start([ 'pgbench', '-n', '-c', '4', '-T', '15', '-f', $script, $T ], '>', \$lout, '2>', \$lerr);
$tgt->poll_query_until('postgres', "SELECT count(*) > 200 FROM orders.orders WHERE note = 'svc'")
  or die 'no load';
($rc, $out, $err) = $job->run_job('rollback', '--timeout', '60');
is($rc, 0, 'rollback under load exits 0') or diag($err);
$load->finish;
like($lerr, qr/cannot (insert into|update) table "orders\.(orders|order_line)": domain "orders" was given back to the monolith "host=/,
	'the service refused the load after its freeze, naming the monolith');
unlike($lerr, qr/belongs to service/, 'the service does not call the monolith a service');
my ($window) = $out =~ /the domain accepted writes nowhere for (\d+) ms/;
ok(defined $window, "rollback window reported: $window ms");
my ($summary) = $out =~ /^(rollback of domain "orders": .*)$/m;
diag($summary);
cmp_ok($window, '<', 10000, 'rollback window under 10 s on this shared machine');
like($out, qr/Domain "orders" is back in the monolith/, 'what to switch back is printed');
is($job->lifecycle($src), 'streaming', 'the domain streams again');
is($src->safe_psql('postgres', q{SELECT to_state || ' ' || (changed_by IS NOT NULL) FROM migration_split.domain_transitions
	WHERE domain = 'orders' ORDER BY step DESC LIMIT 1}), 'streaming true', 'the transition is logged with who made it');
is($job->mono_table('orders'), 'orders', 'the read path is gone: the table is back in public');
is($src->safe_psql('postgres', q{SELECT relkind FROM pg_class WHERE oid = 'public.orders'::regclass}), 'r', 'a table again');
$job->both_equal('every acknowledged write of the service is in the monolith (updates and deletes included)');
is($src->safe_psql('postgres', "SELECT note FROM orders WHERE id = $newid"), 'service', "the service's first order is in the monolith");
is($src->safe_psql('postgres', "SELECT count(*) FROM order_line WHERE id = 7"), '0', "the service's delete is in the monolith");
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'migration_split_reverse_orders'}),
	'0', 'the reverse slot is dropped');
is($src->safe_psql('postgres', q{SELECT count(*) FROM migration_split_job.jobs}), '0', 'the reverse state is gone');
is($job->lifecycle($tgt), 'frozen', 'the service stays frozen for the domain');
($rc, $out, $err) = $job->run_job('status', '--json');
like($out, qr/"reverse": null\}$/m, 'status --json: no reverse stream after the rollback');
($rc, $out, $err) = $job->run_job('status');
like($out, qr/^reverse stream:\s+none$/m, 'status: no reverse stream after the rollback');
my ($r2, $o2, $e2) = $tgt->psql('postgres', "\\set VERBOSITY verbose\nINSERT INTO orders.orders (client) VALUES (99)");
like($e2, qr/ERROR:  MS002: cannot insert into table "orders\.orders"/, 'a write in the service fails with MS002');
like($e2, qr/HINT:  Write through the monolith; the next migration-split cutover of the domain unfreezes it here\./,
	'its hint sends the writes to the monolith');

# 5. the monolith takes writes and streams them forward, without a duplicate
my $monoid = $src->safe_psql('postgres', "INSERT INTO orders (client, note) VALUES (-2, 'monolith again') RETURNING id");
cmp_ok($monoid, '>', $tgt->safe_psql('postgres', 'SELECT max(id) FROM orders.orders') + 999,
	"the monolith's sequence is past the service's by the gap");
$src->safe_psql('postgres', "UPDATE orders SET note = 'monolith update' WHERE id = $newid; INSERT INTO order_line (order_id, qty) VALUES ($monoid, 5)");
$job->stream_until_caught_up();
$job->both_equal('the forward stream carries the monolith writes, and none of the reverse writes came back');
is($tgt->safe_psql('postgres', "SELECT note FROM orders.orders WHERE id = $newid"), 'monolith update', 'the update arrived');
is($tgt->safe_psql('postgres', q{SELECT last_error IS NULL FROM migration_split_job.jobs WHERE domain = 'orders'}), 't',
	'the forward stream recorded no error');

# 6. cutover again
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--read-path');
is($rc, 0, 'cutover again exits 0') or diag($err);
like($out, qr/^service: migration_split\.unfreeze_domain\('orders'\) in the service database/m, 'the service is unfrozen');
is($job->lifecycle($tgt), 'streaming', 'the service takes writes again');
my $id2 = $tgt->safe_psql('postgres', "INSERT INTO orders.orders (client, note) VALUES (-3, 'service again') RETURNING id");
cmp_ok($id2, '>', $monoid + 999, 'the service inserts past the monolith by the gap');
is($src->safe_psql('postgres', "SELECT note FROM orders WHERE id = $id2"), 'service again', 'the read path reads it');

# stream --reverse keeps the monolith's archived copy current; rollback
# waits for it, then ends it
my ($revout, $reverr) = ('', '');
my $rev = IPC::Run::start([ 'migration-split', 'stream', '--reverse', @common, '--status-interval', '0' ],
	'>', \$revout, '2>', \$reverr);
$src->poll_query_until('postgres', "SELECT count(*) = 1 FROM migration_split_archive.orders WHERE id = $id2")
  or die 'the reverse stream does not apply';
pass("stream --reverse applies the service's order to the monolith's archived table");
is($src->safe_psql('postgres', q{SELECT relkind FROM pg_class WHERE oid = 'public.orders'::regclass}), 'f',
	'while the monolith reads through the foreign table');
$tgt->safe_psql('postgres', "UPDATE orders.orders SET note = 'last service write' WHERE id = $id2");
($rc, $out, $err) = $job->run_job('rollback');
is($rc, 0, 'rollback while stream --reverse runs') or diag($err);
diag(($out =~ /^(rollback of domain "orders": .*)$/m)[0] // 'no summary');
$rev->finish;
isnt($? >> 8, 0, 'the reverse stream ended when its slot was dropped');
is($src->safe_psql('postgres', "SELECT note FROM orders WHERE id = $id2"), 'last service write', 'the last service write is in the monolith');
$job->both_equal('both sides equal after a rollback with a running reverse stream');
$job->stream_until_caught_up();
($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--read-path');
is($rc, 0, 'and cutover again') or diag($err);

# 7. killed at every step of rollback and of cutover, rerun
my @rollback_points = qw(rollback-frozen rollback-caught-up rollback-advanced rollback-unfrozen rollback-slot-dropped);
my @cutover_points = qw(cutover-frozen cutover-reverse cutover-extracted);
my $round = 0;
for my $point (@rollback_points)
{
	$round++;
	$tgt->safe_psql('postgres', qq{
		INSERT INTO orders.orders (client, note) SELECT -10 - $round, 'round $round' FROM generate_series(1, 20);
		UPDATE orders.orders SET note = note || ' r$round' WHERE id % 7 = $round;
		DELETE FROM orders.order_line WHERE id % 11 = $round;});
	my $status = $job->run_crashing($point, 'rollback');
	is($status & 127, 9, "rollback killed at $point");
	($rc, $out, $err) = $job->run_job('rollback');
	is($rc, 0, "rollback rerun after a kill at $point") or diag($err);
	is($job->lifecycle($src), 'streaming', "streaming after the rerun ($point)");
	$job->both_equal("nothing lost or duplicated by a kill at $point");
	$src->safe_psql('postgres', qq{INSERT INTO orders (client, note) VALUES (-20 - $round, 'mono $round')});
	$job->stream_until_caught_up();
	$job->both_equal("the monolith's writes arrive once after a kill at $point");

	my $cpoint = $cutover_points[($round - 1) % @cutover_points];
	$status = $job->run_crashing($cpoint, 'cutover', '--skip-verify-check', '--read-path');
	is($status & 127, 9, "cutover killed at $cpoint");
	($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--read-path');
	is($rc, 0, "cutover rerun after a kill at $cpoint") or diag($err);
	is($job->lifecycle($src) . ' ' . $job->lifecycle($tgt), 'extracted streaming', "extracted, the service writable ($cpoint)");
	$job->both_equal("nothing lost by a cutover killed at $cpoint");
}

# 8. killed at a random moment during a rollback under load on the
# service, then during the cutover back under load on the monolith
my $monoscript = $PostgreSQL::Test::Utils::tmp_check . '/mono.sql';
open($fh, '>', $monoscript) or die;
print $fh "INSERT INTO orders (client, note) VALUES (:client_id + 100, 'mono load');\n";
close $fh;
for my $delay (0.3, 0.9)
{
	my ($l2out, $l2err) = ('', '');
	my $n0 = $tgt->safe_psql('postgres', "SELECT count(*) FROM orders.orders WHERE note = 'svc'");
	my $load2 = IPC::Run::start([ 'pgbench', '-n', '-c', '3', '-T', '6', '-f', $script, $T ], '>', \$l2out, '2>', \$l2err);
	$tgt->poll_query_until('postgres', "SELECT count(*) > $n0 + 50 FROM orders.orders WHERE note = 'svc'")
	  or die 'no load';
	my $rb = IPC::Run::start([ 'migration-split', 'rollback', @common ], '>', '/dev/null', '2>', '/dev/null');
	usleep($delay * 1_000_000);
	$rb->signal('KILL');
	$rb->finish;
	$load2->finish;
	# the rollback may have done its last step (the reverse state deleted)
	# before the kill, whether or not it had exited: then the rerun finds
	# the domain streaming with no reverse state and refuses, changing nothing
	my $finished = $job->lifecycle($src) eq 'streaming'
	  && $src->safe_psql('postgres', q{SELECT count(*) FROM migration_split_job.jobs}) eq '0';
	($rc, $out, $err) = $job->run_job('rollback');
	if ($finished)
	{
		is($rc . ' ' . $job->lifecycle($src), '12 streaming',
			"rollback done before the kill at ${delay} s: the rerun refuses (exit 12)");
	}
	else
	{
		is($rc, 0, "rollback rerun after a kill at a random moment (${delay} s)") or diag($err);
	}
	$job->both_equal("nothing lost or duplicated (kill after ${delay} s)");
	$job->stream_until_caught_up();
	$job->both_equal('and the forward stream adds nothing twice');

	# and the cutover back, killed at a random moment under a write load
	# on the monolith: the writes acknowledged before the freeze are all
	# in the service, those after it were refused
	my ($m0) = $src->safe_psql('postgres', "SELECT count(*) FROM orders WHERE note = 'mono load'");
	my ($l3out, $l3err) = ('', '');
	my $load3 = IPC::Run::start([ 'pgbench', '-n', '-c', '3', '-T', '6', '-f', $monoscript, $S ],
		'>', \$l3out, '2>', \$l3err);
	$src->poll_query_until('postgres', "SELECT count(*) > $m0 + 50 FROM orders WHERE note = 'mono load'")
	  or die 'no load on the monolith';
	my $co = IPC::Run::start([ 'migration-split', 'cutover', @common, '--skip-verify-check' ],
		'>', '/dev/null', '2>', '/dev/null');
	my $cdelay = sprintf('%.2f', 0.1 + rand(1.2));
	usleep($cdelay * 1_000_000);
	$co->signal('KILL');
	$co->finish;
	my $state_left = $job->lifecycle($src);
	($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check');
	$load3->finish;
	is($rc, 0, "cutover rerun after a kill at a random moment (${cdelay} s, state left: $state_left)") or diag($err);
	is($job->lifecycle($src) . ' ' . $job->lifecycle($tgt), 'extracted streaming',
		"extracted and the service writable after a cutover killed after ${cdelay} s");
	$job->both_equal("every write the monolith acknowledged is in the service (cutover killed after ${cdelay} s)");
}

# 9. finalize drops the reverse stream
($rc, $out, $err) = $job->run_job('finalize');
is($rc, 0, 'finalize exits 0') or diag($err);
like($out, qr/drop replication slot "migration_split_reverse_orders" of the reverse stream/, 'reverse slot dropped');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '0', 'no slot left on the service');
is($src->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '0', 'no slot left on the monolith');
is($src->safe_psql('postgres', 'SELECT count(*) FROM migration_split_job.jobs'), '0', 'no reverse state left');
($rc, $out, $err) = $job->run_job('rollback');
is($rc, 12, 'a final domain cannot be rolled back');
like($err, qr/domain "orders" is not extracted \(state "final"\)/, 'and the message says so');

done_testing();
