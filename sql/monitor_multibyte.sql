-- The texts of the writers of cross-domain transactions are cut at a
-- character boundary: a statement whose text is cut in the middle of a
-- multibyte character must not leave an invalid string behind, which
-- would make cross_domain_transactions fail for everyone.  A UTF8 database
-- of its own.
CREATE DATABASE regress_ms_multibyte ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'
	TEMPLATE template0;
\c regress_ms_multibyte
SET client_encoding = 'UTF8';
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;
INSERT INTO migration_split.domains (domain) VALUES ('mb_orders'), ('mb_customers');
CREATE TABLE mb_order (id int, note text);
CREATE TABLE mb_customer (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('mb_order', 'mb_orders'), ('mb_customer', 'mb_customers');
SELECT migration_split.reset();
-- a constant of 900 bytes, which normalizes to $2, then a comment of
-- two-byte characters across the 1 kB kept of the text, at an odd offset
BEGIN;
SELECT format('INSERT INTO mb_order VALUES (1, %L) /*x %s */', repeat('x', 900),
	repeat(U&'\00e9', 100)) AS stmt \gset
:stmt;
INSERT INTO mb_customer VALUES (1);
COMMIT;
SELECT domains, count FROM migration_split.cross_domain_transactions
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database());
-- the text is valid (convert_to checks it) and ends with a whole character
SELECT length(q), octet_length(q), length(convert_to(q, 'UTF8')) AS bytes,
	right(q, 3) = repeat(U&'\00e9', 3) AS ends_with_whole_characters
  FROM migration_split.cross_domain_transactions, unnest(sample_queries) q
 WHERE q LIKE '%mb_order%';

\c contrib_regression
DROP DATABASE regress_ms_multibyte;
