# migration-split stream: values of bool, int2, int4, int8, date,
# timestamp, timestamptz, text and varchar columns go to the target in
# binary (binparam.c), where the target column has the source's type.  The
# job converts only the text the output functions write under its pinned
# settings; anything else (infinity, BC, years past 9999) goes as text.
# Every value must arrive exactly: the edges of each integer type, leap
# days, the first and last days the conversion takes and the first ones it
# refuses, fractions of one to six digits, strings an array literal would
# have to quote, NULLs; through inserts (runs through unnest, runs as
# VALUES for a table with an array column, single rows), runs of updates
# and runs of deletes; into a LATIN1 target with hostile defaults; and a
# column whose type the target changed goes as text.  -v says how many
# parameters of each run went in binary, so a job that stopped sending
# binary fails here too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

$src->safe_psql('postgres', 'CREATE DATABASE src');
$tgt->safe_psql('postgres',
	"CREATE DATABASE tgt ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$src->safe_psql('src', q{
ALTER DATABASE src SET DateStyle = 'SQL, DMY';
ALTER DATABASE src SET TimeZone = 'Asia/Kathmandu';
});
$tgt->safe_psql('tgt', q{
ALTER DATABASE tgt SET DateStyle = 'German, MDY';
ALTER DATABASE tgt SET TimeZone = 'America/St_Johns';
ALTER DATABASE tgt SET array_nulls = off;
ALTER DATABASE tgt SET search_path = 'nowhere';
});

my @common = ('--source', $src->connstr('src'), '--target', $tgt->connstr('tgt'),
	'--domain', 'd');

$src->safe_psql('src', q{
CREATE EXTENSION migration_split;
-- every column of a binary kind: inserts go through unnest
CREATE TABLE b (id int8 PRIMARY KEY, bo bool, i2 int2, i4 int4, i8 int8, d date,
	ts timestamp, tz timestamptz, t text, v varchar(12), n numeric);
-- an array column: inserts go as VALUES, one parameter per value
CREATE TABLE va (id int4 PRIMARY KEY, tz timestamptz, d date, arr int[]);
-- text keys, deleted in runs
CREATE TABLE k (k text PRIMARY KEY, i2 int2);
-- the target changes c's type after init
CREATE TABLE ch (id int PRIMARY KEY, c int4);
INSERT INTO migration_split.domains (domain) VALUES ('d');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('b', 'd'), ('va', 'd'), ('k', 'd'), ('ch', 'd');
});

my ($rc, $out, $err) = run_migration_split('init', @common, '--no-progress');
is($rc, 0, 'init') or diag($err);
$tgt->safe_psql('tgt', 'ALTER TABLE d.ch ALTER COLUMN c TYPE int8');

# Values of each column, by row number: edges the conversion takes, then
# ones it leaves to the input function.
my @i2 = qw(-32768 32767 0 -1 1 NULL);
my @i4 = qw(-2147483648 2147483647 0 -10 100000 NULL);
my @i8 = ('-9223372036854775808', '9223372036854775807', '0', '-1', '1000000000000', 'NULL');
my @d = ("'0001-01-01'", "'9999-12-31'", "'2000-02-29'", "'1900-03-01'", "'2024-02-29'",
	"'1999-12-31'", "'infinity'", "'-infinity'", "'0044-03-15 BC'", "'10000-01-01'", 'NULL');
my @ts = ("'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'2000-01-01 00:00:00.5'",
	"'1969-07-20 20:17:40.000001'", "'1582-10-10 12:00:00.12'", "'2000-02-29 23:59:59.1234'",
	"'1900-02-28 00:00:01.00001'", "'infinity'", "'0001-12-31 23:59:59 BC'",
	"'294276-12-31 23:59:59'", 'NULL');
