// Package readme checks README.md against the repository: its tour is the code that trainlib's Example runs,
// and its folder table lists the folders of the tree.
package readme
