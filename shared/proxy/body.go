package proxy

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/codexgate/codexgate/shared/jsonscan"
	"github.com/codexgate/codexgate/shared/wire/responses"
)

// inbound is a client request, read and validated, ready to be sent upstream
// any number of times (replay after a refresh, failover).
type inbound struct {
	rt     *route
	header http.Header // sent upstream (filtered by upstreamHeader); read-only
	query  string      // forwarded only when rt.query
	body   []byte      // what goes upstream; nil for GET
	// model is the model body asks for, as the front read or wrote it: a
	// key's model allow-list checks it (keyctl.go) without reading the
	// body again. A front that changes the body's model sets it too.
	model string
	// stream is what the client asked for; the upstream always streams
	// /responses.
	stream bool
	// session keys conversation affinity: the session_id or conversation_id
	// header, else the body's prompt_cache_key. Empty: no affinity.
	session string
	// conv converts the upstream stream for a translating front (front.go);
	// nil: the events pass through.
	conv converter
	// ping, when set, is sent on a stream silent for Proxy.pingEvery.
	ping []byte
	// answer, when set, is the whole 200 JSON answer: nothing goes
	// upstream (count_tokens).
	answer []byte
	// ctl are the key's routing controls (keyctl.go); nil: none.
	ctl *keyControls
}

// readRequest reads the whole body (up to cfg.MaxBodyBytes, gzip decoded)
// and has the route's front validate and translate it. The body is never
// streamed straight through: see golang/go#40747 and docs/DESIGN.md §9.2.
func readRequest(r *http.Request, rt *route, cfg *Config) (*inbound, error) {
	in := &inbound{rt: rt, header: r.Header, stream: true}
	if rt.query {
		in.query = r.URL.RawQuery
	}
	if !rt.hasBody {
		return in, nil
	}
	raw, err := readBody(r, cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if err := rt.front.translate(cfg, raw, in); err != nil {
		return nil, err
	}
	return in, nil
}

// responsesFront is the Responses API itself (/v1/responses, and compact
// when !stream): the body goes upstream as the client sent it, with only
// what the backend requires rewritten, and the events pass through.
type responsesFront struct {
	stream bool // the /responses stream: the body is made to stream
}

func (f responsesFront) translate(cfg *Config, raw []byte, in *inbound) error {
	// One validating pass, then a skim for the few fields we need.
	if !json.Valid(raw) {
		return errBadJSON
	}
	fields, ok := jsonscan.Fields(raw, "stream", "store", "prompt_cache_key", "instructions", "model", "reasoning")
	if !ok {
		return errBadJSON
	}
	stream, store, cacheKey, instructions, model, reasoning := fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
	in.body, in.model = raw, jsonString(model)
	in.session = sessionKey(in.header, cacheKey)
	var rw bodyRewrite
	if t, ok := cfg.ModelNames.Resolve(in.model); ok {
		rw.model, rw.effort, in.model = t.Model, t.Effort, t.Model
	}
	if f.stream {
		in.stream = string(stream) == "true"
		noInstructions := instructions == nil || string(instructions) == `""` || string(instructions) == "null"
		// The ChatGPT backend requires "stream":true, "store":false and
		// non-empty instructions. Codex CLI with a custom provider sends its
		// instructions as a developer message in input instead.
		rw.stream, rw.store, rw.instructions = !in.stream, store == nil, noInstructions
	}
	var err error
	switch {
	case rw == (bodyRewrite{}):
	case !rw.stream && !rw.store && !rw.instructions:
		// Only the name resolved (the Codex CLI's usual turn): splice
		// the model and effort in, leaving a long history untouched.
		in.body, err = spliceModel(raw, model, reasoning, rw.model, rw.effort)
	default:
		in.body, err = rewriteBody(raw, rw)
	}
	return err
}

// spliceModel returns raw with the value model (a sub-slice of raw, as
// jsonscan.Fields returns it) replaced by newModel and, when effort is set,
// reasoning's effort set: the reasoning object (a sub-slice too, or nil)
// is re-encoded, or one is added at the start of the object.
func spliceModel(raw, model, reasoning []byte, newModel, effort string) ([]byte, error) {
	type edit struct {
		at, end int
		with    []byte
	}
	offset := func(sub []byte) int { return cap(raw) - cap(sub) } // sub is raw[i:j]
	m, _ := json.Marshal(newModel)                                // a string: cannot fail
	edits := []edit{{offset(model), offset(model) + len(model), m}}
	if effort != "" {
		r := map[string]json.RawMessage{}
		if len(reasoning) > 0 && reasoning[0] == '{' {
			if err := json.Unmarshal(reasoning, &r); err != nil {
				return nil, errBadJSON
			}
		}
		r["effort"], _ = json.Marshal(effort)
		obj, err := json.Marshal(r)
		if err != nil {
			return nil, errBadJSON
		}
		if reasoning != nil {
			edits = append(edits, edit{offset(reasoning), offset(reasoning) + len(reasoning), obj})
		} else {
			at := bytes.IndexByte(raw, '{') + 1 // raw is an object: Fields said so
			edits = append(edits, edit{at, at, append(append([]byte(`"reasoning":`), obj...), ',')})
		}
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.at - b.at })
	out := make([]byte, 0, len(raw)+64)
	last := 0
	for _, e := range edits {
		out = append(append(out, raw[last:e.at]...), e.with...)
		last = e.end
	}
	return append(out, raw[last:]...), nil
}