my @tz = ("'0001-01-01 00:00:00+00'", "'9999-12-31 23:59:59.999999+00'",
	"'2024-03-31 01:30:00.654321+05:45'", "'1969-12-31 23:59:59.5-08'", "'2000-01-01 00:00:00+00'",
	"'1847-03-01 12:00:00+00:53:28'", "'-infinity'", "'0100-06-01 00:00:00+00 BC'",
	"'12000-01-01 00:00:00+00'", 'NULL');
my @t = ("''", q{'a"b\\c{},d'}, "'NULL'", "'é ü'", "E'two\\nlines\\ttab'", q{' spaced '}, 'NULL');
my @v = ("'{x}'", "'abcdefghijkl'", "'ü'", 'NULL');
my @n = ('1.50', '-0.000', "'NaN'", 'NULL');

sub pick { my ($arr, $i) = @_; return $arr->[$i % scalar(@$arr)]; }

# the row of b numbered i, shifted by s (another mix of the same values)
sub b_values
{
	my ($i, $s) = @_;
	my $j = $i + $s;
	return sprintf("(%d, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", $i,
		(qw(true false NULL))[$j % 3], pick(\@i2, $j), pick(\@i4, $j), pick(\@i8, $j),
		pick(\@d, $j), pick(\@ts, $j), pick(\@tz, $j), pick(\@t, $j), pick(\@v, $j), pick(\@n, $j));
}

# Rows as text under the same settings on both sides, hashed as UTF-8
# (the target's database is LATIN1).
my $pin = q{SET DateStyle = ISO; SET extra_float_digits = 3; SET TimeZone = UTC;};

sub rows
{
	my ($node, $db, $table, $order) = @_;
	return $node->safe_psql($db,
		"$pin SELECT count(*) || ' ' || coalesce(md5(pg_catalog.convert_to(string_agg(x::text, E'\\n' ORDER BY $order), 'UTF8')), '-') FROM $table x");
}

sub same
{
	my ($what) = @_;
	for my $t ([ 'b', 'id' ], [ 'va', 'id' ], [ 'k', 'k COLLATE "C"' ], [ 'ch', 'id' ])
	{
		is(rows($tgt, 'tgt', "d.$t->[0]", $t->[1]), rows($src, 'src', "public.$t->[0]", $t->[1]),
			"$what: $t->[0] equal on both sides");
	}
}

sub stream
{
	my ($rc, $out, $err) = run_migration_split('stream', @common, '--until-caught-up', '-v');
	is($rc, 0, 'stream catches up') or diag($err);
	return $err;
}

# 1. Inserts, each run ended by a change of another table: one
# transaction of 60 rows of b (every value of every list), a run of rows
# whose every value converts, single rows, VALUES rows of va.
$src->safe_psql('src', 'INSERT INTO b VALUES ' . join(', ', map { b_values($_, 0) } 1 .. 60));
$src->safe_psql('src', q{INSERT INTO k SELECT k, 1 FROM unnest(ARRAY['a,b', 'c"d', 'e\f', '{g}', ' h ', 'NULL', '', 'é']) k});
$src->safe_psql('src', 'INSERT INTO b VALUES ' . join(', ', map {
	sprintf("(%d, true, %d, %d, %d, '2020-01-%02d', '2020-01-01 10:00:%02d.%d', '2020-01-01 10:00:00+00', 't%d', 'v%d', %d)",
		$_, $_, $_ * 1000, $_ * 1000000000, $_ - 99, $_ - 100, $_, $_, $_, $_) } 101 .. 120));
$src->safe_psql('src', 'INSERT INTO ch SELECT i, i * 1000 FROM generate_series(1, 10) i');
$src->safe_psql('src', "INSERT INTO b VALUES " . b_values(201, 3));
$src->safe_psql('src', 'INSERT INTO va VALUES ' . join(', ', map {
	sprintf("(%d, %s, %s, ARRAY[%d, NULL])", $_, pick(\@tz, $_), pick(\@d, $_), $_) } 1 .. 30));
