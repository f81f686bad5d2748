#include "documents_handler.hpp"

#include "ragd/http/api.hpp"
#include "ragd/retrieval/document_writer.hpp"
#include "ragd/retrieval/retriever.hpp"

#include "ragd/log/log.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace ragd::http {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

Error no_document(const std::string& id) { return make_error(Errc::not_found, "no document with id '" + id + "'"); }

// The ids of a request's documents for its audit line: the first 20, then how many more.
std::string audit_ids(const std::vector<retrieval::Document>& docs) {
  constexpr std::size_t kShown = 20;
  std::string out;
  for (std::size_t i = 0; i < docs.size() && i < kShown; ++i) {
    if (i > 0) out += ',';
    out += docs[i].id;
  }
  if (docs.size() > kShown) out += ",+" + std::to_string(docs.size() - kShown);
  return out;
}

}  // namespace

asio::awaitable<Response> DocumentsHandler::ingest(Request req, Principal caller) {
  if (!has_json_content_type(req)) {
    co_return Response::error(make_error(Errc::unsupported_media_type, "Content-Type must be application/json"));
  }
  auto docs = parse_documents_body(req.body, config_);
  if (!docs) co_return Response::error(docs.error());
  const std::string ids = audit_ids(*docs);
  auto stats = co_await writer_.ingest(caller.tenant, std::move(*docs));
  if (!stats) co_return Response::error(stats.error());
  spdlog::info("audit: documents ingested tenant={} key_id={} documents={} ids={} index_version={} req_id={}",
               caller.tenant, log::field(caller.key_id), stats->documents, log::field(ids), stats->index_version,
               req.request_id);
  json j = {{"documents", stats->documents}, {"chunks", stats->chunks}, {"index_version", stats->index_version}};
  co_return Response::json(200, j.dump());
}

// Only the caller's tenant is looked in: another tenant's id is as missing as an unknown one.
asio::awaitable<Response> DocumentsHandler::get(Request req, std::string tenant) {
  const std::string& id = req.path_params.at(0);
  auto doc = co_await retriever_.document(tenant, id);
  if (!doc) co_return Response::error(no_document(id));
  co_return Response::json(200, render_document(*doc, retriever_.version(tenant)));
}

// The caller's documents only; a cursor names a place in the caller's listing alone.
asio::awaitable<Response> DocumentsHandler::list(Request req, std::string tenant) {
  auto listing = parse_listing_query(req.query);
  if (!listing) co_return Response::error(listing.error());
  auto page = co_await retriever_.list_documents(std::move(tenant), std::move(listing->after), listing->limit);
  co_return Response::json(200, render_document_page(page));
}

asio::awaitable<Response> DocumentsHandler::remove(Request req, Principal caller) {
  const std::string& id = req.path_params.at(0);
  auto removed = co_await writer_.remove(caller.tenant, id);
  if (!removed) co_return Response::error(removed.error());
  if (!removed->removed) co_return Response::error(no_document(id));
  spdlog::info("audit: document deleted tenant={} key_id={} id={} index_version={} req_id={}", caller.tenant,
               log::field(caller.key_id), log::field(id), removed->index_version, req.request_id);
  json j = {{"deleted", id}, {"index_version", removed->index_version}};
  co_return Response::json(200, j.dump());
}

}  // namespace ragd::http
