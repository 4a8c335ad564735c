package chat

import "fmt"

// Error is a request the front refuses. Its fields are meant for the
// client: the proxy answers it as a 400 in OpenAI's error shape.
type Error struct {
	Param   string // the offending parameter, e.g. "messages[2].content[0].type"
	Code    string // OpenAI error code, e.g. "unsupported_parameter"
	Message string
}

func (e *Error) Error() string { return e.Message }

// Error codes.
const (
	CodeUnsupportedParameter = "unsupported_parameter"
	CodeUnsupportedValue     = "unsupported_value"
	CodeInvalidValue         = "invalid_value"
	CodeMissingParameter     = "missing_required_parameter"
	CodeInvalidJSON          = "invalid_json"
)

func unsupported(param, why string) *Error {
	return &Error{Param: param, Code: CodeUnsupportedParameter,
		Message: fmt.Sprintf("Unsupported parameter: '%s' %s", param, why)}
}

func unsupportedValue(param, why string) *Error {
	return &Error{Param: param, Code: CodeUnsupportedValue,
		Message: fmt.Sprintf("Unsupported value for '%s': %s", param, why)}
}

func invalid(param, why string) *Error {
	return &Error{Param: param, Code: CodeInvalidValue,
		Message: fmt.Sprintf("Invalid value for '%s': %s", param, why)}
}

func missing(param string) *Error {
	return &Error{Param: param, Code: CodeMissingParameter,
		Message: fmt.Sprintf("Missing required parameter: '%s'.", param)}
}
