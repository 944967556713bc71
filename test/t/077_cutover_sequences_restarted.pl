# migration-split cutover (and init) and a source sequence whose next
# value was set without being used: ALTER ... RESTART WITH, or
# setval(..., false), as after a bulk load with explicit keys.  Such a
# sequence reads as never used (pg_sequences.last_value is NULL), so init
# and cutover left the target's sequence where it was: the service's first
# inserts took keys the monolith's rows already had (duplicate key).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my $job = orders_job();
my ($src, $tgt) = @$job{qw(src tgt)};

# rows with explicit keys, then the sequences moved past them, unused
$src->safe_psql('postgres', q{
INSERT INTO orders (id, client, customer_id, note) SELECT i, 0, 1, 'loaded' FROM generate_series(101, 4999) i;
ALTER TABLE orders ALTER COLUMN id RESTART WITH 5000;
INSERT INTO order_line (id, order_id, qty) SELECT i, 1, 1 FROM generate_series(101, 6999) i;
SELECT setval('order_line_id_seq', 7000, false);
});
$job->stream_until_caught_up;

my ($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--no-reverse');
is($rc, 0, 'cutover') or diag("$out\n$err");
like($out, qr/sequence of public\.orders\.id: source at 4999, target set to 5999/,
	'the identity sequence: its last value is the one before its next');
like($out, qr/sequence of public\.order_line\.id: source at 6999, target set to 7999/,
	'the serial sequence too');

# the service's first inserts take keys past the monolith's, no collision
my ($r, $o, $e) = $tgt->psql('postgres',
	"INSERT INTO orders.orders (client, customer_id, note) VALUES (1, 1, 'service') RETURNING id");
is($r, 0, 'an insert in the service succeeds') or diag($e);
is($o, '6000', 'and takes the key after the gap');
($r, $o, $e) = $tgt->psql('postgres',
	"INSERT INTO orders.order_line (order_id, qty) VALUES (1, 1) RETURNING id");
is($r, 0, 'an insert of a line in the service succeeds') or diag($e);
is($o, '8000', 'and takes the key after the gap');

# init sets the target's sequence the same way: a domain of its own
$src->safe_psql('postgres', q{
CREATE TABLE imported (id serial PRIMARY KEY, v int);
INSERT INTO imported SELECT i, i FROM generate_series(1, 500) i;
SELECT setval('imported_id_seq', 501, false);
SELECT migration_split.create_domain('imports');
SELECT migration_split.assign_table('imported', 'imports');
});
ok(run_log([ 'migration-split', 'init', '--source', $job->{S}, '--target', $job->{T}, '--domain', 'imports' ]),
	'init of a domain whose sequence was restarted');
is($tgt->safe_psql('postgres', "SELECT nextval(pg_get_serial_sequence('imports.imported', 'id'))"), '501',
	"the target's sequence goes on where the source's will");

done_testing();
