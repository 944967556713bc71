# migration-split: every kind of bad input ends with a clear message and the
# documented exit code, and leaves nothing behind that blocks a retry.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');

# Run the job; return (exit code, stdout, stderr).
sub job
{
	return run_migration_split(@_);
}

# Assert exit code and message of one bad input.
sub bad
{
	my ($name, $code, $re, @args) = @_;
	my ($rc, $out, $err) = job(@args);
	is($rc, $code, "$name: exit code $code");
	like($err, $re, "$name: message");
}

# nothing half-created on either side
sub nothing_created
{
	my ($name) = @_;
	is($src->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '0', "$name: no slot left");
	is($tgt->safe_psql('postgres',
		"SELECT count(*) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('public', 'information_schema', 'migration_split_job')"),
		'0', "$name: no target schema left");
}

# command line
# --version (and -V) names the release of the extension it belongs to:
# the version a fresh CREATE EXTENSION installs
my $ext_version = $src->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'migration_split'");
for my $opt ('--version', '-V')
{
	my ($rc, $out, $err) = job($opt);
	is($rc, 0, "$opt: exit code 0");
	is($out, "migration-split (migration_split) $ext_version\n",
		"$opt: the extension's version $ext_version");
}

bad('no command', 1, qr/no command given/);
bad('unknown command', 1, qr/unknown command "copy"/, 'copy');
bad('unknown option', 1,
	qr/^migration-split stream: unrecognized option '--bogus'\nmigration-split: hint: Try "migration-split stream --help" for more information\.\n\z/,
	'stream', '--bogus');
bad('missing domain', 1, qr/no domain specified/, 'init', '--source', $S, '--target', $T);
bad('bad domain name', 1, qr/invalid domain name "Bad-Name"/, 'init', '--source', $S, '--target', $T, '--domain', 'Bad-Name');
bad('init option on stream', 1, qr/only valid for init/, 'stream', '--source', $S, '--target', $T, '--domain', 'x', '--jobs', '2');
bad('bad --jobs', 1, qr/invalid value "0" for option -j\/--jobs/, 'init', '--source', $S, '--target', $T, '--domain', 'x', '--jobs', '0');
my ($rc, $out) = job('init', '--help');
is($rc, 0, 'init --help exits 0');
like($out, qr/Usage:\n  migration-split init --source=CONNINFO/, 'init --help shows usage');
like($out, qr/Exit status:/, 'help documents exit codes');

# unreachable database; the password is not printed
my $port = PostgreSQL::Test::Cluster::get_free_port();
bad('unreachable source', 2, qr/could not connect to the source database \(host=\S+ port=$port dbname=postgres\)/,
	'init', '--source', "host=127.0.0.1 port=$port dbname=postgres password=sekrit", '--target', $T, '--domain', 'x');
($rc, $out, my $err) = job('init', '--source', "postgresql://u:sekrit\@127.0.0.1:$port/postgres", '--target', $T, '--domain', 'x');
is($rc, 2, 'unreachable source URI: exit code 2');
unlike($err, qr/sekrit/, 'password not printed');

# extension missing on the source
bad('extension missing', 3, qr/extension "migration_split" is not installed in the source database/,
	'init', '--source', $S, '--target', $T, '--domain', 'x');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('empty'), ('nokey'), ('orders');
CREATE TABLE nokey_t (a int, b text);
CREATE TABLE orders_t (id int PRIMARY KEY, v text);
CREATE TABLE secret_t (id int PRIMARY KEY);
INSERT INTO migration_split.ownership (rel, domain) VALUES ('nokey_t', 'nokey'), ('orders_t', 'orders'), ('secret_t', 'orders');
INSERT INTO orders_t SELECT i, 'v' || i FROM generate_series(1, 10) i;
CREATE ROLE norepl LOGIN;
CREATE ROLE repl LOGIN REPLICATION;
GRANT SELECT ON orders_t TO repl;
});

bad('unknown domain', 3, qr/domain "nope" does not exist\n.*hint: Defined domains: empty, nokey, orders\./s,
	'init', '--source', $S, '--target', $T, '--domain', 'nope');
nothing_created('unknown domain');
bad('domain without tables', 3,
	qr/domain "empty" has no tables\n.*hint: Assign the domain's tables first: SELECT migration_split\.assign_table\('schema\.table', 'empty'\);/,
	'init', '--source', $S, '--target', $T, '--domain', 'empty');
nothing_created('domain without tables');
bad('table without key', 3, qr/table without primary key or replica identity in domain "nokey": public\.nokey_t/,
	'init', '--source', $S, '--target', $T, '--domain', 'nokey');
nothing_created('table without key');

# privileges
bad('no replication privilege', 6, qr/role "norepl" on the source may not use replication/,
	'init', '--source', "$S user=norepl", '--target', $T, '--domain', 'orders');
