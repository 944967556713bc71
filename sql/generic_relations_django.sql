-- Generic relations of a real Django project (Django 3.2, django-guardian,
-- django-reversion, django-taggit, HyperKitty as Debian 12 packages them;
-- tables, columns and foreign keys as "manage.py migrate" creates them,
-- reduced to what the generic relations need).  django-guardian, like
-- django-contrib-comments, names the id column object_pk: its per-object
-- permissions on HyperKitty's mailing lists tie guardian to hyperkitty.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_generic_django;
\c regress_ms_generic_django
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;

CREATE TABLE django_content_type (id serial PRIMARY KEY,
	app_label varchar(100) NOT NULL, model varchar(100) NOT NULL,
	CONSTRAINT django_content_type_app_label_model_76bd3d3b_uniq UNIQUE (app_label, model));
CREATE TABLE auth_user (id serial PRIMARY KEY, username varchar(150) NOT NULL UNIQUE);
CREATE TABLE auth_group (id serial PRIMARY KEY, name varchar(150) NOT NULL UNIQUE);
CREATE TABLE auth_permission (id serial PRIMARY KEY, name varchar(255) NOT NULL,
	content_type_id integer NOT NULL
		CONSTRAINT auth_permission_content_type_id_2f476e4b_fk_django_co
		REFERENCES django_content_type DEFERRABLE INITIALLY DEFERRED,
	codename varchar(100) NOT NULL);
