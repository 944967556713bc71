# migration-split stream and a table of the domain renamed on the source
# (ALTER TABLE ... RENAME TO, ALTER TABLE ... SET SCHEMA).  The relation
# keeps its OID and its tag, so its next R carries a name the job never
# copied: the job took it for a table joining the domain and copied it in
# as a new one, leaving the old target table behind with rows that no
# longer changed, and went on (exit 0).  It must stop instead, in the
# running session (it knew the relation under its old name) and in every
# later one, and init --drop must then copy the domain as it is.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;
use Time::HiRes qw(usleep);

my ($src, $tgt) = source_and_target();

my $S = $src->connstr('postgres');
my $T = $tgt->connstr('postgres');
my @common = ('--source', $S, '--target', $T, '--domain', 'shop');

sub job
{
	my ($cmd, @args) = @_;
	return run_migration_split($cmd, @common, @args);
}

sub target_tables
{
	return $tgt->safe_psql('postgres', q{SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
		WHERE relnamespace = 'shop'::regnamespace AND relkind = 'r'});
}

$src->safe_psql('postgres', q{
CREATE EXTENSION migration_split;
CREATE SCHEMA other;
INSERT INTO migration_split.domains (domain) VALUES ('shop');
CREATE TABLE cart (id int PRIMARY KEY, v text);
CREATE TABLE item (id int PRIMARY KEY);
SELECT migration_split.assign_table('cart', 'shop');
SELECT migration_split.assign_table('item', 'shop');
INSERT INTO cart VALUES (1, 'a'), (2, 'b');
INSERT INTO item VALUES (1);
});
my ($rc, $out, $err) = job('init', '--no-progress');
is($rc, 0, 'init');

# 1. renamed while the stream runs (the index too: no name collides)
my ($h, $log) = start_stream($src, @common);
$src->safe_psql('postgres', q{INSERT INTO cart VALUES (3, 'c')});
my $applied = 0;
for (my $i = 0; $i < 600 && !$applied; $i++)
{
	$applied = $tgt->safe_psql('postgres', 'SELECT count(*) FROM shop.cart WHERE id = 3') eq '1';
	usleep(100_000) unless $applied;
}
ok($applied, 'the stream applies the insert before the rename');
$src->safe_psql('postgres', q{
ALTER TABLE cart RENAME TO basket;
ALTER INDEX cart_pkey RENAME TO basket_pkey;
INSERT INTO basket VALUES (4, 'd');
UPDATE basket SET v = 'changed' WHERE id = 1;
});
# wait for the stream to stop, or (as before) to copy the table in
my $text = '';
for (my $i = 0; $i < 600 && $text !~ /error:|joined domain/; $i++)
{
	usleep(100_000);
	$text = slurp_file($log);
}
sleep(1) if $text =~ /joined domain/;
$h->kill_kill if $text =~ /joined domain/ || $text !~ /error:/;
$h->finish;
is($? >> 8, 7, 'renamed table in the running stream: exit 7');
$text = slurp_file($log);
like($text, qr/error: table "public.cart" was renamed to "public.basket" on the source \(source commit LSN [0-9A-F]+\/[0-9A-F]+\)/,
	'the error names both names');
like($text, qr/hint: .*init --drop/, 'the hint says what to do');
is(target_tables(), 'cart,item', 'no table copied under the new name');
is(table_rows($tgt, 'shop.cart'), '(1,a);(2,b);(3,c)', 'the target table holds what came before the rename');

# 2. the next stream, which never knew the old name, stops there too
($rc, $out, $err) = job('stream', '--until-caught-up');
is($rc, 7, 'a later stream: exit 7');
like($err, qr/table "public.basket" is not among the tables the job copied, and table "public.cart" of the job no longer exists on the source: it was renamed or dropped/,
	'its error names the new name and the table gone from the source');
is(target_tables(), 'cart,item', 'still no copy under the new name');

# 3. init --drop copies the domain as it is
($rc, $out, $err) = job('init', '--drop', '--no-progress');
is($rc, 0, 'init --drop');
$src->safe_psql('postgres', q{INSERT INTO basket VALUES (5, 'e')});
($rc, $out, $err) = job('stream', '--until-caught-up');
is($rc, 0, 'stream after init --drop');
is(table_rows($tgt, 'shop.basket'), table_rows($src, 'basket'), 'basket equal');

# 4. a table moved to another schema
$src->safe_psql('postgres', q{
ALTER TABLE item SET SCHEMA other;
INSERT INTO other.item VALUES (2);
});
($rc, $out, $err) = job('stream', '--until-caught-up');
is($rc, 7, 'table moved to another schema: exit 7');
like($err, qr/table "other.item" is not among the tables the job copied, and table "public.item" of the job no longer exists on the source/,
	'the error names the moved table');
is(table_rows($tgt, 'shop.item'), '(1)', 'the target table keeps its rows');

done_testing();
