#include "ragd/retrieval/metadata_filter.hpp"

#include <nlohmann/json.hpp>

namespace ragd::retrieval {

using nlohmann::json;

namespace {

Error bad(std::string message) { return make_error(Errc::bad_request, std::move(message)); }

std::optional<MetadataValue> scalar(const json& v) {
  if (v.is_string()) return MetadataValue(v.get<std::string>());
  if (v.is_boolean()) return MetadataValue(v.get<bool>());
  if (v.is_number()) return MetadataValue(v.get<double>());
  return std::nullopt;
}

bool equal(const MetadataValue& want, const json& have) {
  if (const auto* s = std::get_if<std::string>(&want)) return have.is_string() && have.get_ref<const std::string&>() == *s;
  if (const auto* b = std::get_if<bool>(&want)) return have.is_boolean() && have.get<bool>() == *b;
  return have.is_number() && have.get<double>() == std::get<double>(want);
}

Result<void> parse_operators(const json& ops, const std::string& at, MetadataCondition& c) {
  if (ops.empty()) return bad("'" + at + "' must name at least one operator: $in, $gt, $gte, $lt, $lte");
  for (auto it = ops.begin(); it != ops.end(); ++it) {
    const std::string& op = it.key();
    const std::string path = at + "." + op;
    if (op == "$in") {
      if (!it->is_array() || it->empty() || it->size() > MetadataFilter::kMaxInValues) {
        return bad("'" + path + "' must be an array of 1 to " + std::to_string(MetadataFilter::kMaxInValues) +
                   " strings, numbers or booleans");
      }
      for (const auto& v : *it) {
        auto s = scalar(v);
        if (!s) return bad("'" + path + "' must hold only strings, numbers or booleans");
        c.any_of.push_back(std::move(*s));
      }
      continue;
    }
    std::optional<double>* bound = op == "$gt" ? &c.gt : op == "$gte" ? &c.gte : op == "$lt" ? &c.lt
                                 : op == "$lte" ? &c.lte : nullptr;
    if (bound == nullptr) return bad("unknown operator '" + op + "' in '" + at + "': use $in, $gt, $gte, $lt or $lte");
    if (!it->is_number()) return bad("'" + path + "' must be a number");
    *bound = it->get<double>();
  }
  return {};
}

}  // namespace

Result<MetadataFilter> MetadataFilter::parse(const json& filter) {
  if (!filter.is_object()) return bad("'filter' must be an object of metadata keys");
  if (filter.size() > kMaxKeys) return bad("'filter' has more than " + std::to_string(kMaxKeys) + " keys");
  MetadataFilter out;
  for (auto it = filter.begin(); it != filter.end(); ++it) {
    const std::string at = "filter." + it.key();
    if (it.key().empty() || it.key()[0] == '$') return bad("'" + at + "': keys are metadata keys, not operators");
    MetadataCondition c;
    c.key = it.key();
    if (it->is_object()) {
      if (auto r = parse_operators(*it, at, c); !r) return r.error();
    } else if (auto s = scalar(*it)) {
      c.any_of.push_back(std::move(*s));
    } else {
      return bad("'" + at + "' must be a string, number, boolean or an object of operators");
    }
    out.conditions.push_back(std::move(c));
  }
  return out;
}

bool MetadataFilter::matches(const json& metadata) const {
  if (conditions.empty()) return true;
  if (!metadata.is_object()) return false;
  for (const auto& c : conditions) {
    auto it = metadata.find(c.key);
    if (it == metadata.end()) return false;
    if (!c.any_of.empty()) {
      bool any = false;
      for (const auto& v : c.any_of) any = any || equal(v, *it);
      if (!any) return false;
    }
    if (c.gt || c.gte || c.lt || c.lte) {
      if (!it->is_number()) return false;
      const double x = it->get<double>();
      if ((c.gt && !(x > *c.gt)) || (c.gte && !(x >= *c.gte)) || (c.lt && !(x < *c.lt)) || (c.lte && !(x <= *c.lte))) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace ragd::retrieval
