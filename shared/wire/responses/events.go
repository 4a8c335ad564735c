package responses

// Event names of a Responses stream (the SSE "event:" field, repeated as
// the data's "type").
const (
	EventCreated    = "response.created"
	EventCompleted  = "response.completed"
	EventIncomplete = "response.incomplete"
	EventFailed     = "response.failed"
	EventError      = "error"
)

// EventNames are the events the backend sends in a turn, so a reader can
// intern them (sse.NewNames) and look at every event without allocating.
var EventNames = []string{EventCreated, "response.in_progress", "response.output_item.added",
	"response.output_item.done", "response.content_part.added", "response.content_part.done",
	"response.output_text.delta", "response.output_text.done", "response.refusal.delta", "response.refusal.done",
	"response.reasoning_summary_part.added", "response.reasoning_summary_part.done",
	"response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
	"response.function_call_arguments.delta", "response.function_call_arguments.done",
	EventCompleted, EventIncomplete, EventFailed, EventError}

// IsTerminal reports whether an event of this name ends a stream; a stream
// that ends without one was cut.
func IsTerminal[T string | []byte](name T) bool {
	switch string(name) {
	case EventCompleted, EventIncomplete, EventFailed, EventError:
		return true
	}
	return false
}

// IsFinal reports whether an event of this name carries the finished
// response with its usage (completed, or incomplete at a limit).
func IsFinal[T string | []byte](name T) bool {
	return string(name) == EventCompleted || string(name) == EventIncomplete
}
