package watermark

import (
	"testing"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// TestMain says how many tests skipped for want of the shared test data or
// a browser, and why.
func TestMain(m *testing.M) { testdata.Main(m) }
