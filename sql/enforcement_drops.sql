-- DROP SCHEMA ... CASCADE and DROP OWNED drop tables they do not name: a
-- service may not drop another domain's tables that way either (the owner
-- of a schema drops every table in it, even tables it does not own).
SELECT current_user AS regress_superuser \gset
INSERT INTO migration_split.domains (domain) VALUES ('ed_orders'), ('ed_customers');
CREATE ROLE ed_orders_svc LOGIN;
CREATE ROLE ed_table_owner;
GRANT ed_table_owner TO ed_orders_svc;
CREATE SCHEMA ed_schema AUTHORIZATION ed_orders_svc;
CREATE TABLE ed_schema.ed_customer (id int);
CREATE TABLE ed_schema.ed_order (id int);
CREATE TABLE ed_customer2 (id int);
ALTER TABLE ed_customer2 OWNER TO ed_table_owner;
CREATE TABLE ed_order2 (id int);
ALTER TABLE ed_order2 OWNER TO ed_table_owner;
SELECT migration_split.assign_table('ed_schema.ed_customer', 'ed_customers');
SELECT migration_split.assign_table('ed_schema.ed_order', 'ed_orders');
SELECT migration_split.assign_table('ed_customer2', 'ed_customers');
SELECT migration_split.assign_table('ed_order2', 'ed_orders');
ALTER ROLE ed_orders_svc SET migration_split.service = 'ed_orders';
ALTER ROLE ed_orders_svc SET migration_split.enforce = 'error';

\c - ed_orders_svc
DROP SCHEMA ed_schema CASCADE;
\echo :LAST_ERROR_SQLSTATE
DROP OWNED BY ed_table_owner;
\echo :LAST_ERROR_SQLSTATE
-- without tables of other domains, both work
\c - :regress_superuser
ALTER TABLE ed_schema.ed_customer SET SCHEMA public;
ALTER TABLE ed_customer2 OWNER TO :"regress_superuser";
\c - ed_orders_svc
DROP SCHEMA ed_schema CASCADE;
DROP OWNED BY ed_table_owner;


