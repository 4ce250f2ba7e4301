package engine

// SetLogBlock sets the size at which spill-backed logs write a block, and
// returns a function restoring it.
func SetLogBlock(n int) func() {
	old := logBlock
	logBlock = n
	return func() { logBlock = old }
}
