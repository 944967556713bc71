# migration-split as a DBA runs it from a shell: the version it reports;
# option values and connection strings rejected on the command line (exit
# 1) rather than by a server (exit 8) or as unreachable (exit 2); a stream
# whose first connection fails ending with exit 2, like every other
# subcommand, instead of retrying for ever; a report of a 1.0 extension
# refused with a hint (exit 3), not a failed query (exit 8).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JobClusters;

my ($src, $tgt) = source_and_target();
my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');

# Run the job, killed after 60 s; return (exit code, stdout, stderr).
sub job
{
	my ($stdout, $stderr) = ('', '');
	my $h = IPC::Run::start([ 'migration-split', @_ ], '>', \$stdout, '2>', \$stderr,
		IPC::Run::timeout(60));
	eval { $h->finish; };
	if ($@)
	{
		$h->kill_kill;
		return (-1, $stdout, $stderr . "\n(killed after 60 s)");
	}
	return ($h->result(0), $stdout, $stderr);
}

# --- the version is the extension's ---------------------------------------
my $version = $src->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'migration_split'");
my ($rc, $out, $err) = job('--version');
is($rc, 0, '--version exits 0');
is($out, "migration-split (migration_split) $version\n", "--version names the extension's version $version");

# --- names rejected on the command line ------------------------------------
for my $case ([ 'empty --slot', [ '--slot=' ], qr/invalid replication slot name ""/ ],
	[ 'empty --target-schema', [ '--target-schema=' ], qr/invalid target schema name ""/ ],
	[ 'reserved --target-schema', [ '--target-schema=pg_orders' ],
	  qr/invalid target schema name "pg_orders"\n.*detail: The prefix "pg_" is reserved for system schemas\./s ],
	[ 'public as --target-schema', [ '--target-schema=public' ],
	  qr/invalid target schema name "public"\n.*detail: Schema "public" has another purpose.*init --drop would drop it.*\n.*hint: Give the service's tables a schema of their own/s ],
	[ 'migration_split as --target-schema', [ '--target-schema=migration_split', '--drop' ],
	  qr/invalid target schema name "migration_split"/ ])
{
	my ($name, $args, $re) = @$case;
	($rc, $out, $err) = job('init', '--source', $S, '--target', $T, '--domain', 'orders', @$args);
	is($rc, 1, "$name: exit code 1");
	like($err, $re, "$name: message");
}

# --- connection strings libpq cannot parse: a usage error, no password --
for my $case ([ 'source', '--source', 'host=x port', qr/invalid connection string for --source: missing "=" after "port" in connection info string/ ],
	[ 'target', '--target', 'bogus=1', qr/invalid connection string for --target: invalid connection option "bogus"/ ],
	[ 'URI', '--source', 'postgresql://u:sekrit@[::1/db', qr/invalid connection string for --source: end of string reached when looking for matching "\]" in IPv6 host address in URI\n/ ])
{
	my ($name, $opt, $conninfo, $re) = @$case;
	my %c = ('--source' => $S, '--target' => $T);
	$c{$opt} = $conninfo;
	for my $cmd ('init', 'status')
	{
		($rc, $out, $err) = job($cmd, '--source', $c{'--source'}, '--target', $c{'--target'}, '--domain', 'orders');
		is($rc, 1, "$cmd, invalid $name connection string: exit 1");
		like($err, qr/error: $re/, "$cmd, invalid $name connection string: message");
		unlike($err, qr/sekrit/, "$cmd, invalid $name connection string: no password");
	}
}

one_table_domain($src, $tgt, q{(1, 'a')});
($rc, $out, $err) = job('init', '--source', $S, '--target', $T, '--domain', 'orders', '--no-progress');
is($rc, 0, 'init') or diag($err);

# --- a target role that owns the target schema but may not create schemas:
# refused before anything is created (the job's state exists already)
$src->safe_psql('postgres', q{
SELECT migration_split.create_domain('small');
CREATE TABLE small_t (id int PRIMARY KEY);
SELECT migration_split.assign_table('small_t', 'small');
});
$tgt->safe_psql('postgres', q{
CREATE ROLE owner_only LOGIN;
GRANT SET ON PARAMETER session_replication_role TO owner_only;
REVOKE CREATE ON DATABASE postgres FROM PUBLIC;
CREATE SCHEMA small AUTHORIZATION owner_only;
});
($rc, $out, $err) = job('init', '--source', $S, '--target', "$T user=owner_only", '--domain', 'small', '--no-progress');
is($rc, 6, 'target role without USAGE on the job state: exit 6');
like($err, qr/^migration-split: error: permission denied for the job's state schema "migration_split_job" in database "postgres"\n.*hint: Connect as the role that created it \(the first init\), or GRANT USAGE ON SCHEMA migration_split_job/s,
	'target role without USAGE on the job state: message');
$tgt->safe_psql('postgres', q{
GRANT USAGE ON SCHEMA migration_split_job TO owner_only;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA migration_split_job TO owner_only;
});
($rc, $out, $err) = job('init', '--source', $S, '--target', "$T user=owner_only", '--domain', 'small', '--no-progress');
is($rc, 6, 'target role owning only the target schema: exit 6');
like($err, qr/^migration-split: error: permission denied to create schemas in the target database\n.*detail: init creates the target schema and the job's state schema "migration_split_job"/s,
	'target role owning only the target schema: refused by the check');
is($src->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'migration_split_small'"),
	'0', 'target role owning only the target schema: no slot left');

# --- stream: a first connection that fails ends the run --------------------
my $port = PostgreSQL::Test::Cluster::get_free_port();
for my $case (
	[ 'target refuses the login', '--target', "$T user=nosuchrole", qr/could not connect to the target database .*role "nosuchrole" does not exist/ ],
	[ 'target database missing', '--target', $tgt->connstr('nosuchdb'), qr/could not connect to the target database .*database "nosuchdb" does not exist/ ],
	[ 'source refuses the login', '--source', "$S user=nosuchrole", qr/could not connect to the source database .*role "nosuchrole" does not exist/ ],
	[ 'source unreachable', '--source', "host=127.0.0.1 port=$port dbname=postgres", qr/could not connect to the source database \(host=127\.0\.0\.1 port=$port dbname=postgres\)/ ])
{
	my ($name, $opt, $conninfo, $re) = @$case;
	my %c = ('--source' => $S, '--target' => $T);
	$c{$opt} = $conninfo;
	($rc, $out, $err) = job('stream', '--source', $c{'--source'}, '--target', $c{'--target'},
		'--domain', 'orders', '--until-caught-up');
	is($rc, 2, "stream, $name: exit code 2");
	like($err, qr/error: $re/, "stream, $name: an error naming the database");
	unlike($err, qr/reconnecting in/, "stream, $name: not retried");
}

# the job row records no error of a stream that never connected to both
is($tgt->safe_psql('postgres', 'SELECT last_error IS NULL FROM migration_split_job.jobs'), 't',
	'no error recorded in the job row');

# a good stream still works afterwards
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (2, 'b')");
($rc, $out, $err) = job('stream', '--source', $S, '--target', $T, '--domain', 'orders', '--until-caught-up');
is($rc, 0, 'stream after the failures') or diag($err);
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM orders.orders_t'), '2', 'change applied');

# --- a connection through a service is named by the service -------------
my $servicefile = $PostgreSQL::Test::Utils::tmp_check . '/pg_service.conf';
open(my $fh, '>', $servicefile) or die;
print $fh "[down]\nhost=127.0.0.1\nport=$port\ndbname=shop\n";
close($fh);
{
	local $ENV{PGSERVICEFILE} = $servicefile;
	($rc, $out, $err) = job('status', '--source', 'service=down', '--target', $T, '--domain', 'orders');
	is($rc, 2, 'source service unreachable: exit 2');
	like($err, qr/error: could not connect to the source database \(service=down\): .*127\.0\.0\.1.*$port/,
		'source service unreachable: the service is named, not "(default)"');
	local $ENV{PGSERVICE} = 'down';
	($rc, $out, $err) = job('status', '--source', 'dbname=other', '--target', $T, '--domain', 'orders');
	like($err, qr/error: could not connect to the source database \(service=down dbname=other\)/,
		'PGSERVICE: the service and the given database are named');
}

# --- report on a source whose extension is still 1.0 ---------------------
$src->safe_psql('postgres', 'CREATE DATABASE old');
$src->safe_psql('old', "CREATE EXTENSION migration_split VERSION '1.0'");
($rc, $out, $err) = job('report', '--source', $src->connstr('old'), '--markdown', '-');
is($rc, 3, 'report on extension 1.0: exit 3');
like($err, qr/error: extension migration_split 1\.0 in database "old" is too old for report\n.*hint: Run ALTER EXTENSION migration_split UPDATE in the source database\./s,
	'report on extension 1.0: says to update it');

$src->stop;
$tgt->stop;
done_testing();
