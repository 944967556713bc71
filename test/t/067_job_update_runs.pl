# migration-split stream: runs of UPDATEs of one table that set the same
# columns are applied as one set-based statement (apply.c,
# run_flush_update).  Pins what such a run must keep of the per-row
# semantics: unchanged TOAST columns are not overwritten, NULL to a value and
# back, values the array literal must quote (NULL as text, quotes,
# backslashes, braces, delimiters, a box whose array delimiter is ';', a
# composite value), a
# domain column (its check still applies), array columns (their values
# sent as text and cast), a key with a custom collation,
# a replica identity full table with identical rows, an update changing the
# key in the middle of a run and a second update of a row in the same run,
# hostile session defaults on the target; a row missing on the target is
# reported with the per-row message, naming the source transaction of that
# row.  The source streams large transactions (logical_decoding_work_mem =
# 64kB), so runs are also built from the spool of a streamed transaction.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) =
  source_and_target(source_conf => "logical_decoding_work_mem = 64kB\n");

$tgt->safe_psql('postgres', q{
ALTER DATABASE postgres SET DateStyle = 'German, MDY';
ALTER DATABASE postgres SET extra_float_digits = 0;
ALTER DATABASE postgres SET TimeZone = 'America/St_Johns';
ALTER DATABASE postgres SET search_path = 'nowhere';
});

my @common = ('--source', $src->connstr('postgres'), '--target', $tgt->connstr('postgres'),
	'--domain', 'd');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE COLLATION mycoll FROM "C";
CREATE TYPE pair AS (x int, y text);
CREATE TABLE t (id int PRIMARY KEY, a int, b text, big text, d posint, l int[], arr text[],
	f float8, ts timestamptz, bx box, pr pair);
ALTER TABLE t ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE ck (k text COLLATE mycoll PRIMARY KEY, v int);
CREATE TABLE rf (a int, b text);
ALTER TABLE rf REPLICA IDENTITY FULL;
INSERT INTO migration_split.domains (domain) VALUES ('d');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('t', 'd'), ('ck', 'd'), ('rf', 'd');
INSERT INTO t SELECT i, i, 'b' || i, repeat(md5(i::text), 300), i, ARRAY[i, i + 1], ARRAY['x', NULL],
	i / 3.0, '2026-01-02 03:04:05.678+00', '(1,1),(0,0)', ROW(i, 'p,q')::pair FROM generate_series(1, 200) i;
INSERT INTO ck SELECT k, 0 FROM unnest(ARRAY['a,b', 'c"d', 'e\f', '{g}', ' h ', 'NULL', '', 'i;j']) k;
INSERT INTO rf VALUES (1, 'x'), (1, 'x'), (2, 'y');
});

# Rows as text under the same settings on both sides.
my $pin = q{SET DateStyle = ISO; SET extra_float_digits = 3; SET TimeZone = UTC;};

sub rows
{
	my ($node, $schema, $table, $order) = @_;
	return $node->safe_psql('postgres',
		"$pin SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY $order)), '-') FROM $schema.$table x");
}

sub same
{
	my ($what) = @_;
	is(rows($tgt, 'd', 't', 'id'), rows($src, 'public', 't', 'id'), "$what: t equal on both sides");
	is(rows($tgt, 'd', 'ck', 'k'), rows($src, 'public', 'ck', 'k'), "$what: ck equal on both sides");
	is(rows($tgt, 'd', 'rf', 'x::text'), rows($src, 'public', 'rf', 'x::text'),
		"$what: rf equal on both sides");
}

# stream with -v: returns (exit code, stderr)
sub stream
{
	my ($stdout, $stderr);
	run_log([ 'migration-split', 'stream', @common, '--until-caught-up', '-v' ],
		'>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stderr);
}

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');
same('after init');

# 1. unchanged TOAST column kept; NULL to a value and back; quoted values
$src->safe_psql('postgres', q{
UPDATE t SET a = NULL, b = NULL WHERE id <= 50;
UPDATE t SET b = CASE id % 5 WHEN 0 THEN 'NULL' WHEN 1 THEN '' WHEN 2 THEN 'q"u\o,t{e}'
	WHEN 3 THEN ' sp ' ELSE 'x;y' END, f = -id / 7.0, ts = ts + id * interval '1 hour',
	bx = box(point(id, id), point(0, 0.1)), pr = ROW(-id, E'"{x}"')::pair WHERE id <= 50;
UPDATE t SET a = id * 2 WHERE id BETWEEN 11 AND 50;
UPDATE ck SET v = length(k) + 1;
});
my ($code, $err) = stream();
is($code, 0, 'stream: updates applied') or diag($err);
like($err, qr/50 updates of table "public\.t" in one statement/,
	'the UPDATE of 50 rows went as one statement');
like($err, qr/8 updates of table "public\.ck" in one statement/,
	'the keys with a custom collation, quoted, went as one statement');
same('after runs');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM d.t WHERE big IS NULL'), '0',
	'unchanged TOAST values kept');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM d.t WHERE a IS NULL'), '10',
	'NULL where the source has NULL');
