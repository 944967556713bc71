# migration-split init copies with row_security = off, as pg_dump does: a
# source table whose row level security policies would apply to the job's
# role fails the copy, instead of running the policies' code with the job's
# rights and silently copying only the rows the policies let through.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE ROLE jobber LOGIN REPLICATION;
CREATE ROLE tenant;
CREATE TABLE acct (id int PRIMARY KEY, note text);
ALTER TABLE acct OWNER TO tenant;
INSERT INTO acct SELECT i, 'n' || i FROM generate_series(1, 10) i;
-- the policy lets the job's role see one row
CREATE FUNCTION visible(id int) RETURNS boolean LANGUAGE sql VOLATILE
	AS $$ SELECT id = 1 $$;
ALTER TABLE acct ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_one ON acct USING (visible(id));
GRANT SELECT ON acct TO jobber;
INSERT INTO migration_split.domains (domain) VALUES ('acct');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('acct', 'acct');
});

my @common = ('--source', $src->connstr('postgres') . ' user=jobber',
	'--target', $tgt->connstr('postgres'), '--domain', 'acct');

my ($stdout, $stderr);
my $ok = IPC::Run::run([ 'migration-split', 'init', @common, '--no-progress' ],
	'>', \$stdout, '2>', \$stderr);
ok(!$ok, 'init fails on a table whose policies would apply');
like($stdout . $stderr, qr/row-level security/, "and says why (the table report)");
is($tgt->safe_psql('postgres',
		q{SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'acct' AND relkind = 'r'}) eq '0'
	  ? 0
	  : $tgt->safe_psql('postgres', 'SELECT count(*) FROM acct.acct'),
	0, 'no subset of the rows was copied');

# a role that bypasses row level security copies every row
$src->safe_psql('postgres', 'ALTER ROLE jobber BYPASSRLS');
command_ok([ 'migration-split', 'init', @common, '--no-progress', '--drop' ],
	'init with BYPASSRLS');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM acct.acct'), '10',
	'every row copied');

done_testing();
