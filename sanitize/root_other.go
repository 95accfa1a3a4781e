//go:build !unix

package sanitize

import "os"

// Non-Unix platforms have no O_NONBLOCK flag for os.OpenFile.
const (
	openNonblock = 0
)

func clearNonblock(*os.File) error { return nil }
