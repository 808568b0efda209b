package hub_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/embedtune/embedtune/trainlib/hub"
)

func TestResolveEnv(t *testing.T) {
	tokenDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tokenDir, "token"), []byte("hf_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	custom := filepath.Join(tokenDir, "custom-token")
	if err := os.WriteFile(custom, []byte("  hf_custom  "), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want hub.EnvSettings
	}{
		{"defaults", map[string]string{"HOME": "/home/u"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: "/home/u/.cache/huggingface", CacheDir: "/home/u/.cache/huggingface/hub"}},
		{"XDG_CACHE_HOME", map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: "/xdg/huggingface", CacheDir: "/xdg/huggingface/hub"}},
		{"HF_HOME with ~ and a variable, endpoint slash trimmed", map[string]string{"HOME": "/home/u", "HF_HOME": "~/hf-$USER", "USER": "bob", "HF_ENDPOINT": "http://mirror:8080/"},
			hub.EnvSettings{Endpoint: "http://mirror:8080", HFHome: "/home/u/hf-bob", CacheDir: "/home/u/hf-bob/hub"}},
		{"HF_HUB_CACHE wins over HF_HOME", map[string]string{"HF_HOME": "/h", "HF_HUB_CACHE": "/c", "HUGGINGFACE_HUB_CACHE": "/legacy"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: "/h", CacheDir: "/c"}},
		{"legacy HUGGINGFACE_HUB_CACHE", map[string]string{"HF_HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/legacy"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: "/h", CacheDir: "/legacy"}},
		{"offline yes", map[string]string{"HF_HOME": "/h", "HF_HUB_OFFLINE": "yes"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: "/h", CacheDir: "/h/hub", Offline: true}},
		{"offline 0", map[string]string{"HF_HOME": "/h", "HF_HUB_OFFLINE": "0"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: "/h", CacheDir: "/h/hub"}},
		{"TRANSFORMERS_OFFLINE", map[string]string{"HF_HOME": "/h", "TRANSFORMERS_OFFLINE": "1"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: "/h", CacheDir: "/h/hub", Offline: true}},
		{"HF_TOKEN first", map[string]string{"HF_HOME": tokenDir, "HF_TOKEN": "hf_env", "HUGGING_FACE_HUB_TOKEN": "hf_old"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: tokenDir, CacheDir: tokenDir + "/hub", Token: "hf_env", TokenSource: "HF_TOKEN"}},
		{"legacy token variable", map[string]string{"HF_HOME": tokenDir, "HUGGING_FACE_HUB_TOKEN": "hf_old"},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: tokenDir, CacheDir: tokenDir + "/hub", Token: "hf_old", TokenSource: "HUGGING_FACE_HUB_TOKEN"}},
		{"token file in HF_HOME", map[string]string{"HF_HOME": tokenDir},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: tokenDir, CacheDir: tokenDir + "/hub", Token: "hf_fromfile", TokenSource: tokenDir + "/token"}},
		{"HF_TOKEN_PATH", map[string]string{"HF_HOME": tokenDir, "HF_TOKEN_PATH": custom},
			hub.EnvSettings{Endpoint: "https://huggingface.co", HFHome: tokenDir, CacheDir: tokenDir + "/hub", Token: "hf_custom", TokenSource: custom}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := hub.ResolveEnv(func(k string) string { return tc.env[k] })
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestNewClientRejectsBadEndpoint(t *testing.T) {
	for _, ep := range []string{"huggingface.co", "ftp://x", "http://"} {
		if _, err := hub.NewClient(hub.WithEndpoint(ep)); err == nil {
			t.Errorf("endpoint %q accepted", ep)
		}
	}
}

func TestFromEnvConfiguresClient(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_CACHE": dir, "HF_HUB_OFFLINE": "1", "HF_TOKEN": "t"}
	c, err := hub.NewClient(hub.FromEnvFunc(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint() != "http://127.0.0.1:9" || c.CacheDir() != dir || !c.Offline() || !c.HasToken() {
		t.Errorf("client = %s %s offline=%v token=%v", c.Endpoint(), c.CacheDir(), c.Offline(), c.HasToken())
	}
	// Later options override the environment.
	c, err = hub.NewClient(hub.FromEnvFunc(func(k string) string { return env[k] }), hub.WithOffline(false))
	if err != nil || c.Offline() {
		t.Errorf("WithOffline(false) after FromEnv: offline=%v err=%v", c.Offline(), err)
	}
}
