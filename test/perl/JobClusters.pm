# Clusters for the replication job's TAP tests: a source that can decode
# with the migration_split output plugin, and a plain target.
package JobClusters;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

our @EXPORT = qw(source_and_target plugin_libraries_conf orders_job lock_table_for
  start_stream run_verify run_migration_split table_rows one_table_domain);

# The postgresql.conf line allowing the given output plugins, or "" when the
# server (postgres on PATH, as in every TAP run) does not know the setting
# output_plugin_libraries: only recent 15 minor releases (15.20) have it, and
# a server whose configuration sets an unknown setting refuses to start.  As
# test/plugin-libraries-conf.sh does for the other test configurations.
sub plugin_libraries_conf
{
	my (@plugins) = @_;
	my $described = `postgres --describe-config 2>/dev/null`;
	die "postgres --describe-config failed" if $? != 0;
	return '' unless $described =~ /^output_plugin_libraries\t/m;
	return "output_plugin_libraries = '" . join(', ', @plugins) . "'\n";
}

# On src: the extension and domain orders with one table orders_t (id int
# PRIMARY KEY, v text) holding the given rows ("(1, 'a'), ..."); returns
# the --source, --target and --domain arguments of a job for it.
sub one_table_domain
{
	my ($src, $tgt, $rows) = @_;
	$src->safe_psql('postgres', qq{
CREATE EXTENSION migration_split;
SELECT migration_split.create_domain('orders');
CREATE TABLE orders_t (id int PRIMARY KEY, v text);
SELECT migration_split.assign_table('orders_t', 'orders');
INSERT INTO orders_t VALUES $rows;
});
	return ('--source', $src->connstr('postgres'), '--target', $tgt->connstr('postgres'),
		'--domain', 'orders');
}

# Run migration-split with the given arguments; returns its exit code,
# stdout and stderr.
sub run_migration_split
{
	my ($stdout, $stderr) = ('', '');
	PostgreSQL::Test::Utils::run_log([ 'migration-split', @_ ], '>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stdout, $stderr);
}

# Every row of a table of node's database postgres as text, sorted, ';'
# between rows ('-' for none).
sub table_rows
{
	my ($node, $table) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(t::text, ';' ORDER BY t::text), '-') FROM $table t");
}

# Start a source (wal_level = logical, the plugin allowed, plus any extra
# postgresql.conf lines given) and a target (the same with target_logical
# => 1); return both nodes.
sub source_and_target
{
	my (%opts) = @_;
	my $src = PostgreSQL::Test::Cluster->new('source');
	$src->init(allows_streaming => 'logical');
	$src->append_conf('postgresql.conf',
		plugin_libraries_conf('pgoutput', 'test_decoding', 'migration_split')
		  . ($opts{source_conf} // ''));
	$src->start;
	my $tgt = PostgreSQL::Test::Cluster->new('target');
	if ($opts{target_logical})
	{
		# the service of a reverse stream (rollback) decodes too
		$tgt->init(allows_streaming => 'logical');
		$tgt->append_conf('postgresql.conf',
			plugin_libraries_conf('pgoutput', 'test_decoding', 'migration_split'));
	}
	else
	{
		$tgt->init;
	}
	$tgt->start;
	return ($src, $tgt);
}

# A session of node's database "postgres" holding an ACCESS EXCLUSIVE lock
# on table for seconds, in the background: returns its IPC::Run handle once
# the lock is granted.
sub lock_table_for
{
	my ($node, $table, $seconds) = @_;
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c',
		  "BEGIN; LOCK TABLE $table IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($seconds); COMMIT;" ],
		'>', '/dev/null', '2>', '/dev/null');
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = '$table'::regclass AND granted")
	  or die "no lock on $table";
	return $h;
}

# A stream of the job in the background (batches of 50 ms), its output
# appended to stream.log in the source's directory: returns the IPC::Run
# handle and the log's path.
sub start_stream
{
	my ($src, @common) = @_;
	my $log = $src->basedir . '/stream.log';
	my $h = IPC::Run::start([ 'migration-split', 'stream', @common, '--batch-time', '50' ],
		'>>', $log, '2>>', $log);
	return ($h, $log);
}

