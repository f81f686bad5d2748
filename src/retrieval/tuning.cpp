#include "ragd/retrieval/tuning.hpp"

#include "ragd/retrieval/bm25_index.hpp"
#include "ragd/retrieval/chunker.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace ragd::retrieval {
namespace {

// One judged query's two chunk lists, chunks numbered in order of first sight.
struct QueryLegs {
  const std::unordered_map<std::string, int>* judged = nullptr;
  std::vector<ScoredId> dense, lexical;
};

struct Legs {
  std::vector<QueryLegs> queries;
  std::vector<std::string> doc_of;  // chunk number -> doc id
};

LegScores score_ranking(const std::vector<std::string>& ranked, const std::unordered_map<std::string, int>& judged) {
  return LegScores{ndcg_at_k(ranked, judged, 10), recall_at_k(ranked, judged, 100)};
}

// Doc ids of `ids` in order, each at the rank of its best chunk.
std::vector<std::string> documents_of(const std::vector<ScoredId>& ids, const Legs& legs) {
  std::vector<std::string> ranked;
  std::unordered_set<std::string_view> seen;
  for (const auto& [id, score] : ids) {
    const std::string& doc = legs.doc_of[static_cast<std::size_t>(id)];
    if (seen.insert(doc).second) ranked.push_back(doc);
  }
  return ranked;
}

void add_scores(LegScores& total, const LegScores& one) {
  total.ndcg_at_10 += one.ndcg_at_10;
  total.recall_at_100 += one.recall_at_100;
}

void average(LegScores& total, std::size_t n) {
  if (n == 0) return;
  total.ndcg_at_10 /= static_cast<double>(n);
  total.recall_at_100 /= static_cast<double>(n);
}

// The judged queries of `data` that have a relevant document: the ones evaluate() scores.
std::vector<std::pair<const EvalQuery*, const std::unordered_map<std::string, int>*>> scored_queries(
    const BeirDataset& data) {
  std::vector<std::pair<const EvalQuery*, const std::unordered_map<std::string, int>*>> out;
  for (const EvalQuery& q : data.queries) {
    auto judged = data.qrels.find(q.id);
    if (judged == data.qrels.end()) continue;
    const bool has_relevant = std::any_of(judged->second.begin(), judged->second.end(),
                                          [](const auto& e) { return e.second > 0; });
    if (has_relevant) out.emplace_back(&q, &judged->second);
  }
  return out;
}

// Chunk numbers shared by both legs: the Retriever's hits name chunks by doc and chunk id,
// the tuning's own BM25 indexes by number.
class ChunkNumbers {
 public:
  std::int64_t number(const std::string& doc_id, const std::string& chunk_id, Legs& legs) {
    auto [it, inserted] = numbers_.try_emplace(doc_id + '\0' + chunk_id, static_cast<std::int64_t>(legs.doc_of.size()));
    if (inserted) legs.doc_of.push_back(doc_id);
    return it->second;
  }

 private:
  std::unordered_map<std::string, std::int64_t> numbers_;
};

// The grid's BM25 settings, k1 outermost.
std::vector<Bm25Params> bm25_settings(const TuningGrid& grid) {
  std::vector<Bm25Params> out;
  for (const double k1 : grid.k1) {
    for (const double b : grid.b) {
      for (const double w : grid.document_weights) out.push_back(Bm25Params{k1, b, w});
    }
  }
  return out;
}

}  // namespace

