# Randomised differential test of the replication job.  A seeded workload
# of several thousand operations runs on a domain of several tables that
# cover the built-in type families, NULLs, TOASTed values, key-changing
# updates, deletes, TRUNCATE, savepoints rolled back, a partitioned table
# (rows moving between partitions, partitions with identities of their
# own), a foreign key, a table without a key (REPLICA IDENTITY FULL),
# transactions large enough to be streamed while they run, and tables
# tagged into the domain while it streams.  The job is killed with SIGKILL
# at random moments and restarted.  At the end the target must equal the
# source row for row, compared with the same session settings on both
# sides; then a table is moved out of the domain and the job must stop,
# naming it.
#
# In-domain foreign keys cascade (ON DELETE CASCADE, ON DELETE SET NULL,
# ON UPDATE CASCADE): the source's cascaded changes arrive in the stream,
# and the target, which applies with session_replication_role = replica,
# must not cascade a second time.
#
# Set MS_DIFF_SEED to replay a run; the seed is printed on failure.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;
use Time::HiRes qw(usleep);

my $seed = $ENV{MS_DIFF_SEED} // (time() ^ $$) % 1000000;
srand($seed);
note "random seed $seed (set MS_DIFF_SEED=$seed to replay)";

my ($src, $tgt) = source_and_target(
	source_conf => "logical_decoding_work_mem = 64kB\nmax_connections = 40\n");
my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');
my @common = ('--source', $S, '--target', $T, '--domain', 'diff');

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE d_types (
	id bigint PRIMARY KEY, i2 smallint, i4 int, i8 bigint, num numeric(20,6),
	f4 real, f8 double precision, b bool, t text, vc varchar(40), ch char(5),
	by bytea, d date, tm time, tz timetz, ts timestamp, tstz timestamptz,
	iv interval, u uuid, j json, jb jsonb, ai int[], at text[], ip inet,
	cd cidr, mac macaddr, bt bit(8), vb varbit(16), tsv tsvector,
	r4 int4range, rts tstzrange, pt point, m mood, mon money, big text);
CREATE TABLE d_parent (id int PRIMARY KEY, name text);
CREATE TABLE d_child (id int PRIMARY KEY,
	parent_id int REFERENCES d_parent ON DELETE CASCADE ON UPDATE CASCADE,
	qty int, note text);
CREATE TABLE d_note (id int PRIMARY KEY,
	parent_id int REFERENCES d_parent ON DELETE SET NULL ON UPDATE CASCADE,
	v text);
CREATE TABLE d_part (id int, region text, v int, code text NOT NULL,
	PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE d_part_a PARTITION OF d_part FOR VALUES IN ('a');
CREATE TABLE d_part_b PARTITION OF d_part FOR VALUES IN ('b');
CREATE UNIQUE INDEX d_part_b_code ON d_part_b (code);
ALTER TABLE d_part_b REPLICA IDENTITY USING INDEX d_part_b_code;
CREATE TABLE d_part_c PARTITION OF d_part DEFAULT;
ALTER TABLE d_part_c REPLICA IDENTITY FULL;
CREATE TABLE d_trunc (id int PRIMARY KEY, v text);
CREATE TABLE d_full (a int, b text);
ALTER TABLE d_full REPLICA IDENTITY FULL;
CREATE TABLE d_join1 (id int PRIMARY KEY, v text, n int);
CREATE TABLE d_join2 (id bigserial PRIMARY KEY, v text);
INSERT INTO migration_split.domains (domain) VALUES ('diff'), ('elsewhere');
INSERT INTO migration_split.ownership (rel, domain) VALUES
	('d_types', 'diff'), ('d_parent', 'diff'), ('d_child', 'diff'), ('d_note', 'diff'),
	('d_part', 'diff'), ('d_trunc', 'diff'), ('d_full', 'diff');
INSERT INTO d_join1 SELECT i, 'j' || i, i FROM generate_series(1, 200) i;
INSERT INTO d_join2 (v) SELECT 'k' || i FROM generate_series(1, 200) i;
});

