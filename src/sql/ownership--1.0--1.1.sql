--------------------------------------------------------------------------
-- ownership: changes since 1.0 (see src/sql/ownership.sql for the whole definition)
--------------------------------------------------------------------------


--@insert ownership_refuse_truncate

-- suggest_domains() reads only what cannot run its owner's code (security)
--@insert suggest_domains

-- user_tables: anti-joins instead of a pg_depend probe per table (issue 12,
-- reports at scale: the generic relations map content types with it).
--@insert user_tables
