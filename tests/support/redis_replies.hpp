// Redis replies built by hand, for the tests of code that parses them.
#pragma once

#include "ragd/redis/client.hpp"

#include <string>
#include <utility>
#include <vector>

namespace ragd::test {

inline redis::Reply reply_string(std::string s) {
  redis::Reply r;
  r.kind = redis::Reply::Kind::string;
  r.str = std::move(s);
  return r;
}

inline redis::Reply reply_integer(long long n) {
  redis::Reply r;
  r.kind = redis::Reply::Kind::integer;
  r.integer = n;
  return r;
}

inline redis::Reply reply_error(std::string s) {
  redis::Reply r;
  r.kind = redis::Reply::Kind::error;
  r.str = std::move(s);
  return r;
}

inline redis::Reply reply_array(std::vector<redis::Reply> elements) {
  redis::Reply r;
  r.kind = redis::Reply::Kind::array;
  r.elements = std::move(elements);
  return r;
}

}  // namespace ragd::test
