#include "ragd/retrieval/search_service.hpp"

#include "ragd/metrics/metrics.hpp"
#include "ragd/retrieval/text_analysis.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace ragd::retrieval {
namespace {

constexpr std::int64_t kDegradedWarningEveryMs = 10000;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// A search waiting in the batch queue; the batch that takes it hands its hits back.
struct SearchService::PendingSearch : Handoff<Result<std::vector<Hit>>> {
  PendingSearch(boost::asio::any_io_executor ex, std::shared_ptr<const Corpus> c, std::string q, int k, SearchMode m,
                MetadataFilterPtr f)
      : Handoff(std::move(ex)), corpus(std::move(c)), query(std::move(q)), top_k(k), mode(m), filter(std::move(f)) {}
  std::shared_ptr<const Corpus> corpus;
  std::string query;
  int top_k;
  SearchMode mode;
  MetadataFilterPtr filter;
};

SearchService::SearchService(const RetrievalConfig& config, const Corpora& corpora, EmbeddingStrategy& embedding,
                             metrics::Registry* registry)
    : config_(config),
      corpora_(corpora),
      embedding_(embedding),
      batch_embedder_(embedding.batch_embedder()),
      batch_searches_(config.batch_searches),
      pool_(static_cast<std::size_t>(std::max(1, config.search_threads))) {
  if (registry) {
    degraded_by_embedder_ = &registry
                                 ->counter("ragd_retrieval_degraded_total",
                                           "Searches answered in a lesser mode than asked, by reason (embedder: a "
                                           "hybrid search answered from BM25 alone, the query not embedded).",
                                           {"reason"})
                                 .with({"embedder"});
  }
}

SearchService::~SearchService() { pool_.join(); }

Result<void> check_search(std::string_view query, int top_k) {
  const bool blank = std::all_of(query.begin(), query.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
  if (blank) return make_error(Errc::bad_request, "query is empty");
  if (top_k < 1) return make_error(Errc::bad_request, "top_k must be at least 1");
  return {};
}

// GCC 12 takes this coroutine frame's own operator new and delete for a mismatched pair once
// they are inlined: a known false positive of that compiler about coroutine frames.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
boost::asio::awaitable<Result<SearchResult>> SearchService::retrieve(std::string tenant, std::string query, int top_k,
                                                                     SearchMode mode,
                                                                     std::chrono::milliseconds timeout,
                                                                     MetadataFilterPtr filter) {
  if (timeout <= std::chrono::milliseconds::zero()) {
    co_return make_error(Errc::deadline_exceeded, "retrieval had no time left before the deadline");
  }
  auto corpus = corpora_.find(tenant);
  if (!corpus) co_return nothing_found(query, top_k, mode);
  if (mode != SearchMode::lexical) {
    co_return co_await embedding_.retrieve(*this, std::move(corpus), std::move(query), top_k, mode, timeout,
                                           std::move(filter));
  }
  co_return co_await search_on_pool(std::move(corpus), std::move(query), top_k, mode, timeout, std::move(filter));
}

boost::asio::awaitable<Result<SearchResult>> SearchService::search_on_pool(std::shared_ptr<const Corpus> corpus,
                                                                           std::string query, int top_k,
                                                                           SearchMode mode,
                                                                           std::chrono::milliseconds timeout,
                                                                           MetadataFilterPtr filter) {
  if (batches(mode)) {
    if (auto ok = check_search(query, top_k); !ok) co_return ok.error();
    auto pending = std::make_shared<PendingSearch>(co_await boost::asio::this_coro::executor, std::move(corpus),
                                                   std::move(query), top_k, mode, std::move(filter));
    enqueue_search(pending);
    // On the deadline the wait ends; the search itself runs on and its late result is dropped.
    const Waited waited = co_await PendingSearch::wait(pending, timeout);
    if (waited == Waited::timed_out) co_return make_error(Errc::deadline_exceeded, "retrieval did not finish in time");
    if (waited == Waited::cancelled) co_return make_error(Errc::cancelled, "cancelled while the search ran");
    if (!pending->value()) co_return pending->value().error();
    SearchResult out;
    out.mode_used = mode;
    out.hits = std::move(*pending->value());
    co_return out;
  }
  auto work = [this, corpus = std::move(corpus), query = std::move(query), top_k, mode, filter = std::move(filter)] {
    return search_sync(*corpus, query, top_k, mode, filter.get());
  };
  co_return co_await run_on(pool_.get_executor(), std::move(work), timeout, "retrieval");
}
#pragma GCC diagnostic pop

Result<SearchResult> SearchService::retrieve_sync(std::string_view tenant, std::string_view query, int top_k,
                                                  SearchMode mode, const MetadataFilter* filter) const {
  auto corpus = corpora_.find(tenant);
  if (!corpus) return nothing_found(query, top_k, mode);
  return search_sync(*corpus, query, top_k, mode, filter);
}

Result<SearchResult> SearchService::search_sync(const Corpus& corpus, std::string_view query, int top_k,
                                                SearchMode mode, const MetadataFilter* filter) const {
  if (mode != SearchMode::lexical) return embedding_.retrieve_sync(*this, corpus, query, top_k, mode, filter);
  if (auto ok = check_search(query, top_k); !ok) return ok.error();
  AnalyzedText terms;
  corpus.analyzer().analyze(query, terms);
  auto hits = corpus.search(terms, {}, top_k, mode, filter);
  if (!hits) return hits.error();
  SearchResult out;
  out.mode_used = mode;
  out.hits = std::move(*hits);
  return out;
}

Result<SearchResult> SearchService::nothing_found(std::string_view query, int top_k, SearchMode mode) {
  if (auto ok = check_search(query, top_k); !ok) return ok.error();
  SearchResult out;
  out.mode_used = mode;
  return out;
}

void SearchService::note_degraded(const Error& cause) const {
  if (degraded_by_embedder_) degraded_by_embedder_->inc();
  degraded_searches_.fetch_add(1, std::memory_order_relaxed);
  const std::int64_t now = steady_ms();
  std::int64_t last = last_degraded_warning_ms_.load(std::memory_order_relaxed);
  if (now - last < kDegradedWarningEveryMs || !last_degraded_warning_ms_.compare_exchange_strong(last, now)) {
    degraded_not_logged_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t not_logged = degraded_not_logged_.exchange(0, std::memory_order_relaxed);
  spdlog::warn("retrieval degraded: hybrid search answered from BM25 alone, the query could not be embedded "
               "({}: {}){}",
               to_string(cause.code), log_text(cause),
               not_logged == 0 ? std::string() : "; " + std::to_string(not_logged) + " more since the last warning");
}

// Batching pays where a search scans vectors: FAISS answers n queries over a flat list in
// one pass over memory (BLAS) for little more than the cost of one (retrieval-bench
// --batch-study). An HNSW graph walk is per query, so HNSW searches are not batched.
bool SearchService::batches(SearchMode mode) const {
  return mode != SearchMode::lexical && batch_embedder_ && config_.index.type != "hnsw" &&
         batch_searches_.load(std::memory_order_relaxed);
}

void SearchService::enqueue_search(std::shared_ptr<PendingSearch> search) {
  std::lock_guard lock(batch_mutex_);
  batch_queue_.push_back(std::move(search));
  if (batch_jobs_ < std::max(1, config_.search_threads)) {
    ++batch_jobs_;
    boost::asio::post(pool_, [this] { run_search_batches(); });
  }
}

// Takes its share of what is queued, up to kMaxBatch at a time, until the queue is empty:
// searches that arrive while a batch runs form the next one, so batches grow with the load
// and a lone search waits for nothing.
void SearchService::run_search_batches() {
  constexpr std::size_t kMaxBatch = 64;
  for (;;) {
    std::vector<std::shared_ptr<PendingSearch>> batch;
    {
      std::lock_guard lock(batch_mutex_);
      if (batch_queue_.empty()) {
        --batch_jobs_;
        return;
      }
      // A share per running job, so every pool thread gets work: the per-query part (BM25,
      // fusion) does not shrink with batching, and one job taking all would serialise it.
      const auto jobs = static_cast<std::size_t>(std::max(1, batch_jobs_));
      const std::size_t n = std::min(kMaxBatch, (batch_queue_.size() + jobs - 1) / jobs);
      batch.assign(std::make_move_iterator(batch_queue_.begin()), std::make_move_iterator(batch_queue_.begin() + n));
      batch_queue_.erase(batch_queue_.begin(), batch_queue_.begin() + n);
    }
    std::vector<CorpusQuery> queries(batch.size());
    try {
      search_batch_now(batch, queries);
    } catch (const std::exception& e) {
      for (auto& q : queries) {
        if (!q.result) q.result.emplace(make_error(Errc::internal, e.what()));
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->set(std::move(*queries[i].result));
  }
}

void SearchService::search_batch_now(const std::vector<std::shared_ptr<PendingSearch>>& batch,
                                     std::vector<CorpusQuery>& queries) const {
  // Each query is analysed once, for its embedding and for the lexical search, and weighted
  // by its own tenant's IDF.
  std::vector<float> idf;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    CorpusQuery& q = queries[i];
    const Corpus& corpus = *batch[i]->corpus;
    corpus.analyzer().analyze(batch[i]->query, q.terms);
    corpus.idf_of_terms(q.terms, idf);
    q.vector = batch_embedder_->embed_terms(q.terms, idf);
    q.top_k = batch[i]->top_k;
    q.mode = batch[i]->mode;
    q.filter = batch[i]->filter;
  }
  // One dense index call per tenant in the batch: its queries, in batch order.
  std::vector<bool> done(batch.size(), false);
  for (std::size_t first = 0; first < batch.size(); ++first) {
    if (done[first]) continue;
    const Corpus* corpus = batch[first]->corpus.get();
    std::vector<std::size_t> members;
    for (std::size_t i = first; i < batch.size(); ++i) {
      if (!done[i] && batch[i]->corpus.get() == corpus) {
        members.push_back(i);
        done[i] = true;
      }
    }
    if (members.size() == batch.size()) {
      corpus->search_batch(queries);
      return;
    }
    std::vector<CorpusQuery> group;
    group.reserve(members.size());
    for (auto i : members) group.push_back(std::move(queries[i]));
    corpus->search_batch(group);
    for (std::size_t j = 0; j < members.size(); ++j) queries[members[j]] = std::move(group[j]);
  }
}

}  // namespace ragd::retrieval
