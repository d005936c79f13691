// The one way the project includes Boost.Asio and Boost.Beast.
// Why: Debian's Boost 1.74 uses std::exchange in asio/awaitable.hpp without including <utility>,
// which C++20 libstdc++ no longer pulls in transitively, so <utility> must come first.
#ifndef EGMLA_SERVER_HTTP_ASIO_H_
#define EGMLA_SERVER_HTTP_ASIO_H_

// clang-format off
#include <utility>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

#endif  // EGMLA_SERVER_HTTP_ASIO_H_
