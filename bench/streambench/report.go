package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// machine describes where the figures were taken.
type machine struct {
	NProc            int      `json:"nproc"`
	CPU              string   `json:"cpu"`
	Kernel           string   `json:"kernel"`
	Date             string   `json:"date"`
	Go               string   `json:"go"`
	Btfs             string   `json:"btfs,omitempty"`
	Libtorrent       string   `json:"libtorrent,omitempty"`
	Interfaces       []string `json:"interfaces"`
	LoopbackOnly     bool     `json:"loopback_only_netns"`
	PageCacheDropped bool     `json:"page_cache_dropped"`
	SeedDir          string   `json:"seed_dir"`
	LoadStart        string   `json:"loadavg_start"`
	LoadEnd          string   `json:"loadavg_end"`
}

func machineInfo(cfg *config) machine {
	m := machine{
		NProc:     runtime.NumCPU(),
		CPU:       cpuModel(),
		Kernel:    strings.TrimSpace(readString("/proc/sys/kernel/osrelease")),
		Date:      time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Go:        runtime.Version(),
		LoadStart: loadAvg(),
	}
	if out, err := exec.Command(cfg.BtfsBin, "--version").CombinedOutput(); err == nil {
		m.Btfs = btfsVersion(string(out))
	}
	if out, err := exec.Command(python3, "-c", "import libtorrent; print(libtorrent.__version__)").Output(); err == nil {
		m.Libtorrent = firstLine(string(out))
	}
	ifs, _ := net.Interfaces()
	m.LoopbackOnly = len(ifs) > 0
	for _, i := range ifs {
		m.Interfaces = append(m.Interfaces, i.Name)
		if i.Flags&net.FlagLoopback == 0 {
			m.LoopbackOnly = false
		}
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAvg() string {
	f := strings.Fields(readString("/proc/loadavg"))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// btfsVersion makes "btfs 2.24 (libtorrent 2.0.6.0)" of btfs --version,
// which also prints FUSE's versions.
func btfsVersion(out string) string {
	var v, lt string
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "btfs version:"); ok {
			v = strings.TrimSpace(s)
		}
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "libtorrent version:"); ok {
			lt = strings.TrimSpace(s)
		}
	}
	switch {
	case v == "":
		return firstLine(out)
	case lt == "":
		return "btfs " + v
	}
	return fmt.Sprintf("btfs %s (libtorrent %s)", v, lt)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// writeResults prints the Markdown table and writes JSON and Markdown
// files to cfg.OutDir, as streambench-<time>.{json,md} and latest.{json,md}.
func writeResults(cfg *config, res *results, stdout io.Writer) error {
	res.computeMedians()
	md := markdown(cfg, res)
	fmt.Fprint(stdout, md)
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return err
	}
	stamp := res.Started.Format("20060102-150405")
	for _, name := range []string{"streambench-" + stamp, "latest"} {
		if err := os.WriteFile(filepath.Join(cfg.OutDir, name+".json"), append(js, '\n'), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(cfg.OutDir, name+".md"), []byte(md), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\nwritten to %s/streambench-%s.{json,md} (and latest.*)\n", absPath(cfg.OutDir), stamp)
	return nil
}

func markdown(cfg *config, res *results) string {
	var b strings.Builder
	m := res.Machine
	fmt.Fprintf(&b, "## streambench: torrentfs vs btfs\n\n")
	fmt.Fprintf(&b, "%s, %d × %s, Linux %s, %s", m.Date, m.NProc, m.CPU, m.Kernel, m.Go)
	if m.Btfs != "" {
		fmt.Fprintf(&b, ", %s", m.Btfs)
	}
	if m.Libtorrent != "" {
		if cfg.SeederKind == "torrentfs" {
			fmt.Fprintf(&b, ", torrentfs seeders")
		} else {
			fmt.Fprintf(&b, ", libtorrent %s seeders", m.Libtorrent)
		}
	}
	fmt.Fprintf(&b, ". Load average %s at the start, %s at the end.", m.LoadStart, m.LoadEnd)
	if cfg.Label != "" {
		fmt.Fprintf(&b, " torrentfs %s.", cfg.Label)
	}
	fmt.Fprintf(&b, "\n\n")
	fmt.Fprintf(&b, "One %s file in %s pieces; %d unthrottled TCP-only %s seeders on their own loopback IPs", sizeName(cfg.Size), sizeName(cfg.PieceLength), cfg.Seeders, cfg.SeederKind)
	if res.Swarm.Throttled != "" {
		fmt.Fprintf(&b, " (the player also has a third, limited to %d B/s)", cfg.Throttle)
	}
	net := "host network namespace"
	if m.LoopbackOnly {
		net = "a loopback-only network namespace"
	}
	cold := "page cache dropped before every mount"
	if !m.PageCacheDropped {
		cold = "page cache NOT dropped (not root?)"
	}
	hash := "sequential reads go into memory and their SHA-256 is checked after the clock stops"
	if cfg.HashDuring {
		hash = "sequential reads are SHA-256 hashed while reading, inside the timed span"
	}
	fmt.Fprintf(&b, "; seeders' data in %s; opentracker; %s; %s; %s. Median of %d run(s), each on a fresh mount with an empty cache.\n\n", m.SeedDir, net, cold, hash, cfg.Runs)

	kinds := cfg.Only
	fmt.Fprintf(&b, "| figure |")
	for _, k := range kinds {
		fmt.Fprintf(&b, " %s |", k)
	}
	both := len(kinds) == 2
	if both {
		fmt.Fprintf(&b, " ratio (>1: torrentfs better) |")
	}
	fmt.Fprintf(&b, "\n|---|")
	for range kinds {
		fmt.Fprintf(&b, "---:|")
	}
	if both {
		fmt.Fprintf(&b, "---:|")
	}
	fmt.Fprintln(&b)
	for _, def := range res.Metrics {
		if !cfg.has(def.Scenario) {
			continue
		}
		name := def.Name
		if def.Unit != "" {
			name += " (" + def.Unit + ")"
		}
		fmt.Fprintf(&b, "| %s |", name)
		med := res.Medians[def.Key]
		for _, k := range kinds {
			v, ok := med[k]
			cell := "—"
			if ok {
				cell = formatValue(def, v)
				if n := len(res.Values[def.Key][k]); n > 1 {
					cell += fmt.Sprintf(" <sub>(%s)</sub>", spread(def, res.Values[def.Key][k]))
				}
			}
			if errs := res.Errors[def.Key][k]; len(errs) > 0 {
				cell += fmt.Sprintf(" **%d failed**", len(errs))
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		if both {
			cell := "—"
			t, ok1 := med[torrentFS]
			bt, ok2 := med[btFS]
			if ok1 && ok2 {
				if r, ok := ratio(def, t, bt); ok {
					cell = fmt.Sprintf("%.2f×", r)
				}
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		fmt.Fprintln(&b)
	}
	if len(res.Errors) > 0 {
		fmt.Fprintf(&b, "\nFailures:\n")
		for key, byFS := range res.Errors {
			for k, errs := range byFS {
				for _, e := range errs {
					fmt.Fprintf(&b, "- %s, %s: %s\n", k, key, oneLine(e))
				}
			}
		}
	}
	if len(res.Notes) > 0 {
		fmt.Fprintf(&b, "\nNotes:\n")
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "- %s\n", oneLine(n))
		}
	}
	return b.String()
}

func formatValue(def metricDef, v float64) string {
	switch {
	case def.Unit == "" && v == float64(int64(v)):
		return fmt.Sprintf("%d", int64(v))
	case def.Unit == "s" || v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// spread is the range of the runs' values, min–max.
func spread(def metricDef, vs []float64) string {
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	return formatValue(def, lo) + "–" + formatValue(def, hi)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ⏎ ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
