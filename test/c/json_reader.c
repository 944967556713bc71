/*-------------------------------------------------------------------------
 *
 * json_reader.c
 *		Test driver of the job's message reader (src/job/message.c):
 *		reads one message per line of standard input and prints, per
 *		line, "ok " and the fields of the Message it gave, or "error "
 *		and the reader's error message.
 *
 * Built and run by test/t/075_job_json_reader.pl, which compares the output
 * with the expected lines.  Bytes outside printable ASCII are printed as
 * \xNN, so that an expected line shows exactly what a value holds.
 *
 * Copyright (c) 2026, migration_split developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "job.h"

/* Print s (or NULL) with every byte outside printable ASCII as \xNN. */
static void
print_value(const char *name, const char *s)
{
	printf(" %s=", name);
	if (s == NULL)
	{
		printf("NULL");
		return;
	}
	putchar('[');
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c < 0x20 || c > 0x7e || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar(']');
}

/* Print the fields of m that were set. */
static void
print_message(const Message *m)
{
	int			i;

	printf("ok action=%c", m->action == MSG_OTHER ? '?' : (char) m->action);
	if (m->relid)
		printf(" relid=%u", m->relid);
	if (m->xid)
		printf(" xid=%llu", m->xid);
	if (m->schema)
		print_value("schema", m->schema);
	if (m->table)
		print_value("table", m->table);
	if (m->commit_lsn)
		print_value("commit_lsn", m->commit_lsn);
	if (m->in_domain)
		printf(" in_domain");
	if (m->cascade)
		printf(" cascade");
	if (m->key_null)
		printf(" key_null");
	if (m->prefix)
		print_value("prefix", m->prefix);
	if (m->content)
		print_value("content", m->content);
	for (i = 0; i < m->ncolumns; i++)
	{
		printf(" column%d:", i);
		print_value("name", m->columns[i].name);
		printf(" typoid=%u%s", m->columns[i].typoid, m->columns[i].key ? " key" : "");
	}
	if (m->newvals)
	{
		printf(" new(%d)", m->nnew);
		for (i = 0; i < m->nnew; i++)
			print_value("v", m->newvals[i]);
	}
	if (m->keyvals)
	{
		printf(" key(%d)", m->nkey);
		for (i = 0; i < m->nkey; i++)
			print_value("v", m->keyvals[i]);
	}
	for (i = 0; i < m->nunchanged; i++)
		printf(" unchanged=%d", m->unchanged[i]);
	for (i = 0; i < m->nrelations; i++)
	{
		printf(" relation%d: relid=%u", i, m->trunc_relids[i]);
		print_value("schema", m->trunc_schemas[i]);
		print_value("table", m->trunc_tables[i]);
		print_value("partition_schema", m->trunc_part_schemas[i]);
		print_value("partition_table", m->trunc_part_tables[i]);
	}
	putchar('\n');
}

int
main(void)
{
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;

	while ((n = getline(&line, &cap, stdin)) > 0)
	{
		Message		m;
		char	   *error = NULL;

		if (line[n - 1] == '\n')
			n--;
		if (message_parse(line, (int) n, &m, &error))
		{
			print_message(&m);
			message_free(&m);
		}
		else
		{
			printf("error %s\n", error);
			pg_free(error);
		}
	}
	free(line);
	return 0;
}
