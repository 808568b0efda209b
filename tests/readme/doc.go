// Package readme checks the documentation against the repository: the tour of README.md and of trainlib's
// package documentation is the code that trainlib's Example runs, and the README's folder table lists the
// folders of the tree.
package readme
