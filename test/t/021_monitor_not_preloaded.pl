# Without shared_preload_libraries the extension installs, the catalog and
# domain_runtime_stats() work (no rows), and the runtime views and functions
# fail with an error naming shared_preload_libraries.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('monitor_plain');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('a'), ('b');
CREATE TABLE ta (id int);
CREATE TABLE tb (id int);
INSERT INTO migration_split.ownership VALUES ('ta', 'a'), ('tb', 'b');
SELECT count(*) FROM ta JOIN tb USING (id);
});

is($node->safe_psql('postgres', 'SELECT migration_split.monitor_loaded()'), 'f',
	'monitor_loaded() is false');
is($node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.domain_runtime_stats()'),
	'0', 'domain_runtime_stats() returns no rows');

# the allowlist table itself is usable
$node->safe_psql('postgres', q{
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason) VALUES ('a', 'b', 'x')});
is($node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.allowed_crossings'),
	'1', 'allowlist usable without preloading');

for my $sql (
	'SELECT * FROM migration_split.cross_domain_queries',
	'SELECT * FROM migration_split.cross_domain_transactions',
	'SELECT * FROM migration_split.monitor_info',
	'SELECT * FROM migration_split.allowed_crossings_usage',
	'SELECT * FROM migration_split.unused_allowed_crossings()',
	'SELECT migration_split.reset()')
{
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	isnt($ret, 0, "fails: $sql");
	like($stderr,
		qr/ERROR:  55000: migration_split must be loaded via "shared_preload_libraries"/,
		"error names shared_preload_libraries, SQLSTATE 55000: $sql");
}

my ($ret, $stdout, $stderr);
# once the library is loaded into a session (by any of the extension's C
# functions), the reserved prefix refuses the settings: nothing can look
# enforced that is not
($ret, $stdout, $stderr) = $node->psql('postgres', q{\set VERBOSITY verbose
SELECT migration_split.table_domain('ta');
SET migration_split.service = 'a';});
like($stderr,
	qr/ERROR:  42602: invalid configuration parameter name "migration_split.service"\nDETAIL:  "migration_split" is a reserved prefix/,
	'SET migration_split.service after loading the library: 42602, reserved prefix');


# analyze_statements() does not need preloading, only pg_stat_statements
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT * FROM migration_split.analyze_statements()');
like($stderr, qr/extension "pg_stat_statements" is not installed/,
	'analyze_statements() asks for pg_stat_statements');

# enforcement GUCs are not defined: no hooks, no effect
is($node->safe_psql('postgres', q{SET migration_split.enforce = 'error'; SET migration_split.service = 'a'; SELECT count(*) FROM tb}),
	'0', 'no enforcement without preloading');

# a domain renamed and dropped: the trigger that moves the runtime figures
# does nothing without the shared statistics
is($node->safe_psql('postgres', q{
INSERT INTO migration_split.domains (domain) VALUES ('np_old');
UPDATE migration_split.domains SET domain = 'np_new' WHERE domain = 'np_old';
SELECT migration_split.drop_domain('np_new');
SELECT count(*) FROM migration_split.domains WHERE domain LIKE 'np\_%'}),
	"\n0", 'domains renamed and dropped without preloading');

$node->stop;
done_testing();
