package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// FileName is the name of the config file in a project folder.
const FileName = "bottle.hcl"

// Options are the inputs of Load besides the file.
type Options struct {
	// Vars are the --var name=value options, as raw strings. A variable
	// without a type or with a primitive type takes the string as it is (and
	// converts it); any other type parses it as an HCL expression, as
	// terraform does.
	Vars map[string]string
	// VarFiles are --var-file paths (HCL files of name = value), relative to
	// the process working directory. Later files win.
	VarFiles []string
	// Env looks up the environment; nil means os.LookupEnv. It serves env(),
	// BOTTLE_VAR_<name> and BOTTLE_BACKEND.
	Env func(string) (string, bool)
	// Unset says what a variable without a default or a given value
	// becomes; the zero value, UnsetError, reports it.
	Unset Unset
}

// Unset says how Load treats a variable that has no value.
type Unset int

const (
	// UnsetError reports every variable without a value (apply, watch).
	UnsetError Unset = iota
	// UnsetLaunch leaves it unknown where only a launch reads it (command,
	// resume_command, env: a plan shows "(known after launch)"), and
	// reports it where loading needs the value (image, cwd, resources).
	UnsetLaunch
	// UnsetUnknown leaves it unknown everywhere and skips the checks that
	// need its value, as terraform validate does.
	UnsetUnknown
)

// Config is a loaded bottle.hcl.
type Config struct {
	// Path is the absolute path of the config file.
	Path string
	// Dir is the folder of the config file; relative paths resolve against it.
	Dir string
	// Agents are the agent blocks by name.
	Agents map[string]*Agent
	// Bottles are the bottle blocks, sorted by name.
	Bottles []*Bottle
	// Variables are the variable blocks with their final values, sorted by name.
	Variables []*Variable
	// Files lists every file read while loading, absolute: the config file,
	// the var files and the targets of file() and templatefile().
	Files []string

	sources map[string][]byte
	ctx     *hcl.EvalContext
}

// Bottle returns the bottle block called name, or nil.
func (c *Config) Bottle(name string) *Bottle {
	for _, b := range c.Bottles {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// Sources maps the file names used in diagnostic ranges to their bytes, for
// hcl.NewDiagnosticTextWriter snippets. It is complete even when Load failed.
func (c *Config) Sources() map[string][]byte {
	return maps.Clone(c.sources)
}

// SourceFiles is Sources in the form hcl.NewDiagnosticTextWriter takes.
func (c *Config) SourceFiles() map[string]*hcl.File {
	files := make(map[string]*hcl.File, len(c.sources))
	for name, src := range c.sources {
		files[name] = &hcl.File{Bytes: src}
	}
	return files
}

// Load reads the config file at path (a folder means <folder>/bottle.hcl).
// Diagnostic ranges name files as given, so a relative path gives relative
// names. Load always returns a non-nil Config, so that Sources can render the
// diagnostics; when they contain errors the rest of it is incomplete and must
// not be used.
func Load(path string, opts Options) (*Config, hcl.Diagnostics) {
	l := newLoader(opts)
	diags := l.run(path)
	l.cfg.Files = l.files.list()
	for name, f := range l.parser.Files() {
		l.cfg.sources[name] = f.Bytes
	}
	return l.cfg, diags
}

// loader holds the state of one Load, stage after stage.
type loader struct {
	opts   Options
	env    func(string) (string, bool)
	parser *hclparse.Parser
	files  *fileSet
	funcs  map[string]function.Function
	cfg    *Config

	vars      map[string]*Variable      // declared variables, by name
	unset     map[string]bool           // declared variables with no value
	unknown   map[*hcl.Attribute]bool   // arguments left unknown by unset variables
	varVals   map[string]cty.Value      // final values, sensitive ones marked
	localDecl map[string]*hcl.Attribute // declared locals, by name
	localVals map[string]cty.Value
}

func newLoader(opts Options) *loader {
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	return &loader{
		opts:      opts,
		env:       env,
		parser:    hclparse.NewParser(),
		files:     &fileSet{},
		cfg:       &Config{Agents: map[string]*Agent{}, sources: map[string][]byte{}},
		vars:      map[string]*Variable{},
		unset:     map[string]bool{},
		unknown:   map[*hcl.Attribute]bool{},
		varVals:   map[string]cty.Value{},
		localDecl: map[string]*hcl.Attribute{},
		localVals: map[string]cty.Value{},
	}
}

// run is the staging of STYLE §3. Every stage runs even after another
// reported errors, so that one run reports every independent mistake (as
// terraform does); what failed in an earlier stage comes out unset or
// unknown, and the later stages say nothing more about it. Only a syntax
// error ends the load, since there is no body to check then.
func (l *loader) run(path string) hcl.Diagnostics {
	file, diags := l.parse(path)
	if diags.HasErrors() {
		return diags
	}
	l.funcs = functions(l.cfg.Dir, l.files, l.env)
	var raw *rawConfig
	stages := []func() hcl.Diagnostics{
		func() (d hcl.Diagnostics) { raw, d = checkSchema(file.Body); return d },
		func() hcl.Diagnostics { return l.variables(raw.variables) },
		func() hcl.Diagnostics { return l.locals(raw.locals) },
		func() hcl.Diagnostics { return l.agents(raw.agents) },
		func() hcl.Diagnostics { return l.bottles(raw.bottles) },
		l.validate,
	}
	for _, stage := range stages {
		diags = append(diags, stage()...)
	}
	return diags
}

// parse is the first stage: find, read and parse the config file.
func (l *loader) parse(path string) (*hcl.File, hcl.Diagnostics) {
	name := filepath.Clean(path)
	if info, err := os.Stat(name); err == nil && info.IsDir() {
		name = filepath.Join(name, FileName)
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = name
	}
	l.cfg.Path, l.cfg.Dir = abs, filepath.Dir(abs)
	src, err := os.ReadFile(name)
	if err != nil {
		summary, detail := "Cannot read configuration file", fmt.Sprintf("Reading %s failed: %s.", name, err)
		if errors.Is(err, fs.ErrNotExist) {
			summary = "Configuration file not found"
			detail = fmt.Sprintf("There is no %s. Run bottle init to create one, or name an existing file.", name)
		}
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}}
	}
	l.files.add(abs)
	return l.parser.ParseHCL(src, name)
}

// sortedKeys returns the keys of m in order, for deterministic diagnostics.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// sortAttributes returns attrs in source order.
func sortAttributes(attrs hcl.Attributes) []*hcl.Attribute {
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Range.Filename != list[j].Range.Filename {
			return list[i].Range.Filename < list[j].Range.Filename
		}
		return list[i].Range.Start.Byte < list[j].Range.Start.Byte
	})
	return list
}
