// Exception types and argument checks shared by every family.
// Rule: a public call validates everything before it mutates anything, so a throw leaves state
// intact.
#pragma once

#include <cstddef>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace continua {

// Bad argument: wrong option value, empty input, unknown class, ...
class invalid_argument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Two arguments that must agree in size do not.
class size_mismatch : public invalid_argument {
 public:
  size_mismatch(std::string_view context, std::string_view first_name, std::size_t first_size,
                std::string_view second_name, std::size_t second_size)
      : invalid_argument(format(context, first_name, first_size, second_name, second_size)),
        first_size_(first_size),
        second_size_(second_size) {}
  std::size_t first_size() const noexcept { return first_size_; }
  std::size_t second_size() const noexcept { return second_size_; }

 private:
  static std::string format(std::string_view context, std::string_view a, std::size_t na,
                            std::string_view b, std::size_t nb) {
    std::ostringstream os;
    os << context << ": size mismatch: " << a << " has " << na << " elements but " << b << " has "
       << nb;
    return os.str();
  }
  std::size_t first_size_;
  std::size_t second_size_;
};

// A NaN or infinity where finite numbers are required.
class non_finite_error : public invalid_argument {
 public:
  non_finite_error(std::string_view context, std::string_view name, std::size_t index)
      : invalid_argument(std::string(context) + ": " + std::string(name) +
                         " contains NaN or Inf (first at element " + std::to_string(index) + ")"),
        index_(index) {}
  std::size_t index() const noexcept { return index_; }

 private:
  std::size_t index_;
};

// A numerical method could not proceed (matrix not positive definite, no convergence).
class numerical_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reading or writing files failed, or their content is corrupt or truncated.
class io_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws continua::invalid_argument("<context>: <message>") unless `condition` holds.
inline void require(bool condition, std::string_view context, std::string_view message) {
  if (!condition) throw invalid_argument(std::string(context) + ": " + std::string(message));
}

// Throws size_mismatch naming both arguments unless their sizes agree.
inline void require_same_size(std::string_view context, std::string_view first_name,
                              std::size_t first_size, std::string_view second_name,
                              std::size_t second_size) {
  if (first_size != second_size)
    throw size_mismatch(context, first_name, first_size, second_name, second_size);
}

// Options validation: throws invalid_argument naming the field, its value and the rule broken.
template <class V>
void require_option(bool condition, std::string_view component, std::string_view field,
                    const V& value, std::string_view rule) {
  if (condition) return;
  std::ostringstream os;
  os << component << ": option '" << field << "' = " << value << " is invalid: " << rule;
  throw invalid_argument(os.str());
}

// a * b for a size that comes from a caller or a file (an allocation, an index range): throws
// continua::invalid_argument "<context>: <what> = a * b overflows size_t" instead of wrapping to
// a small number that would then be allocated and written past.
inline std::size_t checked_mul(std::size_t a, std::size_t b, std::string_view context,
                               std::string_view what) {
  if (b != 0 && a > std::numeric_limits<std::size_t>::max() / b) {
    std::ostringstream os;
    os << context << ": " << what << " = " << a << " * " << b
       << " overflows the largest size (size_t); the sizes are too large or corrupt";
    throw invalid_argument(os.str());
  }
  return a * b;
}

// a + b for counters and sizes that come from a caller or a file: throws
// continua::invalid_argument "<context>: <what> = a + b overflows" instead of wrapping.
template <class U>
requires std::is_unsigned_v<U> U checked_add(U a, U b, std::string_view context,
                                             std::string_view what) {
  if (a > std::numeric_limits<U>::max() - b) {
    std::ostringstream os;
    os << context << ": " << what << " = " << +a << " + " << +b << " overflows the "
       << std::numeric_limits<U>::digits << "-bit counter";
    throw invalid_argument(os.str());
  }
  return static_cast<U>(a + b);
}

}  // namespace continua