is($tgt->safe_psql('postgres', q{SELECT count(*) FROM d.t WHERE b = 'NULL'}), '10',
	'the text NULL stays text');

# 2. a domain column: set in a run, its check applies on the target
$src->safe_psql('postgres', 'UPDATE t SET d = d + 1000 WHERE id BETWEEN 51 AND 80');
($code, $err) = stream();
is($code, 0, 'stream: domain column') or diag($err);
like($err, qr/30 updates of table "public\.t" in one statement/, 'domain column updated as one run');
same('after the domain column');
$tgt->safe_psql('postgres', 'ALTER DOMAIN d.posint ADD CONSTRAINT small CHECK (VALUE < 5000)');
$src->safe_psql('postgres', 'UPDATE t SET d = d + 5000 WHERE id BETWEEN 81 AND 90');
($code, $err) = stream();
is($code, 7, 'a value the target domain refuses: exit code 7');
like($err, qr/could not apply UPDATE of 10 rows on table "public\.t" .*violates check constraint "small"/,
	'the domain check applies to the run');
$tgt->safe_psql('postgres', 'ALTER DOMAIN d.posint DROP CONSTRAINT small');
($code, $err) = stream();
is($code, 0, 'stream after the domain was fixed') or diag($err);
same('after the domain fix');

# 3. array columns: text elements cast to the column's type (an array of
# arrays would flatten them)
$src->safe_psql('postgres',
	q|UPDATE t SET l = ARRAY[id, -id, NULL], arr = ARRAY['{', NULL, 'a,b', 'NULL', '"'] WHERE id BETWEEN 91 AND 110|);
($code, $err) = stream();
is($code, 0, 'stream: array columns') or diag($err);
like($err, qr/20 updates of table "public\.t" in one statement/, 'array columns in one run');
same('after array columns');
is($tgt->safe_psql('postgres', q{SELECT l, arr FROM d.t WHERE id = 91}), '{91,-91,NULL}|{"{",NULL,"a,b","NULL","\\""}',
	'array values intact');

# 4. key changes and a second update of a row inside what would be a run;
# a replica identity full table with identical rows
$src->safe_psql('postgres', q{
BEGIN;
UPDATE t SET a = -1 WHERE id = 111;
UPDATE t SET a = -2 WHERE id = 112;
UPDATE t SET id = 1113 WHERE id = 113;
UPDATE t SET a = -3 WHERE id = 114;
UPDATE t SET id = 113 WHERE id = 115;
UPDATE t SET a = -4 WHERE id = 113;
UPDATE t SET a = -5 WHERE id = 111;
UPDATE t SET a = -6 WHERE id = 1113;
UPDATE t SET id = 1111 WHERE id = 111;
UPDATE t SET id = 111 WHERE id = 116;
UPDATE t SET a = a - 100 WHERE id IN (111, 112, 1111);
UPDATE rf SET b = 'z' WHERE ctid = (SELECT min(ctid) FROM rf WHERE a = 1);
UPDATE rf SET b = 'w' WHERE a = 2;
COMMIT;
});
($code, $err) = stream();
is($code, 0, 'stream: key changes in a run') or diag($err);
same('after key changes');
is($tgt->safe_psql('postgres', q{SELECT string_agg(b, ',' ORDER BY b) FROM d.rf}), 'w,x,z',
	'replica identity full: one of two identical rows updated');

