package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/server"
)

func init() {
	register(&command{name: "serve", summary: "OpenAI- and Ollama-compatible API server", run: runServe})
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "[[--model] MODEL] [flags]", stderr)
	var lf loadFlags
	lf.register(fs)
	host := fs.String("host", "127.0.0.1", "address to listen on (0.0.0.0 exposes the server to the network)")
	port := fs.Int("port", 8080, "TCP `PORT` to listen on (0: any free port)")
	var keys stringList
	fs.Var(&keys, "api-key", "require this bearer `KEY` (repeatable; also QILIN_API_KEYS=FILE with one key per line)")
	parallel := fs.Int("parallel", 4, "requests decoded together (slots)")
	maxQueue := fs.Int("max-queue", 64, "requests that may wait for a slot before 429")
	reasoning := fs.String("reasoning-format", server.ReasoningDeepSeek, "deepseek: reasoning in reasoning_content; none: leave <think> in the content")
	cors := fs.String("cors-origin", "", "allow browser requests from `ORIGIN` (\"*\" for any); off by default")
	logPrompts := fs.Bool("log-prompts", false, "log prompt and output text (off: never logged)")
	alias := fs.String("alias", "", "model `NAME` clients use (default: the file name)")
	templateFile := fs.String("chat-template-file", "", "use the Jinja chat template in `FILE` instead of the model's")
	maxBody := fs.Int64("max-body", 8<<20, "largest request body in `BYTES`")
	wmKeyFile := watermarkKeyFlag(fs)
	drain := fs.Duration("shutdown-timeout", 30*time.Second, "on interrupt, wait this long for running requests")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := lf.takeModel(pos); err != nil {
		return err
	}
	if !server.ValidReasoningFormat(*reasoning) {
		return usageError("--reasoning-format %q: want deepseek or none", *reasoning)
	}
	if *parallel < 1 {
		return usageError("--parallel %d: want at least 1", *parallel)
	}
	if *port < 0 || *port > 65535 {
		return usageError("--port %d: want 0 to 65535", *port)
	}
	if f := os.Getenv("QILIN_API_KEYS"); f != "" {
		fileKeys, err := readKeys(f)
		if err != nil {
			return err
		}
		keys = append(keys, fileKeys...)
	}
	lf.slots = *parallel
	if err := lf.check(); err != nil {
		return err
	}
	if *templateFile != "" {
		b, err := os.ReadFile(*templateFile)
		if err != nil {
			return fmt.Errorf("--chat-template-file: %w", err)
		}
		lf.chatTemplate = string(b)
	}

	wmKey, err := loadMarkingKey(*wmKeyFile)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if wmKey != nil {
		log.Info("watermarking every sampled answer", "key", wmKey.ID, "scheme", wmKey.Scheme)
	}
	srv := server.New(server.Options{
		Watermark: wmKey,
		ModelName: *alias, APIKeys: keys, CORSOrigin: *cors, ReasoningFormat: *reasoning, LogPrompts: *logPrompts,
		Logger: log, MaxBodyBytes: *maxBody,
		Sched: engine.SchedOptions{Slots: *parallel, SlotContext: lf.ctx, MaxQueue: *maxQueue},
	})
	// Load first, then listen: once "listening" is printed, requests are
	// answered.
	e, mf, err := lf.load(stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := srv.Load(e, mf.Path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted while loading
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "qilin: listening on http://%s (OpenAI API at /v1, Ollama API at /api)\n", ln.Addr())
	if len(keys) == 0 && !isLoopback(*host) {
		log.Warn("serving on a non-loopback address without --api-key: anyone who can reach it can use the model", "host", *host)
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for running requests", "timeout", *drain)
	dctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- srv.Shutdown(dctx) }()
	herr := hs.Shutdown(dctx)
	if derr := <-drained; derr != nil && !errors.Is(derr, context.DeadlineExceeded) {
		return derr
	}
	if herr != nil && !errors.Is(herr, context.DeadlineExceeded) {
		return herr
	}
	return nil
}

// readKeys reads API keys, one per line (blank lines and # comments
// skipped).
func readKeys(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("QILIN_API_KEYS: %w", err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k := strings.TrimSpace(sc.Text())
		if k != "" && !strings.HasPrefix(k, "#") {
			keys = append(keys, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("QILIN_API_KEYS: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("QILIN_API_KEYS: %s holds no keys", path)
	}
	return keys, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
