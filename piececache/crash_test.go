package piececache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

const crashPieceSize = 100<<10 + 7

// TestHelperPutForever is not a test: TestKilledWhileWriting runs the test
// binary with it to write pieces until it is killed.
func TestHelperPutForever(t *testing.T) {
	dir := os.Getenv("PIECECACHE_PUT_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	c, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	for p := 0; ; p++ {
		if err := c.Put(context.Background(), hash(1), p, pieceData(1, p, crashPieceSize)); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(p) // acknowledged
	}
}

// TestKilledWhileWriting kills a process in the middle of Puts and checks
// that the reopened cache holds every acknowledged piece, intact, and
// serves no wrong byte of any piece it lists.
func TestKilledWhileWriting(t *testing.T) {
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPutForever$")
	cmd.Env = append(os.Environ(), "PIECECACHE_PUT_DIR="+dir)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		p, err := strconv.Atoi(line)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper said %q", line)
		}
		acked = p
		if acked == 80 {
			cmd.Process.Kill() // SIGKILL, mid-write
			break
		}
	}
	cmd.Wait()
	if acked < 80 {
		t.Fatalf("helper stopped after %d pieces", acked)
	}

	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer c.Close()
	held, _ := c.Pieces(context.Background(), hash(1))
	if len(held) < acked+1 {
		t.Errorf("%d pieces held after the kill, %d were acknowledged", len(held), acked+1)
	}
	buf := make([]byte, crashPieceSize)
	for _, p := range held {
		want := pieceData(1, p, crashPieceSize)
		n, err := c.ReadAt(context.Background(), hash(1), p, buf, 0)
		switch {
		case errors.Is(err, ErrCorrupt) && p > acked:
			// A piece torn by the kill: refused, never served.
		case err != nil || n != crashPieceSize || string(buf) != string(want):
			t.Fatalf("piece %d (acknowledged: %v): ReadAt = %d, %v, bytes equal %v",
				p, p <= acked, n, err, string(buf[:n]) == string(want[:n]))
		}
	}
	t.Logf("%d pieces acknowledged, %d held after SIGKILL", acked+1, len(held))
}
