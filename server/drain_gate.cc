#include "server/drain_gate.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/server_context.h"

namespace egmla {
namespace {

constexpr std::string_view kFdPeerPrefix = "fd:";

// The inode of the socket `fd` names, or 0 when it names none.
ino_t SocketInode(int fd) {
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode)) return 0;
  return info.st_ino;
}

// The fd of a connection handed over by fd (peer "fd:N"); nullopt for gRPC's own listener's.
std::optional<int> FdOfPeer(std::string_view peer) {
  if (!peer.starts_with(kFdPeerPrefix)) return std::nullopt;
  const std::string_view number = peer.substr(kFdPeerPrefix.size());
  int fd = -1;
  if (std::from_chars(number.data(), number.data() + number.size(), fd).ec != std::errc()) {
    return std::nullopt;
  }
  return fd;
}

class CallReporter : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallReporter(DrainGate* gate) : gate_(gate) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const grpc::ServerContextBase* context = info->server_context();
    gate_->CallArrived(context, context->peer());
    return nullptr;
  }

 private:
  DrainGate* const gate_;
};

}  // namespace

std::string DrainGate::FdPeer(int fd) { return absl::StrCat(std::string(kFdPeerPrefix), fd); }

void DrainGate::ConnectionAccepted(int fd) {
  const ino_t inode = SocketInode(fd);
  std::lock_guard<std::mutex> lock(mu_);
  connections_[fd] = {.inode = inode};
  if (connections_.size() >= prune_at_) {
    DropClosedConnectionsLocked();
    prune_at_ = std::max<size_t>(64, 2 * connections_.size());
  }
}

void DrainGate::CallArrived(const void* call, std::string_view peer) {
  const std::optional<int> fd = FdOfPeer(peer);
  if (!fd) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(*fd);
  if (it == connections_.end()) return;
  it->second.first_call = it->second.called ? nullptr : call;
  it->second.called = true;
  call_arrived_.notify_all();
}

void DrainGate::DropClosedConnectionsLocked() {
  std::erase_if(connections_,
                [](const auto& entry) { return SocketInode(entry.first) != entry.second.inode; });
}

int DrainGate::WaitForFirstCalls(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  auto silent = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::count_if(connections_.begin(), connections_.end(),
                         [](const auto& entry) { return !entry.second.called; });
  };
  while (true) {
    DropClosedConnectionsLocked();
    if (silent() == 0 || absl::Now() >= deadline) break;
    // A connection that closes sends no notification: look again every few milliseconds.
    call_arrived_.wait_for(lock, std::chrono::milliseconds(5));
  }
  return static_cast<int>(silent());
}

bool DrainGate::Refuses(const void* call, std::string_view peer) {
  const std::optional<int> fd = FdOfPeer(peer);
  std::lock_guard<std::mutex> lock(mu_);
  bool first_call = false;
  if (fd) {
    auto it = connections_.find(*fd);
    if (it != connections_.end() && it->second.first_call == call) {
      first_call = true;
      it->second.first_call = nullptr;
    }
  }
  return draining_ && !first_call;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
DrainGate::MakeInterceptorFactory() {
  return std::make_unique<CallReporter>(this);
}

}  // namespace egmla
