package serve

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/embedtune/embedtune/trainlib/model"
)

// Server is the embedding service: an http.Handler with the OpenAI and TEI routes (see the package
// documentation). Create it with [New]; [Server.Close] drains the queues once the HTTP server has
// stopped accepting requests.
type Server struct {
	cfg     config
	models  *registry
	metrics *metrics
	mux     *http.ServeMux
	started time.Time
}

// New returns a Server for models (the first is the default for requests that name none).
func New(models []Model, opts ...Option) (*Server, error) {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	met := newMetrics()
	reg, err := newRegistry(models, &c, met)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: c, models: reg, metrics: met, mux: http.NewServeMux(), started: time.Now()}
	s.routes()
	return s, nil
}

// route is one endpoint: its handler answers with a status and the served model's name (for
// metrics and logs), or an *apiError rendered in the route's flavor.
type route struct {
	pattern string
	flavor  apiFlavor
	public  bool // no API key needed
	handle  func(w http.ResponseWriter, r *http.Request) (model string, err *apiError)
}

func (s *Server) routes() {
	for _, rt := range []route{
		{"POST /v1/embeddings", flavorOpenAI, false, s.openAIEmbeddings},
		{"POST /embeddings", flavorOpenAI, false, s.openAIEmbeddings},
		{"GET /v1/models", flavorOpenAI, false, s.openAIModels},
		{"GET /v1/models/{model...}", flavorOpenAI, false, s.openAIModel},
		{"POST /embed", flavorTEI, false, s.teiEmbed},
		{"POST /{$}", flavorTEI, false, s.teiEmbed}, // TEI answers POST / like /embed (huggingface_hub's InferenceClient posts there).
		{"GET /info", flavorTEI, false, s.teiInfo},
		{"GET /health", flavorTEI, true, s.health},
		{"GET /{$}", flavorTEI, true, s.health}, // TEI's health check on /, as load balancers probe it.
		{"GET /metrics", flavorTEI, true, s.metricsRoute},
	} {
		s.mux.Handle(rt.pattern, s.wrap(rt))
	}
	s.mux.Handle("/", s.wrap(route{"/", flavorTEI, true, s.notFound}))
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the batching queues after the texts already queued are embedded. Call it after
// http.Server.Shutdown has returned (so no handler is still submitting); requests arriving later
// are answered 503.
func (s *Server) Close() error {
	s.models.close()
	return nil
}

// Models returns the names of the served models, the default first.
func (s *Server) Models() []string { return s.models.names() }

// wrap adds authentication, the per-request timeout, metrics and the request log line.
func (s *Server) wrap(rt route) http.Handler {
	name := strings.TrimPrefix(strings.TrimPrefix(rt.pattern, "POST "), "GET ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		var modelName string
		var aerr *apiError
		if !rt.public && s.cfg.apiKey != "" {
			aerr = s.checkKey(r)
		}
		if aerr == nil {
			if s.cfg.requestTimeout > 0 && !rt.public {
				ctx, cancel := context.WithTimeout(r.Context(), s.cfg.requestTimeout)
				defer cancel()
				r = r.WithContext(ctx)
			}
			modelName, aerr = rt.handle(rec, r)
		}
		if aerr != nil {
			flavor := rt.flavor
			if rt.pattern == "/" && strings.HasPrefix(r.URL.Path, "/v1/") {
				flavor = flavorOpenAI
			}
			aerr.write(rec, flavor)
		}
		d := time.Since(start)
		status := rec.status
		if errors.Is(r.Context().Err(), context.Canceled) && aerr != nil {
			status = 499 // Client closed the request (nginx's convention): nobody read the answer.
		}
		s.metrics.observeRequest(name, modelName, status, d)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		if rt.public && status < 400 {
			level = slog.LevelDebug // Health checks and scrapes would drown the log.
		}
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Float64("ms", float64(d.Microseconds())/1000)}
		if modelName != "" {
			attrs = append(attrs, slog.String("model", modelName))
		}
		if rec.inputs > 0 {
			attrs = append(attrs, slog.Int("inputs", rec.inputs), slog.Int("tokens", rec.tokens))
		}
		if aerr != nil {
			attrs = append(attrs, slog.String("error", aerr.message))
		}
		s.cfg.logger.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// checkKey compares the bearer token with the API key in constant time.
func (s *Server) checkKey(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(h, "bearer ")
	}
	if !ok || token == "" {
		e := errorf(kindUnauthorized, "", "You didn't provide an API key. Send it in the header \"Authorization: Bearer KEY\".")
		e.code = "invalid_api_key"
		return e
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.cfg.apiKey)) != 1 {
		e := errorf(kindUnauthorized, "", "Incorrect API key provided.")
		e.code = "invalid_api_key"
		return e
	}
	return nil
}