-- objects CASCADE reaches are checked one by one as they are dropped: a
-- column of another domain's table dropped with a type of the service, a
-- default dropped with a sequence or a function, a constraint with a
-- function, a foreign key of another domain's table with the table it
-- references; a materialized view cannot be tagged (README, what
-- enforcement does not guarantee), but creating and refreshing one is
-- checked
\c - :regress_superuser
CREATE TYPE ed_mood AS ENUM ('calm');
ALTER TYPE ed_mood OWNER TO ed_orders_svc;
CREATE TYPE ed_mood2 AS ENUM ('calm');
ALTER TYPE ed_mood2 OWNER TO ed_orders_svc;
CREATE SEQUENCE ed_seq OWNED BY NONE;
ALTER SEQUENCE ed_seq OWNER TO ed_orders_svc;
CREATE FUNCTION ed_positive(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
ALTER FUNCTION ed_positive(int) OWNER TO ed_orders_svc;
ALTER TABLE ed_customer ADD COLUMN mood ed_mood, ADD COLUMN mood2 ed_mood2, ADD PRIMARY KEY (id),
	ADD COLUMN n int DEFAULT nextval('ed_seq'), ADD CONSTRAINT ed_positive CHECK (ed_positive(id));
INSERT INTO ed_customer VALUES (1);
GRANT SELECT, REFERENCES ON ed_customer TO ed_orders_svc;
GRANT CREATE ON SCHEMA public TO ed_orders_svc;
CREATE TABLE ed_order3 (id int PRIMARY KEY);
ALTER TABLE ed_order3 OWNER TO ed_orders_svc;
SELECT migration_split.assign_table('ed_order3', 'ed_orders');
CREATE TABLE ed_customer3 (order_id int REFERENCES ed_order3);
SELECT migration_split.assign_table('ed_customer3', 'ed_customers');
CREATE MATERIALIZED VIEW ed_customer_ids AS SELECT id FROM ed_customer;
ALTER MATERIALIZED VIEW ed_customer_ids OWNER TO ed_orders_svc;
\c - ed_orders_svc
DROP TYPE ed_mood CASCADE;
\echo :LAST_ERROR_SQLSTATE
DROP SEQUENCE ed_seq CASCADE;
\echo :LAST_ERROR_SQLSTATE
DROP FUNCTION ed_positive(int) CASCADE;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE ed_order3 CASCADE;
\echo :LAST_ERROR_SQLSTATE
-- in warn mode the drop goes through, with one warning per table
\c - :regress_superuser
ALTER ROLE ed_orders_svc SET migration_split.enforce = 'warn';
\c - ed_orders_svc
BEGIN;
DROP TYPE ed_mood, ed_mood2 CASCADE;
ROLLBACK;
\c - :regress_superuser
ALTER ROLE ed_orders_svc SET migration_split.enforce = 'error';
\c - ed_orders_svc
-- a new foreign key to another domain's table is a new tie between the
-- domains: refused in CREATE TABLE (column or table constraint) and in
-- ALTER TABLE (ADD CONSTRAINT, ADD COLUMN ... REFERENCES); so is a new
-- child or partition of another domain's table
CREATE TABLE ed_note (customer_id int REFERENCES ed_customer);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE ed_note (customer_id int, FOREIGN KEY (customer_id) REFERENCES ed_customer);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE ed_note (customer_id int);
ALTER TABLE ed_note ADD FOREIGN KEY (customer_id) REFERENCES ed_customer;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE ed_note ADD COLUMN customer2_id int REFERENCES ed_customer;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE ed_customer_child () INHERITS (ed_customer);
\echo :LAST_ERROR_SQLSTATE
-- a foreign key within its own domain, or to an untagged table, is none
ALTER TABLE ed_note ADD COLUMN order_id int REFERENCES ed_order3;
CREATE TABLE ed_note2 (note_id int REFERENCES ed_order3);
DROP TABLE ed_note2;
-- a table of its own that references another domain's table goes, with
-- the triggers of its foreign key on that table
\c - :regress_superuser
ALTER TABLE ed_note ADD FOREIGN KEY (customer_id) REFERENCES ed_customer;
\c - ed_orders_svc
DROP TABLE ed_note;
-- what CASCADE reaches in its own domain goes too
CREATE TABLE ed_order4 (order_id int REFERENCES ed_order3);
SELECT migration_split.assign_table('ed_order4', 'ed_orders');
\c - :regress_superuser
ALTER TABLE ed_order4 OWNER TO ed_orders_svc;
ALTER TABLE ed_customer3 DROP CONSTRAINT ed_customer3_order_id_fkey;
\c - ed_orders_svc
DROP TABLE ed_order3 CASCADE;
\d ed_order4
CREATE MATERIALIZED VIEW ed_customer_ids2 AS SELECT id FROM ed_customer;
REFRESH MATERIALIZED VIEW ed_customer_ids;
SELECT count(*) FROM ed_customer_ids;

\c - :regress_superuser
SELECT attname FROM pg_attribute WHERE attrelid = 'ed_customer'::regclass AND attnum > 0
   AND NOT attisdropped ORDER BY attnum;
SELECT conname FROM pg_constraint WHERE conrelid = 'ed_customer'::regclass ORDER BY conname;
DROP TABLE ed_customer3, ed_order4;
DROP TYPE ed_mood, ed_mood2 CASCADE;
DROP SEQUENCE ed_seq CASCADE;
DROP FUNCTION ed_positive(int) CASCADE;
DROP MATERIALIZED VIEW ed_customer_ids;
REVOKE CREATE ON SCHEMA public FROM ed_orders_svc;
SELECT rel, domain FROM migration_split.ownership
 WHERE rel::text LIKE '%ed\_%' ORDER BY rel::text;
DROP TABLE ed_customer, ed_customer2;
DELETE FROM migration_split.domains WHERE domain LIKE 'ed\_%';
ALTER ROLE ed_orders_svc RESET ALL;
DROP OWNED BY ed_orders_svc;
DROP ROLE ed_orders_svc, ed_table_owner;