# --- random values, as SQL literals ---------------------------------------
my $next_id = 1;
sub pick { return $_[ int(rand(@_)) ]; }
sub maybe_null { my ($v) = @_; return rand() < 0.15 ? 'NULL' : $v; }
sub rint { my ($lo, $hi) = @_; return $lo + int(rand($hi - $lo + 1)); }
sub rstr
{
	my ($n) = @_;
	my @c = ('a' .. 'z', 'A' .. 'Z', '0' .. '9', ' ', "'", '"', '\\', 'é', '€', ',', '{', '}');
	my $s = join('', map { pick(@c) } 1 .. $n);
	$s =~ s/'/''/g;
	return "E'" . ($s =~ s/\\/\\\\/gr) . "'";
}

sub types_values
{
	my ($id) = @_;
	my @v = (
		$id,
		maybe_null(rint(-32768, 32767)),
		maybe_null(rint(-2**31, 2**31 - 1)),
		maybe_null(rint(-2**40, 2**40) * 1000003),
		maybe_null(sprintf('%.6f', rand(2e8) - 1e8)),
		maybe_null(sprintf('%.7g', rand(1000) - 500) . '::real'),
		maybe_null(pick('0.1+0.2', '1e-300', '-0.0', "'NaN'::float8", "'Infinity'::float8",
				sprintf('%.17g', rand()))),
		maybe_null(pick('true', 'false')),
		maybe_null(rstr(rint(0, 30))),
		maybe_null(rstr(rint(0, 20))),
		maybe_null("'" . join('', map { pick('a' .. 'e') } 1 .. rint(0, 5)) . "'"),
		maybe_null("decode('" . join('', map { sprintf('%02x', rint(0, 255)) } 1 .. rint(0, 20)) . "', 'hex')"),
		maybe_null(sprintf("'%04d-%02d-%02d'", rint(1, 2999), rint(1, 12), rint(1, 28))),
		maybe_null(sprintf("'%02d:%02d:%02d.%06d'", rint(0, 23), rint(0, 59), rint(0, 59), rint(0, 999999))),
		maybe_null(sprintf("'%02d:%02d:%02d+%02d:30'", rint(0, 23), rint(0, 59), rint(0, 59), rint(0, 12))),
		maybe_null(sprintf("'%04d-%02d-%02d %02d:%02d:%02d.%03d'", rint(1900, 2100), rint(1, 12), rint(1, 28),
				rint(0, 23), rint(0, 59), rint(0, 59), rint(0, 999))),
		maybe_null(sprintf("'%04d-%02d-%02d %02d:%02d:%02d+%02d'", rint(1900, 2100), rint(1, 12), rint(1, 28),
				rint(0, 23), rint(0, 59), rint(0, 59), rint(0, 12))),
		maybe_null(sprintf("'%d years %d mons %d days %d:%02d:%02d'", rint(-5, 5), rint(-11, 11), rint(-40, 40),
				rint(0, 99), rint(0, 59), rint(0, 59))),
		maybe_null('gen_random_uuid()'),
		maybe_null(pick(q{'{"a": [1, 2.50, null], "b": "x"}'}, q{'[]'}, q{'"\u00e9"'})),
		maybe_null(pick(q{'{"k": {"n": 1e3}, "z": true}'}, q{'[1, "two", null]'}, q{'{}'})),
		maybe_null(pick("'{1,2,NULL,4}'", "'{}'", "ARRAY[" . rint(-9, 9) . "]")),
		maybe_null(pick(q{'{"a b","c,d",NULL,"\\"q\\""}'}, "'{}'")),
		maybe_null(sprintf("'%d.%d.%d.%d/%d'", rint(0, 255), rint(0, 255), rint(0, 255), rint(0, 255), rint(8, 32))),
		maybe_null(pick("'10.0.0.0/8'", "'2001:db8::/32'")),
		maybe_null(sprintf("'%02x:%02x:%02x:%02x:%02x:%02x'", map { rint(0, 255) } 1 .. 6)),
		maybe_null("B'" . join('', map { rint(0, 1) } 1 .. 8) . "'"),
		maybe_null("B'" . join('', map { rint(0, 1) } 1 .. rint(0, 16)) . "'"),
		maybe_null(pick("'fat:1 cat:2'", "to_tsvector('simple', 'the quick brown fox')")),
		maybe_null(pick("'[1,10)'", "'empty'", "int4range(" . rint(-50, 0) . "," . rint(1, 50) . ")")),
		maybe_null(pick("'[2020-01-01 00:00+00,2021-01-01 00:00+00)'", "'(,)'")),
		maybe_null(sprintf("'(%g,%g)'", rand(10), rand(10))),
		maybe_null(pick("'sad'", "'ok'", "'happy'")),
		maybe_null(sprintf('%.2f', rand(10000))),
		rand() < 0.2
		  ? "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 300))"
		  : maybe_null(rstr(rint(0, 50))));
	return join(', ', @v);
}

