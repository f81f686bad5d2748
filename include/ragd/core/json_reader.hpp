// JsonValue and parse_json: a small JSON reader for the hot paths that decode payloads of
// several kilobytes per request (job payloads with prompts and passages, job replies).
// nlohmann's lexer appends string contents one character at a time; this reader copies
// runs of plain bytes at once and is several times faster on such payloads.
//
// It accepts exactly RFC 8259 JSON: strings must be valid UTF-8 (escapes included: a lone
// surrogate is an error), numbers follow the JSON grammar, nothing may follow the value.
// Nesting deeper than kMaxJsonDepth is refused rather than recursed into. Integers that fit
// an int64 are kept exact; other numbers become doubles. Objects keep their members in order;
// find() returns the last member of a name, as nlohmann does for duplicates.
//
// Everything else (config files, HTTP bodies with comments or rich validation) keeps using
// nlohmann; this is not a general-purpose JSON library.
#pragma once

#include "ragd/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ragd {

inline constexpr int kMaxJsonDepth = 128;

class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  using Object = std::vector<std::pair<std::string, JsonValue>>;

  JsonValue() = default;
  explicit JsonValue(bool b) : v_(b) {}
  explicit JsonValue(std::int64_t n) : v_(n) {}
  explicit JsonValue(double d) : v_(d) {}
  explicit JsonValue(std::string s) : v_(std::move(s)) {}
  explicit JsonValue(Array a) : v_(std::move(a)) {}
  explicit JsonValue(Object o) : v_(std::move(o)) {}

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_integer() const { return std::holds_alternative<std::int64_t>(v_); }
  bool is_number() const { return is_integer() || std::holds_alternative<double>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<Array>(v_); }
  bool is_object() const { return std::holds_alternative<Object>(v_); }

  // Accessors for a value of the matching kind (check first: the wrong kind throws).
  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_integer() const { return std::get<std::int64_t>(v_); }
  double as_double() const {
    return is_integer() ? static_cast<double>(std::get<std::int64_t>(v_)) : std::get<double>(v_);
  }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  std::string& as_string() { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Object& as_object() { return std::get<Object>(v_); }

  // The member named `key` of an object (the last one if repeated); nullptr when absent or
  // when this is not an object.
  const JsonValue* find(std::string_view key) const;
  JsonValue* find(std::string_view key);

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Array, Object> v_;
};

// Parses one JSON text. Errors are Errc::bad_request naming the byte offset and the problem.
Result<JsonValue> parse_json(std::string_view text);

// As parse_json(), except within the value of the top-level object's member named
// `undecoded_member`: its strings are checked as strictly as any but not decoded, and read
// as empty strings (member names are decoded). `member_text` is set to that value's text
// as it is in `text` (of the last such member), or to empty when there is none or on error.
// For a caller that passes the member's JSON on as it is and needs only its shape: the
// worker forwarding a job's messages to the model.
Result<JsonValue> parse_json(std::string_view text, std::string_view undecoded_member,
                             std::string_view& member_text);

}  // namespace ragd