// statusRecorder remembers the status code and the request's size for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status         int
	inputs, tokens int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// embed tokenizes, queues and waits: the path both embedding routes share. It returns the raw
// embeddings (before postprocessing) and the token count.
func (s *Server) embed(w http.ResponseWriter, r *http.Request, sv *served, texts []string, o textOptions) ([][]float32, int, *apiError) {
	p, aerr := sv.prepare(texts, o, &s.cfg)
	if aerr != nil {
		return nil, 0, aerr
	}
	if rec, ok := w.(*statusRecorder); ok {
		rec.inputs, rec.tokens = len(texts), p.tokens
	}
	j := newJob(r.Context(), p.seqs, p.promptLen)
	if retry, err := sv.batcher.submit(j); err != nil {
		if errors.Is(err, errQueueFull) {
			e := errorf(kindOverloaded, "", "Model `%s` is overloaded: its queue holds the most texts allowed (serve.WithMaxQueue, embedtune serve --max-queue); retry after %d s.",
				sv.name, retry)
			e.retryAfter = retry
			return nil, 0, e
		}
		return nil, 0, errorf(kindUnavailable, "", "the server is shutting down")
	}
	emb, err := j.wait(sv.batcher)
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded):
		e := errorf(kindTimeout, "", "the request did not finish within %s (serve.WithRequestTimeout, embedtune serve --timeout)", s.cfg.requestTimeout)
		e.retryAfter, e.code = 1, "timeout"
		return nil, 0, e
	case errors.Is(err, context.Canceled):
		return nil, 0, errorf(kindUnavailable, "", "the request was cancelled")
	default:
		return nil, 0, errorf(kindBackend, "", "embedding failed: %v", err)
	}
	s.metrics.observeInputs(sv.name, len(texts), p.tokens)
	return emb, p.tokens, nil
}

// health answers TEI's /health: 200 while every model's last forward pass succeeded. After a failure
// it embeds a probe text through the queue (as TEI's health check does), so a model recovers without
// waiting for traffic that a load balancer would no longer send.
func (s *Server) health(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	for _, sv := range s.models.order {
		if sv.batcher.healthErr() == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		p, aerr := sv.prepare([]string{"health check"}, textOptions{param: "inputs", truncate: true}, &s.cfg)
		if aerr == nil {
			j := newJob(ctx, p.seqs, p.promptLen)
			if _, err := sv.batcher.submit(j); err == nil {
				_, err = j.wait(sv.batcher)
			}
		}
		cancel()
		if err := sv.batcher.healthErr(); err != nil {
			return sv.name, errorf(kindUnavailable, "", "model `%s` is unhealthy: its last forward pass failed: %v", sv.name, err)
		}
	}
	w.WriteHeader(http.StatusOK)
	return "", nil
}

func (s *Server) metricsRoute(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w)
	return "", nil
}

// notFound answers requests no route matched: 405 (with Allow) for a known path, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	allowed := map[string]string{"/v1/embeddings": "POST", "/embeddings": "POST", "/embed": "POST", "/": "GET, POST",
		"/v1/models": "GET", "/info": "GET", "/health": "GET", "/metrics": "GET"}
	if m, ok := allowed[r.URL.Path]; ok || strings.HasPrefix(r.URL.Path, "/v1/models/") {
		if !ok {
			m = "GET"
		}
		w.Header().Set("Allow", m)
		return "", errorf(kindMethod, "", "%s %s is not supported; use %s", r.Method, r.URL.Path, m)
	}
	return "", errorf(kindNotFound, "", "no route %s %s; embedtune serves POST /v1/embeddings, GET /v1/models, POST /embed, GET /info, GET /health, GET /metrics",
		r.Method, r.URL.Path)
}

// modelInfo describes a served model (in /info and /v1/models/{id}).
func modelInfo(sv *served) map[string]any {
	m := sv.m
	info := map[string]any{
		"name": sv.name, "source": m.Source, "dimension": m.Dim(), "max_seq_length": m.MaxSeqLength,
		"pooling": strings.Join(m.Pooling.Modes, "+"), "normalize": m.Normalize, "similarity_fn_name": m.SimilarityFn,
		"prompts": nonNilPrompts(m), "default_prompt_name": nullable(m.DefaultPromptName),
	}
	if a := m.Adapter; a != nil {
		info["adapter"] = map[string]any{"peft_type": "LORA", "r": a.Config.R, "lora_alpha": a.Config.Alpha, "base_model_name_or_path": a.BaseModel}
	}
	return info
}

func nonNilPrompts(m *model.SentenceTransformer) map[string]string {
	if m.Prompts == nil {
		return map[string]string{}
	}
	return m.Prompts
}
