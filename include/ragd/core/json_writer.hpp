// JsonWriter: appends compact JSON text to a string, for the hot paths where building an
// nlohmann tree and dumping it costs more than the text itself: job payloads (prompts with
// their passages) and answer bodies. Strings are escaped with a fast path for runs of
// plain ASCII; invalid UTF-8 is replaced by U+FFFD, never passed through, so the output is
// always valid JSON whatever bytes come in.
//
// The writer checks nothing about structure (keys only inside objects, values after keys):
// callers write well-formed sequences, and the tests parse what they produce.
// Thread-safety: none; one writer per string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ragd {

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  // The next member's name; the value written next belongs to it.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(int n) { return value(static_cast<std::int64_t>(n)); }
  JsonWriter& value(double d);  // shortest round-trip form; NaN and infinities as null
  JsonWriter& value(bool b);
  JsonWriter& null();
  // Text that already is one JSON value (e.g. a stored object), written as is.
  JsonWriter& raw(std::string_view json);

  // key(name) then value(v).
  template <class T>
  JsonWriter& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

 private:
  JsonWriter& open(char c);
  JsonWriter& close(char c);
  void separate();

  std::string& out_;
  bool need_comma_ = false;  // a value was written at this level
  bool after_key_ = false;   // the next value follows a key: no comma
};

}  // namespace ragd
