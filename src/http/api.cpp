#include "ragd/http/api.hpp"

#include "ragd/core/ascii.hpp"
#include "ragd/core/ids.hpp"
#include "ragd/core/json_reader.hpp"
#include "ragd/core/json_writer.hpp"
#include "ragd/http/message.hpp"
#include "ragd/http/answer_body.hpp"
#include "ragd/retrieval/document_validation.hpp"
#include "ragd/retrieval/retriever.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>

namespace ragd::http {

using nlohmann::json;

namespace {

Error bad(std::string message) { return make_error(Errc::bad_request, std::move(message)); }

Result<json> parse_object(std::string_view body) {
  if (body.empty()) return bad("request body is empty; expected a JSON object");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("request body is not valid JSON");
  if (!j.is_object()) return bad("request body must be a JSON object");
  return Result<json>(boost::system::in_place_value, std::move(j));
}

Result<void> reject_unknown(const json& j, const std::set<std::string, std::less<>>& known,
                            const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!known.count(it.key())) {
      return bad("unknown field '" + where + it.key() + "'");
    }
  }
  return {};
}

// A value of the fast reader as nlohmann's tree, for the parsers written over that
// (the filter: small, and only on requests that have one).
json to_json(const JsonValue& v) {
  if (v.is_bool()) return v.as_bool();
  if (v.is_integer()) return v.as_integer();
  if (v.is_number()) return v.as_double();
  if (v.is_string()) return v.as_string();
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v.as_array()) out.push_back(to_json(e));
    return out;
  }
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [name, e] : v.as_object()) out[name] = to_json(e);
    return out;
  }
  return nullptr;
}

// Listing cursors: the last id listed, as hex (ids may hold any bytes but a cursor travels
// in a query string). Opaque to clients.
std::string encode_cursor(std::string_view last_id) {
  return to_hex(reinterpret_cast<const std::uint8_t*>(last_id.data()), last_id.size());
}

