package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// metricDef describes one figure of the table.
type metricDef struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Unit     string `json:"unit"`
	Better   string `json:"better"` // "lower" or "higher"
	Scenario string `json:"scenario"`
}

func metricDefs(cfg *config) []metricDef {
	seek := fmt.Sprintf("64 KiB at %s, cold seek", sizeName(cfg.effectiveSeek()))
	return []metricDef{
		{"mount_ms", "mount: start to file visible", "ms", "lower", "first"},
		{"first_byte_ms", "first 64 KiB at offset 0 (open+pread)", "ms", "lower", "first"},
		{"seek_ms", seek, "ms", "lower", "seek"},
		{"seq_mbps", "cold sequential read, 1 MiB reads", "MB/s", "higher", "seq"},
		{"reread_mbps", "re-read after remount", "MB/s", "higher", "seq"},
		{"peak_rss_mib", "peak RSS over the sequential run (VmHWM)", "MiB", "lower", "seq"},
		{"anon_rss_mib", "peak anonymous RSS over it (RssAnon, sampled every 20 ms)", "MiB", "lower", "seq"},
		{"cpu_s", "CPU user+sys over the sequential run", "s", "lower", "seq"},
		{"player_ttfb_ms", "player: time to first 256 KiB", "ms", "lower", "player"},
		{"player_stalls", fmt.Sprintf("player: stalls (reads > %v after 1 s)", cfg.Stall), "", "lower", "player"},
		{"player_stall_s", "player: total stall time", "s", "lower", "player"},
		{"player_max_read_ms", "player: slowest read after 1 s", "ms", "lower", "player"},
		{"player_played_s", "player: playback measured", "s", "info", "player"},
		{"stop_ms", "unmount until the process exits (every mount)", "ms", "lower", ""},
	}
}

// results is everything a run measured; it is written as JSON.
type results struct {
	Machine  machine           `json:"machine"`
	Config   map[string]any    `json:"config"`
	Swarm    swarmInfo         `json:"swarm"`
	Metrics  []metricDef       `json:"metrics"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Notes    []string          `json:"notes,omitempty"`
	Values   map[string]fsVals `json:"values"` // metric key → filesystem → one value per run
	Medians  map[string]fsMed  `json:"medians"`
	Errors   map[string]fsErrs `json:"errors,omitempty"`

	mu sync.Mutex // guards Values, Errors and Notes while measuring
}

type (
	fsVals map[fsKind][]float64
	fsMed  map[fsKind]float64
	fsErrs map[fsKind][]string
)

type swarmInfo struct {
	InfoHash  string   `json:"info_hash"`
	SHA256    string   `json:"sha256"`
	Seeders   []string `json:"seeders"`
	Throttled string   `json:"throttled_seeder,omitempty"`
}

func newResults(cfg *config) *results {
	return &results{
		Metrics: metricDefs(cfg),
		Values:  map[string]fsVals{},
		Medians: map[string]fsMed{},
		Errors:  map[string]fsErrs{},
		Config: map[string]any{
			"size":           cfg.Size,
			"piece_length":   cfg.PieceLength,
			"runs":           cfg.Runs,
			"hash_during":    cfg.HashDuring,
			"filesystems":    cfg.Only,
			"scenarios":      cfg.Scenarios,
			"seeders":        cfg.Seeders,
			"throttle_Bps":   cfg.Throttle,
			"seek_offset":    cfg.effectiveSeek(),
			"player_Bps":     cfg.PlayerRate,
			"player_chunk":   cfg.PlayerChunk,
			"player_cap_s":   cfg.PlayerCap.Seconds(),
			"stall_ms":       ms(cfg.Stall),
			"label":          cfg.Label,
			"utp_reset":      cfg.UTPReset,
			"torrentfs_bin":  cfg.TorrentFSBin,
			"btfs_bin":       cfg.BtfsBin,
			"torrentfs_args": cfg.TorrentFSArgs,
			"btfs_args":      cfg.BtfsArgs,
		},
	}
}

func (r *results) add(key string, k fsKind, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Values[key] == nil {
		r.Values[key] = fsVals{}
	}
	r.Values[key][k] = append(r.Values[key][k], v)
}

func (r *results) fail(key string, k fsKind, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Errors[key] == nil {
		r.Errors[key] = fsErrs{}
	}
	r.Errors[key][k] = append(r.Errors[key][k], err.Error())
}

func (r *results) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Notes = append(r.Notes, s)
}

// computeMedians fills Medians from Values.
func (r *results) computeMedians() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, byFS := range r.Values {
		for k, vs := range byFS {
			if len(vs) == 0 {
				continue
			}
			if r.Medians[key] == nil {
				r.Medians[key] = fsMed{}
			}
			r.Medians[key][k] = median(vs)
		}
	}
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ratio is how many times better torrentfs is than btfs on m: btfs over
// torrentfs for figures where lower is better (times, memory, CPU),
// torrentfs over btfs where higher is better (speeds). ok is false when it
// is undefined.
func ratio(m metricDef, tfs, btfs float64) (float64, bool) {
	switch m.Better {
	case "lower":
		if tfs <= 0 {
			return 0, false
		}
		return btfs / tfs, true
	case "higher":
		if btfs <= 0 {
			return 0, false
		}
		return tfs / btfs, true
	}
	return 0, false
}
