// Retrieval evaluation on BEIR-format sets (Thakur et al., 2021): load a corpus, queries
// and relevance judgments, run every query through a Retriever, and score the rankings
// with nDCG@10 and Recall@100 as trec_eval computes them. `ragctl eval` and the quality
// tests are thin shells over this.
//
// BEIR layout of a set's folder:
//   corpus.jsonl or corpus.jsonl.gz   {"_id": "...", "title": "...", "text": "..."} a line
//   queries.jsonl                     {"_id": "...", "text": "..."} a line
//   qrels/<split>.tsv                 "query-id<TAB>corpus-id<TAB>score", a header line first
//
// Metrics (graded relevance, trec_eval definitions): a document's gain is its qrels score
// (scores <= 0 and unjudged documents gain 0); DCG@k = sum over ranks i = 1..k of
// gain_i / log2(i + 1), divided by the DCG of the ideal ordering of the judged gains.
// Recall@k = relevant documents in the top k / relevant documents. Both are averaged over
// the queries that have at least one relevant document; a query without results scores 0.
//
// Pure functions apart from the loader's file reads; no shared state.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/retrieval/document.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ragd::retrieval {

struct EvalQuery {
  std::string id;
  std::string text;
};

// query id -> (doc id -> graded relevance)
using Qrels = std::unordered_map<std::string, std::unordered_map<std::string, int>>;

struct BeirDataset {
  std::vector<Document> corpus;
  std::vector<EvalQuery> queries;  // only those judged in the split, in qrels file order
  Qrels qrels;
};

// Reads a BEIR folder. `limit_queries` > 0 keeps the first that many judged queries (in
// qrels order: deterministic). Errors name the file and line.
Result<BeirDataset> load_beir(const std::string& dir, const std::string& split = "test",
                              std::size_t limit_queries = 0);

// Reads a whole file, gunzipping it when its name ends in ".gz".
Result<std::string> read_maybe_gzipped(const std::string& path);

// `ranked` holds doc ids, best first, without repeats; `judged` is one query's qrels.
double ndcg_at_k(const std::vector<std::string>& ranked,
                 const std::unordered_map<std::string, int>& judged, std::size_t k);
double recall_at_k(const std::vector<std::string>& ranked,
                   const std::unordered_map<std::string, int>& judged, std::size_t k);

// Doc ids of `hits` in order, each at the rank of its best chunk.
std::vector<std::string> rank_documents(const std::vector<Hit>& hits);

struct ModeEvaluation {
  SearchMode mode = SearchMode::hybrid;
  double ndcg_at_10 = 0.0;
  double recall_at_100 = 0.0;
  std::size_t queries = 0;       // queries with at least one relevant document
  double ms_per_query = 0.0;     // wall time of retrieve_sync, one query at a time
};

// How deep evaluate() searches: enough chunks to rank 100 distinct documents when
// documents have several chunks (at most 2000).
int evaluation_depth(const Retriever& retriever);

// Runs every judged query of `data` through `retriever` (already holding data.corpus) in
// each mode. Searches deep enough to rank 100 distinct documents. A hybrid search that
// degrades to BM25 alone (the embedding service failed) fails the evaluation instead of
// being scored as hybrid.
Result<std::vector<ModeEvaluation>> evaluate(const Retriever& retriever, const BeirDataset& data,
                                             const std::vector<SearchMode>& modes);

// Ingests data.corpus into `retriever` in batches; `progress(done, total)` after each.
// Returns once a rebuild or training it started on the side is done too.
Result<IngestStats> ingest_corpus(Retriever& retriever, const BeirDataset& data,
                                  const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace ragd::retrieval
