# Plugin and job refuse each other clearly when they speak different
# protocol versions.  An output plugin older than protocol versions
# (extension 1.0) refuses the option proto-version as unknown, as any
# plugin that does not know the option does: emulated here with a slot of
# test_decoding under the job's slot name.  The plugin's own refusal of
# another version is tested by the pg_regress suite decoder_errors.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'pv');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE pv_t (id int PRIMARY KEY);
INSERT INTO migration_split.domains (domain) VALUES ('pv');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('pv_t', 'pv');
});
command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');
$src->safe_psql('postgres', q{INSERT INTO pv_t VALUES (1)});
command_ok([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'the job and the plugin of one release agree on the protocol');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM pv.pv_t'), '1', 'the change was applied');

# the slot's plugin does not know proto-version
$src->safe_psql('postgres', q{
SELECT pg_drop_replication_slot('migration_split_pv');
SELECT 'x' FROM pg_create_logical_replication_slot('migration_split_pv', 'test_decoding');
INSERT INTO pv_t VALUES (2);
});
my ($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'>', \$out, '2>', \$err);
is($? >> 8, 8, 'stream refuses a plugin without protocol versions (exit 8)');
like($err,
	qr/error: the output plugin of slot "migration_split_pv" does not speak protocol version 3: it predates protocol versions/,
	'the error names the versions');
like($err, qr/detail: The source answered: option "proto-version" = "3" is unknown/,
	'the detail quotes the plugin');
like($err, qr/hint: Install migration_split 1\.1 on the source/, 'the hint says what to do');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM pv.pv_t'), '1', 'nothing was applied');

done_testing();
