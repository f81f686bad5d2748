#include "documents_handler.hpp"

#include "ragd/http/api.hpp"
#include "ragd/retrieval/document_writer.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <nlohmann/json.hpp>

namespace ragd::http {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

Error no_document(const std::string& id) { return make_error(Errc::not_found, "no document with id '" + id + "'"); }

}  // namespace

asio::awaitable<Response> DocumentsHandler::ingest(Request req, std::string) {
  if (!has_json_content_type(req)) {
    co_return Response::error(make_error(Errc::unsupported_media_type, "Content-Type must be application/json"));
  }
  auto docs = parse_documents_body(req.body, config_);
  if (!docs) co_return Response::error(docs.error());
  auto stats = co_await writer_.ingest(std::move(*docs));
  if (!stats) co_return Response::error(stats.error());
  json j = {{"documents", stats->documents}, {"chunks", stats->chunks}, {"index_version", stats->index_version}};
  co_return Response::json(200, j.dump());
}

asio::awaitable<Response> DocumentsHandler::get(Request req, std::string) {
  const std::string& id = req.path_params.at(0);
  auto doc = co_await retriever_.document(id);
  if (!doc) co_return Response::error(no_document(id));
  co_return Response::json(200, render_document(*doc, retriever_.version()));
}

asio::awaitable<Response> DocumentsHandler::remove(Request req, std::string) {
  const std::string& id = req.path_params.at(0);
  auto removed = co_await writer_.remove(id);
  if (!removed) co_return Response::error(removed.error());
  if (!removed->removed) co_return Response::error(no_document(id));
  json j = {{"deleted", id}, {"index_version", removed->index_version}};
  co_return Response::json(200, j.dump());
}

}  // namespace ragd::http
