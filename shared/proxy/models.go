package proxy

import (
	"github.com/codexgate/codexgate/shared/wire/chat"
	"github.com/codexgate/codexgate/shared/wire/models"
)

// modelList answers GET /v1/models from the backend's model document: the
// models it lists become known to the effort suffixes (Config.ModelNames);
// keep (the key's allow-list, nil: none) filters the list; and OpenAI's
// list gains each kept model's suffixed names and the aliases of kept
// models (expandModels), so that clients with a model picker offer them.
func (p *Proxy) modelList(body []byte, keep func(id string) bool) ([]byte, error) {
	doc, err := chat.ParseModelDoc(body)
	if err != nil {
		return nil, err
	}
	slugs := make([]string, 0, len(doc.Models))
	for _, m := range doc.Models {
		if m.Slug != "" {
			slugs = append(slugs, m.Slug)
		}
	}
	p.cfg.ModelNames.Learn(slugs)
	doc.Filter(keep)
	expandModels(doc, p.cfg.ModelNames)
	return doc.JSON()
}

// expandModels appends to doc's OpenAI list the names names adds to the
// models doc lists: run it on the list as the client may see it. The Codex
// CLI's "models" stay as the backend sent them (the CLI picks efforts
// itself).
func expandModels(doc *chat.ModelDoc, names *models.Resolver) {
	list := make([]models.Listed, 0, len(doc.Models))
	for _, m := range doc.Models {
		if m.Slug != "" {
			list = append(list, models.Listed{Slug: m.Slug, Efforts: m.Efforts})
		}
	}
	for _, id := range names.Expand(list) {
		doc.Data = append(doc.Data, chat.Listed(id))
	}
}
