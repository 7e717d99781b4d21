// Optimizer checkpoints: a run saved at step 50 and resumed in a fresh state ends bit-identical
// (memcmp) to the uninterrupted run, for single tensors, mixed tuples, ranges, nested chains and
// optimizers, on host and device memory; and every bad checkpoint is refused with the state
// proven untouched.
#include <unistd.h>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "../common/files.hpp"
#include "continua/io/checkpoint.hpp"
#include "continua/optim.hpp"
#include "continua/optim/serialize.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/copy.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace o = continua::optim;
namespace io = continua::io;
namespace fs = std::filesystem;

namespace {

using continua_test::has;
using continua_test::io_error_of;
using continua_test::read_file;
using continua_test::temp_dir;
using continua_test::write_file;

// Host copies of a tensor's elements, and the reverse, for std::vector and device vectors.
template <class C>
std::vector<continua::value_t<C>> host_of(const C& c) {
#if CONTINUA_TEST_THRUST
  if constexpr (std::is_same_v<continua::memory_space_t<C>, continua::device_space>) {
    std::vector<continua::value_t<C>> out(c.size());
    thrust::copy(c.begin(), c.end(), out.begin());
    return out;
  }
#endif
  const auto* p = continua::data(c);
  return {p, p + continua::size(c)};
}
template <class C>
void set_from(C& c, const std::vector<continua::value_t<C>>& v) {
#if CONTINUA_TEST_THRUST
  if constexpr (std::is_same_v<continua::memory_space_t<C>, continua::device_space>) {
    thrust::copy(v.begin(), v.end(), c.begin());
    return;
  }
#endif
  std::copy(v.begin(), v.end(), continua::data(c));
}
template <class C>
C make_tensor(std::size_t n, std::uint64_t seed) {
  C c(n);
  std::vector<continua::value_t<C>> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<continua::value_t<C>>(static_cast<double>(s >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  }
  set_from(c, v);
  return c;
}

// The raw bytes of every element of a parameter set, in order: what "bit-identical" compares.
template <class P>
std::vector<unsigned char> raw_bytes(const P& params) {
  std::vector<unsigned char> out;
  continua::for_each_tensor(params, [&](auto, const auto& t) {
    const auto v = host_of(t);
    const auto* b = reinterpret_cast<const unsigned char*>(v.data());
    out.insert(out.end(), b, b + v.size() * sizeof(v[0]));
  });
  return out;
}

// Gradients of a noisy quadratic around a moving target: they depend on the parameters and the
// step, so any difference in optimizer state shows up in later parameters.
template <class P>
P grads_for(const P& params, int step) {
  P g = params;
  continua::for_each_tensor(g, [&](auto index, auto& t) {
    using T = continua::value_t<decltype(t)>;
    auto v = host_of(t);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double target = 0.3 * static_cast<double>((i * 7 + std::size_t(index)) % 11) - 1.5;
      const std::uint64_t h = (std::uint64_t(step) * 1000003u + i * 92821u + std::size_t(index)) *
                              0x9E3779B97F4A7C15ULL;
      const double noise = static_cast<double>(h >> 40) / static_cast<double>(1u << 24) - 0.5;
      v[i] = static_cast<T>(2.0 * (static_cast<double>(v[i]) - target) + noise);
    }
    set_from(t, v);
  });
  return g;
}

template <class Chain, class P, class S>
void run(const Chain& opt, P& params, S& state, int from, int to) {
  for (int step = from; step < to; ++step) {
    P g = grads_for(params, step);
    BOOST_TEST_REQUIRE(opt.step(params, g, state));
  }
}

// Run 100 steps straight; separately run 50, save, and resume the last 50 in a fresh state
// loaded from the checkpoint. The two must agree to the last bit; resuming without the
// checkpoint (a fresh state) must not, or the test would prove nothing.
template <class Chain, class P>
void check_bit_identical_resume(const Chain& opt, const P& initial) {
  temp_dir d;
  const auto path = d.path / "opt.ckpt";
  P p = initial;
  auto s = opt.init(p);
  run(opt, p, s, 0, 50);
  io::save(path, opt, s);
  const P p50 = p;
  run(opt, p, s, 50, 100);
  const auto uninterrupted = raw_bytes(p);

  const Chain fresh_chain = opt;
  P q = p50;
  auto resumed = fresh_chain.init(q);
  io::load(path, fresh_chain, resumed);
  run(fresh_chain, q, resumed, 50, 100);
  const auto after_resume = raw_bytes(q);
  BOOST_TEST_REQUIRE(after_resume.size() == uninterrupted.size());
  BOOST_TEST(std::memcmp(after_resume.data(), uninterrupted.data(), uninterrupted.size()) == 0);

  P c = p50;
  auto cold = opt.init(c);
  run(opt, c, cold, 50, 100);
  BOOST_TEST(raw_bytes(c) != uninterrupted);
}

template <class T>
struct adam_snapshot {
  std::int64_t adam_count, lr_count;
  std::vector<T> mu, nu, nu_max;
  bool operator==(const adam_snapshot&) const = default;
};
template <class T>
std::ostream& operator<<(std::ostream& os, const adam_snapshot<T>& s) {
  return os << "{adam step " << s.adam_count << ", lr step " << s.lr_count << ", mu[0] "
            << (s.mu.empty() ? T(0) : s.mu[0]) << ", nu[0] " << (s.nu.empty() ? T(0) : s.nu[0])
            << ", " << s.nu_max.size() << " nu_max}";
}

// Reads an o::adam() state field by field (not through the serializer under test).
template <class S>
auto snapshot(const S& s) {
  const auto& a = std::get<1>(s);
  using T = typename std::remove_cvref_t<decltype(a.slots.mu)>::value_type;
  return adam_snapshot<T>{a.scalars.count, std::get<2>(s).scalars.count, a.slots.mu.to_host(),
                          a.slots.nu.to_host(), a.slots.nu_max.to_host()};
}

// Rewrites a checkpoint record by record through the generic io API, letting `edit` drop,
// retype or add records: forged files that are intact as files but wrong as optimizer state.
template <class Edit>
void rewrite(const fs::path& from, const fs::path& to, Edit&& edit) {
  const io::checkpoint_reader r(from);
  io::checkpoint_writer w(r.kind(), r.schema_version());
  for (const auto& rec : r.records()) {
    if (edit(rec, w)) continue;
    switch (rec.type) {
      case io::dtype::text:
        w.add_text(rec.name, r.get_text(rec.name));
        break;
      case io::dtype::u64:
        w.add(rec.name, std::span<const std::uint64_t>(r.get<std::uint64_t>(rec.name)), rec.shape);
        break;
      case io::dtype::i64:
        w.add(rec.name, std::span<const std::int64_t>(r.get<std::int64_t>(rec.name)), rec.shape);
        break;
      case io::dtype::f32:
        w.add(rec.name, std::span<const float>(r.get<float>(rec.name)), rec.shape);
        break;
      case io::dtype::f64:
        w.add(rec.name, std::span<const double>(r.get<double>(rec.name)), rec.shape);
        break;
      default:
        BOOST_FAIL("unexpected dtype in an optimizer checkpoint");
    }
  }
  w.save(to);
}

#if CONTINUA_TEST_THRUST
using float_tensor = thrust::device_vector<float>;
using double_tensor = thrust::device_vector<double>;
using tensor_types = boost::mpl::list<std::vector<float>, std::vector<double>,
                                      thrust::device_vector<float>, thrust::device_vector<double>>;
#else
using float_tensor = std::vector<float>;
using double_tensor = std::vector<double>;
using tensor_types = boost::mpl::list<std::vector<float>, std::vector<double>>;
#endif

}  // namespace

