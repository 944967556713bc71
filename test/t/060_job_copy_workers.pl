# The copy workers are threads: each failing table keeps its own error (the
# error text buffers are per thread), the process is not ended by a worker,
# and init reports every failure and exits 8.  Eight tables, each with a
# character a LATIN1 target cannot hold, copied by four workers at once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();
$tgt->safe_psql('postgres',
	"CREATE DATABASE tgt ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");

# Greek letters: none is in LATIN1, each has its own UTF-8 bytes
my @letters = (0x3b1 .. 0x3b8);
my $sql = "CREATE EXTENSION migration_split;\nINSERT INTO migration_split.domains (domain) VALUES ('d');\n";
for my $i (0 .. $#letters)
{
	$sql .= "CREATE TABLE t$i (id int PRIMARY KEY, v text);\n"
	  . "INSERT INTO t$i SELECT g, CASE WHEN g = 5000 THEN chr($letters[$i]) ELSE 'x' END FROM generate_series(1, 10000) g;\n"
	  . "INSERT INTO migration_split.ownership (rel, domain) VALUES ('t$i', 'd');\n";
}
$src->safe_psql('postgres', $sql);

my ($stdout, $stderr);
run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('tgt'), '--domain', 'd', '--jobs', '4', '--no-progress' ], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 8, 'failed copies: exit code 8, from the main thread');
like($stderr, qr/copy of domain "d" failed; tables marked copied are kept/, 'failure reported by init');

# every FAILED table's line starts a line and is followed by its error
my $failed = () = $stdout =~ /FAILED/g;
my $listed = () = $stdout =~ /^public\.t\d+\s+FAILED.*\n\s+error: .+$/mg;
cmp_ok($failed, '>=', 1, 'at least one table failed');
is($listed, $failed, 'each failed table is listed on its own line with its error');

my $own = 0;
my $foreign = 0;
for my $i (0 .. $#letters)
{
	my ($err) = $stdout =~ /^public\.t$i\s+FAILED.*\n\s+error: (.*)$/m;
	next unless defined $err && $err ne 'stopped after another table failed';
	my $bytes = join(' ', map { sprintf('0x%02x', ord) } split //, do { my $c = chr($letters[$i]); utf8::encode($c); $c });
	if ($err =~ /byte sequence $bytes /) { $own++ } else { $foreign++; diag("t$i: $err") }
}
cmp_ok($own, '>=', 1, 'failed tables report their own character');
is($foreign, 0, 'no table reports another table\'s error');

$src->stop;
$tgt->stop;
done_testing();
