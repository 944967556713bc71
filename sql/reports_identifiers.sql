-- Hostile names in what the reports write out: Markdown (extraction_plan),
-- Mermaid and DOT (boundary_graph).  Names hold |, backticks, *, _, ~, \,
-- [ ], <, quotes, CR and LF; each must come out as text, without changing
-- the structure or the formatting of the document.  A database of its own.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE regress_ms_identifiers;
\c regress_ms_identifiers
SET client_min_messages = warning;
CREATE EXTENSION migration_split;
RESET client_min_messages;

SELECT migration_split.create_domain(d) FROM unnest(ARRAY['orders', 'users']) d;
CREATE SCHEMA "we|ird`sch";
CREATE TABLE "we|ird`sch"."*user*_x_ ~~y~~" (id int PRIMARY KEY);
CREATE TABLE "back\slash" (id int PRIMARY KEY);
CREATE TABLE orders_order (id int PRIMARY KEY,
	u int CONSTRAINT "`**bold**` [l](x) <b>" REFERENCES "we|ird`sch"."*user*_x_ ~~y~~",
	v int CONSTRAINT "two
lines" REFERENCES "we|ird`sch"."*user*_x_ ~~y~~",
	w int CONSTRAINT "tail\" REFERENCES "back\slash",
	x int CONSTRAINT "a\nb" REFERENCES "back\slash");
SELECT migration_split.assign_table(t, d)
  FROM (VALUES ('"we|ird`sch"."*user*_x_ ~~y~~"', 'users'), ('"back\slash"', 'users'),
			   ('orders_order', 'orders')) v(t, d);

-- Markdown: every character that Markdown would read as syntax is escaped
SELECT migration_split.markdown_cell(E'|`*_~[]\\<&>\r\nx\ry\nz');
-- an _ between letters or digits cannot start or end emphasis: left as it is
SELECT migration_split.markdown_cell('_a_ b_c 1_2 x_ _y');
-- a table named with Unicode escapes is not visible to function_writes()
-- (README: Not visible)
CREATE FUNCTION uescape_write() RETURNS void LANGUAGE plpgsql AS $$
BEGIN INSERT INTO U&"orders\005Forder" (id) VALUES (1); END $$;
SELECT count(*) FROM migration_split.function_writes('uescape_write()');
\pset format unaligned
\pset tuples_only on
SELECT detail FROM migration_split.extraction_plan('users', 'markdown');
-- Mermaid: ", #, <, >, \ and ` as entities, line breaks as spaces (a
-- label starting with ` would be a Markdown string, a \n a line break)
SELECT migration_split.boundary_graph('mermaid', 'table');
-- DOT: the text of the names, with \ and " escaped and LF as \n
SELECT migration_split.boundary_graph('dot', 'table');
\o results/reports_identifiers.dot
SELECT migration_split.boundary_graph('dot', 'table');
\o
\! dot -Tsvg results/reports_identifiers.dot -o results/reports_identifiers.svg && echo "dot accepts the table graph"
\pset format aligned
\pset tuples_only off

\c contrib_regression
DROP DATABASE regress_ms_identifiers;
