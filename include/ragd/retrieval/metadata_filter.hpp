// Filters on document metadata, as a query's `"filter"` states them: a JSON object whose
// keys are metadata keys, each with a value (equality) or an object of operators:
//   {"lang": "en", "year": {"$gte": 2020, "$lt": 2024}, "team": {"$in": ["core", "infra"]}}
// All conditions must hold. `$in` takes a non-empty array of strings, numbers or booleans;
// `$gt`, `$gte`, `$lt`, `$lte` take numbers and match only numeric values; equality
// compares numbers as numbers (2 equals 2.0) and never a string with a number. A document
// without the key does not match. parse() refuses a malformed filter with a bad_request
// that names the problem by its path ("filter.year.$gt must be a number").
//
// Documents' metadata is parsed once, when they are indexed, into MetadataFields; a
// query's filter is then tested against those without touching JSON. canonical() is the
// filter as text, equal for filters that match the same documents however they were
// written (key and `$in` order, repeated values, 2 and 2.0): what answer-cache keys hold.
//
// Pure values and functions; thread-safe.
#pragma once

#include "ragd/core/error.hpp"

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ragd::retrieval {

using MetadataValue = std::variant<std::string, double, bool>;

// A document's metadata as filters read it: its string, number and boolean values by key.
struct MetadataFields {
  std::vector<std::pair<std::string, MetadataValue>> values;  // sorted by key, keys distinct

  // From a document's metadata text (Document::metadata: a flat JSON object, or "").
  // Anything that is not a JSON object gives no fields; values of other kinds are left out.
  static MetadataFields parse(std::string_view metadata_json);
  static MetadataFields from_json(const nlohmann::json& metadata);
  const MetadataValue* find(std::string_view key) const;
};

struct MetadataCondition {
  std::string key;
  std::vector<MetadataValue> any_of;  // equality or $in: one of these; empty = no such test
  std::optional<double> gt, gte, lt, lte;
};

struct MetadataFilter {
  std::vector<MetadataCondition> conditions;  // all must hold; empty = everything matches

  static constexpr std::size_t kMaxKeys = 16;
  static constexpr std::size_t kMaxInValues = 100;

  // The filter of a query body's `"filter"` value.
  static Result<MetadataFilter> parse(const nlohmann::json& filter);

  // Whether a document's metadata (a flat JSON object; anything else matches nothing but
  // the empty filter) satisfies every condition.
  bool matches(const nlohmann::json& metadata) const;
  bool matches(const MetadataFields& metadata) const;
  bool empty() const { return conditions.empty(); }
  // The filter as canonical text ("" for the empty filter): see the header's paragraph.
  std::string canonical() const;
};

// How a query carries its filter through coroutines and queues; null = no filter.
using MetadataFilterPtr = std::shared_ptr<const MetadataFilter>;

}  // namespace ragd::retrieval
