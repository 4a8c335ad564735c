package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/codexgate/codexgate/internal/rie"
)

// Options configure a full `make bench` run.
type Options struct {
	AWS   aws.Config
	Table string
	// Binaries: Codexgate and OpenAISim are host builds of cmd/codexgate and
	// cmd/openaisim; HostBootstraps maps a function name to its host
	// (linux/GOARCH of this machine) bootstrap; ArmDir holds the `make build`
	// artefacts (<fn>/bootstrap, linux/arm64 as shipped).
	Codexgate, OpenAISim string
	HostBootstraps       map[string]string
	ArmDir               string
	// Request counts. Warmup goes to every target before measuring.
	Warmup, N1, N8, NRIE, Rounds int
	StormK, StormN               int // serve processes × concurrent requests each
	RIEStormK, RIEStormN         int // RIE containers × sequential requests each
	ColdRuns                     int
	Progress                     io.Writer
	ServeLog                     string // file for the serve processes' logs
	// The CPU-share section: memory sizes, CFS period, fresh containers for
	// the cold start and warm long turns per size.
	ShareSizes                []int
	SharePeriod               time.Duration
	ShareColdRuns, ShareTurns int
	FloorN                    int // requests per target and concurrency, serve vs floor on the long stream
	// Only, when "cpushare", runs the CPU-share section alone (with a short
	// AWS call count for its cost table); when "envelope", the envelope.
	Only string
}

// Results hold every figure of a run; a failed section keeps its error.
type Results struct {
	Machine          Machine
	Opts             Options
	Overhead         []*Overhead
	ServePid         int
	ServeCPU         time.Duration // over ServeRequests
	ServeRequests    int
	BareCPU          time.Duration // the bare reverse proxy, over BareRequests
	BareRequests     int
	MessagesCPU      time.Duration // serve's Messages front, over MessagesRequests
	MessagesRequests int
	ChatCPU          time.Duration // serve's Chat Completions front, over ChatRequests
	ChatRequests     int
	ServeMem         Memory
	RIEBootstrapMem  Memory
	OverheadErr      error
	Calls            *AWSCalls
	CallsErr         error
	Routing          *RoutingCalls // warm requests with the routing controls on
	RoutingErr       error
	Storms           []*Storm
	StormErr         error
	Cold             []ColdStart
	Share            *CPUShare
	Envelope         *Envelope
	KeyControls      *KeyControls // the per-key routing controls' CPU (keyctl.go)
	KeyControlsErr   error
	Elapsed          time.Duration
	EndLoadAvg       string
}

func (o Options) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...)
	}
}

// RunAll runs every section; sections fail independently.
func RunAll(ctx context.Context, o Options) *Results {
	start := time.Now()
	res := &Results{Machine: DetectMachine(), Opts: o}
	if o.Only == "cpushare" {
		o.logf("AWS calls per request (in process, short)")
		res.Calls, res.CallsErr = CountAWSCalls(ctx, o.AWS, o.Table, 200, 2)
		o.logf("proxy bootstrap under Lambda's CPU share (RIE in a cgroup)")
		res.Share = runShare(ctx, o)
		res.Elapsed = time.Since(start)
		res.EndLoadAvg = LoadAvg()
		return res
	}
	if o.Only == "keyctl" {
		o.logf("AWS calls per request, plain key and key with controls (in process, short)")
		res.Calls, res.CallsErr = CountAWSCalls(ctx, o.AWS, o.Table, 500, 0)
		o.logf("key controls: CPU per request through serve (processes)")
		res.KeyControls, res.KeyControlsErr = runKeyControls(ctx, o)
		res.Elapsed = time.Since(start)
		res.EndLoadAvg = LoadAvg()
		return res
	}
	if o.Only == "envelope" {
		o.logf("envelope: AWS calls by accounts and containers (in process, ~2 min)")
		res.Envelope = RunEnvelope(ctx, o.AWS)
		res.Elapsed = time.Since(start)
		res.EndLoadAvg = LoadAvg()
		return res
	}
	o.logf("AWS calls per request and per refresh (in process)")
	res.Calls, res.CallsErr = CountAWSCalls(ctx, o.AWS, o.Table, 1000, 5)
	if res.Calls != nil {
		o.logf("AWS calls per refresh that runs long (in process, ~30 s)")
		res.Calls.Long, res.Calls.LongErr = CountLongRefreshCalls(ctx, o.AWS, o.Table, LongThirds)
	}
	o.logf("AWS calls per request with the routing controls on (in process)")
	res.Routing, res.RoutingErr = CountRoutingCalls(ctx, o.AWS, o.Table, 500)
	o.logf("proxy overhead and refresh storm (processes)")
	res.OverheadErr = runProcesses(ctx, o, res)
	o.logf("cold starts under the RIE")
	res.Cold = runColdStarts(ctx, o)
	o.logf("proxy bootstrap under Lambda's CPU share (RIE in a cgroup)")
	res.Share = runShare(ctx, o)
	o.logf("envelope: AWS calls by accounts and containers (in process, ~2 min)")
	res.Envelope = RunEnvelope(ctx, o.AWS)
	res.Elapsed = time.Since(start)
	res.EndLoadAvg = LoadAvg()
	return res
}

