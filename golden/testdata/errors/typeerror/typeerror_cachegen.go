package typeerror

// A stale generated file: its type errors are not reported, since it is
// about to be rewritten.
func (t *Thing) Stale() string { return t.Email }
