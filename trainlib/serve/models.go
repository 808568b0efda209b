package serve

import (
	"fmt"
	"strings"
	"time"

	"github.com/embedtune/embedtune/trainlib/model"
)

// Model is a model to serve under a name: the "model" field of requests selects it.
type Model struct {
	// Name is what clients send as "model" (OpenAI) and what /v1/models and /info list.
	Name string
	// Model is the loaded sentence-transformers model (a LoRA adapter folder loads as base + adapter
	// and is served as such).
	Model *model.SentenceTransformer
}

// served is a model with its batching queue.
type served struct {
	name    string
	m       *model.SentenceTransformer
	batcher *batcher
	created time.Time
}

// registry holds the served models by name; the first is the default for requests without "model".
type registry struct {
	byName map[string]*served
	order  []*served
}

func newRegistry(models []Model, c *config, met *metrics) (*registry, error) {
	if len(models) == 0 {
		return nil, fmt.Errorf("serve: no model to serve")
	}
	seen := map[string]bool{}
	for i, m := range models {
		switch {
		case m.Model == nil:
			return nil, fmt.Errorf("serve: model %d (%q) is nil", i, m.Name)
		case strings.TrimSpace(m.Name) == "":
			return nil, fmt.Errorf("serve: model %d has an empty name", i)
		case seen[m.Name]:
			return nil, fmt.Errorf("serve: two models are named %q; give each a distinct name", m.Name)
		}
		seen[m.Name] = true
	}
	r := &registry{byName: map[string]*served{}}
	now := time.Now()
	for _, m := range models {
		met.addModel(m.Name)
		s := &served{name: m.Name, m: m.Model, created: now,
			batcher: newBatcher(m.Name, m.Model, m.Model.MaxSeqLength, c, met)}
		r.byName[m.Name] = s
		r.order = append(r.order, s)
	}
	return r, nil
}

// lookup returns the model named name; "" selects the default (first) model.
func (r *registry) lookup(name string) (*served, *apiError) {
	if name == "" {
		return r.order[0], nil
	}
	if s, ok := r.byName[name]; ok {
		return s, nil
	}
	e := errorf(kindNotFound, "model", "The model `%s` does not exist. Served models: %s.", name, strings.Join(r.names(), ", "))
	e.code = "model_not_found"
	return nil, e
}

func (r *registry) names() []string {
	out := make([]string, len(r.order))
	for i, s := range r.order {
		out[i] = s.name
	}
	return out
}

// close drains every model's queue.
func (r *registry) close() {
	for _, s := range r.order {
		s.batcher.close()
	}
}
