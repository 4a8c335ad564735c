package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/shared/statestore"
)

// ControlledTargetName is the overhead target whose key has every routing
// control set (ControlledKey), through the same serve process as the
// plain key's.
const ControlledTargetName = "codexgate serve, key with controls"

// KeyControls is what the per-key routing controls cost: CPU per request
// of the same turn through one serve process with a plain key and with a
// key that has every control set, measured in interleaved rounds; the AWS
// calls are section 2's (AWSCalls.Controlled*).
type KeyControls struct {
	PlainCPU, ControlledCPU           time.Duration
	PlainRequests, ControlledRequests int
}

// keyControlsFrom sums the plain and controlled targets' CPU of overhead
// runs.
func keyControlsFrom(runs ...*Overhead) *KeyControls {
	k := &KeyControls{}
	for _, o := range runs {
		k.PlainCPU += o.CPU["codexgate serve"]
		k.ControlledCPU += o.CPU[ControlledTargetName]
		for name, n := range map[string]*int{"codexgate serve": &k.PlainRequests, ControlledTargetName: &k.ControlledRequests} {
			if s := o.Samples[name]; s != nil {
				*n += len(s.Latencies) + s.Errors
			}
		}
	}
	return k
}

// controlledTarget is ServeTarget with a new key of the tenant's that has
// every routing control set.
func controlledTarget(ctx context.Context, o Options, ten *Tenant, c *http.Client, base string) (Target, error) {
	key, err := ControlledKey(ctx, statestore.New(dynamodb.NewFromConfig(o.AWS), o.Table), ten, "bench-controlled")
	if err != nil {
		return Target{}, err
	}
	t := ServeTarget(c, base, key)
	t.Name = ControlledTargetName
	return t, nil
}

// runKeyControls is `-only keyctl`: the plain and the controlled key through
// one serve process, c=1 and c=8, CPU charged per target.
func runKeyControls(ctx context.Context, o Options) (*KeyControls, error) {
	sim, err := StartSim(o.OpenAISim)
	if err != nil {
		return nil, err
	}
	defer sim.Stop()
	ctl := SimControl{URL: sim.URL, Client: &http.Client{Timeout: 10 * time.Second}}
	ten, err := NewTenant(ctx, o.AWS, o.Table, "keyctl", []string{"main"}, ctl.AddAccount)
	if err != nil {
		return nil, err
	}
	defer ten.Cleanup(ctx, o.AWS)
	serve, err := StartServe(o.Codexgate, ten.Env(sim.URL), io.Discard)
	if err != nil {
		return nil, err
	}
	defer serve.Stop()
	c := client()
	srv := ServeTarget(c, serve.URL, ten.Key)
	ctlT, err := controlledTarget(ctx, o, ten, c, serve.URL)
	if err != nil {
		return nil, err
	}
	targets := []Target{srv, ctlT}
	for _, t := range targets {
		if s := Run(ctx, 1, o.Warmup, t.Do); s.Errors > 0 {
			return nil, fmt.Errorf("warm-up %s: %d failed: %w", t.Name, s.Errors, s.FirstErr)
		}
	}
	cpu := map[string]int{srv.Name: serve.Pid(), ctlT.Name: serve.Pid()}
	o.logf("key controls, c=1: %d requests each", o.N1)
	o1, err := MeasureOverhead(ctx, 1, o.N1, o.Rounds, targets, cpu)
	if err != nil {
		return nil, err
	}
	o.logf("key controls, c=8: %d requests each", o.N8)
	o8, err := MeasureOverhead(ctx, 8, o.N8, o.Rounds, targets, cpu)
	if err != nil {
		return nil, err
	}
	return keyControlsFrom(o1, o8), nil
}

// writeKeyControls is the key controls' part of the report: AWS calls
// before the first byte and CPU per request, plain key against a key with
// every control set.
func (r *Results) writeKeyControls(p func(string, ...any)) {
	p("### Per-key routing controls")
	p("")
	p("A key with every control set (`keys create --models %s --accounts <the tenant's> --max-concurrent 64`: allow-list checked on the upstream body, account binding in the pick, the per-container cap) against a plain key, on the same turn.", joinModels())
	p("")
	p("| figure | measured | target | verdict |")
	p("|---|---|---|---|")
	if c := r.Calls; c != nil && c.ControlledRequests > 0 {
		p("| AWS calls per warm request before its first byte, key with controls | %.4f (%d calls / %d requests) | 0 | %s |",
			float64(c.ControlledBeforeFirstByte)/float64(c.ControlledRequests), c.ControlledBeforeFirstByte, c.ControlledRequests, verdict(c.ControlledBeforeFirstByte == 0))
		p("| AWS calls per warm request in all, key with controls | %.4f (%d calls / %d requests: %s) | as a plain key's: ≤ 1 write | %s |",
			float64(c.ControlledCalls)/float64(c.ControlledRequests), c.ControlledCalls, c.ControlledRequests, ops(c.ControlledByOp, 1),
			verdict(c.ControlledCalls <= c.ControlledRequests && c.ControlledByOp["UpdateItem"] == c.ControlledCalls))
	}
	if k := r.KeyControls; k != nil && k.PlainRequests > 0 && k.ControlledRequests > 0 {
		plain, ctl := k.PlainCPU/time.Duration(k.PlainRequests), k.ControlledCPU/time.Duration(k.ControlledRequests)
		p("| CPU per request: key with controls − plain key (serve process, %d + %d requests, interleaved rounds) | %s ms (%s − %s) | no measurable CPU: ≤ 0.02 ms | %s |",
			k.ControlledRequests, k.PlainRequests, ms(ctl-plain), ms(ctl), ms(plain), verdict(ctl-plain <= 20*time.Microsecond))
	}
	if r.KeyControlsErr != nil {
		p("")
		p("**CPU not measured: %v**", r.KeyControlsErr)
	}
	p("")
	p("The controls arrive with the key's item, which the key cache holds (re-checked every 30 s in the background, at most 60 s old): no AWS call of their own. In process (`go test -run '^$' -bench 'ServeHTTP$|ServeHTTP_KeyControls' ./shared/proxy/`) the difference is a few map lookups: the model checked is the one the front read in its own pass over the body.")
	p("")
}

func joinModels() string {
	s := ""
	for i, m := range ControlledModels {
		if i > 0 {
			s += ","
		}
		s += m
	}
	return s
}
