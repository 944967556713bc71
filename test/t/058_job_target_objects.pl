# Everything the domain's columns need exists on the target after init:
# collations (ICU and libc, in a schema of the tables or another), enum,
# domain (over a scalar and over arrays), composite and range types from
# another schema, extensions (in a
# schema of the tables and in another), a text search configuration with a
# custom dictionary, and the operator classes of an exclusion constraint.
# Names keep meaning the same objects in the stream too (a column of a type
# from another schema added on the source), and a second domain that needs
# the same objects finds them in place.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my @common = ('--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'd');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE SCHEMA app;
CREATE SCHEMA ext;
CREATE EXTENSION citext SCHEMA ext;
CREATE EXTENSION hstore;
CREATE EXTENSION btree_gist;
CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION app.german (provider = icu, locale = 'de-DE');
CREATE COLLATION app.posix (provider = libc, locale = 'POSIX');
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN public.code AS text COLLATE app.german CHECK (VALUE <> '');
CREATE TYPE app.pair AS (a int, b text COLLATE app.posix);
CREATE DOMAIN app.intlist AS int[] CHECK (pg_catalog.cardinality(VALUE) < 10);
CREATE DOMAIN app.moods AS app.mood[];
CREATE TYPE app.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE TEXT SEARCH DICTIONARY app.simple_en (TEMPLATE = simple, STOPWORDS = english);
CREATE TEXT SEARCH CONFIGURATION public.my_cfg (COPY = english);
ALTER TEXT SEARCH CONFIGURATION public.my_cfg ALTER MAPPING FOR asciiword WITH app.simple_en;
CREATE TABLE thing (
	id int PRIMARY KEY,
	name text COLLATE ci UNIQUE,
	title text COLLATE app.german,
	email ext.citext UNIQUE,
	attrs hstore,
	mood app.mood,
	code code,
	pair app.pair,
	span app.floatrange,
	spans app.floatmultirange,
	ints app.intlist,
	moods app.moods,
	body text,
	doc tsvector GENERATED ALWAYS AS (to_tsvector('my_cfg', body)) STORED,
	room int,
	during tstzrange,
	EXCLUDE USING gist (room WITH =, during WITH &&)
);
CREATE INDEX thing_title ON thing (title COLLATE app.posix);
CREATE TABLE thing2 (id int PRIMARY KEY, mood app.mood, email ext.citext);
INSERT INTO migration_split.domains (domain) VALUES ('d'), ('d2');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('thing', 'd'), ('thing2', 'd2');
INSERT INTO thing (id, name, title, email, attrs, mood, code, pair, span, spans, ints, moods, body, room, during)
SELECT i, 'name' || i, 'Titel ' || i, 'User' || i || '@Example.com', ('a=>1, b=>' || i)::hstore,
	'happy', 'c' || i, ROW(i, 'p' || i)::app.pair, app.floatrange(i, i + 0.5), '{[1,2), [3,4)}', ARRAY[i, i + 1], '{sad,happy}',
	'The quick brown fox ' || i, i % 3, tstzrange('2024-01-01'::timestamptz + i * interval '1 day',
	'2024-01-01'::timestamptz + (i + 1) * interval '1 day')
FROM generate_series(1, 20) i;
INSERT INTO thing2 VALUES (1, 'sad', 'X@y.z');
});

my $cols = 'id, name, title, email, attrs, mood, code, pair, span, spans, ints, moods, body, doc, room, during';
sub same
{
	my ($what, $extra) = @_;
	my $q = "SELECT string_agg(t::text, E'\\n' ORDER BY id) FROM (SELECT $cols$extra FROM %s.thing) t";
	is($tgt->safe_psql('postgres', sprintf($q, 'd')), $src->safe_psql('postgres', sprintf($q, 'public')),
		"$what: rows equal");
}

my ($stdout, $stderr);
my $ret = run_log([ 'migration-split', 'init', @common, '--no-progress' ], '>', \$stdout, '2>', \$stderr);
ok($ret, 'init of a domain that needs collations, types, extensions and a text search configuration')
  or diag($stderr);
same('after init', '');

