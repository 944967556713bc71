# The job's reader of the plugin's JSON messages (src/job/message.c), which
# replaced libpgcommon's parser in 1.1: test/c/json_reader.c parses one
# message per line and prints the Message, or the error; every line of
# output is compared with the expected one.  Valid messages of the plugin
# itself are read by every job test; here are the escapes, numbers,
# literals, nesting and malformed inputs the plugin never writes.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);

my $pg_config = $ENV{PG_CONFIG} || 'pg_config';
my %cfg;
for my $opt (qw(includedir includedir-server pkglibdir libdir cc))
{
	chomp($cfg{$opt} = `$pg_config --$opt`);
}
my $dir = tempdir(CLEANUP => 1);
my $bin = "$dir/json_reader";
my ($cc) = split(/\s+/, $cfg{cc});
command_ok(
	[
		$cc, '-Wall', '-Werror', '-Wno-unused-parameter',
		'-Isrc/job', '-Isrc', "-I$cfg{'includedir-server'}",
		"-I$cfg{includedir}", "-I$cfg{includedir}/internal",
		'test/c/json_reader.c', 'src/job/message.c',
		'-o', $bin, "-L$cfg{pkglibdir}", "-L$cfg{libdir}",
		'-lpgcommon', '-lpgport', '-lpq'
	],
	'the test driver builds');

