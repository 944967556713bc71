-- suggest_domains() and apply_suggestions() on a synthetic Django-like
-- database with one table for each rule.
CREATE TABLE django_content_type (id serial PRIMARY KEY,
	app_label varchar(100) NOT NULL, model varchar(100) NOT NULL, UNIQUE (app_label, model));
CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), name varchar(255),
	applied timestamptz DEFAULT now());
CREATE TABLE django_session (session_key varchar(40) PRIMARY KEY, session_data text);
CREATE TABLE auth_user (id serial PRIMARY KEY, username text);
CREATE TABLE auth_group (id serial PRIMARY KEY);
CREATE TABLE auth_user_groups (id serial PRIMARY KEY, user_id int REFERENCES auth_user,
	group_id int REFERENCES auth_group);
CREATE TABLE django_admin_log (id serial PRIMARY KEY, user_id int REFERENCES auth_user,
	content_type_id int REFERENCES django_content_type);
-- app labels that are prefixes of each other: auth and authtoken
CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id int REFERENCES auth_user);
-- <app>_<model>, an automatic many-to-many table, a table with no model
CREATE TABLE orders_order (id serial PRIMARY KEY, user_id int REFERENCES auth_user);
CREATE TABLE orders_orderitem (id serial PRIMARY KEY, order_id int REFERENCES orders_order);
CREATE TABLE orders_order_coupons (id serial PRIMARY KEY, order_id int REFERENCES orders_order);
CREATE TABLE orders_archive (id int);
-- partitions follow their root and get no suggestion of their own
CREATE TABLE orders_event (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE orders_event_2026 PARTITION OF orders_event
	FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
-- an app label with underscores, sharing "django_" with Django's tables
CREATE TABLE django_celery_beat_periodictask (id serial PRIMARY KEY);
CREATE TABLE django_celery_beat_crontabschedule (id serial PRIMARY KEY);
-- Meta.db_table ending in the model name, and its many-to-many table
CREATE TABLE wh_product (id serial PRIMARY KEY);
CREATE TABLE wh_product_suppliers (id serial PRIMARY KEY, product_id int REFERENCES wh_product);
-- ends in a model name of two apps (auth.user, accounts.user): no db_table
-- rule; a prefix shared with another table instead
CREATE TABLE legacy_user (id int);
CREATE TABLE legacy_customer (id int);
-- an app known only from the migration history
CREATE TABLE payments_refund (id int);
-- no name rule: foreign-key neighbourhood (orders 2+2; auth_user,
-- referenced from admin, authtoken and orders, does not count), a table
-- named after it, a tie (no answer), a table whose only neighbour is
-- auth_user (the first word of its name), and nothing at all
CREATE TABLE shipment (id serial PRIMARY KEY, order_id int REFERENCES orders_order,
	item_id int REFERENCES orders_orderitem, user_id int REFERENCES auth_user);
CREATE TABLE shipment_event (id int, shipment_id int REFERENCES shipment);
CREATE TABLE tiebreak (p int REFERENCES wh_product, o int REFERENCES orders_order);
CREATE TABLE rewards_badge (id int, user_id int REFERENCES auth_user);
CREATE TABLE lonely (id int);
-- schemas without Django tables are domains
CREATE SCHEMA billing;
CREATE TABLE billing.invoice (id int);
CREATE SCHEMA "Reporting-2";
CREATE TABLE "Reporting-2"."Daily Sales" (id int);

INSERT INTO django_content_type (app_label, model) VALUES
	('auth', 'user'), ('auth', 'group'), ('contenttypes', 'contenttype'),
	('sessions', 'session'), ('admin', 'logentry'), ('authtoken', 'token'),
	('orders', 'order'), ('orders', 'orderitem'),
	('django_celery_beat', 'periodictask'), ('django_celery_beat', 'crontabschedule'),
	('inventory', 'product'), ('accounts', 'user');
INSERT INTO django_migrations (app, name) VALUES
	('orders', '0001_initial'), ('payments', '0001_initial'), ('payments', '0002_refund');

SELECT rel, domain, reason FROM migration_split.suggest_domains()
 ORDER BY rel::text;

-- without content types the migration history still names the apps
BEGIN;
DELETE FROM django_admin_log;
DELETE FROM django_content_type;
SELECT rel, domain, reason FROM migration_split.suggest_domains()
 WHERE rel::text IN ('authtoken_token', 'orders_order', 'orders_order_coupons',
					 'wh_product', 'django_celery_beat_periodictask', 'payments_refund')
 ORDER BY rel::text;
ROLLBACK;

-- apply: tags what is suggested and still unowned, creating domains; an
-- existing tag is kept
SELECT migration_split.create_domain('legacy_imports');
SELECT migration_split.assign_table('legacy_customer', 'legacy_imports');
SELECT migration_split.apply_suggestions();
SELECT domain, description FROM migration_split.domains ORDER BY domain;
SELECT rel, domain FROM migration_split.table_owners ORDER BY rel::text;
SELECT rel FROM migration_split.unowned_tables ORDER BY rel::text;
SELECT rel, domain, reason FROM migration_split.suggest_domains()
 WHERE rel::text IN ('legacy_customer', 'orders_order', 'lonely') ORDER BY rel::text;
SELECT migration_split.apply_suggestions() AS nothing_left;

-- app labels that are not valid domain names (Django takes any Python
-- identifier: upper case, non-ASCII letters) are suggested as valid
-- domain names, by every rule that names the app, so that applying them
-- works
INSERT INTO django_content_type (app_label, model) VALUES
	('MyApp', 'thing'), ('MyApp', 'gadget'), ('café', 'menu');
INSERT INTO django_migrations (app, name) VALUES ('Legacy2', '0001_initial');
CREATE TABLE "MyApp_thing" (id int PRIMARY KEY);
CREATE TABLE "MyApp_thing_tags" (id int);
CREATE TABLE old_gadget (id int);
CREATE TABLE "café_menu" (id int);
CREATE TABLE "Legacy2_report" (id int);
SELECT rel, domain, reason FROM migration_split.suggest_domains()
 WHERE domain IS DISTINCT FROM 'contenttypes' AND reason <> 'already assigned to this domain'
 ORDER BY rel::text;
SELECT migration_split.apply_suggestions();
SELECT rel, domain FROM migration_split.table_owners
 WHERE rel::text IN ('"MyApp_thing"', '"MyApp_thing_tags"', 'old_gadget', '"café_menu"', '"Legacy2_report"')
 ORDER BY rel::text;
DROP TABLE "MyApp_thing", "MyApp_thing_tags", old_gadget, "café_menu", "Legacy2_report";

-- a prefix that create_domain() refuses as a domain name (public, the
-- schema every database has) is suggested with an underscore in front,
-- and apply_suggestions() creates that domain
CREATE TABLE public_holiday (id int);
CREATE TABLE public_event (id int);
SELECT rel, domain, reason FROM migration_split.suggest_domains()
 WHERE rel::text LIKE 'public\_%' ORDER BY rel::text;
SELECT migration_split.apply_suggestions();
SELECT rel, domain FROM migration_split.table_owners WHERE rel::text LIKE 'public\_%' ORDER BY rel::text;
DROP TABLE public_holiday, public_event;

-- one weighted reference is said in the singular: a table referenced
-- once (in), by a table of domain orders
CREATE TABLE colour (id int PRIMARY KEY);
CREATE TABLE widget (id int, colour_id int REFERENCES colour);
SELECT migration_split.assign_table('widget', 'orders');
SELECT rel, domain, reason FROM migration_split.suggest_domains() WHERE rel = 'colour'::regclass;
DROP TABLE widget, colour;

-- clean up
DROP TABLE django_admin_log, auth_user_groups, authtoken_token, shipment_event, shipment,
	tiebreak, rewards_badge, orders_orderitem, orders_order_coupons, orders_order, auth_user, auth_group,
	django_content_type, django_migrations, django_session, orders_archive, orders_event,
	django_celery_beat_periodictask, django_celery_beat_crontabschedule,
	wh_product_suppliers, wh_product, legacy_user, legacy_customer, payments_refund, lonely;
DROP SCHEMA billing, "Reporting-2" CASCADE;
SELECT count(migration_split.drop_domain(domain)) AS dropped FROM migration_split.domains;