Result<std::vector<TuningPoint>> tune(const RetrievalConfig& base, const BeirDataset& data, const TuningGrid& grid,
                                      const std::function<void(const std::string&)>& progress) {
  std::vector<TuningPoint> points;
  const auto queries = scored_queries(data);
  for (const bool stop_words : grid.stop_words) {
    RetrievalConfig config = base;
    config.snapshot_path.clear();
    config.analyzer.stop_words = stop_words;
    // The dense leg depends on the analyser only (its query weights are BM25's idf, which
    // k1 and b do not change): searched once, through a Retriever as a search would.
    Retriever retriever(config);
    if (auto ingested = ingest_corpus(retriever, data); !ingested) return ingested.error();
    const int depth = evaluation_depth(retriever);
    // As a hybrid search of evaluate()'s depth fetches its lists and cuts the fused one.
    const int fetch = depth + std::min(depth, 8);
    const int list_depth = std::max(fetch, config.candidates);
    Legs legs;
    ChunkNumbers numbers;
    legs.queries.resize(queries.size());
    for (std::size_t i = 0; i < queries.size(); ++i) {
      legs.queries[i].judged = queries[i].second;
      auto found = retriever.retrieve_sync(queries[i].first->text, list_depth, SearchMode::dense);
      if (!found && found.error().code != Errc::bad_request) {
        return prefixed("query '" + queries[i].first->id + "': ", found.error());
      }
      if (!found) continue;
      for (const Hit& h : found->hits) {
        legs.queries[i].dense.emplace_back(numbers.number(h.doc_id, h.chunk_id, legs), static_cast<float>(h.score));
      }
    }
    // The lexical leg: the same chunks, tokenised once, indexed once per (k1, b).
    const Bm25Index analysis(Bm25Params{}, config.analyzer);
    std::vector<Bm25Index::PreparedText> prepared;
    for (const Document& d : data.corpus) {
      for (const Chunk& c : chunk_document(d, config.chunker)) {
        prepared.push_back(analysis.prepare(numbers.number(c.doc_id, c.chunk_id, legs), indexed_text(c), c.doc_id));
      }
    }
    std::vector<AnalyzedText> query_terms(queries.size());
    for (std::size_t i = 0; i < queries.size(); ++i) analysis.analyzer().analyze(queries[i].first->text, query_terms[i]);
    TuningPoint leg_point;
    leg_point.stop_words = stop_words;
    for (const QueryLegs& q : legs.queries) add_scores(leg_point.dense, score_ranking(documents_of(q.dense, legs), *q.judged));
    average(leg_point.dense, legs.queries.size());

    for (const Bm25Params& bm25 : bm25_settings(grid)) {
      Bm25Index lexical(bm25, config.analyzer);
      lexical.add(prepared);
      leg_point.k1 = bm25.k1;
      leg_point.b = bm25.b;
      leg_point.document_weight = bm25.document_weight;
      leg_point.lexical = LegScores{};
      for (std::size_t i = 0; i < queries.size(); ++i) {
        legs.queries[i].lexical = lexical.search_terms(query_terms[i], list_depth);
        add_scores(leg_point.lexical, score_ranking(documents_of(legs.queries[i].lexical, legs), *queries[i].second));
      }
      average(leg_point.lexical, legs.queries.size());
      for (const FusionMethod method : grid.methods) {
        const std::vector<double> ks = method == FusionMethod::rrf ? grid.rrf_k : std::vector<double>{0.0};
        for (const double k : ks) {
          for (const double w : grid.dense_weights) {
            TuningPoint p = leg_point;
            p.method = method;
            p.dense_weight = w;
            p.rrf_k = k;
            const FusionParams params{method, k, {w, 1.0}};
            std::vector<std::vector<ScoredId>> lists(2);
            for (const QueryLegs& q : legs.queries) {
              lists[0] = q.dense;
              lists[1] = q.lexical;
              const auto fused = fuse(lists, params, static_cast<std::size_t>(fetch));
              add_scores(p.hybrid, score_ranking(documents_of(fused, legs), *q.judged));
            }
            average(p.hybrid, legs.queries.size());
            points.push_back(p);
          }
        }
      }
      if (progress) {
        char line[160];
        std::snprintf(line, sizeof line, "stop_words=%s k1=%.2f b=%.2f document_weight=%.2f: dense %.4f lexical %.4f",
                      stop_words ? "on" : "off", bm25.k1, bm25.b, bm25.document_weight, leg_point.dense.ndcg_at_10,
                      leg_point.lexical.ndcg_at_10);
        progress(line);
      }
    }
  }
  return points;
}

const TuningPoint* best_point(const std::vector<TuningPoint>& points) {
  const TuningPoint* best = nullptr;
  for (const TuningPoint& p : points) {
    if (best == nullptr || p.hybrid.ndcg_at_10 > best->hybrid.ndcg_at_10) best = &p;
  }
  return best;
}

}  // namespace ragd::retrieval
