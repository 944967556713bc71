-- Per-service enforcement and the allowlist of known crossings.
INSERT INTO migration_split.domains (domain) VALUES ('enf_orders'), ('enf_customers'), ('enf_billing');
CREATE TABLE enf_customer (id int PRIMARY KEY, name text);
CREATE TABLE enf_order (id int PRIMARY KEY,
	customer_id int REFERENCES enf_customer ON DELETE CASCADE, total int);
CREATE TABLE enf_invoice (id int PRIMARY KEY, order_id int);
CREATE TABLE enf_free (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('enf_customer', 'enf_customers'), ('enf_order', 'enf_orders'),
	('enf_invoice', 'enf_billing');
INSERT INTO enf_customer VALUES (1, 'ann'), (2, 'bob');
INSERT INTO enf_order VALUES (10, 1, 5);
CREATE VIEW enf_order_names AS
	SELECT o.id, c.name FROM enf_order o JOIN enf_customer c ON c.id = o.customer_id;
SELECT migration_split.reset();
SHOW migration_split.enforce;

-- off (default): nothing happens
SET migration_split.service = 'enf_orders';
SELECT count(*) FROM enf_order_names;

-- warn: the statement runs, with a WARNING ...
SET migration_split.enforce = 'warn';
SELECT count(*) FROM enf_order_names;
-- ... of SQLSTATE MS001
\set VERBOSITY sqlstate
SELECT count(*) FROM enf_order_names;
\set VERBOSITY default
-- own tables and unowned tables are fine
SELECT count(*) FROM enf_order o, enf_free f;
-- error: a stable SQLSTATE, the table and its owner, a hint
SET migration_split.enforce = 'error';
SELECT count(*) FROM enf_customer;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM enf_order o, enf_customer c, enf_invoice i;
-- writes too
UPDATE enf_customer SET name = 'x' WHERE id = 1;
-- nested statements (functions) are enforced at any migration_split.track
CREATE FUNCTION enf_peek() RETURNS bigint LANGUAGE sql
	AS 'SELECT count(*) FROM enf_invoice';
SELECT enf_peek();
\echo :LAST_ERROR_SQLSTATE

-- foreign-key checks and cascades fired by the service's own writes are fine
INSERT INTO enf_order VALUES (11, 2, 3);
UPDATE enf_order SET customer_id = 1 WHERE id = 11;
DELETE FROM enf_order WHERE id = 11;
-- ... including cascades into the service's tables fired by others
RESET migration_split.service;
INSERT INTO enf_customer VALUES (3, 'cy');
INSERT INTO enf_order VALUES (12, 3, 1);
SET migration_split.service = 'enf_customers';
DELETE FROM enf_customer WHERE id = 3;
-- but writing the other domain's table directly is not
INSERT INTO enf_order VALUES (13, 1, 1);
SET migration_split.service = 'enf_orders';
SELECT count(*) FROM enf_order;

-- the allowlist: a domain-wide entry, a table-specific entry
RESET migration_split.enforce;
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason, expires_at)
	VALUES ('enf_orders', 'enf_customers', 'order page shows customer names', now() + interval '1 day');
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason)
	VALUES ('enf_orders', 'enf_billing', 'enf_invoice', 'invoice link');
SET migration_split.enforce = 'error';
SELECT count(*) FROM enf_order_names;
SELECT count(*) FROM enf_order o, enf_customer c, enf_invoice i;
SELECT count(*) FROM enf_order_names;
-- a service not covered by the entries is still stopped
SET migration_split.service = 'enf_billing';
SELECT count(*) FROM enf_order_names;
SET migration_split.service = 'enf_orders';

-- an expired entry stops exempting
RESET migration_split.enforce;
UPDATE migration_split.allowed_crossings SET expires_at = now() - interval '1 second'
 WHERE to_domain = 'enf_customers';
SET migration_split.enforce = 'error';
SELECT count(*) FROM enf_order_names;
RESET migration_split.enforce;

-- usage of the entries; the expired one exempted statements, the table one too
SELECT from_domain, to_domain, rel, expired, exemptions, last_exempted IS NOT NULL AS used
  FROM migration_split.allowed_crossings_usage ORDER BY id;
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
	VALUES ('enf_billing', 'enf_orders', 'never used');
SELECT from_domain, to_domain, expired, last_exempted IS NULL AS never
  FROM migration_split.unused_allowed_crossings() ORDER BY id;
SELECT count(*) FROM migration_split.unused_allowed_crossings('0 seconds');

