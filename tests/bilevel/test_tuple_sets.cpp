// Parameter sets of several tensors: y = (w1, w2), two ridge blocks with their own log-penalty
// x = (x1, x2), outer f = 1/2 |w1 - t1|^2 + 1/2 |w2 - t2|^2 + rho/2 |x|^2, as a std::tuple of
// std::vectors, as a std::vector of std::vectors, and as a tuple of an Eigen::VectorXd and a
// std::vector. Every hypergradient (implicit CG, Neumann,
// unrolled with checkpoints, and through the finite-difference adaptor) against central
// differences of the true objective, computed in long double per block.
#include <Eigen/Core>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>
#include <tuple>
#include <type_traits>
#include <vector>

#include "continua/adapters/eigen.hpp"
#include "continua/bilevel.hpp"
#include "ridge.hpp"

namespace bl = continua::bilevel;
using bilevel_test::ld;
using bilevel_test::matrix;

namespace {

using vec = std::vector<double>;

struct block {
  matrix q_mat;
  std::vector<ld> q, target;
};

std::vector<block> make_blocks() {
  std::mt19937_64 gen(31);
  std::normal_distribution<double> normal;
  std::vector<block> blocks;
  for (const std::size_t d : {3u, 2u}) {
    std::vector<ld> s(d);
    for (std::size_t k = 0; k < d; ++k) s[k] = 0.3L + ld(k);
    block b{bilevel_test::spd_with_spectrum(s, gen), std::vector<ld>(d), std::vector<ld>(d)};
    for (auto& v : b.q) v = normal(gen);
    for (auto& v : b.target) v = normal(gen);
    blocks.push_back(b);
  }
  return blocks;
}

constexpr ld rho = 0.2L;

// w_b*(x_b) in long double.
std::vector<ld> block_solution(const block& b, ld x) {
  matrix h = b.q_mat;
  for (std::size_t j = 0; j < h.size(); ++j) h[j][j] += std::exp(x);
  return bilevel_test::solve_spd(h, b.q);
}

ld objective(const std::vector<block>& blocks, const std::vector<ld>& x) {
  ld f = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const std::vector<ld> w = block_solution(blocks[b], x[b]);
    for (std::size_t j = 0; j < w.size(); ++j)
      f += 0.5L * (w[j] - blocks[b].target[j]) * (w[j] - blocks[b].target[j]);
    f += 0.5L * rho * x[b] * x[b];
  }
  return f;
}

// Block B of a set (tuple or vector of vectors), its length, and element i of a block (a
// std::vector or an Eigen vector).
template <std::size_t B, class S>
auto& part(S& s) {
  if constexpr (requires { std::get<0>(s); })
    return std::get<B>(s);
  else
    return s[B];
}
template <class V>
std::size_t len(const V& v) {
  return static_cast<std::size_t>(v.size());
}
template <class V>
auto& at(V& v, std::size_t i) {
  if constexpr (requires { v.rows(); })
    return v[static_cast<Eigen::Index>(i)];
  else
    return v[i];
}
// Calls f.template operator()<B>() for B = 0, 1.
template <class F>
void for_blocks(F&& f) {
  f.template operator()<0>();
  f.template operator()<1>();
}

// The problem over Y (two blocks); x is a vec of 2 log-penalties.
template <class Y>
struct block_ridge {
  std::vector<block> blocks;
  // out_b = (Q_b + e^{x_b}) w_b - q_b
  void inner_grad(const vec& x, const Y& y, Y& out) const { apply(x, y, out, true); }
  void inner_hvp(const vec& x, const Y&, const Y& v, Y& out) const { apply(x, v, out, false); }
  void inner_cross(const vec& x, const Y& y, const Y& v, vec& out) const {
    for_blocks([&]<std::size_t B>() {
      double s = 0;
      for (std::size_t j = 0; j < len(part<B>(y)); ++j) s += at(part<B>(y), j) * at(part<B>(v), j);
      out[B] = std::exp(x[B]) * s;
    });
  }
  void outer_grad_y(const vec&, const Y& y, Y& out) const {
    for_blocks([&]<std::size_t B>() {
      for (std::size_t j = 0; j < len(part<B>(y)); ++j)
        at(part<B>(out), j) = at(part<B>(y), j) - double(blocks[B].target[j]);
    });
  }
  void outer_grad_x(const vec& x, const Y&, vec& out) const {
    for (std::size_t b = 0; b < 2; ++b) out[b] = double(rho) * x[b];
  }

 private:
  void apply(const vec& x, const Y& v, Y& out, bool subtract_q) const {
    for_blocks([&]<std::size_t B>() {
      const auto& vb = part<B>(v);
      auto& ob = part<B>(out);
      for (std::size_t i = 0; i < len(vb); ++i) {
        double s = std::exp(x[B]) * at(vb, i) - (subtract_q ? double(blocks[B].q[i]) : 0.0);
        for (std::size_t j = 0; j < len(vb); ++j) s += double(blocks[B].q_mat[i][j]) * at(vb, j);
        at(ob, i) = s;
      }
    });
  }
};

