// optimizer and the transformation concepts: a fresh std::tie (or span) of the parameters steps
// exactly like a named tuple; the built-in transformations satisfy the concepts chain() checks,
// and a type missing a member does not (the compile-fail tests show the messages).
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <span>
#include <tuple>
#include <vector>

#include "continua/optim.hpp"

namespace o = continua::optim;

namespace {
using vec = std::vector<float>;
using pair_of_refs = std::tuple<vec&, vec&>;

template <class T>
struct keep_kernel {
  T operator()(std::size_t, T g, T) const { return g; }
};

// Everything an elementwise transformation needs except prepare().
struct no_prepare : o::stateless_elementwise {
  static constexpr const char* name = "no_prepare";
  template <class T, class Space>
  keep_kernel<T> make_kernel(double, o::no_slots<T, Space>&) const {
    return {};
  }
};
// The same with prepare(): the concept's control.
struct with_prepare : no_prepare {
  template <class G, class P>
  double prepare(const o::no_scalars&, const G&, const P&) const {
    return 0.0;
  }
};
// A whole-set transformation without update().
struct no_update {
  static constexpr bool elementwise = false;
  struct state {};
  template <class P>
  state init(const P&) const {
    return {};
  }
  template <class G, class P>
  void validate(const G&, const state&, const P&) const {}
};
}  // namespace

// The concepts hold for every built-in part, over one tensor and over a std::tie of tensors.
static_assert(o::elementwise_transformation_for<o::scale_by_adam, vec, vec>);
static_assert(o::elementwise_transformation_for<o::scale_by_adam, pair_of_refs, pair_of_refs>);
static_assert(o::elementwise_transformation_for<o::clip_by_global_norm, vec, vec>);
static_assert(o::elementwise_transformation_for<o::scale_by_learning_rate<>, vec, vec>);
static_assert(o::whole_transformation_for<o::multi_normalize, vec, vec>);
static_assert(o::whole_transformation_for<decltype(o::adam()), pair_of_refs, pair_of_refs>);
static_assert(o::transformation_for<with_prepare, vec, vec>);
// ...and fail for a part missing one member.
static_assert(!o::transformation_for<no_prepare, vec, vec>);
static_assert(!o::transformation_for<no_update, vec, vec>);
static_assert(!o::transformation_for<vec, vec, vec>);

BOOST_AUTO_TEST_SUITE(optimizer_params)

// The one-liner of the issue: optimizer built from std::tie(a, b), stepped with fresh ties.
BOOST_AUTO_TEST_CASE(fresh_tie_steps_like_a_named_tuple) {
  vec a{1.0f, -2.0f, 0.5f}, b{3.0f, 4.0f};
  vec ra = a, rb = b;
  o::optimizer opt(o::adam({}), std::tie(a, b));
  o::optimizer ref(o::adam({}), std::tie(ra, rb));
  auto named = std::tie(ra, rb);
  for (int t = 0; t < 5; ++t) {
    vec ga{0.1f * float(t + 1), -0.3f, 0.2f}, gb{1.0f, -0.5f};
    vec ha = ga, hb = gb;
    BOOST_REQUIRE(opt.step(std::tie(a, b), std::tie(ga, gb)));
    BOOST_REQUIRE(ref.step(named, std::tie(ha, hb)));
    if (t == 0)  // Adam's first step moves every parameter by lr = 1e-3 against its gradient
      BOOST_TEST(a[1] == 1e-3f - 2.0f, boost::test_tools::tolerance(1e-6f));
  }
  BOOST_TEST(a == ra);
  BOOST_TEST(b == rb);
  BOOST_TEST(std::get<1>(opt.state()).scalars.count == 5);  // scale_by_adam's step count
}

// A const tuple of references and a temporary span write through to the tensors as well.
BOOST_AUTO_TEST_CASE(const_tie_and_span_temporaries_write_through) {
  vec a{1.0f, 2.0f}, b{3.0f}, g{0.5f, -0.5f}, h{1.0f};
  o::optimizer opt(o::sgd({.lr = 0.1}), std::tie(a, b));
  const auto params = std::tie(a, b);
  BOOST_REQUIRE(opt.step(params, std::tie(g, h)));
  BOOST_TEST(a[0] == 0.95f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(a[1] == 2.05f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(b[0] == 2.9f, boost::test_tools::tolerance(1e-6f));

  vec w{1.0f, 1.0f}, gw{1.0f, 2.0f};
  o::optimizer by_span(o::sgd({.lr = 0.5}), std::span<float>(w));
  BOOST_REQUIRE(by_span.step(std::span<float>(w), gw));
  BOOST_TEST(w == (vec{0.5f, 0.0f}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