CREATE TABLE hyperkitty_mailinglist (id serial PRIMARY KEY, name varchar(254) NOT NULL UNIQUE);
CREATE TABLE guardian_userobjectpermission (id serial PRIMARY KEY,
	object_pk varchar(255) NOT NULL,
	content_type_id integer NOT NULL
		CONSTRAINT guardian_userobjectp_content_type_id_2e892405_fk_django_co
		REFERENCES django_content_type DEFERRABLE INITIALLY DEFERRED,
	permission_id integer NOT NULL
		CONSTRAINT guardian_userobjectp_permission_id_71807bfc_fk_auth_perm
		REFERENCES auth_permission DEFERRABLE INITIALLY DEFERRED,
	user_id integer NOT NULL
		CONSTRAINT guardian_userobjectpermission_user_id_d5c1e964_fk_auth_user_id
		REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE guardian_groupobjectpermission (id serial PRIMARY KEY,
	object_pk varchar(255) NOT NULL,
	content_type_id integer NOT NULL
		CONSTRAINT guardian_groupobject_content_type_id_7ade36b8_fk_django_co
		REFERENCES django_content_type DEFERRABLE INITIALLY DEFERRED,
	group_id integer NOT NULL
		CONSTRAINT guardian_groupobject_group_id_4bbbfb62_fk_auth_grou
		REFERENCES auth_group DEFERRABLE INITIALLY DEFERRED,
	permission_id integer NOT NULL
		CONSTRAINT guardian_groupobject_permission_id_36572738_fk_auth_perm
		REFERENCES auth_permission DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE reversion_revision (id serial PRIMARY KEY, date_created timestamptz NOT NULL,
	comment text NOT NULL, user_id integer
		CONSTRAINT reversion_revision_user_id_17095f45_fk_auth_user_id
		REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE reversion_version (id serial PRIMARY KEY, object_id varchar(191) NOT NULL,
	format varchar(255) NOT NULL, serialized_data text NOT NULL, object_repr text NOT NULL,
	content_type_id integer NOT NULL
		CONSTRAINT reversion_version_content_type_id_7d0ff25c_fk_django_co
		REFERENCES django_content_type DEFERRABLE INITIALLY DEFERRED,
	revision_id integer NOT NULL
		CONSTRAINT reversion_version_revision_id_af9f6a9d_fk_reversion_revision_id
		REFERENCES reversion_revision DEFERRABLE INITIALLY DEFERRED,
	db varchar(191) NOT NULL);
CREATE TABLE django_admin_log (id serial PRIMARY KEY, action_time timestamptz NOT NULL,
	object_id text, object_repr varchar(200) NOT NULL, action_flag smallint NOT NULL
		CHECK (action_flag >= 0),
	change_message text NOT NULL,
	content_type_id integer
		CONSTRAINT django_admin_log_content_type_id_c4bce8eb_fk_django_co
		REFERENCES django_content_type DEFERRABLE INITIALLY DEFERRED,
	user_id integer NOT NULL
		CONSTRAINT django_admin_log_user_id_c564eba6_fk_auth_user_id
		REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED);

INSERT INTO django_content_type (id, app_label, model) VALUES
	(1, 'auth', 'user'), (2, 'auth', 'group'), (3, 'auth', 'permission'),
	(4, 'hyperkitty', 'mailinglist'), (5, 'admin', 'logentry');
INSERT INTO auth_user (username) SELECT 'user' || i FROM generate_series(1, 5) i;
INSERT INTO auth_group (name) VALUES ('moderators');
INSERT INTO auth_permission (name, content_type_id, codename) VALUES
	('Can change mailing list', 4, 'change_mailinglist'), ('Can view user', 1, 'view_user');
INSERT INTO hyperkitty_mailinglist (name) SELECT 'list' || i || '@example.org' FROM generate_series(1, 3) i;
INSERT INTO guardian_userobjectpermission (object_pk, content_type_id, permission_id, user_id)
	SELECT m.id::text, 4, 1, u FROM hyperkitty_mailinglist m, generate_series(1, 2) u
	UNION ALL SELECT '3', 1, 2, 1;
INSERT INTO guardian_groupobjectpermission (object_pk, content_type_id, group_id, permission_id)
	SELECT id::text, 4, 1, 1 FROM hyperkitty_mailinglist;
INSERT INTO reversion_revision (date_created, comment, user_id) VALUES (now(), 'initial', 1);
INSERT INTO reversion_version (object_id, format, serialized_data, object_repr, content_type_id, revision_id, db)
	SELECT id::text, 'json', '[]', name, 4, 1, 'default' FROM hyperkitty_mailinglist;
INSERT INTO django_admin_log (action_time, object_id, object_repr, action_flag, change_message, content_type_id, user_id)
	VALUES (now(), '1', 'list1', 2, '[]', 4, 1), (now(), '2', 'user2', 2, '[]', 1, 1);

-- every pair: guardian's two tables with object_pk
SELECT relid::regclass, type_column, id_column, content_types::regclass
  FROM migration_split.generic_relation_columns()
 ORDER BY relid::regclass::text, type_column;

SELECT migration_split.create_domain(d)
  FROM unnest(ARRAY['auth', 'contenttypes', 'hyperkitty', 'guardian', 'reversion', 'admin']) d;
SELECT migration_split.assign_table(t, split_part(t, '_', 1))
  FROM unnest(ARRAY['auth_user', 'auth_group', 'auth_permission', 'hyperkitty_mailinglist',
					'guardian_userobjectpermission', 'guardian_groupobjectpermission',
					'reversion_revision', 'reversion_version']) t;
SELECT migration_split.assign_table('django_content_type', 'contenttypes');
SELECT migration_split.assign_table('django_admin_log', 'admin');

SELECT * FROM migration_split.cross_domain_generic_relations;
-- what extracting hyperkitty has to deal with: guardian's permissions on its lists too
SELECT kind, object, detail FROM migration_split.extraction_plan('hyperkitty')
 WHERE kind = 'generic relation' ORDER BY step;
-- a move that would cut the most ties
SELECT rel, from_domain, to_domain, removed, added, net
  FROM migration_split.suggest_moves() WHERE rel::text LIKE 'guardian%' ORDER BY rel::text;

\c contrib_regression
DROP DATABASE regress_ms_generic_django;
