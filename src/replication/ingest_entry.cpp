#include "ragd/replication/ingest_entry.hpp"

#include <nlohmann/json.hpp>

namespace ragd::replication {

using nlohmann::json;

namespace {

Error malformed(const std::string& what) { return make_error(Errc::bad_request, "ingest entry: " + what); }

const std::string* string_member(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

}  // namespace

std::string encode_entry(const IngestEntry& entry) {
  json j = {{"token", entry.token}, {"origin", entry.origin}, {"tenant", entry.tenant}};
  if (entry.op == IngestEntry::Op::remove) {
    j["op"] = "delete";
    j["id"] = entry.doc_id;
  } else {
    j["op"] = "upsert";
    json docs = json::array();
    for (const auto& d : entry.documents) {
      json doc = {{"id", d.id}, {"title", d.title}, {"text", d.text}};
      if (!d.metadata.empty()) doc["metadata"] = d.metadata;  // compact JSON text, as validated
      docs.push_back(std::move(doc));
    }
    j["documents"] = std::move(docs);
  }
  // Invalid UTF-8 is replaced rather than thrown on: the text was accepted by the API already.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<IngestEntry> decode_entry(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return malformed("not a JSON object");
  IngestEntry e;
  if (const auto* token = string_member(j, "token")) e.token = *token;
  if (const auto* origin = string_member(j, "origin")) e.origin = *origin;
  if (j.contains("tenant")) {
    const auto* tenant = string_member(j, "tenant");
    if (!tenant || !redis::valid_tenant(*tenant)) return malformed("'tenant' " + std::string(redis::kTenantRule));
    e.tenant = *tenant;
  }
  const auto* op = string_member(j, "op");
  if (!op) return malformed("no 'op'");
  if (*op == "delete") {
    const auto* id = string_member(j, "id");
    if (!id) return malformed("delete without 'id'");
    e.op = IngestEntry::Op::remove;
    e.doc_id = *id;
    return e;
  }
  if (*op != "upsert") return malformed("unknown op '" + *op + "'");
  auto docs = j.find("documents");
  if (docs == j.end() || !docs->is_array()) return malformed("upsert without 'documents'");
  e.documents.reserve(docs->size());
  for (const auto& d : *docs) {
    const auto* id = d.is_object() ? string_member(d, "id") : nullptr;
    const auto* body = d.is_object() ? string_member(d, "text") : nullptr;
    if (!id || !body) return malformed("a document without 'id' or 'text'");
    const auto* title = string_member(d, "title");
    const auto* metadata = string_member(d, "metadata");
    e.documents.push_back({*id, title ? *title : std::string(), *body, metadata ? *metadata : std::string()});
  }
  return e;
}

}  // namespace ragd::replication
