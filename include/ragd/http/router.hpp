// Routes (method, path pattern) to coroutine handlers. Patterns are literal segments and
// `{name}` placeholders (one segment each); a placeholder's value is percent-decoded, and a
// malformed escape or a control character in it gives 400. A path that exists under
// another method gives 405 with an Allow header; no match gives 404. The route's pattern, not the raw path, is
// what metrics and logs name, so label cardinality stays bounded.
// Thread-safety: add() at start-up only; match() is const and safe from any thread.
#pragma once

#include "ragd/core/error.hpp"
#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace ragd::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request)>;

// Whether a route still runs its handler while the server drains (Server::drain): the
// probes and /metrics do; every other request then gets 503 "shutting down".
enum class WhileDraining { refused, served };

// One path segment with its %XX escapes decoded; a malformed escape, or a control
// character (decoded or not), is a bad_request naming the fault.
Result<std::string> percent_decode_segment(std::string_view segment);

class Router {
 public:
  // `backstop`: when positive, the server answers 504 and cancels the handler if it has
  // not answered within it (a guard behind the handler's own deadlines).
  void add(std::string method, std::string pattern, Handler handler,
           std::chrono::milliseconds backstop = std::chrono::milliseconds::zero(),
           WhileDraining while_draining = WhileDraining::refused);

  struct Match {
    const Handler* handler = nullptr;  // null when not matched
    std::chrono::milliseconds backstop{0};
    WhileDraining while_draining = WhileDraining::refused;
    std::string route;                 // the pattern, or "unmatched"
    std::vector<std::string> params;
    int status = 200;                  // 400, 404 or 405 when handler is null
    std::string allow;                 // for 405
    std::string error;                 // for 400: what is wrong with the path
  };
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    std::chrono::milliseconds backstop{0};
    WhileDraining while_draining = WhileDraining::refused;
  };
  std::vector<Route> routes_;
};

}  // namespace ragd::http
