package chat

import (
	"encoding/json"
	"fmt"
	"slices"
)

// ModelOwner is the owned_by of every listed model.
const ModelOwner = "openai"

// ListedModel is one entry of OpenAI's model list.
type ListedModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"` // unknown for Codex models: 0
	OwnedBy string `json:"owned_by"`
}

// Listed is a ListedModel named id.
func Listed(id string) ListedModel {
	return ListedModel{ID: id, Object: "model", OwnedBy: ModelOwner}
}

// ModelInfo is one model of the Codex backend's document, kept whole.
type ModelInfo struct {
	Slug    string
	Efforts []string // its supported_reasoning_levels' efforts
	Raw     json.RawMessage
}

// ModelDoc is the Codex backend's model document ({"models": [{"slug", …}]},
// what the Codex CLI reads) decoded, with OpenAI's list (what the OpenAI
// SDKs' models.list() reads) beside it. A filter or an expansion edits
// Models and Data; JSON encodes the answer.
type ModelDoc struct {
	top    map[string]json.RawMessage // every other field, as sent
	Models []ModelInfo
	Data   []ListedModel // from Models, in order
}

// ParseModelDoc decodes the backend's model document.
func ParseModelDoc(doc []byte) (*ModelDoc, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("read model document: %w", err)
	}
	var raws []json.RawMessage
	if raw, ok := top["models"]; ok {
		if err := json.Unmarshal(raw, &raws); err != nil {
			return nil, fmt.Errorf("read models: %w", err)
		}
	}
	d := &ModelDoc{top: top, Models: make([]ModelInfo, 0, len(raws)), Data: make([]ListedModel, 0, len(raws))}
	for _, raw := range raws {
		var m struct {
			Slug   string `json:"slug"`
			Levels []struct {
				Effort string `json:"effort"`
			} `json:"supported_reasoning_levels"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("read models: %w", err)
		}
		info := ModelInfo{Slug: m.Slug, Raw: raw}
		for _, l := range m.Levels {
			info.Efforts = append(info.Efforts, l.Effort)
		}
		d.Models = append(d.Models, info)
		if m.Slug != "" {
			d.Data = append(d.Data, Listed(m.Slug))
		}
	}
	return d, nil
}

// JSON encodes the answer: the backend's document with its models as
// they are now in d, plus "object": "list" and "data".
func (d *ModelDoc) JSON() ([]byte, error) {
	top := make(map[string]json.RawMessage, len(d.top)+2)
	for k, v := range d.top {
		top[k] = v
	}
	top["object"] = json.RawMessage(`"list"`)
	data := d.Data
	if data == nil {
		data = []ListedModel{}
	}
	var err error
	if top["data"], err = json.Marshal(data); err != nil {
		return nil, fmt.Errorf("encode model list: %w", err)
	}
	raws := make([]json.RawMessage, 0, len(d.Models))
	for _, m := range d.Models {
		raws = append(raws, m.Raw)
	}
	if top["models"], err = json.Marshal(raws); err != nil {
		return nil, fmt.Errorf("encode model list: %w", err)
	}
	out, err := json.Marshal(top)
	if err != nil {
		return nil, fmt.Errorf("encode model list: %w", err)
	}
	return out, nil
}

// Filter keeps only the models keep keeps (a key's allow-list), in both
// lists; a nil keep keeps every model.
func (d *ModelDoc) Filter(keep func(id string) bool) {
	if keep == nil {
		return
	}
	d.Models = slices.DeleteFunc(d.Models, func(m ModelInfo) bool { return !keep(m.Slug) })
	d.Data = slices.DeleteFunc(d.Data, func(m ListedModel) bool { return !keep(m.ID) })
}

// ModelList adds OpenAI's list shape ("object": "list", "data": [{id,
// object, created, owned_by}]) to the Codex backend's model document,
// keeping every field the backend sent, so the OpenAI SDKs' models.list()
// and the Codex CLI read the same answer. keep, when not nil, is the key's
// allow-list: only the models it keeps are listed, in both lists.
func ModelList(doc []byte, keep func(id string) bool) ([]byte, error) {
	d, err := ParseModelDoc(doc)
	if err != nil {
		return nil, err
	}
	d.Filter(keep)
	return d.JSON()
}
