// How the server reads a host name: --host, or the host part of a bind address.
#ifndef EGMLA_SERVER_HOST_NAME_H_
#define EGMLA_SERVER_HOST_NAME_H_

#include <string>
#include <string_view>

namespace egmla {

// "[::1]" and "::1" both name the IPv6 address: the brackets are dropped.
inline std::string Unbracketed(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

// Whether an unbracketed host means every address of this host.
inline bool IsWildcardHost(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::";
}

}  // namespace egmla

#endif  // EGMLA_SERVER_HOST_NAME_H_