func runProcesses(ctx context.Context, o Options, res *Results) error {
	sim, err := StartSim(o.OpenAISim)
	if err != nil {
		return err
	}
	defer sim.Stop()
	ctl := SimControl{URL: sim.URL, Client: &http.Client{Timeout: 10 * time.Second}}
	ten, err := NewTenant(ctx, o.AWS, o.Table, "overhead", []string{"main"}, ctl.AddAccount)
	if err != nil {
		return err
	}
	defer ten.Cleanup(ctx, o.AWS)
	logw := io.Discard
	if o.ServeLog != "" {
		if f, err := os.Create(o.ServeLog); err == nil {
			defer f.Close()
			logw = f
		}
	}
	serve, err := StartServe(o.Codexgate, ten.Env(sim.URL), logw)
	if err != nil {
		return err
	}
	defer serve.Stop()
	lambda, err := startProxy(o, ten.Env(sim.URL))
	if err != nil {
		return err
	}
	defer lambda.Stop()
	bareProc, err := StartBareProxy(sim.URL)
	if err != nil {
		return err
	}
	defer bareProc.Stop()
	res.ServePid = serve.Pid()

	c := client()
	main := ten.Accounts["main"].Token
	direct := DirectTarget(c, sim.URL, main.Access, main.AccountID)
	srv := ServeTarget(c, serve.URL, ten.Key)
	chat := ChatTarget(c, serve.URL, ten.Key)
	lam := RIETarget(lambda, ten.Key)
	bare := DirectTarget(c, bareProc.URL, main.Access, main.AccountID)
	bare.Name = BareProxyName
	msg := MessagesTarget(c, serve.URL, ten.Key)
	ctlT, err := controlledTarget(ctx, o, ten, c, serve.URL)
	if err != nil {
		return err
	}
	for _, t := range []Target{direct, bare, srv, chat, msg, ctlT, lam} {
		if s := Run(ctx, 1, o.Warmup, t.Do); s.Errors > 0 {
			return fmt.Errorf("warm-up %s: %d failed: %w", t.Name, s.Errors, s.FirstErr)
		}
	}
	cpu := map[string]int{srv.Name: serve.Pid(), msg.Name: serve.Pid(), chat.Name: serve.Pid(), ctlT.Name: serve.Pid(), bare.Name: bareProc.Pid()}
	o.logf("c=1: %d requests each (RIE %d)", o.N1, o.NRIE)
	o1, err := MeasureOverhead(ctx, 1, o.N1, o.Rounds, []Target{direct, bare, srv, chat, msg, ctlT}, cpu)
	if err != nil {
		return err
	}
	r1, err := MeasureOverhead(ctx, 1, o.NRIE, o.Rounds, []Target{lam}, nil)
	if err != nil {
		return err
	}
	o1.Order = append(o1.Order, lam.Name)
	o1.Samples[lam.Name] = r1.Samples[lam.Name]
	o.logf("c=8: %d requests each", o.N8)
	o8, err := MeasureOverhead(ctx, 8, o.N8, o.Rounds, []Target{direct, bare, srv, chat, msg, ctlT}, cpu)
	if err != nil {
		return err
	}
	res.Overhead = []*Overhead{o1, o8}
	res.ServeCPU = o1.CPU[srv.Name] + o8.CPU[srv.Name]
	res.ServeRequests = len(o1.Samples[srv.Name].Latencies) + o1.Samples[srv.Name].Errors +
		len(o8.Samples[srv.Name].Latencies) + o8.Samples[srv.Name].Errors
	res.BareCPU = o1.CPU[bare.Name] + o8.CPU[bare.Name]
	res.BareRequests = len(o1.Samples[bare.Name].Latencies) + o1.Samples[bare.Name].Errors +
		len(o8.Samples[bare.Name].Latencies) + o8.Samples[bare.Name].Errors
	res.MessagesCPU = o1.CPU[msg.Name] + o8.CPU[msg.Name]
	res.MessagesRequests = len(o1.Samples[msg.Name].Latencies) + o1.Samples[msg.Name].Errors +
		len(o8.Samples[msg.Name].Latencies) + o8.Samples[msg.Name].Errors
	res.ChatCPU = o1.CPU[chat.Name] + o8.CPU[chat.Name]
	res.ChatRequests = len(o1.Samples[chat.Name].Latencies) + o1.Samples[chat.Name].Errors +
		len(o8.Samples[chat.Name].Latencies) + o8.Samples[chat.Name].Errors
	res.KeyControls = keyControlsFrom(o1, o8)
	res.ServeMem, _ = ReadMemory(serve.Pid())
	if kids := Children(lambda.Pid()); len(kids) > 0 {
		res.RIEBootstrapMem, _ = ReadMemory(kids[0])
	}
	serve.Stop()
	lambda.Stop()
	bareProc.Stop()

	o.logf("refresh storm: %d serve processes × %d, %d RIE × %d", o.StormK, o.StormN, o.RIEStormK, o.RIEStormN)
	res.StormErr = runStorms(ctx, o, res, sim.URL, ctl, logw)
	return nil
}

