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
// OpenAI SDKs' models.list() and the Codex CLI read the same answer. keep,
// when not nil, is the key's allow-list: only the models it keeps are
// listed, in both lists (FilterModels).
func ModelList(doc []byte, keep func(id string) bool) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("read model document: %w", err)
	}
	var models []Model
	if raw, ok := top["models"]; ok {
		if err := json.Unmarshal(raw, &models); err != nil {
			return nil, fmt.Errorf("read models: %w", err)
		}
	}
	if keep != nil {
		models = FilterModels(models, keep)
		var err error
		if top["models"], err = json.Marshal(models); err != nil {
			return nil, fmt.Errorf("encode models: %w", err)
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

// Model is one entry of the backend's model list: its slug, and the entry
// as the backend sent it.
type Model struct {
	Slug string
	Raw  json.RawMessage
}

// UnmarshalJSON keeps the entry and reads its slug.
func (m *Model) UnmarshalJSON(b []byte) error {
	var v struct {
		Slug string `json:"slug"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	m.Slug, m.Raw = v.Slug, append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the entry as the backend sent it.
func (m Model) MarshalJSON() ([]byte, error) {
	if m.Raw == nil {
		return json.Marshal(struct {
			Slug string `json:"slug"`
		}{m.Slug})
	}
	return m.Raw, nil
}

// FilterModels returns the models whose slug keep keeps, in order.
func FilterModels(models []Model, keep func(id string) bool) []Model {
	out := models[:0:0]
	for _, m := range models {
		if keep(m.Slug) {
			out = append(out, m)
		}
	}
	return out
}
