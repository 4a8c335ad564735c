package proxy

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/codexgate/codexgate/shared/wire/chat"
)

// chatFront serves POST /v1/chat/completions through shared/wire/chat.
type chatFront struct{}

func (chatFront) translate(cfg *Config, body []byte, in *inbound) error {
	t, err := chat.TranslateNames(body, cfg.ModelNames)
	if err != nil {
		var ce *chat.Error
		if errors.As(err, &ce) {
			return &apiError{status: http.StatusBadRequest, typ: typeInvalidRequest, code: ce.Code, message: ce.Message}
		}
		return fmt.Errorf("translate chat request: %w", err)
	}
	in.body, in.model, in.stream, in.conv = t.Body, t.UpstreamModel, t.Stream, chatConverter{chat.NewConverter(t)}
	in.session = sessionKey(in.header, jsonCacheKey(t.CacheKey))
	return nil
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
