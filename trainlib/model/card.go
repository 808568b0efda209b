package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/embedtune/embedtune/internal/pyfmt"
	"gopkg.in/yaml.v3"
)

// defaultCardTags are sentence-transformers' default tags of a dense embedding model.
var defaultCardTags = []string{"sentence-transformers", "sentence-similarity", "feature-extraction", "dense"}

// defaultTaskName is sentence-transformers' task description of a (non-retrieval) embedding model.
const defaultTaskName = "semantic textual similarity, semantic search, paraphrase mining, classification, clustering, and more"

// sentenceTransformersCitation is the citation every sentence-transformers card carries.
const sentenceTransformersCitation = `@inproceedings{reimers-2019-sentence-bert,
    title = "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
    author = "Reimers, Nils and Gurevych, Iryna",
    booktitle = "Proceedings of the 2019 Conference on Empirical Methods in Natural Language Processing",
    month = "11",
    year = "2019",
    publisher = "Association for Computational Linguistics",
    url = "https://arxiv.org/abs/1908.10084",
}`

// ModelCard renders the model card, README.md, in sentence-transformers' layout: Hugging Face
// metadata between "---" lines (language, license, library_name, tags, datasets, metrics,
// pipeline_tag, model-index with the evaluation results, base_model), then the model details, usage
// in Python (sentence-transformers) and in Go (embedtune), the evaluation tables, the training details
// (datasets with sizes, statistics and samples; loss and parameters; hyperparameters; logs; times),
// framework versions and citations. It never contains absolute local paths or tokens: local datasets
// and models are named by their base name.
func (m *SentenceTransformer) ModelCard() string {
	c := m.cardData()
	var b strings.Builder
	b.WriteString("---\n# For reference on model card metadata, see the spec: https://github.com/huggingface/hub-docs/blob/main/modelcard.md?plain=1\n# Doc / guide: https://huggingface.co/docs/hub/model-cards\n")
	b.WriteString(m.cardYAML(c))
	b.WriteString("---\n\n")
	fmt.Fprintf(&b, "# %s\n\n", c.ModelName)
	b.WriteString("This is a [sentence-transformers](https://www.SBERT.net) model")
	if c.BaseModel != "" {
		fmt.Fprintf(&b, " finetuned from [%s](https://huggingface.co/%s)", c.BaseModel, c.BaseModel)
	} else {
		b.WriteString(" trained")
	}
	if named := namedDatasets(c.TrainDatasets); len(named) > 0 {
		b.WriteString(" on the ")
		for i, d := range named {
			b.WriteString(datasetLink(d))
			if i < len(named)-2 {
				b.WriteString(", ")
			} else if i == len(named)-2 {
				b.WriteString(" and ")
			}
		}
		b.WriteString(" dataset")
		if len(named) > 1 {
			b.WriteString("s")
		}
	}
	fmt.Fprintf(&b, ". It maps inputs to a %d-dimensional dense vector space and can be used for %s. It was trained with [embedtune](https://github.com/embedtune/embedtune), in Go.\n\n", m.Dim(), c.TaskName)

	b.WriteString("## Model Details\n\n### Model Description\n- **Model Type:** Sentence Transformer\n")
	if c.BaseModel != "" {
		fmt.Fprintf(&b, "- **Base model:** [%s](https://huggingface.co/%s)", c.BaseModel, c.BaseModel)
		if c.BaseModelRevision != "" {
			fmt.Fprintf(&b, " <!-- at revision %s -->", c.BaseModelRevision)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("<!-- - **Base model:** [Unknown](https://huggingface.co/unknown) -->\n")
	}
	fmt.Fprintf(&b, "- **Maximum Sequence Length:** %d tokens\n- **Output Dimensionality:** %d dimensions\n- **Similarity Function:** %s\n- **Supported Modality:** Text\n",
		m.MaxSeqLength, m.Dim(), similarityDisplayName(m.SimilarityFn))
	if named := namedDatasets(c.TrainDatasets); len(named) > 0 {
		b.WriteString("- **Training Dataset")
		if len(named) > 1 {
			b.WriteString("s")
		}
		b.WriteString(":**\n")
		for _, d := range named {
			fmt.Fprintf(&b, "    - %s\n", datasetLink(d))
		}
	} else {
		b.WriteString("<!-- - **Training Dataset:** Unknown -->\n")
	}
	if len(c.Language) > 0 {
		plural := ""
		if len(c.Language) > 1 {
			plural = "s"
		}
		fmt.Fprintf(&b, "- **Language%s:** %s\n", plural, strings.Join(c.Language, ", "))
	} else {
		b.WriteString("<!-- - **Language:** Unknown -->\n")
	}
	if c.License != "" {
		fmt.Fprintf(&b, "- **License:** %s\n", c.License)
	} else {
		b.WriteString("<!-- - **License:** Unknown -->\n")
	}
	b.WriteString("\n### Model Sources\n\n- **Documentation:** [Sentence Transformers Documentation](https://sbert.net)\n" +
		"- **Repository:** [Sentence Transformers on GitHub](https://github.com/huggingface/sentence-transformers)\n" +
		"- **Hugging Face:** [Sentence Transformers on Hugging Face](https://huggingface.co/models?library=sentence-transformers)\n" +
		"- **Trained with:** [embedtune](https://github.com/embedtune/embedtune) (Go)\n\n")
	fmt.Fprintf(&b, "### Full Model Architecture\n\n```\n%s```\n\n", m.Architecture())

	b.WriteString("## Usage\n\n### Direct Usage (Sentence Transformers)\n\nFirst install the Sentence Transformers library:\n\n```bash\npip install -U sentence-transformers\n```\nThen you can load this model and run inference.\n")
	b.WriteString(m.pythonSnippet(c))
	b.WriteString("\n\n### Direct Usage (embedtune, Go)\n\nThe model loads in Go with [embedtune](https://github.com/embedtune/embedtune), with the same embeddings:\n\n")
	b.WriteString(m.goSnippet(c))
	b.WriteString("\n\n<!--\n### Direct Usage (Transformers)\n\n<details><summary>Click to see the direct usage in Transformers</summary>\n\n</details>\n-->\n\n" +
		"<!--\n### Downstream Usage (Sentence Transformers)\n\nYou can finetune this model on your own dataset.\n\n<details><summary>Click to expand</summary>\n\n</details>\n-->\n\n" +
		"<!--\n### Out-of-Scope Use\n\n*List how the model may foreseeably be misused and address what users ought not to do with the model.*\n-->\n")
	if len(c.EvalResults) > 0 {
		b.WriteString("\n## Evaluation\n\n### Metrics\n")
		for _, g := range groupEvalResults(c.EvalResults) {
			fmt.Fprintf(&b, "\n#### %s\n\n* Dataset%s: %s\n", evaluatorDescription(g.evaluator), pluralS(len(g.names)), codeList(g.names))
			fmt.Fprintf(&b, "* Evaluated with [<code>%s</code>](https://sbert.net/docs/package_reference/sentence_transformer/evaluation.html#sentence_transformers.sentence_transformer.evaluation.%s)\n\n",
				g.evaluator, g.evaluator)
			b.WriteString(g.table)
		}
	}
	b.WriteString("\n<!--\n## Bias, Risks and Limitations\n\n*What are the known or foreseeable issues stemming from this model? You could also flag here known failure cases or weaknesses of the model.*\n-->\n\n" +
		"<!--\n### Recommendations\n\n*What are recommendations with respect to the foreseeable issues? For example, filtering explicit content.*\n-->\n\n## Training Details\n")
	for _, dl := range []struct {
		kind string
		list []CardDataset
	}{{"training", c.TrainDatasets}, {"evaluation", c.EvalDatasets}} {
		if len(dl.list) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s Dataset%s\n", strings.ToUpper(dl.kind[:1])+dl.kind[1:], pluralS(len(dl.list)))
		for _, d := range dl.list {
			b.WriteString(m.cardDatasetSection(c, d, dl.kind))
		}
	}
	if len(c.AllHyperparameters) > 0 {
		b.WriteString("\n### Training Hyperparameters\n")
		if len(c.NonDefaultHyperparameters) > 0 {
			b.WriteString("#### Non-Default Hyperparameters\n\n")
			for _, p := range c.NonDefaultHyperparameters {
				fmt.Fprintf(&b, "- `%s`: %s\n", p.Name, p.Value)
			}
			b.WriteString("\n")
		}
		b.WriteString("#### All Hyperparameters\n<details><summary>Click to expand</summary>\n\n")
		for _, p := range c.AllHyperparameters {
			fmt.Fprintf(&b, "- `%s`: %s\n", p.Name, p.Value)
		}
		b.WriteString("\n</details>\n")
	}
	if len(c.TrainingLogs) > 0 {
		table, bold := trainingLogsTable(c)
		b.WriteString("\n### Training Logs\n")
		hide := len(c.TrainingLogs) > 100
		if hide {
			b.WriteString("<details><summary>Click to expand</summary>\n\n")
		}
		b.WriteString(table)
		if bold {
			b.WriteString("\n* The bold row denotes the saved checkpoint.")
		}
		if hide {
			b.WriteString("\n</details>")
		}
		b.WriteString("\n")
	}
	if c.TrainingSeconds > 0 {
		fmt.Fprintf(&b, "\n### Training Time\n- **Training**: %s\n", formatDuration(c.TrainingSeconds))
		if c.EvaluationSeconds > 0 {
			fmt.Fprintf(&b, "- **Evaluation**: %s\n- **Total**: %s\n", formatDuration(c.EvaluationSeconds), formatDuration(c.TrainingSeconds+c.EvaluationSeconds))
		}
	}
	b.WriteString("\n### Framework Versions\n")
	for _, v := range m.frameworkVersions() {
		fmt.Fprintf(&b, "- %s: %s\n", v.Name, v.Value)
	}
	b.WriteString("\n## Additional Resources\n\n" +
		"- [Training and Finetuning Embedding Models with Sentence Transformers](https://huggingface.co/blog/train-sentence-transformers): the guide to the training recipe this model follows.\n" +
		"- [embedtune](https://github.com/embedtune/embedtune): fine-tuning and serving sentence-transformers models in Go.\n")
	b.WriteString("\n## Citation\n\n### BibTeX\n")
	for _, cit := range cardCitations(c) {
		fmt.Fprintf(&b, "\n#### %s\n```bibtex\n%s\n```\n", cit.Name, strings.TrimSpace(cit.Value))
	}
	b.WriteString("\n<!--\n## Glossary\n\n*Clearly define terms in order to be accessible across audiences.*\n-->\n\n" +
		"<!--\n## Model Card Authors\n\n*Lists the people who create the model card, providing recognition and accountability for the detailed work that goes into its construction.*\n-->\n\n" +
		"<!--\n## Model Card Contact\n\n*Provides a way for people who have updates to the Model Card, suggestions, or questions, to contact the Model Card authors.*\n-->")
	return b.String()
}

// cardData returns the card data with the defaults filled in.
func (m *SentenceTransformer) cardData() ModelCardData {
	var c ModelCardData
	if m.CardData != nil {
		c = *m.CardData
	}
	if c.BaseModel == "" {
		c.BaseModel, c.BaseModelRevision = m.baseModelID()
	}
	if c.ModelName == "" {
		c.ModelName = "SentenceTransformer"
		if c.BaseModel != "" {
			c.ModelName += " based on " + c.BaseModel
		}
	}
	for _, name := range []string{"query", "document", "passage", "corpus"} {
		if m.Prompts[name] != "" {
			c.IRModel = true
		}
	}
	if c.TaskName == "" {
		c.TaskName = defaultTaskName
		if c.IRModel {
			c.TaskName = "retrieval"
		}
	}
	tags := slices.Clone(defaultCardTags)
	for _, t := range c.Tags {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	c.Tags = tags
	return c
}

// hubCachePath matches a Hugging Face cache snapshot folder: …/models--org--name/snapshots/<sha>.
var hubCachePath = regexp.MustCompile(`models--([^/]+?)--([^/]+)/snapshots/([0-9a-f]{40})`)

// baseModelID returns the Hub id (and revision) the model was loaded from, when known: the source
// when it is a Hub id, the Hugging Face cache folder's id, or embedtune's fetched-model provenance.
func (m *SentenceTransformer) baseModelID() (id, revision string) {
	if m.Source != "" && looksLikeRepoID(m.Source) && !fileExists(m.Source) {
		if g := hubCachePath.FindStringSubmatch(filepath.ToSlash(m.Dir)); g != nil {
			return g[1] + "/" + g[2], g[3]
		}
		return m.Source, ""
	}
	if g := hubCachePath.FindStringSubmatch(filepath.ToSlash(m.Dir)); g != nil {
		return g[1] + "/" + g[2], g[3]
	}
	if m.Dir != "" {
		var prov struct {
			Upstream string `json:"upstream_model"`
		}
		if data, err := os.ReadFile(filepath.Join(m.Dir, "embedtune_provenance.json")); err == nil &&
			json.Unmarshal(data, &prov) == nil && looksLikeRepoID(prov.Upstream) {
			return prov.Upstream, ""
		}
	}
	return "", ""
}

// similarityDisplayName is sentence-transformers' name of a similarity function.
func similarityDisplayName(fn string) string {
	switch fn {
	case "", "cosine":
		return "Cosine Similarity"
	case "dot":
		return "Dot Product"
	case "euclidean":
		return "Euclidean Distance"
	case "manhattan":
		return "Manhattan Distance"
	}
	words := strings.Split(fn, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

func namedDatasets(ds []CardDataset) []CardDataset {
	var out []CardDataset
	for _, d := range ds {
		if d.Name != "" {
			out = append(out, d)
		}
	}
	return out
}

func datasetLink(d CardDataset) string {
	if d.ID != "" {
		return fmt.Sprintf("[%s](https://huggingface.co/datasets/%s)", d.Name, d.ID)
	}
	return d.Name
}

func pluralS(n int) string {
	if n > 1 {
		return "s"
	}
	return ""
}

// codeList is "`a`", "`a` and `b`", "`a`, `b` and `c`".
func codeList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// evaluatorDescription is sentence-transformers' description of an evaluator class:
// "InformationRetrievalEvaluator" → "Information Retrieval".
var camelBoundary = regexp.MustCompile(`([a-z])([A-Z])`)

func evaluatorDescription(class string) string {
	if strings.HasPrefix(class, "CE") {
		class = "CrossEncoder" + class[2:]
	}
	if i := strings.Index(class, "Evaluator"); i >= 0 {
		class = class[:i]
	}
	return camelBoundary.ReplaceAllString(class, "$1 $2")
}

// markdownTable is transformers' make_markdown_table: padded columns, ":---:" rule (written as
// sentence-transformers post-processes it, "-:|" becoming "--|" where asked).
func markdownTable(header []string, rows [][]string, leftAlign bool) string {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = runeLen(h)
	}
	for _, r := range rows {
		for i, v := range r {
			widths[i] = max(widths[i], runeLen(v))
		}
	}
	line := func(vals []string) string {
		var s strings.Builder
		for i, v := range vals {
			s.WriteString("| " + v + strings.Repeat(" ", widths[i]-runeLen(v)+1))
		}
		return s.String() + "|\n"
	}
	var b strings.Builder
	b.WriteString(line(header))
	for _, w := range widths {
		b.WriteString("|:" + strings.Repeat("-", w))
		if leftAlign {
			b.WriteString("-")
		} else {
			b.WriteString(":")
		}
	}
	b.WriteString("|\n")
	for _, r := range rows {
		b.WriteString(line(r))
	}
	return b.String()
}

func runeLen(s string) int { return len([]rune(s)) }

// formatLog is sentence-transformers' format_log: floats rounded to 4 decimals (Python's round, then
// str).
func formatLog(v float64) string { return pyfmt.Repr(roundHalfEven(v, 4)) }

// roundHalfEven rounds v to n decimals as Python's round does on the float's exact value.
func roundHalfEven(v float64, n int) float64 {
	s := strconv.FormatFloat(v, 'f', n, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}

type evalGroup struct {
	evaluator string
	names     []string
	table     string
}

// groupEvalResults renders one table per evaluator, merging evaluators of the same class and metrics
// into one table with a column per dataset, as sentence-transformers does.
func groupEvalResults(results []CardEvalResult) []evalGroup {
	type group struct {
		evaluator string
		keys      []string
		primary   string
		results   []CardEvalResult
	}
	var groups []*group
	for _, r := range results {
		keys := make([]string, len(r.Metrics))
		for i, mt := range r.Metrics {
			keys[i] = mt.Key
		}
		var g *group
		for _, cand := range groups {
			if cand.evaluator == r.Evaluator && slices.Equal(cand.keys, keys) && cand.primary == r.PrimaryMetric {
				g = cand
			}
		}
		if g == nil {
			g = &group{evaluator: r.Evaluator, keys: keys, primary: r.PrimaryMetric}
			groups = append(groups, g)
		}
		g.results = append(g.results, r)
	}
	var out []evalGroup
	for _, g := range groups {
		header := []string{"Metric"}
		var names []string
		for _, r := range g.results {
			names = append(names, r.Name)
		}
		if len(g.results) == 1 {
			header = append(header, "Value")
		} else {
			header = append(header, names...)
		}
		var rows [][]string
		for i, k := range g.keys {
			bold := k == g.primary
			row := []string{k}
			if bold {
				row[0] = "**" + k + "**"
			}
			for _, r := range g.results {
				v := formatLog(r.Metrics[i].Value)
				if bold {
					v = "**" + v + "**"
				}
				row = append(row, v)
			}
			rows = append(rows, row)
		}
		out = append(out, evalGroup{evaluator: g.evaluator, names: names, table: markdownTable(header, rows, true)})
	}
	return out
}

// trainingLogsTable renders the training logs; bold reports whether a row is marked as the best.
func trainingLogsTable(c ModelCardData) (string, bool) {
	var cols []string
	for _, r := range c.TrainingLogs {
		for _, v := range r.Values {
			if !slices.Contains(cols, v.Key) {
				cols = append(cols, v.Key)
			}
		}
	}
	rank := func(k string) int {
		switch {
		case k == "Training Loss":
			return 0
		case k == "Validation Loss":
			return 1
		case strings.HasSuffix(k, "loss"):
			return 2
		}
		return 3
	}
	slices.SortStableFunc(cols, func(a, b string) int { return rank(a) - rank(b) })
	header := append([]string{"Epoch", "Step"}, cols...)
	var rows [][]string
	bold := false
	for _, r := range c.TrainingLogs {
		best := c.BestModelStep > 0 && r.Step == c.BestModelStep
		cell := func(s string) string {
			if best {
				return "**" + s + "**"
			}
			return s
		}
		row := []string{cell(maybeRound(r.Epoch)), cell(strconv.Itoa(r.Step))}
		for _, k := range cols {
			v := "-"
			for _, x := range r.Values {
				if x.Key == k {
					v = maybeRound(x.Value)
				}
			}
			row = append(row, cell(v))
		}
		bold = bold || best
		rows = append(rows, row)
	}
	return markdownTable(header, rows, false), bold
}

// maybeRound is transformers' _maybe_round: more than 4 decimals are shown as 4.
func maybeRound(v float64) string {
	s := pyfmt.Repr(v)
	if i := strings.IndexByte(s, '.'); i >= 0 && !strings.ContainsAny(s, "e") && len(s)-i-1 > 4 {
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
	return s
}

// formatDuration is sentence-transformers' format_duration: "12.3 seconds", "4.5 minutes", ….
func formatDuration(sec float64) string {
	switch {
	case sec < 60:
		return fmt.Sprintf("%.1f seconds", sec)
	case sec < 3600:
		return fmt.Sprintf("%.1f minutes", sec/60)
	case sec < 86400:
		return fmt.Sprintf("%.1f hours", sec/3600)
	}
	return fmt.Sprintf("%.1f days", sec/86400)
}

// cardDatasetSection renders one dataset of the training details.
func (m *SentenceTransformer) cardDatasetSection(c ModelCardData, d CardDataset, kind string) string {
	var b strings.Builder
	name := d.Name
	if name == "" {
		name = "Unnamed Dataset"
	}
	fmt.Fprintf(&b, "\n#### %s\n\n", name)
	if d.Name != "" {
		b.WriteString("* Dataset: " + datasetLink(d))
		if d.Revision != "" && d.ID != "" {
			fmt.Fprintf(&b, " at [%s](https://huggingface.co/datasets/%s/tree/%s)", d.Revision[:min(7, len(d.Revision))], d.ID, d.Revision)
		}
		b.WriteString("\n")
	}
	if d.Size > 0 {
		fmt.Fprintf(&b, "* Size: %s %s samples\n", pyfmt.Thousands(d.Size), kind)
	}
	cols := make([]string, len(d.Columns))
	for i, col := range d.Columns {
		cols[i] = "<code>" + col + "</code>"
	}
	b.WriteString("* Columns: ")
	switch len(cols) {
	case 0:
	case 1:
		b.WriteString(cols[0])
	case 2:
		b.WriteString(cols[0] + " and " + cols[1])
	default:
		b.WriteString(strings.Join(cols[:len(cols)-1], ", ") + ", and " + cols[len(cols)-1])
	}
	b.WriteString("\n")
	if len(d.Stats) == len(d.Columns) && len(d.Stats) > 0 {
		fmt.Fprintf(&b, "* Approximate statistics based on the first %d samples:\n", min(d.Size, 100))
		header := append([]string{""}, d.Columns...)
		typeRow, modRow, detailRow := []string{"type"}, []string{"modality"}, []string{"details"}
		for _, s := range d.Stats {
			typeRow = append(typeRow, s.Type)
			modRow = append(modRow, "text")
			var items []string
			for _, v := range s.Details {
				items = append(items, v.Name+": "+v.Value)
			}
			cell := ""
			if len(items) > 0 {
				cell = "<ul><li>" + strings.Join(items, "</li><li>") + "</li></ul>"
			}
			detailRow = append(detailRow, cell)
		}
		b.WriteString(indentLines(markdownTable(header, [][]string{typeRow, modRow, detailRow}, true), "  "))
	}
	if len(d.Examples) > 0 {
		b.WriteString("* Samples:\n")
		var rows [][]string
		for _, ex := range d.Examples {
			row := make([]string, len(ex))
			for i, v := range ex {
				row[i] = "<code>" + exampleCell(v) + "</code>"
			}
			rows = append(rows, row)
		}
		b.WriteString(indentLines(markdownTable(d.Columns, rows, true), "  "))
	}
	for _, l := range c.Losses {
		fmt.Fprintf(&b, "* Loss: [<code>%s</code>](https://sbert.net/docs/package_reference/sentence_transformer/losses.html#%s)", l.Name, strings.ToLower(l.Name))
		if len(l.Config) > 0 {
			b.WriteString(" with these parameters:\n")
			var js strings.Builder
			js.WriteString("```json\n{\n")
			for i, p := range l.Config {
				comma := ","
				if i == len(l.Config)-1 {
					comma = ""
				}
				fmt.Fprintf(&js, "    %q: %s%s\n", p.Name, strings.ReplaceAll(p.Value, "\n", "\n    "), comma)
			}
			js.WriteString("}\n```")
			b.WriteString(indentLines(js.String()+"\n", "  "))
		} else {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// exampleCell formats a sample value for the samples table, as sentence-transformers does: long
// texts cut at 1000 characters, newlines as <br>, pipes escaped.
func exampleCell(v string) string {
	if r := []rune(v); len(r) > 1000 {
		v = string(r[:1000]) + "..."
	}
	return strings.ReplaceAll(strings.ReplaceAll(v, "\n", "<br>"), "|", "\\|")
}

func indentLines(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			b.WriteString(prefix)
		}
		b.WriteString(l)
	}
	return b.String()
}

// cardCitations lists the citations: Sentence Transformers, then each loss's (losses sharing a
// citation are listed together).
func cardCitations(c ModelCardData) []CardValue {
	out := []CardValue{{Name: "Sentence Transformers", Value: sentenceTransformersCitation}}
	for _, l := range c.Losses {
		if l.Citation == "" {
			continue
		}
		merged := false
		for i := range out {
			if strings.TrimSpace(out[i].Value) == strings.TrimSpace(l.Citation) {
				out[i].Name += " and " + l.Name
				merged = true
			}
		}
		if !merged {
			out = append(out, CardValue{Name: l.Name, Value: l.Citation})
		}
	}
	return out
}

// pythonSnippet is sentence-transformers' usage snippet.
func (m *SentenceTransformer) pythonSnippet(c ModelCardData) string {
	id := c.ModelID
	if id == "" {
		id = "sentence_transformers_model_id"
	}
	var b strings.Builder
	b.WriteString("```python\nfrom sentence_transformers import SentenceTransformer\n\n# Download from the 🤗 Hub\n")
	fmt.Fprintf(&b, "model = SentenceTransformer(%q)\n# Run inference\n", id)
	if c.IRModel {
		ex := irExamples()
		fmt.Fprintf(&b, "queries = [\n    %s,\n]\ndocuments = [\n", pyStr(ex[0]))
		for _, d := range ex[1:] {
			fmt.Fprintf(&b, "    %s,\n", pyStr(d))
		}
		fmt.Fprintf(&b, "]\nquery_embeddings = model.encode_query(queries)\ndocument_embeddings = model.encode_document(documents)\nprint(query_embeddings.shape, document_embeddings.shape)\n# [1, %d] [%d, %d]\n\n# Get the similarity scores for the embeddings\nsimilarities = model.similarity(query_embeddings, document_embeddings)\nprint(similarities.shape)\n# [1, %d]\n```",
			m.Dim(), len(ex)-1, m.Dim(), len(ex)-1)
		return b.String()
	}
	ex := plainExamples()
	b.WriteString("sentences = [\n")
	for _, s := range ex {
		fmt.Fprintf(&b, "    %s,\n", pyStr(s))
	}
	fmt.Fprintf(&b, "]\nembeddings = model.encode(sentences)\nprint(embeddings.shape)\n# [%d, %d]\n\n# Get the similarity scores for the embeddings\nsimilarities = model.similarity(embeddings, embeddings)\nprint(similarities.shape)\n# [%d, %d]\n```",
		len(ex), m.Dim(), len(ex), len(ex))
	return b.String()
}

// goSnippet is the same usage with embedtune.
func (m *SentenceTransformer) goSnippet(c ModelCardData) string {
	id := c.ModelID
	if id == "" {
		id = "path/to/this/model"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "```go\nm, err := trainlib.LoadModel(%q) // a Hub id or this folder\nif err != nil {\n\treturn err\n}\n", id)
	if c.IRModel {
		ex := irExamples()
		fmt.Fprintf(&b, "queries, err := m.EncodeQuery([]string{%q}, nil)\nif err != nil {\n\treturn err\n}\ndocuments, err := m.EncodeDocument([]string{\n", ex[0])
		for _, d := range ex[1:] {
			fmt.Fprintf(&b, "\t%q,\n", d)
		}
		fmt.Fprintf(&b, "}, nil)\nif err != nil {\n\treturn err\n}\nfmt.Println(len(queries[0]), len(documents)) // %d %d\n```", m.Dim(), len(ex)-1)
		return b.String()
	}
	ex := plainExamples()
	b.WriteString("embeddings, err := m.Encode([]string{\n")
	for _, s := range ex {
		fmt.Fprintf(&b, "\t%q,\n", s)
	}
	fmt.Fprintf(&b, "}, nil)\nif err != nil {\n\treturn err\n}\nfmt.Println(len(embeddings), len(embeddings[0])) // %d %d\n```", len(ex), m.Dim())
	return b.String()
}

func irExamples() []string {
	return []string{"Which planet is known as the Red Planet?",
		"Venus is often called Earth's twin because of its similar size and proximity.",
		"Mars, known for its reddish appearance, is often referred to as the Red Planet.",
		"Saturn, famous for its rings, is sometimes mistaken for the Red Planet."}
}

func plainExamples() []string {
	return []string{"The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."}
}

// pyStr is Python's repr of a str (single quotes unless the text holds one and no double quote).
func pyStr(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`, q, `\`+q)
	return q + r.Replace(s) + q
}

// frameworkVersions lists what produced the model.
func (m *SentenceTransformer) frameworkVersions() []CardValue {
	out := []CardValue{{"Go", runtime.Version()}, {"embedtune", Version}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			switch dep.Path {
			case "github.com/gomlx/gomlx":
				out = append(out, CardValue{"GoMLX", dep.Version})
			case "github.com/gomlx/go-xla":
				out = append(out, CardValue{"go-xla", dep.Version})
			}
		}
	}
	if m.backend != nil {
		out = append(out, CardValue{"Backend", m.backend.Name()})
	}
	return out
}

// cardYAML renders the metadata in sentence-transformers' key order and PyYAML's block style
// (sequences at their key's indentation).
func (m *SentenceTransformer) cardYAML(c ModelCardData) string {
	var doc yamlMap
	if len(c.Language) > 0 {
		doc = append(doc, yamlKV{"language", strings2any(c.Language)})
	}
	if c.License != "" {
		doc = append(doc, yamlKV{"license", c.License})
	}
	doc = append(doc, yamlKV{"tags", strings2any(c.Tags)})
	if c.BaseModel != "" {
		doc = append(doc, yamlKV{"base_model", c.BaseModel})
	}
	var ids []string
	for _, d := range c.TrainDatasets {
		if d.ID != "" && !slices.Contains(ids, d.ID) {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) > 0 {
		doc = append(doc, yamlKV{"datasets", strings2any(ids)})
	}
	doc = append(doc, yamlKV{"pipeline_tag", "sentence-similarity"}, yamlKV{"library_name", "sentence-transformers"})
	if len(c.EvalResults) > 0 {
		var keys []string
		for _, r := range c.EvalResults {
			for _, mt := range r.Metrics {
				if !slices.Contains(keys, mt.Key) {
					keys = append(keys, mt.Key)
				}
			}
		}
		doc = append(doc, yamlKV{"metrics", strings2any(keys)}, yamlKV{"model-index", modelIndex(c)})
	}
	var b strings.Builder
	writeYAMLMap(&b, doc, 0, "")
	return b.String()
}

// yamlMap is a YAML mapping that keeps its keys in order; values are strings, float64, int, yamlMap
// or []any of them.
type yamlMap []yamlKV

type yamlKV struct {
	key   string
	value any
}

func strings2any(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// writeYAMLMap writes m at indent; the first key is preceded by first when given (a "- " item).
func writeYAMLMap(b *strings.Builder, m yamlMap, indent int, first string) {
	for i, kv := range m {
		if i == 0 && first != "" {
			b.WriteString(first)
		} else {
			b.WriteString(strings.Repeat(" ", indent))
		}
		b.WriteString(yamlScalar(kv.key) + ":")
		switch v := kv.value.(type) {
		case yamlMap:
			b.WriteString("\n")
			writeYAMLMap(b, v, indent+2, "")
		case []any:
			if len(v) == 0 {
				b.WriteString(" []\n")
				continue
			}
			b.WriteString("\n")
			writeYAMLList(b, v, indent)
		default:
			b.WriteString(" " + yamlScalar(v) + "\n")
		}
	}
}

func writeYAMLList(b *strings.Builder, l []any, indent int) {
	prefix := strings.Repeat(" ", indent) + "- "
	for _, item := range l {
		if m, ok := item.(yamlMap); ok {
			writeYAMLMap(b, m, indent+2, prefix)
			continue
		}
		b.WriteString(prefix + yamlScalar(item) + "\n")
	}
}

// yamlScalar writes a scalar as PyYAML does: floats as Python prints them, strings plain unless they
// need quotes.
func yamlScalar(v any) string {
	switch x := v.(type) {
	case float64:
		return pyfmt.Repr(x)
	case int:
		return strconv.Itoa(x)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return "''"
	}
	return strings.TrimSuffix(string(out), "\n")
}

// modelIndex is huggingface_hub's eval_results_to_model_index of the evaluation results.
func modelIndex(c ModelCardData) []any {
	var results []any
	for _, r := range c.EvalResults {
		desc := evaluatorDescription(r.Evaluator)
		var metrics []any
		for _, mt := range r.Metrics {
			metrics = append(metrics, yamlMap{{"type", mt.Key}, {"value", mt.Value}, {"name", metricDisplayName(mt.Key)}})
		}
		dsName, dsType := "Unknown", "unknown"
		if r.Name != "" {
			dsName, dsType = strings.NewReplacer("_", " ", "-", " ").Replace(r.Name), r.Name
		}
		results = append(results, yamlMap{
			{"task", yamlMap{{"type", strings.ToLower(strings.ReplaceAll(desc, " ", "-"))}, {"name", desc}}},
			{"dataset", yamlMap{{"name", dsName}, {"type", dsType}}},
			{"metrics", metrics}})
	}
	return []any{yamlMap{{"name", c.ModelName}, {"results", results}}}
}

// metricDisplayName is metric_key.replace("_", " ").title() in Python.
func metricDisplayName(key string) string {
	s := strings.ReplaceAll(key, "_", " ")
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		isLetter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		switch {
		case isLetter && !prevLetter:
			b.WriteString(strings.ToUpper(string(r)))
		case isLetter:
			b.WriteString(strings.ToLower(string(r)))
		default:
			b.WriteRune(r)
		}
		prevLetter = isLetter
	}
	return b.String()
}
