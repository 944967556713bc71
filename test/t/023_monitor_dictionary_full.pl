# The shared dictionary of domain names holds 4096 names.  Made-up service
# names never enter it; once real domains have filled it, further domains
# are not recorded, monitor_info says so, and statements keep working
# (enforcement still applies).  The dictionary survives a restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('monitor_dictionary');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'migration_split'
});
$node->start;

# 4100 domains; table t belongs to the first
$node->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain)
SELECT 'd' || i FROM generate_series(1, 4100) i;
CREATE TABLE t (id int);
INSERT INTO migration_split.ownership VALUES ('t', 'd1');
-- one violation acting for each domain "from".."to" interns its name
CREATE FUNCTION act_as(prefix text, first int, last int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN first .. last LOOP
		PERFORM set_config('migration_split.service', prefix || i, true);
		PERFORM count(*) FROM t;
	END LOOP;
END $$;
});

my $info = q{SELECT domain_names, domain_names_max, domain_names_refused FROM migration_split.monitor_info};
my $act = q{SET migration_split.enforce = 'warn'; SET client_min_messages = error; SELECT migration_split.act_as(%s, %d, %d)};
$act =~ s/migration_split\.act_as/act_as/;

# made-up names are not recorded
$node->safe_psql('postgres', sprintf($act, "'nodomain'", 1, 500));
is($node->safe_psql('postgres', $info), '1|4096|0',
	'500 made-up service names: only d1 (the table\'s domain) is recorded');

# real domains fill the dictionary
$node->safe_psql('postgres', sprintf($act, "'d'", 2, 4100));
my ($names, $max, $refused) = split /\|/, $node->safe_psql('postgres', $info);
is($names, 4096, 'the dictionary is full');
cmp_ok($refused, '>=', 4, 'the domains that did not fit are counted');

# a full dictionary does not stop statements or enforcement
is( $node->psql('postgres',
		q{SET migration_split.enforce = 'error'; SET migration_split.service = 'd4100'; SELECT count(*) FROM t}),
	3, 'a domain left out of the dictionary is still enforced');
is($node->safe_psql('postgres',
		q{SELECT last_violation IS NOT NULL FROM migration_split.domain_runtime_stats() WHERE domain = 'd1'}),
	't', 'the recorded domains have their violations');

# kept across a clean restart
$node->restart;
is((split /\|/, $node->safe_psql('postgres', $info))[0], 4096,
	'the dictionary survives a restart');

done_testing();
