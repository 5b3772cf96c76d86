package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/qilin-ai/qilin/eval/report"
)

// evalCompareUsage is the --compare form of qilin eval.
const evalCompareUsage = "--compare DIR1 DIR2 [--out DIR]"

// runEvalCompare is `qilin eval --compare DIR1 DIR2 [--out DIR]`: it puts
// two earlier runs side by side (teacher against student, Q8_0 against
// Q4_K_M), prints one table per shared task with the difference in
// accuracy and its 95% interval, and with out set writes the comparison as
// OUT/report.html. dirs are the positional arguments; qilin eval calls it
// when --compare is given.
func runEvalCompare(dirs []string, out string, stdout io.Writer) error {
	if len(dirs) != 2 {
		return usageError("--compare takes two eval directories, got %d: qilin eval %s", len(dirs), evalCompareUsage)
	}
	c, err := report.Compare(dirs[0], dirs[1])
	if err != nil {
		return err
	}
	if err := c.WriteText(stdout); err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	if err := report.WriteCompare(out, c); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(out, report.ReportFile))
	return err
}
