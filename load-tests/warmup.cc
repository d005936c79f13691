#include "load-tests/warmup.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

namespace egmla::loadgen {
namespace {

// Keeps the one record of one call.
class WaitingListener final : public CallListener {
 public:
  void OnTokens(int64_t) override {}
  void OnCallDone(RequestRecord record) override {
    record_ = std::move(record);
    done_.Notify();
  }
  const RequestRecord& Wait() {
    done_.WaitForNotification();
    return record_;
  }

 private:
  absl::Notification done_;
  RequestRecord record_;
};

}  // namespace

absl::Status Warmup(CallFactory* calls, RequestGenerator* requests, const RequestParams& params,
                    int64_t num_requests) {
  for (int64_t i = 0; i < num_requests; ++i) {
    RequestSpec spec = requests->Next();
    spec.max_tokens = std::min(spec.max_tokens, kWarmupMaxTokens);
    WaitingListener listener;
    std::unique_ptr<Call> call = calls->NewCall(spec, params, Clock::now(), &listener);
    call->Start();
    const RequestRecord& record = listener.Wait();
    if (record.succeeded()) continue;
    const std::string id = record.request_id;
    if (record.status != "OK") {
      return absl::UnavailableError(absl::StrCat("warm-up request ", id, " failed: ", record.status,
                                                 ": ", record.error_message));
    }
    if (!record.completion_tokens.has_value()) {
      return absl::InternalError(absl::StrCat("warm-up request ", id, ": ",
                                              record.error_message.empty()
                                                  ? "the stream ended without a Complete message"
                                                  : record.error_message));
    }
    return absl::InternalError(absl::StrCat("warm-up request ", id, " was aborted by the server"));
  }
  return absl::OkStatus();
}

}  // namespace egmla::loadgen
