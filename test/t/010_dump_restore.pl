# Tags survive pg_dump/pg_restore (custom and plain formats) into a new
# database, including renamed tables, other schemas, names that need
# quoting, partitioned roots and inheritance children, and so do loosened
# foreign keys with their queue and triggers; DROP EXTENSION with tags in
# place works and leaves nothing behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
CREATE EXTENSION migration_split;
SELECT migration_split.create_domain('orders', 'Orders and checkout');
SELECT migration_split.create_domain('inventory');
SELECT migration_split.create_domain('accounts');

CREATE TABLE accounts_user (id serial PRIMARY KEY, email text);
CREATE TABLE orders_order (id serial PRIMARY KEY,
	user_id int REFERENCES accounts_user, note text);
CREATE SCHEMA "Sales Dept";
CREATE TABLE "Sales Dept"."Order Lines" (id int, "Qty" int);
CREATE SCHEMA inv;
CREATE TABLE inv."Stock" (id int);
CREATE TABLE orders_event (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE orders_event_2026 PARTITION OF orders_event
	FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE inventory_item (id int);
CREATE TABLE inventory_item_legacy () INHERITS (inventory_item);
CREATE TABLE untagged (id int);

SELECT migration_split.assign_table('accounts_user', 'accounts');
SELECT migration_split.assign_table('orders_order', 'orders');
SELECT migration_split.assign_table('"Sales Dept"."Order Lines"', 'orders');
SELECT migration_split.assign_table('inv."Stock"', 'inventory');
SELECT migration_split.assign_table('orders_event', 'orders');
SELECT migration_split.assign_table('inventory_item', 'inventory');
SELECT migration_split.assign_table('inventory_item_legacy', 'accounts');
-- a loosened foreign key with a pending clean-up
INSERT INTO accounts_user (email) VALUES ('a@example.com'), ('b@example.com');
INSERT INTO orders_order (user_id) VALUES (1), (2), (2);
SELECT migration_split.loosen_foreign_key('orders_order', 'orders_order_user_id_fkey', 'cascade');
DELETE FROM accounts_user WHERE id = 2;
ALTER TABLE orders_order RENAME TO "Orders Renamed";
-- and one to a partitioned table: its queue triggers are on every member,
-- created again by the dump's own CREATE TRIGGER, not before
CREATE TABLE accounts_group (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE accounts_group_1 PARTITION OF accounts_group FOR VALUES FROM (0) TO (100);
CREATE TABLE orders_membership (id int PRIMARY KEY, group_id int REFERENCES accounts_group);
SELECT migration_split.assign_table('accounts_group', 'accounts');
SELECT migration_split.assign_table('orders_membership', 'orders');
INSERT INTO accounts_group VALUES (1), (2);
INSERT INTO orders_membership VALUES (1, 1), (2, 2);
SELECT migration_split.loosen_foreign_key('orders_membership', 'orders_membership_group_id_fkey', 'cascade');
DELETE FROM accounts_group WHERE id = 2;
-- a frozen domain: the freeze triggers are the tables' own
SELECT migration_split.set_domain_state('inventory', 'copying');
SELECT migration_split.set_domain_state('inventory', 'streaming');
SELECT migration_split.freeze_domain('inventory', 'svc');
-- allowlist entries: their ids come from an identity sequence
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason)
VALUES ('orders', 'accounts', 'accounts_user', 'legacy join'),
	   ('inventory', 'orders', NULL, 'stock report');
});

# What must survive: tags by name, when and by whom, domains, and the
# effective domain of every relation (partitions, inheritance, sequences).
my $owners_q = q{
SELECT rel::text, domain, assigned_at, assigned_by
  FROM migration_split.table_owners ORDER BY 1};
my $domains_q = q{
SELECT domain, description, created_at, created_by
  FROM migration_split.domains ORDER BY 1};
my $effective_q = q{
SELECT c.oid::regclass::text, migration_split.table_domain(c.oid)
  FROM pg_class c
 WHERE c.relnamespace IN ('public'::regnamespace, 'inv'::regnamespace,
						  '"Sales Dept"'::regnamespace)
   AND c.relkind IN ('r', 'p', 'S')
 ORDER BY 1};