$src->safe_psql('src', "INSERT INTO b VALUES " . b_values(202, 4));

my $log = stream();
same('inserts');
# rows 1 to 60 of b hold values the job leaves to the input function (a
# year past 9999 in each column of those kinds): those columns go as text
# arrays; bool, the integers, text and varchar as binary arrays; numeric
# as text
like($log, qr/60 inserts of table "public\.b" in one statement \(7 of 11 parameters in binary\)/,
	'a run with values the job does not convert: those columns as text');
like($log, qr/20 inserts of table "public\.b" in one statement \(10 of 11 parameters in binary\)/,
	'a run whose values all convert: every column but numeric in binary');
like($log, qr/8 inserts of table "public\.k" in one statement \(2 of 2 parameters in binary\)/,
	'text keys in binary');
like($log, qr/10 inserts of table "public\.ch" in one statement \(1 of 2 parameters in binary\)/,
	'a column whose type the target changed goes as text');
my ($va_bin) = $log =~ /30 inserts of table "public\.va" in one statement \((\d+) of 120 parameters in binary\)/;
# each row: the id; tz when a year 1 to 9999 AD in UTC (the first six
# values); d likewise (the first six); the array never
my $va_expect = 0;
$va_expect += 1 + ($_ % scalar(@tz) < 6) + ($_ % scalar(@d) < 6) for 1 .. 30;
is($va_bin, $va_expect, 'VALUES rows: exactly the values that convert are in binary');
unlike($log, qr/inserts of table "public\.b" in one statement \(\d+ of 11 parameters in binary\).*\n.*inserts of table "public\.b"/,
	'the single rows of b are not runs');

# 2. Runs of updates: every row of b takes another mix of the values.
$src->safe_psql('src', 'BEGIN; ' . join('', map {
	my $j = $_ + 7;
	sprintf("UPDATE b SET bo = %s, i2 = %s, i4 = %s, i8 = %s, d = %s, ts = %s, tz = %s, t = %s, v = %s, n = %s WHERE id = %d; ",
		(qw(true false NULL))[$j % 3], pick(\@i2, $j), pick(\@i4, $j), pick(\@i8, $j),
		pick(\@d, $j), pick(\@ts, $j), pick(\@tz, $j), pick(\@t, $j), pick(\@v, $j), pick(\@n, $j), $_) } 1 .. 60)
	  . 'COMMIT');
$src->safe_psql('src', 'UPDATE ch SET c = c + 1');
$src->safe_psql('src', q{UPDATE b SET tz = '2030-05-05 05:05:05.5+00', d = '2030-05-05', ts = '2030-05-05 05:05:05' WHERE id BETWEEN 101 AND 120});
$log = stream();
same('updates');
like($log, qr/60 updates of table "public\.b" in one statement \(8 of 12 parameters in binary\)/,
	'a run of updates with values the job does not convert');
like($log, qr/20 updates of table "public\.b" in one statement \(11 of 12 parameters in binary\)/,
	'a run of updates whose values all convert');
like($log, qr/10 updates of table "public\.ch" in one statement \(2 of 3 parameters in binary\)/,
	'an update run: the column whose type the target changed as text');

# 3. Runs of deletes: int8 and text keys in binary arrays.
$src->safe_psql('src', 'DELETE FROM b WHERE id BETWEEN 1 AND 40');
$src->safe_psql('src', q{DELETE FROM k WHERE k <> 'a,b'});
$log = stream();
same('deletes');
like($log, qr/40 deletes of table "public\.b" in one statement \(1 of 1 parameters in binary\)/,
	'int8 keys deleted through a binary array');
like($log, qr/7 deletes of table "public\.k" in one statement \(1 of 1 parameters in binary\)/,
	'text keys deleted through a binary array');
is($tgt->safe_psql('tgt', 'SELECT count(*) FROM d.b'), '42', 'b holds the rows left');

done_testing();
