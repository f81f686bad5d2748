#include "ragd/core/json_reader.hpp"

#include "core/utf8.hpp"
#include "ragd/core/ascii.hpp"

#include <charconv>
#include <cstring>

namespace ragd {

const JsonValue* JsonValue::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const Object& members = as_object();
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

JsonValue* JsonValue::find(std::string_view key) {
  return const_cast<JsonValue*>(static_cast<const JsonValue&>(*this).find(key));
}

namespace {

// Takes the decoded bytes of a string that is only checked, not kept.
struct Discard {
  void append(const char*, std::size_t) {}
  Discard& operator+=(char) { return *this; }
};

class Parser {
 public:
  explicit Parser(std::string_view text, std::string_view undecoded_member = {})
      : s_(text), undecoded_member_(undecoded_member) {}

  // The source text of the top-level member named by undecoded_member (the last of them).
  std::string_view undecoded_text() const { return undecoded_text_; }

  Result<JsonValue> document() {
    JsonValue v;
    skip_space();
    if (!value(v, 0)) return make_error(Errc::bad_request, error_);
    skip_space();
    if (i_ != s_.size()) {
      fail("unexpected text after the JSON value");
      return make_error(Errc::bad_request, error_);
    }
    return Result<JsonValue>(boost::system::in_place_value, std::move(v));
  }

 private:
  bool fail(std::string_view what) {
    if (error_.empty()) error_ = "invalid JSON at byte " + std::to_string(i_) + ": " + std::string(what);
    return false;
  }

  void skip_space() {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
      ++i_;
    }
  }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return fail("unknown literal");
    i_ += word.size();
    return true;
  }

  bool value(JsonValue& out, int depth) {
    if (i_ >= s_.size()) return fail("unexpected end of input");
    switch (s_[i_]) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        std::string str;
        if (undecoding_) {
          Discard discard;
          if (!string(discard)) return false;
        } else if (!string(str)) {
          return false;
        }
        out = JsonValue(std::move(str));
        return true;
      }
      case 't': out = JsonValue(true); return literal("true");
      case 'f': out = JsonValue(false); return literal("false");
      case 'n': out = JsonValue(); return literal("null");
      default: return number(out);
    }
  }

  bool object(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth) return fail("nested too deeply");
    ++i_;  // '{'
    JsonValue::Object members;
    skip_space();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      out = JsonValue(std::move(members));
      return true;
    }
    // Room for a typical object at once: growing one member at a time moves the members
    // (a string and a value each) four times over by the eighth.
    members.reserve(8);
    for (;;) {
      skip_space();
      if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a member name");
      std::string key;
      if (!string(key)) return false;
      skip_space();
      if (i_ >= s_.size() || s_[i_] != ':') return fail("expected ':'");
      ++i_;
      skip_space();
      JsonValue v;
      const bool undecoded = depth == 1 && !undecoded_member_.empty() && key == undecoded_member_;
      const std::size_t begin = i_;
      if (undecoded) undecoding_ = true;
      const bool ok = value(v, depth);
      if (!ok) return false;
      if (undecoded) {
        undecoding_ = false;
        undecoded_text_ = s_.substr(begin, i_ - begin);
      }
      members.emplace_back(std::move(key), std::move(v));
      skip_space();
      if (i_ >= s_.size()) return fail("unexpected end of input in an object");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == '}') {
        ++i_;
        out = JsonValue(std::move(members));
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth) return fail("nested too deeply");
    ++i_;  // '['
    JsonValue::Array items;
    skip_space();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      out = JsonValue(std::move(items));
      return true;
    }
    for (;;) {
      skip_space();
      items.emplace_back();
      if (!value(items.back(), depth)) return false;
      skip_space();
      if (i_ >= s_.size()) return fail("unexpected end of input in an array");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == ']') {
        ++i_;
        out = JsonValue(std::move(items));
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(unsigned& out) {
    if (s_.size() - i_ < 4) return fail("truncated \\u escape");
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const int d = ascii_hex_value(s_[i_ + static_cast<std::size_t>(k)]);
      if (d < 0) return fail("bad \\u escape");
      out = out * 16 + static_cast<unsigned>(d);
    }
    i_ += 4;
    return true;
  }

  template <class Out>
  static void append_utf8(Out& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // After the backslash.
  template <class Out>
  bool escape(Out& out) {
    if (i_ >= s_.size()) return fail("truncated escape");
    const char c = s_[i_++];
    switch (c) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': {
        unsigned cp = 0;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (s_.size() - i_ < 2 || s_[i_] != '\\' || s_[i_ + 1] != 'u') return fail("lone high surrogate");
          i_ += 2;
          unsigned low = 0;
          if (!hex4(low)) return false;
          if (low < 0xDC00 || low > 0xDFFF) return fail("bad surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
        return true;
      }
      default: return fail("unknown escape");
    }
  }

  // Out is std::string, or Discard to check the string without keeping it.
  template <class Out>
  bool string(Out& out) {
    ++i_;  // opening quote
    for (;;) {
      // A run of bytes that need no attention is copied at once.
      const std::size_t run = i_ + detail::plain_json_run(s_, i_);
      out.append(s_.data() + i_, run - i_);
      i_ = run;
      if (i_ >= s_.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c == '\\') {
        ++i_;
        if (!escape(out)) return false;
        continue;
      }
      if (c < 0x20) return fail("control character in a string");
      const std::size_t n = detail::utf8_sequence(s_, i_);
      if (n == 0) return fail("invalid UTF-8 in a string");
      out.append(s_.data() + i_, n);
      i_ += n;
    }
  }

  bool digits() {
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }

  bool number(JsonValue& out) {
    const std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    if (i_ >= s_.size()) return fail("expected a value");
    if (s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return fail("expected a value");
    }
    bool integral = true;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      integral = false;
      if (!digits()) return fail("expected digits after '.'");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      integral = false;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return fail("expected digits in the exponent");
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + i_;
    if (integral) {
      std::int64_t n = 0;
      auto [p, ec] = std::from_chars(first, last, n);
      if (ec == std::errc() && p == last) {
        out = JsonValue(n);
        return true;
      }
    }
    double d = 0;
    auto [p, ec] = std::from_chars(first, last, d);
    if (ec == std::errc::result_out_of_range && p == last && exponent_negative(first, last)) {
      // Underflow (5e-352): below the smallest double, the value is zero, as strtod and
      // other JSON readers have it; only overflow is out of range.
      out = JsonValue(*first == '-' ? -0.0 : 0.0);
      return true;
    }
    if (ec == std::errc::result_out_of_range) return fail("number out of range");
    if (ec != std::errc() || p != last) return fail("bad number");
    out = JsonValue(d);
    return true;
  }

  static bool exponent_negative(const char* first, const char* last) {
    const std::string_view n(first, static_cast<std::size_t>(last - first));
    const auto e = n.find_first_of("eE");
    return e != std::string_view::npos && e + 1 < n.size() && n[e + 1] == '-';
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
  std::string_view undecoded_member_;
  std::string_view undecoded_text_;
  bool undecoding_ = false;  // within the undecoded member's value
};

}  // namespace

Result<JsonValue> parse_json(std::string_view text) { return Parser(text).document(); }

Result<JsonValue> parse_json(std::string_view text, std::string_view undecoded_member,
                             std::string_view& member_text) {
  Parser parser(text, undecoded_member);
  auto doc = parser.document();
  member_text = doc ? parser.undecoded_text() : std::string_view{};
  return doc;
}

}  // namespace ragd
