# Domain names of up to 63 characters work through init, stream and status:
# the default slot name is cut to fit NAMEDATALEN and ends with a hash of the
# whole domain name, so that two long names sharing their first 38
# characters get different slots.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my $d1 = 'a' x 40 . '_customer_accounts_and_invoices_x';
my $d2 = 'a' x 40 . '_customer_accounts_and_invoices_y';
$d1 = substr($d1, 0, 63);
$d2 = substr($d2, 0, 62) . 'y';
is(length($d1), 63, 'domain name of 63 characters');

$src->safe_psql('postgres', qq{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('$d1'), ('$d2');
CREATE TABLE t1 (id int PRIMARY KEY, v text);
CREATE TABLE t2 (id int PRIMARY KEY, v text);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('t1', '$d1'), ('t2', '$d2');
INSERT INTO t1 SELECT i, 'v' || i FROM generate_series(1, 10) i;
INSERT INTO t2 SELECT i, 'w' || i FROM generate_series(1, 10) i;
});

my ($stdout, $stderr);
for my $d ($d1, $d2)
{
	my @common = ('--source', $src->connstr('postgres'), '--target',
		$tgt->connstr('postgres'), '--domain', $d);
	my $ret = run_log([ 'migration-split', 'init', @common, '--no-progress' ],
		'>', \$stdout, '2>', \$stderr);
	ok($ret, "init of a domain of 63 characters") or diag($stderr);
	like($stderr, qr/created replication slot "migration_split_a{38}_[0-9a-f]{8}"/,
		'slot name: cut domain name and hash, 63 bytes');
}
my @slots = split /\n/, $src->safe_psql('postgres',
	'SELECT slot_name FROM pg_replication_slots ORDER BY slot_name');
is(scalar(@slots), 2, 'two long domains sharing a prefix: two slots');
isnt($slots[0], $slots[1], 'different slot names');
is(length($slots[0]), 63, 'slot name fills NAMEDATALEN - 1');

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', $d1);
$src->safe_psql('postgres', "INSERT INTO t1 VALUES (11, 'new'); UPDATE t1 SET v = 'x' WHERE id = 1");
command_ok([ 'migration-split', 'stream', @common, '--until-caught-up' ], 'stream');
is($tgt->safe_psql('postgres', "SELECT count(*), max(v) FROM \"$d1\".t1"), '11|x',
	'changes streamed into the schema named after the long domain');
my $ret = run_log([ 'migration-split', 'status', @common, '--json' ], '>', \$stdout, '2>', \$stderr);
ok($ret, 'status');
like($stdout, qr/"slot_exists": true/, 'status finds the slot');

$src->stop;
$tgt->stop;
done_testing();
