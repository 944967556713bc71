# The statistics file keeps the statements' entries per set of domains
# crossed across a restart (format version 4), and a file of another
# format version (3: written by an older library, whose statement entries
# had another layout) is reported and ignored: the server starts with
# empty statistics, removes the file and counts from zero.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('monitor_stats_format');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'migration_split'
compute_query_id = on
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('a'), ('b'), ('c');
CREATE TABLE ta (id int);
CREATE TABLE tb (id int);
INSERT INTO migration_split.ownership VALUES ('ta', 'a'), ('tb', 'b');
});
my $stmt = 'SELECT count(*) FROM ta JOIN tb USING (id)';
$node->safe_psql('postgres', $stmt) for 1 .. 2;
$node->safe_psql('postgres', q{UPDATE migration_split.ownership SET domain = 'c' WHERE rel = 'tb'::regclass});
$node->safe_psql('postgres', $stmt);

my $queries = q{SELECT domains, calls, query FROM migration_split.cross_domain_queries ORDER BY domains};
my $expected = "{a,b}|2|$stmt\n{a,c}|1|$stmt";
is($node->safe_psql('postgres', $queries), $expected,
	'one entry per set of domains crossed');

$node->restart;
is($node->safe_psql('postgres', $queries), $expected,
	'entries per set of domains kept across restart');
$node->safe_psql('postgres', $stmt);
is($node->safe_psql('postgres', $queries), "{a,b}|2|$stmt\n{a,c}|2|$stmt",
	'a call after restart counts in the entry of the domains it crosses now');
# the tables' oids are kept too: a table renamed after the restart shows
# its new name in the restored entries
$node->safe_psql('postgres', 'ALTER TABLE tb RENAME TO tb2');
is($node->safe_psql('postgres', q{SELECT domains, tables FROM migration_split.cross_domain_queries ORDER BY domains}),
	"{a,b}|{public.ta,public.tb2}\n{a,c}|{public.ta,public.tb2}",
	'restored entries name a table renamed since by its new name');
$node->safe_psql('postgres', 'ALTER TABLE tb2 RENAME TO tb');

# a file whose header says format version 3 (the previous library's, with
# the domains outside the statement key): ignored with a LOG line
$node->stop;
my $statfile = $node->data_dir . '/pg_stat/migration_split.stat';
ok(-e $statfile, 'statistics file written at shutdown');
open(my $fh, '+<:raw', $statfile) or die "could not open $statfile: $!";
read($fh, my $head, 8) == 8 or die 'short statistics file';
my ($magic, $version) = unpack('LL', $head);
is($version, 4, 'statistics file of format version 4');
seek($fh, 4, 0) or die;
print $fh pack('L', 3);
close($fh);
my $log_offset = -s $node->logfile;
$node->start;
like(substr(slurp_file($node->logfile), $log_offset),
	qr/LOG:  ignoring file "pg_stat\/migration_split.stat" of format version 3\n.*DETAIL:  This version of migration_split reads format version 4 only; the runtime statistics start empty\./,
	'file of format version 3 reported in the log');
is($node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.cross_domain_queries'),
	'0', 'file of format version 3 not loaded');
ok(!-e $statfile, 'file of format version 3 removed');
$node->safe_psql('postgres', $stmt);
is($node->safe_psql('postgres', $queries), "{a,c}|1|$stmt",
	'counting starts from zero');

$node->stop;
done_testing();
