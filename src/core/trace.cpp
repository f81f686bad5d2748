#include "ragd/core/trace.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

namespace ragd {

namespace {

constexpr std::size_t kTraceIdLen = 32;
constexpr std::size_t kSpanIdLen = 16;
// "00-" + trace id + "-" + span id + "-" + flags
constexpr std::size_t kVersion0Len = 3 + kTraceIdLen + 1 + kSpanIdLen + 1 + 2;

bool lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

bool all_zero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

int hex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// Every request that arrives without a traceparent gets a new trace (two ids) on the I/O
// thread, so the digits are written in place from one generator per thread rather than cut
// from random_id() strings (an allocation and a copy more per id).
std::string random_hex(std::size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  thread_local std::mt19937_64 gen{std::random_device{}() ^
                                   (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  std::string out(digits, '0');
  for (std::size_t i = 0; i < digits; i += 16) {
    std::uint64_t word = gen();
    for (std::size_t j = i; j < std::min(digits, i + 16); ++j, word >>= 4) out[j] = kDigits[word & 0xf];
  }
  if (all_zero(out)) out.back() = '1';  // the spec forbids all-zero ids
  return out;
}

}  // namespace

std::string TraceContext::traceparent() const {
  if (empty()) return {};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(kVersion0Len);
  out += "00-";
  out += trace_id;
  out += '-';
  out += span_id;
  out += '-';
  out += kDigits[flags >> 4];
  out += kDigits[flags & 0xf];
  return out;
}

std::optional<TraceContext> parse_traceparent(std::string_view value) {
  if (value.size() < kVersion0Len) return std::nullopt;
  const std::string_view version = value.substr(0, 2);
  if (!lower_hex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? value.size() != kVersion0Len : value.size() > kVersion0Len && value[kVersion0Len] != '-') {
    return std::nullopt;
  }
  if (value[2] != '-' || value[3 + kTraceIdLen] != '-' || value[4 + kTraceIdLen + kSpanIdLen] != '-') {
    return std::nullopt;
  }
  const std::string_view trace_id = value.substr(3, kTraceIdLen);
  const std::string_view span_id = value.substr(4 + kTraceIdLen, kSpanIdLen);
  const std::string_view flags = value.substr(5 + kTraceIdLen + kSpanIdLen, 2);
  if (!lower_hex(trace_id) || !lower_hex(span_id) || !lower_hex(flags)) return std::nullopt;
  if (all_zero(trace_id) || all_zero(span_id)) return std::nullopt;
  TraceContext out;
  out.trace_id.assign(trace_id);
  out.span_id.assign(span_id);
  out.flags = static_cast<std::uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]));
  return out;
}

TraceContext new_trace() {
  TraceContext out;
  out.trace_id = random_hex(kTraceIdLen);
  out.span_id = random_hex(kSpanIdLen);
  return out;
}

TraceContext child_span(const TraceContext& parent) {
  TraceContext out;
  out.trace_id = parent.trace_id;
  out.span_id = random_hex(kSpanIdLen);
  // Only the sampled bit is defined for version 00; a child of a later version's context
  // is written as version 00 and keeps only what that version defines.
  out.flags = parent.flags & 0x01;
  return out;
}

TraceContext continue_trace(std::string_view incoming) {
  if (auto parent = parse_traceparent(incoming)) return child_span(*parent);
  return new_trace();
}

}  // namespace ragd
