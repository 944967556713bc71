--------------------------------------------------------------------------
-- reports: changes since 1.0 (see src/sql/reports.sql for the whole definition)
--------------------------------------------------------------------------


-- boundary_graph: levels and one domain (issue 14).  The 1.0 signature
-- boundary_graph(text) is replaced; a call with one argument now draws the
-- domain-level graph (level => 'table' gives the 1.0 graph).
DROP FUNCTION migration_split.boundary_graph(pg_catalog.text);

-- report_relation_domains: answered by the backend's ownership cache (C)
-- instead of the recursive view (issue 12, reports at scale).
--@insert ownership_cache_functions

GRANT EXECUTE ON FUNCTION migration_split.report_domain(pg_catalog.oid),
	migration_split.report_domain_sizes(),
	migration_split.report_fill_domains(),
	migration_split.report_domain_root(pg_catalog.oid),
	migration_split.report_drawn_as(pg_catalog.oid) TO PUBLIC;

-- cross_domain_foreign_keys: the domains from report_domain() (issue 12).
--@insert cross_domain_foreign_keys

-- cross_domain_dependencies: domains from report_domain(), catalogs entered
-- from their small ends (issue 12, reports at scale).
--@insert report_cross_domain_dependencies

--@insert crossings_and_graphs

-- end of boundary_graph (issue 14)
