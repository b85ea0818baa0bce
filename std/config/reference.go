package config

import (
	"fmt"
	"strings"

	"github.com/urfave/cli"
)

// FlagReference renders every flag of both roles as a Markdown table: the
// names with aliases, which role takes it, the default and the usage text.
// The README's flag reference is this output, checked by a test.
func FlagReference() string {
	c, s := DefaultClient(), DefaultServer()
	var st parseState
	type row struct{ names, roles, roles0, def, usage string }
	var rows []row
	index := map[string]int{}
	add := func(role string, flags []cli.Flag) {
		for _, f := range flags {
			names, def, usage, hidden := describeFlag(f)
			if i, ok := index[names]; ok {
				if rows[i].roles != role {
					rows[i].roles = "both"
					if rows[i].def != def {
						rows[i].def = fmt.Sprintf("%s %s, %s %s", rows[i].roles0, rows[i].def, role, def)
					}
				}
				continue
			}
			if hidden {
				usage = "(hidden) " + usage
			}
			index[names] = len(rows)
			rows = append(rows, row{names, role, role, def, usage})
		}
	}
	add("client", append(clientFlags(&c), processFlags(&st)...))
	add("server", append(serverFlags(&s), processFlags(&st)...))
	var b strings.Builder
	b.WriteString("| flag | role | default | meaning |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.names, r.roles, r.def, strings.ReplaceAll(r.usage, "|", `\|`))
	}
	return b.String()
}

// describeFlag returns a flag's names as "-a, --long", its default shown
// as code (empty for booleans), usage text and whether it is hidden.
func describeFlag(f cli.Flag) (names, def, usage string, hidden bool) {
	var name string
	switch f := f.(type) {
	case cli.StringFlag:
		name, usage, hidden = f.Name, f.Usage, f.Hidden
		def = fmt.Sprintf("`%q`", f.Value)
		if f.Value == "" {
			def = ""
		}
	case cli.IntFlag:
		name, usage, hidden = f.Name, f.Usage, f.Hidden
		def = fmt.Sprintf("`%d`", f.Value)
	case cli.BoolFlag:
		name, usage, hidden = f.Name, f.Usage, f.Hidden
	default:
		name = f.GetName()
	}
	var parts []string
	for _, n := range strings.Split(name, ",") {
		n = strings.TrimSpace(n)
		if len(n) == 1 {
			parts = append(parts, "`-"+n+"`")
		} else {
			parts = append(parts, "`--"+n+"`")
		}
	}
	return strings.Join(parts, ", "), def, usage, hidden
}
