package trainlib

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"strings"
	"testing"
)

// fileLayers orders the package's files (see "Files" in the package documentation): a file may use what
// files of its own or a lower layer declare, never what a higher layer declares.
var fileLayers = map[string]int{
	// The public API of training.
	"trainer.go": 2, "trainer_config.go": 2,
	// Hyperparameter sweeps of trainers.
	"sweep.go": 3, "sweep_run.go": 3, "sweep_report.go": 3,
	// One Train call.
	"run.go": 1, "loop.go": 1, "oom.go": 1, "evaluate.go": 1, "checkpoint.go": 1, "card.go": 1, "memory.go": 1,
	// Building blocks, which know neither the Trainer nor the run.
	"api.go": 0, "doc.go": 0, "args.go": 0, "strategy.go": 0, "callbacks.go": 0, "state.go": 0, "data.go": 0,
	"step.go": 0, "precision.go": 0, "config.go": 0, "load_trained.go": 0, "graph_cache.go": 0,
	"early_stopping.go": 0, "ood_guard.go": 0, "gradcache.go": 0, "gradients.go": 0,
	"integrity.go": 0, "devices.go": 0,
}

// TestFileLayers checks that no file refers to a package-level name declared in a file of a higher layer
// (for example step.go using a helper of trainer.go), and that every file has a layer.
func TestFileLayers(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	layers := maps.Clone(fileLayers)
	fset := token.NewFileSet()
	declaredIn := map[string]string{} // package-level name → file
	parsed := map[string]*ast.File{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		layer, ok := layers[path]
		if !ok && strings.HasSuffix(path, "_enum.go") {
			layer, ok = 0, true
		}
		if !ok {
			t.Errorf("%s has no layer in fileLayers", path)
			continue
		}
		layers[path] = layer
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed[path] = f
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					declaredIn[d.Name.Name] = path
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						declaredIn[s.Name.Name] = path
					case *ast.ValueSpec:
						for _, n := range s.Names {
							declaredIn[n.Name] = path
						}
					}
				}
			}
		}
	}
	if len(parsed) < 10 {
		t.Fatalf("parsed only %d files", len(parsed))
	}
	for path, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr: // x.Name: Name is a field or method, not a package-level name
				ast.Inspect(n.X, func(m ast.Node) bool { return check(t, fset, path, m, declaredIn, layers) })
				return false
			case *ast.Field: // struct fields and parameters: their names declare nothing package-level
				if n.Type != nil {
					ast.Inspect(n.Type, func(m ast.Node) bool { return check(t, fset, path, m, declaredIn, layers) })
				}
				return false
			case *ast.KeyValueExpr: // struct literal keys are field names
				if _, ok := n.Key.(*ast.Ident); ok {
					ast.Inspect(n.Value, func(m ast.Node) bool { return check(t, fset, path, m, declaredIn, layers) })
					return false
				}
			}
			return check(t, fset, path, n, declaredIn, layers)
		})
	}
}

// check reports an identifier of file path that names a package-level declaration of a higher layer. The
// parser resolves names declared inside the file, so only references to other files are unresolved.
func check(t *testing.T, fset *token.FileSet, path string, n ast.Node, declaredIn map[string]string, layers map[string]int) bool {
	id, ok := n.(*ast.Ident)
	if !ok || id.Obj != nil {
		return true
	}
	if def, ok := declaredIn[id.Name]; ok && layers[def] > layers[path] {
		t.Errorf("%s: %s is declared in %s, a higher layer", fset.Position(id.Pos()), id.Name, def)
	}
	return true
}
