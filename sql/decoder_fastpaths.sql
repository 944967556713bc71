-- The JSON writer's fast paths (integers, numeric, text escaping eight
-- bytes at a time, timestamp, timestamptz with a fixed-offset zone) print
-- exactly what the types' output functions print: every decoded value is
-- compared with the stored value's text in the same session, under time
-- zones and date styles that take the fast paths and some that do not.
SET timezone = 'UTC';
SET datestyle = 'ISO, MDY';
INSERT INTO migration_split.domains (domain) VALUES ('dec_fast');
CREATE TABLE fast (id int PRIMARY KEY, i2 smallint, i4 int, i8 bigint,
				   num numeric, num_t numeric(12,2), t text, vc varchar,
				   ts timestamp, tz timestamptz);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('fast', 'dec_fast');
SELECT 'init' FROM pg_create_logical_replication_slot('fast', 'migration_split');

-- integers: extremes, signs, every length
INSERT INTO fast (id, i2, i4, i8) VALUES
	(1, -32768, -2147483648, -9223372036854775808),
	(2, 32767, 2147483647, 9223372036854775807),
	(3, 0, 0, 0), (4, -1, -1, -1), (5, 9, 99, 999999999999),
	(6, 10, 1000000000, 1000000000000000000), (7, -10000, -100000, -10000000000);

-- numeric: specials, zeros with a scale, short and long headers (weight
-- beyond +-63 or scale above 63), every scale modulo 4, and 400
-- computed values of both signs
INSERT INTO fast (id, num)
SELECT 100 + ord, v::numeric
  FROM unnest(ARRAY['NaN', 'Infinity', '-Infinity', '0', '0.0', '0.00000', '-0.000',
					'1', '-1', '0.1', '0.01', '0.001', '0.0001', '0.00001', '12.50', '-12.50',
					'9999', '10000', '99999999', '100000000', '123456789.123456789',
					'-0.000000000000000000001', '1e-30', '1.000000000000000000000000000001e-30',
					'1e100', '-1e300', '1e-300', '12345678901234567890123456789.5',
					'0.5000000000000000000000000000000000000000000000000000000000000000000001'])
	   WITH ORDINALITY AS x(v, ord);
-- large values: compressed in line, and stored out of line
INSERT INTO fast (id, num) VALUES
	(150, repeat('9', 20000)::numeric),
	(151, (SELECT ('-0.' || string_agg(lpad(((g * 7919) % 10000)::text, 4, '0'), ''))::numeric
			 FROM generate_series(1, 3000) g));
INSERT INTO fast (id, num, num_t)
SELECT 200 + g, round(g::numeric ^ 3 / 7 * CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END, g % 13), (g * 37.01 - 5000)::numeric(12,2)
  FROM generate_series(1, 400) g;

-- text: every byte 0x01-0x7f at each position of an eight-byte word and
-- beyond it; valid UTF-8 of every length (2, 3, 4 bytes), U+2028, U+FEFF,
-- and quotes and backslashes in runs
INSERT INTO fast (id, t, vc)
SELECT 1000 + c * 20 + k, repeat('a', k) || chr(c) || repeat('b', 11 - k),
	   chr(c) || repeat(chr(c), k)
  FROM generate_series(1, 127) c, generate_series(0, 11) k;
