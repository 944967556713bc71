/* migration_split--1.1.sql (assembled by the Makefile from src/sql) */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION migration_split" to load this file. \quit

/*
 * This script is the single source of truth for the extension's catalog
 * tables, views and function signatures.  The Makefile assembles it from
 * one file per capability under src/sql, in this order:
 *
 *   ownership.sql   ownership catalog, ownership functions, suggestions
 *   reports.sql     static boundary reports
 *   monitor.sql     runtime monitor and enforcement
 *   extraction.sql  extraction: output plugin support, domain lifecycle
 *   summary.sql     domain_summary (static and runtime figures)
 *   boundaries.sql  generic relations, loose foreign keys, extraction plans,
 *                   suggested moves
 *
 * Every change made here since 1.0 to ownership, reports, monitor and
 * summary is made again, for existing installations, in the matching
 * src/sql/<capability>--1.0--1.1.sql; extraction and boundaries are new in
 * 1.1 and the update runs their whole file.  The TAP test 002_upgrade
 * proves that both paths give the same objects.
 */

