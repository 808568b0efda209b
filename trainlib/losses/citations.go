package losses

// Citer is implemented by losses that have a paper to cite; model cards list it (sentence-transformers'
// loss.citation).
type Citer interface {
	Citation() string
}

// Citation returns the BibTeX entry of the paper behind the loss's configuration: GTE's for the
// four-direction joint variant, Jina Embeddings 2's for the symmetric per-direction one, and else van
// den Oord et al.'s InfoNCE, as sentence-transformers cites them.
func (l *MNRL) Citation() string {
	dirs := map[Direction]bool{}
	for _, d := range l.Directions {
		dirs[d] = true
	}
	switch {
	case len(dirs) == 4 && dirs[QueryToDoc] && dirs[QueryToQuery] && dirs[DocToQuery] && dirs[DocToDoc] && l.PartitionMode == PartitionJoint:
		return bibtex("misc", "li2023generaltextembeddingsmultistage",
			"title", "Towards General Text Embeddings with Multi-stage Contrastive Learning",
			"author", "Zehan Li and Xin Zhang and Yanzhao Zhang and Dingkun Long and Pengjun Xie and Meishan Zhang",
			"year", "2023", "eprint", "2308.03281", "archivePrefix", "arXiv", "primaryClass", "cs.CL",
			"url", "https://arxiv.org/abs/2308.03281")
	case len(dirs) == 2 && dirs[QueryToDoc] && dirs[DocToQuery] && l.PartitionMode == PartitionPerDirection:
		return bibtex("misc", "günther2024jinaembeddings28192token",
			"title", "Jina Embeddings 2: 8192-Token General-Purpose Text Embeddings for Long Documents",
			"author", "Michael Günther and Jackmin Ong and Isabelle Mohr and Alaeddine Abdessalem and Tanguy Abel and Mohammad Kalim Akram and Susana Guzman and Georgios Mastrapas and Saba Sturua and Bo Wang and Maximilian Werk and Nan Wang and Han Xiao",
			"year", "2024", "eprint", "2310.19923", "archivePrefix", "arXiv", "primaryClass", "cs.CL",
			"url", "https://arxiv.org/abs/2310.19923")
	}
	return bibtex("misc", "oord2019representationlearningcontrastivepredictive",
		"title", "Representation Learning with Contrastive Predictive Coding",
		"author", "Aaron van den Oord and Yazhe Li and Oriol Vinyals",
		"year", "2019", "eprint", "1807.03748", "archivePrefix", "arXiv", "primaryClass", "cs.LG",
		"url", "https://arxiv.org/abs/1807.03748")
}

// Citation returns the BibTeX entry of the CoSENT paper.
func (l *CoSENT) Citation() string {
	return bibtex("article", "10531646",
		"author", "Huang, Xiang and Peng, Hao and Zou, Dongcheng and Liu, Zhiwei and Li, Jianxin and Liu, Kay and Wu, Jia and Su, Jianlin and Yu, Philip S.",
		"journal", "IEEE/ACM Transactions on Audio, Speech, and Language Processing",
		"title", "CoSENT: Consistent Sentence Embedding via Similarity Ranking", "year", "2024", "doi", "10.1109/TASLP.2024.3402087")
}

// bibtex formats an entry from field name/value pairs.
func bibtex(kind, key string, fields ...string) string {
	s := "@" + kind + "{" + key + ",\n"
	for i := 0; i+1 < len(fields); i += 2 {
		s += "    " + fields[i] + "={" + fields[i+1] + "},\n"
	}
	return s + "}"
}
