# init and cutover --read-path say so when the target database's default
# collation differs from the source's: the domain's columns of the default
# collation then sort and compare by the target's rules, and the read path's
# foreign tables have postgres_fdw evaluate comparisons there (found by the
# end-to-end run on a real Django schema: a monolith with ICU sv-SE, a
# service with ICU tr-TR; a legacy query of the monolith returned other rows
# after the cutover, without a word).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my ($src, $tgt) = source_and_target();
$src->safe_psql('postgres', q{CREATE DATABASE shop TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'sv-SE' LOCALE 'C'});
$tgt->safe_psql('postgres', q{CREATE DATABASE svc_sv TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'sv-SE' LOCALE 'C'});
$tgt->safe_psql('postgres', q{CREATE DATABASE svc_tr TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR' LOCALE 'C'});
$src->safe_psql('shop', q{
CREATE EXTENSION migration_split;
CREATE TABLE lists_list (id int PRIMARY KEY, name text NOT NULL, code varchar(10) COLLATE "C", subject varchar(50));
CREATE TABLE lists_vote (id int PRIMARY KEY, list_id int REFERENCES lists_list, value smallint);
INSERT INTO lists_list VALUES (1, 'Äpple', 'a', 's'), (2, 'Banan', 'b', 's'), (3, 'Citron', 'c', NULL);
SELECT migration_split.create_domain('lists');
SELECT migration_split.assign_tables('lists\_%', 'lists');
});
my $S = $src->connstr('shop');

sub job
{
	my ($target, @args) = @_;
	return run_migration_split($args[0], '--source', $S, '--target', $tgt->connstr($target),
		'--domain', 'lists', @args[ 1 .. $#args ]);
}

# the same default collation on both sides: nothing to say
my ($rc, $out, $err) = job('svc_sv', 'init', '--slot', 'lists_sv', '--no-progress');
is($rc, 0, 'init into a target of the same default collation') or diag($err);
unlike($err, qr/collation/, 'no word about collations');

# another default collation on the target
($rc, $out, $err) = job('svc_tr', 'init', '--slot', 'lists_tr', '--no-progress');
is($rc, 0, 'init into a target of another default collation still copies') or diag($err);
like($err, qr/^migration-split: warning: the default collation of the target database \(ICU locale "tr-TR"\) differs from the source's \(ICU locale "sv-SE"\)$/m,
	'init warns');
like($err, qr/^migration-split: detail: 2 columns of domain "lists" have the default collation: in the service they sort and compare by the target's rules, and through a read path \(cutover --read-path\) the monolith's comparisons of them are evaluated by the service\.$/m,
	'the detail counts the columns and says what changes');
like($err, qr/^migration-split: hint: Create the target database with the source's collation \(CREATE DATABASE \.\.\. TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'sv-SE'\), or give those columns an explicit collation in the source\.$/m,
	'the hint says how to avoid it');

# cutover --read-path says it again, then the monolith's reads go to the service
($rc, $out, $err) = job('svc_tr', 'stream', '--slot', 'lists_tr', '--until-caught-up', '--status-interval', '0');
is($rc, 0, 'stream catches up') or diag($err);
($rc, $out, $err) = job('svc_tr', 'cutover', '--read-path', '--skip-verify-check', '--no-reverse');
is($rc, 0, 'cutover --read-path') or diag($err);
like($err, qr/^migration-split: warning: the default collation of the target database \(ICU locale "tr-TR"\) differs from the source's \(ICU locale "sv-SE"\)$/m,
	'cutover --read-path warns');
# what the warning is about: postgres_fdw sends the comparison to the service
is($src->safe_psql('shop', q{SELECT string_agg(name, ',' ORDER BY id) FROM lists_list WHERE name < 'B'}),
	'Äpple', 'through the read path, "Äpple" < "B" as in Turkish');
is($src->safe_psql('shop', q{SELECT count(*) FROM migration_split_archive.lists_list WHERE name < 'B'}),
	'0', 'in the monolith\'s own table, not (Swedish: Ä after Z)');

done_testing();
