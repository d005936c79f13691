// Identifiers shared across layers.
#ifndef EGMLA_COMMON_IDS_H_
#define EGMLA_COMMON_IDS_H_

#include <cstdint>

namespace egmla {

// The engine's own id of a request, unique for the life of the process (the client's
// request_id string stays in the server and engine layers).
using RequestId = uint64_t;
// Index of a KV-cache block in [0, num_blocks).
using BlockId = int32_t;

}  // namespace egmla

#endif  // EGMLA_COMMON_IDS_H_
