package export

import "context"

// window is how many fetches run ahead of the one being emitted. The
// client's gate decides how many of them are in flight at once.
const window = 8

// inOrder fetches items 0..n-1 concurrently, at most window ahead, and
// emits the results in order, so an archive's order never depends on which
// answer came first. It stops at the first error.
func inOrder[T any](ctx context.Context, n int, fetch func(ctx context.Context, i int) (T, error), emit func(i int, v T) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	results := make([]chan result, n)
	start := func(i int) {
		results[i] = make(chan result, 1)
		go func() {
			v, err := fetch(ctx, i)
			results[i] <- result{v, err}
		}()
	}
	started := 0
	for ; started < min(n, window); started++ {
		start(started)
	}
	var err error
	// After an error, only what was started is waited for.
	for i := 0; i < started; i++ {
		r := <-results[i]
		if err == nil {
			err = r.err
		}
		if err == nil {
			err = emit(i, r.v)
		}
		if err != nil {
			cancel()
		} else if started < n {
			start(started)
			started++
		}
	}
	return err
}
