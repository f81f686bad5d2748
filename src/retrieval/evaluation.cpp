#include "ragd/retrieval/evaluation.hpp"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_set>

namespace ragd::retrieval {
namespace {

using nlohmann::json;

constexpr std::size_t kIngestBatch = 256;
constexpr std::size_t kRankedDocuments = 100;
constexpr int kMaxChunkDepth = 2000;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// Calls `line_fn(line, line_number)` for every non-empty line.
template <class F>
Result<void> for_each_line(const std::string& text, const std::string& path, F line_fn) {
  std::size_t begin = 0, number = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    ++number;
    std::string_view line(text.data() + begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) {
      if (auto r = line_fn(line, number); !r) {
        return prefixed(path + ":" + std::to_string(number) + ": ", r.error());
      }
    }
    begin = end + 1;
  }
  return {};
}

Result<std::string> string_field(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return make_error(Errc::bad_request, std::string("missing \"") + key + "\"");
    return std::string();
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return make_error(Errc::bad_request, std::string("\"") + key + "\" must be a string");
}

}  // namespace

Result<std::string> read_maybe_gzipped(const std::string& path) {
  if (!ends_with(path, ".gz")) return read_file(path);
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) return make_error(Errc::not_found, "cannot open file '" + path + "'");
  gzbuffer(gz, 1 << 17);
  std::string out;
  char buffer[1 << 16];
  for (;;) {
    const int n = gzread(gz, buffer, sizeof buffer);
    if (n < 0) {
      int errnum = 0;
      std::string what = gzerror(gz, &errnum);
      gzclose(gz);
      return make_error(Errc::internal, "cannot decompress '" + path + "': " + what);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  // gzread returns 0 at a truncated end too; gzclose reports it.
  if (const int rc = gzclose(gz); rc != Z_OK) {
    return make_error(Errc::internal, "cannot decompress '" + path + "': truncated or corrupt");
  }
  return out;
}

Result<BeirDataset> load_beir(const std::string& dir, const std::string& split, std::size_t limit_queries) {
  BeirDataset data;
  const std::string qrels_path = dir + "/qrels/" + split + ".tsv";
  auto qrels_text = read_file(qrels_path);
  if (!qrels_text) return qrels_text.error();
  std::vector<std::string> order;
  bool header = true;
  auto qrels_ok = for_each_line(*qrels_text, qrels_path, [&](std::string_view line, std::size_t) -> Result<void> {
    const std::size_t t1 = line.find('\t');
    const std::size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) return make_error(Errc::bad_request, "expected query-id<TAB>corpus-id<TAB>score");
    const std::string qid(line.substr(0, t1));
    const std::string did(line.substr(t1 + 1, t2 - t1 - 1));
    const std::string score(line.substr(t2 + 1));
    char* end = nullptr;
    const long grade = std::strtol(score.c_str(), &end, 10);
    if (end == score.c_str()) {
      if (header) {  // "query-id corpus-id score"
        header = false;
        return {};
      }
      return make_error(Errc::bad_request, "score '" + score + "' is not an integer");
    }
    header = false;
    auto [it, inserted] = data.qrels.try_emplace(qid);
    if (inserted) order.push_back(qid);
    it->second[did] = static_cast<int>(grade);
    return {};
  });
  if (!qrels_ok) return qrels_ok.error();
  if (limit_queries > 0 && order.size() > limit_queries) {
    for (std::size_t i = limit_queries; i < order.size(); ++i) data.qrels.erase(order[i]);
    order.resize(limit_queries);
  }

  const std::string queries_path = dir + "/queries.jsonl";
  auto queries_text = read_file(queries_path);
  if (!queries_text) return queries_text.error();
  std::unordered_map<std::string, std::string> query_text;
  auto queries_ok = for_each_line(*queries_text, queries_path, [&](std::string_view line, std::size_t) -> Result<void> {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error(Errc::bad_request, "not a JSON object");
    auto id = string_field(j, "_id", true);
    if (!id) return id.error();
    if (!data.qrels.count(*id)) return {};
    auto text = string_field(j, "text", true);
    if (!text) return text.error();
    query_text[*id] = std::move(*text);
    return {};
  });
  if (!queries_ok) return queries_ok.error();
  for (const auto& id : order) {
    auto it = query_text.find(id);
    if (it == query_text.end()) {
      return make_error(Errc::bad_request, qrels_path + ": query '" + id + "' is not in " + queries_path);
    }
    data.queries.push_back(EvalQuery{id, it->second});
  }

  std::string corpus_path = dir + "/corpus.jsonl";
  if (!file_exists(corpus_path)) corpus_path += ".gz";
  auto corpus_text = read_maybe_gzipped(corpus_path);
  if (!corpus_text) return corpus_text.error();
  std::unordered_set<std::string> ids;
  auto corpus_ok = for_each_line(*corpus_text, corpus_path, [&](std::string_view line, std::size_t) -> Result<void> {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error(Errc::bad_request, "not a JSON object");
    Document d;
    auto id = string_field(j, "_id", true);
    if (!id) return id.error();
    auto title = string_field(j, "title", false);
    if (!title) return title.error();
    auto text = string_field(j, "text", false);
    if (!text) return text.error();
    if (!ids.insert(*id).second) return make_error(Errc::bad_request, "document '" + *id + "' repeats");
    d.id = std::move(*id);
    d.title = std::move(*title);
    d.text = std::move(*text);
    // A document with a title only is still retrievable by its title.
    if (d.text.find_first_not_of(" \t\r\n") == std::string::npos) d.text = d.title;
    if (d.text.empty()) return {};
    data.corpus.push_back(std::move(d));
    return {};
  });
  if (!corpus_ok) return corpus_ok.error();
  return data;
}

