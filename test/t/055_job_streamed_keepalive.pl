# A streamed transaction whose apply at its commit takes longer than the
# source's wal_sender_timeout: the job does not read the replication
# connection meanwhile, so it must keep the walsender informed, or the
# walsender ends the connection ("terminating walsender process due to
# replication timeout") and the job receives the whole transaction again.
# The apply is made slow on purpose: an ALWAYS trigger on the target table
# sleeps 2 ms per row, 3000 rows (6 s) against a timeout of 2 s.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target(source_conf =>
	  "logical_decoding_work_mem = 64kB\nwal_sender_timeout = 2s\n");

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'slow');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE slow_t (id int PRIMARY KEY, pad text);
INSERT INTO migration_split.domains (domain) VALUES ('slow');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('slow_t', 'slow');
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

$tgt->safe_psql('postgres', q{
CREATE FUNCTION public.slow_row() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(0.002); RETURN NEW; END $$;
CREATE TRIGGER slow_row BEFORE INSERT ON slow.slow_t
	FOR EACH ROW EXECUTE FUNCTION public.slow_row();
ALTER TABLE slow.slow_t ENABLE ALWAYS TRIGGER slow_row;
});

my $log_offset = -s $src->logfile;
$src->safe_psql('postgres', q{
INSERT INTO slow_t SELECT i, repeat('p', 200) FROM generate_series(1, 3000) i;
});

my ($stdout, $stderr);
my $t0 = time;
my $ok = IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'stream applies the streamed transaction');
cmp_ok(time - $t0, '>=', 4, 'the apply took longer than wal_sender_timeout');
unlike($stderr, qr/lost the connection to the source/,
	'the job kept its replication connection');
my $log = slurp_file($src->logfile, $log_offset);
unlike($log, qr/terminating walsender process due to replication timeout/,
	'the walsender did not time out');
# the walsender reports its statistics when it ends
ok($src->poll_query_until('postgres',
		q{SELECT stream_txns > 0 FROM pg_stat_replication_slots WHERE slot_name = 'migration_split_slow'}),
	'the source streamed the transaction');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM slow.slow_t}), '3000',
	'every row applied');

done_testing();
