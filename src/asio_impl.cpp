// The one translation unit that holds Boost.Asio's and Boost.Beast's compiled bodies
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION are set for all of
// ragd_core's users), so every other file only parses their declarations.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