# where the objects are: names in the tables' schema go to the target schema,
# others keep their schema
is($tgt->safe_psql('postgres', q{
SELECT string_agg(x, ', ' ORDER BY x) FROM (
	SELECT 'collation ' || collnamespace::regnamespace || '.' || collname FROM pg_collation
		WHERE collname IN ('ci', 'german', 'posix')
	UNION ALL SELECT 'type ' || typnamespace::regnamespace || '.' || typname FROM pg_type
		WHERE typname IN ('mood', 'code', 'pair', 'floatrange', 'floatmultirange')
	UNION ALL SELECT 'extension ' || extname || ' in ' || extnamespace::regnamespace FROM pg_extension
		WHERE extname IN ('citext', 'hstore', 'btree_gist')
	UNION ALL SELECT 'ts ' || cfgnamespace::regnamespace || '.' || cfgname FROM pg_ts_config WHERE cfgname = 'my_cfg'
	UNION ALL SELECT 'dict ' || dictnamespace::regnamespace || '.' || dictname FROM pg_ts_dict WHERE dictname = 'simple_en'
) s(x)}),
	'collation app.german, collation app.posix, collation d.ci, dict app.simple_en, '
	  . 'extension btree_gist in d, extension citext in ext, extension hstore in d, '
	  . 'ts d.my_cfg, type app.floatmultirange, type app.floatrange, type app.mood, type app.pair, type d.code',
	'objects created where their names resolve');

# the semantics came along: a case-insensitive unique name, citext, exclusion
my ($r, $o, $e) = $tgt->psql('postgres', "INSERT INTO d.thing (id, name) VALUES (100, 'NAME1')");
like($e, qr/duplicate key value violates unique constraint "thing_name_key"/,
	'nondeterministic ICU collation enforced on the target');
($r, $o, $e) = $tgt->psql('postgres', "INSERT INTO d.thing (id, room, during) VALUES (101, 1, '[2024-01-02,2024-01-03)')");
like($e, qr/conflicting key value violates exclusion constraint/, 'exclusion constraint with btree_gist');

# the stream: changes, and columns of types from another schema added
$src->safe_psql('postgres', q{
INSERT INTO thing (id, name, email, mood, code, pair, span, body) VALUES
	(21, 'Zoë', 'new@EXAMPLE.com', 'ok', 'x', ROW(1, 'b'), '[1,5)', 'jumps over the lazy dog');
UPDATE thing SET mood = 'sad', body = 'the end' WHERE id <= 3;
DELETE FROM thing WHERE id = 4;
ALTER TABLE thing ADD COLUMN mood2 app.mood, ADD COLUMN code2 code, ADD COLUMN email2 ext.citext;
UPDATE thing SET mood2 = 'happy', code2 = 'k', email2 = 'A@b.c' WHERE id = 5;
});
$ret = run_log([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$stdout, '2>', \$stderr);
ok($ret, 'stream, with columns of types from other schemas added') or diag($stderr);
same('after stream', ', mood2, code2, email2');
is($tgt->safe_psql('postgres', "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = 'd.thing'::regclass AND attname IN ('mood2', 'code2', 'email2') ORDER BY attnum"),
	"app.mood\nd.code\next.citext", 'added columns have the recreated types');

# a second domain needing the same objects: they are found in place
$ret = run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'd2', '--no-progress' ], '>', \$stdout, '2>', \$stderr);
ok($ret, 'second domain using the same type and extension') or diag($stderr);
is($tgt->safe_psql('postgres', 'SELECT mood || email FROM d2.thing2'), 'sadX@y.z', 'second domain copied');

# an extension already installed elsewhere on the target: clear error
$tgt->safe_psql('postgres', 'CREATE SCHEMA elsewhere; CREATE EXTENSION pg_trgm SCHEMA elsewhere');
$src->safe_psql('postgres', q{
CREATE EXTENSION pg_trgm;
CREATE TABLE thing3 (id int PRIMARY KEY, t text);
CREATE INDEX ON thing3 USING gist (t gist_trgm_ops);
INSERT INTO migration_split.domains (domain) VALUES ('d3');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('thing3', 'd3');
});
$ret = run_log([ 'migration-split', 'init', '--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'd3', '--no-progress' ], '>', \$stdout, '2>', \$stderr);
isnt($? >> 8, 0, 'extension in another schema on the target: init fails');
like($stderr, qr/extension "pg_trgm" is installed in schema "elsewhere" on the target, domain "d3" needs it in schema "d3"/,
	'and says where the extension is and where it is needed');

$src->stop;
$tgt->stop;
done_testing();