INSERT INTO fast (id, t, vc) VALUES
	(4000, 'é€𝄞 ä' || chr(8232) || chr(65279) || ' ŝtring ☃ end', '日本語のテキスト'),
	(4001, repeat('"\', 9), repeat('\"', 9) || 'x'),
	(4002, '', ''),
	(4003, repeat('long plain text ', 100), E'tab\tnewline\ncr\r'),
	(4004, (SELECT string_agg(chr(c), '') FROM generate_series(1, 127) c), NULL);

-- timestamps: the ends of the ranges, BC, fractions, infinities
INSERT INTO fast (id, ts, tz)
SELECT 5000 + ord, v::timestamp, v::timestamptz
  FROM unnest(ARRAY['4714-11-24 00:00:00 BC', '4714-11-25 12:00:00.5 BC', '0001-12-31 23:59:59.999999 BC',
					'0001-01-01 00:00:00', '1900-01-01 00:00:00', '1969-12-31 23:59:59.999999',
					'1970-01-01 00:00:00.5', '2000-02-29 12:34:56.000001', '2026-03-29 01:30:00',
					'2026-10-25 00:30:00', '2026-11-24 21:00:00.123456', '9999-12-31 23:59:59.999999',
					'10000-01-01 00:00:00', '294276-12-30 23:59:59.999999', '294276-12-31 23:59:59.999999',
					'infinity', '-infinity'])
	   WITH ORDINALITY AS x(v, ord);
INSERT INTO fast (id, ts, tz)
SELECT 6000 + g, '2026-01-01'::timestamp + g * interval '1 day 1 hour 1 minute 1.000001 second',
	   '2026-01-01 00:00+00'::timestamptz - g * interval '17 days 1.5 second'
  FROM generate_series(1, 400) g;

-- The decoded values and their text in this session, column by column:
-- the number of rows compared and of values that differ.
CREATE FUNCTION fast_check(OUT rows bigint, OUT differ bigint, OUT raw_control bigint)
LANGUAGE sql AS $$
	WITH d AS (
		SELECT data, data::jsonb->'new' AS n
		  FROM pg_logical_slot_peek_changes('fast', NULL, NULL, 'domain', 'dec_fast')
		 WHERE data::jsonb->>'action' = 'I')
	SELECT count(*),
		   count(*) FILTER (WHERE
				(n->>1) IS DISTINCT FROM f.i2::text OR (n->>2) IS DISTINCT FROM f.i4::text OR
				(n->>3) IS DISTINCT FROM f.i8::text OR (n->>4) IS DISTINCT FROM f.num::text OR
				(n->>5) IS DISTINCT FROM f.num_t::text OR (n->>6) IS DISTINCT FROM f.t OR
				(n->>7) IS DISTINCT FROM f.vc::text OR (n->>8) IS DISTINCT FROM f.ts::text OR
				(n->>9) IS DISTINCT FROM f.tz::text),
		   count(*) FILTER (WHERE d.data ~ '[\x01-\x1f]')
	  FROM d JOIN fast f ON f.id = (n->>0)::int
$$;

SELECT 'UTC, ISO' AS setting, * FROM fast_check();
SET timezone = 'Asia/Kolkata';
SELECT 'Asia/Kolkata (not a fixed offset)' AS setting, * FROM fast_check();
SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE;
SELECT 'fixed +05:30' AS setting, * FROM fast_check();
SET TIME ZONE INTERVAL '-09:00' HOUR TO MINUTE;
SELECT 'fixed -09:00' AS setting, * FROM fast_check();
SET timezone = 'Europe/Paris';
SELECT 'Europe/Paris' AS setting, * FROM fast_check();
SET timezone = 'UTC';
SET datestyle = 'SQL, DMY';
SELECT 'UTC, SQL' AS setting, * FROM fast_check();
SET datestyle = 'Postgres, MDY';
SELECT 'UTC, Postgres' AS setting, * FROM fast_check();
SET datestyle = 'German';
SET timezone = 'Etc/GMT+3';
SELECT 'Etc/GMT+3, German' AS setting, * FROM fast_check();
SET datestyle = 'ISO, MDY';
SET timezone = 'UTC';

-- what the escaping and the fast paths look like (DEL, 0x7f, is not
-- escaped: shown here as <DEL>; the relation's oid as "fast")
SELECT replace(replace(data, chr(127), '<DEL>'), '"relid":' || 'fast'::regclass::oid || ',', '"relid":fast,') AS data
  FROM pg_logical_slot_peek_changes('fast', NULL, NULL, 'domain', 'dec_fast', 'include-xids', '0')
 WHERE data::jsonb->>'action' = 'I'
   AND (data::jsonb->'new'->>0)::int IN (1, 2, 101, 102, 103, 106, 107, 121, 4000, 4001, 4004, 5001, 5003, 5015, 5016)
 ORDER BY (data::jsonb->'new'->>0)::int;

SELECT pg_drop_replication_slot('fast');
DROP FUNCTION fast_check();
DROP TABLE fast;
DELETE FROM migration_split.ownership WHERE domain = 'dec_fast';
DELETE FROM migration_split.domains WHERE domain = 'dec_fast';
RESET timezone;
RESET datestyle;
