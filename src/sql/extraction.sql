/*
 * src/sql/extraction.sql: part of the install script migration_split--1.1.sql
 */

-- Extraction: what the output plugin and the migration-split job need
-- in the source database.

--------------------------------------------------------------------------
-- 6. Extraction
--------------------------------------------------------------------------

