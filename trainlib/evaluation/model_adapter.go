package evaluation

import "github.com/embedtune/embedtune/trainlib/model"

// encodeFunc is the signature of Encode, EncodeQuery and EncodeDocument.
type encodeFunc func(texts []string, opts *model.EncodeOptions) ([][]float32, error)

// sideEncoder is how one side (queries or documents) of an evaluation is encoded.
type sideEncoder struct {
	encode     encodeFunc
	prompt     string
	promptName string
}

// modelEncoders returns how to encode queries and documents with m, as sentence-transformers'
// evaluators do through encode_query / encode_document: through EncodeQuery / EncodeDocument when m
// implements QueryEncoder / DocumentEncoder (as *model.SentenceTransformer does), else Encode, with
// the configured prompt and prompt name.
func modelEncoders(m Encoder, queryPrompt, queryPromptName, docPrompt, docPromptName string) (q, d sideEncoder) {
	q = sideEncoder{m.Encode, queryPrompt, queryPromptName}
	d = sideEncoder{m.Encode, docPrompt, docPromptName}
	if qe, ok := m.(QueryEncoder); ok {
		q.encode = qe.EncodeQuery
	}
	if de, ok := m.(DocumentEncoder); ok {
		d.encode = de.EncodeDocument
	}
	return q, d
}

// modelSimilarity returns the similarity function m declares ("" when it declares none).
func modelSimilarity(m Encoder) string {
	if sn, ok := m.(SimilarityNamer); ok {
		return sn.SimilarityFnName()
	}
	return ""
}

// options returns the EncodeOptions of one side.
func (s sideEncoder) options(base model.EncodeOptions) *model.EncodeOptions {
	base.Prompt, base.PromptName = s.prompt, s.promptName
	return &base
}
