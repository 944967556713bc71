-- Every value round-trips: the decoded text, fed to the column type's input
-- function, gives back a value whose text equals the original's.  Special
-- values, escaping of quotes, backslashes, control characters and non-ASCII,
-- arrays, json, enums, domains, ranges and a large TOASTed value.
SET timezone = 'UTC';
SET extra_float_digits = 1;
INSERT INTO migration_split.domains (domain) VALUES ('dec_types');
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy "quoted"');
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE DOMAIN label AS text;
CREATE TABLE typed (
	id int PRIMARY KEY,
	i2 smallint, i8 bigint, num numeric, num_t numeric(10,2),
	f4 real, f8 double precision, b bool,
	t text, vc varchar(20), ch char(5), nm name, qc "char",
	by bytea, ia int[], ta text[], j json, jb jsonb,
	e mood, dp positive, dl label, r int4range, tr tstzrange,
	ts timestamp, tz timestamptz, d date, tm time, iv interval,
	u uuid, ip inet, mac macaddr, pt point, bits varbit, tsv tsvector, o oid
);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('typed', 'dec_types');

SELECT 'init' FROM pg_create_logical_replication_slot('types', 'migration_split');

INSERT INTO typed VALUES
	(1, 32767, 9223372036854775807, 'NaN', 12.50, 'NaN', 'Infinity', true,
	 E'quote " backslash \\ newline \n tab \t cr \r bell \x07 esc \x1b unit \x1f',
	 'héllo wörld €', 'ab', 'pg_class', 'x',
	 E'\\x00ff5c22', '{1,NULL,3}', '{"a\"b","c,d",NULL,"e\\f",""}',
	 '{"k": [1, "two", null]}', '{"k": "\u00e9\n"}',
	 'happy "quoted"', 42, 'domain text', '[1,10)', '[2026-01-01 00:00+00,infinity)',
	 '2026-11-24 21:00:00.123456', '2026-11-24 21:00:00.123456+02', '2026-11-24', '23:59:59.999999',
	 '1 year 2 mons -3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	 '192.168.0.1/24', '08:00:2b:01:02:03', '(1.5,-2)', B'10101', 'fat:2 cat:1 "a b"', 4294967295),
	(2, -32768, -9223372036854775808, 'Infinity', -0.01, '-Infinity', '-0', false,
	 '', '', '', '', '', '', '{}', '{}', '"string"', 'null',
	 'sad', 1, '', 'empty', 'empty', 'infinity', '-infinity', 'epoch', '00:00', '0',
	 '00000000-0000-0000-0000-000000000000', '::1', 'ff:ff:ff:ff:ff:ff', '(0,0)', B'', '', 0),
	(3, 0, 0, '-Infinity', 0, 1.17549435e-38, 2.2250738585072014e-308, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, '{{1,2},{3,4}}', '{NULL}', '[]', '{}',
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(4, NULL, NULL, 1.000000000000000000000000000001e-30, NULL, 3.4028235e38, 1e-310, NULL,
	 (SELECT string_agg(md5(g::text), E'\\"\n') FROM generate_series(1, 4000) g),
	 NULL, NULL, NULL, NULL,
	 (SELECT decode(string_agg(md5(g::text), ''), 'hex') FROM generate_series(1, 4000) g),
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE decoded AS
SELECT row_number() OVER () AS n, data::jsonb AS j, data
  FROM pg_logical_slot_get_changes('types', NULL, NULL, 'domain', 'dec_types', 'include-xids', '0');

-- the R message: types with typmods as a consumer would create them
SELECT c->>'name' AS name, c->>'type' AS type,
	   CASE WHEN (c->>'typoid')::oid < 16384 THEN c->>'typoid' ELSE (c->>'typoid')::oid::regtype::text END AS typoid,
	   c->>'typmod' AS typmod, c->>'not_null' AS not_null, c->>'key' AS key
  FROM decoded, jsonb_array_elements(j->'columns') c
 WHERE j->>'action' = 'R';

-- the small rows, exactly as decoded (but for the relation's oid)
SELECT replace(data, '"relid":' || 'typed'::regclass::oid || ',', '"relid":typed,') AS data FROM decoded WHERE j->>'action' = 'I' AND (j->'new'->>0)::int < 4 ORDER BY n;

-- the big row: TOASTed text and bytea arrive whole
SELECT length(j->'new'->>8) AS text_len,
	   md5(j->'new'->>8) = (SELECT md5(t) FROM typed WHERE id = 4) AS text_same,
	   length(j->'new'->>13) AS bytea_len,
	   (j->'new'->>13)::bytea = (SELECT by FROM typed WHERE id = 4) AS bytea_same
  FROM decoded WHERE j->>'action' = 'I' AND j->'new'->>0 = '4';

-- every value round-trips through the type's input function
-- (compares each column: the decoded text cast to the column's type, and
-- the stored value, both printed by the type's output function)
CREATE FUNCTION round_trip(msg jsonb, rel jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	i int;
	col text;
	same bool;
	bad text[] := '{}';
BEGIN
	FOR i IN 0 .. jsonb_array_length(rel->'columns') - 1 LOOP
		col := rel->'columns'->i->>'name';
		EXECUTE format('SELECT %L::%s::text IS NOT DISTINCT FROM %I::text FROM typed WHERE id = %s',
					   msg->'new'->>i, rel->'columns'->i->>'type', col, msg->'new'->>0)
			INTO same;
		IF NOT same THEN
			bad := bad || col;
		END IF;
	END LOOP;
	RETURN CASE WHEN bad = '{}' THEN 'all columns same' ELSE 'differ: ' || array_to_string(bad, ', ') END;
END
$$;

SELECT i.j->'new'->>0 AS id, round_trip(i.j, r.j)
  FROM decoded i, decoded r
 WHERE i.j->>'action' = 'I' AND r.j->>'action' = 'R'
 ORDER BY 1;

SELECT pg_drop_replication_slot('types');
DROP TABLE typed, decoded;
DROP FUNCTION round_trip(jsonb, jsonb);
DROP TYPE mood;
DROP DOMAIN positive;
DROP DOMAIN label;
DELETE FROM migration_split.ownership WHERE domain = 'dec_types';
DELETE FROM migration_split.domains WHERE domain = 'dec_types';