bad('no SELECT privilege', 6, qr/permission denied to read table of domain "orders" on the source: public\.secret_t/,
	'init', '--source', "$S user=repl", '--target', $T, '--domain', 'orders');
nothing_created('missing privileges');
$tgt->safe_psql('postgres', 'CREATE ROLE weak LOGIN; REVOKE CREATE ON SCHEMA public FROM PUBLIC');
bad('no CREATE on the target', 6, qr/permission denied to create schemas in the target database/,
	'init', '--source', $S, '--target', "$T user=weak", '--domain', 'orders');
nothing_created('no CREATE on the target');

# target schema holding other tables
$tgt->safe_psql('postgres', 'CREATE SCHEMA orders; CREATE TABLE orders.legacy (x int)');
bad('target schema not empty', 4, qr/target schema "orders" already holds other tables: legacy/,
	'init', '--source', $S, '--target', $T, '--domain', 'orders');
is($src->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '0', 'target schema not empty: no slot');
$tgt->safe_psql('postgres', 'DROP SCHEMA orders CASCADE');

# the slot name taken by someone else
$src->safe_psql('postgres', "SELECT pg_create_logical_replication_slot('migration_split_orders', 'test_decoding')");
bad('slot exists', 5, qr/replication slot "migration_split_orders" already exists on the source \(plugin test_decoding/,
	'init', '--source', $S, '--target', $T, '--domain', 'orders');
$src->safe_psql('postgres', "SELECT pg_drop_replication_slot('migration_split_orders')");
nothing_created('slot exists');

# stream before init
bad('stream before init', 4, qr/domain "orders" has not been initialised on the target/,
	'stream', '--source', $S, '--target', $T, '--domain', 'orders', '--until-caught-up');
bad('status before init', 4, qr/domain "orders" has no job on the target/,
	'status', '--target', $T, '--domain', 'orders');

# now a good init works after all those failures
($rc, $out, $err) = job('init', '--source', $S, '--target', $T, '--domain', 'orders', '--no-progress');
is($rc, 0, 'retry after the failures: init succeeds');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM orders.orders_t'), '10', 'rows copied');
bad('init twice', 4, qr/init of domain "orders" is already done/,
	'init', '--source', $S, '--target', $T, '--domain', 'orders');

# the slot in use by another job
my $h = IPC::Run::start([ 'migration-split', 'stream', '--source', $S, '--target', $T, '--domain', 'orders' ],
	'>', \my $o1, '2>', \my $e1);
$src->poll_query_until('postgres',
	"SELECT active FROM pg_replication_slots WHERE slot_name = 'migration_split_orders'")
  or die 'stream did not start';
bad('slot in use', 5, qr/could not start streaming from slot "migration_split_orders": .*is active for PID/,
	'stream', '--source', $S, '--target', $T, '--domain', 'orders', '--until-caught-up');
$h->signal('TERM');
$h->finish;
is($h->full_result(0) >> 8, 9, 'SIGTERM: stream exits with code 9');

# init --drop starts over
($rc, $out, $err) = job('init', '--source', $S, '--target', $T, '--domain', 'orders', '--drop', '--no-progress');
is($rc, 0, 'init --drop succeeds');
is($src->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '1', 'one slot after --drop');

# the slot dropped behind the job's back
$src->safe_psql('postgres', "SELECT pg_drop_replication_slot('migration_split_orders')");
bad('slot missing', 5, qr/could not start streaming from slot "migration_split_orders"/,
	'stream', '--source', $S, '--target', $T, '--domain', 'orders', '--until-caught-up');

# init --drop to another schema and slot; later commands find them without the options
($rc, $out, $err) = job('init', '--source', $S, '--target', $T, '--domain', 'orders', '--drop',
	'--target-schema', 'svc', '--slot', 'myslot', '--no-progress');
is($rc, 0, 'init --drop with another target schema and slot');
is($tgt->safe_psql('postgres', "SELECT to_regclass('orders.orders_t') IS NULL, count(*) FROM svc.orders_t"),
	't|10', 'old schema dropped, new one filled');
$src->safe_psql('postgres', "INSERT INTO orders_t VALUES (11, 'v11')");
($rc, $out, $err) = job('stream', '--source', $S, '--target', $T, '--domain', 'orders', '--until-caught-up');
is($rc, 0, 'stream finds the target schema and slot of init');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM svc.orders_t'), '11', 'change applied to svc');
bad('stream with another slot', 1, qr/the job of domain "orders" uses slot "myslot" and target schema "svc"/,
	'stream', '--source', $S, '--target', $T, '--domain', 'orders', '--slot', 'other', '--until-caught-up');

$src->stop;
$tgt->stop;
done_testing();
