// forge: copies a checkpoint record by record with one element changed, so a test can hand a
// loader a file that is intact as a file (CRC, names, types, shapes) but meaningless as a state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "continua/io/checkpoint.hpp"

namespace reg_test {

namespace detail {

template <class T>
void copy_record(const continua::io::checkpoint_reader& r, continua::io::checkpoint_writer& w,
                 const continua::io::record_info& rec, bool edit, std::size_t index, double value) {
  std::vector<T> v =
      rec.shape.empty() ? std::vector<T>{r.get_scalar<T>(rec.name)} : r.get<T>(rec.name);
  if (edit) v.at(index) = static_cast<T>(value);
  if (rec.shape.empty())
    w.add_scalar(rec.name, v[0]);
  else
    w.add(rec.name, std::span<const T>(v), rec.shape);
}

}  // namespace detail

// Writes `to` as a copy of the checkpoint `from` (same kind, schema and records) in which element
// `index` of record `name` (0 for a scalar) is `value`. Throws std::logic_error if `from` has no
// such record or one of a type this helper does not copy.
inline void forge(const std::filesystem::path& from, const std::filesystem::path& to,
                  const std::string& name, std::size_t index, double value) {
  namespace io = continua::io;
  const io::checkpoint_reader r(from);
  io::checkpoint_writer w(r.kind(), r.schema_version());
  bool found = false;
  for (const auto& rec : r.records()) {
    const bool edit = rec.name == name;
    found = found || edit;
    switch (rec.type) {
      case io::dtype::u32:
        detail::copy_record<std::uint32_t>(r, w, rec, edit, index, value);
        break;
      case io::dtype::u64:
        detail::copy_record<std::uint64_t>(r, w, rec, edit, index, value);
        break;
      case io::dtype::f32:
        detail::copy_record<float>(r, w, rec, edit, index, value);
        break;
      case io::dtype::f64:
        detail::copy_record<double>(r, w, rec, edit, index, value);
        break;
      case io::dtype::boolean:
        if (!rec.shape.empty()) throw std::logic_error("forge: a bool array record");
        w.add_scalar(rec.name, edit ? value != 0 : r.get_scalar<bool>(rec.name));
        break;
      default:
        throw std::logic_error("forge: record '" + rec.name + "' has a type forge does not copy");
    }
  }
  if (!found) throw std::logic_error("forge: no record '" + name + "'");
  w.save(to);
}

}  // namespace reg_test
