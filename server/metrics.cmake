# Prometheus exporter (DESIGN §7). Included from server/CMakeLists.txt.
egmla_library(egmla_metrics
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/metrics.cc ${CMAKE_CURRENT_SOURCE_DIR}/exposer_stop.cc
  DEPS egmla_engine prometheus-cpp::core prometheus-cpp::pull absl::status absl::statusor
       absl::strings)

egmla_test(metrics_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/metrics_test.cc
           ${CMAKE_CURRENT_SOURCE_DIR}/exposer_stop_test.cc DEPS egmla_metrics)
