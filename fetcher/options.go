package fetcher

import (
	"log/slog"
	"net/http"
	"runtime"
	"time"
)

// Options configure a Client. The zero value of every field means its
// documented default.
type Options struct {
	// Logger receives the client's logs. Default: discard.
	Logger *slog.Logger
	// ListenAddr is where peers connect to us, like "127.0.0.1:0".
	// Default ":0": every interface, an ephemeral port.
	ListenAddr string
	// Storage holds verified pieces. Required.
	Storage Storage
	// PeerID is our peer id. Default: "-TF0100-" and 12 random bytes.
	PeerID [20]byte
	// MaxPeers bounds connections per torrent. Default 50.
	MaxPeers int
	// HashWorkers is how many goroutines check piece hashes. Default GOMAXPROCS.
	HashWorkers int
	// HTTPClient is used for HTTP trackers and web seeds. Default: a client
	// with a 30 s timeout that connects from the listening address when
	// ListenAddr names one (see binder).
	HTTPClient *http.Client
	// ReadTimeout turns a read that waited this long for its pieces into
	// ErrReadTimeout. Default 0: wait as long as the caller's ctx allows.
	ReadTimeout time.Duration
	// DialTimeout bounds a TCP connect plus handshake. Default 10 s.
	DialTimeout time.Duration
	// MaxInFlightBytes bounds the memory of pieces being downloaded but
	// not yet stored, over all the client's torrents together. Pieces due
	// within half a second may take it a quarter past, and a piece a
	// reader waits for right now up to twice it. Default 16 MiB.
	MaxInFlightBytes int64
	// DisableTrackers turns off announcing, for tests that add peers by hand.
	DisableTrackers bool
	// DHT, if set, finds peers of every torrent that is not private (BEP
	// 27) and of magnets, besides trackers.
	DHT PeerFinder
	// Background fetches every piece, in order, whenever peers have room
	// after what readers want. Default: fetch only what is read and the
	// readers' readahead windows.
	Background bool
	// UploadRateLimit bounds the bytes per second sent to peers, over all
	// torrents. Default 0: unlimited.
	UploadRateLimit int64
	// UploadSlots is how many interested peers of each torrent are
	// unchoked for their rate (BEP 3 choking), besides one optimistic
	// unchoke that rotates. Default 4.
	UploadSlots int
	// NoMediaProbe turns off fetching the head and tail of media files
	// first when they are opened (where MP4's moov and Matroska's cues
	// live), which makes players' probes return quickly.
	NoMediaProbe bool

	// pexInterval replaces pexEvery (pex.go) so tests run in seconds.
	pexInterval time.Duration
	// announceFloor replaces minAnnounceInterval (announce.go) so tests
	// can see re-announces in seconds.
	announceFloor time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ListenAddr == "" {
		o.ListenAddr = ":0"
	}
	if o.MaxPeers <= 0 {
		o.MaxPeers = 50
	}
	if o.HashWorkers <= 0 {
		o.HashWorkers = runtime.GOMAXPROCS(0)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.UploadSlots <= 0 {
		o.UploadSlots = defaultUploadSlots
	}
	if o.MaxInFlightBytes <= 0 {
		o.MaxInFlightBytes = 16 << 20
	}
	return o
}
