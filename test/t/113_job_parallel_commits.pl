# The stream's batches commit without waiting: a worker sends its batch's
# COMMIT and goes on with its next batch behind it in the pipeline, and
# reads the COMMIT's result with the results that follow.
#
# - A COMMIT the target refuses (a deferred constraint trigger raising at
#   commit) stops the job with exit 7, naming the batch it could not commit;
#   nothing of that batch or of any later one is committed (one worker: the
#   target holds a prefix of the changes), and once the target is fixed the
#   next run applies every change exactly once, also after the same failure
#   with two workers (whose other batches may have committed).
# - The writeset's hash table is rebuilt when half full, keeping the entries
#   of uncommitted batches: changes of keys written before the rebuild in a
#   batch still open go to the worker of that batch (another worker's UPDATE
#   would find no row and stop the job).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JobClusters;

my ($src, $tgt) = source_and_target();
my @common = one_table_domain($src, $tgt, q{(1, 'a')});
command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

# one source transaction per row; the target refuses v = 'bad' at COMMIT
sub insert_rows
{
	my ($from, $to, $bad) = @_;
	$src->safe_psql('postgres', qq{
DO \$\$
BEGIN
	FOR i IN $from .. $to LOOP
		INSERT INTO orders_t VALUES (i, CASE WHEN i = $bad THEN 'bad' ELSE 'r' || i END);
		COMMIT;
	END LOOP;
END \$\$;
});
}
$tgt->safe_psql('postgres', q{
CREATE FUNCTION public.refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.v = 'bad' THEN
		RAISE EXCEPTION 'row % refused at commit', NEW.id;
	END IF;
	RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER refuse_bad AFTER INSERT ON orders.orders_t
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.refuse_bad();
ALTER TABLE orders.orders_t ENABLE ALWAYS TRIGGER refuse_bad;
});

sub stream
{
	my (@args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up', @args ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(180));
	return ($? >> 8, $err);
}

# one worker, batches of at most 100 changes: row 150 is in a batch whose
# COMMIT fails while the next batch is already in the pipeline
insert_rows(2, 400, 150);
my ($rc, $err) = stream('--apply-jobs', '1', '--batch-changes', '100', '--batch-time', '3600000');
is($rc, 7, 'one worker: a refused COMMIT stops the job with exit 7') or diag($err);
like($err,
	qr/error: could not commit (\d+) source transactions? applied up to source LSN [0-9A-F]+\/[0-9A-F]+: row 150 refused at commit\n/,
	'the message names the batch that could not be committed and the reason');
my ($n, $max) = split /\|/, $tgt->safe_psql('postgres', 'SELECT count(*), max(id) FROM orders.orders_t');
is($n, $max, 'the target holds a prefix of the changes');
cmp_ok($max, '<', 150, 'nothing of the refused batch or after it was committed');
my $applied = $tgt->safe_psql('postgres',
	"SELECT xacts_applied FROM migration_split_job.jobs WHERE domain = 'orders'");
cmp_ok($applied, '<=', $max - 1, 'the job row counts no transaction that was not committed');

# fixed target: everything exactly once (a row applied twice would fail
# on the primary key)
$tgt->safe_psql('postgres', 'ALTER TABLE orders.orders_t DISABLE TRIGGER refuse_bad');
($rc, $err) = stream('--apply-jobs', '1', '--batch-changes', '100');
is($rc, 0, 'one worker: the next run applies the rest') or diag($err);
is(table_rows($tgt, 'orders.orders_t'), table_rows($src, 'orders_t'), 'the target equals the source');

# two workers: the same failure, then exactly once
$tgt->safe_psql('postgres', 'ALTER TABLE orders.orders_t ENABLE ALWAYS TRIGGER refuse_bad');
insert_rows(401, 1200, 800);
($rc, $err) = stream('--apply-jobs', '2', '--batch-changes', '100', '--batch-time', '3600000');
is($rc, 7, 'two workers: a refused COMMIT stops the job with exit 7') or diag($err);
like($err, qr/error: could not commit \d+ source transactions? applied up to source LSN [0-9A-F\/]+: row 800 refused at commit\n/,
	'two workers: the message names the batch');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM orders.orders_t WHERE id = 800'), '0',
	'two workers: the refused row is not committed');
$tgt->safe_psql('postgres', 'ALTER TABLE orders.orders_t DISABLE TRIGGER refuse_bad');
($rc, $err) = stream('--apply-jobs', '2', '--batch-changes', '100');
is($rc, 0, 'two workers: the next run applies the rest') or diag($err);
is(table_rows($tgt, 'orders.orders_t'), table_rows($src, 'orders_t'),
	'two workers: the target equals the source, every change once');
is($tgt->safe_psql('postgres', q{SELECT rows_applied || ' ' || xacts_applied
	FROM migration_split_job.jobs WHERE domain = 'orders'}), '1199 1199',
	'the job row counts every change and transaction once');

# the writeset's rebuild: 40,000 keys in open batches (the table has 65,536
# entries at first), then 20 updates of keys written before the rebuild,
# each in a transaction of its own.  The batches stay open while changes
# keep coming (a pause of the source commits them): a trigger on the
# target makes each insert take 50 us, so that the target, not the source,
# is what the job waits for.
$tgt->safe_psql('postgres', q{
CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_catalog.pg_sleep(0.00005);
	RETURN NEW;
END $$;
CREATE TRIGGER slow BEFORE INSERT ON orders.orders_t FOR EACH ROW EXECUTE FUNCTION public.slow();
ALTER TABLE orders.orders_t ENABLE ALWAYS TRIGGER slow;
});
$src->safe_psql('postgres', q{
DO $$
BEGIN
	FOR i IN 2001 .. 42000 LOOP
		INSERT INTO orders_t VALUES (i, 'k');
		COMMIT;
	END LOOP;
	FOR i IN 2001 .. 2020 LOOP
		UPDATE orders_t SET v = 'updated' WHERE id = i;
		COMMIT;
	END LOOP;
END $$;
});
($rc, $err) = stream('--apply-jobs', '2', '--batch-changes', '1000000', '--batch-time', '3600000');
is($rc, 0, 'updates of keys written before the rebuild are applied after them') or diag($err);
my $fingerprint = "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY id)) FROM %s t";
is($tgt->safe_psql('postgres', sprintf($fingerprint, 'orders.orders_t')),
	$src->safe_psql('postgres', sprintf($fingerprint, 'orders_t')), 'the target equals the source');
is($tgt->safe_psql('postgres', "SELECT count(*) FROM orders.orders_t WHERE v = 'updated'"), '20',
	'the 20 updates');

done_testing();
