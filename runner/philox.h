// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// counter-based generator of cuRAND and PyTorch: keyed by a request's seed with the output index
// as counter, so CPU and GPU draw the same uniforms (DESIGN §4).
#ifndef EGMLA_RUNNER_PHILOX_H_
#define EGMLA_RUNNER_PHILOX_H_

#include <array>
#include <cstdint>

namespace egmla {

// One Philox4x32-10 block for `counter` (low word first) under `key`.
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// A uniform float in [0, 1) for draw number `index` of the stream keyed by `seed`.
float PhiloxUniform(uint64_t seed, uint64_t index);

}  // namespace egmla

#endif  // EGMLA_RUNNER_PHILOX_H_
