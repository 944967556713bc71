/*-------------------------------------------------------------------------
 *
 * protocol.h
 *		The stream's contract between the output plugin (src/decoder*.c)
 *		and the replication job (src/job): protocol version, plugin
 *		options, message kinds and field names.
 *
 * Both sides include this file; it holds only macros and no server or
 * client types, so it compiles in the backend and in a frontend program.
 * The README (sections "decoder" and "The stream's messages") documents
 * every message with its fields.
 *
 * Versioning: MS_PROTOCOL_VERSION changes whenever a message changes in a
 * way an older consumer would misread (a new kind it must act on, a field
 * whose absence changes the meaning).  The consumer passes the version it
 * speaks in the option "proto-version"; the plugin refuses any other.  A
 * plugin older than versioning (extension 1.0) refuses the option itself
 * as unknown, which the job recognises.
 *
 *	1	extension 1.0 (implicit: no proto-version option)
 *	2	extension 1.1: option proto-version; a change inside a stream
 *		carries the xid of the (sub)transaction it belongs to, not the
 *		top-level xid (which S gives); O messages (a table joins or
 *		leaves the domain); U and D of a partition whose replica
 *		identity differs from its root's carry "key_columns"; option
 *		batch-writes: several messages per write, separated by a
 *		newline (MS_BATCH_SEPARATOR); a column of R carries "missing",
 *		the value rows that existed when it was added with a constant
 *		default have without storing it; R says "rewritten" when an
 *		ALTER TABLE of the transaction rewrote the table's rows.
 *	3	a column of R carries its "attnum" in the relation R names
 *		(with "relid", the source identity of the table and its
 *		columns: a consumer tells a table or column dropped and created
 *		again under the same name from the one it copied).
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATION_SPLIT_PROTOCOL_H
#define MIGRATION_SPLIT_PROTOCOL_H

#define MS_PROTOCOL_VERSION		3
#define MS_PROTOCOL_VERSION_STR	"3"

/* Name of the output plugin (the shared library) */
#define MS_PROTO_PLUGIN_NAME	"migration_split"

/* Plugin options (hyphenated, parsed like test_decoding's) */
#define MS_OPT_PROTO_VERSION	"proto-version"
#define MS_OPT_DOMAIN			"domain"
#define MS_OPT_INCLUDE_XIDS		"include-xids"
#define MS_OPT_INCLUDE_TIMESTAMP "include-timestamp"
#define MS_OPT_INCLUDE_LSN		"include-lsn"
#define MS_OPT_SKIP_EMPTY_XACTS	"skip-empty-xacts"
#define MS_OPT_STREAM_CHANGES	"stream-changes"
#define MS_OPT_BATCH_WRITES		"batch-writes"
#define MS_OPT_FORMAT			"format"

/*
 * With batch-writes, the messages of one write (one XLogData through the
 * walsender) follow each other separated by this character, which JSON
 * output never holds unescaped.
 */
#define MS_BATCH_SEPARATOR		'\n'

/* Prefix of the logical messages that pass through (M) */
#define MS_PROTO_MESSAGE_PREFIX	"migration_split"

/* Message kinds: the value of the field "action" */
#define MS_MSG_BEGIN			'B'
#define MS_MSG_COMMIT			'C'
#define MS_MSG_RELATION			'R'
#define MS_MSG_INSERT			'I'
#define MS_MSG_UPDATE			'U'
#define MS_MSG_DELETE			'D'
#define MS_MSG_TRUNCATE			'T'
#define MS_MSG_MESSAGE			'M'
#define MS_MSG_STREAM_START		'S'
#define MS_MSG_STREAM_STOP		'E'
#define MS_MSG_STREAM_ABORT		'A'
#define MS_MSG_OWNERSHIP		'O'

/* Field names */
#define MS_FLD_ACTION			"action"
#define MS_FLD_XID				"xid"
#define MS_FLD_SUBXID			"subxid"
#define MS_FLD_COMMIT_LSN		"commit_lsn"
#define MS_FLD_END_LSN			"end_lsn"
#define MS_FLD_COMMIT_TIME		"commit_time"
#define MS_FLD_STREAMED			"streamed"
#define MS_FLD_RELID			"relid"
#define MS_FLD_SCHEMA			"schema"
#define MS_FLD_TABLE			"table"
#define MS_FLD_DOMAIN			"domain"
#define MS_FLD_REPLICA_IDENTITY	"replica_identity"
#define MS_FLD_COLUMNS			"columns"
#define MS_FLD_NEW				"new"
#define MS_FLD_KEY				"key"
#define MS_FLD_KEY_COLUMNS		"key_columns"
#define MS_FLD_UNCHANGED		"unchanged"
#define MS_FLD_RELATIONS		"relations"
#define MS_FLD_PARTITION		"partition"
#define MS_FLD_CASCADE			"cascade"
#define MS_FLD_RESTART_IDENTITY	"restart_identity"
#define MS_FLD_TRANSACTIONAL	"transactional"
#define MS_FLD_PREFIX			"prefix"
#define MS_FLD_CONTENT			"content"
#define MS_FLD_CONTENT_HEX		"content_hex"
#define MS_FLD_IN_DOMAIN		"in_domain"
#define MS_FLD_ROOT_SCHEMA		"root_schema"
#define MS_FLD_ROOT_TABLE		"root_table"
#define MS_FLD_MISSING			"missing"
#define MS_FLD_REWRITTEN		"rewritten"
#define MS_FLD_ATTNUM			"attnum"

#endif							/* MIGRATION_SPLIT_PROTOCOL_H */
