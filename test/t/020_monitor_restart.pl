# The runtime monitor's statistics survive a clean restart (saved to
# pg_stat/migration_split.stat), are not saved with migration_split.save =
# off, and do not come back after a crash.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('monitor_restart');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'migration_split'
restart_after_crash = on
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('a'), ('b');
CREATE TABLE ta (id int);
CREATE TABLE tb (id int);
INSERT INTO migration_split.ownership VALUES ('ta', 'a'), ('tb', 'b');
});
# compute_query_id = auto and no other module: the monitor computes the
# query id itself for statements that may cross domains (views, sublinks,
# several domains) and leaves the others alone
$node->safe_psql('postgres', q{
CREATE VIEW v AS SELECT ta.id FROM ta JOIN tb USING (id);
CREATE TABLE tc (id int);
});
$node->safe_psql('postgres', 'SELECT count(*) FROM v WHERE id = 5');
$node->safe_psql('postgres', 'SELECT count(*) FROM ta WHERE id IN (SELECT id FROM tb WHERE id > 5)');
$node->safe_psql('postgres', 'SELECT count(*) FROM ta JOIN tc USING (id)');
is($node->safe_psql('postgres', q{SELECT string_agg(query, E'\n' ORDER BY query) FROM migration_split.cross_domain_queries WHERE query NOT LIKE '%ta.id > %'}),
	"SELECT count(*) FROM ta WHERE id IN (SELECT id FROM tb WHERE id > \$1)\nSELECT count(*) FROM v WHERE id = \$1",
	'query ids computed for crossing statements under compute_query_id = auto');
is($node->safe_psql('postgres', q{SHOW compute_query_id}), 'auto', 'compute_query_id is auto');
$node->safe_psql('postgres', q{DROP VIEW v; SELECT migration_split.reset()});
$node->safe_psql('postgres', 'SELECT count(*) FROM ta JOIN tb USING (id) WHERE ta.id > 1') for 1 .. 3;
$node->safe_psql('postgres', q{
BEGIN; INSERT INTO ta VALUES (1); INSERT INTO tb VALUES (1); COMMIT;
SET migration_split.service = 'a'; SET migration_split.enforce = 'warn';
SELECT count(*) FROM tb;
});

my $queries = q{SELECT domains, calls, query FROM migration_split.cross_domain_queries};
my $xacts = q{SELECT domains, count FROM migration_split.cross_domain_transactions};
my $violations = q{SELECT domain FROM migration_split.domain_runtime_stats() WHERE last_violation IS NOT NULL ORDER BY 1};
my $expected_q = '{a,b}|3|SELECT count(*) FROM ta JOIN tb USING (id) WHERE ta.id > $1';

is($node->safe_psql('postgres', $queries), $expected_q, 'statement recorded');
is($node->safe_psql('postgres', $xacts), '{a,b}|1', 'transaction recorded');
is($node->safe_psql('postgres', $violations), "a\nb", 'violation recorded');

$node->restart;
is($node->safe_psql('postgres', $queries), $expected_q, 'statement kept across restart');
is($node->safe_psql('postgres', $xacts), '{a,b}|1', 'transaction kept across restart');
is($node->safe_psql('postgres', $violations), "a\nb", 'violation kept across restart');
ok(!-e $node->data_dir . '/pg_stat/migration_split.stat', 'stats file removed after loading');

# counting goes on from the restored numbers
$node->safe_psql('postgres', 'SELECT count(*) FROM ta JOIN tb USING (id) WHERE ta.id > 7');
is($node->safe_psql('postgres', 'SELECT calls FROM migration_split.cross_domain_queries'),
	'4', 'restored entry keeps counting');

# immediate shutdown still saves (the postmaster exits normally)
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT calls FROM migration_split.cross_domain_queries'),
	'4', 'saved at immediate shutdown');

# a crash (a child killed) reinitializes shared memory: the numbers since
# the last start are lost, and the file was removed when it was loaded
my $pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'});
kill 'KILL', $pid;
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'server did not restart after the crash';
is($node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.cross_domain_queries'),
	'0', 'nothing restored after a crash');

# migration_split.save = off: nothing saved at shutdown
$node->safe_psql('postgres', 'SELECT count(*) FROM ta JOIN tb USING (id)');
$node->append_conf('postgresql.conf', 'migration_split.save = off');
$node->reload;
$node->restart;
is($node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.cross_domain_queries'),
	'0', 'nothing saved with migration_split.save = off');

# a smaller max_query_text after restart truncates the saved texts
$node->safe_psql('postgres', 'SELECT count(*) FROM ta JOIN tb USING (id) WHERE tb.id < 100 AND ta.id > 5 AND ta.id <> 17');
$node->append_conf('postgresql.conf', "migration_split.save = on");
$node->reload;
$node->restart;
is($node->safe_psql('postgres', 'SELECT length(query) FROM migration_split.cross_domain_queries'),
	'90', 'saved again with migration_split.save = on');
$node->append_conf('postgresql.conf', "migration_split.max_query_text = 64");
$node->restart;
is($node->safe_psql('postgres', 'SELECT length(query) FROM migration_split.cross_domain_queries'),
	'63', 'text clipped to the new max_query_text');

# a damaged statistics file is reported and ignored, never trusted: here the
# domain count of the first saved statement claims 200 domains
$node->stop;
my $statfile = $node->data_dir . '/pg_stat/migration_split.stat';
open(my $fh, '+<:raw', $statfile) or die "could not open $statfile: $!";
read($fh, my $head, 12) == 12 or die 'short statistics file';
my $ndomains = unpack('l', substr($head, 8, 4));
my $first_entry = 12 + 64 * ($ndomains + 1) + 8 + 8 + 4;
# offset of the domain count of its key (MsQueryKey.domains.count)
seek($fh, $first_entry + 16, 0) or die;
print $fh pack('l', 200);
close($fh);
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM migration_split.cross_domain_queries'),
	'0', 'damaged statistics file ignored');
like(slurp_file($node->logfile), qr/ignoring invalid data in file/,
	'damaged statistics file reported in the log');

# an invalid migration_split.service (README: Enforcement) is refused in a
# connection's options, and ignored in postgresql.conf with a WARNING at
# start (a LOG line at a reload): the server runs with no service
$node->connect_fails($node->connstr('postgres') . " options='-c migration_split.service=Orders'",
	'options with an invalid service: connection refused',
	expected_stderr => qr/FATAL:  invalid value for parameter "migration_split.service": "Orders"/);
my $log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "migration_split.service = 'Orders'");
$node->restart;
like(substr(slurp_file($node->logfile), $log_offset),
	qr/WARNING:  invalid value for parameter "migration_split.service": "Orders"/,
	'postgresql.conf with an invalid service: WARNING at start');
is($node->safe_psql('postgres', 'SHOW migration_split.service'), '',
	'postgresql.conf with an invalid service: no service');
$log_offset = -s $node->logfile;
$node->reload;
ok($node->wait_for_log(qr/LOG:  invalid value for parameter "migration_split.service": "Orders"/, $log_offset),
	'postgresql.conf with an invalid service: LOG at a reload');
is($node->safe_psql('postgres', 'SHOW migration_split.service'), '',
	'postgresql.conf with an invalid service: still no service after a reload');

$node->stop;
done_testing();
