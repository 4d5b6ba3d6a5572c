package tracker

import (
	"testing"

	"github.com/torrentfs/torrentfs/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
