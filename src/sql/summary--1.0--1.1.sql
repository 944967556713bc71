--------------------------------------------------------------------------
-- summary: changes since 1.0 (see src/sql/summary.sql for the whole definition)
--------------------------------------------------------------------------


-- report_domain_summary: sizes and counts from report_domain_sizes() (no
-- walk over the data directory), domains from report_domain() (issue 12,
-- reports at scale).
--@insert report_domain_summary

-- domain_summary gains the lifecycle state as its last column, and is
-- ordered by domain whatever the plan of its join.
--@insert domain_summary
