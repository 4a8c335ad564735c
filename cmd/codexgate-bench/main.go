// Command codexgate-bench runs the benchmarks of package internal/bench and
// writes docs/BENCHMARKS.md. Run it through `make bench` (scripts/bench.sh),
// which starts the moto stack and builds the binaries it needs.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/codexgate/codexgate/internal/bench"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/sdkhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "reverse-proxy" {
		// The bare reverse proxy the benchmark measures as docs/DESIGN.md §9's floor.
		fs := flag.NewFlagSet("reverse-proxy", flag.ExitOnError)
		upstream := fs.String("upstream", "", "upstream base URL")
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		fs.Parse(os.Args[2:]) //nolint:errcheck // ExitOnError
		if err := bench.ServeBareProxy(ctx, *addr, *upstream, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "codexgate-bench reverse-proxy:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "codexgate-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	bin := flag.String("bin", "", "directory with codexgate, openaisim and <fn>/bootstrap host builds")
	arm := flag.String("arm", "build", "directory with the `make build` artefacts")
	out := flag.String("out", "docs/BENCHMARKS.md", "report file")
	refBench := flag.String("refresher-bench", "", "file with the shared/codex Refresher benchmark output")
	cmdline := flag.String("command", "make bench", "command named in the report")
	o := bench.Options{Progress: os.Stderr, HostBootstraps: map[string]string{}}
	flag.IntVar(&o.Warmup, "warmup", 200, "warm-up requests per target")
	flag.IntVar(&o.N1, "n1", 2000, "requests per target at concurrency 1")
	flag.IntVar(&o.N8, "n8", 4000, "requests per target at concurrency 8")
	flag.IntVar(&o.NRIE, "nrie", 1000, "requests through the RIE at concurrency 1")
	flag.IntVar(&o.Rounds, "rounds", 4, "interleaved rounds")
	flag.IntVar(&o.StormK, "storm-k", 4, "serve processes in the refresh storm")
	flag.IntVar(&o.StormN, "storm-n", 25, "concurrent requests per serve process")
	flag.IntVar(&o.RIEStormK, "rie-storm-k", 4, "RIE containers in the refresh storm")
	flag.IntVar(&o.RIEStormN, "rie-storm-n", 5, "sequential requests per RIE container")
	flag.IntVar(&o.ColdRuns, "cold-runs", 3, "cold starts per bootstrap")
	sizes := flag.String("share-sizes", "128,256,512,1024", "Lambda memory sizes (MB) for the CPU-share section")
	flag.DurationVar(&o.SharePeriod, "share-period", 100*time.Millisecond, "CFS period of the CPU-share quota")
	flag.IntVar(&o.ShareColdRuns, "share-cold-runs", 5, "fresh containers per size (cold start median and slowest)")
	flag.IntVar(&o.ShareTurns, "share-turns", 20, "warm long turns per size")
	flag.IntVar(&o.FloorN, "floor-n", 800, "requests per target and concurrency: serve vs the floor on the long stream")
	flag.StringVar(&o.Only, "only", "", `run one section alone: "cpushare", "envelope" or "keyctl"`)
	flag.Parse()
	if o.Only != "" && o.Only != "cpushare" && o.Only != "envelope" && o.Only != "keyctl" {
		return fmt.Errorf("-only %q: the sections that run alone are cpushare, envelope and keyctl", o.Only)
	}
	for _, f := range strings.Split(*sizes, ",") {
		mb, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || mb < 128 || mb > 10240 {
			return fmt.Errorf("-share-sizes: %q is not a Lambda memory size (128…10240 MB)", f)
		}
		o.ShareSizes = append(o.ShareSizes, mb)
	}
	if *bin == "" {
		return fmt.Errorf("-bin is required")
	}
	o.Codexgate, o.OpenAISim = filepath.Join(*bin, "codexgate"), filepath.Join(*bin, "openaisim")
	fns, err := testsupport.Functions(".")
	if err != nil {
		return err
	}
	for _, fn := range fns {
		o.HostBootstraps[fn] = filepath.Join(*bin, fn, "bootstrap")
	}
	o.ArmDir = *arm
	o.ServeLog = filepath.Join(*bin, "serve.log")
	o.Table = os.Getenv("CODEXGATE_TABLE")
	if o.Table == "" || os.Getenv("AWS_ENDPOINT_URL") == "" {
		return fmt.Errorf("run under scripts/with-stack.sh (CODEXGATE_TABLE and AWS_ENDPOINT_URL unset)")
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS config: %w", err)
	}
	cfg.Logger = logging.Nop{} // the SDK's default logger writes raw lines to stderr
	cfg.HTTPClient = sdkhttp.Wrap(cfg.HTTPClient)
	o.AWS = cfg
	var rb []byte
	if *refBench != "" {
		rb, _ = os.ReadFile(*refBench)
	}
	res := bench.RunAll(ctx, o)
	var buf bytes.Buffer
	res.WriteMarkdown(&buf, *cmdline, string(rb))
	os.Stdout.Write(buf.Bytes()) //nolint:errcheck // terminal
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintln(os.Stderr, "codexgate-bench: wrote", *out)
	return ctx.Err()
}
