# ALTER EXTENSION migration_split UPDATE from 1.0 gives exactly the objects
# of a fresh install of the current version, and keeps the user's data
# (domains, tags, allowlist).
#
# The objects are compared with pg_dump --binary-upgrade --schema-only,
# the one pg_dump mode that dumps an extension's member objects one by one
# (as pg_upgrade needs them), with OIDs and LSNs masked; the extension's
# configuration tables (pg_extension_config_dump) are compared by name.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'migration_split'");
isnt($current, '1.0', "the default version ($current) is newer than 1.0");

$node->safe_psql('postgres', 'CREATE DATABASE updated');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

# 1.0 with user data in every configuration table.
$node->safe_psql('updated', q{
CREATE EXTENSION migration_split VERSION '1.0';
CREATE TABLE public.orders (id int PRIMARY KEY);
CREATE TABLE public.users (id int PRIMARY KEY);
SELECT migration_split.create_domain('orders', 'order taking');
SELECT migration_split.create_domain('users');
SELECT migration_split.assign_table('public.orders', 'orders');
SELECT migration_split.assign_table('public.users', 'users');
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason, expires_at)
	VALUES ('orders', 'users', 'public.users', 'legacy report', now() + interval '30 days');
});
my $data_query = q{
SELECT string_agg(d, ' | ' ORDER BY d) FROM (
  SELECT format('domain %s %s', domain, description) AS d FROM migration_split.domains
  UNION ALL
  SELECT format('tag %s %s', rel, domain) FROM migration_split.ownership
  UNION ALL
  SELECT format('allow %s %s %s %s', from_domain, to_domain, rel, reason) FROM migration_split.allowed_crossings
) s};
my $before = $node->safe_psql('updated', $data_query);

$node->safe_psql('updated', 'ALTER EXTENSION migration_split UPDATE');
is($node->safe_psql('updated',
		"SELECT extversion FROM pg_extension WHERE extname = 'migration_split'"),
	$current, "ALTER EXTENSION UPDATE reaches $current");
is($node->safe_psql('updated', $data_query), $before,
	'domains, tags and allowlist are kept by the update');
like($before, qr/^allow orders users users legacy report \| domain orders order taking \| .*tag orders orders/,
	'the kept data is the data inserted');

$node->safe_psql('fresh', q{
CREATE EXTENSION migration_split;
CREATE TABLE public.orders (id int PRIMARY KEY);
CREATE TABLE public.users (id int PRIMARY KEY);
});

# Mask what legitimately differs between two databases: OIDs, XIDs, LSNs,
# sequence positions (data, not schema) and the random \restrict key.
sub schema_of
{
	my ($db) = @_;
	my ($dump, $err) = run_command(
		[ 'pg_dump', '--schema-only', '--binary-upgrade', '-d', $node->connstr($db) ]);
	die "pg_dump $db failed: $err" if $err ne '';
	$dump =~ s/^\\(un)?restrict .*$//mg;
	$dump =~ s/'\{[0-9,]*\}'/'{OIDS}'/g;
	$dump =~ s/'[0-9]+'::pg_catalog\.oid/'OID'::pg_catalog.oid/g;
	$dump =~ s/^SET relfrozenxid = '[0-9]+', relminmxid = '[0-9]+'$/SET relfrozenxid = 'XID'/mg;
	$dump =~ s/^SELECT pg_catalog\.setval\((.*), [0-9]+, (true|false)\);$/SELECT pg_catalog.setval($1, DATA);/mg;
	$dump =~ s/^WHERE oid = '[0-9]+';$/WHERE oid = 'OID';/mg;
	$dump =~ s/\{[0-9A-F\/,]+\}'::pg_catalog\.pg_lsn/{LSNS}'::pg_catalog.pg_lsn/g;
	return $dump;
}

my $config_query = q{
SELECT string_agg(c::regclass::text || coalesce(' WHERE ' || nullif(cond, ''), ''), ', ' ORDER BY c::regclass::text)
  FROM pg_extension e,
	   unnest(e.extconfig, e.extcondition) AS u(c, cond)
 WHERE e.extname = 'migration_split'};
my $members_query = q{
SELECT count(*) FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migration_split')};

my ($u, $f) = (schema_of('updated'), schema_of('fresh'));
ok(length($f) > 10000, 'the dump lists the extension\'s objects');
ok($u eq $f, 'updated and fresh installs have the same objects');
if ($u ne $f)
{
	my ($uf, $ff) = ("$PostgreSQL::Test::Utils::tmp_check/updated.sql",
		"$PostgreSQL::Test::Utils::tmp_check/fresh.sql");
	append_to_file($uf, $u);
	append_to_file($ff, $f);
	diag(scalar `diff -u $ff $uf | head -60`);
}
is($node->safe_psql('updated', $config_query),
	$node->safe_psql('fresh', $config_query),
	'the same tables are dumped as configuration');
is($node->safe_psql('updated', $members_query),
	$node->safe_psql('fresh', $members_query),
	'the same number of member objects');

$node->stop;
done_testing();
