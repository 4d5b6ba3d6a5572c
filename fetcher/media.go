package fetcher

import (
	"path"
	"strings"
	"time"
)

const (
	// mediaHead and mediaTail are how much of a media file's start and end
	// is wanted when it is opened: a player's probe reads the container
	// header, and MP4's moov or Matroska's cues often sit at the end.
	mediaHead = 2 << 20
	mediaTail = 4 << 20
)

// mediaExts are the file name endings treated as media.
var mediaExts = map[string]bool{
	".mp4": true, ".m4v": true, ".mov": true, ".mkv": true, ".webm": true,
	".avi": true, ".ts": true, ".m2ts": true, ".mpg": true, ".mpeg": true,
	".wmv": true, ".flv": true, ".ogv": true, ".3gp": true,
	".mka": true, ".m4a": true, ".mp3": true, ".flac": true, ".ogg": true,
	".opus": true, ".wav": true,
}

func isMedia(p []string) bool {
	if len(p) == 0 {
		return false
	}
	return mediaExts[strings.ToLower(path.Ext(p[len(p)-1]))]
}

// probeWants are the pieces under the file's head and tail, due now.
func (r *Reader) probeWants(now time.Time) []want {
	info, f := r.t.info, r.file
	var ws []want
	add := func(off, n int64) {
		if n <= 0 {
			return
		}
		for i := info.PieceAt(f.Offset + off); i <= info.PieceAt(f.Offset+off+n-1); i++ {
			ws = append(ws, want{piece: i, deadline: now})
		}
	}
	add(0, min(mediaHead, f.Length))
	tail := min(mediaTail, f.Length)
	add(f.Length-tail, tail)
	return ws
}
