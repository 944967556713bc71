# migration-split's messages and exit codes, one subcommand against another:
# finalize of a domain in the wrong lifecycle state fails its preflight
# (exit 12) as rollback and cutover do, an unknown domain is a domain
# problem (exit 3) for finalize, rollback and cutover; counts are singular when they are one
# ("1 table", not "1 tables"); verify says once that it waits for a stream
# that does not run, not every 5 s; status, verify and cutover refuse a
# --slot or --target-schema other than the job's (exit 1, as stream does)
# instead of ignoring it; init --drop of a domain that was cut over is
# refused (exit 12) instead of dropping the service's tables.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target(target_logical => 1);	# the target as a --source too
my @common = one_table_domain($src, $tgt, q{(1, 'a')});
my ($rc, $out, $err);

# --- a one-table domain is "1 table" -----------------------------------------
($rc, $out, $err) = run_migration_split('init', @common, '--no-progress');
is($rc, 0, 'init') or diag($err);
like($out, qr/summed over 1 table, 4 at a time\)/, 'init phases: "1 table"');
like($out, qr/\ninit of domain "orders" done: 1 table in schema "orders"; next: migration-split stream\n/,
	'init summary: "1 table"');
unlike($out . $err, qr/\b1 (tables|rows|changes|transactions)\b/, 'init: no "1" with a plural');

$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (2, 'b')");
($rc, $out, $err) = run_migration_split('stream', @common, '--until-caught-up', '-v');
is($rc, 0, 'stream') or diag($err);
like($err, qr/domain orders: applied up to [0-9A-F\/]+, 1 transaction and 1 change in this run\n/,
	'stream summary: "1 transaction and 1 change"');
unlike($err, qr/\b1 (tables|rows|changes|transactions)\b/, 'stream: no "1" with a plural');

# --- stream from another server than init copied from: says what to give
($rc, $out, $err) = run_migration_split('stream', '--source', $tgt->connstr('postgres'), @common[2 .. 5], '--until-caught-up');
is($rc, 4, 'stream from another source: exit 4');
like($err, qr/error: the source \(system identifier \d+\) is not the one domain "orders" was copied from \(\d+\)\n.*hint: Give --source the database init copied the domain from, or run init --drop to copy it again from this one\.\n/s,
	'stream from another source: message and hint');
($rc, $out, $err) = run_migration_split('status', '--source', $tgt->connstr('postgres'), @common[2 .. 5]);
is($rc, 4, 'status with another source: exit 4 (was: its lag and slot shown)');
like($err, qr/^migration-split: error: the source \(system identifier \d+\) is not the one domain "orders" was copied from \(\d+\)\n.*hint: Give --source the database init copied the domain from, or leave it out to see the target's view only\.\n\z/s,
	'status with another source: message and hint');

# --- --slot and --target-schema other than the job's: refused as by stream --
for my $case ([ 'status', '--slot', 'other' ], [ 'verify', '--target-schema', 'other' ],
	[ 'cutover', '--slot', 'other', '--skip-verify-check', '--dry-run' ], [ 'stream', '--target-schema', 'other' ])
{
	my ($cmd, @args) = @$case;
	($rc, $out, $err) = run_migration_split($cmd, @common, @args);
	is($rc, 1, "$cmd @args[0 .. 1]: exit 1");
	like($err, qr/error: the job of domain "orders" uses slot "migration_split_orders" and target schema "orders"\n.*hint: Pass the same --slot and --target-schema as to init/s,
		"$cmd @args[0 .. 1]: names the job's slot and schema");
}
($rc, $out, $err) = run_migration_split('status', @common, '--slot', 'migration_split_orders', '--target-schema', 'orders');
is($rc, 0, "status with the job's own --slot and --target-schema") or diag($err);

# --- verify --table of another domain: the message names the domain's tables
($rc, $out, $err) = run_migration_split('verify', @common, '--table', 'nosuch', '--no-progress');
is($rc, 3, 'verify --table nosuch: exit 3');
like($err, qr/^migration-split: error: table "nosuch" is not in domain "orders"\nmigration-split: detail: The domain's table is: public\.orders_t\.\nmigration-split: hint: Give --table a table of the domain, as NAME or SCHEMA\.NAME\.\n\z/,
	'verify --table nosuch: names the table it may give');

# --- verify: the wait for a stream that does not run is reported once -----
($rc, $out, $err) = run_migration_split('verify', @common, '--timeout', '12', '--no-progress');
is($rc, 11, 'verify without a stream: exit 11');
my @waits = ($err =~ /no stream is running for domain "orders"/g);
is(scalar(@waits), 1, 'verify without a stream: the waiting line once in 12 s')
  or diag($err);
like($err, qr/^migration-split: no stream is running for domain "orders" \(slot "migration_split_orders" inactive\); waiting up to 12 s\n/m,
	'verify without a stream: what it waits for and how long');

# a verify that finds both sides equal: its summary
my ($h, $log) = start_stream($src, @common);
($rc, $out, $err) = run_verify(\@common);
is($rc, 0, 'verify with the stream running') or diag($err);
like($out, qr/^domain "orders": 1 table, 2 rows equal at source position /m, 'verify summary: "1 table, 2 rows"');
$h->kill_kill;
$h->finish;