my $loose_q = q{
SELECT from_table, constraint_name, from_columns, to_table, on_delete, definition,
	   loosened_at, pending,
	   (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger
		 WHERE tgrelid = 'accounts_user'::regclass AND NOT tgisinternal),
	   (SELECT string_agg(tgrelid::regclass::text || '.' || tgname, ',' ORDER BY tgrelid::regclass::text, tgname) FROM pg_trigger
		 WHERE tgrelid IN ('accounts_group'::regclass, 'accounts_group_1'::regclass) AND NOT tgisinternal)
  FROM migration_split.loose_foreign_keys ORDER BY 1, 2};
my $frozen_q = q{
SELECT string_agg(tgrelid::regclass::text || '.' || tgname, ',' ORDER BY tgrelid::regclass::text, tgname)
  FROM pg_trigger WHERE tgname LIKE 'migration_split_freeze%'};
my $owners = $node->safe_psql('src', $owners_q);
my $loose = $node->safe_psql('src', $loose_q);
like($loose, qr/^"Orders Renamed"\|orders_order_user_id_fkey\|\{user_id\}\|accounts_user\|cascade\|.*\|1\|migration_split_loose_fk_delete,migration_split_loose_fk_update\|/m,
	'loosened foreign key with one pending clean-up');
like($loose, qr/^orders_membership\|orders_membership_group_id_fkey\|.*\|1\|.*\|accounts_group\.migration_split_loose_fk_delete,accounts_group\.migration_split_loose_fk_update,accounts_group_1\.migration_split_loose_fk_delete,accounts_group_1\.migration_split_loose_fk_update$/m,
	'loosened foreign key to a partitioned table, its triggers on every member');
my $domains = $node->safe_psql('src', $domains_q);
my $effective = $node->safe_psql('src', $effective_q);
like($owners, qr/^"Orders Renamed"\|orders\|/m, 'renamed table keeps its tag');
like($owners, qr/^"Sales Dept"\."Order Lines"\|orders\|/m,
	'quoted names in another schema are tagged');
like($effective, qr/^orders_event_2026\|orders$/m, 'partition follows its root');
like($effective, qr/^orders_order_id_seq\|orders$/m,
	'owned sequence follows its renamed table');
like($effective, qr/^untagged\|$/m, 'untagged table has no domain');

my $tempdir = PostgreSQL::Test::Utils::tempdir;

# custom format, pg_restore into a new database
$node->command_ok(
	[ 'pg_dump', '-Fc', '-f', "$tempdir/src.dump", '-d', $node->connstr('src') ],
	'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE dst_custom');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_custom'),
		"$tempdir/src.dump" ],
	'pg_restore into a new database');
is($node->safe_psql('dst_custom', $owners_q), $owners, 'custom format: tags restored');
is($node->safe_psql('dst_custom', $domains_q), $domains, 'custom format: domains restored');
is($node->safe_psql('dst_custom', $effective_q), $effective,
	'custom format: effective domains restored');
is($node->safe_psql('dst_custom', $loose_q), $loose,
	'custom format: loose foreign keys, their queue and triggers restored');
is($node->safe_psql('dst_custom', q{
SELECT migration_split.process_loose_foreign_keys();
SELECT count(*) FROM "Orders Renamed"}),
	"3\n1", 'custom format: the restored queue is processed');
# the identity sequence of the allowlist is restored with its entries: a
# new entry gets the next id, not one a restored entry has
my $allow_q = q{SELECT id, from_domain, to_domain, rel::text FROM migration_split.allowed_crossings ORDER BY id};
is($node->safe_psql('dst_custom', $allow_q), $node->safe_psql('src', $allow_q),
	'custom format: allowlist restored');
my ($ret, $stdout, $stderr) = $node->psql('dst_custom', q{
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
VALUES ('accounts', 'orders', 'after restore') RETURNING id});
is("$ret|$stdout|$stderr", "0|3|", 'custom format: a new allowlist entry after restore gets the next id');
isnt(
	$node->safe_psql('dst_custom', q{SELECT 'accounts_user'::regclass::oid}),
	$node->safe_psql('src', q{SELECT 'accounts_user'::regclass::oid}),
	'restored tables have new OIDs');