std::optional<std::string> decode_cursor(std::string_view cursor) {
  if (cursor.empty() || cursor.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(cursor.size() / 2);
  for (std::size_t i = 0; i < cursor.size(); i += 2) {
    const int hi = ascii_hex_value(cursor[i]);
    const int lo = ascii_hex_value(cursor[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

Result<std::string> checked_id(const char* name, std::string s, std::size_t max_chars) {
  if (utf8_length(s) > max_chars) {
    return bad(std::string("'") + name + "' is longer than " + std::to_string(max_chars) + " characters");
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return bad(std::string("'") + name + "' contains control characters");
  }
  return s;
}

// The /query body is read with JsonValue (one pass, strings copied in runs): it is parsed on
// every request, cache hits included, and nlohmann's tree was a fifth of a hit's cost.
Result<std::string> optional_id(JsonValue& j, const char* name, std::size_t max_chars) {
  JsonValue* v = j.find(name);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) return bad(std::string("'") + name + "' must be a string");
  return checked_id(name, std::move(v->as_string()), max_chars);
}

// A document's metadata: a flat object of string, number and bool values, bounded in keys
// and size, kept as compact JSON text.
Result<std::string> parse_metadata(const json& m, const std::string& at) {
  constexpr std::size_t kMaxKeys = 32;
  constexpr std::size_t kMaxKeyChars = 64;
  if (!m.is_object()) return bad("'" + at + "' must be an object of string, number or boolean values");
  if (m.size() > kMaxKeys) return bad("'" + at + "' has more than " + std::to_string(kMaxKeys) + " keys");
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (it.key().empty() || utf8_length(it.key()) > kMaxKeyChars) {
      return bad("'" + at + "' keys must be 1 to " + std::to_string(kMaxKeyChars) + " characters");
    }
    if (!it->is_string() && !it->is_number() && !it->is_boolean()) {
      return bad("'" + at + "." + it.key() + "' must be a string, number or boolean");
    }
  }
  // Its size as JSON is checked with the rest of the document (retrieval::validate_documents).
  return m.empty() ? std::string() : m.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

Result<orchestrator::QueryRequest> parse_query_body(std::string_view body, const QueryConfig& limits) {
  if (body.empty()) return bad("request body is empty; expected a JSON object");
  auto parsed = parse_json(body);
  if (!parsed) return bad("request body is not valid JSON");
  if (!parsed->is_object()) return bad("request body must be a JSON object");
  JsonValue& j = *parsed;
  for (const auto& [name, value] : j.as_object()) {
    if (name != "query" && name != "user_id" && name != "session_id" && name != "top_k" && name != "cache" &&
        name != "mode" && name != "stream" && name != "filter") {
      return bad("unknown field '" + name + "'");
    }
  }
  orchestrator::QueryRequest q;
  JsonValue* query = j.find("query");
  if (query == nullptr) return bad("'query' is required");
  if (!query->is_string()) return bad("'query' must be a string");
  q.query = std::move(query->as_string());
  if (blank(q.query)) return bad("'query' must not be empty");
  if (utf8_length(q.query) > limits.max_query_chars) {
    return bad("'query' is longer than " + std::to_string(limits.max_query_chars) + " characters");
  }
  auto user = optional_id(j, "user_id", limits.max_id_chars);
  if (!user) return user.error();
  q.user_id = std::move(*user);
  auto session = optional_id(j, "session_id", limits.max_id_chars);
  if (!session) return session.error();
  q.session_id = std::move(*session);
  if (const JsonValue* k = j.find("top_k"); k != nullptr && !k->is_null()) {
    if (!k->is_integer()) return bad("'top_k' must be an integer");
    const std::int64_t v = k->as_integer();
    if (v < 1 || v > limits.max_top_k) {
      return bad("'top_k' must be between 1 and " + std::to_string(limits.max_top_k));
    }
    q.top_k = static_cast<int>(v);
  }
  if (const JsonValue* m = j.find("mode"); m != nullptr && !m->is_null()) {
    if (!m->is_string() || !retrieval::parse_search_mode(m->as_string())) {
      return bad("'mode' must be \"dense\", \"lexical\" or \"hybrid\"");
    }
    q.mode = m->as_string();
  }
  if (const JsonValue* f = j.find("filter"); f != nullptr && !f->is_null()) {
    auto filter = parse_filter(to_json(*f));
    if (!filter) return filter.error();
    q.filter = std::move(*filter);
  }
  if (const JsonValue* st = j.find("stream"); st != nullptr && !st->is_null()) {
    if (!st->is_bool()) return bad("'stream' must be true or false");
    q.stream = st->as_bool();
  }
  if (const JsonValue* c = j.find("cache"); c != nullptr && !c->is_null()) {
    if (!c->is_string()) return bad("'cache' must be \"use\", \"bypass\" or \"refresh\"");
    const std::string& mode = c->as_string();
    if (mode == "use") q.cache_mode = orchestrator::CacheMode::use;
    else if (mode == "bypass") q.cache_mode = orchestrator::CacheMode::bypass;
    else if (mode == "refresh") q.cache_mode = orchestrator::CacheMode::refresh;
    else return bad("'cache' must be \"use\", \"bypass\" or \"refresh\"");
  }
  return q;
}

std::string render_query_result(const orchestrator::QueryResult& r) {
  // The request's own fields, then the answer's (as cached, or rendered now): written
  // straight into one buffer and spliced, so a cache hit never parses or re-renders the
  // answer, and builds no JSON tree for the rest.
  std::string rendered;
  if (!r.rendered) rendered = render_answer_body(r);
  const std::string_view body = r.rendered ? r.rendered.body : std::string_view(rendered);
  std::string out;
  out.reserve(body.size() + 320);
  JsonWriter w(out);
  w.begin_object();
  write_query_fields(w, r);
  if (body.size() > 2) {
    out += ',';
    out.append(body.substr(1));  // the answer's fields and its closing '}'
  } else {
    out += '}';
  }
  return out;
}

void write_query_fields(JsonWriter& w, const orchestrator::QueryResult& r) {
  auto ms = [](double v) { return std::round(v * 1000.0) / 1000.0; };
  w.member("request_id", r.request_id).member("cache", r.cache);
  if (!r.retrieval_degraded.empty()) w.member("retrieval_degraded", r.retrieval_degraded);
  w.key("timings_ms")
      .begin_object()
      .member("total", ms(r.timings.total))
      .member("rules", ms(r.timings.rules))
      .member("retrieve", ms(r.timings.retrieve))
      .member("profile", ms(r.timings.profile))
      .member("history", ms(r.timings.history))
      .member("queue_wait", ms(r.timings.queue_wait))
      .member("llm", ms(r.timings.llm))
      .member("cache_lookup", ms(r.timings.cache_lookup))
      .member("cache_store", ms(r.timings.cache_store))
      .member("overhead", ms(r.timings.overhead));
  if (r.timings.first_token > 0) w.member("first_token", ms(r.timings.first_token));
  w.end_object();
  if (r.cache_age_ms >= 0) w.member("cache_age_ms", static_cast<std::int64_t>(std::llround(r.cache_age_ms)));
  if (!r.rules_matched.empty()) {
    w.key("rules_matched").begin_array();
    for (const auto& id : r.rules_matched) w.value(id);
    w.end_array();
  }
}

Result<std::vector<retrieval::Document>> parse_documents_body(std::string_view body,
                                                              const RetrievalConfig& limits) {
  auto j = parse_object(body);
  if (!j) return j.error();
  if (auto r = reject_unknown(*j, {"documents"}, ""); !r) return r.error();
  auto it = j->find("documents");
  if (it == j->end()) return bad("'documents' is required");
  if (!it->is_array()) return bad("'documents' must be an array");
  // Bounded before the documents are copied out (the rest: retrieval::validate_documents).
  if (auto ok = retrieval::validate_document_count(it->size(), limits.max_documents_per_request); !ok) {
    return ok.error();
  }
  std::vector<retrieval::Document> docs;
  docs.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& d = (*it)[i];
    std::string at = "documents[" + std::to_string(i) + "]";
    if (!d.is_object()) return bad("'" + at + "' must be an object");
    if (auto r = reject_unknown(d, {"id", "title", "text", "metadata"}, at + "."); !r) return r.error();
    retrieval::Document doc;
    auto id = d.find("id");
    if (id == d.end() || !id->is_string()) return bad("'" + at + ".id' must be a string");
    doc.id = id->get<std::string>();
    if (auto t = d.find("title"); t != d.end() && !t->is_null()) {
      if (!t->is_string()) return bad("'" + at + ".title' must be a string");
      doc.title = t->get<std::string>();
    }
    auto text = d.find("text");
    if (text == d.end() || !text->is_string()) return bad("'" + at + ".text' must be a string");
    doc.text = text->get<std::string>();
    if (auto m = d.find("metadata"); m != d.end() && !m->is_null()) {
      auto metadata = parse_metadata(*m, at + ".metadata");
      if (!metadata) return metadata.error();
      doc.metadata = std::move(*metadata);
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

Result<retrieval::MetadataFilterPtr> parse_filter(const json& filter) {
  auto parsed = retrieval::MetadataFilter::parse(filter);
  if (!parsed) return parsed.error();
  if (parsed->empty()) return retrieval::MetadataFilterPtr();
  return retrieval::MetadataFilterPtr(std::make_shared<const retrieval::MetadataFilter>(std::move(*parsed)));
}

Result<DocumentListing> parse_listing_query(std::string_view query) {
  DocumentListing listing;
  listing.limit = kDefaultListingLimit;
  if (auto limit = query_value(query, "limit")) {
    std::size_t n = 0;
    const char* end = limit->data() + limit->size();
    auto [p, ec] = std::from_chars(limit->data(), end, n);
    if (limit->empty() || ec != std::errc() || p != end || n < 1 || n > kMaxListingLimit) {
      return bad("'limit' must be an integer between 1 and " + std::to_string(kMaxListingLimit));
    }
    listing.limit = n;
  }
  if (auto cursor = query_value(query, "cursor")) {
    auto after = decode_cursor(*cursor);
    if (!after) return bad("'cursor' is not a cursor this server gave: pass next_cursor as it came");
    listing.after = std::move(*after);
  }
  return listing;
}

std::string render_document_page(const retrieval::DocumentPage& page) {
  json documents = json::array();
  for (const auto& d : page.documents) {
    json metadata = d.metadata.empty() ? json::object() : json::parse(d.metadata, nullptr, false);
    documents.push_back({{"id", d.id}, {"title", d.title}, {"metadata", std::move(metadata)}, {"chunks", d.chunks}});
  }
  json j = {{"documents", std::move(documents)}, {"next_cursor", nullptr}};
  if (page.more && !page.documents.empty()) j["next_cursor"] = encode_cursor(page.documents.back().id);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string render_document(const retrieval::StoredDocument& d, std::uint64_t index_version) {
  json metadata = d.metadata.empty() ? json::object() : json::parse(d.metadata, nullptr, false);
  json j = {{"id", d.id},          {"title", d.title}, {"metadata", std::move(metadata)},
            {"chunks", d.chunks},  {"text", d.text},   {"index_version", index_version}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ragd::http
