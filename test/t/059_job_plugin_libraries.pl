# On PostgreSQL minor releases with the setting output_plugin_libraries
# (15.20 and later), a replication role that is not superuser may only use
# the output plugins it lists.  init says so clearly, naming the setting and
# the fix, both when the role may read the setting (checked before anything
# is created) and when it may not (the server's refusal at slot creation).
# Skipped on servers without the setting: they allow every plugin.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

plan skip_all => 'server has no output_plugin_libraries setting'
  if plugin_libraries_conf('migration_split') eq '';

my ($src, $tgt) = source_and_target(source_conf => "output_plugin_libraries = 'pgoutput'\n");

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE t (id int PRIMARY KEY);
INSERT INTO migration_split.domains (domain) VALUES ('d');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('t', 'd');
CREATE ROLE reader LOGIN REPLICATION IN ROLE pg_read_all_settings;
CREATE ROLE blind LOGIN REPLICATION;
GRANT SELECT ON t TO reader, blind;
});

my ($stdout, $stderr);
run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres') . ' user=reader',
	'--target', $tgt->connstr('postgres'), '--domain', 'd', '--no-progress' ], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 6, 'plugin not listed, role can read the setting: exit code 6');
like($stderr, qr/error: output plugin "migration_split" may not be used by role "reader" on the source\n.*detail: The source's output_plugin_libraries is "pgoutput"; .*\n.*hint: As a superuser on the source: ALTER SYSTEM SET output_plugin_libraries = 'pgoutput', 'migration_split'; SELECT pg_reload_conf\(\);/,
	'message names the setting, its value and the fix');
is($tgt->safe_psql('postgres', "SELECT count(*) FROM pg_namespace WHERE nspname = 'migration_split_job'"),
	'0', 'checked before anything is created');

run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres') . ' user=blind',
	'--target', $tgt->connstr('postgres'), '--domain', 'd', '--no-progress' ], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 6, 'plugin not listed, role cannot read the setting: exit code 6');
like($stderr, qr/could not create replication slot "migration_split_d" on the source: library "migration_split" may not be used as an output plugin.*\n.*detail: .*output_plugin_libraries\.\n.*hint: As a superuser on the source, add migration_split to output_plugin_libraries: ALTER SYSTEM/,
	'server refusal explained with the setting and the fix');
is($tgt->safe_psql('postgres', "SELECT count(*) FROM pg_namespace WHERE nspname = 'd'"),
	'0', 'target schema removed again');

# the fix works
# a quoted element with a comma is one element, not two
$src->safe_psql('postgres', qq{ALTER SYSTEM SET output_plugin_libraries = 'pgoutput, migration_split'; SELECT pg_reload_conf()});
run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres') . ' user=reader',
	'--target', $tgt->connstr('postgres'), '--domain', 'd', '--no-progress' ], '>', \$stdout, '2>', \$stderr);
like($stderr, qr/output plugin "migration_split" may not be used by role "reader".*\n.*is ""pgoutput, migration_split""; .*\n.*ALTER SYSTEM SET output_plugin_libraries = 'pgoutput, migration_split', 'migration_split';/,
	'one element "pgoutput, migration_split" does not allow the plugin');

# the fix given in the hint works
$src->safe_psql('postgres', "ALTER SYSTEM SET output_plugin_libraries = 'pgoutput', 'migration_split'; SELECT pg_reload_conf()");
command_ok([ 'migration-split', 'init', '--source', $src->connstr('postgres') . ' user=blind',
	'--target', $tgt->connstr('postgres'), '--domain', 'd', '--no-progress' ], 'init after the fix');

$src->stop;
$tgt->stop;
done_testing();
