package recordings

import (
	"errors"
	"io/fs"
)

var (
	// ErrNotFound: no recording has this ID (it was never saved, or was deleted). It
	// matches fs.ErrNotExist too.
	ErrNotFound = errNotFound{}
	// ErrBadID: the string is not a recording ID; IDs come from Save, never from a person.
	ErrBadID = errors.New("recordings: not a recording ID")
	// ErrChecksum: the file on disk no longer has the checksum it was saved with.
	ErrChecksum = errors.New("recordings: checksum mismatch")
)

type errNotFound struct{}

func (errNotFound) Error() string        { return "recordings: no such recording" }
func (errNotFound) Is(target error) bool { return target == fs.ErrNotExist }
