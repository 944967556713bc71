# migration-split report: the HTML page is well-formed (strict XML parse),
# self-contained (no script, no external reference, no broken link), has a
# section for every domain with its own graph, escapes hostile names and
# query texts, shows query texts only where the connecting role may read
# them, works for a role without superuser rights, and ends with the
# documented exit codes.  The Markdown report carries the same facts.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('report');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migration_split'\ncompute_query_id = on\n");
$node->start;
$node->safe_psql('postgres', <<'SQL');
CREATE EXTENSION migration_split;
CREATE ROLE reporter LOGIN;
CREATE ROLE app LOGIN;
INSERT INTO migration_split.domains (domain, description) VALUES
	('accounts', 'Customers & <b>logins</b>'), ('orders', NULL), ('lonely', 'No ties at all');
CREATE TABLE accounts_user (id int PRIMARY KEY, name text);
CREATE TABLE "<script>alert(1)</script>" (id int PRIMARY KEY, user_id int REFERENCES accounts_user);
CREATE TABLE orders_order (id int PRIMARY KEY, user_id int REFERENCES accounts_user);
CREATE TABLE lonely_thing (id int PRIMARY KEY);
CREATE TABLE "~~struck~~ *em*" (id int PRIMARY KEY);
CREATE TABLE U&"non\FFFFchar" (id int PRIMARY KEY);
CREATE TABLE unowned_log (id int, order_id int REFERENCES orders_order);
CREATE VIEW order_users AS SELECT o.id, u.name FROM orders_order o JOIN accounts_user u ON u.id = o.user_id;
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('accounts_user', 'accounts'), ('"<script>alert(1)</script>"', 'orders'),
	('orders_order', 'orders'), ('lonely_thing', 'lonely'), ('"~~struck~~ *em*"', 'lonely'),
	(U&'"non\FFFFchar"', 'lonely');
GRANT SELECT ON ALL TABLES IN SCHEMA public TO app;
SQL
# runtime crossings: one by the superuser with a hostile text, one by app
$node->safe_psql('postgres', q{SELECT o.id AS "</pre><script>evil()</script>" FROM orders_order o JOIN accounts_user u ON u.id = o.user_id});
$node->safe_psql('postgres', q{SET ROLE app; SELECT count(*) AS app_secret_query FROM order_users});
# a transaction writing both domains (each statement writes one)
$node->safe_psql('postgres', q{BEGIN; INSERT INTO accounts_user VALUES (1, 'a'); INSERT INTO orders_order VALUES (1, 1); COMMIT;});

my $dir = PostgreSQL::Test::Utils::tempdir;
my $connstr = $node->connstr('postgres');

