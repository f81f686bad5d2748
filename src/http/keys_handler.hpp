// /v1/admin/keys: create (POST: the key is in the response, once), list (GET, `?tenant=T`
// for one tenant's) and revoke (DELETE /v1/admin/keys/{id}) the API keys kept in Redis
// (auth::KeyStore). Routes behind the `admin` scope; every change writes one audit line
// naming the key changed and the admin key that changed it.
// Thread-safety: the handlers run concurrently on any thread.
#pragma once

#include "ragd/http/auth.hpp"
#include "ragd/http/message.hpp"

#include <boost/asio/awaitable.hpp>

namespace ragd::auth {
class KeyStore;
}

namespace ragd::http {

class KeysHandler {
 public:
  explicit KeysHandler(auth::KeyStore& store) : store_(store) {}

  boost::asio::awaitable<Response> create(Request req, Principal caller);
  boost::asio::awaitable<Response> list(Request req, Principal caller);
  boost::asio::awaitable<Response> revoke(Request req, Principal caller);

 private:
  auth::KeyStore& store_;
};

}  // namespace ragd::http
