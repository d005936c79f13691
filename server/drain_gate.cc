#include "server/drain_gate.h"

#include <sys/stat.h>

#include <charconv>

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
  awaiting_first_call_[fd] = inode;
}

void DrainGate::CallArrived(const void* call, std::string_view peer) {
  int fd = -1;
  if (!peer.starts_with(kFdPeerPrefix)) return;  // a connection of gRPC's own listener (TLS)
  const std::string_view number = peer.substr(kFdPeerPrefix.size());
  if (std::from_chars(number.data(), number.data() + number.size(), fd).ec != std::errc()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (awaiting_first_call_.erase(fd) == 0) return;
  if (draining_) admitted_.insert(call);
  first_call_.notify_all();
}

void DrainGate::BeginDrain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
}

void DrainGate::DropClosedConnectionsLocked() {
  std::erase_if(awaiting_first_call_,
                [](const auto& entry) { return SocketInode(entry.first) != entry.second; });
}

int DrainGate::WaitForFirstCalls(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    DropClosedConnectionsLocked();
    if (awaiting_first_call_.empty() || absl::Now() >= deadline) break;
    // A connection that closes sends no notification: look again every few milliseconds.
    first_call_.wait_for(lock, std::chrono::milliseconds(5));
  }
  return static_cast<int>(awaiting_first_call_.size());
}

void DrainGate::RefuseNewCalls() {
  std::lock_guard<std::mutex> lock(mu_);
  refusing_ = true;
}

bool DrainGate::Refuses(const void* call) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!refusing_) return false;
  return admitted_.erase(call) == 0;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
DrainGate::MakeInterceptorFactory() {
  return std::make_unique<CallReporter>(this);
}

}  // namespace egmla