double ndcg_at_k(const std::vector<std::string>& ranked, const std::unordered_map<std::string, int>& judged,
                 std::size_t k) {
  std::vector<int> gains;
  for (const auto& [doc, grade] : judged) {
    if (grade > 0) gains.push_back(grade);
  }
  if (gains.empty()) return 0.0;
  std::sort(gains.begin(), gains.end(), std::greater<>());
  double ideal = 0.0;
  for (std::size_t i = 0; i < gains.size() && i < k; ++i) ideal += gains[i] / std::log2(static_cast<double>(i) + 2.0);
  double dcg = 0.0;
  for (std::size_t i = 0; i < ranked.size() && i < k; ++i) {
    auto it = judged.find(ranked[i]);
    if (it != judged.end() && it->second > 0) dcg += it->second / std::log2(static_cast<double>(i) + 2.0);
  }
  return dcg / ideal;
}

double recall_at_k(const std::vector<std::string>& ranked, const std::unordered_map<std::string, int>& judged,
                   std::size_t k) {
  std::size_t relevant = 0;
  for (const auto& [doc, grade] : judged) relevant += grade > 0 ? 1 : 0;
  if (relevant == 0) return 0.0;
  std::size_t found = 0;
  for (std::size_t i = 0; i < ranked.size() && i < k; ++i) {
    auto it = judged.find(ranked[i]);
    if (it != judged.end() && it->second > 0) ++found;
  }
  return static_cast<double>(found) / static_cast<double>(relevant);
}

std::vector<std::string> rank_documents(const std::vector<Hit>& hits) {
  std::vector<std::string> ranked;
  std::unordered_set<std::string_view> seen;
  for (const Hit& h : hits) {
    if (seen.insert(h.doc_id).second) ranked.push_back(h.doc_id);
  }
  return ranked;
}

Result<IngestStats> ingest_corpus(Retriever& retriever, const BeirDataset& data,
                                  const std::function<void(std::size_t, std::size_t)>& progress) {
  IngestStats total;
  for (std::size_t i = 0; i < data.corpus.size(); i += kIngestBatch) {
    const std::size_t end = std::min(data.corpus.size(), i + kIngestBatch);
    std::vector<Document> batch(data.corpus.begin() + static_cast<std::ptrdiff_t>(i),
                                data.corpus.begin() + static_cast<std::ptrdiff_t>(end));
    auto stats = retriever.ingest_sync(std::move(batch));
    if (!stats) return stats.error();
    total.documents += stats->documents;
    total.chunks += stats->chunks;
    total.index_version = stats->index_version;
    if (progress) progress(end, data.corpus.size());
  }
  // The queries should measure the index kind asked for: an IVF index is exact until its
  // training (on the side) is done.
  retriever.corpora().wait_for_rebuild();
  return total;
}

int evaluation_depth(const Retriever& retriever) {
  const std::size_t docs = std::max<std::size_t>(1, retriever.document_count());
  const std::size_t per_doc = (retriever.chunk_count() + docs - 1) / docs;
  return static_cast<int>(std::min<std::size_t>(kMaxChunkDepth, kRankedDocuments * std::max<std::size_t>(1, per_doc)));
}

Result<std::vector<ModeEvaluation>> evaluate(const Retriever& retriever, const BeirDataset& data,
                                             const std::vector<SearchMode>& modes) {
  const int depth = evaluation_depth(retriever);
  std::vector<ModeEvaluation> results;
  for (SearchMode mode : modes) {
    ModeEvaluation m;
    m.mode = mode;
    double seconds = 0.0;
    for (const EvalQuery& q : data.queries) {
      auto judged = data.qrels.find(q.id);
      if (judged == data.qrels.end()) continue;
      const bool has_relevant = std::any_of(judged->second.begin(), judged->second.end(),
                                            [](const auto& e) { return e.second > 0; });
      if (!has_relevant) continue;
      const auto start = std::chrono::steady_clock::now();
      auto found = retriever.retrieve_sync(q.text, depth, mode);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::vector<std::string> ranked;
      if (found && found->degraded) {
        // Scoring BM25 alone as hybrid would report a number that measures nothing asked.
        return make_error(Errc::upstream_error, "query '" + q.id + "': the embedding service failed, so the " +
                                                    std::string(to_string(mode)) +
                                                    " search fell back to BM25 alone (see the warning logged)");
      }
      if (found) {
        ranked = rank_documents(found->hits);
      } else if (found.error().code != Errc::bad_request) {
        return prefixed("query '" + q.id + "': ", found.error());
      }
      m.ndcg_at_10 += ndcg_at_k(ranked, judged->second, 10);
      m.recall_at_100 += recall_at_k(ranked, judged->second, kRankedDocuments);
      ++m.queries;
    }
    if (m.queries > 0) {
      m.ndcg_at_10 /= static_cast<double>(m.queries);
      m.recall_at_100 /= static_cast<double>(m.queries);
      m.ms_per_query = seconds * 1000.0 / static_cast<double>(m.queries);
    }
    results.push_back(m);
  }
  return results;
}

}  // namespace ragd::retrieval
