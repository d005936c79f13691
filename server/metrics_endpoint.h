// The metrics port's routes: GET and HEAD of /metrics (any query) serve the exposition of
// `metrics`; another method on /metrics is 405 with `Allow: GET, HEAD`; any other path is 404.
// Nothing else: probes and browsers that wander onto the port get a plain answer.
#ifndef EGMLA_SERVER_METRICS_ENDPOINT_H_
#define EGMLA_SERVER_METRICS_ENDPOINT_H_

#include "server/http/http_server.h"
#include "server/metrics.h"

namespace egmla {

// The Prometheus text format's content type.
inline constexpr char kPrometheusTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// REQUIRES: `metrics` outlives every call of the handler (stop the HttpServer first).
HttpHandler MetricsHttpHandler(Metrics* metrics);

}  // namespace egmla

#endif  // EGMLA_SERVER_METRICS_ENDPOINT_H_
