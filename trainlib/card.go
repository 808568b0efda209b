package trainlib

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/embedtune/embedtune/internal/pyfmt"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

// cardIgnoredArgs are the training arguments sentence-transformers leaves out of model cards.
var cardIgnoredArgs = map[string]bool{"output_dir": true, "logging_dir": true, "logging_strategy": true, "logging_first_step": true,
	"logging_steps": true, "evaluation_strategy": true, "eval_strategy": true, "eval_steps": true, "eval_delay": true,
	"save_strategy": true, "save_steps": true, "save_total_limit": true, "metric_for_best_model": true, "greater_is_better": true,
	"report_to": true, "samples_per_label": true, "show_progress_bar": true, "do_train": true, "do_eval": true, "do_test": true,
	"run_name": true, "hub_token": true, "push_to_hub_token": true}

// cardRecorder fills the model's card data during a run, as sentence-transformers' model card
// callback does: datasets, loss and tags when the run starts, hyperparameters, training and
// evaluation logs, the evaluators' last results, times and the best step. The final model's README.md
// (and each checkpoint's) is rendered from it by model.Save.
type cardRecorder struct {
	BaseCallback
	j        *job
	card     *model.ModelCardData
	start    time.Time
	evalSecs float64
}

// newCardRecorder prepares the card of a run: the model's own card data, with the datasets and the
// loss of this run.
func newCardRecorder(j *job) *cardRecorder {
	m := j.model
	if m.CardData == nil {
		m.CardData = &model.ModelCardData{}
	}
	c := m.CardData
	c.Trained = true
	addTags(c, "generated_from_trainer")
	c.TrainDatasets = cardDatasets(m, j.trainDataset, c.TrainDatasets)
	if j.evalDataset != nil {
		c.EvalDatasets = cardDatasets(m, j.evalDataset, c.EvalDatasets)
	} else {
		c.EvalDatasets = nil
	}
	size := 0
	for _, d := range c.TrainDatasets {
		size += d.Size
	}
	addTags(c, fmt.Sprintf("dataset_size:%d", size))
	cols := j.trainDataset.Columns()
	if slices.Contains(cols, "query") || slices.Contains(cols, "question") {
		c.IRModel = true
	}
	c.Losses = []model.CardLoss{cardLoss(j.loss)}
	addTags(c, "loss:"+j.loss.Name())
	for _, ev := range flattenEvaluators(j.evaluator) {
		if _, ok := ev.(*evaluation.InformationRetrievalEvaluator); ok {
			c.IRModel = true
		}
	}
	c.EvalResults, c.TrainingLogs, c.BestModelStep = nil, nil, 0
	return &cardRecorder{j: j, card: c}
}

func addTags(c *model.ModelCardData, tags ...string) {
	for _, t := range tags {
		if !slices.Contains(c.Tags, t) {
			c.Tags = append(c.Tags, t)
		}
	}
}

// cardDatasets describes a dataset: the given name and Hub id (when one entry was given, as
// sentence-transformers keeps user metadata of the same count), size, columns, statistics of the first
// 100 rows and the first 3 rows.
func cardDatasets(m *model.SentenceTransformer, d *datasets.Dataset, given []model.CardDataset) []model.CardDataset {
	var out model.CardDataset
	if len(given) == 1 {
		out = given[0]
	}
	out.Size, out.Columns, out.Stats, out.Examples = d.Len(), d.Columns(), nil, nil
	head := d.Head(100)
	for _, name := range out.Columns {
		col, _ := head.Column(name)
		out.Stats = append(out.Stats, columnStats(m, col))
	}
	for i := range min(3, d.Len()) {
		row, _ := d.Row(i)
		var cells []string
		for _, name := range out.Columns {
			cells = append(cells, pyValue(row[name]))
		}
		out.Examples = append(out.Examples, cells)
	}
	return []model.CardDataset{out}
}