# input line, expected output line, what it shows (<TAB> stands for a tab)
my @cases = (
	[ '{"action":"I","relid":7,"schema":"s","table":"t","new":["1",null,""],"key":["1"]}',
	  'ok action=I relid=7 new(3) v=[1] v=NULL v=[] key(1) v=[1]',
	  'a change: values, a JSON null, an empty string; its relid names the relation, not schema and table' ],
	[ '{"action":"O","relid":7,"schema":"s","table":"t\\u00e9","in_domain":true}',
	  'ok action=O relid=7 schema=[s] table=[t\xc3\xa9] in_domain',
	  'an ownership event keeps schema and table (one with an escape)' ],
	[ ' { "action" : "D" , "relid" : 7 , "key" : [ "a" , "b" ] } ',
	  'ok action=D relid=7 key(2) v=[a] v=[b]',
	  'white space everywhere' ],
	[ '{"action":"I","new":["q\\"b\\\\s\\/f\\bx\\fx\\nx\\rx\\tx"]}',
	  'ok action=I new(1) v=[q"b\\x5cs/f\\x08x\\x0cx\\x0ax\\x0dx\\x09x]',
	  'every two-character escape' ],
	[ '{"action":"I","new":["\\u00e9\\u20AC\\ud83d\\ude00","é€😀"]}',
	  'ok action=I new(2) v=[\\xc3\\xa9\\xe2\\x82\\xac\\xf0\\x9f\\x98\\x80] v=[\\xc3\\xa9\\xe2\\x82\\xac\\xf0\\x9f\\x98\\x80]',
	  '\\u escapes and a surrogate pair become UTF-8, as the same characters unescaped' ],
	[ '{"action":"I","new":["\\u0000"]}',
	  'error invalid message from the output plugin: \\u0000 cannot be converted to text at byte 22',
	  '\\u0000 is refused' ],
	[ '{"action":"I","new":["\\ud83d"]}',
	  'error invalid message from the output plugin: a high surrogate must be followed by a low surrogate at byte 22',
	  'a lone high surrogate' ],
	[ '{"action":"I","new":["\\ud83dx\\ude00"]}',
	  'error invalid message from the output plugin: a high surrogate must be followed by a low surrogate at byte 22',
	  'a high surrogate followed by something else' ],
	[ '{"action":"I","new":["\\ude00"]}',
	  'error invalid message from the output plugin: a low surrogate must follow a high surrogate at byte 22',
	  'a lone low surrogate' ],
	[ '{"action":"I","new":["\\u00g0"]}',
	  'error invalid message from the output plugin: \\u must be followed by four hexadecimal digits at byte 22',
	  '\\u with a non-hexadecimal digit' ],
	[ '{"action":"I","new":["\\x"]}',
	  'error invalid message from the output plugin: invalid escape at byte 22',
	  'an unknown escape' ],
	[ '{"action":"I","new":["tab<TAB>raw"]}',
	  'error invalid message from the output plugin: unescaped control character in a string at byte 25',
	  'an unescaped control character (a tab)' ],
	[ '{"action":"I","new":["open',
	  'error invalid message from the output plugin: unterminated string at byte 26',
	  'an unterminated string' ],
	[ '{"action":"U","relid":1,"xid":42,"new":["1"],"key":null,"unchanged":[2,3]}',
	  'ok action=U relid=1 xid=42 key_null new(1) v=[1] unchanged=2 unchanged=3',
	  'a null key, unchanged columns' ],
	[ '{"action":"U","key":[],"new":[]}',
	  'ok action=U new(0) key(0)',
	  'empty arrays are empty, not null' ],
	[ '{"action":"C","xid":18446744073709551615}',
	  'ok action=C xid=18446744073709551615',
	  'the largest transaction id' ],
	[ '{"action":"C","xid":01}',
	  'error invalid message from the output plugin: invalid number at byte 20',
	  'a number with a leading zero' ],
	[ '{"action":"C","xid":1.}',
	  'error invalid message from the output plugin: invalid number at byte 20',
	  'a number ending in a point' ],
	[ '{"action":"C","xid":-}',
	  'error invalid message from the output plugin: invalid number at byte 20',
	  'a minus sign alone' ],
	[ '{"action":"C","xid":2e}',
	  'error invalid message from the output plugin: invalid number at byte 20',
	  'an exponent without digits' ],
	[ '{"action":"C","xid":1.5e+3,"other":-0.25E-2}',
	  'ok action=C xid=1',
	  'a number with fraction and exponent (read as the format reads xid)' ],
	[ '{"action":"O","in_domain":tru}',
	  'error invalid message from the output plugin: invalid token at byte 26',
	  'a misspelt literal' ],
	[ '{"action":"O","in_domain":true,"cascade":false,"x":nulls}',
	  'error invalid message from the output plugin: invalid token at byte 51',
	  'a literal followed by letters' ],
	[ '{"action":"O","in_domain":true,"domain":null} x',
	  'error invalid message from the output plugin: text after the end of the message at byte 46',
	  'text after the message' ],
	[ '{"action":"B",}',
	  'error invalid message from the output plugin: expected a field name at byte 14',
	  'a comma before the closing brace' ],
	[ '{"action" "B"}',
	  'error invalid message from the output plugin: expected ":" at byte 10',
	  'a missing colon' ],
	[ '{action:"B"}',
	  'error invalid message from the output plugin: expected a field name at byte 1',
	  'an unquoted field name' ],
	[ '{"a\\u0063tion":"M","prefix":"p","content":"c","a_field_name_longer_than_thirty_one_bytes":{"nested":[1,{"deep":[]}]}}',
	  'ok action=M prefix=[p] content=[c]',
	  'an escaped field name; a long unknown field with nested values is ignored' ],
	[ '{"action":"T","relations":[{"relid":1,"schema":"a","table":"b","partition":{"schema":"c","table":"d"}},{"relid":2,"schema":"e","table":"f"}],"cascade":true}',
	  'ok action=T cascade relation0: relid=1 schema=[a] table=[b] partition_schema=[c] partition_table=[d] relation1: relid=2 schema=[e] table=[f] partition_schema=NULL partition_table=NULL',
	  'TRUNCATE of a partitioned root and of a table' ],
	[ '{"action":"R","relid":3,"columns":[{"name":"a\\nb","type":"int","typoid":23,"key":true},{"name":"c","typoid":25}]}',
	  'ok action=R relid=3 column0: name=[a\\x0ab] typoid=23 key column1: name=[c] typoid=25',
	  'a relation with a newline in a column name' ],
	[ '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
	  'ok action=?',
	  '100 levels of nesting' ],
	[ '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
	  'error invalid message from the output plugin: nested too deeply at byte 100',
	  '101 levels of nesting' ],
	[ '',
	  'error invalid message from the output plugin: unexpected end of message at byte 0',
	  'an empty message' ],
	[ '"just a string"',
	  'ok action=?',
	  'a string alone' ],
	[ '{}',
	  'ok action=?',
	  'an empty object' ],
);
$_->[0] =~ s/<TAB>/\t/g for @cases;

my $input = join('', map { "$_->[0]\n" } @cases);
my ($out, $err) = ('', '');
IPC::Run::run([$bin], '<', \$input, '>', \$out, '2>', \$err);
is($? >> 8, 0, 'the driver read every line');
is($err, '', 'nothing on standard error');
my @got = split(/\n/, $out, -1);
pop @got if @got && $got[-1] eq '';
is(scalar(@got), scalar(@cases), 'one output line per input line');
for my $i (0 .. $#cases)
{
	is($got[$i], $cases[$i][1], $cases[$i][2]);
}

done_testing();
