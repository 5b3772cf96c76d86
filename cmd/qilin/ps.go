package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qilin-ai/qilin/internal/termui"
)

func init() {
	register(&command{name: "ps", summary: "show what a running qilin serve has loaded", run: runPS})
}

// psModel is one entry of a server's /api/ps.
type psModel struct {
	Name          string `json:"name"`
	Size          int64  `json:"size"`
	ContextLength int    `json:"context_length"`
	Details       struct {
		ParameterSize     string `json:"parameter_size"`
		QuantizationLevel string `json:"quantization_level"`
		Family            string `json:"family"`
	} `json:"details"`
}

func runPS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ps", "[--host URL] [--json]", stderr)
	host := fs.String("host", envOr("QILIN_HOST", "http://127.0.0.1:8080"), "the server's `URL` (also QILIN_HOST)")
	asJSON := fs.Bool("json", false, "print the server's /api/ps answer as it is")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("ps takes no arguments, got %q", pos)
	}
	base := strings.TrimSuffix(*host, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	body, err := getPS(ctx, base, os.Getenv("QILIN_API_KEY"))
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var ps struct {
		Models []psModel `json:"models"`
	}
	if err := json.Unmarshal(body, &ps); err != nil {
		return fmt.Errorf("%s/api/ps: not a qilin or Ollama answer: %v", base, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tPARAMS\tQUANT\tARCH\tCONTEXT")
	for _, m := range ps.Models {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", m.Name, termui.Bytes(m.Size), orUnknown(m.Details.ParameterSize),
			orUnknown(m.Details.QuantizationLevel), orUnknown(m.Details.Family), m.ContextLength)
	}
	return tw.Flush()
}

// getPS fetches base/api/ps, sending key as a bearer token when set.
func getPS(ctx context.Context, base, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/ps", nil)
	if err != nil {
		return nil, usageError("--host %q: %v", base, err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, fmt.Errorf("no server answers at %s (start one with qilin serve; --host or QILIN_HOST names another)", base)
		}
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s/api/ps: %w", base, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("%s asks for an API key: set QILIN_API_KEY", base)
	case resp.StatusCode == http.StatusServiceUnavailable:
		return nil, fmt.Errorf("%s is still loading its model", base)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s/api/ps: %s", base, resp.Status)
	}
	return body, nil
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