// columnStats is sentence-transformers' column statistics: token counts of texts (with the special
// tokens, truncated to max_seq_length), shares of integer and boolean values, the range of floats,
// list lengths.
func columnStats(m *model.SentenceTransformer, c *datasets.Column) model.CardColumnStats {
	minMeanMax := func(vals []float64, unit string, f func(float64) string) []model.CardValue {
		if len(vals) == 0 {
			return nil
		}
		lo, hi, sum := vals[0], vals[0], 0.0
		for _, v := range vals {
			lo, hi, sum = math.Min(lo, v), math.Max(hi, v), sum+v
		}
		return []model.CardValue{{Name: "min", Value: f(lo) + unit}, {Name: "mean", Value: f(sum/float64(len(vals))) + unit},
			{Name: "max", Value: f(hi) + unit}}
	}
	round2 := func(v float64) string {
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 2, 64), 64)
		return pyfmt.Repr(r)
	}
	switch c.Type() {
	case datasets.String:
		texts := make([]string, 0, c.Len())
		for i := range c.Len() {
			texts = append(texts, c.Str(i))
		}
		ids, _, err := m.Tokenize(texts, "", 0)
		if err != nil {
			return model.CardColumnStats{Type: "string"}
		}
		lens := make([]float64, len(ids))
		for i, s := range ids {
			lens[i] = float64(len(s))
		}
		return model.CardColumnStats{Type: "string", Details: minMeanMax(lens, " tokens", round2)}
	case datasets.Int, datasets.Bool:
		counts := map[string]int{}
		var keys []string
		for i := range c.Len() {
			k := pyValue(c.Value(i))
			if counts[k] == 0 {
				keys = append(keys, k)
			}
			counts[k]++
		}
		slices.Sort(keys)
		typ := "int"
		if c.Type() == datasets.Bool {
			typ = "bool"
		}
		var d []model.CardValue
		for _, k := range keys {
			approx := ""
			if len(keys) > 1 {
				approx = "~"
			}
			d = append(d, model.CardValue{Name: k, Value: approx + pyfmt.Fixed(100*float64(counts[k])/float64(c.Len()), 2) + "%"})
		}
		return model.CardColumnStats{Type: typ, Details: d}
	case datasets.Float:
		var vals []float64
		for i := range c.Len() {
			vals = append(vals, c.Float(i))
		}
		return model.CardColumnStats{Type: "float", Details: minMeanMax(vals, "", round2)}
	case datasets.StringList:
		var lens []float64
		for i := range c.Len() {
			lens = append(lens, float64(len(c.List(i))))
		}
		if d := minMeanMax(lens, " elements", round2); len(d) > 0 && d[0].Value == d[2].Value {
			return model.CardColumnStats{Type: "list", Details: []model.CardValue{{Name: "size", Value: d[0].Value}}}
		} else {
			return model.CardColumnStats{Type: "list", Details: d}
		}
	}
	return model.CardColumnStats{Type: c.Type().String()}
}

