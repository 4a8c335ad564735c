package chat

import (
	"encoding/json"
	"fmt"
)

// ModelOwner is the owned_by of every listed model.
const ModelOwner = "openai"

// listedModel is one entry of OpenAI's model list.
type listedModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"` // unknown for Codex models: 0
	OwnedBy string `json:"owned_by"`
}

// ModelList adds OpenAI's list shape ("object": "list", "data": [{id,
// object, created, owned_by}]) to the Codex backend's model document
// ({"models": [{"slug", …}]}), keeping every field the backend sent, so the
// OpenAI SDKs' models.list() and the Codex CLI read the same answer.
func ModelList(doc []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("read model document: %w", err)
	}
	var models []struct {
		Slug string `json:"slug"`
	}
	if raw, ok := top["models"]; ok {
		if err := json.Unmarshal(raw, &models); err != nil {
			return nil, fmt.Errorf("read models: %w", err)
		}
	}
	data := make([]listedModel, 0, len(models))
	for _, m := range models {
		if m.Slug != "" {
			data = append(data, listedModel{ID: m.Slug, Object: "model", OwnedBy: ModelOwner})
		}
	}
	top["object"] = json.RawMessage(`"list"`)
	var err error
	if top["data"], err = json.Marshal(data); err != nil {
		return nil, fmt.Errorf("encode model list: %w", err)
	}
	if _, ok := top["models"]; !ok {
		top["models"] = json.RawMessage(`[]`)
	}
	out, err := json.Marshal(top)
	if err != nil {
		return nil, fmt.Errorf("encode model list: %w", err)
	}
	return out, nil
}
