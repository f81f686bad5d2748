#include "ragd/retrieval/metadata_filter.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

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

std::string number_text(double x) {
  if (x == 0) x = 0;  // -0 and 0 are one value
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

// Length-prefixed, so that no choice of keys and values can make two filters' texts equal.
void append_field(std::string& out, char tag, std::string_view value) {
  out += tag;
  out += std::to_string(value.size());
  out += ':';
  out += value;
}

void append_value(std::string& out, const MetadataValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return append_field(out, 's', *s);
  if (const auto* b = std::get_if<bool>(&v)) return append_field(out, 'b', *b ? "true" : "false");
  append_field(out, 'n', number_text(std::get<double>(v)));
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

MetadataFields MetadataFields::from_json(const json& metadata) {
  MetadataFields out;
  if (!metadata.is_object()) return out;
  for (auto it = metadata.begin(); it != metadata.end(); ++it) {
    if (auto v = scalar(*it)) out.values.emplace_back(it.key(), std::move(*v));
  }
  // nlohmann's objects iterate in key order with distinct keys; sorting again costs little
  // and keeps find()'s precondition whatever the object type.
  std::sort(out.values.begin(), out.values.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

MetadataFields MetadataFields::parse(std::string_view metadata_json) {
  if (metadata_json.empty()) return {};
  return from_json(json::parse(metadata_json, nullptr, /*allow_exceptions=*/false));
}

const MetadataValue* MetadataFields::find(std::string_view key) const {
  auto it = std::lower_bound(values.begin(), values.end(), key,
                             [](const auto& field, std::string_view k) { return field.first < k; });
  return it != values.end() && it->first == key ? &it->second : nullptr;
}

bool MetadataFilter::matches(const json& metadata) const {
  if (conditions.empty()) return true;
  return matches(MetadataFields::from_json(metadata));
}

bool MetadataFilter::matches(const MetadataFields& metadata) const {
  for (const auto& c : conditions) {
    const MetadataValue* have = metadata.find(c.key);
    if (have == nullptr) return false;
    // Values of different kinds are never equal (variant ==); numbers compare as doubles.
    if (!c.any_of.empty() &&
        std::none_of(c.any_of.begin(), c.any_of.end(), [&](const MetadataValue& v) { return v == *have; })) {
      return false;
    }
    if (c.gt || c.gte || c.lt || c.lte) {
      const double* x = std::get_if<double>(have);
      if (x == nullptr) return false;
      if ((c.gt && !(*x > *c.gt)) || (c.gte && !(*x >= *c.gte)) || (c.lt && !(*x < *c.lt)) ||
          (c.lte && !(*x <= *c.lte))) {
        return false;
      }
    }
  }
  return true;
}

std::string MetadataFilter::canonical() const {
  std::vector<const MetadataCondition*> ordered;
  for (const auto& c : conditions) ordered.push_back(&c);
  std::sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) { return a->key < b->key; });
  std::string out;
  for (const MetadataCondition* c : ordered) {
    append_field(out, 'k', c->key);
    std::vector<MetadataValue> values = c->any_of;
    std::sort(values.begin(), values.end());  // by kind, then value
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (const auto& v : values) {
      out += '=';
      append_value(out, v);
    }
    const std::pair<char, const std::optional<double>*> bounds[] = {
        {'>', &c->gt}, {'G', &c->gte}, {'<', &c->lt}, {'L', &c->lte}};
    for (const auto& [tag, bound] : bounds) {
      if (*bound) append_field(out, tag, number_text(**bound));
    }
  }
  return out;
}

}  // namespace ragd::retrieval
