-- The domain lifecycle: states, allowed transitions, the log (who, when,
-- LSN, service), who may make transitions, and the state in domain_summary.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE regress_lc_admin IN ROLE migration_split_admin;
CREATE ROLE regress_lc_user;
SELECT migration_split.create_domain('orders');
SELECT migration_split.create_domain('empty');
CREATE TABLE orders_order (id int PRIMARY KEY, total numeric);
SELECT migration_split.assign_table('orders_order', 'orders');

-- a new domain is in the monolith, since its creation, by its creator
SELECT domain, state, changed_at = d.created_at AS since_creation,
	   changed_by = current_user AS by_creator, source_lsn, service
  FROM migration_split.domain_lifecycle l
  JOIN migration_split.domains d USING (domain)
 WHERE domain IN ('empty', 'orders')
 ORDER BY domain;
SELECT domain, state FROM migration_split.domain_summary
 WHERE domain IN ('empty', 'orders') ORDER BY domain;

-- the way through, as an administrator
SET ROLE regress_lc_admin;
SELECT migration_split.set_domain_state('orders', 'copying');
SELECT migration_split.set_domain_state('orders', 'streaming', '0/1234');
SELECT domain, state, changed_by, source_lsn, service
  FROM migration_split.domain_lifecycle WHERE domain = 'orders';

-- every wrong move, with its error
SELECT migration_split.set_domain_state('orders', 'streaming');
SELECT migration_split.set_domain_state('orders', 'extracted');
SELECT migration_split.set_domain_state('orders', 'copying');
SELECT migration_split.set_domain_state('orders', 'final');
SELECT migration_split.set_domain_state('orders', 'Frozen');
SELECT migration_split.set_domain_state('orders', NULL);
SELECT migration_split.set_domain_state('Orders', 'frozen');
SELECT migration_split.set_domain_state('nosuch', 'frozen');
SELECT migration_split.set_domain_state(NULL, 'frozen');
-- frozen only with the freeze triggers on every table
SELECT migration_split.set_domain_state('orders', 'frozen');
SELECT migration_split.freeze_domain('orders', NULL);
SELECT migration_split.freeze_domain('orders', 'svc', rollback => NULL);
SELECT migration_split.freeze_domain('empty', 'svc');
SELECT migration_split.set_domain_state('empty', 'copying');
SELECT migration_split.set_domain_state('empty', 'streaming');
SELECT migration_split.freeze_domain('empty', 'svc');
-- freezing creates triggers and unfreezing drops them: table owners only
SELECT migration_split.freeze_domain('orders', 'host=orders-db dbname=orders');
RESET ROLE;
ALTER TABLE orders_order OWNER TO regress_lc_admin;
SET ROLE regress_lc_admin;
SELECT migration_split.freeze_domain('orders', 'host=orders-db dbname=orders');
SELECT migration_split.freeze_domain('orders', 'again');
-- while frozen it cannot be marked streaming or monolith without unfreezing
SELECT migration_split.set_domain_state('orders', 'streaming');
SELECT migration_split.set_domain_state('orders', 'monolith');
SELECT migration_split.set_domain_state('orders', 'extracted', '0/5678');
SELECT domain, state, source_lsn, service
  FROM migration_split.domain_lifecycle WHERE domain = 'orders';
-- rollback: unfreeze from extracted
SELECT migration_split.unfreeze_domain('orders');
SELECT migration_split.unfreeze_domain('orders');
SELECT count(*) AS freeze_triggers FROM pg_trigger
 WHERE tgname LIKE 'migration_split_freeze%';
SELECT migration_split.freeze_domain('orders', 'svc2');
SELECT migration_split.set_domain_state('orders', 'extracted', '0/9999');
SELECT migration_split.set_domain_state('orders', 'final');
SELECT migration_split.set_domain_state('orders', 'streaming');
SELECT migration_split.unfreeze_domain('orders');

-- the log: every transition, in order, stamped
SELECT step, from_state, to_state, changed_by, source_lsn, service
  FROM migration_split.domain_transitions WHERE domain = 'orders' ORDER BY step;
SELECT bool_and(changed_at >= created_at) AS stamped_after_creation
  FROM migration_split.domain_transitions JOIN migration_split.domains USING (domain);

