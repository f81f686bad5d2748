// The JSON reader against nlohmann's, on arbitrary bytes (up to the first NUL, where
// nlohmann stops reading): both accept or both reject, and accepted texts have the same values. The reader refuses nesting deeper than kMaxJsonDepth,
// which nlohmann accepts: such texts only need not crash.
#include "ragd/core/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using nlohmann::json;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "json_reader differs from nlohmann: %s\n", what);
  std::abort();
}

int depth_of(const json& j) {
  int d = 0;
  if (j.is_structured()) {
    for (const auto& e : j) d = std::max(d, depth_of(e));
    return d + 1;
  }
  return 0;
}

bool same_number(const ragd::JsonValue& a, const json& b) {
  if (a.is_integer()) {
    if (b.is_number_integer() && !b.is_number_unsigned()) return a.as_integer() == b.get<std::int64_t>();
    if (b.is_number_unsigned()) {
      return a.as_integer() >= 0 && static_cast<std::uint64_t>(a.as_integer()) == b.get<std::uint64_t>();
    }
    // "-0" or "1.0": nlohmann may read a float where the reader keeps an integer, or the
    // other way round; the values must still agree.
    return static_cast<double>(a.as_integer()) == b.get<double>();
  }
  return a.as_double() == b.get<double>() ||
         (std::isnan(a.as_double()) && std::isnan(b.get<double>()));
}

void compare(const ragd::JsonValue& a, const json& b) {
  if (b.is_null()) {
    if (!a.is_null()) fail("null");
  } else if (b.is_boolean()) {
    if (!a.is_bool() || a.as_bool() != b.get<bool>()) fail("bool");
  } else if (b.is_number()) {
    if (!a.is_number() || !same_number(a, b)) fail("number");
  } else if (b.is_string()) {
    if (!a.is_string() || a.as_string() != b.get_ref<const std::string&>()) fail("string");
  } else if (b.is_array()) {
    if (!a.is_array() || a.as_array().size() != b.size()) fail("array size");
    for (std::size_t i = 0; i < b.size(); ++i) compare(a.as_array()[i], b[i]);
  } else if (b.is_object()) {
    if (!a.is_object()) fail("object");
    // nlohmann keeps the last of repeated names, as find() does.
    std::size_t distinct = 0;
    for (auto it = b.begin(); it != b.end(); ++it) {
      const ragd::JsonValue* m = a.find(it.key());
      if (!m) fail("object member missing");
      compare(*m, it.value());
      ++distinct;
    }
    for (const auto& [name, value] : a.as_object()) {
      (void)value;
      if (!b.contains(name)) fail("object member extra");
    }
    (void)distinct;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // nlohmann's lexer takes a NUL byte outside a string for the end of the input (inside one
  // it is an unescaped control character, an error to both): compare on what it reads.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    (void)ragd::parse_json(text);  // the whole input must not crash it either
    text = text.substr(0, nul);
  }
  auto ours = ragd::parse_json(text);
  json theirs = json::parse(text, nullptr, /*allow_exceptions=*/false);
  const bool they_accept = !theirs.is_discarded();
  if (they_accept && depth_of(theirs) >= ragd::kMaxJsonDepth) return 0;
  if (ours.has_value() != they_accept) fail(they_accept ? "reader rejects what nlohmann accepts"
                                                        : "reader accepts what nlohmann rejects");
  if (they_accept) compare(*ours, theirs);
  return 0;
}
