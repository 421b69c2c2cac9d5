// Command xmlnamesgen writes the ec2sim package's table of XML element
// names. The EC2 Query protocol names response elements irregularly
// (Instance.SecurityGroups is <groupSet>, Instance.State is <instanceState>),
// and the only authority on those names is the SDK's own deserializer, so
// the table is read from the deserializers.go of the SDK version in go.mod
// rather than written by hand. The other Query services answered on the
// simulator's endpoint (ELBv2, whose lists are <member>s) are read the same
// way from their own module.
//
// It keeps only the types reachable from the responses the simulators serve.
// The table is keyed by Go type name, so a name that two services' shapes
// share with different elements fails the generation rather than letting
// one service's names leak into the other's answers.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// source is one SDK module and the output shapes of the actions the
// simulators answer from it.
type source struct {
	module string
	// prefix is the protocol's deserializer prefix: awsEc2query for EC2,
	// awsAwsquery for the AWS Query services.
	prefix string
	roots  []string
}

var sources = []source{
	{module: "github.com/aws/aws-sdk-go-v2/service/ec2", prefix: "awsEc2query", roots: ec2Roots},
	{module: "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2", prefix: "awsAwsquery", roots: []string{
		"DescribeLoadBalancersOutput",
		"DescribeListenersOutput",
	}},
}

// ec2Roots are the output shapes of the EC2 actions the simulator answers.
var ec2Roots = []string{
	"DescribeInstancesOutput",
	"DescribeInstanceTypesOutput",
	"DescribeNetworkInterfacesOutput",
	"DescribeSecurityGroupsOutput",
	"DescribeNetworkAclsOutput",
	"DescribeSubnetsOutput",
	"DescribeTrafficMirrorTargetsOutput",
	"DescribeTrafficMirrorFiltersOutput",
	"DescribeTrafficMirrorSessionsOutput",
	"GetManagedPrefixListEntriesOutput",
	"DescribeManagedPrefixListsOutput",
	"CreateTrafficMirrorSessionOutput",
	"DeleteTrafficMirrorSessionOutput",
	"DescribeVpcEndpointsOutput",
}

var (
	caseRe  = regexp.MustCompile(`case strings\.EqualFold\("([^"]+)", t\.Name\.Local\):`)
	fieldRe = regexp.MustCompile(`sv\.(\w+)`)
)

type member struct {
	xml, field, callee string
}

type fn struct {
	kind     string // "*" struct, "[]" list, "map[string]" map
	typeName string
	members  []member
}

func main() {
	out := flag.String("o", "xmlnames_gen.go", "output file")
	flag.Parse()
	table := map[string]map[string][2]string{}
	for _, src := range sources {
		for typeName, fields := range names(src) {
			if have, ok := table[typeName]; ok && !maps.Equal(have, fields) {
				log.Fatalf("%s: the type name %s is also another service's shape, with other elements; key the table by package", src.module, typeName)
			}
			table[typeName] = fields
		}
	}
	if err := os.WriteFile(*out, render(table), 0o644); err != nil { //nolint:gosec // G306: generated Go source committed to the repository, readable like every other source file; not a secret.
		log.Fatalf("writing %s: %v", *out, err)
	}
}

// names reads src's deserializers and returns, for every struct type
// reachable from its roots, each field's element and list member element.
func names(src source) map[string]map[string][2]string {
	code, err := os.ReadFile(deserializersPath(src.module))
	if err != nil {
		log.Fatalf("reading the SDK's deserializers of %s: %v", src.module, err)
	}
	fns := parse(string(code), src.prefix)
	table := map[string]map[string][2]string{}
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		f, ok := fns[name]
		if !ok {
			return
		}
		if f.kind == "*" {
			fields := map[string][2]string{}
			for _, m := range f.members {
				item := ""
				if c, ok := fns[m.callee]; ok && c.kind == "[]" && len(c.members) > 0 {
					item = c.members[0].xml
				}
				fields[m.field] = [2]string{m.xml, item}
			}
			table[f.typeName] = fields
		}
		for _, m := range f.members {
			if m.callee != "" {
				visit(m.callee)
			}
		}
	}
	for _, r := range src.roots {
		if _, ok := fns[r]; !ok {
			log.Fatalf("%s has no deserializer for %s", src.module, r)
		}
		visit(r)
	}
	return table
}

func deserializersPath(module string) string {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module) //nolint:gosec // G204: module is one of the constant sources above.
	dir, err := cmd.Output()
	if err != nil {
		log.Fatalf("locating the module %s: %v", module, err)
	}
	return filepath.Join(strings.TrimSpace(string(dir)), "deserializers.go")
}

// parse reads every deserializer function of the protocol prefix (see
// source): its shape and, for each element it accepts, the Go field it
// fills and the function that decodes it.
func parse(src, prefix string) map[string]fn {
	funcRe := regexp.MustCompile(`(?m)^func ` + prefix + `_deserialize(?:Document|OpDocument)(\w+)\(v \*(\*|\[\]|map\[string\])(?:types\.)?(\w+), decoder`)
	calleeRe := regexp.MustCompile(prefix + `_deserializeDocument(\w+)\(`)
	fns := map[string]fn{}
	locs := funcRe.FindAllStringSubmatchIndex(src, -1)
	for i, loc := range locs {
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		name := src[loc[2]:loc[3]]
		f := fn{kind: src[loc[4]:loc[5]], typeName: src[loc[6]:loc[7]]}
		body := src[loc[1]:end]
		cases := caseRe.FindAllStringSubmatchIndex(body, -1)
		for j, c := range cases {
			cend := len(body)
			if j+1 < len(cases) {
				cend = cases[j+1][0]
			}
			seg := body[c[1]:cend]
			m := member{xml: body[c[2]:c[3]]}
			if fm := fieldRe.FindStringSubmatch(seg); fm != nil {
				m.field = fm[1]
			}
			if cm := calleeRe.FindStringSubmatch(seg); cm != nil {
				m.callee = cm[1]
			}
			f.members = append(f.members, m)
		}
		fns[name] = f
	}
	return fns
}

func render(table map[string]map[string][2]string) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by xmlnamesgen from the SDK's deserializers.go; DO NOT EDIT.\n\n")
	b.WriteString("package ec2sim\n\n")
	b.WriteString("// xmlNames maps a shape's Go type name and field name to the XML element\n")
	b.WriteString("// its service (EC2, or ELBv2 on the same endpoint) sends for it and, for a\n")
	b.WriteString("// list, the element of each member.\n")
	b.WriteString("var xmlNames = map[string]map[string]xmlName{\n")
	types := make([]string, 0, len(table))
	for t := range table {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(&b, "\t%q: {\n", t)
		fields := make([]string, 0, len(table[t]))
		for f := range table[t] {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			n := table[t][f]
			fmt.Fprintf(&b, "\t\t%q: {%q, %q},\n", f, n[0], n[1])
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatalf("formatting the table: %v", err)
	}
	return out
}
