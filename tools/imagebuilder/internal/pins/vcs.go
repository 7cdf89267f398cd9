package pins

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Revision is the commit the tree at root is at, with "-dirty" appended when
// tracked files differ from it, so that a label never claims a commit the
// binaries were not built from. Without git it is "unknown".
func Revision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += "-dirty"
	}
	return rev
}

// Epoch is the time written into every file and image config: the
// SOURCE_DATE_EPOCH convention when it is set, else the commit time of HEAD,
// else the Unix epoch. A fixed time per commit keeps builds reproducible and
// still tells a reader roughly how old an image is.
func Epoch(root string) (time.Time, error) {
	if t, ok, err := sourceDateEpoch(); ok || err != nil {
		return t, err
	}
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git commit time %q: %w", out, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// ContentEpoch is the time written into images that should depend on their
// inputs only, not on which commit of this repository built them (the
// component images, built from pinned releases): SOURCE_DATE_EPOCH when it
// is set, else the Unix epoch.
func ContentEpoch() (time.Time, error) {
	if t, ok, err := sourceDateEpoch(); ok || err != nil {
		return t, err
	}
	return time.Unix(0, 0).UTC(), nil
}

func sourceDateEpoch() (time.Time, bool, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), true, nil
}
