package model

import "slices"

// equalInts reports whether two token id lists are equal.
func equalInts(a, b []int) bool { return slices.Equal(a, b) }
