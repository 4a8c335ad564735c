// Package chat translates OpenAI's Chat Completions API to and from the
// Responses API the Codex backend speaks. It does no I/O: the proxy reads
// the client body, calls Translate, sends the Responses request through its
// usual account routing, and feeds the upstream's SSE events to a Converter,
// which yields chat.completion.chunk events (streaming) or one
// chat.completion object (non-streaming).
//
// Request mapping (Translate):
//
//   - leading system/developer messages become instructions (joined by a
//     blank line); later ones stay in place as developer messages;
//   - user text and image_url parts (URLs and data URLs) and file parts with
//     file_data become input_text / input_image / input_file;
//   - assistant text becomes an assistant message, each of its tool_calls a
//     function_call item; a tool message becomes a function_call_output with
//     its tool_call_id;
//   - tools (functions), tool_choice, parallel_tool_calls, reasoning_effort
//     (reasoning.effort, with summary "auto" so reasoning shows as
//     reasoning_content), response_format (text.format) and verbosity map
//     to their Responses fields; user and prompt_cache_key become
//     prompt_cache_key;
//   - a model alias or effort suffix (TranslateNames, shared/wire/models)
//     sends its model, its effort winning over reasoning_effort;
//   - sampling and length knobs the backend refuses (temperature, top_p,
//     max_tokens, max_completion_tokens, penalties, seed, logit_bias, ...)
//     are dropped; what would change the answer's shape (n > 1, logprobs,
//     stop, audio, legacy functions, non-function tools) is a 400.
//
// The full table is in the repository's README; testdata/ holds a golden
// file for every mapping. Files: request.go and messages.go (requests,
// built as shared/wire/responses types), convert.go and events.go
// (reading the upstream events, skimmed with shared/jsonscan rather than
// decoded whole), chunks.go and completion.go (answers), errors.go,
// models.go (the model list).
package chat
