// Option checks shared by the regularizers: strength, unit-interval and positive fields, each
// throwing continua::invalid_argument that names the component, the field and its value.
#pragma once

#include <cmath>
#include <string_view>

#include "continua/core/error.hpp"

namespace continua::regularize::detail {

inline void check_strength(std::string_view who, double strength) {
  require_option(std::isfinite(strength) && strength >= 0, who, "strength", strength,
                 "must be finite and >= 0");
}

inline void check_unit_interval(std::string_view who, std::string_view field, double v) {
  require_option(v >= 0 && v <= 1, who, field, v, "must lie in [0, 1]");
}

inline void check_positive(std::string_view who, std::string_view field, double v) {
  require_option(std::isfinite(v) && v > 0, who, field, v, "must be finite and > 0");
}

}  // namespace continua::regularize::detail
