package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// maxFileSize caps what file and templatefile read, so that a path such as
// /dev/zero or a huge log cannot exhaust memory.
const maxFileSize = 16 << 20

// functions returns the function table. It is deterministic on purpose: no
// timestamp, uuid or network, and nothing whose output grows exponentially
// (setproduct), so the same inputs always give the same plan.
func functions(dir string, files *fileSet, env func(string) (string, bool)) map[string]function.Function {
	fns := map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"log": stdlib.LogFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc, "pow": stdlib.PowFunc, "signum": stdlib.SignumFunc,

		"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"join": stdlib.JoinFunc, "lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc,
		"regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc, "regex_replace": stdlib.RegexReplaceFunc,
		"replace": stdlib.ReplaceFunc, "split": stdlib.SplitFunc, "strlen": stdlib.StrlenFunc,
		"strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc, "title": stdlib.TitleFunc,
		"trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc,
		"trimspace": stdlib.TrimSpaceFunc,

		"coalesce": stdlib.CoalesceFunc, "coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
		"element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc, "keys": stdlib.KeysFunc,
		"length": stdlib.LengthFunc, "lookup": stdlib.LookupFunc, "merge": stdlib.MergeFunc,
		"range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc, "slice": stdlib.SliceFunc,
		"sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,

		"jsonencode": stdlib.JSONEncodeFunc, "jsondecode": stdlib.JSONDecodeFunc, "csvdecode": stdlib.CSVDecodeFunc,
		"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool": stdlib.MakeToFunc(cty.Bool), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)), "tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),

		"base64encode": base64EncodeFunc, "base64decode": base64DecodeFunc, "sha256": sha256Func,
		"can": tryfunc.CanFunc, "try": tryfunc.TryFunc,

		"env":  envFunc(env),
		"file": fileFunc(dir, files),
	}
	// A template may call every function but templatefile, as in terraform:
	// that rules out template recursion.
	fns["templatefile"] = templateFileFunc(dir, files, maps.Clone(fns))
	return fns
}

// envFunc is env(NAME): the value of an environment variable of the process
// that loads the config, or "" when it is unset (so that an optional key
// needs no try()). The result is sensitive: environment variables are where
// secrets usually come from.
func envFunc(env func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or \"\" when it is unset.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, _ := env(args[0].AsString())
			return cty.StringVal(v).Mark(sensitive), nil
		},
	})
}

func fileFunc(dir string, files *fileSet) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a file, relative to the config file's folder.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := readFile(dir, files, args[0].AsString())
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(s), nil
		},
	})
}

func templateFileFunc(dir string, files *fileSet, fns map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Description: "Renders a template file, relative to the config file's folder, with the given variables.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			src, err := readFile(dir, files, name)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			vars := args[1]
			if ty := vars.Type(); !ty.IsObjectType() && !ty.IsMapType() {
				return cty.NilVal, function.NewArgErrorf(1, "must be a map or an object of template variables")
			}
			ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: fns}
			if !vars.IsNull() {
				for k, v := range vars.AsValueMap() {
					if !hclsyntax.ValidIdentifier(k) {
						return cty.NilVal, function.NewArgErrorf(1, "%q is not a valid template variable name", k)
					}
					ctx.Variables[k] = v
				}
			}
			expr, diags := hclsyntax.ParseTemplate([]byte(src), resolvePath(dir, name), hcl.InitialPos)
			if diags.HasErrors() {
				return cty.NilVal, function.NewArgError(0, diagsError(diags))
			}
			for _, t := range expr.Variables() {
				if _, ok := ctx.Variables[t.RootName()]; !ok {
					r := t.SourceRange()
					return cty.NilVal, function.NewArgErrorf(1, "the template uses %q at %s:%d, but vars has no such key",
						t.RootName(), filepath.Base(r.Filename), r.Start.Line)
				}
			}
			val, diags := expr.Value(ctx)
			if diags.HasErrors() {
				return cty.NilVal, diagsError(diags)
			}
			// env() inside the template marks its result sensitive; keep
			// that mark on the rendered string.
			val, marks := val.UnmarkDeep()
			val, err = convert.Convert(val, cty.String)
			if err != nil || val.IsNull() {
				return cty.NilVal, fmt.Errorf("the template must produce a string")
			}
			return val.WithMarks(marks), nil
		},
	})
}

// diagsError turns the diagnostics of a template into a function error: a
// function can only return a Go error, so the template's position goes into
// the message.
func diagsError(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if d.Subject != nil {
			return fmt.Errorf("%s:%d: %s: %s", filepath.Base(d.Subject.Filename), d.Subject.Start.Line, d.Summary, d.Detail)
		}
		return fmt.Errorf("%s: %s", d.Summary, d.Detail)
	}
	return errors.New("invalid template")
}

var base64EncodeFunc = function.New(&function.Spec{
	Description: "Encodes a string in standard base64.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
	},
})

var base64DecodeFunc = function.New(&function.Spec{
	Description: "Decodes standard base64 into a UTF-8 string.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		b, err := base64.StdEncoding.DecodeString(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgErrorf(0, "invalid base64: %s", err)
		}
		if !utf8.Valid(b) {
			return cty.NilVal, function.NewArgErrorf(0, "the decoded bytes are not valid UTF-8")
		}
		return cty.StringVal(string(b)), nil
	},
})

var sha256Func = function.New(&function.Spec{
	Description: "Returns the SHA-256 of a string, in hexadecimal.",
	Params:      []function.Parameter{{Name: "str", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		sum := sha256.Sum256([]byte(args[0].AsString()))
		return cty.StringVal(hex.EncodeToString(sum[:])), nil
	},
})

// resolvePath makes p absolute against dir, the config file's folder.
func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// readFile reads a regular UTF-8 file of at most maxFileSize bytes and
// records it in files.
func readFile(dir string, files *fileSet, p string) (string, error) {
	full := resolvePath(dir, p)
	f, err := os.Open(full)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no file exists at %s; a relative path is resolved against the folder of the config file, %s", full, dir)
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", full)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	switch {
	case err != nil:
		return "", err
	case len(b) > maxFileSize:
		return "", fmt.Errorf("%s is larger than %d MiB", full, maxFileSize>>20)
	case !utf8.Valid(b):
		return "", fmt.Errorf("%s is not valid UTF-8 text", full)
	}
	files.add(full)
	return string(b), nil
}

// fileSet is the ordered set of files read. Launch may evaluate file() again
// from several goroutines, hence the lock.
type fileSet struct {
	mu    sync.Mutex
	paths []string
	seen  map[string]bool
}

func (s *fileSet) add(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if !s.seen[p] {
		s.seen[p] = true
		s.paths = append(s.paths, p)
	}
}

func (s *fileSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}
