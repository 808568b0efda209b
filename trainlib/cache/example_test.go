package cache_test

import (
	"fmt"
	"os"

	"github.com/embedtune/embedtune/trainlib/cache"
)

// A value is computed once; every later call — in this process or the next — reads it back.
func Example() {
	dir, _ := os.MkdirTemp("", "embedtune-cache-example-")
	defer os.RemoveAll(dir)
	s, err := cache.Open(dir, 1<<30)
	if err != nil {
		fmt.Println(err)
		return
	}
	square := func(n int) (int, error) {
		k := cache.NewKey("squares", []byte(fmt.Sprint(n)))
		return cache.Memo(s, k, func() (int, error) {
			fmt.Println("computing", n)
			return n * n, nil
		})
	}
	a, _ := square(12)
	b, _ := square(12)
	u, _ := s.Usage()
	fmt.Println(a, b, u.Entries, u.Kinds[0].Kind)
	// Output:
	// computing 12
	// 144 144 1 squares
}
