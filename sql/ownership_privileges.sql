-- Who may tag what: table owners (and members of the owning role),
-- superusers and members of migration_split_admin.  Reports are readable
-- by everyone.  search_path tricks and trojan functions get nowhere.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE regress_ms_owner;
CREATE ROLE regress_ms_team;
GRANT regress_ms_owner TO regress_ms_team;
CREATE ROLE regress_ms_other;
CREATE ROLE regress_ms_admin IN ROLE migration_split_admin;
GRANT CREATE ON SCHEMA public TO regress_ms_owner, regress_ms_other;

SELECT migration_split.create_domain('orders');
SELECT migration_split.create_domain('billing');

SET ROLE regress_ms_owner;
CREATE TABLE orders_order (id int);
CREATE TABLE orders_refund (id int);
RESET ROLE;
SET ROLE regress_ms_other;
CREATE TABLE billing_invoice (id int);
RESET ROLE;

-- a stranger may not tag, move or untag another role's table
SET ROLE regress_ms_other;
SELECT migration_split.assign_table('orders_order', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_tables('orders%', 'orders');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO migration_split.ownership (rel, domain) VALUES ('orders_order', 'orders');
\echo :LAST_ERROR_SQLSTATE
-- nor create or drop domains
SELECT migration_split.create_domain('shipping');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.drop_domain('billing');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO migration_split.domains (domain) VALUES ('shipping');
\echo :LAST_ERROR_SQLSTATE
-- but may tag its own table
SELECT migration_split.assign_table('billing_invoice', 'billing');
RESET ROLE;

-- the owner tags its tables; so does a member of the owning role
SET ROLE regress_ms_owner;
SELECT migration_split.assign_table('orders_order', 'orders');
RESET ROLE;
SET ROLE regress_ms_team;
SELECT migration_split.assign_table('orders_refund', 'billing');
RESET ROLE;
SELECT rel, domain, assigned_by FROM migration_split.table_owners ORDER BY rel::text;

-- a stranger may not move or untag them, directly or through the functions
SET ROLE regress_ms_other;
SELECT migration_split.assign_table('orders_refund', 'orders');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.unassign_table('orders_order');
\echo :LAST_ERROR_SQLSTATE
UPDATE migration_split.ownership SET domain = 'billing'
 WHERE rel = 'orders_order'::regclass;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM migration_split.ownership WHERE rel = 'orders_order'::regclass;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE migration_split.ownership;
\echo :LAST_ERROR_SQLSTATE
-- everybody reads the reports
SELECT rel, domain FROM migration_split.table_owners ORDER BY rel::text;
SELECT migration_split.table_domain('orders_order');
SELECT count(*) > 0 AS readable FROM migration_split.relation_domains;
SELECT count(*) >= 0 AS readable FROM migration_split.unowned_tables;
RESET ROLE;

-- an owner's direct write cannot forge who tagged the table and when
SET ROLE regress_ms_owner;
UPDATE migration_split.ownership
   SET domain = 'orders', assigned_by = 'postgres', assigned_at = '2000-01-01'
 WHERE rel = 'orders_refund'::regclass;
RESET ROLE;
SELECT rel, domain, assigned_by, assigned_at > '2000-01-01' AS real_time
  FROM migration_split.table_owners WHERE rel = 'orders_refund'::regclass;

-- members of migration_split_admin manage domains and tag any table
SET ROLE regress_ms_admin;
SELECT migration_split.create_domain('shipping');
SELECT migration_split.assign_table('orders_refund', 'shipping');
SELECT migration_split.assign_table('billing_invoice', 'shipping');
SELECT migration_split.drop_domain('billing');
RESET ROLE;
SELECT rel, domain, assigned_by FROM migration_split.table_owners ORDER BY rel::text;

-- search_path tricks: functions and operators shadowing pg_catalog in a
-- schema searched first are never called by the extension's functions
CREATE SCHEMA regress_evil AUTHORIZATION regress_ms_other;
SET ROLE regress_ms_other;
CREATE FUNCTION regress_evil.pg_has_role(name, text) RETURNS boolean
	LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'evil pg_has_role called'; RETURN true; END $$;
CREATE FUNCTION regress_evil.pg_has_role(oid, text) RETURNS boolean
	LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'evil pg_has_role called'; RETURN true; END $$;
CREATE FUNCTION regress_evil.now() RETURNS timestamptz
	LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'evil now called'; RETURN '2000-01-01'; END $$;
CREATE FUNCTION regress_evil.texteq(text, text) RETURNS boolean
	LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'evil = called'; RETURN true; END $$;
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text,
	FUNCTION = regress_evil.texteq);