func runStorms(ctx context.Context, o Options, res *Results, simURL string, ctl SimControl, logw io.Writer) error {
	ten, err := NewTenant(ctx, o.AWS, o.Table, "storm", []string{"main"}, ctl.AddAccount)
	if err != nil {
		return err
	}
	defer ten.Cleanup(ctx, o.AWS)
	c := client()
	var targets []Target
	for range o.StormK {
		p, err := StartServe(o.Codexgate, ten.Env(simURL), logw)
		if err != nil {
			return err
		}
		defer p.Stop()
		t := ServeTarget(c, p.URL, ten.Key)
		if err := t.Do(ctx); err != nil { // warm: each container has the token cached
			return fmt.Errorf("storm warm-up: %w", err)
		}
		targets = append(targets, t)
	}
	s, err := RunStorm(ctx, "codexgate serve processes", ctl, ten.IDs["main"], targets, o.StormN, false)
	if err != nil {
		return err
	}
	res.Storms = append(res.Storms, s)

	targets = targets[:0]
	for range o.RIEStormK {
		r, err := startProxy(o, ten.Env(simURL))
		if err != nil {
			return err
		}
		defer r.Stop()
		t := RIETarget(r, ten.Key)
		if err := t.Do(ctx); err != nil {
			return fmt.Errorf("RIE storm warm-up: %w", err)
		}
		targets = append(targets, t)
	}
	s, err = RunStorm(ctx, "proxy bootstraps under RIE (one invocation at a time each)", ctl, ten.IDs["main"], targets, o.RIEStormN, true)
	if err != nil {
		return err
	}
	res.Storms = append(res.Storms, s)
	return nil
}

