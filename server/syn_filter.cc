#include "server/syn_filter.h"

#include <linux/filter.h>
#include <sys/socket.h>

#include <cstdint>

namespace egmla {
namespace {

// Classic BPF on a TCP socket sees the segment from its TCP header on (the IP header is already
// pulled off), for IPv4 and IPv6 alike; byte 13 holds the flags.
constexpr uint32_t kTcpFlagsOffset = 13;
constexpr uint32_t kSyn = 0x02;
constexpr uint32_t kAck = 0x10;

}  // namespace

bool IgnoreNewConnections(int fd) {
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kTcpFlagsOffset),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, kSyn | kAck),
      // SYN without ACK: drop (keep 0 bytes); anything else: keep the whole segment.
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kSyn, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
  };
  const sock_fprog filter{.len = sizeof(program) / sizeof(program[0]), .filter = program};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof(filter)) == 0;
}

}  // namespace egmla
