// fixed_name: a string literal usable as a template argument, and joined_name, two of them joined
// at compile time, so that per-step calls of a regularizer build no context strings.
#pragma once

#include <cstddef>

namespace continua::regularize::detail {

// Contexts such as "continua::regularize::mas::penalty" are joined at compile time from the
// component's name.
template <std::size_t N>
struct fixed_name {
  char text[N] = {};
  constexpr fixed_name() = default;
  // Implicit, so that a plain literal ("mas") can be written where a fixed_name is expected.
  constexpr fixed_name(const char (&s)[N]) {
    for (std::size_t i = 0; i < N; ++i) text[i] = s[i];
  }
};

template <fixed_name A, fixed_name B>
inline constexpr auto joined_name = [] {
  constexpr std::size_t a = sizeof(A.text) - 1;  // without A's terminating zero
  fixed_name<a + sizeof(B.text)> r;
  for (std::size_t i = 0; i < a; ++i) r.text[i] = A.text[i];
  for (std::size_t i = 0; i < sizeof(B.text); ++i) r.text[a + i] = B.text[i];
  return r;
}();

// "continua::regularize::<Name><Call>": the error context of a call of component Name, e.g.
// call_context<"ewc", "::observe">; call_context<"ewc"> names the component itself.
template <fixed_name Name, fixed_name Call = "">
inline constexpr auto call_context = joined_name<joined_name<"continua::regularize::", Name>, Call>;

}  // namespace continua::regularize::detail
