package proxy

import (
	"errors"
	"net/http"

	"github.com/codexgate/codexgate/shared/wire/chat"
)

// chatFront serves POST /v1/chat/completions through shared/wire/chat.
type chatFront struct{}

func (chatFront) translate(body []byte) (*frontRequest, error) {
	t, err := chat.Translate(body)
	if err != nil {
		var ce *chat.Error
		if errors.As(err, &ce) {
			return nil, &apiError{status: http.StatusBadRequest, typ: typeInvalidRequest, code: ce.Code, message: ce.Message}
		}
		return nil, err
	}
	return &frontRequest{body: t.Body, stream: t.Stream, cacheKey: t.CacheKey, conv: chatConverter{chat.NewConverter(t)}}, nil
}

// chatConverter adapts chat.Converter to converter.
type chatConverter struct{ c *chat.Converter }

func (cc chatConverter) event(dst []byte, name string, data []byte) ([]byte, frontStatus, error) {
	out, st, err := cc.c.Event(dst, name, data)
	switch st {
	case chat.Done:
		return out, frontDone, err
	case chat.Failed:
		return out, frontFailed, err
	}
	return out, frontContinue, err
}

func (cc chatConverter) result() ([]byte, error) { return cc.c.Completion() }

func (cc chatConverter) streamError(dst []byte, ae *apiError) []byte {
	return chat.ErrorEvent(dst, ae.message, ae.typ, ae.code)
}