# the same dump restored by sections, with --no-owner into a database whose search_path does not name public,
# and in parallel: the extension's data first, in one job (pg_restore -j
# loads configuration tables in parallel too, whatever their foreign keys
# say: a tag could arrive before its domain), then the rest in two
my @variants = (
	[ 'sections', [ [ '--section=pre-data' ], [ '--section=data' ], [ '--section=post-data' ] ] ],
	[ 'no_owner', [ [ '--no-owner' ] ] ],
	[ 'parallel', [ [ '--section=pre-data' ], [ '--section=data', '-n', 'migration_split' ],
		[ '--section=data', '-N', 'migration_split', '-j', '2' ], [ '--section=post-data', '-j', '2' ] ] ]);
$node->safe_psql('postgres', 'CREATE DATABASE dst_no_owner');
$node->safe_psql('postgres', 'ALTER DATABASE dst_no_owner SET search_path = nowhere');
for my $v (@variants)
{
	my ($name, $runs) = @$v;
	my $db = "dst_$name";
	$node->safe_psql('postgres', "CREATE DATABASE $db") if $name ne 'no_owner';
	for my $args (@$runs)
	{
		$node->command_ok(
			[ 'pg_restore', '--exit-on-error', @$args, '-d', $node->connstr($db), "$tempdir/src.dump" ],
			"pg_restore $name: @$args");
	}
	is($node->safe_psql($db, "SET search_path = public; $owners_q"), $owners, "$name: tags restored");
	is($node->safe_psql($db, "SET search_path = public; $loose_q"), $loose,
		"$name: loose foreign keys, their queue and triggers restored");
	is($node->safe_psql($db, "SET search_path = public; $allow_q"), $node->safe_psql('src', $allow_q),
		"$name: allowlist restored");
}

# pg_restore -j creates the dump's triggers while other jobs add
# constraints: the event trigger of an ALTER TABLE on a partitioned table
# some member of which has its queue triggers already does not give them to
# the others (the dump's CREATE TRIGGER then failed: already exists).  The
# same order, without the race: the triggers of the partition listed before
# the parent's primary key.
my ($toc) = run_command([ 'pg_restore', '-l', "$tempdir/src.dump" ]);
my @toc = split /\n/, $toc;
my @early = grep { /TRIGGER (public accounts_group_1 migration_split_loose_fk_|inv Stock migration_split_freeze)/ } @toc;
is(scalar(@early), 4, 'the dump has the queue triggers of the partition and the freeze triggers');
my @list;
for my $line (@toc)
{
	next if grep { $_ eq $line } @early;
	push @list, @early if $line =~ /CONSTRAINT public accounts_group accounts_group_pkey/;
	push @list, $line;
}
open(my $fh, '>', "$tempdir/reordered.list") or die;
print $fh join("\n", @list), "\n";
close($fh);
$node->safe_psql('postgres', 'CREATE DATABASE dst_reordered');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-L', "$tempdir/reordered.list", '-d',
		$node->connstr('dst_reordered'), "$tempdir/src.dump" ],
	'pg_restore with the partition\'s triggers before the parent\'s constraint');
is($node->safe_psql('dst_reordered', $loose_q), $loose,
	'reordered: loose foreign keys, their queue and triggers restored');
is($node->safe_psql('dst_reordered', $frozen_q), $node->safe_psql('src', $frozen_q),
	'reordered: the frozen domain keeps its freeze triggers');

# plain format, restored with psql
$node->command_ok(
	[ 'pg_dump', '-Fp', '-f', "$tempdir/src.sql", '-d', $node->connstr('src') ],
	'pg_dump -Fp');
$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$tempdir/src.sql",
		'-d', $node->connstr('dst_plain') ],
	'plain dump restored with psql');
is($node->safe_psql('dst_plain', $owners_q), $owners, 'plain format: tags restored');
is($node->safe_psql('dst_plain', $domains_q), $domains, 'plain format: domains restored');
is($node->safe_psql('dst_plain', $effective_q), $effective,
	'plain format: effective domains restored');
