package model

import "fmt"

// resolveHub downloads a Hub model into the Hugging Face cache and returns its snapshot folder.
func resolveHub(id string, o *options) (string, error) {
	return "", fmt.Errorf("model %q: no such folder (Hub downloads not wired yet)", id)
}
