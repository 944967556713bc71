-- Options of the output plugin: wording as test_decoding's, a clear error
-- without a domain, none at slot creation.
\set VERBOSITY default
SELECT 'init' FROM pg_create_logical_replication_slot('errs', 'migration_split');
SELECT * FROM pg_logical_slot_peek_changes('errs', NULL, NULL);
SELECT * FROM pg_logical_slot_peek_changes('errs', NULL, NULL, 'domain', 'x', 'nonsense', 'on');
SELECT * FROM pg_logical_slot_peek_changes('errs', NULL, NULL, 'domain', 'x', 'include-xids', 'maybe');
SELECT * FROM pg_logical_slot_peek_changes('errs', NULL, NULL, 'domain', 'x', 'format', 'xml');
SELECT * FROM pg_logical_slot_peek_changes('errs', NULL, NULL, 'domain', '');
SELECT * FROM pg_logical_slot_peek_changes('errs', NULL, NULL, 'domain', 'a,,b');
SELECT * FROM pg_logical_slot_peek_changes('errs', NULL, NULL, 'domain', 'x', 'skip-empty-xacts', 'nope');
\echo :LAST_ERROR_SQLSTATE
-- accepted: bare-style booleans, json format, an unknown domain (emits nothing)
SELECT count(*) FROM pg_logical_slot_peek_changes('errs', NULL, NULL, 'domain', 'no_such_domain',
	'include-xids', 'off', 'include-timestamp', 'true', 'include-lsn', '0',
	'skip-empty-xacts', 'on', 'stream-changes', 'off', 'format', 'json');
SELECT pg_drop_replication_slot('errs');

-- protocol versions: the consumer names the one it speaks; any other is
-- refused, naming both
SELECT 'init' FROM pg_create_logical_replication_slot('proto', 'migration_split');
SELECT count(*) FROM pg_logical_slot_peek_changes('proto', NULL, NULL, 'domain', 'x', 'proto-version', '3');
SELECT count(*) FROM pg_logical_slot_peek_changes('proto', NULL, NULL, 'domain', 'x', 'proto-version', '2');
SELECT count(*) FROM pg_logical_slot_peek_changes('proto', NULL, NULL, 'domain', 'x', 'proto-version', '4');
SELECT count(*) FROM pg_logical_slot_peek_changes('proto', NULL, NULL, 'domain', 'x', 'proto-version', 'two');
SELECT pg_drop_replication_slot('proto');
