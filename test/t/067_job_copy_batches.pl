# init's copy workers pass the source's rows to the target in batches of
# about 64 kB: rows smaller and larger than a batch, and rows that end
# exactly on or just past its end, arrive whole, in binary COPY and in text
# COPY (a table with an aclitem column, which has no binary form).  And the
# target's parallel maintenance workers build indexes only in place of idle
# copy workers: with --jobs 1 and three tables every build is serial; with
# --jobs 4 and one table the build uses parallel workers (the target's
# trace_sort log says which sort ran in a parallel worker).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();
# every table is large enough for a parallel index build; the sorts log
$tgt->append_conf('postgresql.conf', "min_parallel_table_scan_size = 0\ntrace_sort = on\n");
$tgt->restart;

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('d'), ('e');
-- value lengths around the 64 kB batch: COPY's row framing adds a few bytes
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT g, repeat(chr(65 + g % 26), (array[0, 1, 65500, 65510, 65520, 65530, 65536, 65540, 131072, 200000])[1 + g % 10] + g % 7)
	FROM generate_series(1, 400) g;
INSERT INTO big SELECT g, md5(g::text) FROM generate_series(401, 20000) g;
ALTER TABLE big ALTER v SET STORAGE EXTERNAL;
CREATE TABLE acl (id int PRIMARY KEY, a aclitem, v text);
INSERT INTO acl SELECT id, 'postgres=r/postgres', v FROM big;
CREATE TABLE small (id int PRIMARY KEY, w int);
INSERT INTO small SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE solo (id int PRIMARY KEY, v text);
INSERT INTO solo SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('big', 'd'), ('acl', 'd'), ('small', 'd'), ('solo', 'e');
});
$tgt->safe_psql('postgres', 'CREATE DATABASE e');

# the worker numbers of the sorts that built a table's primary key, from the
# target's log since offset: -1 is a serial sort (or a parallel build's
# leader merging), 0 and up parallel participants
sub key_sorts
{
	my ($offset) = @_;
	my $log = slurp_file($tgt->logfile, $offset);
	my @workers;
	while ($log =~ /LOG:  performsort of worker (-?\d+) starting[^\n]*\n[^\n]*STATEMENT:  ([^\n]*)/g)
	{
		my ($w, $stmt) = ($1, $2);
		push @workers, $w if $stmt =~ /_pkey/;
	}
	return @workers;
}

my $sum = q{SELECT count(*) || ' ' || sum(length(v)) || ' ' || md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM %s};
my $log_start = -s $tgt->logfile;
my ($stdout, $stderr);
run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres'), '--target',
		$tgt->connstr('postgres'), '--domain', 'd', '--jobs', '1', '--no-progress' ],
	'>', \$stdout, '2>', \$stderr);
is($? >> 8, 0, 'init of d exits 0') or diag($stderr);
for my $t ('big', 'acl')
{
	my $want = $src->safe_psql('postgres', sprintf($sum, "public.$t"));
	like($want, qr/^20000 \d+ [0-9a-f]{32}$/, "$t: source rows summed");
	is($tgt->safe_psql('postgres', sprintf($sum, "d.$t")), $want, "$t: the same rows on the target");
}
is($tgt->safe_psql('postgres', q{SELECT string_agg(id || ':' || a::text, ',' ORDER BY id) FROM d.acl WHERE id <= 2}),
	'1:postgres=r/postgres,2:postgres=r/postgres', 'acl: aclitem copied in text format');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM pg_index WHERE indrelid IN ('d.big'::regclass, 'd.acl'::regclass, 'd.small'::regclass)}),
	'3', 'keys built');

my @sorts = key_sorts($log_start);
ok(@sorts >= 3, 'd: the keys\' sorts are in the log') or diag(slurp_file($tgt->logfile, $log_start));
is(join(',', grep { $_ ne '-1' } @sorts), '', 'd: --jobs 1: no sort in a parallel worker');

$log_start = -s $tgt->logfile;
run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres'), '--target',
		$tgt->connstr('e'), '--domain', 'e', '--jobs', '4', '--no-progress' ],
	'>', \$stdout, '2>', \$stderr);
is($? >> 8, 0, 'init of e exits 0') or diag($stderr);
is($tgt->safe_psql('e', sprintf($sum, 'e.solo')), $src->safe_psql('postgres', sprintf($sum, 'public.solo')),
	'solo: the same rows on the target');
@sorts = key_sorts($log_start);
ok((grep { $_ eq '0' } @sorts) && (grep { $_ eq '1' } @sorts),
	'e: --jobs 4, one table: its key is built with parallel workers') or diag("sorts: @sorts");

done_testing();
