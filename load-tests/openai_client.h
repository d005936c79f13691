// egmla-loadgen's client of the OpenAI-compatible HTTP API (--api openai): every request is a
// streamed POST /v1/completions on its own HTTP/1.1 connection (an idle kept-alive one is
// reused when there is one), driven by Boost.Asio on one I/O thread, so 1,000 concurrent
// streams take 1,000 sockets and no thread more.
#ifndef EGMLA_LOAD_TESTS_OPENAI_CLIENT_H_
#define EGMLA_LOAD_TESTS_OPENAI_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "load-tests/call.h"

namespace egmla::loadgen::openai {

struct ClientOptions {
  std::string target;   // HOST:PORT of the server's --http-port (see ParseTarget)
  std::string api_key;  // sent as "Authorization: Bearer KEY"; empty = none
  std::string model;    // the "model" of every request; see OpenAiClient::set_model
  std::optional<double> request_timeout_s;  // per request, from its start; none = no limit
  bool keep_alive = true;  // reuse a finished request's connection for the next one
};

// A response read whole (GET /v1/models).
struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Failures of a call, as RequestRecord::status:
//   HTTP_<status>      the server answered with another status than 200 (message: the error
//                      body's error.message);
//   STREAM_ERROR       an {"error": ...} event or a malformed chunk in the event stream;
//   UNAVAILABLE        connecting, sending or receiving failed (also a stream cut short);
//   DEADLINE_EXCEEDED  ClientOptions::request_timeout_s passed;
//   CANCELLED          Cancel() (Ctrl-C);
//   status OK without completion_tokens (NO_COMPLETE): the stream ended without its usage chunk.
class Client : public CallFactory {
 public:
  // Resolves the target and starts the I/O thread. INVALID_ARGUMENT for a malformed target;
  // UNAVAILABLE when its host does not resolve.
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);
  // Stops the I/O thread. REQUIRES: every call has finished (OnCallDone returned).
  ~Client() override = default;

  // The "model" of the requests made from now on.
  virtual void set_model(std::string model) = 0;
  // GET `path`, read whole, within `timeout_s` (on the caller's thread). UNAVAILABLE naming the
  // path and the step when the exchange fails or times out.
  virtual absl::StatusOr<HttpReply> Get(const std::string& path, double timeout_s) = 0;

  // Connections opened so far, and requests sent on a reused one. Thread-safe.
  virtual int64_t connections_opened() const = 0;
  virtual int64_t connections_reused() const = 0;
};

}  // namespace egmla::loadgen::openai

#endif  // EGMLA_LOAD_TESTS_OPENAI_CLIENT_H_
