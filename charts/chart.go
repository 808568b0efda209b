package charts

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"
)

// Chart is one echarts chart: its option object (built with go-echarts) and its size. It renders as an HTML
// fragment (Chart.HTML) that draws itself with the page's window.echarts — the library is not repeated in
// every chart: a page (WritePage / WriteHTML) or a notebook (package kernel/display) includes
// Library.ScriptHTML once.
type Chart struct {
	title         string
	width, height string
	option        []byte // JSON, HTML-escaped (safe inside a <script> element)
}

// Title returns the chart's title.
func (c *Chart) Title() string { return c.title }

// OptionJSON returns the echarts option object as JSON.
func (c *Chart) OptionJSON() []byte { return append([]byte(nil), c.option...) }

// newChart encodes the go-echarts option map. json.Marshal escapes <, > and & so the result can be
// embedded in a <script> element.
func newChart(cfg config, option map[string]any) (*Chart, error) {
	js, err := json.Marshal(option)
	if err != nil {
		return nil, fmt.Errorf("charts: encoding the %q chart options: %w", cfg.title, err)
	}
	return &Chart{title: cfg.title, width: cfg.width, height: cfg.height, option: js}, nil
}

// HTML returns the chart as an HTML fragment: a <div> followed by a small <script> that draws into it with
// window.echarts. When the library is not (yet) on the page the chart waits for it: a later
// Library.ScriptHTML draws every waiting chart; inside a Jupyter page it is also fetched from the server's
// static path <base_url>static/embedtune/echarts-<version>.min.js (kernel/install.sh configures it). If it
// never arrives, the chart area says so and how to install it. Before any script runs (an untrusted
// notebook, a viewer without JavaScript) the area holds a note saying how to get the chart drawn.
func (c *Chart) HTML() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="embedtune-chart" style="width:100%%;max-width:%s;height:%s;">`,
		html.EscapeString(c.width), html.EscapeString(c.height))
	fmt.Fprintf(&b, `<div class="embedtune-chart-note" style="padding:12px;color:#555;font:13px sans-serif;">`+
		`%s: this chart is drawn by JavaScript (echarts). If this text stays, the page did not run its scripts: `+
		`in JupyterLab trust the notebook (File ▸ Trust Notebook, or <code>jupyter trust NOTEBOOK.ipynb</code>) `+
		`or re-run the cell.</div></div>`, html.EscapeString(c.title))
	b.WriteString("<script>\n(function(){\n" + stateJS)
	b.WriteString("var el = document.currentScript && document.currentScript.previousElementSibling;\n")
	b.WriteString("var option = ")
	b.Write(c.option)
	b.WriteString(";\n")
	missing, _ := json.Marshal("Chart not drawn: the echarts library is not loaded on this page. " +
		"Re-run the notebook from the top (Restart Kernel and Run All) so that its first chart output embeds it, " +
		"or " + InstallHint + ".")
	b.WriteString("var missing = ")
	b.Write(missing)
	b.WriteString(";\n" + drawJS + "})();\n</script>")
	return b.String()
}

// stateJS sets up the page-wide state shared by every chart and by the library script: the queue of charts
// waiting for window.echarts, flush() to draw them, and load() to fetch the library from a Jupyter server.
const stateJS = `var w = window;
var st = w.__embedtuneECharts;
if (!st) {
  st = w.__embedtuneECharts = {queue: [], charts: [], loading: false};
  st.flush = function () {
    if (!w.echarts) return;
    var q = st.queue.splice(0);
    for (var i = 0; i < q.length; i++) {
      try { q[i](); } catch (e) { console.error("embedtune chart:", e); }
    }
  };
  st.load = function () {
    if (w.echarts || st.loading) return;
    var cfg = document.getElementById("jupyter-config-data");
    if (!cfg) return;
    var base = "/";
    try { base = JSON.parse(cfg.textContent).baseUrl || "/"; } catch (e) {}
    if (base.charAt(base.length - 1) !== "/") base += "/";
    st.loading = true;
    fetch(base + "static/` + LibraryRelPath + `", {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (src) {
      if (!w.echarts) (new Function("define", "exports", "module", src)).call(w);
      st.flush();
    }).catch(function (e) {
      st.loading = false;
      console.warn("embedtune: could not load echarts from the Jupyter server:", e);
    });
  };
}
`

// drawJS draws the chart (variables el, option, missing) now or once the library arrives.
const drawJS = `function draw() {
  if (!el) return;
  st.charts = st.charts.filter(function (c) {
    if (c.isDisposed()) return false;
    var d = c.getDom();
    if (d && d.isConnected) return true;
    c.dispose();
    return false;
  });
  el.innerHTML = "";
  var chart = w.echarts.init(el, null, {renderer: "canvas"});
  chart.setOption(option);
  st.charts.push(chart);
  if (w.ResizeObserver) {
    new ResizeObserver(function () { if (!chart.isDisposed()) chart.resize(); }).observe(el);
  }
}
if (w.echarts) {
  draw();
} else {
  st.queue.push(draw);
  setTimeout(st.load, 300);
  setTimeout(function () {
    if (!w.echarts && el && el.firstChild) el.firstChild.textContent = missing;
  }, 8000);
}
`