# 5. a streamed transaction: runs built from the spool
$src->safe_psql('postgres', q{
BEGIN;
UPDATE t SET a = a + 1, f = f * 2;
UPDATE t SET b = 'again ' || id WHERE id % 2 = 0;
COMMIT;
});
($code, $err) = stream();
is($code, 0, 'stream: streamed transaction') or diag($err);
like($err, qr/200 updates of table "public\.t" in one statement/, 'the spooled UPDATE went as one run');
same('after the streamed transaction');
cmp_ok($src->safe_psql('postgres',
		q{SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = 'migration_split_d'}),
	'>=', 1, 'the source streamed the large transaction');

# 6. a row missing on the target, in the second of two source transactions
# (one run when they share a batch): the per-row message, with the xid of
# the row's transaction
$tgt->safe_psql('postgres', 'DELETE FROM d.t WHERE id = 137');
$src->safe_psql('postgres', 'UPDATE t SET a = 0 WHERE id BETWEEN 121 AND 130');
my $xid = $src->safe_psql('postgres', q{
BEGIN;
UPDATE t SET a = 0 WHERE id BETWEEN 131 AND 140;
SELECT txid_current();
COMMIT;
});
($code, $err) = stream();
is($code, 7, 'missing row in a run: exit code 7');
like($err, qr/could not apply UPDATE on table "public\.t" \(source commit LSN [0-9A-F]+\/[0-9A-F]+, xid $xid\): 0 rows match the old key on the target/,
	'the per-row message, naming the transaction of the missing row');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM d.t WHERE id BETWEEN 131 AND 140 AND a = 0'), '0',
	'nothing of the failed transaction committed');
$tgt->safe_psql('postgres', q{INSERT INTO d.t SELECT * FROM (VALUES (137)) v(id)});
$tgt->safe_psql('postgres', q{UPDATE d.t SET (a, b, big, d, l, arr, f, ts, bx, pr) =
	(SELECT a, b, big, d, l, arr, f, ts, bx, pr FROM d.t WHERE id = 136) WHERE id = 137});
($code, $err) = stream();
is($code, 0, 'stream after the row was restored') or diag($err);
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM d.t WHERE id BETWEEN 121 AND 140 AND a = 0'), '20',
	'both transactions applied after the fix');

# 7. runs find their rows through the key's index on a table of some
# thousands of rows, where the cost model would rather scan (or hash) the
# whole table once per run; and a key the target holds twice (its unique
# index dropped) is reported as the per-row statement would
$src->safe_psql('postgres', q{
CREATE TABLE m (id int PRIMARY KEY, v int);
INSERT INTO m SELECT i, 0 FROM generate_series(1, 20000) i;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('m', 'd');
});
($code, $err) = stream();
is($code, 0, 'stream: the table joins the domain') or diag($err);
$tgt->safe_psql('postgres', 'ANALYZE d.m');
my $scans = q{SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'd.m'::regclass};
my $seq0 = $tgt->safe_psql('postgres', $scans);
$src->safe_psql('postgres', q{
UPDATE m SET v = 1 WHERE id <= 400;
UPDATE m SET v = 2 WHERE id % 40 = 0;
});
($code, $err) = stream();
is($code, 0, 'stream: runs on a table of 20000 rows') or diag($err);
like($err, qr/400 updates of table "public\.m" in one statement/, 'the first UPDATE went as one run');
# the apply session's counts arrive when its backend ends
$tgt->poll_query_until('postgres', q{SELECT n_tup_upd >= 900 FROM pg_stat_user_tables WHERE relid = 'd.m'::regclass})
  or die 'the updates were not counted';
is($tgt->safe_psql('postgres', $scans), $seq0, 'no run scanned the whole table on the target');
is(rows($tgt, 'd', 'm', 'id'), rows($src, 'public', 'm', 'id'), 'm equal on both sides');
$tgt->safe_psql('postgres', q{
ALTER TABLE d.m DROP CONSTRAINT m_pkey;
INSERT INTO d.m SELECT * FROM d.m WHERE id = 7;
CREATE UNIQUE INDEX m_id ON d.m (id) WHERE id <> 7;
});
$src->safe_psql('postgres', 'UPDATE m SET v = 3 WHERE id <= 10');
($code, $err) = stream();
is($code, 7, 'a key held twice on the target: exit code 7');
like($err, qr/could not apply UPDATE on table "public\.m" \(source commit LSN [0-9A-F]+\/[0-9A-F]+, xid \d+\): 2 rows match the old key on the target/,
	'the per-row message, with the count');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM d.m WHERE v = 3'), '0', 'nothing of that transaction committed');

$src->stop;
$tgt->stop;
done_testing();
