# The HTML report of the demo shop in a real browser: headless Chromium
# (Debian package chromium, test/install-deps.sh) opens the page from a
# file with networking off, logs no console message (no error, no blocked
# resource: the page is self-contained), and its rendered DOM holds the
# domain graph and a section with its own graph for every domain.  The
# screenshot is kept as a test artefact: tmp_check/report_shop.png of the
# test run, copied to $MS_TEST_ARTEFACTS (test/run.sh: tmp_check/artefacts of
# the tree, which outlives the scratch copy).
use strict;
use warnings;
use File::Copy;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $chromium = `sh -c "command -v chromium"`;
chomp $chromium;
ok($chromium ne '', 'chromium is installed (test/install-deps.sh)') or BAIL_OUT('chromium is needed');

my $node = PostgreSQL::Test::Cluster->new('shop');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migration_split'\ncompute_query_id = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('shop'),
		'-f', 'demo/shop.sql' ], 'demo/shop.sql loads');
$node->safe_psql('shop', q{
	CREATE EXTENSION migration_split;
	SELECT migration_split.apply_suggestions();
	-- the order page of the demo: a statement of orders and inventory
	SELECT i.product_id, s.quantity FROM orders_orderitem i
	  JOIN inventory_stock s ON s.product_id = i.product_id WHERE i.order_id = 7;
});
my @domains = split /\n/, $node->safe_psql('shop', 'SELECT domain FROM migration_split.domains ORDER BY domain');
cmp_ok(scalar(@domains), '>=', 5, 'the shop has ' . scalar(@domains) . ' domains');

my $dir = PostgreSQL::Test::Utils::tempdir;
my $html = "$dir/shop.html";
$node->command_ok([ 'migration-split', 'report', '--source', $node->connstr('shop'), '--html', $html ],
	'migration-split report writes the shop report');

# Chromium as the brief of the project's tests wants it: headless, no
# sandbox (root and unprivileged alike), no GPU, no network services, a new
# empty profile.
sub chromium
{
	my (@args) = @_;
	my $profile = PostgreSQL::Test::Utils::tempdir;
	my ($out, $err) = ('', '');
	local $ENV{HOME} = $profile;
	my $ok = IPC::Run::run(
		[ $chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		  '--disable-background-networking', '--disable-component-update', '--disable-sync',
		  "--user-data-dir=$profile/profile", '--enable-logging=stderr', '--v=0',
		  @args, "file://$html" ],
		'<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(180));
	return ($ok, $out, $err);
}

my ($ok, $dom, $log) = chromium('--dump-dom');
ok($ok, 'chromium renders the page');
my @console = grep { /CONSOLE|Uncaught|Failed to load resource|net::ERR_/ } split /\n/, $log;
is_deeply(\@console, [], 'no console message, no failed resource');
like($dom, qr/<section id="graph">.*?<svg[^>]* class="graph"/s, 'the domain graph is in the DOM as SVG');
for my $d (@domains)
{
	like($dom, qr/<section class="domain" id="domain-\Q$d\E">.*?<svg[^>]* class="graph".*?<\/section>/s,
		"domain $d has its section with its own graph");
	like($dom, qr/<a href="#domain-\Q$d\E"><g class="node/, "the graph links domain $d to its section");
}
like($dom, qr/<section id="runtime">.*1 query \(1 call\)|<section id="runtime">.*inventory_stock/s,
	'the runtime section lists the order page statement');

my $shot = "$PostgreSQL::Test::Utils::tmp_check/report_shop.png";
unlink $shot;
($ok, undef, $log) = chromium('--screenshot=' . $shot, '--window-size=1280,2000', '--hide-scrollbars');
ok($ok && -s $shot > 20000, 'chromium takes a screenshot of the page') or diag($log);
open my $fh, '<:raw', $shot or die "$shot: $!";
read $fh, my $sig, 8;
close $fh;
is($sig, "\x89PNG\r\n\x1a\n", 'the screenshot is a PNG');
note("screenshot: $shot");
if ($ENV{MS_TEST_ARTEFACTS})
{
	ok(copy($shot, "$ENV{MS_TEST_ARTEFACTS}/report_shop.png"), "screenshot kept in $ENV{MS_TEST_ARTEFACTS}");
}

done_testing();
