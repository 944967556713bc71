# Every connection of the job pins the settings that decide what text
# means.  Source and target databases with hostile defaults (DateStyle,
# IntervalStyle, extra_float_digits, TimeZone, bytea_output, xmloption,
# lc_monetary, search_path, array_nulls; a LATIN1 target) must not change a
# value on its way, neither in the initial copy nor in the stream.  Rows are
# compared under identical settings.  The same with PGTZ and PGDATESTYLE
# in the job's environment.  An idle_session_timeout on either side must not
# end the job's connections while the domain is quiet.
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

# hostile defaults, different on the two sides
$src->safe_psql('src', q{
ALTER DATABASE src SET DateStyle = 'SQL, DMY';
ALTER DATABASE src SET IntervalStyle = 'sql_standard';
ALTER DATABASE src SET extra_float_digits = 0;
ALTER DATABASE src SET TimeZone = 'Asia/Kathmandu';
ALTER DATABASE src SET bytea_output = 'escape';
ALTER DATABASE src SET search_path = 'nowhere';
});
$tgt->safe_psql('tgt', q{
ALTER DATABASE tgt SET DateStyle = 'German, MDY';
ALTER DATABASE tgt SET IntervalStyle = 'postgres_verbose';
ALTER DATABASE tgt SET extra_float_digits = -15;
ALTER DATABASE tgt SET TimeZone = 'America/St_Johns';
ALTER DATABASE tgt SET xmloption = 'document';
-- an unquoted NULL in an array's text would be the string "NULL"
ALTER DATABASE tgt SET array_nulls = off;
ALTER DATABASE tgt SET search_path = 'nowhere';
});

my @common = ('--source', $src->connstr('src'), '--target', $tgt->connstr('tgt'),
	'--domain', 'd');

# the job's own environment: libpq sends these as startup parameters that
# the server applies after the connection's options (a timestamptz written
# as "... IST" by the walsender was read as Israel's time by the target)
$ENV{PGTZ} = 'Asia/Kolkata';
$ENV{PGDATESTYLE} = 'SQL, DMY';

$src->safe_psql('src', q{
SET search_path = public;
CREATE EXTENSION migration_split;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE t (
	id int PRIMARY KEY,
	c_bool bool, c_int2 int2, c_int8 int8, c_numeric numeric, c_float4 float4, c_float8 float8,
	c_money money, c_char char(4), c_varchar varchar(20), c_text text, c_bytea bytea,
	c_date date, c_time time, c_timetz timetz, c_ts timestamp, c_tstz timestamptz,
	c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb, c_xml xml,
	c_inet inet, c_cidr cidr, c_macaddr macaddr, c_macaddr8 macaddr8,
	c_point point, c_line line, c_lseg lseg, c_box box, c_path path, c_polygon polygon,
	c_circle circle, c_bit bit(4), c_varbit varbit, c_tsvector tsvector, c_tsquery tsquery,
	c_int4range int4range, c_tstzrange tstzrange, c_daterange daterange,
	c_multirange int4multirange, c_datearr date[], c_float8arr float8[], c_lsn pg_lsn,
	c_mood mood);
-- a table keyed by an enum: its key type is named in the stream's DELETEs
CREATE TABLE k (m mood PRIMARY KEY, n int);
-- arrays with NULL elements, and NULLs set by a run of updates (whose
-- values travel in arrays)
CREATE TABLE a (id int PRIMARY KEY, tags text[], note text, n int);
INSERT INTO migration_split.domains (domain) VALUES ('d');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('t', 'd'), ('k', 'd'), ('a', 'd');
INSERT INTO a SELECT i, ARRAY['a', NULL, 'NULL'], 'x', i FROM generate_series(1, 5) i;
INSERT INTO k VALUES ('sad', 1), ('ok', 2), ('happy', 3);
});

# one row of every kind, written with explicit settings
my $values = q{
	true, -32768, 9007199254740993, 123456789.000000001, 0.1::float4, 0.30000000000000004,
	12.34, 'é', 'grüße', 'àçè "q"', '\x00ff5c',
	'2024-03-04', '13:14:15.123456', '13:14:15+05:30', '2024-03-04 05:06:07.891',
	'2024-03-04 05:06:07.891+00', '-1 day -02:03:04', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'{"é": 1.0000000000000002}', '{"a": [1e-7, 0.30000000000000004]}', 'text<a>x</a>',
	'192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
	'(0.1,0.30000000000000004)', '{1,-1,0.30000000000000004}', '[(0,0),(1,1)]', '(1,1),(0,0)',
	'((0,0),(1,1),(2,0))', '((0,0),(1,1),(2,0))', '<(1,1),0.30000000000000004>', B'1010', B'101',
	'a fat:2 cat', 'fat & (rat | cat)', '[1,10)', '[2024-03-04 05:06:07+00,infinity)',
	'[2024-03-04,2024-04-03)', '{[1,3),[5,7)}', '{2024-03-04,2024-12-01}', '{0.1,1e-300,-0}',
	'16/B374D848', 'happy'};