sub report
{
	my ($stdout, $stderr) = ('', '');
	run_log([ 'migration-split', 'report', @_ ], '>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stdout, $stderr);
}

sub check_html
{
	my ($file) = @_;
	my $json = '';
	run_log([ 'python3', 'test/report_check.py', $file ], '>', \$json) or return undef;
	return decode_json($json);
}

sub slurp { my ($f) = @_; open my $fh, '<', $f or die "$f: $!"; local $/; return <$fh>; }

# as a role without superuser rights (nothing granted but LOGIN)
my ($rc, $out, $err) = report('--source', "$connstr user=reporter", '--html', "$dir/r.html",
	'--markdown', "$dir/r.md");
is($rc, 0, 'report as a role without superuser rights exits 0') or diag($err);
like($err, qr/wrote \Q$dir\E\/r\.html/, 'it says where the HTML report is');
my $html = slurp("$dir/r.html");
my $c = check_html("$dir/r.html");
ok($c, 'the HTML report is well-formed XML (strict parser)');
is_deeply($c->{domain_sections}, [qw(accounts lonely orders)], 'a section for every domain');
is($c->{svgs}, 4, 'the domain graph and one graph per domain section, as inline SVG');
is($c->{scripts}, 0, 'no script element');
is_deeply($c->{external}, [], 'no external reference, no event handler');
is_deeply($c->{broken_links}, [], 'every link points to a section of the page');
ok((grep { $_ eq 'overview' } @{ $c->{ids} }) && (grep { $_ eq 'runtime' } @{ $c->{ids} }),
	'overview and runtime sections');

# escaping: hostile table name, description and query text are text, not markup
unlike($html, qr/<script/i, 'no <script anywhere in the markup');
like($html, qr/public\.&quot;&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;/, 'the hostile table name is escaped');
# U+FFFF is no XML character (a PostgreSQL name may hold it): shown as U+FFFD
like($html, qr/public\.&quot;non\x{ef}\x{bf}\x{bd}char&quot;/, 'a name with U+FFFF shows U+FFFD in its place');
like($c->{text}, qr/public\."<script>alert\(1\)<\/script>"/, 'and reads as its name');
like($html, qr/Customers &amp; &lt;b&gt;logins&lt;\/b&gt;/, 'the domain description is escaped');

# the graph: accounts <- orders (2 foreign keys), unowned -> orders, the view of both
like($html, qr/<title>orders \x{e2}\x{86}\x{92} accounts: 2 foreign keys<\/title>/, 'edge orders -> accounts with its label');
like($html, qr/<title>\(unowned\) \x{e2}\x{86}\x{92} orders: 1 foreign key<\/title>/, 'edge from the unowned table');
like($html, qr/<title>accounts \x{e2}\x{80}\x{94} orders: 1 view of both\n2 queries \(2 calls\)\n1 write transaction<\/title>/,
	'undirected edge: the view of both, the runtime queries and the write transaction');
like($c->{text}, qr/2 foreign keys to it/, 'crossings out by kind');
like($c->{text}, qr/2 foreign keys from it/, 'crossings in by kind');

# runtime: the reporter sees the statements but not other roles' texts
like($c->{text}, qr/statement of another role: text not shown/, 'other roles\' texts hidden');
unlike($html, qr/app_secret_query|evil\(\)/, 'no text of another role\'s statement');

# as a superuser the texts are shown, escaped
($rc, $out, $err) = report('--source', $connstr, '--html', "$dir/s.html");
is($rc, 0, 'report as superuser exits 0') or diag($err);
$html = slurp("$dir/s.html");
$c = check_html("$dir/s.html");
ok($c, 'well-formed with query texts');
like($c->{text}, qr/<\/pre><script>evil\(\)<\/script>/, 'the superuser sees the hostile query text as text');
like($html, qr/&lt;\/pre&gt;&lt;script&gt;evil\(\)&lt;\/script&gt;/, 'escaped in the markup');
like($html, qr/app_secret_query/, 'and the app role\'s statement');

# one domain: its section, its neighbours in the graph
($rc, $out, $err) = report('--source', $connstr, '--domain', 'orders', '--html', '-');
is($rc, 0, '--domain orders --html - exits 0');
open my $fh, '>', "$dir/o.html" or die;
print $fh $out;
close $fh;
$c = check_html("$dir/o.html");
is_deeply($c->{domain_sections}, ['orders'], '--domain: only that domain\'s section');
like($out, qr/<title>orders \x{e2}\x{86}\x{92} accounts: 2 foreign keys<\/title>/, 'with its edges to its neighbours');
unlike($out, qr/lonely/, 'and nothing of unrelated domains');

# Markdown
my $md = slurp("$dir/r.md");
like($md, qr/^# Boundary report of database postgres$/m, 'Markdown title');
like($md, qr/^\| \[accounts\]\(#domain-accounts\) \| 1 \|/m, 'Markdown overview row');
like($md, qr/^```mermaid\nflowchart LR\n/m, 'Markdown graph as Mermaid');
like($md, qr/^<a id="domain-lonely"><\/a>\n\n## Domain lonely$/m, 'a Markdown section per domain');
like($md, qr/public\."&lt;script&gt;alert\(1\)&lt;\/script&gt;"/, 'hostile names escaped in Markdown');
unlike($md, qr/<script/i, 'no <script in the Markdown');
like($md, qr/^\| public\."\\~\\~struck\\~\\~ \\\*em\\\*" \|/m,
	'no strikethrough or emphasis from a name in Markdown');

# the optional parts, when the installed version has them: lifecycle
# states, extraction plans and generic relations (made here with the shapes
# the other parts of the extension promise, unless they exist already)
my $fakes = $node->safe_psql('postgres', q{
	SELECT to_regclass('migration_split.domain_lifecycle') IS NULL
	   AND to_regprocedure('migration_split.extraction_plan(text,text)') IS NULL
	   AND to_regclass('migration_split.cross_domain_generic_relations') IS NULL});
if ($fakes eq 't')
{
	$node->safe_psql('postgres', q{
		CREATE VIEW migration_split.domain_lifecycle AS
		SELECT d.domain, CASE d.domain WHEN 'orders' THEN 'streaming' ELSE 'monolith' END AS state,
			   '2026-01-02 03:04:05+00'::timestamptz AS changed_at, 'postgres'::name AS changed_by,
			   NULL::pg_lsn AS source_lsn, NULL::text AS service
		  FROM migration_split.domains d;
		CREATE FUNCTION migration_split.extraction_plan(domain text, format text DEFAULT 'table')
		RETURNS TABLE (step int, kind text, object text, action text, detail text)
		LANGUAGE sql AS $$
			SELECT 1, 'foreign key', 'orders_order_user_id_fkey', 'replace',
				   'call the <accounts> API & drop it' WHERE domain = 'orders'
		$$;
		CREATE VIEW migration_split.cross_domain_generic_relations AS
		SELECT 'orders_order'::regclass AS from_table, 'orders'::text AS from_domain,
			   'content_type_id'::text AS type_column, 'object_id'::text AS id_column,
			   'accounts_user'::regclass AS to_table, 'accounts'::text AS to_domain, 7::bigint AS rows;
		GRANT SELECT ON migration_split.domain_lifecycle, migration_split.cross_domain_generic_relations TO PUBLIC;
	});
	($rc, $out, $err) = report('--source', "$connstr user=reporter", '--html', "$dir/p.html", '--markdown', "$dir/p.md");
	is($rc, 0, 'report with lifecycle, plans and generic relations exits 0') or diag($err);
	$html = slurp("$dir/p.html");
	$c = check_html("$dir/p.html");
	ok($c, 'still well-formed');
	like($html, qr/<th>lifecycle state<\/th><td>streaming \(since 2026-01-02 03:04:05\+00\)<\/td>/,
		'the lifecycle state of orders');
	like($html, qr/<th>lifecycle<\/th>/, 'a lifecycle column in the overview');
	like($html, qr/<td>orders_order_user_id_fkey<\/td><td>replace<\/td><td>call the &lt;accounts&gt; API &amp; drop it<\/td>/,
		'the extraction plan of orders, escaped');
	like($html, qr/<title>orders \x{e2}\x{86}\x{92} accounts: 2 foreign keys\n1 generic relation<\/title>/,
		'generic relations are counted on the edge');
	like(slurp("$dir/p.md"), qr/^\| 1 \| foreign key \| orders\\_order\\_user\\_id\\_fkey \| replace \| call the &lt;accounts&gt; API &amp; drop it \|$/m,
		'the extraction plan in Markdown');
	like($node->safe_psql('postgres', "SELECT migration_split.boundary_graph('dot')"),
		qr/"orders" -> "accounts" \[label="2 foreign keys\\n1 generic relation"/, 'and in boundary_graph()');
	$node->safe_psql('postgres', q{
		DROP VIEW migration_split.domain_lifecycle, migration_split.cross_domain_generic_relations;
		DROP FUNCTION migration_split.extraction_plan(text, text);
	});
}
else
{
	note('lifecycle, extraction plan or generic relations exist in this version: the fakes are not needed');
	($rc, $out, $err) = report('--source', "$connstr user=reporter", '--html', "$dir/p.html");
	is($rc, 0, 'report with the installed optional parts exits 0') or diag($err);
	ok(check_html("$dir/p.html"), 'still well-formed');
}

# a LATIN1 database: the page is UTF-8 like its charset says
$node->safe_psql('postgres', q{CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0});
$node->safe_psql('latin', qq{
	CREATE EXTENSION migration_split;
	INSERT INTO migration_split.domains (domain) VALUES ('cafe');
	CREATE TABLE "caf\x{e9}" (id int);
	INSERT INTO migration_split.ownership (rel, domain) VALUES ('"caf\x{e9}"', 'cafe');
});
($rc, $out, $err) = report('--source', $node->connstr('latin'), '--html', "$dir/l.html");
is($rc, 0, 'report of a LATIN1 database exits 0') or diag($err);
{
	open my $lf, '<:raw', "$dir/l.html" or die;
	local $/;
	my $bytes = <$lf>;
	like($bytes, qr/<td>public\.&quot;caf\xc3\xa9&quot;<\/td>/, 'the table name is written in UTF-8');
}

# exit codes
($rc, $out, $err) = report('--source', $connstr, '--domain', 'shipping', '--html', "$dir/x.html");
is($rc, 3, 'unknown domain: exit 3');
like($err, qr/domain "shipping" does not exist/, 'unknown domain: message');
($rc, $out, $err) = report('--source', $connstr);
is($rc, 1, 'no output file: exit 1');
like($err, qr/no output file specified/, 'no output file: message');
($rc, $out, $err) = report('--source', $connstr, '--html', "$dir/x.html", '--target', $connstr);
is($rc, 1, '--target with report: exit 1');
($rc, $out, $err) = report('--html', "$dir/x.html");
is($rc, 1, 'no source: exit 1');
($rc, $out, $err) = report('--source', $connstr, '--html', "$dir/no/such/dir/x.html");
is($rc, 1, 'unwritable file: exit 1');
like($err, qr/could not open file ".*x\.html" for writing/, 'unwritable file: message');
$node->safe_psql('postgres', 'CREATE DATABASE plain');
($rc, $out, $err) = report('--source', $node->connstr('plain'), '--html', "$dir/x.html");
is($rc, 3, 'extension not installed: exit 3');
like($err, qr/extension migration_split is not installed in database "plain"/, 'extension not installed: message');
my $port = PostgreSQL::Test::Cluster::get_free_port();
($rc, $out, $err) = report('--source', "host=127.0.0.1 port=$port dbname=postgres password=sekrit", '--html', "$dir/x.html");
is($rc, 2, 'unreachable source: exit 2');
unlike($err, qr/sekrit/, 'the password is not printed');
($rc, $out) = report('--help');
is($rc, 0, 'report --help exits 0');
like($out, qr/Usage:\n  migration-split report --source=CONNINFO/, 'report --help shows usage');

done_testing();
