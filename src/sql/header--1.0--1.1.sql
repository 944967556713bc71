/* migration_split--1.0--1.1.sql (assembled by the Makefile from src/sql) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migration_split UPDATE TO '1.1'" to load this file. \quit

/*
 * Update from 1.0 to 1.1: the changes of each capability, from
 * src/sql/<capability>--1.0--1.1.sql, in the order of the install script;
 * for the capabilities new in 1.1 (extraction, boundaries), their whole
 * src/sql/<capability>.sql.  A definition the update creates as the install
 * script does is taken from src/sql/<capability>.sql (its "--@begin NAME"
 * section, where the fragment says "--@insert NAME"), so it has one source.
 * User data (domains, tags, allowlist) is kept.
 */