my $pin = q{SET search_path = public; SET DateStyle = ISO; SET IntervalStyle = postgres;
	SET extra_float_digits = 3; SET TimeZone = UTC; SET lc_monetary = 'C'; SET xmloption = content;
	SET bytea_output = hex;};
$src->safe_psql('src', qq{$pin
INSERT INTO t VALUES (1, $values);
INSERT INTO t (id) VALUES (2);
});

# Rows as text under identical settings, in UTF8 whatever the database's
# encoding.
sub rows
{
	my ($node, $db, $query) = @_;
	return $node->safe_psql($db, qq{SET client_encoding = UTF8; $pin $query});
}
my $t_rows = "SELECT t::text FROM %s.t ORDER BY id";
my $k_rows = "SELECT k::text FROM %s.k ORDER BY m";
my $a_rows = "SELECT a::text, tags[2] IS NULL, note IS NULL, n IS NULL FROM %s.a ORDER BY id";

sub compare
{
	my ($what) = @_;
	my $s = rows($src, 'src', sprintf($t_rows, 'public'));
	my $t = rows($tgt, 'tgt', sprintf($t_rows, 'd'));
	is($t, $s, "$what: every type arrives unchanged");
	is(rows($tgt, 'tgt', sprintf($k_rows, 'd')), rows($src, 'src', sprintf($k_rows, 'public')),
		"$what: enum-keyed table equal");
	is(rows($tgt, 'tgt', sprintf($a_rows, 'd')), rows($src, 'src', sprintf($a_rows, 'public')),
		"$what: NULLs in arrays and set by runs of updates are NULLs");
}

command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init with hostile defaults on both sides');
compare('after init');

# the same values through the stream: inserted, and updated into place
$src->safe_psql('src', qq{$pin
INSERT INTO t VALUES (3, $values);
UPDATE t SET (c_bool, c_int2, c_int8, c_numeric, c_float4, c_float8, c_money, c_char, c_varchar,
	c_text, c_bytea, c_date, c_time, c_timetz, c_ts, c_tstz, c_interval, c_uuid, c_json, c_jsonb,
	c_xml, c_inet, c_cidr, c_macaddr, c_macaddr8, c_point, c_line, c_lseg, c_box, c_path,
	c_polygon, c_circle, c_bit, c_varbit, c_tsvector, c_tsquery, c_int4range, c_tstzrange,
	c_daterange, c_multirange, c_datearr, c_float8arr, c_lsn, c_mood) = ($values) WHERE id = 2;
DELETE FROM k WHERE m IN ('sad', 'ok');
INSERT INTO k VALUES ('ok', 20);
INSERT INTO a VALUES (10, ARRAY[NULL, NULL, 'NULL'], 'y', 1), (11, '{}', NULL, NULL);
UPDATE a SET note = NULL, n = NULL WHERE id IN (1, 2, 3);
});
my ($stdout, $stderr);
my $ret = run_log([ 'migration-split', 'stream', @common, '--until-caught-up' ],
	'>', \$stdout, '2>', \$stderr);
ok($ret, 'stream with hostile defaults on both sides') or diag($stderr);
compare('after stream');

# the text the stream carried, spelled out for the values most at risk
is(rows($tgt, 'tgt', 'SELECT c_date, c_float8, c_interval, c_text FROM d.t WHERE id = 3'),
	'2024-03-04|0.30000000000000004|-1 days -02:03:04|àçè "q"',
	'date, float, interval and text as written on the source');

# a later subcommand connects the same way: status reads the job
command_ok([ 'migration-split', 'status', @common ], 'status with hostile defaults');

# sessions that are idle for a while are not ended: the stream waits for a
# quiet domain without losing its connections
$src->safe_psql('src', "ALTER DATABASE src SET idle_session_timeout = '1s'");
$tgt->safe_psql('tgt', "ALTER DATABASE tgt SET idle_session_timeout = '1s'");
my ($bg_out, $bg_err) = ('', '');
my $bg = IPC::Run::start([ 'migration-split', 'stream', @common, '--status-interval', '0' ],
	'>', \$bg_out, '2>', \$bg_err);
sleep 4;
$src->safe_psql('src', 'INSERT INTO public.k VALUES (\'sad\', 30)');
ok($tgt->poll_query_until('tgt', "SELECT count(*) = 1 FROM d.k WHERE n = 30"),
	'a change after a quiet while is applied');
$bg->signal('TERM');
$bg->finish;
unlike($bg_err, qr/lost the connection|reconnecting/,
	'no connection was lost while the domain was quiet') or diag($bg_err);

$src->stop;
$tgt->stop;
done_testing();
