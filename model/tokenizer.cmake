# Tokenizers (tokenizer.json byte-level BPE on PCRE2, SentencePiece through libsentencepiece),
# the streaming detokenizer and the stop-sequence matcher. Included from model/CMakeLists.txt.
find_package(PkgConfig REQUIRED)
# GLOBAL: targets in other folders link egmla_tokenizer, whose interface names these.
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET GLOBAL libpcre2-8)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET GLOBAL sentencepiece)

egmla_library(egmla_tokenizer
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer_utf8.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/bpe_regex.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/bpe_pretokenizer.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/bpe_added_tokens.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/bpe_model.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/bpe_tokenizer.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/sentencepiece_backend.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/sentencepiece_tokenizer.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/detokenizer.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/stop_sequences.cc
  DEPS egmla_common nlohmann_json::nlohmann_json absl::status absl::statusor absl::strings
       absl::span absl::flat_hash_map absl::synchronization PkgConfig::PCRE2 ${CMAKE_DL_LIBS})

# libsentencepiece carries its own protobuf-lite: it is kept out of every binary and loaded with
# dlopen(RTLD_LOCAL | RTLD_DEEPBIND) from this shared object (see sentencepiece_backend.h).
add_library(egmla_sentencepiece SHARED ${CMAKE_CURRENT_SOURCE_DIR}/sentencepiece_backend_impl.cc)
target_include_directories(egmla_sentencepiece PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(egmla_sentencepiece PRIVATE PkgConfig::SENTENCEPIECE)
target_compile_options(egmla_sentencepiece PRIVATE ${EGMLA_WARNINGS})
set_target_properties(egmla_sentencepiece PROPERTIES CXX_VISIBILITY_PRESET hidden
                      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
add_dependencies(egmla_tokenizer egmla_sentencepiece)
target_compile_definitions(egmla_tokenizer PRIVATE
                           EGMLA_SENTENCEPIECE_BACKEND_DIR="${CMAKE_BINARY_DIR}/lib")

egmla_test(tokenizer_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer_utf8_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/bpe_pretokenizer_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/bpe_tokenizer_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/gpt2_tokenizer_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/sentencepiece_tokenizer_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/detokenizer_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/stop_sequences_test.cc
  DEPS egmla_tokenizer)
target_compile_definitions(tokenizer_test PRIVATE
  EGMLA_TOKENIZER_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data/tokenizers"
  EGMLA_MODELS_DIR="${PROJECT_SOURCE_DIR}/models")
