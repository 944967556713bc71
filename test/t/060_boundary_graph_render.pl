# boundary_graph() at real sizes: on a generated schema shaped like a
# Django monolith (18 apps, about 190 tables, foreign keys inside every app
# and about 160 across apps in both directions, views over several apps,
# unowned tables), every level and format, for all domains and for each
# one, renders: Graphviz "dot" lays out every DOT graph without an error or
# warning (1.0's table graph failed with "trouble in init_rank"), and every
# Mermaid flowchart keeps to its grammar.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use GraphCheck;

ok(system('command -v dot >/dev/null') == 0, 'Graphviz dot is installed (test/install-deps.sh)')
  or BAIL_OUT('dot is needed');

my $node = PostgreSQL::Test::Cluster->new('graphs');
$node->init;
$node->append_conf('postgresql.conf', "max_locks_per_transaction = 256\n");
$node->start;
$node->safe_psql('postgres', <<'SQL');
SELECT setseed(0.14);
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain)
SELECT 'app' || lpad(a::text, 2, '0') FROM generate_series(1, 18) a;
DO $$
BEGIN
	FOR a IN 1..18 LOOP
		FOR t IN 1..(6 + a % 9) LOOP
			EXECUTE format('CREATE TABLE app%s_model%s (id bigserial PRIMARY KEY, a bigint, b bigint, c bigint, name text)',
						   lpad(a::text, 2, '0'), t);
			INSERT INTO migration_split.ownership (rel, domain)
			VALUES (format('app%s_model%s', lpad(a::text, 2, '0'), t)::regclass, 'app' || lpad(a::text, 2, '0'));
		END LOOP;
	END LOOP;
END
$$;
CREATE TABLE django_migrations (id serial PRIMARY KEY, app text);
CREATE TABLE legacy_audit (id serial PRIMARY KEY, user_id bigint REFERENCES app01_model1,
	order_id bigint REFERENCES app02_model1);
-- one foreign key inside each table's app; most tables also one to another app
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT c.relname, o.domain FROM migration_split.ownership o
			   JOIN pg_class c ON c.oid = o.rel ORDER BY 1 LOOP
		EXECUTE format('ALTER TABLE %I ADD FOREIGN KEY (a) REFERENCES %I', r.relname,
					   (SELECT c.relname FROM migration_split.ownership o JOIN pg_class c ON c.oid = o.rel
						 WHERE o.domain = r.domain ORDER BY random() LIMIT 1));
		IF random() < 0.85 THEN
			EXECUTE format('ALTER TABLE %I ADD FOREIGN KEY (b) REFERENCES %I', r.relname,
						   (SELECT c.relname FROM migration_split.ownership o JOIN pg_class c ON c.oid = o.rel
							 WHERE o.domain <> r.domain ORDER BY random() LIMIT 1));
		END IF;
	END LOOP;
END
$$;
CREATE VIEW report_orders AS SELECT x.id, y.name FROM app02_model1 x JOIN app01_model1 y ON y.id = x.b;
CREATE VIEW report_stock AS SELECT x.id FROM app03_model2 x, app05_model1 y, app07_model3 z;
SQL

my $tables = $node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.ownership');
my $cross = $node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.cross_domain_foreign_keys');
cmp_ok($tables, '>=', 180, "the schema has $tables tagged tables");
cmp_ok($cross, '>=', 140, "and $cross cross-domain foreign keys");
my $both_ways = $node->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT DISTINCT from_domain, to_domain FROM migration_split.cross_domain_foreign_keys) a
	 WHERE EXISTS (SELECT FROM migration_split.cross_domain_foreign_keys b
					WHERE b.from_domain = a.to_domain AND b.to_domain = a.from_domain)});
cmp_ok($both_ways, '>=', 10, "$both_ways ordered domain pairs have foreign keys in both directions");

my @domains = split /\n/, $node->safe_psql('postgres',
	'SELECT domain FROM migration_split.domains ORDER BY domain');

sub graph
{
	my ($format, $level, $domain) = @_;
	my $d = defined $domain ? "'$domain'" : 'NULL';
	return $node->safe_psql('postgres',
		"SELECT migration_split.boundary_graph('$format', '$level', $d)") . "\n";
}

for my $level ('domain', 'table')
{
	for my $domain (undef, @domains)
	{
		my $what = "$level graph of " . ($domain // 'all domains');
		my ($ok, $err) = dot_renders(graph('dot', $level, $domain));
		ok($ok, "dot renders the $what") or diag($err);
		my @problems = mermaid_problems(graph('mermaid', $level, $domain));
		is_deeply(\@problems, [], "the Mermaid $what is valid");
	}
}

# what the domain graph holds: one node per domain and the unowned node,
# one edge per direction between domains with foreign keys both ways
my $dot = graph('dot', 'domain');
my @nodes = $dot =~ /^\t("[^"]+") \[/mg;
is(scalar(@nodes), 19, 'the domain graph has 18 domains and the unowned node');
my %edge;
$edge{"$1>$2"}++ while $dot =~ /^\t"([^"]+)" -> "([^"]+)" \[label="[^"]*foreign key/mg;
my @pairs = grep { /^(.*)>(.*)$/ && $edge{"$2>$1"} } keys %edge;
is(scalar(@pairs), $both_ways, 'one edge per direction between domains with foreign keys both ways');
ok(!grep({ $_ > 1 } values %edge), 'never two edges for one direction');
like($dot, qr/"\(unowned\)" -> "app01" \[label="1 foreign key"/, 'the unowned table legacy_audit is the unowned node');

# the table graph of one domain: its tables and their direct neighbours
my $app05 = graph('dot', 'table', 'app05');
my ($cluster) = $app05 =~ /subgraph "cluster_app05" \{\n(.*?)\n\t\}/s;
my $own = () = $cluster =~ /^\t\t"public\.app05_/mg;
is($own, 11, 'the table graph of app05 holds its 11 tables');
my @foreign = $app05 =~ /^\t\t"(public\.app(?!05)\d\d_model\d+)"/mg;
my @lonely = grep {
	my $t = $_;
	$app05 !~ /"\Q$t\E" -> "public\.app05_/ && $app05 !~ /"public\.app05_model\d+" -> "\Q$t\E"/
} @foreign;
ok(@foreign > 0, 'and tables of other domains');
is_deeply(\@lonely, [], 'each of them tied to a table of app05');

done_testing();
