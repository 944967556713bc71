# migration-split stream and schema changes on the source: a column added
# to a table with a deferred foreign key (as Django creates them), a table
# that loses its key, TRUNCATE of a single partition; a second stream of a
# running job; messages carrying server errors; init --drop without NOTICEs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;
use Time::HiRes qw(usleep);

my ($src, $tgt) = source_and_target();

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');

# Run the job for a domain; return (exit code, stdout, stderr).
sub job
{
	my ($cmd, $domain, @args) = @_;
	return run_migration_split($cmd, '--source', $S, '--target', $T, '--domain', $domain, @args);
}

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('shop'), ('keyloss'), ('parts');
CREATE TABLE shop_order (id int PRIMARY KEY);
CREATE TABLE shop_item (id int PRIMARY KEY,
	order_id int REFERENCES shop_order DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE k (id int PRIMARY KEY, v text);
CREATE TABLE orders_p (id int, region int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE orders_p1 PARTITION OF orders_p FOR VALUES IN (1);
CREATE TABLE orders_p2 PARTITION OF orders_p FOR VALUES IN (2);
SELECT migration_split.assign_table('shop_order', 'shop');
SELECT migration_split.assign_table('shop_item', 'shop');
SELECT migration_split.assign_table('k', 'keyloss');
SELECT migration_split.assign_table('orders_p', 'parts');
INSERT INTO shop_order VALUES (1), (2);
INSERT INTO k VALUES (1, 'a'), (2, 'b');
INSERT INTO orders_p VALUES (1, 1), (2, 2);
});
for my $d ('shop', 'keyloss', 'parts')
{
	my ($rc, $out, $err) = job('init', $d, '--no-progress');
	is($rc, 0, "init of domain $d");
}

# 1. a column added to a table with a deferred foreign key, the ALTER in a
# transaction of its own: the earlier transactions are committed first
$src->safe_psql('postgres', q{
INSERT INTO shop_item VALUES (1, 1);
ALTER TABLE shop_item ADD COLUMN note text;
INSERT INTO shop_item VALUES (2, 1, 'x');
});
my ($rc, $out, $err) = job('stream', 'shop', '--until-caught-up');
is($rc, 0, 'column added next to a deferred foreign key: stream exits 0');
unlike($err, qr/pending trigger events/, 'no pending trigger events error');
is(table_rows($tgt, 'shop.shop_item'), table_rows($src, 'shop_item'), 'shop_item equal after the added column');

# ... and the first change after the ALTER in a transaction that already
# changed another table: a transaction carrying a relation description is
# applied alone, after every earlier one committed (coordinator.c), so the
# stream need not start again to cut the batch before it
$src->safe_psql('postgres', q{
INSERT INTO shop_item VALUES (3, 2, 'y');
ALTER TABLE shop_item ADD COLUMN qty int;
BEGIN;
INSERT INTO shop_order VALUES (3);
INSERT INTO shop_item VALUES (4, 3, 'z', 5);
COMMIT;
INSERT INTO shop_item VALUES (5, 3, 'w', 6);
});
($rc, $out, $err) = job('stream', 'shop', '--until-caught-up');
is($rc, 0, 'column added, first used after another table in the same transaction: exit 0');
unlike($err, qr/restarting the stream/,
	'no restart: the transaction was applied alone');
like($err, qr/added column "qty" integer to table "shop"\."shop_item"/, 'the column was added');
is(table_rows($tgt, 'shop.shop_item'), table_rows($src, 'shop_item'), 'shop_item equal after the second added column');
is(table_rows($tgt, 'shop.shop_order'), table_rows($src, 'shop_order'), 'shop_order equal');
is($tgt->safe_psql('postgres', "SELECT xacts_applied FROM migration_split_job.jobs WHERE domain = 'shop'"),
	'5', 'every source transaction applied exactly once');

# 4. a second stream while the job runs: exit 5, the running job's row untouched
my $log = "${PostgreSQL::Test::Utils::tmp_check}/053_stream_shop.log";
my $h = IPC::Run::start([ 'migration-split', 'stream', '--source', $S, '--target', $T, '--domain', 'shop' ],
	'>', $log, '2>&1');
$src->poll_query_until('postgres',
	"SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_shop'")
  or die 'the stream did not start';
($rc, $out, $err) = job('stream', 'shop');
is($rc, 5, 'second stream of a running job: exit 5');
like($err, qr/could not start streaming from slot "migration_split_shop": replication slot "migration_split_shop" is active for PID \d+\n.*hint: Another migration-split stream/s,
	'second stream: message without the server severity prefix');
unlike($err, qr/applied up to/, 'a failed stream prints no summary');
is($tgt->safe_psql('postgres', "SELECT last_error IS NULL FROM migration_split_job.jobs WHERE domain = 'shop'"),
	't', 'the second stream did not record its error in the running job');
$h->signal('TERM');
$h->finish;
is($? >> 8, 9, 'running stream stopped by SIGTERM: exit 9');