// pyValue formats a cell as Python's str() would.
func pyValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return pyfmt.Repr(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = pyQuote(s)
		}
		if len(q) > 5 {
			return "[" + strings.Join(q[:5], ", ") + ", ...]"
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// pyQuote is Python's repr of a str.
func pyQuote(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	return q + strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, q, `\`+q).Replace(s) + q
}

// lossConfigOrder is the order of sentence-transformers' get_config_dict keys; others follow sorted.
var lossConfigOrder = []string{"scale", "similarity_fct", "gather_across_devices", "directions", "partition_mode", "hardness_mode", "hardness_strength"}

// cardLoss describes the loss: its name, parameters as JSON values, and its citation.
func cardLoss(l losses.Loss) model.CardLoss {
	cl := model.CardLoss{Name: l.Name()}
	cfg := l.Config()
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if i := slices.Index(lossConfigOrder, k); i >= 0 {
			return i
		}
		return len(lossConfigOrder)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		cl.Config = append(cl.Config, model.CardValue{Name: k, Value: jsonValue(cfg[k])})
	}
	if c, ok := l.(losses.Citer); ok {
		cl.Citation = c.Citation()
	}
	return cl
}

// jsonValue is a config value as Python's json.dumps(value, indent=4) writes it: floats keep their
// ".0", lists and objects one item per line.
func jsonValue(v any) string { return pyJSON(reflect.ValueOf(v), 0) }

func pyJSON(v reflect.Value, level int) string {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return "null"
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return "null"
	}
	pad := strings.Repeat("    ", level+1)
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return pyfmt.Repr(f)
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return "[]"
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i] = pad + pyJSON(v.Index(i), level+1)
		}
		return "[\n" + strings.Join(items, ",\n") + "\n" + strings.Repeat("    ", level) + "]"
	case reflect.Map:
		if v.Len() == 0 {
			return "{}"
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, fmt.Sprint(k.Interface()))
		}
		slices.Sort(keys)
		items := make([]string, len(keys))
		for i, k := range keys {
			kb, _ := json.Marshal(k)
			items[i] = pad + string(kb) + ": " + pyJSON(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), level+1)
		}
		return "{\n" + strings.Join(items, ",\n") + "\n" + strings.Repeat("    ", level) + "}"
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return strconv.Quote(fmt.Sprint(v.Interface()))
	}
	return string(b)
}

// flattenEvaluators lists the evaluators that report into the card: a SequentialEvaluator's members,
// a NanoBEIREvaluator's per-dataset evaluators followed by itself (with more than one dataset, as
// sentence-transformers stores only then its aggregate), any other evaluator itself.
func flattenEvaluators(e evaluation.Evaluator) []evaluation.Evaluator {
	switch x := e.(type) {
	case nil:
		return nil
	case *evaluation.SequentialEvaluator:
		var out []evaluation.Evaluator
		for _, sub := range x.Evaluators() {
			out = append(out, flattenEvaluators(sub)...)
		}
		return out
	case *evaluation.NanoBEIREvaluator:
		var out []evaluation.Evaluator
		subs := x.Evaluators()
		for _, sub := range subs {
			out = append(out, sub)
		}
		if len(subs) > 1 {
			out = append(out, x)
		}
		return out
	}
	return []evaluation.Evaluator{e}
}

// evaluatorClass is the sentence-transformers class name the card links to.
func evaluatorClass(e evaluation.Evaluator) string {
	t := reflect.TypeOf(e)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// OnTrainBegin records the hyperparameters and the start time.
func (r *cardRecorder) OnTrainBegin(_ *TrainerState, a *TrainingArguments) {
	r.start = time.Now()
	all, err := argsMap(*a)
	if err != nil {
		return
	}
	def, _ := argsMap(DefaultTrainingArguments(a.OutputDir))
	r.card.AllHyperparameters, r.card.NonDefaultHyperparameters = nil, nil
	for _, kv := range all {
		if cardIgnoredArgs[kv.Name] {
			continue
		}
		r.card.AllHyperparameters = append(r.card.AllHyperparameters, kv)
		if i := slices.IndexFunc(def, func(d model.CardValue) bool { return d.Name == kv.Name }); i < 0 || def[i].Value != kv.Value {
			r.card.NonDefaultHyperparameters = append(r.card.NonDefaultHyperparameters, kv)
		}
	}
}

// argsMap lists the arguments in field order, valued as Python's str() prints them (floats with their
// ".0", booleans True/False, unset values None).
func argsMap(a TrainingArguments) ([]model.CardValue, error) {
	var out []model.CardValue
	v := reflect.ValueOf(a)
	t := v.Type()
	for i := range t.NumField() {
		key := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		if key == "" || key == "-" || !t.Field(i).IsExported() {
			continue
		}
		out = append(out, model.CardValue{Name: key, Value: pyArg(v.Field(i))})
	}
	return out, nil
}

// pyArg formats a value as Python's str().
func pyArg(v reflect.Value) string {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "None"
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Bool:
		return pyValue(v.Bool())
	case reflect.Float32, reflect.Float64:
		return pyfmt.Repr(v.Float())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.String:
		return v.String()
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyQuote(k) + ": " + pyQuote(fmt.Sprint(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())).Interface()))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}

// logRow returns the card's log row of the current step, appending one when needed.
func (r *cardRecorder) logRow(s *TrainerState) *model.CardLogRow {
	c := r.card
	if n := len(c.TrainingLogs); n > 0 && c.TrainingLogs[n-1].Step == s.GlobalStep {
		return &c.TrainingLogs[n-1]
	}
	c.TrainingLogs = append(c.TrainingLogs, model.CardLogRow{Epoch: s.Epoch, Step: s.GlobalStep})
	return &c.TrainingLogs[len(c.TrainingLogs)-1]
}

func setLog(row *model.CardLogRow, key string, v float64) {
	for i := range row.Values {
		if row.Values[i].Key == key {
			row.Values[i].Value = v
			return
		}
	}
	row.Values = append(row.Values, model.CardMetric{Key: key, Value: v})
}

// OnLog records the training loss.
func (r *cardRecorder) OnLog(s *TrainerState, _ *TrainingArguments, entry map[string]float64) {
	if v, ok := entry["loss"]; ok {
		setLog(r.logRow(s), "Training Loss", v)
	}
}

// OnEvaluate records the validation loss, the evaluators' results and their primary metrics.
func (r *cardRecorder) OnEvaluate(s *TrainerState, _ *TrainingArguments, metrics map[string]float64) {
	r.evalSecs += metrics["eval_runtime"]
	row := r.logRow(s)
	if v, ok := metrics["eval_loss"]; ok {
		setLog(row, "Validation Loss", v)
	}
	evs := flattenEvaluators(r.j.evaluator)
	byEval := make([][]model.CardMetric, len(evs))
	for k, v := range metrics {
		if !strings.HasPrefix(k, "eval_") || k == "eval_loss" || k == "eval_runtime" || k == "eval_samples_per_second" ||
			k == "eval_steps_per_second" || k == "eval_"+evaluation.SequentialScoreKey {
			continue
		}
		owner, best := -1, -1
		for i, ev := range evs { // the evaluator whose name is the longest prefix of the key
			n := ev.Name()
			if (n == "" || strings.HasPrefix(k, "eval_"+n+"_")) && len(n) > best {
				owner, best = i, len(n)
			}
		}
		if owner >= 0 {
			key := strings.TrimPrefix(k, "eval_")
			if n := evs[owner].Name(); n != "" {
				key = strings.TrimPrefix(key, n+"_")
			}
			byEval[owner] = append(byEval[owner], model.CardMetric{Key: key, Value: v})
		}
	}
	var results []model.CardEvalResult
	for i, ev := range evs {
		if len(byEval[i]) == 0 {
			continue
		}
		sortMetricKeys(byEval[i])
		name, primary := ev.Name(), ev.PrimaryMetric()
		res := model.CardEvalResult{Evaluator: evaluatorClass(ev), Name: name, Metrics: byEval[i], PrimaryMetric: primary}
		if name != "" {
			res.PrimaryMetric = strings.TrimPrefix(primary, name+"_")
		}
		results = append(results, res)
		if v, ok := metrics["eval_"+primary]; ok && primary != "" {
			setLog(row, primary, v)
		}
	}
	r.card.EvalResults = results
}

// sortMetricKeys orders metrics as sentence-transformers' evaluators return them: by score function,
// then accuracy, precision, recall, ndcg, mrr, map, each by k; other keys after, by name.
func sortMetricKeys(ms []model.CardMetric) {
	kinds := []string{"accuracy", "precision", "recall", "ndcg", "mrr", "map"}
	parse := func(key string) (fn string, kind, k int, ok bool) {
		at := strings.LastIndexByte(key, '@')
		us := strings.LastIndexByte(key, '_')
		if at < 0 || us < 0 || us > at {
			return "", 0, 0, false
		}
		kind = slices.Index(kinds, key[us+1:at])
		k, err := strconv.Atoi(key[at+1:])
		return key[:us], kind, k, kind >= 0 && err == nil
	}
	slices.SortStableFunc(ms, func(a, b model.CardMetric) int {
		fa, ka, na, oka := parse(a.Key)
		fb, kb, nb, okb := parse(b.Key)
		switch {
		case oka && okb:
			if fa != fb {
				return strings.Compare(fa, fb)
			}
			if ka != kb {
				return ka - kb
			}
			return na - nb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// finish sets the times and, when the best checkpoint was loaded, its step; the run calls it before
// saving the final model.
func (r *cardRecorder) finish(s *TrainerState, a *TrainingArguments) {
	total := time.Since(r.start).Seconds()
	r.card.EvaluationSeconds = r.evalSecs
	r.card.TrainingSeconds = math.Max(0, total-r.evalSecs)
	if a.LoadBestModelAtEnd && s.BestModelCheckpoint != nil {
		if i := strings.LastIndexByte(*s.BestModelCheckpoint, '-'); i >= 0 {
			if step, err := strconv.Atoi((*s.BestModelCheckpoint)[i+1:]); err == nil {
				r.card.BestModelStep = step
			}
		}
	}
}