# migration-split verify with the job's options (an array reference) and
# more arguments, waiting at most 120 s for the stream's hold: returns the
# exit code, standard output and standard error.
sub run_verify
{
	my ($common, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'migration-split', 'verify', @$common, '--no-progress', '--timeout', '120', @args ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# The fixture of the cutover and rollback tests (060_cutover, 064_rollback):
# a monolith with domains "orders" (orders: identity key, order_line:
# serial key, 100 rows each) and "customers" (customer, 10 rows), a
# service that decodes too (for the reverse stream), and "orders"
# initialised by migration-split init (one test assertion).  Returns a
# JobClusters::OrdersJob: src, tgt, their connection strings S and T, and
# the helpers below.
sub orders_job
{
	my ($src, $tgt) = source_and_target(target_logical => 1);
	my $job = bless {
		src => $src,
		tgt => $tgt,
		S => $src->connstr('postgres'),
		T => $tgt->connstr('postgres'),
	}, 'JobClusters::OrdersJob';
	$job->{common} = [ '--source', $job->{S}, '--target', $job->{T}, '--domain', 'orders' ];

	$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TABLE customer (id int PRIMARY KEY, name text);
CREATE TABLE orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	client int NOT NULL, customer_id int, note text);
CREATE TABLE order_line (id serial PRIMARY KEY, order_id bigint, qty int);
INSERT INTO customer SELECT i, 'c' || i FROM generate_series(1, 10) i;
INSERT INTO orders (client, customer_id, note) SELECT 0, 1 + i % 10, 'seed' FROM generate_series(1, 100) i;
INSERT INTO order_line (order_id, qty) SELECT i, i FROM generate_series(1, 100) i;
SELECT migration_split.create_domain('orders');
SELECT migration_split.create_domain('customers');
SELECT migration_split.assign_table('orders', 'orders');
SELECT migration_split.assign_table('order_line', 'orders');
SELECT migration_split.assign_table('customer', 'customers');
});
	ok(run_log([ 'migration-split', 'init', $job->common ]), 'init');
	return $job;
}

package JobClusters::OrdersJob;

use strict;
use warnings;
use Test::More;
use IPC::Run;

# --source, --target and --domain orders
sub common
{
	my ($self) = @_;
	return @{ $self->{common} };
}

# run a subcommand of migration-split for domain orders (more arguments
# may override them); returns its exit code, stdout and stderr
sub run_job
{
	my ($self, $cmd, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'migration-split', $cmd, $self->common, @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# a run killed at a crash point (see job_crash_point() in rollback.c);
# returns the wait status
sub run_crashing
{
	my ($self, $point, $cmd, @args) = @_;
	local $ENV{MIGRATION_SPLIT_CRASH_AT} = $point;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'migration-split', $cmd, $self->common, @args ], '>', \$out, '2>', \$err);
	return $?;
}

# the lifecycle state of a domain (default orders) in node's database
sub lifecycle
{
	my ($self, $node, $domain) = @_;
	$domain //= 'orders';
	return $node->safe_psql('postgres',
		"SELECT state FROM migration_split.domain_lifecycle WHERE domain = '$domain'");
}

# the forward stream run until caught up (one assertion)
sub stream_until_caught_up
{
	my ($self) = @_;
	my ($rc, $out, $err) = $self->run_job('stream', '--until-caught-up', '--status-interval', '0');
	is($rc, 0, 'the forward stream catches up') or diag($err);
}

# the monolith's table t of the domain, wherever the read path put it
sub mono_table
{
	my ($self, $t) = @_;
	return $self->{src}->safe_psql('postgres',
		"SELECT c.oid::regclass FROM migration_split.ownership o JOIN pg_class c ON c.oid = o.rel
		  WHERE o.domain = 'orders' AND c.relname = '$t' AND c.relkind IN ('r', 'p')");
}

# every row of the two tables of orders, as one digest per side
sub rows_digest
{
	my ($self, $node, $orders, $lines) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) || ' ' || md5(string_agg(format('%s|%s|%s|%s', id, client, customer_id, note), ',' ORDER BY id)) FROM $orders)
		    || ' / ' ||
		       (SELECT count(*) || ' ' || md5(string_agg(format('%s|%s|%s', id, order_id, qty), ',' ORDER BY id)) FROM $lines)});
}

# the monolith and the service hold the same rows of orders (one assertion)
sub both_equal
{
	my ($self, $what) = @_;
	my $m = $self->rows_digest($self->{src}, $self->mono_table('orders'), $self->mono_table('order_line'));
	my $s = $self->rows_digest($self->{tgt}, 'orders.orders', 'orders.order_line');
	is($m, $s, $what);
}

1;
