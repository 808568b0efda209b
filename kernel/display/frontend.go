package display

import (
	"os"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// InNotebook reports whether the program runs inside a GoNB notebook kernel (a cell), where HTML output is
// shown in the notebook; otherwise the package prints text.
func InNotebook() bool { return gonbui.IsNotebook }

// frontend is where notebook output goes: GoNB in a kernel, a recorder in tests.
type frontend interface {
	// display appends an HTML output to the cell.
	display(html string)
	// update creates the output identified by id, or replaces its content if it exists.
	update(id, html string)
	// newID returns a fresh output id.
	newID() string
	// sync waits until everything sent was shown.
	sync()
	// sessionDir is a folder private to the kernel session, or "" if there is none.
	sessionDir() string
}

// gonbFrontend sends output to the GoNB kernel running this cell.
type gonbFrontend struct{}

func (gonbFrontend) display(html string)    { gonbui.DisplayHTML(html) }
func (gonbFrontend) update(id, html string) { gonbui.UpdateHTML(id, html) }
func (gonbFrontend) newID() string          { return "embedtune_" + gonbui.UniqueId() }
func (gonbFrontend) sync()                  { gonbui.Sync() }
func (gonbFrontend) sessionDir() string     { return os.Getenv(protocol.GONB_TMP_DIR_ENV) }

// notebookFrontend returns the GoNB frontend inside a kernel, nil otherwise.
func notebookFrontend() frontend {
	if InNotebook() {
		return gonbFrontend{}
	}
	return nil
}

// displayMarkdown shows Markdown through GoNB.
func displayMarkdown(md string) { gonbui.DisplayMarkdown(md) }
