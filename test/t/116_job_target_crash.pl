# A crash of the target loses the job's last commits: its batches commit
# with synchronous_commit off (as PostgreSQL's apply worker does), so that
# a COMMIT does not wait for its WAL flush.  The source must then still have
# what the target lost: the stream confirms to the source only positions
# whose batches are flushed on the target (coordinator.c, Durability).
# Here the target's WAL writer flushes at most every 10 s and nothing else
# flushes (no autovacuum, no background writer writes, no synchronous
# commit), rows are applied, the target crashes before its next flush,
# and the stream, reconnecting, applies them again, exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JobClusters;

my ($src, $tgt) = source_and_target();
$tgt->append_conf('postgresql.conf',
	"wal_writer_delay = 10s\nautovacuum = off\nbgwriter_lru_maxpages = 0\n");
$tgt->restart;
my @common = one_table_domain($src, $tgt, "(1, 'a')");
my ($rc, $out, $err) = run_migration_split('init', @common, '--no-progress');
is($rc, 0, 'init') or diag($err);
my ($stream, $log) = start_stream($src, @common);
my $slot = "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'";
$src->poll_query_until('postgres', "SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'the stream does not start';

# a row applied and, once the WAL writer flushed it, confirmed to the source
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (2, 'b')");
my $after2 = $src->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok($tgt->poll_query_until('postgres', "SELECT count(*) = 2 FROM orders.orders_t"), 'row 2 applied');
ok($src->poll_query_until('postgres', "SELECT confirmed_flush_lsn >= '$after2' FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'"),
	'the source is told once the target flushed it');

# four more, each its own transaction: applied, visible on the target, but
# not flushed there, so not confirmed to the source
my $before = $src->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES ($_, 'r$_')") for 3 .. 6;
ok($tgt->poll_query_until('postgres', "SELECT count(*) = 6 FROM orders.orders_t"), 'rows 3 to 6 applied');
usleep(500_000);
is($src->safe_psql('postgres', "SELECT confirmed_flush_lsn <= '$before' FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'"),
	't', 'the source is not told of commits the target has not flushed');

# the target crashes before its WAL writer's next flush
$tgt->stop('immediate');
$tgt->start;
is($tgt->safe_psql('postgres', "SELECT string_agg(id::text, ',' ORDER BY id) FROM orders.orders_t"),
	'1,2', 'the crash lost the unflushed commits on the target');

# the stream reconnects and applies them again, once
ok($tgt->poll_query_until('postgres', "SELECT count(*) = 6 FROM orders.orders_t"),
	'the stream applies the lost rows again after the crash');
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (7, 'g')");
ok($tgt->poll_query_until('postgres', "SELECT count(*) = 7 FROM orders.orders_t"), 'and goes on');
is(table_rows($tgt, 'orders.orders_t'), table_rows($src, 'orders_t'), 'the target has exactly the source\'s rows');
ok($tgt->poll_query_until('postgres', "SELECT rows_applied FROM migration_split_job.jobs WHERE domain = 'orders'", '6'),
	'and the job row counts each applied row once');

$stream->signal('TERM');
$stream->finish;
my $text = slurp_file($log);
like($text, qr/terminating connection|server closed the connection/, 'the stream saw the target go away');
unlike($text, qr/duplicate key/, 'no row was applied twice');

done_testing();