SET search_path = regress_evil, pg_catalog, public;
SELECT migration_split.assign_table('orders_order', 'shipping');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.create_domain('evil');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.assign_table('billing_invoice', 'orders');
SELECT migration_split.unassign_table('billing_invoice');
RESET search_path;
RESET ROLE;

-- a trojan: a SECURITY DEFINER function of a stranger, run by a superuser,
-- still acts with the stranger's rights
SET ROLE regress_ms_other;
CREATE FUNCTION regress_evil.innocent() RETURNS void
	LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT migration_split.assign_table('public.orders_order', 'shipping') $$;
RESET ROLE;
SELECT regress_evil.innocent();
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.table_domain('orders_order');

-- the owner dropping its tagged table removes the tag
SET ROLE regress_ms_owner;
DROP TABLE orders_order;
RESET ROLE;
SELECT rel, domain FROM migration_split.table_owners ORDER BY rel::text;

-- under session_replication_role = replica (a role may be granted SET on
-- it, as the job's target role may be) the check still applies: a stranger
-- may neither tag nor untag another role's table, its own tags are
-- stamped, and no tag names an OID that is no relation
SELECT migration_split.assign_table('orders_refund', 'orders');
GRANT SET ON PARAMETER session_replication_role TO regress_ms_other;
SET ROLE regress_ms_other;
SET session_replication_role = replica;
DELETE FROM migration_split.ownership WHERE rel = 'orders_refund'::regclass;
\echo :SQLSTATE :ROW_COUNT
UPDATE migration_split.ownership SET domain = 'billing' WHERE rel = 'orders_refund'::regclass;
\echo :SQLSTATE :ROW_COUNT
INSERT INTO migration_split.ownership (rel, domain, assigned_at, assigned_by)
VALUES ('billing_invoice', 'billing', '2000-01-01', 'regress_ms_owner');
RESET session_replication_role;
RESET ROLE;
SELECT rel, domain, NULLIF(assigned_by, current_user) AS assigned_by_other_role,
	   assigned_at > '2001-01-01' AS stamped_now
  FROM migration_split.ownership
 WHERE rel IN ('orders_refund'::regclass, 'billing_invoice'::regclass) ORDER BY rel::text;
-- (a superuser)
SET session_replication_role = replica;
INSERT INTO migration_split.ownership (rel, domain) VALUES (0, 'orders');
\echo :SQLSTATE :ROW_COUNT
RESET session_replication_role;
SELECT count(*) AS dead_tags FROM migration_split.ownership o
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = o.rel);
REVOKE SET ON PARAMETER session_replication_role FROM regress_ms_other;
SELECT migration_split.unassign_table(t) FROM unnest(ARRAY['orders_refund', 'billing_invoice']::regclass[]) t;

-- clean up
DROP SCHEMA regress_evil CASCADE;
DROP TABLE orders_refund, billing_invoice;
SELECT count(migration_split.drop_domain(domain)) AS dropped FROM migration_split.domains;
REVOKE CREATE ON SCHEMA public FROM regress_ms_owner, regress_ms_other;
DROP ROLE regress_ms_owner, regress_ms_team, regress_ms_other, regress_ms_admin;
