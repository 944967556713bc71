# Checks of boundary_graph() output shared by the TAP tests: Graphviz
# renders a DOT graph without a word on stderr, and a Mermaid flowchart
# keeps to the syntax boundary_graph() emits.
package GraphCheck;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;

our @EXPORT = qw(dot_renders mermaid_problems);

# Render DOT text with "dot -Tsvg"; return (ok, stderr, svg).  ok means exit
# 0, nothing on stderr (dot reports lost edges and spline trouble there
# without failing) and an <svg> document.
sub dot_renders
{
	my ($dot) = @_;
	my ($svg, $err) = ('', '');
	my $ok = IPC::Run::run([ 'dot', '-Tsvg' ], '<', \$dot, '>', \$svg, '2>', \$err);
	return ($ok && $err eq '' && $svg =~ /<svg[\s>]/ && $svg =~ /<\/svg>\s*\z/, $err, $svg);
}

# The lines of a Mermaid flowchart that do not follow the grammar of the
# statements boundary_graph() writes (node declarations with quoted labels,
# subgraphs, edges with quoted labels, linkStyle, classDef, class), and
# references to undeclared nodes or links; an empty list when it is valid.
sub mermaid_problems
{
	my ($text) = @_;
	my @lines = split /\n/, $text;
	my @problems;
	my (%declared, @used, @linkrefs);
	my $edges = 0;
	my $depth = 0;
	my $label = qr/"[^"\n]*"/;
	push @problems, "first line is not \"flowchart LR\"" unless @lines && shift(@lines) eq 'flowchart LR';
	for my $l (@lines)
	{
		my $indent = ' ' x (4 * ($depth + 1));
		if ($l =~ /^    subgraph (d_[a-z0-9_]+) \[$label\]$/ && $depth == 0)
		{
			$depth++;
		}
		elsif ($l eq '    end' && $depth == 1)
		{
			$depth--;
		}
		elsif ($l =~ /^\Q$indent\E(n\d+)(?:\[$label\]|\(\[$label\]\))$/)
		{
			push @problems, "node $1 declared twice" if $declared{$1}++;
		}
		elsif ($l =~ /^    (n\d+) (?:-->|==>\|$label\||-\.->\|$label\||-\.-\|$label\||-->\|$label\|) (n\d+)$/
			&& $depth == 0)
		{
			push @used, $1, $2;
			$edges++;
		}
		elsif ($l =~ /^    linkStyle (\d+(?:,\d+)*) stroke:#[0-9a-f]{6}(?:,stroke-width:[0-9.]+px)?$/)
		{
			push @linkrefs, split /,/, $1;
		}
		elsif ($l eq '    classDef unowned stroke-dasharray:5 5') { }
		elsif ($l =~ /^    class (n\d+(?:,n\d+)*) unowned$/)
		{
			push @used, split /,/, $1;
		}
		else
		{
			push @problems, "bad line: $l";
		}
	}
	push @problems, "unclosed subgraph" if $depth;
	push @problems, "undeclared node $_" for grep { !$declared{$_} } @used;
	push @problems, "linkStyle of missing link $_" for grep { $_ >= $edges } @linkrefs;
	return @problems;
}

1;
