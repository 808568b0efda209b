package display

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/embedtune/embedtune/internal/pyfmt"
)

// formatCell turns a table cell value into text: floats with up to 6 significant digits ("NaN", "+Inf"
// as such), integers with thousands separators, anything else with fmt's %v.
func formatCell(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case int:
		return pyfmt.Thousands(int64(x))
	case int64:
		return pyfmt.Thousands(x)
	case int32:
		return pyfmt.Thousands(int64(x))
	case uint64:
		if x > math.MaxInt64 {
			return strconv.FormatUint(x, 10)
		}
		return pyfmt.Thousands(int64(x))
	case uint32:
		return pyfmt.Thousands(int64(x))
	case time.Duration:
		return x.String()
	case fmt.Stringer:
		return x.String()
	case error:
		return x.Error()
	default:
		return fmt.Sprintf("%v", v)
	}
}

// formatFloat writes x with up to 6 significant digits; NaN and the infinities as Go spells them ("NaN",
// "+Inf", "-Inf").
func formatFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Sprint(x)
	}
	return strconv.FormatFloat(x, 'g', 6, 64)
}

// formatDuration formats seconds as transformers' format_time does: "mm:ss", or "h:mm:ss" from one hour.
func formatDuration(d time.Duration) string {
	t := int64(d / time.Second)
	if t < 0 {
		t = 0
	}
	h, m, s := t/3600, (t/60)%60, t%60
	if h != 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", m, s)
}

// truncateRunes cuts s to at most n runes, ending with "…" when cut (n <= 0: no limit).
func truncateRunes(s string, n int) string {
	if n <= 0 {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}
