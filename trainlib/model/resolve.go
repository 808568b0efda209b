package model

import "os"

// ResolveDir returns the local folder Load would read for nameOrDir: nameOrDir itself when it is a
// folder, else the snapshot of the Hub model id in the Hugging Face cache (downloading what is missing,
// or from the cache alone offline). It reads no weights, so it is how a caller finds the files of a
// model before deciding whether to load it (kernel/nb keys its caches on them). Options as for Load
// (WithRevision, WithLogger); WithBackend is ignored.
func ResolveDir(nameOrDir string, opts ...Option) (string, error) {
	o := &options{revision: "main", log: os.Stderr}
	for _, opt := range opts {
		opt(o)
	}
	return resolveModelDir(nameOrDir, o)
}
