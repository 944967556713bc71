# update-sections.awk: write an update fragment, src/sql/<capability>--1.0--1.1.sql,
# with every line "--@insert NAME" replaced by the lines between "--@begin
# NAME" and "--@end NAME" of the capability's file, src/sql/<capability>.sql.
#
#	awk -f src/sql/update-sections.awk src/sql/CAP.sql src/sql/CAP--1.0--1.1.sql
#
# So a definition that the update (re)creates exactly as the install script
# does (CREATE OR REPLACE FUNCTION, CREATE VIEW, ...) is written in one file
# only.  A section must not hold another; an unknown or unfinished section
# is an error.  The marker lines themselves are in neither script (the
# Makefile drops them from the install script).
FNR == NR {
	if ($1 == "--@begin") {
		if (cur != "") { printf "%s: section %s begins inside section %s\n", FILENAME, $2, cur > "/dev/stderr"; failed = 1; exit 1 }
		cur = $2; found[cur] = 1; text[cur] = ""
		next
	}
	if ($1 == "--@end") {
		if ($2 != cur) { printf "%s: --@end %s does not end section \"%s\"\n", FILENAME, $2, cur > "/dev/stderr"; failed = 1; exit 1 }
		cur = ""
		next
	}
	if (cur != "")
		text[cur] = text[cur] $0 "\n"
	next
}
FNR == 1 && cur != "" {
	printf "%s: section %s has no --@end\n", ARGV[1], cur > "/dev/stderr"; failed = 1; exit 1
}
$1 == "--@insert" {
	if (!($2 in found)) { printf "%s:%d: no section %s in %s\n", FILENAME, FNR, $2, ARGV[1] > "/dev/stderr"; failed = 1; exit 1 }
	printf "%s", text[$2]
	next
}
{ print }
END { if (failed) exit 1 }