// First-order part only, for the adaptor's coordinate-wise cross product.
template <class Y>
struct block_ridge_first_order {
  block_ridge<Y> pb;
  void inner_grad(const vec& x, const Y& y, Y& out) const { pb.inner_grad(x, y, out); }
  void outer_grad_x(const vec& x, const Y& y, vec& out) const { pb.outer_grad_x(x, y, out); }
  void outer_grad_y(const vec& x, const Y& y, Y& out) const { pb.outer_grad_y(x, y, out); }
};

// A block as a std::vector<double> or an Eigen::VectorXd.
template <class B>
B make_block(const std::vector<ld>& p) {
  if constexpr (std::is_same_v<B, vec>) {
    return vec(p.begin(), p.end());
  } else {
    B b(static_cast<Eigen::Index>(p.size()));
    for (std::size_t i = 0; i < p.size(); ++i) b[static_cast<Eigen::Index>(i)] = double(p[i]);
    return b;
  }
}

template <class Y>
Y make_set(const std::vector<std::vector<ld>>& parts) {
  Y y;
  if constexpr (requires { std::get<0>(y); }) {
    std::get<0>(y) = make_block<std::tuple_element_t<0, Y>>(parts[0]);
    std::get<1>(y) = make_block<std::tuple_element_t<1, Y>>(parts[1]);
  } else {
    for (const auto& p : parts) y.push_back(vec(p.begin(), p.end()));
  }
  return y;
}

double relative_error(const vec& a, const std::vector<ld>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / scale;
}

template <class Y>
void check_sets() {
  const std::vector<block> blocks = make_blocks();
  const block_ridge<Y> pb{blocks};
  const std::vector<ld> x{-0.4L, 0.3L};
  const vec xv(x.begin(), x.end());
  // Central differences of F, step cbrt(eps) max(1, |x_i|).
  std::vector<ld> fd(2), xs = x;
  for (std::size_t i = 0; i < 2; ++i) {
    const ld h = std::cbrt(ld(2.220446049250313e-16)) * std::max(ld(1), std::abs(x[i]));
    xs[i] = x[i] + h;
    const ld fp = objective(blocks, xs);
    xs[i] = x[i] - h;
    const ld fm = objective(blocks, xs);
    xs[i] = x[i];
    fd[i] = (fp - fm) / (2 * h);
  }
  const Y w = make_set<Y>({block_solution(blocks[0], x[0]), block_solution(blocks[1], x[1])});
  vec g(2);
  const auto rc = bl::implicit_hypergradient(pb, xv, w, g, bl::conjugate_gradient({.rtol = 1e-13}));
  BOOST_TEST(rc.linear.converged);
  BOOST_TEST(rc.inner_gradient_norm <= 1e-12);
  BOOST_TEST(relative_error(g, fd) <= 1e-7);
  const double L = 2.3 + std::exp(0.3);
  const auto rn = bl::implicit_hypergradient(
      pb, xv, w, g,
      bl::neumann_series({.alpha = 1 / L, .max_iterations = 1000, .rtol = 1e-13, .lipschitz = L}));
  BOOST_TEST(rn.linear.converged);
  BOOST_TEST(relative_error(g, fd) <= 1e-7);
  // Through the adaptor (coordinate-wise cross product over the two penalties).
  const bl::finite_difference_products fdp(block_ridge_first_order<Y>{pb});
  bl::implicit_hypergradient(fdp, xv, w, g, bl::conjugate_gradient({.rtol = 1e-12}));
  BOOST_TEST(relative_error(g, fd) <= 1e-6);
  // Unrolled with checkpoints from w*: many steps approach the implicit gradient.
  Y w0 = w;
  bl::unrolled_hypergradient(pb, xv, w0, g,
                             {.steps = 120, .learning_rate = 1 / L, .checkpoint_every = 20});
  BOOST_TEST(relative_error(g, fd) <= 1e-7);
  // A set of the wrong shape is named by tensor index.
  Y bad = w;
  if constexpr (requires { part<1>(bad).push_back(0.0); })
    part<1>(bad).push_back(0.0);
  else
    part<1>(bad).conservativeResize(part<1>(bad).size() + 1);
  BOOST_CHECK_THROW(bl::implicit_hypergradient(pb, xv, w, g, bl::conjugate_gradient{}, {}, &bad),
                    continua::size_mismatch);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bilevel_sets)

BOOST_AUTO_TEST_CASE(tuple_of_vectors) { check_sets<std::tuple<vec, vec>>(); }
BOOST_AUTO_TEST_CASE(vector_of_vectors) { check_sets<std::vector<vec>>(); }
BOOST_AUTO_TEST_CASE(tuple_of_eigen_and_std) { check_sets<std::tuple<Eigen::VectorXd, vec>>(); }

BOOST_AUTO_TEST_SUITE_END()
