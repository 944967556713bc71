# init's foreign keys and its report of where the time went: the keys
# between the domain's tables are added NOT VALID in one transaction and
# validated over several connections; one that is NOT VALID on the source
# stays so; a rerun after an init that stopped in that step adds and
# validates them again (a failed validation stops init with exit 8, and the
# fixed rerun succeeds); the summary has the COPY, index and ANALYZE
# seconds of each table and one "phases:" line; every table copied has its
# statistics.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();
$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
INSERT INTO migration_split.domains (domain) VALUES ('d');
CREATE TABLE p (id int PRIMARY KEY);
INSERT INTO p SELECT generate_series(1, 100);
CREATE TABLE c1 (id int PRIMARY KEY, p int REFERENCES p);
CREATE TABLE c2 (id int PRIMARY KEY, p int, q int);
ALTER TABLE c2 ADD CONSTRAINT c2_p_fkey FOREIGN KEY (p) REFERENCES p DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE c3 (id int PRIMARY KEY, p int, q int);
INSERT INTO c1 SELECT g, 1 + g % 100 FROM generate_series(1, 5000) g;
INSERT INTO c2 SELECT g, 1 + g % 100, 500 FROM generate_series(1, 5000) g;
INSERT INTO c3 SELECT g, 1 + g % 100, g FROM generate_series(1, 5000) g;
ALTER TABLE c3 ADD CONSTRAINT c3_p_fkey FOREIGN KEY (p) REFERENCES p;
-- q = 500 in c2 is not in p: this key cannot be valid, on the source either
ALTER TABLE c2 ADD CONSTRAINT c2_q_fkey FOREIGN KEY (q) REFERENCES p NOT VALID;
INSERT INTO migration_split.ownership (rel, domain) VALUES ('p', 'd'), ('c1', 'd'), ('c2', 'd'), ('c3', 'd');
});

my @init = ('migration-split', 'init', '--source', $src->connstr('postgres'), '--target',
	$tgt->connstr('postgres'), '--domain', 'd', '--jobs', '3', '--no-progress');
my ($stdout, $stderr);
run_log([@init], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 0, 'init exits 0') or diag($stderr);

like($stdout, qr/^table\s+state\s+rows\s+size\s+seconds\s+COPY\s+indexes\s+ANALYZE\s+rate\s+snapshot LSN$/m,
	'summary header has the COPY, index and ANALYZE seconds');
my $line = qr/^public\.c1\s+copied\s+5000\s+\S+ \S+\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s/m;
like($stdout, $line, 'summary line of a table has seconds, COPY, index and ANALYZE seconds');
my ($sec, $copy, $idx, $ana) = $stdout =~ $line;
ok(defined $sec && abs($sec - $copy - $idx - $ana) <= 0.016, 'COPY, index and ANALYZE seconds add up to the table\'s seconds')
  or diag("seconds $sec, COPY $copy, indexes $idx, ANALYZE $ana");
like($stdout,
	qr/^phases: prepare \d+\.\d\d s, copy \d+\.\d\d s \(COPY \d+\.\d\d s, keys and indexes \d+\.\d\d s and statistics \d+\.\d\d s summed over 4 tables, 3 at a time\), foreign keys \d+\.\d\d s, sequences \d+\.\d\d s; total \d+\.\d\d s$/m,
	'one phases line');
# ANALYZE ran in each table's copy transaction: statistics of every column,
# and reltuples, on the target
is($tgt->safe_psql('postgres', q{
SELECT string_agg(c.relname || ':' || c.reltuples::bigint || ':' ||
	(SELECT count(*) FROM pg_stats s WHERE s.schemaname = 'd' AND s.tablename = c.relname), ' ' ORDER BY c.relname)
FROM pg_class c WHERE c.relnamespace = 'd'::regnamespace AND c.relkind = 'r'}),
	'c1:5000:2 c2:5000:3 c3:5000:3 p:100:1', 'every copied table has its statistics on the target');

my $fks = q{SELECT string_agg(conname || ':' || convalidated || ':' || condeferrable, ' ' ORDER BY conname)
	FROM pg_constraint WHERE contype = 'f' AND connamespace = 'd'::regnamespace};
is($tgt->safe_psql('postgres', $fks),
	'c1_p_fkey:true:false c2_p_fkey:true:true c2_q_fkey:false:false c3_p_fkey:true:false',
	'valid keys validated on the target, the NOT VALID one left so, deferrable kept');
my ($rc, $out, $err) = $tgt->psql('postgres', 'INSERT INTO d.c3 VALUES (9999, 1000, 1)');
like($err, qr/violates foreign key constraint "c3_p_fkey"/, 'the validated key is enforced on the target');

# an init that stopped after adding the keys NOT VALID, before validating
# them: phase still "copying"; a child row on the target that the key
# rejects makes the validation fail
$tgt->safe_psql('postgres', q{
UPDATE migration_split_job.jobs SET phase = 'copying', init_done_at = NULL WHERE domain = 'd';
ALTER TABLE d.c1 DROP CONSTRAINT c1_p_fkey;
ALTER TABLE d.c1 ADD CONSTRAINT c1_p_fkey FOREIGN KEY (p) REFERENCES d.p NOT VALID;
ALTER TABLE d.c3 DROP CONSTRAINT c3_p_fkey;
SET session_replication_role = replica;
INSERT INTO d.c3 VALUES (9999, 1000, 1);
});
run_log([@init], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 8, 'rerun: failed validation exits 8');
like($stderr, qr/could not validate the foreign keys of table "c3" on the target: .*violates foreign key constraint "c3_p_fkey"/,
	'rerun: the failed validation names the table and the key');
is($tgt->safe_psql('postgres', "SELECT phase FROM migration_split_job.jobs WHERE domain = 'd'"),
	'copying', 'rerun: init not done after the failed validation');

$tgt->safe_psql('postgres', 'DELETE FROM d.c3 WHERE id = 9999');
run_log([@init], '>', \$stdout, '2>', \$stderr);
is($? >> 8, 0, 'rerun after the fix exits 0') or diag($stderr);
is($tgt->safe_psql('postgres', $fks),
	'c1_p_fkey:true:false c2_p_fkey:true:true c2_q_fkey:false:false c3_p_fkey:true:false',
	'rerun: every key once, validated as on the source');
is($tgt->safe_psql('postgres', "SELECT phase FROM migration_split_job.jobs WHERE domain = 'd'"),
	'streaming', 'rerun: init done');
is($tgt->safe_psql('postgres', 'SELECT count(*) FROM d.c1') . ' ' . $tgt->safe_psql('postgres', 'SELECT count(*) FROM d.c3'),
	'5000 5000', 'rerun: rows copied once');

$src->stop;
$tgt->stop;
done_testing();