// startProxy runs the proxy bootstrap in one RIE container with env.
func startProxy(o Options, env []string) (*rie.Container, error) {
	bin, err := rie.Find()
	if err != nil {
		return nil, err
	}
	return rie.Start(bin, o.HostBootstraps["proxy"], append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT=120"))
}

func runColdStarts(ctx context.Context, o Options) []ColdStart {
	var out []ColdStart
	bin, err := rie.Find()
	if err != nil {
		return []ColdStart{{Function: "all", Err: err}}
	}
	sim, err := StartSim(o.OpenAISim)
	if err != nil {
		return []ColdStart{{Function: "all", Err: err}}
	}
	defer sim.Stop()
	ctl := SimControl{URL: sim.URL, Client: &http.Client{Timeout: 10 * time.Second}}
	ten, err := NewTenant(ctx, o.AWS, o.Table, "cold", []string{"main"}, ctl.AddAccount)
	if err != nil {
		return []ColdStart{{Function: "all", Err: err}}
	}
	defer ten.Cleanup(ctx, o.AWS)
	env := append(ten.Env(sim.URL), "AWS_LAMBDA_FUNCTION_TIMEOUT=60")
	events := map[string][]byte{
		"proxy":      rie.APIGatewayEvent(http.MethodGet, "/v1/models", map[string]string{"Authorization": "Bearer " + ten.Key}, ""),
		"quota-cron": []byte(`{"version":"0","id":"bench","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}`),
		"refresh":    []byte(`{}`),
	}
	for _, fn := range slices.Sorted(maps.Keys(o.HostBootstraps)) {
		out = append(out, MeasureColdStart(ctx, bin, fn, o.HostBootstraps[fn], filepath.Join(o.ArmDir, fn, "bootstrap"), env, events[fn], o.ColdRuns))
	}
	return out
}

// runShare measures the proxy bootstrap under each size's CPU share against
// a simulator that answers ShareAnswer (a stream of more than 200 events).
func runShare(ctx context.Context, o Options) *CPUShare {
	bin, err := rie.Find()
	if err != nil {
		return &CPUShare{Err: err}
	}
	sim, err := StartSim(o.OpenAISim, "--answer", ShareAnswer())
	if err != nil {
		return &CPUShare{Err: err}
	}
	defer sim.Stop()
	ctl := SimControl{URL: sim.URL, Client: &http.Client{Timeout: 10 * time.Second}}
	ten, err := NewTenant(ctx, o.AWS, o.Table, "share", []string{"main"}, ctl.AddAccount)
	if err != nil {
		return &CPUShare{Err: err}
	}
	defer ten.Cleanup(ctx, o.AWS)
	o.logf("serve and the floor on the long stream: c=1 and c=8, %d requests each", o.FloorN)
	floor := measureLongFloor(ctx, o, ten, sim.URL, o.FloorN)
	if pairs := floor.PairedCPU("codexgate serve", BareProxyName); len(pairs) > 0 {
		o.logf("paired rounds, serve CPU / floor CPU: %.3f", pairs)
	}
	main := ten.Accounts["main"].Token
	o.logf("CPU share: %v MB", o.ShareSizes)
	share := MeasureCPUShare(ctx, ShareOptions{
		RIE: bin, Bootstrap: o.HostBootstraps["proxy"], Env: ten.Env(sim.URL), Key: ten.Key,
		SimURL: sim.URL, Access: main.Access, Acct: main.AccountID,
		Sizes: o.ShareSizes, Period: o.SharePeriod, ColdRuns: max(o.ShareColdRuns, 1), Turns: max(o.ShareTurns, 1),
	})
	share.Floor = floor
	return share
}