# 5. a server error while applying: the message and last_error hold the
# server's message and detail, without "ERROR:  " and trailing newline
$tgt->safe_psql('postgres', 'ALTER TABLE shop.shop_order ADD CONSTRAINT small CHECK (id < 100)');
$src->safe_psql('postgres', 'INSERT INTO shop_order VALUES (200)');
($rc, $out, $err) = job('stream', 'shop', '--until-caught-up');
is($rc, 7, 'insert refused by the target: exit 7');
like($err, qr/could not apply INSERT on table "public\.shop_order" \(source commit LSN [0-9A-F\/]+, xid \d+\): new row for relation "shop_order" violates check constraint "small" DETAIL: Failing row contains \(200\)\.\n/,
	'server error embedded as message and detail');
unlike($err, qr/ERROR:  |applied up to/, 'no raw server text, no summary after a failure');
is($tgt->safe_psql('postgres', "SELECT last_error FROM migration_split_job.jobs WHERE domain = 'shop'"),
	'could not apply INSERT on table "public.shop_order" (source commit LSN '
	  . ($err =~ /source commit LSN ([0-9A-F\/]+),/)[0] . ', xid '
	  . ($err =~ /xid (\d+)\)/)[0]
	  . '): new row for relation "shop_order" violates check constraint "small" DETAIL: Failing row contains (200).',
	'last_error is one clean line');
$tgt->safe_psql('postgres', 'ALTER TABLE shop.shop_order DROP CONSTRAINT small');
($rc, $out, $err) = job('stream', 'shop', '--until-caught-up');
is($rc, 0, 'stream goes on once the target accepts the row');

# 3. a table loses its key during the stream: the hint points at the source.
# The insert before the update is still in the worker's run (coalescer)
# when the session ends on the update: the run is discarded before the
# relation map it points into (apply_reset).  Freed memory is overwritten
# (glibc's perturb, without the thread cache that skips it), so reading the
# freed entry makes the job crash instead of passing by luck.
$src->safe_psql('postgres', q{
ALTER TABLE k DROP CONSTRAINT k_pkey;
BEGIN;
INSERT INTO k VALUES (3, 'new');
UPDATE k SET v = 'c' WHERE id = 1;
COMMIT;
});
{
	local $ENV{GLIBC_TUNABLES} = 'glibc.malloc.tcache_count=0:glibc.malloc.perturb=21';
	($rc, $out, $err) = job('stream', 'keyloss', '--until-caught-up');
}
is($rc, 7, 'table without key during the stream: exit 7') or diag("wait status $?: $err");
like($err, qr/could not apply UPDATE on table "public\.k" \(source commit LSN [0-9A-F\/]+\): the change carries no usable key \(replica identity "d"\)\n.*hint: Add a primary key or a replica identity to the table on the source, then run "migration-split init --drop" to copy the domain again\./s,
	'no usable key: the hint names the way out');
unlike($err, qr/Fix the target/, 'no hint to fix the target');
# the way out works, and init --drop shows no server NOTICEs
$src->safe_psql('postgres', 'ALTER TABLE k ADD PRIMARY KEY (id)');
($rc, $out, $err) = job('init', 'keyloss', '--drop', '--no-progress');
is($rc, 0, 'init --drop after the key is back');
unlike($err, qr/NOTICE|drop cascades/, 'init --drop passes no server NOTICE through');
is(table_rows($tgt, 'keyloss.k'), table_rows($src, 'k'), 'k equal after init --drop');

# 2. TRUNCATE of one partition cannot be applied to the one target table
$src->safe_psql('postgres', q{
INSERT INTO orders_p VALUES (3, 1);
TRUNCATE orders_p1;
INSERT INTO orders_p VALUES (4, 2);
});
($rc, $out, $err) = job('stream', 'parts', '--until-caught-up');
is($rc, 7, 'TRUNCATE of a partition: exit 7');
like($err, qr/cannot apply TRUNCATE of partition "public"\."orders_p1" of table "public"\."orders_p" \(source commit LSN [0-9A-F]+\/[0-9A-F]+\): the target holds the partitioned table as one table\n.*hint: .*run "migration-split init --drop" to copy the domain again\./s,
	'TRUNCATE of a partition: message names partition, table and LSN');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM parts.orders_p WHERE id = 4'), '0',
	'nothing after the TRUNCATE applied');
like($tgt->safe_psql('postgres', "SELECT last_error FROM migration_split_job.jobs WHERE domain = 'parts'"),
	qr/^cannot apply TRUNCATE of partition "public"\."orders_p1"/, 'recorded as the last error');
# truncating the root still works
($rc, $out, $err) = job('init', 'parts', '--drop', '--no-progress');
is($rc, 0, 'init --drop after the partition TRUNCATE');
$src->safe_psql('postgres', 'TRUNCATE orders_p; INSERT INTO orders_p VALUES (5, 2)');
($rc, $out, $err) = job('stream', 'parts', '--until-caught-up');
is($rc, 0, 'TRUNCATE of the partitioned table itself is applied');
is(table_rows($tgt, 'parts.orders_p'), '(5,2)', 'target emptied by the TRUNCATE of the root');

$src->stop;
$tgt->stop;
done_testing();