BOOST_AUTO_TEST_SUITE(bit_identical_resume)

BOOST_AUTO_TEST_CASE_TEMPLATE(adam, C, tensor_types) {
  check_bit_identical_resume(o::adam({.lr = 1e-2}), make_tensor<C>(97, 1));
  check_bit_identical_resume(o::amsgrad({.lr = 1e-2, .weight_decay = 1e-3}), make_tensor<C>(64, 2));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(trace_rms_clip_and_schedule, C, tensor_types) {
  const auto opt = o::chain(o::clip_by_global_norm(0.5), o::scale_by_rms({.centered = true}),
                            o::trace({.decay = 0.9, .nesterov = true}),
                            o::scale_by_learning_rate(o::warmup_cosine_schedule(1e-2, 10, 100)));
  check_bit_identical_resume(opt, make_tensor<C>(131, 3));
}

BOOST_AUTO_TEST_CASE(tuple_of_mixed_float_and_double_tensors) {
  using P = std::tuple<float_tensor, std::vector<double>, double_tensor>;
  const P params{make_tensor<float_tensor>(40, 4), make_tensor<std::vector<double>>(7, 5),
                 make_tensor<double_tensor>(23, 6)};
  check_bit_identical_resume(o::adamw({.lr = 3e-3}), params);
  check_bit_identical_resume(o::rmsprop({.lr = 1e-3, .momentum = 0.5, .centered = true}), params);
}

BOOST_AUTO_TEST_CASE(range_of_tensors) {
  std::vector<float_tensor> params;
  for (std::size_t k = 0; k < 4; ++k)
    params.push_back(make_tensor<float_tensor>(5 + 9 * k, 10 + k));
  check_bit_identical_resume(o::adam({.lr = 1e-2}), params);
  check_bit_identical_resume(o::sgd({.lr = 1e-2, .momentum = 0.9, .nesterov = true}), params);
}

BOOST_AUTO_TEST_CASE(nested_chain) {
  const auto opt = o::chain(o::chain(o::trace({.decay = 0.5}), o::scale_by_adam()),
                            o::scale_by_learning_rate(o::cosine_schedule(1e-2, 80)));
  check_bit_identical_resume(opt, make_tensor<double_tensor>(50, 7));
}

BOOST_AUTO_TEST_CASE(optimizer_overloads) {
  temp_dir d;
  const auto path = d.path / "opt.ckpt";
  auto p = make_tensor<float_tensor>(77, 8);
  o::optimizer opt(o::adam({.lr = 1e-2}), p);
  for (int step = 0; step < 50; ++step) {
    auto g = grads_for(p, step);
    opt.step(p, g);
  }
  io::save(path, opt);
  const auto p50 = p;
  for (int step = 50; step < 100; ++step) {
    auto g = grads_for(p, step);
    opt.step(p, g);
  }
  auto q = p50;
  o::optimizer resumed(o::adam({.lr = 1e-2}), q);
  io::load(path, resumed);
  BOOST_TEST(snapshot(resumed.state()).adam_count == 50);
  for (int step = 50; step < 100; ++step) {
    auto g = grads_for(q, step);
    resumed.step(q, g);
  }
  BOOST_TEST(raw_bytes(q) == raw_bytes(p));
  BOOST_TEST(snapshot(resumed.state()) == snapshot(opt.state()));
}

BOOST_AUTO_TEST_CASE(loaded_state_equals_saved_state_and_records_are_named_as_documented) {
  temp_dir d;
  const auto path = d.path / "opt.ckpt";
  const auto opt = o::amsgrad({.lr = 1e-2});
  auto p = make_tensor<float_tensor>(33, 9);
  auto s = opt.init(p);
  run(opt, p, s, 0, 17);
  io::save(path, opt, s);
  auto s2 = opt.init(p);
  io::load(path, opt, s2);
  BOOST_TEST(snapshot(s2) == snapshot(s));
  BOOST_TEST(snapshot(s2).adam_count == 17);

  const io::checkpoint_reader r(path);
  BOOST_TEST(r.kind() == "optim.chain");
  BOOST_TEST(r.schema_version() == 1u);
  std::vector<std::string> names;
  for (const auto& rec : r.records()) names.push_back(rec.name);
  const std::vector<std::string> expected = {"optim/structure",
                                             "optim/tensors",
                                             "1.scale_by_adam/s0",
                                             "1.scale_by_adam/t0/f0",
                                             "1.scale_by_adam/t0/f1",
                                             "1.scale_by_adam/t0/f2",
                                             "2.scale_by_learning_rate/s0"};
  BOOST_TEST(names == expected, boost::test_tools::per_element());
  BOOST_TEST(r.get_text("optim/structure") ==
             "chain(add_decayed_weights,scale_by_adam,scale_by_learning_rate)");
  BOOST_TEST(r.get_scalar<std::int64_t>("1.scale_by_adam/s0") == 17);
  BOOST_TEST(r.get<float>("1.scale_by_adam/t0/f1", {33}) == std::get<1>(s).slots.nu.to_host(),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// Each case loads a bad checkpoint into a state that differs from the checkpoint's content (7
// steps against 30), so any partial write would show in the snapshot.
BOOST_AUTO_TEST_SUITE(bad_checkpoints_leave_the_state_untouched)

struct fixture {
  temp_dir d;
  fs::path good = d.path / "good.ckpt";
  fs::path bad = d.path / "bad.ckpt";
  decltype(o::adam()) opt = o::adam({.lr = 1e-2});
  float_tensor p = make_tensor<float_tensor>(20, 11);
  decltype(opt.init(p)) target = opt.init(p);
  fixture() {
    auto q = p;
    auto s = opt.init(q);
    run(opt, q, s, 0, 30);
    io::save(good, opt, s);
    run(opt, p, target, 0, 7);
  }
  // Loads `file` into the 7-step state; returns the io_error message and requires the state to
  // be exactly what it was.
  std::string refused(const fs::path& file) {
    const auto before = snapshot(target);
    const auto message = io_error_of([&] { io::load(file, opt, target); });
    BOOST_TEST(message != "<no io_error thrown>");
    BOOST_TEST((snapshot(target) == before), "state changed by a failed load: " << message);
    return message;
  }
};

BOOST_FIXTURE_TEST_CASE(the_good_checkpoint_does_load, fixture) {
  io::load(good, opt, target);
  BOOST_TEST(snapshot(target).adam_count == 30);
}

BOOST_FIXTURE_TEST_CASE(checkpoint_of_another_chain, fixture) {
  auto sgd = o::sgd({.lr = 1e-2, .momentum = 0.9});
  auto s = sgd.init(p);
  io::save(bad, sgd, s);
  const auto m = refused(bad);
  BOOST_TEST(has(m,
                 "holds the state of chain(add_decayed_weights,trace,scale_by_learning_rate), "
                 "but the chain is chain(add_decayed_weights,scale_by_adam,"
                 "scale_by_learning_rate)"),
             m);
}

BOOST_FIXTURE_TEST_CASE(checkpoint_of_a_differently_sized_tensor, fixture) {
  auto other = make_tensor<float_tensor>(21, 12);
  auto s = opt.init(other);
  io::save(bad, opt, s);
  const auto m = refused(bad);
  BOOST_TEST(has(m, "record '1.scale_by_adam/t0/f0': expected shape [20], found [21]"), m);
}

BOOST_FIXTURE_TEST_CASE(checkpoint_of_another_element_type, fixture) {
  auto other = make_tensor<double_tensor>(20, 12);
  const auto chain = o::adam({.lr = 1e-2});
  auto s = chain.init(other);
  io::save(bad, chain, s);
  const auto m = refused(bad);
  BOOST_TEST(has(m, "record '1.scale_by_adam/t0/f0': expected f32, found f64"), m);
}

BOOST_FIXTURE_TEST_CASE(checkpoint_with_amsgrad_buffers, fixture) {
  const auto chain = o::amsgrad({.lr = 1e-2});
  auto s = chain.init(p);
  io::save(bad, chain, s);
  const auto m = refused(bad);
  BOOST_TEST(has(m, "record '1.scale_by_adam/t0/f2': expected shape [0], found [20]"), m);
}

BOOST_FIXTURE_TEST_CASE(checkpoint_of_another_tensor_count, fixture) {
  std::vector<float_tensor> three = {p, p, p};
  auto s3 = opt.init(three);
  io::save(bad, opt, s3);
  std::vector<float_tensor> two = {p, p};
  auto s2 = opt.init(two);
  std::vector<float_tensor> two_run = two;
  run(opt, two_run, s2, 0, 3);
  const auto before = std::get<1>(s2).slots[1].mu.to_host();
  const auto m = io_error_of([&] { io::load(bad, opt, s2); });
  BOOST_TEST(has(m, "it holds state for 3 parameter tensors, but this state has 2"), m);
  BOOST_TEST(std::get<1>(s2).slots[1].mu.to_host() == before);
  BOOST_TEST(std::get<1>(s2).scalars.count == 3);
  // The single-tensor state refuses it as well.
  BOOST_TEST(has(refused(bad), "3 parameter tensors, but this state has 1"));
}

BOOST_FIXTURE_TEST_CASE(flipped_bytes, fixture) {
  const auto image = read_file(good);
  for (const std::size_t at : {std::size_t{3}, std::size_t{9}, std::size_t{40}, image.size() / 2,
                               image.size() - 30, image.size() - 1}) {
    auto damaged = image;
    damaged[at] ^= 0x20;
    write_file(bad, damaged);
    const auto m = refused(bad);
    if (at >= 20) BOOST_TEST(has(m, "CRC32 mismatch"), m);
  }
}

BOOST_FIXTURE_TEST_CASE(truncated_files, fixture) {
  const auto image = read_file(good);
  for (const std::size_t n : {std::size_t{0}, std::size_t{7}, std::size_t{25}, image.size() / 3,
                              image.size() - 4, image.size() - 1}) {
    write_file(bad, std::vector<unsigned char>(image.begin(), image.begin() + n));
    BOOST_TEST(has(refused(bad), "truncated"));
  }
}

BOOST_FIXTURE_TEST_CASE(wrong_magic_and_future_format_version, fixture) {
  auto image = read_file(good);
  image[0] = 'c';
  write_file(bad, image);
  BOOST_TEST(has(refused(bad), "bad magic"));
  image = read_file(good);
  // The next format version, CRC recomputed so only the version is wrong.
  image[8] = static_cast<unsigned char>(io::checkpoint_format_version + 1);
  const std::uint32_t crc = continua::io::crc32(image.data(), image.size() - 4);
  for (int i = 0; i < 4; ++i)
    image[image.size() - 4 + i] = static_cast<unsigned char>(crc >> (8 * i));
  write_file(bad, image);
  BOOST_TEST(has(
      refused(bad),
      "format version " + std::to_string(io::checkpoint_format_version + 1) + " is not supported"));
}

// tests/io/data/optim_adam_format_v1.ckpt is the Adam state of a 4-element float tensor written
// by the format-1 code (tests/reference/write_v1_checkpoint.cpp): the chain and shapes match this
// fixture's Adam, so only the format version can be what refuses it.
BOOST_AUTO_TEST_CASE(a_format_1_checkpoint_is_refused_naming_both_versions) {
  const auto v1 =
      fs::path(__FILE__).parent_path().parent_path() / "io" / "data" / "optim_adam_format_v1.ckpt";
  BOOST_TEST_REQUIRE(fs::exists(v1), v1);
  const auto opt = o::adam({.lr = 1e-2});
  std::vector<float> p = {0.5f, -1.25f, 2.0f, 0.0f};
  auto s = opt.init(p);
  run(opt, p, s, 0, 2);
  const auto before = snapshot(s);
  const auto m = io_error_of([&] { io::load(v1, opt, s); });
  BOOST_TEST(has(m,
                 "format version 1 is an older layout that this build does not read (this "
                 "build reads format version 2)"),
             m);
  BOOST_TEST((snapshot(s) == before));
}

BOOST_FIXTURE_TEST_CASE(wrong_kind_and_future_schema, fixture) {
  io::checkpoint_writer ewc("regularize.ewc", 1);
  ewc.add_scalar("lambda", 1.0);
  ewc.save(bad);
  BOOST_TEST(has(refused(bad), "holds 'regularize.ewc', expected 'optim.chain'"));
  io::checkpoint_writer future("optim.chain", o::checkpoint_schema + 1);
  future.save(bad);
  BOOST_TEST(has(refused(bad), "'optim.chain' schema version 2 is not supported"));
}

BOOST_FIXTURE_TEST_CASE(missing_extra_and_retyped_records, fixture) {
  rewrite(good, bad, [](const io::record_info& r, io::checkpoint_writer&) {
    return r.name == "1.scale_by_adam/t0/f1";
  });
  BOOST_TEST(has(refused(bad), "record '1.scale_by_adam/t0/f1' is missing"));

  rewrite(good, bad, [](const io::record_info& r, io::checkpoint_writer& w) {
    if (r.name == "optim/tensors") w.add("1.scale_by_adam/t0/f3", std::vector<float>(20));
    return false;
  });
  BOOST_TEST(has(refused(bad), "record '1.scale_by_adam/t0/f3' has no place in this state"));

  // The last state record is wrong while all before it are valid: a loader that stored values
  // as it went would already have overwritten the Adam moments.
  rewrite(good, bad, [](const io::record_info& r, io::checkpoint_writer& w) {
    if (r.name != "2.scale_by_learning_rate/s0") return false;
    w.add_scalar(r.name, 30.0);
    return true;
  });
  BOOST_TEST(has(refused(bad), "record '2.scale_by_learning_rate/s0': expected i64, found f64"));
}

// Issue 10: a step count of INT64_MAX loaded and overflowed on the next step (signed overflow),
// and a negative one loaded and made the next step write NaN. Counts outside [0, 2^53] are now
// refused by the load, which names the value and the range, and leaves the state untouched.
BOOST_FIXTURE_TEST_CASE(step_counts_outside_0_to_2_pow_53_are_refused, fixture) {
  const std::int64_t max = o::step_count::max_count;
  BOOST_TEST(max == std::int64_t{1} << 53);
  for (const std::string name : {"1.scale_by_adam/s0", "2.scale_by_learning_rate/s0"}) {
    for (const std::int64_t count :
         {std::numeric_limits<std::int64_t>::max(), std::int64_t{-1}, max + 1}) {
      rewrite(good, bad, [&](const io::record_info& r, io::checkpoint_writer& w) {
        if (r.name != name) return false;
        w.add_scalar(r.name, count);
        return true;
      });
      const std::string m = refused(bad);
      BOOST_TEST_INFO(m);
      BOOST_TEST((has(m, "step count " + std::to_string(count)) && has(m, "[0, 2^53")));
    }
  }
  // The maximum itself is a valid count.
  rewrite(good, bad, [&](const io::record_info& r, io::checkpoint_writer& w) {
    if (r.name != "1.scale_by_adam/s0") return false;
    w.add_scalar(r.name, max);
    return true;
  });
  io::load(bad, opt, target);
  BOOST_TEST(snapshot(target).adam_count == max);
}

// At the maximum the count saturates instead of overflowing: a step from count 2^53 gives the
// same update as one from 2^53 - 1 (Adam's bias corrections are exactly 1 at both) and the count
// stays at 2^53. Built under -fsanitize=undefined this also shows no signed overflow.
BOOST_AUTO_TEST_CASE(a_step_at_the_maximum_count_saturates) {
  const std::int64_t max = o::step_count::max_count;
  const auto opt = o::adam({.lr = 1e-2});
  auto p = make_tensor<std::vector<double>>(16, 3);
  auto s = opt.init(p);
  run(opt, p, s, 0, 5);  // non-zero moments
  auto below = s, at = s;
  std::get<1>(below).scalars.count = max - 1;
  std::get<2>(below).scalars.count = max - 1;
  std::get<1>(at).scalars.count = max;
  std::get<2>(at).scalars.count = max;
  auto p_below = p, p_at = p;
  auto g = grads_for(p, 5);
  auto g2 = g;
  BOOST_TEST_REQUIRE(opt.step(p_below, g, below));
  BOOST_TEST_REQUIRE(opt.step(p_at, g2, at));
  BOOST_TEST(std::get<1>(below).scalars.count == max);
  BOOST_TEST(std::get<1>(at).scalars.count == max);
  BOOST_TEST(std::get<2>(at).scalars.count == max);
  BOOST_TEST(p_at == p_below, boost::test_tools::per_element());
  BOOST_TEST(p_at != p);  // the step did move the parameters
  // Independent check of one element: mu, nu from the state before the step, no bias correction.
  const auto mu0 = std::get<1>(s).slots.mu.to_host(), nu0 = std::get<1>(s).slots.nu.to_host();
  const auto g0 = grads_for(p, 5);
  const double wd = 0.0;  // o::adam's default weight decay
  const double gi = g0[0] + wd * p[0];
  const double mu = 0.9 * mu0[0] + 0.1 * gi, nu = 0.999 * nu0[0] + 0.001 * gi * gi;
  BOOST_TEST(p_at[0] == p[0] - 1e-2 * mu / (std::sqrt(nu) + 1e-8),
             boost::test_tools::tolerance(1e-12));
  // Schedules read counts up to the maximum without overflow, whatever their period: the
  // cyclical period 2 * half_period overflowed int64 for half periods above INT64_MAX / 2, and
  // warmup_cosine_schedule computed decay_steps - warmup_steps before refusing warmup_steps < 0.
  const std::int64_t half = std::numeric_limits<std::int64_t>::max() / 2 + 1;  // 2^62
  const double expected = 0.1 + 0.9 * (static_cast<double>(max) / static_cast<double>(half));
  BOOST_TEST(o::cyclical_schedule(0.1, 1.0, half)(max) == expected,
             boost::test_tools::tolerance(1e-15));
  BOOST_TEST(o::cyclical_schedule(0.1, 1.0, half)(0) == 0.1);
  BOOST_CHECK_THROW(o::warmup_cosine_schedule(1.0, std::numeric_limits<std::int64_t>::min(), 10),
                    continua::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(missing_file, fixture) {
  BOOST_TEST(has(refused(d.path / "none.ckpt"), "cannot open"));
}

BOOST_FIXTURE_TEST_CASE(failed_save_keeps_the_previous_checkpoint, fixture) {
  const auto image = read_file(good);
  fs::create_directories(d.path / "good.ckpt.tmp" / "squatter");
  auto s = opt.init(p);
  BOOST_CHECK_THROW(io::save(good, opt, s), continua::io_error);
  BOOST_TEST(read_file(good) == image);
  io::load(good, opt, target);
  BOOST_TEST(snapshot(target).adam_count == 30);
}

BOOST_AUTO_TEST_SUITE_END()
