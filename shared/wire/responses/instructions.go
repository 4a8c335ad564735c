package responses

// The backend refuses a request without instructions. Which default fills
// the gap depends on where the client's own guidance is.
const (
	// DefaultInstructions fill a translated request (Chat Completions,
	// Messages) whose client sent no system prompt: there is no guidance
	// anywhere else in the request.
	DefaultInstructions = "You are a helpful assistant."
	// PassthroughInstructions fill a /v1/responses request without
	// instructions: Codex CLI with a custom provider sends its guidance as
	// a developer message in input instead, which the model is told to
	// follow.
	PassthroughInstructions = "You are Codex, a coding assistant. Follow the developer and user messages."
)
