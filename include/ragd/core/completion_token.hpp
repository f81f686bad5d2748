// kNoThrow: the one completion token for awaiting an Asio operation without exceptions.
// The operation's error code comes back as the first element of a tuple, so an expected
// outcome (a timer cancelled, a channel closed, a peer gone) is a value to test, not an
// exception to catch (see STYLE.md, "Errors").
//
// Thread-safety: a constant.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ragd {

inline constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace ragd
