# A streamed transaction whose apply at its commit takes longer than the
# source's wal_sender_timeout: the job does not read the replication
# connection meanwhile, so it must keep the walsender informed, or the
# walsender ends the connection ("terminating walsender process due to
# replication timeout") and the job receives the whole transaction again.
# The apply is made slow on purpose: an ALWAYS trigger on the target table
# sleeps 1 ms per updated row, 12000 rows (12 s or more) against a timeout
# of 5 s.  The job waits for the target's results in pipelined chunks of up
# to 2000 statements, each several seconds long here: it must send status
# updates while it waits, not only between waits.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target(source_conf =>
	  "logical_decoding_work_mem = 64kB\nwal_sender_timeout = 5s\n");

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'slow');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE slow_t (id int PRIMARY KEY, pad text);
INSERT INTO migration_split.domains (domain) VALUES ('slow');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('slow_t', 'slow');
INSERT INTO slow_t SELECT i, 'p' FROM generate_series(1, 12000) i;
});

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

$tgt->safe_psql('postgres', q{
CREATE FUNCTION public.slow_row() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END $$;
CREATE TRIGGER slow_row BEFORE UPDATE ON slow.slow_t
	FOR EACH ROW EXECUTE FUNCTION public.slow_row();
ALTER TABLE slow.slow_t ENABLE ALWAYS TRIGGER slow_row;
});

my $log_offset = -s $src->logfile;
$src->safe_psql('postgres', q{
UPDATE slow_t SET pad = 'updated';
});

my ($stdout, $stderr);
my $t0 = time;
my $ok = IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'stream applies the streamed transaction');
cmp_ok(time - $t0, '>=', 10, 'the apply took longer than twice wal_sender_timeout');
unlike($stderr, qr/lost the connection to the source|stream from the source ended|could not send feedback/,
	'the job kept its replication connection');
my $log = slurp_file($src->logfile, $log_offset);
unlike($log, qr/terminating walsender process due to replication timeout/,
	'the walsender did not time out');
# the walsender reports its statistics when it ends
ok($src->poll_query_until('postgres',
		q{SELECT stream_txns > 0 FROM pg_stat_replication_slots WHERE slot_name = 'migration_split_slow'}),
	'the source streamed the transaction');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM slow.slow_t WHERE pad = 'updated'}), '12000',
	'every row applied');

done_testing();
