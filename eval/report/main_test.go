package report

import (
	"testing"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// TestMain says how many tests skipped for want of a browser.
func TestMain(m *testing.M) { testdata.Main(m) }
