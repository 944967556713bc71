-- boundary_graph(): the domain map as Graphviz DOT or Mermaid, at the level
-- of domains (default) or tables, of every domain or of one and its
-- neighbours.
INSERT INTO migration_split.domains (domain) VALUES ('accounts'), ('orders'), ('empty');

CREATE SCHEMA "My Schema";
CREATE TABLE accounts_user (id int PRIMARY KEY);
CREATE TABLE "My Schema"."we""ird name" (id int PRIMARY KEY,
	user_id int REFERENCES accounts_user);
CREATE TABLE "back\slash" (id int PRIMARY KEY);
CREATE TABLE "tag#<b>" (id int PRIMARY KEY, user_id int REFERENCES accounts_user);
CREATE TABLE orders_order (id int PRIMARY KEY,
	user_id int CONSTRAINT "order ""user""" REFERENCES accounts_user,
	other int REFERENCES "back\slash") PARTITION BY HASH (id);
CREATE TABLE orders_order_0 PARTITION OF orders_order FOR VALUES WITH (MODULUS 1, REMAINDER 0);
CREATE TABLE orders_item (id int, order_id int REFERENCES orders_order,
	parent int REFERENCES orders_order);
CREATE TABLE unowned_a (id int PRIMARY KEY);
CREATE TABLE unowned_b (a int REFERENCES unowned_a);   -- both unowned: not drawn
CREATE VIEW order_users AS
	SELECT o.id, u.id AS user_id FROM orders_order o JOIN accounts_user u ON u.id = o.user_id;
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('accounts_user', 'accounts'), ('"My Schema"."we""ird name"', 'accounts'),
	('orders_order', 'orders'), ('orders_item', 'orders'), ('"tag#<b>"', 'orders');

\pset format unaligned
\pset tuples_only on
-- tables
SELECT migration_split.boundary_graph('dot', 'table');
SELECT migration_split.boundary_graph('mermaid', level => 'table');
-- one domain's tables and their direct neighbours in other domains
SELECT migration_split.boundary_graph('dot', 'table', 'orders');
SELECT migration_split.boundary_graph('mermaid', 'TABLE', domain => 'accounts');
-- domains (the default level); a view of no domain reading two domains is
-- an undirected tie; the unowned table with a key to accounts is one node
CREATE TABLE unowned_c (user_id int REFERENCES accounts_user);
SELECT migration_split.boundary_graph();
SELECT migration_split.boundary_graph('mermaid', 'domain');
SELECT migration_split.boundary_graph(domain => 'orders', level => 'Domain');
-- a domain without ties is drawn alone
SELECT migration_split.boundary_graph('mermaid', domain => 'empty');
-- the 1.0 call with one argument draws the domain level now
SELECT migration_split.boundary_graph('dot') = migration_split.boundary_graph('dot', 'domain', NULL) AS same;
SELECT * FROM migration_split.domain_crossings;

-- every DOT output is valid Graphviz input
\o results/boundary_graph.dot
SELECT migration_split.boundary_graph('DOT', 'table');
\o
\! command -v dot >/dev/null || echo "graphviz is not installed"; dot -Tsvg results/boundary_graph.dot -o results/boundary_graph.svg && echo "dot accepts the table graph"
\o results/boundary_graph_orders.dot
SELECT migration_split.boundary_graph('DOT', 'table', 'orders');
\o
\! dot -Tsvg results/boundary_graph_orders.dot -o results/boundary_graph_orders.svg && echo "dot accepts the table graph of orders"
\o results/boundary_graph_domains.dot
SELECT migration_split.boundary_graph();
\o
\! dot -Tsvg results/boundary_graph_domains.dot -o results/boundary_graph_domains.svg && echo "dot accepts the domain graph"
DROP TABLE unowned_c;
\pset format aligned
\pset tuples_only off

-- a domain node's tables and size are domain_summary's (one estimate from
-- pg_class, shared by the graph, the summary and the plan), after the
-- tables grew and were analyzed
INSERT INTO accounts_user SELECT generate_series(1, 5000);
ANALYZE accounts_user;
SELECT s.domain, g.m[1] = s.tables::text AS same_tables,
	   g.m[2] = s.total_size_pretty AS same_size, s.total_size > 16384 AS grew
  FROM migration_split.domain_summary s
  LEFT JOIN LATERAL regexp_matches(migration_split.boundary_graph(),
			 '"' || s.domain || '" \[label="[a-z_]+\\n([0-9]+) tables?, ([^"]+)"\]') AS g(m) ON true
 ORDER BY s.domain;
SELECT (SELECT total_size_pretty FROM migration_split.domain_summary WHERE domain = 'accounts') =
	   substring(detail FROM '^[0-9]+ tables?, ([^,]+),') AS plan_size_same
  FROM migration_split.extraction_plan('accounts') WHERE kind = 'readiness' AND step = 3;
TRUNCATE accounts_user CASCADE;

-- an empty catalog gives an empty but valid graph
BEGIN;
DELETE FROM migration_split.ownership;
SELECT migration_split.boundary_graph('dot', 'table') AS dot,
	   migration_split.boundary_graph('mermaid', 'table') AS mermaid;
SELECT migration_split.boundary_graph('dot', 'table', 'orders') AS dot,
	   migration_split.boundary_graph('mermaid', 'domain', 'orders') AS mermaid;
ROLLBACK;

-- bad formats
\set SHOW_CONTEXT never
SELECT migration_split.boundary_graph('svg');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.boundary_graph(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.boundary_graph('dot', 'tables');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.boundary_graph('dot', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.boundary_graph('dot', 'table', 'shipping');
\echo :LAST_ERROR_SQLSTATE
SELECT migration_split.boundary_graph('mermaid', 'domain', 'Orders');
\echo :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

-- callable by everyone, independent of the caller's search_path
CREATE ROLE regress_graph_reader;
SET ROLE regress_graph_reader;
SET search_path = pg_temp;
SELECT length(migration_split.boundary_graph()) > 0 AS drawn;
RESET search_path;
RESET ROLE;
DROP ROLE regress_graph_reader;

DROP VIEW order_users;
DROP TABLE orders_item, orders_order, "tag#<b>", "back\slash",
	"My Schema"."we""ird name", accounts_user, unowned_b, unowned_a;
DROP SCHEMA "My Schema";
DELETE FROM migration_split.ownership;
DELETE FROM migration_split.domains;