is($node->safe_psql('dst_plain', $loose_q), $loose,
	'plain format: loose foreign keys, their queue and triggers restored');
($ret, $stdout, $stderr) = $node->psql('dst_plain', q{
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
VALUES ('accounts', 'orders', 'after restore') RETURNING id});
is("$ret|$stdout|$stderr", "0|3|", 'plain format: a new allowlist entry after restore gets the next id');

# a dump that leaves a tagged table out (-T) cannot restore the tags: the
# regclass of the missing table does not load, and with it the whole
# ownership data item fails (README: Dump and restore); the domains come back
$node->safe_psql('src', q{CREATE TABLE left_out (id int);
SELECT migration_split.assign_table('left_out', 'inventory')});
$node->command_ok(
	[ 'pg_dump', '-Fc', '-T', 'public.left_out', '-f', "$tempdir/partial.dump",
		'-d', $node->connstr('src') ],
	'pg_dump -T of a tagged table');
$node->safe_psql('postgres', 'CREATE DATABASE dst_partial');
my ($partial_out, $partial_err) = ('', '');
my $partial_ok = IPC::Run::run(
	[ 'pg_restore', '-d', $node->connstr('dst_partial'), "$tempdir/partial.dump" ],
	'>', \$partial_out, '2>', \$partial_err);
ok(!$partial_ok, 'partial dump: pg_restore reports an error');
like($partial_err,
	qr/COPY failed for table "ownership": ERROR:  relation "public.left_out" does not exist/,
	'partial dump: the ownership data fails on the missing table');
is($node->safe_psql('dst_partial', 'SELECT count(*) FROM migration_split.ownership'),
	'0', 'partial dump: no tag restored');
is($node->safe_psql('dst_partial', $domains_q), $domains, 'partial dump: domains restored');
$node->safe_psql('src', 'DROP TABLE left_out');

# a restored database keeps working: drop and rename follow the tags
$node->safe_psql('dst_custom', q{DROP TABLE inv."Stock"; ALTER TABLE accounts_user RENAME TO accounts_member});
is( $node->safe_psql(
		'dst_custom',
		q{SELECT string_agg(rel::text, ',' ORDER BY rel::text) FROM migration_split.table_owners WHERE domain <> 'orders'}),
	'accounts_group,accounts_member,inventory_item,inventory_item_legacy',
	'tags follow renames and drops after restore');

# DROP EXTENSION with tags in place, then a clean reinstall (a loose
# foreign key's triggers and a frozen domain's depend on the extension:
# it fails until the key is tightened and the domain unfrozen)
my ($dret, $dout, $derr) = $node->psql('src', 'DROP EXTENSION migration_split');
like($derr, qr/cannot drop extension migration_split because other objects depend on it.*trigger migration_split_freeze on table inventory_item depends on function migration_split\.refuse_frozen_write\(\)/s,
	'DROP EXTENSION fails while a domain is frozen');
$node->safe_psql('src', q{
SELECT migration_split.process_loose_foreign_keys();
SELECT migration_split.tighten_foreign_key('"Orders Renamed"', 'orders_order_user_id_fkey');
SELECT migration_split.tighten_foreign_key('orders_membership', 'orders_membership_group_id_fkey');
SELECT migration_split.unfreeze_domain('inventory')});
$node->safe_psql('src', 'DROP EXTENSION migration_split');
is( $node->safe_psql(
		'src',
		q{SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				   WHERE n.nspname = 'migration_split')
			   + (SELECT count(*) FROM pg_event_trigger)}),
	'0', 'DROP EXTENSION removes its tables and event trigger');
$node->safe_psql('src', 'DROP TABLE untagged');
$node->safe_psql('src', 'CREATE EXTENSION migration_split');
is($node->safe_psql('src', 'SELECT count(*) FROM migration_split.ownership'),
	'0', 'reinstalled extension starts without tags');
is($node->safe_psql('src', q{SELECT migration_split.table_domain('accounts_user')}),
	'', 'no stale domain after reinstall');

$node->stop;
done_testing();
