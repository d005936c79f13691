// One Generate call (DESIGN §5): a server-streaming reactor fed by the engine through an
// OutputSink. The stream is Chunk messages (one per engine step with tokens), then exactly one
// Complete, then OK. A cancelled call or a passed deadline aborts the request in the engine, which
// frees its blocks at the next step.
//
// Threading: Push (engine thread) and the gRPC reactions (gRPC threads) meet under mu_; at most
// one write is in flight; StartWrite and Finish are called without holding mu_. What gRPC orders
// itself (Start before every reaction, StartWrite before its OnWriteDone, Finish and every other
// reaction before OnDone) is stated with EGMLA_HAPPENS_BEFORE/AFTER for ThreadSanitizer, which
// cannot see inside Debian's uninstrumented libgrpc (server/tsan_annotations.h).
#ifndef EGMLA_SERVER_GENERATE_REACTOR_H_
#define EGMLA_SERVER_GENERATE_REACTOR_H_

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "egmla/v1/generation.pb.h"
#include "engine/request_output.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "server/service_context.h"

namespace egmla {

class GenerateReactor : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // Parses (server/request_parsing.h), validates, registers and submits the request, or
  // finishes the call with the refusal. Deletes itself when the call is done.
  static GenerateReactor* Start(ServiceContext* service, grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer& raw_request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  class Sink;
  GenerateReactor(ServiceContext* service, std::string request_id);
  // Start's work: the reactor to return, refused or submitted.
  static GenerateReactor* Create(ServiceContext* service, grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer& raw_request);

  // Engine thread: turns an output into messages and queues them.
  void Deliver(const RequestOutput& output);
  // Queues a message; `last` finishes the call with OK once it is written.
  void Enqueue(v1::GenerateResponse message, bool last);
  // Ends the call with `status` after the queued messages (at once when an error).
  void FinishWith(const grpc::Status& status);
  // Starts the next write or the finish, if one is due. Call without mu_ held.
  void Pump();
  void Unregister();

  ServiceContext* const service_;
  const std::string request_id_;
  // Whether request_id_ is ours in the service's registry; released once, when the call ends.
  std::atomic<bool> registered_{false};
  RequestId engine_id_ = 0;
  bool submitted_ = false;
  std::shared_ptr<Sink> sink_;

  std::mutex mu_;
  std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);  // serialized GenerateResponses
  grpc::ByteBuffer in_flight_;  // the message being written; owned by the writer
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);  // to send after the queue drains
  bool finished_ ABSL_GUARDED_BY(mu_) = false;               // Finish called
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;

  // Addresses of the gRPC orderings stated to ThreadSanitizer (server/tsan_annotations.h): the
  // reactor returned by Start, a StartWrite, the Finish, and a reaction that ended.
  struct {
    char started, write, finish, reacted;
  } grpc_order_;
};

}  // namespace egmla

#endif  // EGMLA_SERVER_GENERATE_REACTOR_H_
