// Rejected: an RLS update-rule policy whose state lacks weights(); the rls_policy concept names
// the member and the policy (P = ridge_by_hand). Control: the same policy with weights().
#include <cstddef>
#include <string_view>
#include <vector>

#include "continua/analytic/rls.hpp"

namespace an = continua::analytic;
using continua::host_space;
using continua::matrix_view;

// Keeps nothing and returns zero weights: enough to show what the concept asks for.
struct ridge_by_hand {
  static constexpr std::string_view name = "ridge_by_hand";
  template <class T, class Space>
  class state {
   public:
    state(std::size_t features, std::size_t outputs, const an::rls_options&)
        : d_(features), k_(outputs), w_(features * outputs) {}
    std::size_t features() const { return d_; }
    std::size_t outputs() const { return k_; }
    void update(std::string_view, matrix_view<const T, Space>, matrix_view<const T, Space>, T) {}
    void add_statistics(std::string_view, matrix_view<const T, Space>, matrix_view<const T, Space>,
                        T) {}
    void resize_outputs(std::size_t k) {
      k_ = k;
      w_.assign(d_ * k_, T(0));
    }
    template <class V>
    void describe_state(V& v) {
      v.field("weights", w_);
    }
#ifdef CONTINUA_CONTROL
    matrix_view<const T, Space> weights() const { return {w_.data(), d_, k_}; }
#endif

   private:
    std::size_t d_, k_;
    std::vector<T> w_;
  };
};

int main() {
  an::recursive_least_squares<double, ridge_by_hand> rls({}, 3, 1);
  return rls.weights().rows() == 3 ? 0 : 1;
}