-- an administrator may insert into the log directly, but only a valid
-- next transition, and who and when are stamped
INSERT INTO migration_split.domain_transitions (domain, step, from_state, to_state)
VALUES ('empty', 2, 'monolith', 'copying');
INSERT INTO migration_split.domain_transitions (domain, step, from_state, to_state)
VALUES ('empty', 3, 'copying', 'monolith');
INSERT INTO migration_split.domain_transitions (domain, step, from_state, to_state)
VALUES ('empty', 3, 'streaming', 'extracted');
INSERT INTO migration_split.domain_transitions (domain, step, from_state, to_state, changed_by, changed_at)
VALUES ('empty', 3, 'streaming', 'monolith', 'someone_else', '2000-01-01');
SELECT step, to_state, changed_by, changed_at > '2001-01-01' AS stamped_now
  FROM migration_split.domain_transitions WHERE domain = 'empty' ORDER BY step;
-- but not change or delete history
UPDATE migration_split.domain_transitions SET service = 'x';
DELETE FROM migration_split.domain_transitions;
RESET ROLE;

-- others may read the state, not change it
SET ROLE regress_lc_user;
SELECT domain, state FROM migration_split.domain_lifecycle
 WHERE domain IN ('empty', 'orders') ORDER BY domain;
SELECT migration_split.set_domain_state('empty', 'copying');
SELECT migration_split.freeze_domain('empty', 'svc');
SELECT migration_split.unfreeze_domain('orders');
INSERT INTO migration_split.domain_transitions (domain, step, from_state, to_state)
VALUES ('empty', 4, 'monolith', 'copying');
RESET ROLE;

SELECT domain, state FROM migration_split.domain_summary
 WHERE domain IN ('empty', 'orders') ORDER BY domain;

-- the SQLSTATEs the README names: not an administrator 42501, a move not
-- in the table 55000, an unknown state 22023, NULL 22004, no domain 42704
SET ROLE regress_lc_user;
SELECT migration_split.set_domain_state('empty', 'copying');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT migration_split.set_domain_state('orders', 'streaming');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.set_domain_state('empty', 'thawed');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.set_domain_state('empty', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.set_domain_state('nosuch', 'copying');
\echo :LAST_ERROR_SQLSTATE

-- the counts of the messages: one in the singular, several in the plural
SELECT migration_split.create_domain('lc_two');
CREATE TABLE lc_two_a (id int);
CREATE TABLE lc_two_b (id int);
SELECT migration_split.assign_table(t, 'lc_two') FROM unnest(ARRAY['lc_two_a', 'lc_two_b']) t;
SELECT migration_split.set_domain_state('lc_two', 'copying');
SET ROLE regress_lc_admin;
INSERT INTO migration_split.domain_transitions (domain, step, from_state, to_state)
VALUES ('lc_two', 2, 'monolith', 'copying');
RESET ROLE;
SELECT migration_split.set_domain_state('lc_two', 'streaming');
SET ROLE regress_lc_admin;
INSERT INTO migration_split.domain_transitions (domain, step, from_state, to_state)
VALUES ('lc_two', 3, 'monolith', 'copying');
RESET ROLE;
SELECT migration_split.set_domain_state('lc_two', 'frozen');
SELECT migration_split.freeze_domain('lc_two', 'svc');
DROP TRIGGER migration_split_freeze ON lc_two_b;
SELECT migration_split.set_domain_state('lc_two', 'streaming');
CREATE TRIGGER migration_split_freeze BEFORE INSERT OR UPDATE OR DELETE ON lc_two_b
	FOR EACH STATEMENT EXECUTE FUNCTION migration_split.refuse_frozen_write('lc_two', 'svc');
SELECT migration_split.set_domain_state('lc_two', 'streaming');
SELECT migration_split.drop_domain('lc_two', force => true);
DROP TABLE lc_two_a, lc_two_b;

-- dropping a domain forgets its history
SELECT migration_split.drop_domain('empty');
SELECT count(*) FROM migration_split.domain_transitions WHERE domain = 'empty';

-- pg_dump keeps the log
SELECT c::regclass AS dumped
  FROM pg_extension, unnest(extconfig) c
 WHERE extname = 'migration_split' AND c::regclass::text LIKE '%transitions%';

DROP TABLE orders_order;
SELECT migration_split.drop_domain('orders', force => true);
DROP ROLE regress_lc_admin, regress_lc_user;
