# The output plugin through the replication protocol, as the replication
# job and pg_recvlogical use it: slot creation without options (also with
# an exported snapshot), a large transaction streamed live and then aborted
# or committed, interleaved with another domain's changes.  Every line must
# be a JSON object.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use IPC::Run;
use Time::HiRes qw(usleep);
use JobClusters qw(plugin_libraries_conf);

my $node = PostgreSQL::Test::Cluster->new('decoder');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf', plugin_libraries_conf('pgoutput', 'migration_split') . qq(
logical_decoding_work_mem = 64kB
wal_writer_delay = 10ms
));
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION migration_split;
	INSERT INTO migration_split.domains (domain) VALUES ('orders'), ('billing');
	CREATE TABLE orders_order (id int PRIMARY KEY, status text);
	CREATE TABLE billing_invoice (id int PRIMARY KEY, total numeric);
	INSERT INTO migration_split.ownership (rel, domain)
		VALUES ('orders_order', 'orders'), ('billing_invoice', 'billing');
});

# CREATE_REPLICATION_SLOT with an exported snapshot, as the job does it
my ($ret, $out, $err) = $node->psql('postgres',
	"CREATE_REPLICATION_SLOT exported LOGICAL migration_split (SNAPSHOT 'export')",
	replication => 'database');
is($ret, 0, 'slot created through the replication protocol with an exported snapshot');
like($out, qr/^exported\|[0-9A-F]+\/[0-9A-F]+\|[0-9A-F-]+\|migration_split$/,
	'snapshot name returned');
$node->safe_psql('postgres', "SELECT pg_drop_replication_slot('exported')");

# pg_recvlogical --create-slot: no options either
$node->command_ok(
	[
		'pg_recvlogical', '-d', $node->connstr('postgres'), '-S', 'live',
		'-P', 'migration_split', '--create-slot'
	],
	'pg_recvlogical creates a slot');

# A bare option that needs a value (only the replication protocol can send
# one): a clear error, not "(null)".
$node->command_fails_like(
	[
		'pg_recvlogical', '-d', $node->connstr('postgres'), '-S', 'live',
		'--start', '-f', '-', '--no-loop', '-o', 'domain=orders', '-o', 'format'
	],
	qr/option "format" needs a value/,
	'bare format option: needs a value');

# Stream live: pg_recvlogical in the background, writing every line.
my $outfile = $node->basedir . '/live.jsonl';
my ($stdout, $stderr) = ('', '');
my $recv = IPC::Run::start(
	[
		'pg_recvlogical', '-d', $node->connstr('postgres'), '-S', 'live',
		'--start', '-f', $outfile, '-F', '0', '-s', '1', '--no-loop',
		'-o', 'domain=orders', '-o', 'stream-changes=on', '-o', 'include-xids=on'
	],
	'>', \$stdout, '2>', \$stderr);

sub lines
{
	return () unless -e $outfile;
	my @l = split /\n/, slurp_file($outfile);
	return @l;
}

sub wait_for_line
{
	my ($re, $what) = @_;
	foreach (1 .. $PostgreSQL::Test::Utils::timeout_default * 2)
	{
		return 1 if grep { /$re/ } lines();
		usleep(100_000);
	}
	diag("timed out waiting for $what; stderr: $stderr");
	return 0;
}

# A big transaction, streamed while still open, then rolled back.
my $bg = $node->background_psql('postgres');
$bg->query_safe('BEGIN');
$bg->query_safe(
	"INSERT INTO orders_order SELECT g, repeat('doomed ', 4) FROM generate_series(100000, 104999) g");
ok(wait_for_line(qr/"action":"E"/, 'a stream block'),
	'an open transaction is streamed once it exceeds logical_decoding_work_mem');
$bg->query_safe('ROLLBACK');
$node->safe_psql('postgres', 'INSERT INTO billing_invoice VALUES (0, 0)');   # flushes WAL
ok(wait_for_line(qr/"action":"A"/, 'the abort'), 'the aborted streamed transaction ends with A');

# A big transaction interleaved with small ones of both domains, committed.
$bg->query_safe('BEGIN');
$bg->query_safe(
	"INSERT INTO orders_order SELECT g, repeat('kept ', 4) FROM generate_series(1, 5000) g");
$node->safe_psql('postgres', q{
	INSERT INTO orders_order VALUES (-1, 'small, commits first');
	INSERT INTO billing_invoice SELECT g, g FROM generate_series(1, 3000) g;
});
$bg->query_safe('UPDATE orders_order SET status = $$last$$ WHERE id = 5000');
$bg->query_safe('COMMIT');
$bg->quit;
ok(wait_for_line(qr/"streamed":true/, 'the streamed commit'), 'the streamed transaction commits');

$recv->signal('INT');
$recv->finish;

# Every line is a JSON object; check the conversation.
my $json = JSON::PP->new;
my @msgs;
my $bad = 0;
foreach my $line (lines())
{
	my $m = eval { $json->decode($line) };
	if (!defined $m || ref($m) ne 'HASH') { $bad++; next; }
	push @msgs, $m;
}
is($bad, 0, 'every line is a JSON object');

my %by_xid;
my ($depth, $nested, $aborted, $committed) = (0, 0, 0, 0);
my @small;
foreach my $m (@msgs)
{
	my $a = $m->{action};
	if ($a eq 'S') { $nested++ if $depth; $depth = 1; }
	elsif ($a eq 'E') { $depth = 0; }
	elsif ($a eq 'A') { $aborted = $m->{xid}; }
	elsif ($a eq 'C' && $m->{streamed}) { $committed = $m->{xid}; }
	elsif ($a eq 'I' || $a eq 'U')
	{
		if ($depth) { push @{ $by_xid{ $m->{xid} } }, $m; }
		else { push @small, $m; }
		is($m->{table}, 'orders_order', 'only the domain\'s table') if $m->{table} ne 'orders_order';
	}
}
is($nested, 0, 'stream blocks do not nest');
ok($aborted && $committed && $aborted != $committed, 'one streamed transaction aborted, one committed');
is(scalar(@{ $by_xid{$committed} || [] }), 5001, 'the committed streamed transaction: all its changes');
my @ids = map { $_->{new}[0] } grep { $_->{action} eq 'I' } @{ $by_xid{$committed} || [] };
is_deeply(\@ids, [ map { "$_" } 1 .. 5000 ], 'in order');
is($by_xid{$committed}[-1]{action} . $by_xid{$committed}[-1]{new}[1], 'Ulast', 'the update last');
is(scalar(@small), 1, 'the small transaction, outside any stream');
is($small[0]{new}[1], 'small, commits first', 'with its row');
is(scalar(grep { $_->{action} eq 'I' } @{ $by_xid{$aborted} || [] }) > 0, 1,
	'the aborted transaction was streamed before its abort');

$node->stop;
done_testing();
