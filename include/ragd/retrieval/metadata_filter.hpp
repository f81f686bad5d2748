// Filters on document metadata, as a query's `"filter"` states them: a JSON object whose
// keys are metadata keys, each with a value (equality) or an object of operators:
//   {"lang": "en", "year": {"$gte": 2020, "$lt": 2024}, "team": {"$in": ["core", "infra"]}}
// All conditions must hold. `$in` takes a non-empty array of strings, numbers or booleans;
// `$gt`, `$gte`, `$lt`, `$lte` take numbers and match only numeric values; equality
// compares numbers as numbers (2 equals 2.0) and never a string with a number. A document
// without the key does not match. parse() refuses a malformed filter with a bad_request
// that names the problem by its path ("filter.year.$gt must be a number").
//
// Pure values and functions; thread-safe.
#pragma once

#include "ragd/core/error.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ragd::retrieval {

using MetadataValue = std::variant<std::string, double, bool>;

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
  bool empty() const { return conditions.empty(); }
};

}  // namespace ragd::retrieval