# --- finalize and rollback in the wrong lifecycle state ----------------------
($rc, $out, $err) = run_migration_split('finalize', @common);
is($rc, 12, 'finalize of a domain still in the monolith: exit 12, as rollback');
like($err, qr/^migration-split: error: preflight failed: domain "orders" is not extracted \(state "monolith"\)\n.*detail: Nothing was changed\.\n.*hint: Only an extracted domain can be finalized: run "migration-split cutover" first\.\n\z/s,
	'finalize of a domain still in the monolith: message');
($rc, $out, $err) = run_migration_split('rollback', @common);
is($rc, 12, 'rollback of a domain still in the monolith: exit 12');

# an unknown domain: exit 3 for all three
$src->safe_psql('postgres', "CREATE TABLE other_t (id int PRIMARY KEY)");
my @nodomain = (@common[0 .. 3], '--domain', 'nosuch');
($rc, $out, $err) = run_migration_split('finalize', @nodomain);
is($rc, 3, 'finalize of an unknown domain: exit 3');
like($err, qr/^migration-split: error: preflight failed: domain "nosuch" does not exist in the source database\n.*detail: Nothing was changed\.\n\z/s,
	'finalize of an unknown domain: message');
($rc, $out, $err) = run_migration_split('rollback', @nodomain);
is($rc, 3, 'rollback of an unknown domain: exit 3');
like($err, qr/^migration-split: error: preflight failed: domain "nosuch" does not exist in the source database\n.*detail: Nothing was changed\.\n\z/s,
	'rollback of an unknown domain: message');
($rc, $out, $err) = run_migration_split('cutover', @nodomain, '--skip-verify-check');
is($rc, 3, 'cutover of an unknown domain: exit 3');
like($err, qr/^migration-split: error: preflight failed: domain "nosuch" does not exist in the source database\n.*detail: Nothing was changed\.\n\z/s,
	'cutover of an unknown domain: message');

# --- init --drop of a frozen domain (a cutover stopped half-way): refused
$src->safe_psql('postgres', q{
SELECT migration_split.set_domain_state('orders', 'copying');
SELECT migration_split.set_domain_state('orders', 'streaming');
SELECT migration_split.freeze_domain('orders', 'svc');
});
($rc, $out, $err) = run_migration_split('init', @common, '--drop', '--no-progress');
is($rc, 12, 'init --drop of a frozen domain: exit 12');
like($err, qr/^migration-split: error: preflight failed: domain "orders" is frozen: a cutover or rollback of it is in progress or stopped\n.*detail: Nothing was changed\.\n.*hint: Run "migration-split cutover" again to finish the cutover, or unfreeze the domain with migration_split\.unfreeze_domain\(\)\.\n\z/s,
	'init --drop of a frozen domain: message');
is($src->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'"),
	'1', 'init --drop of a frozen domain: the slot is kept');
$src->safe_psql('postgres', "SELECT migration_split.unfreeze_domain('orders')");

# --- a final domain: finalize again fails its preflight ---------------------
($rc, $out, $err) = run_migration_split('cutover', @common, '--skip-verify-check', '--no-reverse');
is($rc, 0, 'cutover') or diag($err);
# verify after the cutover: refused at once (before: waited --timeout for a
# stream, then said to start one)
($rc, $out, $err) = run_migration_split('verify', @common, '--timeout', '30', '--no-progress');
is($rc, 3, 'verify of an extracted domain: exit 3');
like($err, qr/^migration-split: error: domain "orders" is extracted: the service takes its writes, and the monolith's tables stay as they were at the cutover\n.*detail: verify compares the target with the source while the domain streams from the monolith\.\n.*hint: To compare again, give the domain back to the monolith first with "migration-split rollback"\.\n\z/s,
	'verify of an extracted domain: message');

# init --drop after the cutover: refused, the service's writes are kept
$tgt->safe_psql('postgres', "INSERT INTO orders.orders_t VALUES (100, 'service')");
($rc, $out, $err) = run_migration_split('init', @common, '--drop', '--no-progress');
is($rc, 12, 'init --drop of an extracted domain: exit 12');
like($err, qr/^migration-split: error: preflight failed: domain "orders" is extracted: the service's tables hold its writes since the cutover, which init --drop would drop\n.*detail: Nothing was changed\.\n.*hint: Run "migration-split rollback" to return the domain to the monolith/s,
	'init --drop of an extracted domain: message');
is(table_rows($tgt, 'orders.orders_t'), '(1,a);(100,service);(2,b)', "init --drop of an extracted domain: the service's rows are kept");
($rc, $out, $err) = run_migration_split('finalize', @common);
is($rc, 0, 'finalize') or diag($err);
($rc, $out, $err) = run_migration_split('init', @common, '--drop', '--no-progress');
is($rc, 12, 'init --drop of a final domain: exit 12');
like($err, qr/^migration-split: error: preflight failed: domain "orders" is final: its extraction is over and the service owns its data\n/,
	'init --drop of a final domain: message');
($rc, $out, $err) = run_migration_split('finalize', @common);
is($rc, 12, 'finalize of a final domain: exit 12');
like($err, qr/^migration-split: error: preflight failed: domain "orders" is final already: its extraction is over\n.*detail: Nothing was changed\.\n\z/s,
	'finalize of a final domain: message');

$src->stop;
$tgt->stop;
done_testing();