my @type_cols = qw(i2 i4 i8 num f4 f8 b t vc ch by d tm tz ts tstz iv u j jb ai at ip cd mac bt vb tsv r4 rts pt m mon big);

# a random existing key of a table (NULL when empty): the nearest above a guess
sub some_id
{
	my ($table, $col) = @_;
	$col //= 'id';
	return "(SELECT $col FROM $table WHERE $col >= " . rint(1, $next_id) . " ORDER BY $col LIMIT 1)";
}

my $joined = 0;

sub random_op
{
	my $r = rand();
	my $id = $next_id++;
	if ($r < 0.16) { return "INSERT INTO d_types VALUES (" . types_values($id) . ");"; }
	if ($r < 0.26)
	{
		my %seen;
		my @set;
		for my $k (1 .. rint(1, 4))
		{
			my $i = rint(1, $#type_cols + 1);
			next if $seen{$i}++;
			push @set, "$type_cols[$i-1] = " . types_column_value($i);
		}
		return "UPDATE d_types SET " . join(', ', @set) . " WHERE id = " . some_id('d_types') . ";";
	}
	if ($r < 0.30) { return "UPDATE d_types SET id = $id WHERE id = " . some_id('d_types') . ";"; }
	if ($r < 0.34) { return "DELETE FROM d_types WHERE id = " . some_id('d_types') . ";"; }
	if ($r < 0.40) { return "INSERT INTO d_parent VALUES ($id, " . rstr(8) . ");"; }
	if ($r < 0.45)
	{
		return "INSERT INTO d_child VALUES ($id, " . some_id('d_parent') . ", " . rint(1, 9) . ", " . maybe_null(rstr(5)) . ");";
	}
	if ($r < 0.48)
	{
		return "INSERT INTO d_note VALUES ($id, " . some_id('d_parent') . ", " . maybe_null(rstr(5)) . ");";
	}
	if ($r < 0.51) { return "UPDATE d_child SET qty = qty + 1, parent_id = " . some_id('d_parent') . " WHERE id = " . some_id('d_child') . ";"; }
	if ($r < 0.54) { return "DELETE FROM d_child WHERE id = " . some_id('d_child') . ";"; }
	# a parent's delete cascades to d_child and nulls d_note; a key change
	# cascades to both
	if ($r < 0.555) { return "DELETE FROM d_parent WHERE id = " . some_id('d_parent') . ";"; }
	if ($r < 0.56) { return "UPDATE d_parent SET id = $id WHERE id = " . some_id('d_parent') . ";"; }
	if ($r < 0.63)
	{
		my $reg = pick('a', 'b', 'c', 'z');
		return "INSERT INTO d_part VALUES ($id, '$reg', " . rint(0, 100) . ", 'c$id');";
	}
	if ($r < 0.67) { return "UPDATE d_part SET v = v + 1 WHERE id = " . some_id('d_part') . ";"; }
	if ($r < 0.69) { return "UPDATE d_part SET code = code || 'x' WHERE id = " . some_id('d_part') . ";"; }
	if ($r < 0.71)
	{
		return "UPDATE d_part SET region = '" . pick('a', 'b', 'c', 'y') . "' WHERE id = " . some_id('d_part') . ";";
	}
	if ($r < 0.73) { return "UPDATE d_part SET id = $id WHERE id = " . some_id('d_part') . ";"; }
	if ($r < 0.75) { return "DELETE FROM d_part WHERE id = " . some_id('d_part') . ";"; }
	if ($r < 0.80) { return "INSERT INTO d_trunc VALUES ($id, " . maybe_null(rstr(10)) . ");"; }
	if ($r < 0.805) { return "TRUNCATE d_trunc;"; }
	if ($r < 0.84) { my $a = rint(1, 20); return "INSERT INTO d_full VALUES ($a, " . maybe_null(rstr(3)) . "), ($a, NULL);"; }
	if ($r < 0.86) { return "UPDATE d_full SET b = " . rstr(4) . " WHERE ctid = (SELECT ctid FROM d_full WHERE a = " . rint(1, 20) . " LIMIT 1);"; }
	if ($r < 0.88) { return "DELETE FROM d_full WHERE ctid = (SELECT ctid FROM d_full WHERE a = " . rint(1, 20) . " LIMIT 1);"; }
	if ($r < 0.94) { return "UPDATE d_join1 SET n = n + 1, v = " . rstr(6) . " WHERE id = " . rint(1, 250) . ";"; }
	if ($r < 0.97) { return "INSERT INTO d_join2 (v) VALUES (" . rstr(6) . ");"; }
	return "DELETE FROM d_join2 WHERE id = " . rint(1, 400) . ";";
}

# one column's value of d_types (1-based in @type_cols)
sub types_column_value
{
	my ($i) = @_;
	# types_values lists id first, then the columns in @type_cols order
	my $all = types_values(0);
	my @parts;
	my ($depth, $cur, $q) = (0, '', 0);
	for my $ch (split //, $all)
	{
		if ($ch eq "'") { $q = !$q; }
		if (!$q && $ch eq '(') { $depth++; }
		if (!$q && $ch eq ')') { $depth--; }
		if (!$q && $depth == 0 && $ch eq ',') { push @parts, $cur; $cur = ''; next; }
		$cur .= $ch;
	}
	push @parts, $cur;
	s/^\s+// for @parts;
	return $parts[$i];
}

sub random_xact
{
	my @sql = ('BEGIN;');
	my $n = rint(1, 8);
	for my $k (1 .. $n)
	{
		if (rand() < 0.12)
		{
			push @sql, 'SAVEPOINT s;';
			push @sql, random_op() for 1 .. rint(1, 4);
			push @sql, rand() < 0.6 ? 'ROLLBACK TO SAVEPOINT s;' : 'RELEASE SAVEPOINT s;';
		}
		else
		{
			push @sql, random_op();
		}
	}
	if (rand() < 0.02)
	{
		# large enough to be streamed while it runs, part of it rolled back
		my $base = $next_id;
		$next_id += 3000;
		push @sql, "INSERT INTO d_trunc SELECT i, repeat('s', 100) FROM generate_series($base, $base + 999) i;";
		push @sql, 'SAVEPOINT big;';
		push @sql, "INSERT INTO d_part SELECT i, 'a', 0, 'c' || i FROM generate_series($base + 1000, $base + 1999) i;";
		push @sql, rand() < 0.5 ? 'ROLLBACK TO SAVEPOINT big;' : 'RELEASE SAVEPOINT big;';
		push @sql, "UPDATE d_trunc SET v = 'streamed' WHERE id BETWEEN $base AND $base + 500;";
	}
	push @sql, rand() < 0.08 ? 'ROLLBACK;' : 'COMMIT;';
	return join("\n", @sql);
}

# --- the run ------------------------------------------------------------
command_ok([ 'migration-split', 'init', @common, '--no-progress' ], 'init');

my $log = $src->basedir . '/job.log';
my $job;
my $kills = 0;
my $nops = 0;

# every start picks the number of apply workers: the recorded position
# (coordinator.c) must not depend on it
my %apply_jobs_used;
sub start_job
{
	my $n = rint(1, 4);
	$apply_jobs_used{$n}++;
	$job = IPC::Run::start([ 'migration-split', 'stream', @common, '--max-retries', '0',
		'--apply-jobs', $n ],
		'>>', $log, '2>>', $log);
}

sub kill_job
{
	return unless $job;
	if ($job->pumpable)
	{
		$job->signal('KILL');
		$kills++;
	}
	$job->finish;
	$job = undef;
}

my $chunks = 24;
for my $chunk (1 .. $chunks)
{
	start_job() if !$job && rand() < 0.8;
	my @x = ("SELECT setseed(" . sprintf('%.6f', rand()) . ");");
	for (1 .. 25)
	{
		my $xact = random_xact();
		$nops += () = $xact =~ /;/g;
		push @x, $xact;
	}
	# tables joining the domain while it streams, amid their own changes
	if ($chunk == 6)
	{
		push @x, "BEGIN; UPDATE d_join1 SET n = -n WHERE id <= 20; INSERT INTO migration_split.ownership VALUES ('d_join1', 'diff'); UPDATE d_join1 SET n = n * 2 WHERE id <= 40; COMMIT;";
	}
	if ($chunk == 14)
	{
		push @x, "INSERT INTO migration_split.ownership VALUES ('d_join2', 'diff');";
	}
	$src->safe_psql('postgres', join("\n", @x), on_error_stop => 1);
	if ($job && rand() < 0.6)
	{
		usleep(rint(0, 400_000));
		kill_job();
	}
}
kill_job();

my ($out, $err) = ('', '');
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$out, '2>', \$err);
is($?, 0, 'a final stream catches up') or diag($err);
note "$nops statements, job killed $kills times";
cmp_ok($nops, '>=', 2000, 'several thousand operations');
cmp_ok($kills, '>=', 3, 'the job was killed at random moments');
note 'apply workers per start: ' . join(', ', map { "$_: $apply_jobs_used{$_}" } sort keys %apply_jobs_used);
ok((grep { $_ > 1 } keys %apply_jobs_used), 'parallel apply (--apply-jobs > 1) ran and was killed too');
my $joblog = slurp_file($log) . $err;
like($joblog, qr/table "public\.d_join1" joined domain "diff"/, 'd_join1 was copied in online');
like($joblog, qr/table "public\.d_join2" joined domain "diff"/, 'd_join2 was copied in online');
cmp_ok($src->safe_psql('postgres',
		q{SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = 'migration_split_diff'}),
	'>', 0, 'some transactions were streamed while they ran');

my $settings = q{SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3;
SET TimeZone = 'UTC'; SET bytea_output = 'hex'; SET lc_monetary = 'C';};
my %order = (d_full => 't::text', d_part => 'region, id');
my $ok = 1;
for my $t (qw(d_types d_parent d_child d_note d_part d_trunc d_full d_join1 d_join2))
{
	my $ord = $order{$t} // 'id';
	my $q = "$settings SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY $ord)), '') FROM %s t";
	my $s = $src->safe_psql('postgres', sprintf($q, "public.$t"));
	my $g = $tgt->safe_psql('postgres', sprintf($q, "diff.$t"));
	$ok &= is($g, $s, "$t: target equals source row for row");
}

# a table leaving the domain stops the job, naming it
$src->safe_psql('postgres', q{
UPDATE migration_split.ownership SET domain = 'elsewhere' WHERE rel = 'd_trunc'::regclass;
INSERT INTO d_trunc VALUES (-1, 'after the move');
});
IPC::Run::run([ 'migration-split', 'stream', @common, '--until-caught-up' ], '>', \$out, '2>', \$err);
is($? >> 8, 3, 'a table moved to another domain stops the job (exit 3)');
$ok &= like($err, qr/table "public\.d_trunc" left domain "diff" on the source \(now in domain "elsewhere"/,
	'the message names the table');

diag("failed with random seed $seed: rerun with MS_DIFF_SEED=$seed; job log in $log") unless $ok;
done_testing();
