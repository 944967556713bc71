# A target that takes no writes: a database with default_transaction_read_only
# on, or a hot standby given as --target.  init, stream and verify refuse it
# up front with a message that says so (exit 4, the target is not in the
# expected state), before init creates a slot on the source; a target that
# turns read-only while a stream runs ends the stream with exit 4 and the
# same explanation, not exit 7 (a change that cannot be applied) or exit 8
# (an unexpected server error).  cutover, rollback and finalize, which
# write in the monolith, refuse a read-only source in their preflight
# (exit 12) instead of failing at their first write there (exit 8), and
# stream --reverse, which applies to the monolith, refuses a read-only one
# (exit 4).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JobClusters;

my ($src, $tgt) = source_and_target(target_logical => 1);
my @common = one_table_domain($src, $tgt, q{(1, 'a')});
my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');
my ($rc, $out, $err);

# statements on the target whatever its default_transaction_read_only says
sub tgt_write
{
	my ($sql) = @_;
	local $ENV{PGOPTIONS} = '-c default_transaction_read_only=off';
	$tgt->safe_psql('postgres', $sql);
}

sub slots
{
	return $src->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots');
}

# --- init: a read-only target database -------------------------------------
tgt_write('ALTER DATABASE postgres SET default_transaction_read_only = on');
($rc, $out, $err) = run_migration_split('init', @common, '--no-progress');
is($rc, 4, 'init, read-only target database: exit 4');
like($err, qr/^migration-split: error: the target database \(host=.* dbname=postgres\) is read-only\n.*detail: default_transaction_read_only is on for the database \(ALTER DATABASE\); init creates the domain's tables and writes its state in the target database\.\n.*hint: Run ALTER DATABASE postgres RESET default_transaction_read_only in the target database, or give --target a database that takes writes\.\n\z/s,
	'init, read-only target database: message');
is(slots(), '0', 'init, read-only target database: no slot created on the source');

# the same set for the role of --target
tgt_write('ALTER DATABASE postgres RESET default_transaction_read_only; CREATE ROLE ro LOGIN SUPERUSER; ALTER ROLE ro SET default_transaction_read_only = on');
($rc, $out, $err) = run_migration_split('init', @common[0 .. 1], '--target', "$T user=ro", @common[4 .. 5], '--no-progress');
is($rc, 4, 'init, read-only target role: exit 4');
like($err, qr/detail: default_transaction_read_only is on for the role \(ALTER ROLE\);.*\n.*hint: Run ALTER ROLE ro RESET default_transaction_read_only in the target database, or give --target a database that takes writes\./s,
	'init, read-only target role: names the role');

# --- stream and verify: the same after init --------------------------------
($rc, $out, $err) = run_migration_split('init', @common, '--no-progress');
is($rc, 0, 'init') or diag($err);
tgt_write('ALTER DATABASE postgres SET default_transaction_read_only = on');
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (2, 'b')");
($rc, $out, $err) = run_migration_split('stream', @common, '--until-caught-up');
is($rc, 4, 'stream, read-only target database: exit 4');
like($err, qr/^migration-split: error: the target database \(.*\) is read-only\n.*detail: default_transaction_read_only is on for the database \(ALTER DATABASE\); stream applies the domain's changes and writes its state in the target database\./s,
	'stream, read-only target database: message');
($rc, $out, $err) = run_migration_split('verify', @common, '--timeout', '5', '--no-progress');
is($rc, 4, 'verify, read-only target database: exit 4');
like($err, qr/error: the target database \(.*\) is read-only\n.*detail: .*verify pauses the stream through the job's state in the target database\./s,
	'verify, read-only target database: message');
# status only reads
($rc, $out, $err) = run_migration_split('status', @common);
is($rc, 0, 'status, read-only target database: exit 0') or diag($err);
tgt_write('ALTER DATABASE postgres RESET default_transaction_read_only');

# --- a target that turns read-only while the stream runs ---------------------
my ($h, $log) = start_stream($src, @common);
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (3, 'c')");
$tgt->poll_query_until('postgres', 'SELECT count(*) = 3 FROM orders.orders_t')
  or die 'stream did not apply';
tgt_write('ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf()');
sleep 1;
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (4, 'd')");
my $t = IPC::Run::timer(60);
eval { $h->finish; };
my $streamlog = slurp_file($log);
is($h->result(0), 4, 'stream, target turned read-only: exit 4');
like($streamlog, qr/error: could not apply INSERT on table "public\.orders_t" \(source commit LSN [0-9A-F\/]+, xid \d+\): cannot execute INSERT in a read-only transaction\n.*detail: The target database \(.*\) is read-only: default_transaction_read_only is on for the server \(configuration file\); stream applies the domain's changes and writes its state in the target database\.\n.*hint: Turn default_transaction_read_only off in the target server's configuration \(ALTER SYSTEM RESET default_transaction_read_only, then reload\), then run stream again\.\n/s,
	'stream, target turned read-only: the change and why it failed');