-- violations show in the per-domain runtime figures
SELECT domain, last_violation IS NOT NULL AS violated
  FROM migration_split.domain_runtime_stats() WHERE domain LIKE 'enf\_%' ORDER BY domain;

-- unused_for must not be null
SELECT * FROM migration_split.unused_allowed_crossings(NULL);
\echo :LAST_ERROR_SQLSTATE

-- the allowlist is checked
\set VERBOSITY terse
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
	VALUES ('enf_orders', 'enf_orders', 'self');
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
	VALUES ('enf_orders', 'nowhere', 'unknown domain');
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, reason)
	VALUES ('nowhere', 'enf_orders', 'unknown domain');
\set VERBOSITY default
-- rel must be a table of to_domain, tagged itself
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason)
	VALUES ('enf_billing', 'enf_customers', 'enf_order', 'wrong domain');
\echo :LAST_ERROR_SQLSTATE
UPDATE migration_split.allowed_crossings SET rel = 'enf_customer'
 WHERE rel = 'enf_invoice'::regclass;
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason)
	VALUES ('enf_billing', 'enf_customers', 'enf_free', 'unowned');
CREATE TABLE enf_ledger (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE enf_ledger_2026 PARTITION OF enf_ledger
	FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO migration_split.ownership (rel, domain) VALUES ('enf_ledger', 'enf_billing');
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason)
	VALUES ('enf_orders', 'enf_billing', 'enf_ledger_2026', 'partition');
-- the tagged table is accepted; the entry goes with the tag
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason)
	VALUES ('enf_orders', 'enf_billing', 'enf_ledger', 'ledger totals');
SELECT count(*) FROM migration_split.allowed_crossings WHERE rel = 'enf_ledger'::regclass;
DROP TABLE enf_ledger;
SELECT count(*) FROM migration_split.allowed_crossings WHERE reason = 'ledger totals';
-- moving the table to another domain leaves its entries in place, exempting
-- nothing; untagging it deletes them
BEGIN;
CREATE TABLE enf_move (id int);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('enf_move', 'enf_billing');
INSERT INTO migration_split.allowed_crossings (from_domain, to_domain, rel, reason)
	VALUES ('enf_orders', 'enf_billing', 'enf_move', 'moved table');
UPDATE migration_split.ownership SET domain = 'enf_customers' WHERE rel = 'enf_move'::regclass;
SELECT to_domain, rel FROM migration_split.allowed_crossings WHERE reason = 'moved table';
SET LOCAL migration_split.enforce = 'error';
SAVEPOINT moved;
SELECT count(*) FROM enf_move;
ROLLBACK TO moved;
SET LOCAL migration_split.enforce = 'off';
DELETE FROM migration_split.ownership WHERE rel = 'enf_move'::regclass;
SELECT count(*) FROM migration_split.allowed_crossings WHERE reason = 'moved table';
ROLLBACK;

-- the service is empty or a valid domain name (lower case, at most 63
-- bytes), checked when set; a domain that does not exist (yet) is accepted
SET migration_split.service = 'Enf_orders';
\echo :LAST_ERROR_SQLSTATE
SET migration_split.service = 'enf orders';
SELECT set_config('migration_split.service', repeat('x', 64), false);
SHOW migration_split.service;
SELECT set_config('migration_split.service', repeat('x', 63), false) = repeat('x', 63);
SET migration_split.service = '_not_yet_a_domain9';
-- ... but then every owned table is another domain's, and the hint says why
SET migration_split.enforce = 'error';
SELECT count(*) FROM enf_order;
SELECT count(*) FROM enf_order o, enf_customer c;
RESET migration_split.enforce;
SET migration_split.service = '';
SET migration_split.service = 'enf_orders';

-- ALTER ROLE ... SET works for the service GUC, and checks it too
CREATE ROLE enf_orders_svc LOGIN;
GRANT SELECT ON enf_order, enf_customer TO enf_orders_svc;
ALTER ROLE enf_orders_svc SET migration_split.service = 'Enf_orders';
ALTER ROLE enf_orders_svc SET migration_split.service = 'enf_orders';
ALTER ROLE enf_orders_svc SET migration_split.enforce = 'error';
SELECT current_user AS regress_superuser \gset
\c - enf_orders_svc
SHOW migration_split.service;
SELECT count(*) FROM enf_order;
SELECT count(*) FROM enf_customer;
-- enforce itself can only be changed by superusers
SET migration_split.enforce = 'off';
\c - :regress_superuser
DROP OWNED BY enf_orders_svc;
ALTER ROLE enf_orders_svc RESET ALL;
DROP ROLE enf_orders_svc;
RESET migration_split.service;
