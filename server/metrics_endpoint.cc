#include "server/metrics_endpoint.h"

namespace egmla {

HttpHandler MetricsHttpHandler(Metrics* metrics) {
  return [metrics](const HttpRequest& request) {
    if (request.path() != "/metrics") {
      return HttpResponse{.status = 404, .body = "not found: the metrics are at /metrics\n"};
    }
    if (request.method != "GET" && request.method != "HEAD") {
      return HttpResponse{.status = 405,
                          .headers = {{"Allow", "GET, HEAD"}},
                          .body = "method not allowed: use GET /metrics\n"};
    }
    return HttpResponse{.content_type = kPrometheusTextContentType, .body = metrics->Render()};
  };
}

}  // namespace egmla
