--------------------------------------------------------------------------
-- ownership: changes since 1.0 (see src/sql/ownership.sql for the whole definition)
--------------------------------------------------------------------------


--@insert ownership_refuse_truncate

-- the event triggers fire under session_replication_role = replica too
--@insert event_triggers_always_1
--@insert event_triggers_always_2
-- and so does the invalidation of the caches at a change of a tag
--@insert ownership_changed_always
-- and the check of a change of a tag (who, which relation)
--@insert ownership_check_always
-- and they stay so after ALTER TABLE ... ENABLE TRIGGER ALL (pg_restore
-- --data-only --disable-triggers)
--@insert keep_triggers_always

-- suggest_domains() reads only what cannot run its owner's code (security)
--@insert suggest_domains

-- user_tables: anti-joins instead of a pg_depend probe per table (issue 12,
-- reports at scale: the generic relations map content types with it).
--@insert user_tables

-- create_domain() refuses the names that cannot name the service's schema
-- on the target or name one it has for another purpose
--@insert create_domain

-- set_tag() waits for a drop_domain() running meanwhile and then reports
-- the missing domain (not the foreign key's violation)
--@insert set_tag

-- suggestions never name a domain create_domain() refuses as reserved
--@insert domain_name_from

-- require_domain(): its hint lowercases as the C locale does, whatever
-- the database's collation
--@insert require_domain

-- require_relation(): the error for an OID that names no relation, for
-- the functions of the loose foreign keys (boundaries)
--@insert require_relation

-- count_text(): a number with its noun in the singular or plural, for
-- reports, plans and messages
--@insert count_text

-- foreign_key_suggestions(): one weighted reference in the singular
--@insert foreign_key_suggestions
