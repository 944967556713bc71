# The target must not act on its own: changes are applied with
# session_replication_role = replica, as PostgreSQL's apply worker does, so
# the target's foreign key actions (ON DELETE CASCADE / SET NULL, ON UPDATE
# CASCADE), deferred foreign keys and ordinary triggers do not act on the
# replicated changes a second time; a trigger set ENABLE ALWAYS does fire.
# A TRUNCATE ... CASCADE of the source empties on the target exactly the
# tables the source emptied (they are all in the change), never a table of
# the service's own that references them (before the fix the target
# cascaded too, and the service's rows were gone): as PostgreSQL's apply
# worker does, it is applied without CASCADE, and such a reference stops
# the job until the service drops it.
# A target role that may not set session_replication_role is refused before
# anything is created.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'd');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE NOT NULL);
CREATE TABLE child_cascade (id int PRIMARY KEY,
	parent_id int REFERENCES parent (id) ON DELETE CASCADE);
CREATE TABLE child_setnull (id int PRIMARY KEY,
	parent_id int REFERENCES parent (id) ON DELETE SET NULL);
CREATE TABLE child_code (id int PRIMARY KEY,
	code text REFERENCES parent (code) ON UPDATE CASCADE ON DELETE CASCADE);
CREATE TABLE child_deferred (id int PRIMARY KEY,
	parent_id int REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
INSERT INTO migration_split.domains (domain) VALUES ('d');
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('parent', 'd'), ('child_cascade', 'd'), ('child_setnull', 'd'),
	('child_code', 'd'), ('child_deferred', 'd');
INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 10) i;
INSERT INTO child_cascade SELECT i, 1 + i % 10 FROM generate_series(1, 50) i;
INSERT INTO child_setnull SELECT i, 1 + i % 10 FROM generate_series(1, 50) i;
INSERT INTO child_code SELECT i, 'p' || (1 + i % 10) FROM generate_series(1, 50) i;
INSERT INTO child_deferred SELECT i, 5 + i % 6 FROM generate_series(1, 50) i;
});

# a target role that may not set session_replication_role
$tgt->safe_psql('postgres', q{
CREATE ROLE weak LOGIN;
GRANT CREATE ON DATABASE postgres TO weak;
});
my ($stdout, $stderr);
my $weak = $tgt->connstr('postgres') . ' user=weak';
run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres'),
	'--target', $weak, '--domain', 'd', '--no-progress' ], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 6, 'target role without the right to set session_replication_role: exit code 6');
like($stderr, qr/could not set session_replication_role on the target: permission denied to set parameter "session_replication_role"\n.*detail: Changes are applied with session_replication_role = replica.*\n.*hint: Connect to the target as a superuser, or GRANT SET ON PARAMETER session_replication_role TO the role of --target\./,
	'clear message with the fix');
is($tgt->safe_psql('postgres', "SELECT count(*) FROM pg_namespace WHERE nspname IN ('d', 'migration_split_job')"),
	'0', 'nothing created on the target');

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

# what a service adds on its tables: an ordinary trigger, and one that is
# meant to fire for replicated changes too (ENABLE ALWAYS)
$tgt->safe_psql('postgres', q{
CREATE TABLE public.audit (tbl text, id int, kind text);
CREATE FUNCTION public.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.audit VALUES (TG_TABLE_NAME, NEW.id, TG_ARGV[0]);
	RETURN NEW;
END $$;
CREATE FUNCTION public.scramble() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.code := 'scrambled';
	RETURN NEW;
END $$;
CREATE TRIGGER ordinary AFTER INSERT OR UPDATE ON d.parent
	FOR EACH ROW EXECUTE FUNCTION public.audit('ordinary');
CREATE TRIGGER scramble BEFORE INSERT ON d.parent
	FOR EACH ROW EXECUTE FUNCTION public.scramble();
CREATE TRIGGER always AFTER INSERT ON d.child_deferred
	FOR EACH ROW EXECUTE FUNCTION public.audit('always');
ALTER TABLE d.child_deferred ENABLE ALWAYS TRIGGER always;
});

$src->safe_psql('postgres', q{
DELETE FROM parent WHERE id IN (1, 2);                 -- cascades and sets null
UPDATE parent SET code = 'q3' WHERE id = 3;            -- cascades to child_code
BEGIN;                                                 -- deferred: child first
INSERT INTO child_deferred VALUES (100, 11);
INSERT INTO parent VALUES (11, 'p11');
COMMIT;
UPDATE child_setnull SET parent_id = 4 WHERE id = 5;
});
my $ret = run_log([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'>', \$stdout, '2>', \$stderr);
ok($ret, 'stream applies the source\'s cascaded changes without the target cascading again')
  or diag($stderr);

for my $t ('parent', 'child_cascade', 'child_setnull', 'child_code', 'child_deferred')
{
	my $q = "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) FROM %s.$t x";
	is($tgt->safe_psql('postgres', sprintf($q, 'd')), $src->safe_psql('postgres', sprintf($q, 'public')),
		"$t equal on both sides");
}
is($tgt->safe_psql('postgres', "SELECT code FROM d.parent WHERE id = 11"), 'p11',
	'an ordinary BEFORE trigger did not change a replicated row');
is($tgt->safe_psql('postgres', "SELECT string_agg(tbl || ' ' || id || ' ' || kind, ', ') FROM public.audit"),
	'child_deferred 100 always', 'only the ENABLE ALWAYS trigger fired');

# the service's own table, referencing a replicated one
$tgt->safe_psql('postgres', q{
CREATE SCHEMA svc;
CREATE TABLE svc.shipment (id int PRIMARY KEY, parent_id int REFERENCES d.parent (id));
INSERT INTO svc.shipment VALUES (1, 4), (2, 5);
});
# the source's CASCADE empties the children too: they are in the change
$src->safe_psql('postgres', q{
TRUNCATE parent CASCADE;
INSERT INTO parent VALUES (1, 'new');
});
run_log([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 7, 'TRUNCATE ... CASCADE of a table a service table references stops the job (exit 7)');
like($stderr, qr/could not apply TRUNCATE .*cannot truncate a table referenced in a foreign key constraint/,
	'with the server\'s reason');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM svc.shipment'), '2',
	'the service\'s table keeps its rows');
$tgt->safe_psql('postgres', 'ALTER TABLE svc.shipment DROP CONSTRAINT shipment_parent_id_fkey');
$ret = run_log([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'>', \$stdout, '2>', \$stderr);
ok($ret, 'without the service\'s foreign key the TRUNCATE is applied') or diag($stderr);
for my $t ('parent', 'child_cascade', 'child_setnull', 'child_code', 'child_deferred')
{
	my $q = "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) FROM %s.$t x";
	is($tgt->safe_psql('postgres', sprintf($q, 'd')), $src->safe_psql('postgres', sprintf($q, 'public')),
		"$t equal on both sides after TRUNCATE ... CASCADE");
}
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM svc.shipment'), '2',
	'the service\'s table still keeps its rows');

$src->stop;
$tgt->stop;
done_testing();
