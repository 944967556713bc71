# cutover says what becomes of the domain's loose foreign keys: a key from
# the domain to the monolith still queues the monolith's deletes, but their
# clean-ups of the domain's archived rows fail with MS002 for ever; a key
# from the monolith to the domain queues nothing any more, since the
# domain's deletes are made in the service (found by the end-to-end run on
# a real Django schema: HyperKitty's seven loosened keys to auth_user; a
# user deleted after the cutover left the service's rows, and the
# monolith's clean-ups failed at every run, of which cutover had said
# nothing).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JobClusters;

my $job = orders_job();
my ($src, $tgt) = @$job{qw(src tgt)};

$src->safe_psql('postgres', q{
ALTER TABLE orders ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer_id) REFERENCES customer;
ALTER TABLE customer ADD COLUMN last_order_id bigint CONSTRAINT customer_last_order_fkey REFERENCES orders;
UPDATE customer SET last_order_id = id;
SELECT migration_split.loosen_foreign_key('orders', 'orders_customer_fkey', 'cascade');
SELECT migration_split.loosen_foreign_key('customer', 'customer_last_order_fkey', 'set null');
});
$job->stream_until_caught_up();
my ($rc, $out, $err) = $job->run_job('cutover', '--skip-verify-check', '--read-path');
is($rc, 0, 'cutover') or diag($err);
like($out, qr/^  - loose foreign key "orders_customer_fkey" of migration_split_archive\.orders references public\.customer \(domain "customers"\): the monolith still queues the deletes there, but cannot clean up the domain's rows \(SQLSTATE MS002\); the service must delete its rows itself \(send it the monolith's deletes\);$/m,
	'cutover names the key from the domain');
like($out, qr/^  - loose foreign key "customer_last_order_fkey" of public\.customer \(domain "customers"\) references migration_split_archive\.orders: its deletes are made in the service now and queue nothing in the monolith; clean up public\.customer when the service deletes \(send the monolith the service's deletes\);$/m,
	'and the key to the domain');

# what the lines say: a customer deleted in the monolith
$src->safe_psql('postgres', q{DELETE FROM customer WHERE id = 3});
my ($ret, $stdout, $stderr) = $src->psql('postgres', q{SELECT migration_split.process_loose_foreign_keys()});
is($stdout, '0', 'no clean-up done in the monolith');
like($stderr, qr/cannot delete from table "migration_split_archive\.orders": domain "orders" belongs to service/,
	'the clean-up fails with MS002');
is($tgt->safe_psql('postgres', q{SELECT count(*) > 0 FROM orders.orders WHERE customer_id = 3}), 't',
	"the service still has the customer's orders");
# an order deleted in the service
$tgt->safe_psql('postgres', q{DELETE FROM orders.order_line; DELETE FROM orders.orders WHERE id = 5});
is($src->safe_psql('postgres', q{SELECT count(*) FROM migration_split.loose_foreign_key_queue
	WHERE constraint_name = 'customer_last_order_fkey'}), '0', 'nothing queued in the monolith');

done_testing();
