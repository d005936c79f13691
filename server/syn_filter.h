// A socket filter that makes a listening TCP socket ignore new connection attempts while it
// finishes the ones under way: how the server's listener stops without resetting anybody
// (server/listener.h, DESIGN §5).
#ifndef EGMLA_SERVER_SYN_FILTER_H_
#define EGMLA_SERVER_SYN_FILTER_H_

namespace egmla {

// From now on the kernel drops, unanswered, every segment reaching TCP socket `fd` that opens a
// connection (SYN without ACK); everything else passes. On a listener: a new client's connect
// is not reset but resends its SYN ~1 s later (by when the socket should be closed, so that the
// connect is refused and a load balancer tries another replica), while a handshake already
// answered still completes (and is accepted if that happens before the close).
//
// Why only SYNs: a socket the listener creates for a completing handshake inherits the filter
// (the kernel copies it with the socket). A drop-everything filter there silently ate the
// request a load balancer had sent on it, and the call hung until its deadline.
//
// Returns false (errno set) when the kernel refuses the filter; the caller goes on without it.
bool IgnoreNewConnections(int fd);

}  // namespace egmla

#endif  // EGMLA_SERVER_SYN_FILTER_H_
