package chat

import (
	"encoding/json"
	"strconv"

	"github.com/codexgate/codexgate/shared/jsonscan"
)

// The hot path of a stream is one small event per token. Decoding each into
// a struct with encoding/json, and encoding each chunk with it, costs more
// than the rest of the proxy's per-event work: events are read with
// shared/jsonscan and chunks written from a per-response template.

// Streamed chunks are written from a per-response template instead of with
// encoding/json: the part every chunk repeats (id, object, created, model)
// is encoded once, and a token's chunk is that plus its delta. The bytes
// are exactly what encoding/json writes for the same chunk
// (TestConverter_ChunksMatchEncodingJSON).

// chunkHead is `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":`.
func (c *Converter) chunkHead(dst []byte) []byte {
	if c.head == nil {
		h := make([]byte, 0, 128)
		h = append(h, `data: {"id":`...)
		h = jsonscan.AppendString(h, c.id, true)
		h = append(h, `,"object":"chat.completion.chunk","created":`...)
		h = strconv.AppendInt(h, c.created, 10)
		h = append(h, `,"model":`...)
		h = jsonscan.AppendString(h, c.model, true)
		c.head = append(h, `,"choices":`...)
	}
	return append(dst, c.head...)
}

// chunkOpen starts the one choice of a delta chunk; chunkClose ends it.
const (
	chunkOpen  = `[{"index":0,"delta":`
	chunkClose = `,"logprobs":null,"finish_reason":null}]}` + "\n\n"
)

// deltaChunk appends a chunk whose delta is before, s as a JSON string,
// after. Nothing is written for a non-streaming request.
func (c *Converter) deltaChunk(dst []byte, before, s, after string) []byte {
	if !c.stream {
		return dst
	}
	dst = append(c.chunkHead(dst), chunkOpen...)
	dst = append(dst, before...)
	dst = jsonscan.AppendString(dst, s, true)
	dst = append(dst, after...)
	return append(dst, chunkClose...)
}

// callChunk announces a tool call: its index, id and function name.
func (c *Converter) callChunk(dst []byte, cl *call) []byte {
	if !c.stream {
		return dst
	}
	dst = append(c.chunkHead(dst), chunkOpen...)
	dst = append(dst, `{"tool_calls":[{"index":`...)
	dst = strconv.AppendInt(dst, int64(cl.index), 10)
	dst = append(dst, `,"id":`...)
	dst = jsonscan.AppendString(dst, cl.id, true)
	dst = append(dst, `,"type":"function","function":{"name":`...)
	dst = jsonscan.AppendString(dst, cl.name, true)
	dst = append(dst, `,"arguments":""}}]}`...)
	return append(dst, chunkClose...)
}

// argsChunk appends a fragment of a tool call's arguments.
func (c *Converter) argsChunk(dst []byte, cl *call, args string) []byte {
	if !c.stream {
		return dst
	}
	dst = append(c.chunkHead(dst), chunkOpen...)
	dst = append(dst, `{"tool_calls":[{"index":`...)
	dst = strconv.AppendInt(dst, int64(cl.index), 10)
	dst = append(dst, `,"function":{"arguments":`...)
	dst = jsonscan.AppendString(dst, args, true)
	dst = append(dst, `}}]}`...)
	return append(dst, chunkClose...)
}

// finishChunk is the empty delta with the finish reason.
func (c *Converter) finishChunk(dst []byte) []byte {
	dst = append(c.chunkHead(dst), `[{"index":0,"delta":{},"logprobs":null,"finish_reason":`...)
	dst = jsonscan.AppendString(dst, c.finish, true)
	return append(dst, "}]}\n\n"...)
}

// usageChunk is the chunk without choices that carries the usage.
func (c *Converter) usageChunk(dst []byte) []byte {
	u := c.usage
	if u == nil {
		u = &Usage{}
	}
	b, _ := json.Marshal(u) // integers only: cannot fail
	dst = append(c.chunkHead(dst), `[],"usage":`...)
	dst = append(dst, b...)
	return append(dst, "}\n\n"...)
}
