# Prometheus exporter (DESIGN §7) and the HTTP server it is served by. Included from
# server/CMakeLists.txt.
find_package(Boost 1.74 REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)  # HTTPS (--tls-cert) on the OpenAI-compatible API

# GCC 12 with -fsanitize=address,undefined warns "may be used uninitialized" inside Boost.Beast
# 1.74's basic_parser (a boost::optional it reads only when set): a false positive in a library
# header that -Werror would make fatal. Also load-tests/openai_client.cc.
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/http/http_server.cc
                            PROPERTIES COMPILE_OPTIONS -Wno-maybe-uninitialized)
egmla_library(egmla_http
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/http/http_server.cc
  DEPS Boost::headers OpenSSL::SSL OpenSSL::Crypto Threads::Threads absl::status absl::statusor absl::strings absl::time)

egmla_library(egmla_metrics
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/metrics.cc ${CMAKE_CURRENT_SOURCE_DIR}/metrics_endpoint.cc
  DEPS egmla_engine egmla_http prometheus-cpp::core absl::status absl::statusor absl::strings)

egmla_test(metrics_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/metrics_test.cc
           ${CMAKE_CURRENT_SOURCE_DIR}/metrics_endpoint_test.cc
           ${CMAKE_CURRENT_SOURCE_DIR}/http/http_server_test.cc
           ${CMAKE_CURRENT_SOURCE_DIR}/http/http_streaming_test.cc DEPS egmla_metrics)
