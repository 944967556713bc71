# The apply session never runs an operator that a less privileged role put
# in the target schema.  Its search_path is the target schema (type names
# of the stream are resolved there), so before the fix the job's
# "WHERE key = $1" on a key of an enum or a domain of that schema picked an
# "=" that a role allowed to create objects there had defined for exactly
# that type (a better match than pg_catalog's polymorphic or base type's
# one), and ran its function with the job's rights (a superuser here).  Now
# each key column is compared with the equality operator of the target's
# unique index on the key, schema-qualified (or, where the target has no
# such index, as for a partition with a replica identity of its own, the
# operator of the column type's default btree operator class, else
# pg_catalog's).  Single updates and deletes, runs of updates and runs of
# deletes, and changes of such a partition are all checked; keys of
# extension types (citext, in the target schema) keep working.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'shop');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'meh', 'wow');
CREATE DOMAIN code AS int CHECK (VALUE > 0);
CREATE TABLE feeling (m mood PRIMARY KEY, n int);
CREATE TABLE item (c code PRIMARY KEY, n int);
CREATE TABLE account (email citext PRIMARY KEY, n int);
CREATE TABLE mood_log (id int, region text, m mood NOT NULL, n int, PRIMARY KEY (id, region))
	PARTITION BY LIST (region);
CREATE TABLE mood_log_a PARTITION OF mood_log FOR VALUES IN ('a');
CREATE TABLE mood_log_b PARTITION OF mood_log FOR VALUES IN ('b');
CREATE UNIQUE INDEX mood_log_b_m ON mood_log_b (m);
ALTER TABLE mood_log_b REPLICA IDENTITY USING INDEX mood_log_b_m;
INSERT INTO migration_split.domains (domain) VALUES ('shop');
INSERT INTO migration_split.ownership (rel, domain)
	VALUES ('feeling', 'shop'), ('item', 'shop'), ('account', 'shop'), ('mood_log', 'shop');
INSERT INTO mood_log VALUES (1, 'a', 'happy', 1), (2, 'b', 'sad', 2), (3, 'b', 'ok', 3);
INSERT INTO feeling VALUES ('sad', 1), ('ok', 2), ('happy', 3), ('meh', 4), ('wow', 5);
INSERT INTO item SELECT i, i FROM generate_series(1, 10) i;
INSERT INTO account SELECT 'User' || i || '@Example.com', i FROM generate_series(1, 10) i;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

# a role that may create objects in the target schema, but is no superuser
$tgt->safe_psql('postgres', q{
CREATE ROLE service LOGIN;
GRANT USAGE, CREATE ON SCHEMA shop TO service;
CREATE TABLE public.trojan (who name, superuser bool);
GRANT INSERT ON public.trojan TO PUBLIC;
SET ROLE service;
CREATE FUNCTION shop.mood_eq(shop.mood, shop.mood) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.trojan SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
	RETURN $1::text = $2::text;
END $$;
CREATE OPERATOR shop.= (LEFTARG = shop.mood, RIGHTARG = shop.mood, FUNCTION = shop.mood_eq);
CREATE FUNCTION shop.code_eq(shop.code, shop.code) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.trojan SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
	RETURN $1::int = $2::int;
END $$;
CREATE OPERATOR shop.= (LEFTARG = shop.code, RIGHTARG = shop.code, FUNCTION = shop.code_eq);
});

$src->safe_psql('postgres', q{
UPDATE feeling SET n = 10 WHERE m = 'sad';
UPDATE feeling SET n = n + 100 WHERE m IN ('ok', 'happy');
DELETE FROM feeling WHERE m = 'meh';
DELETE FROM feeling WHERE m = 'wow';
UPDATE item SET n = -n WHERE c <= 3;
UPDATE item SET c = 100 WHERE c = 4;
DELETE FROM item WHERE c IN (5, 6);
UPDATE account SET n = -n WHERE n <= 3;
DELETE FROM account WHERE n IN (4, 5);
UPDATE mood_log SET n = -n WHERE region = 'b' AND m = 'sad';
DELETE FROM mood_log WHERE region = 'b' AND m = 'ok';
});
my ($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$out, '2>', \$err);
is($?, 0, 'stream applies every change') or diag($err);
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM public.trojan'), '0',
	'no operator of the service role ran in the job\'s session');
for my $t ('feeling', 'item', 'account', 'mood_log')
{
	my $rows = "SELECT string_agg(t::text, ',' ORDER BY t::text) FROM %s.$t t";
	is($tgt->safe_psql('postgres', sprintf($rows, 'shop')),
		$src->safe_psql('postgres', sprintf($rows, 'public')), "$t equal on both sides");
}

done_testing();