// readBody reads r.Body up to max bytes after decoding a gzip
// Content-Encoding; larger bodies are errBodyTooLarge(max).
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, errBodyTooLarge(max)
	}
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, max+1))
		if err != nil {
			return nil, errReadBody
		}
		defer zr.Close()
		src = zr
	default:
		return nil, errBadEncoding
	}
	size := int64(bytes.MinRead)
	if r.ContentLength > 0 && r.Header.Get("Content-Encoding") == "" {
		size = r.ContentLength + 1 // +1: ReadFrom needs room to see EOF without growing
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	n, err := buf.ReadFrom(io.LimitReader(src, max+1))
	if n > max {
		return nil, errBodyTooLarge(max)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge(max)
		}
		return nil, fmt.Errorf("%w: %w", errReadBody, err)
	}
	return buf.Bytes(), nil
}

// errBodyTooLarge is the 413 for a request body over max bytes. It names the
// limit and the reason for it, so the person behind the client knows what to
// change; each front answers it in its own error shape.
func errBodyTooLarge(max int64) *apiError {
	limit := fmt.Sprintf("%d bytes", max)
	if max%(1<<20) == 0 {
		limit = fmt.Sprintf("%d MB (%d bytes)", max>>20, max)
	}
	return &apiError{status: http.StatusRequestEntityTooLarge, typ: typeInvalidRequest, code: "request_too_large",
		message: "The request body is larger than codexgate's limit of " + limit + ", AWS Lambda's limit on a request, " +
			"applied by codexgate serve as well so that what works locally works deployed. " +
			"Compact or start a new conversation, or send fewer or smaller images and files."}
}

// bodyRewrite is what rewriteBody changes; the zero value nothing.
type bodyRewrite struct {
	stream       bool   // set "stream": true
	store        bool   // set "store": false
	instructions bool   // set default instructions
	model        string // set "model" (a resolved alias or suffix)
	effort       string // set "reasoning.effort", keeping the rest of reasoning
}

// rewriteBody applies rw to the Responses body raw.
func rewriteBody(raw []byte, rw bodyRewrite) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, errBadJSON
	}
	if rw.stream {
		doc["stream"] = json.RawMessage("true")
	}
	if rw.store {
		doc["store"] = json.RawMessage("false")
	}
	if rw.instructions {
		doc["instructions"], _ = json.Marshal(responses.PassthroughInstructions)
	}
	if rw.model != "" {
		doc["model"], _ = json.Marshal(rw.model)
	}
	if rw.effort != "" {
		reasoning := map[string]json.RawMessage{}
		if r := doc["reasoning"]; len(r) > 0 && r[0] == '{' {
			if err := json.Unmarshal(r, &reasoning); err != nil {
				return nil, errBadJSON
			}
		}
		reasoning["effort"], _ = json.Marshal(rw.effort)
		doc["reasoning"], _ = json.Marshal(reasoning)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("rewrite body: %w", err)
	}
	return out, nil
}

// sessionKey is the conversation key for account affinity. Long keys are
// hashed so the affinity map's memory stays bounded.
func sessionKey(h http.Header, promptCacheKey json.RawMessage) string {
	k := h.Get("Session_id")
	if k == "" {
		k = h.Get("Conversation_id")
	}
	if k == "" && len(promptCacheKey) > 0 {
		var s string
		if json.Unmarshal(promptCacheKey, &s) == nil {
			k = s
		}
	}
	if len(k) > 128 {
		sum := sha256.Sum256([]byte(k))
		k = "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}
