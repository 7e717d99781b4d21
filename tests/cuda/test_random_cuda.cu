// Random numbers on a CUDA device: Philox-4x32-10 known answers computed in a kernel, and
// uniform/normal fills of thrust::device_vector bit-identical to the same fills on the host.
#include <thrust/copy.h>
#include <thrust/device_vector.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/core.hpp"
#include "continua/core/random.hpp"
#include "cuda_check.hpp"

namespace {

// Random123 tests/kat_vectors, the three "philox4x32 10" lines (CTR[4] KEY[2] EXPECTED[4]).
struct kat {
  continua::uint32x4 ctr;
  std::uint32_t k0, k1;
  continua::uint32x4 expect;
};

struct philox_kernel {
  const kat* cases;
  std::uint32_t* out;
  CONTINUA_HD void operator()(std::size_t i) const {
    const std::uint64_t key = (std::uint64_t{cases[i].k1} << 32) | cases[i].k0;
    const continua::uint32x4 r = continua::philox4x32(cases[i].ctr, key);
    for (int j = 0; j < 4; ++j) out[4 * i + j] = r.w[j];
  }
};

void check_known_answers() {
  const std::vector<kat> cases = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       0xffffffff,
       0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       0xa4093822,
       0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  thrust::device_vector<kat> d_cases(cases.begin(), cases.end());
  thrust::device_vector<std::uint32_t> d_out(4 * cases.size());
  continua::for_each_index(continua::device_space{}, cases.size(),
                           philox_kernel{thrust::raw_pointer_cast(d_cases.data()),
                                         thrust::raw_pointer_cast(d_out.data())});
  std::vector<std::uint32_t> out(d_out.size());
  thrust::copy(d_out.begin(), d_out.end(), out.begin());
  for (std::size_t i = 0; i < cases.size(); ++i)
    for (int j = 0; j < 4; ++j) CONTINUA_CHECK(out[4 * i + j] == cases[i].expect.w[j]);
}

template <class T>
bool bit_equal(const std::vector<T>& host, const thrust::device_vector<T>& dev) {
  std::vector<T> back(dev.size());
  thrust::copy(dev.begin(), dev.end(), back.begin());
  return host.size() == back.size() &&
         std::memcmp(host.data(), back.data(), host.size() * sizeof(T)) == 0;
}

// Fills covering partial blocks at both ends (odd offset and size), with scaling, and the
// two-halves composition done on the device against one host fill.
template <class T>
void check_fills() {
  const continua::philox_key key{0x0123456789abcdefULL, 42};
  const std::size_t n = 1000003;
  const std::uint64_t offset = 7;
  std::vector<T> host(n);
  thrust::device_vector<T> dev(n);

  continua::fill_uniform(host, key, offset);
  continua::fill_uniform(dev, key, offset);
  CONTINUA_CHECK(bit_equal(host, dev));

  continua::fill_uniform(host, key, offset, -3.0, 5.0);
  continua::fill_uniform(dev, key, offset, -3.0, 5.0);
  CONTINUA_CHECK(bit_equal(host, dev));

  continua::fill_normal(host, key, offset);
  continua::fill_normal(dev, key, offset);
  CONTINUA_CHECK(bit_equal(host, dev));

  continua::fill_normal(host, key, offset, 0.5, 2.5);
  const std::size_t half = n / 2 + 1;
  T* d = thrust::raw_pointer_cast(dev.data());
  continua::fill_normal(continua::span<T, continua::device_space>(d, half), key, offset, 0.5, 2.5);
  continua::fill_normal(continua::span<T, continua::device_space>(d + half, n - half), key,
                        offset + half, 0.5, 2.5);
  CONTINUA_CHECK(bit_equal(host, dev));
}

}  // namespace

int main() {
  continua_cuda_test::skip_without_device();
  check_known_answers();
  check_fills<float>();
  check_fills<double>();
  return continua_cuda_test::exit_code("test_random_cuda");
}