tgt_write('ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()');
($rc, $out, $err) = run_migration_split('stream', @common, '--until-caught-up');
is($rc, 0, 'stream once the target takes writes again') or diag($err);
is(table_rows($tgt, 'orders.orders_t'), '(1,a);(2,b);(3,c);(4,d)', 'every change applied');

# --- cutover, rollback and finalize write in the monolith: a read-only
# source fails their preflight (exit 12), nothing changed
my $lifecycle = "SELECT state FROM migration_split.domain_lifecycle WHERE domain = 'orders'";
my $before = $src->safe_psql('postgres', $lifecycle);
$src->safe_psql('postgres', 'ALTER DATABASE postgres SET default_transaction_read_only = on');
for my $cmd ([ 'cutover', '--skip-verify-check' ], [ 'rollback' ], [ 'finalize' ])
{
	my ($name, @args) = @$cmd;
	($rc, $out, $err) = run_migration_split($name, @common, @args);
	is($rc, 12, "$name, read-only source database: exit 12");
	like($err, qr/^migration-split: error: preflight failed: the source database \(.* dbname=postgres\) is read-only\n.*detail: default_transaction_read_only is on for the database \(ALTER DATABASE\); $name [^\n]* in the source database[^\n]*\. Nothing was changed\.\n.*hint: Run ALTER DATABASE postgres RESET default_transaction_read_only in the source database, or give --source a database that takes writes\.\n\z/s,
		"$name, read-only source database: message");
}
{
	local $ENV{PGOPTIONS} = '-c default_transaction_read_only=off';
	$src->safe_psql('postgres', 'ALTER DATABASE postgres RESET default_transaction_read_only');
}
is($src->safe_psql('postgres', $lifecycle), $before, "read-only source: the lifecycle state is still \"$before\"");

# --- a hot standby as --target ----------------------------------------------
$tgt->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($tgt, 'b', has_streaming => 1);
$standby->start;
$tgt->wait_for_catchup($standby);
my @on_standby = (@common[0 .. 1], '--target', $standby->connstr('postgres'), @common[4 .. 5]);
for my $cmd ([ 'init', '--drop', '--no-progress' ], [ 'stream', '--until-caught-up' ], [ 'verify', '--timeout', '5' ])
{
	my ($name, @args) = @$cmd;
	($rc, $out, $err) = run_migration_split($name, @on_standby, @args);
	is($rc, 4, "$name, hot standby as target: exit 4");
	like($err, qr/^migration-split: error: the target database \(.*\) is a hot standby\n.*detail: $name .* in the target database; a standby server takes no writes\.\n.*hint: Give --target the primary server of the service database\.\n\z/s,
		"$name, hot standby as target: message");
}
is(slots(), '1', 'init --drop on a standby dropped nothing: the slot is still there');

$standby->stop;

# --- stream --reverse writes in the monolith: a read-only one is refused up
# front, named as --source (exit 4: the database it applies to)
($rc, $out, $err) = run_migration_split('cutover', @common, '--skip-verify-check');
is($rc, 0, 'cutover') or diag($err);
$src->safe_psql('postgres', 'ALTER DATABASE postgres SET default_transaction_read_only = on');
($rc, $out, $err) = run_migration_split('stream', @common, '--reverse', '--until-caught-up');
is($rc, 4, 'stream --reverse, read-only monolith: exit 4');
like($err, qr/^migration-split: error: the source database \(.* dbname=postgres\) is read-only\n.*detail: default_transaction_read_only is on for the database \(ALTER DATABASE\); stream --reverse applies the service's changes to the domain's tables and writes its state in the source database\.\n.*hint: Run ALTER DATABASE postgres RESET default_transaction_read_only in the source database, or give --source a database that takes writes\.\n\z/s,
	'stream --reverse, read-only monolith: message');
{
	local $ENV{PGOPTIONS} = '-c default_transaction_read_only=off';
	$src->safe_psql('postgres', 'ALTER DATABASE postgres RESET default_transaction_read_only');
}
($rc, $out, $err) = run_migration_split('stream', @common, '--reverse', '--until-caught-up');
is($rc, 0, 'stream --reverse once the monolith takes writes') or diag($err);

$src->stop;
$tgt->stop;
done_testing();
