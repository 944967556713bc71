# The extension's triggers that act also under session_replication_role =
# replica (enabled ALWAYS: the ownership check, the cache invalidations,
# the loose foreign keys' bookkeeping) stay so across restores:
# - pg_restore --data-only --disable-triggers into a database with the
#   extension disables every trigger of a table for its load and then runs
#   ALTER TABLE ... ENABLE TRIGGER ALL, which makes an ALWAYS trigger an
#   ordinary (origin) one; the extension's event trigger sets them back;
# - a plain dump loaded in a session with session_replication_role =
#   replica loads the tags: the ownership check (ALWAYS) lets a
#   superuser's rows of existing tables through.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('restore_triggers');
$node->init;
$node->start;
my $tempdir = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
CREATE EXTENSION migration_split;
SELECT migration_split.create_domain('orders');
SELECT migration_split.create_domain('accounts');
CREATE TABLE accounts_user (id int PRIMARY KEY);
CREATE TABLE orders_order (id int PRIMARY KEY, user_id int REFERENCES accounts_user);
SELECT migration_split.assign_table('accounts_user', 'accounts');
SELECT migration_split.assign_table('orders_order', 'orders');
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
VALUES ('orders', 'accounts', 'checkout reads users');
SELECT migration_split.loosen_foreign_key('orders_order', 'orders_order_user_id_fkey', 'none');
});

my $tags_q = q{SELECT string_agg(rel::text || '=' || domain, ',' ORDER BY rel::text)
				 FROM migration_split.ownership};
my $triggers_q = q{SELECT string_agg(t.tgrelid::regclass::text || '.' || t.tgname || '=' || t.tgenabled::text, ','
									 ORDER BY t.tgrelid::regclass::text, t.tgname)
					 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
					WHERE c.relnamespace = 'migration_split'::regnamespace AND NOT t.tgisinternal};
my $tags = $node->safe_psql('src', $tags_q);
my $triggers = $node->safe_psql('src', $triggers_q);
is($tags, 'accounts_user=accounts,orders_order=orders', 'source tags');
like($triggers, qr/migration_split\.ownership\.ownership_changed=A,migration_split\.ownership\.ownership_check=A/,
	'source: the ownership check and invalidation are enabled ALWAYS');

$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tempdir/src.dump", '-d', $node->connstr('src') ],
	'pg_dump -Fc');
$node->command_ok([ 'pg_dump', '-Fp', '-f', "$tempdir/src.sql", '-d', $node->connstr('src') ],
	'pg_dump -Fp');

# schema, then data with --disable-triggers
$node->safe_psql('postgres', 'CREATE DATABASE dst_data');
$node->command_ok(
	[ 'pg_restore', '--schema-only', '-d', $node->connstr('dst_data'), "$tempdir/src.dump" ],
	'pg_restore --schema-only');
$node->command_ok(
	[ 'pg_restore', '--data-only', '--disable-triggers', '-d', $node->connstr('dst_data'),
		"$tempdir/src.dump" ],
	'pg_restore --data-only --disable-triggers');
is($node->safe_psql('dst_data', $tags_q), $tags, 'data-only restore: tags restored');
is($node->safe_psql('dst_data', $triggers_q), $triggers,
	'data-only restore with --disable-triggers: the triggers are enabled as in the source');
my ($ret, $stdout, $stderr) = $node->psql('dst_data', q{SET session_replication_role = replica;
INSERT INTO migration_split.ownership (rel, domain) VALUES (0, 'orders')});
like($stderr, qr/ERROR:  relation with OID 0 does not exist/,
	'data-only restore: the ownership check still acts under replica');
($ret, $stdout, $stderr) = $node->psql('dst_data', q{SELECT migration_split.table_domain('orders_order') IS NOT NULL;
SET session_replication_role = replica;
DELETE FROM migration_split.ownership WHERE rel = 'orders_order'::regclass;
RESET session_replication_role;
SELECT migration_split.table_domain('orders_order')});
is("$ret|$stdout", "0|t\n", 'data-only restore: a tag removed under replica reaches the cache');

# an ALTER TABLE that leaves the triggers alone changes nothing, and a
# trigger disabled on purpose stays disabled
$node->safe_psql('dst_data', q{ALTER TABLE migration_split.ownership DISABLE TRIGGER ownership_changed;
ALTER TABLE accounts_user ADD COLUMN name text});
like($node->safe_psql('dst_data', $triggers_q), qr/migration_split\.ownership\.ownership_changed=D/,
	'a trigger disabled by name stays disabled');

# a plain dump loaded under session_replication_role = replica
$node->safe_psql('postgres', 'CREATE DATABASE dst_replica');
{
	local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$tempdir/src.sql", '-d',
			$node->connstr('dst_replica') ],
		'plain dump loaded with session_replication_role = replica');
}
is($node->safe_psql('dst_replica', $tags_q), $tags, 'replica load: tags restored');
is($node->safe_psql('dst_replica', $triggers_q), $triggers, 'replica load: triggers as in the source');

$node->stop;
done_testing();
