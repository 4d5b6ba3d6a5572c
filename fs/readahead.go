package fs

import (
	"fmt"
	"os"
	"strconv"
)

// raiseReadAhead writes kb to the mount's read_ahead_kb (best effort): in
// page-cache mode the kernel otherwise sends reads of at most 128 KiB.
func (s *Server) raiseReadAhead(kb int) {
	if kb <= 0 {
		return
	}
	major, minor := devMajorMinor(s.dev)
	path := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", major, minor)
	if err := os.WriteFile(path, []byte(strconv.Itoa(kb)), 0); err != nil {
		s.log.Debug("fs: raise read_ahead_kb", "path", path, "err", err)
		return
	}
	s.log.Debug("fs: raised read_ahead_kb", "path", path, "kb", kb)
}

// devMajorMinor splits a Linux st_dev (glibc encoding) into major and minor.
func devMajorMinor(dev uint64) (major, minor uint64) {
	major = (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor = dev&0xff | (dev>>12)&0xffffff00
	return major, minor
}
