// What the command-line benchmarks share: this process's CPU time (the stable figure on a
// shared machine), and running one coroutine to completion on a context whose clients keep
// idle work (Redis connections) that io_context::run() would wait for. Header-only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <sys/resource.h>

#include <chrono>
#include <future>

namespace bench {

// User plus system CPU seconds of this process so far.
inline double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Runs `op` to completion on `io` without waiting for the client's idle work.
template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
  auto fut = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
  io.restart();
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io.run_one();
  return fut.get();
}

}  // namespace bench
