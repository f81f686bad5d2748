// The answer cache's L2 value on arbitrary bytes, as read back from Redis: TieredCache's wire
// format (a versioned header and the value), then the value as the answer cache wrote it
// (AnswerCache::decode_value: the answer's text beside its rendered fields). A decoded entry
// encodes to bytes that decode to the same entry, and decoded parts to a value that decodes
// to the same parts.
#include "ragd/cache/tiered_cache.hpp"
#include "ragd/orchestrator/answer_cache.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace {

void check_answer_value(std::string_view value) {
  using ragd::orchestrator::AnswerCache;
  auto parts = AnswerCache::decode_value(value);
  if (!parts) return;
  // Views into `value`.
  if (parts->first.data() < value.data() || parts->second.data() + parts->second.size() > value.data() + value.size())
    __builtin_trap();
  const std::string again = AnswerCache::encode_value(parts->first, parts->second);
  auto back = AnswerCache::decode_value(again);
  if (!back || back->first != parts->first || back->second != parts->second) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ragd::cache::TieredCache;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  check_answer_value(bytes);
  auto e = TieredCache::decode(bytes);
  if (!e) return 0;
  auto again = TieredCache::decode(TieredCache::encode(*e));
  if (!again || again->value != e->value || again->created_unix_ms != e->created_unix_ms ||
      again->fresh_until_ms != e->fresh_until_ms || again->stale_until_ms != e->stale_until_ms)
    __builtin_trap();
  check_answer_value(e->value);
  return 0;
}
