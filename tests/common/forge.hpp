// forge: copies a checkpoint record by record with the elements of one record changed by an edit,
// so a test can hand a loader a file that is intact as a file (kind, names, types, shapes, CRC)
// but holds a state no component can be in. Shared by the analytic, replay and regularize suites.
#pragma once

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "continua/io/checkpoint.hpp"

namespace continua_test {

// Record `name`, of element type E, is passed to edit(std::vector<E>&) before it is written.
template <class E, class Edit>
void forge(const std::filesystem::path& from, const std::filesystem::path& to,
           const std::string& name, Edit&& edit) {
  namespace io = continua::io;
  const io::checkpoint_reader r(from);
  io::checkpoint_writer w(r.kind(), r.schema_version());
  bool found = false;
  for (const auto& rec : r.records()) {
    const auto copy = [&]<class U>(std::type_identity<U>) {
      std::vector<U> v = r.get<U>(rec.name);
      if constexpr (std::is_same_v<U, E>) {
        if (rec.name == name) {
          edit(v);
          found = true;
        }
      }
      w.add(rec.name, std::span<const U>(v), rec.shape);
    };
    switch (rec.type) {
      case io::dtype::text:
        w.add_text(rec.name, r.get_text(rec.name));
        break;
      case io::dtype::i32:
        copy(std::type_identity<std::int32_t>{});
        break;
      case io::dtype::u32:
        copy(std::type_identity<std::uint32_t>{});
        break;
      case io::dtype::i64:
        copy(std::type_identity<std::int64_t>{});
        break;
      case io::dtype::boolean:
        if (!rec.shape.empty()) BOOST_FAIL("forge: record " << rec.name << " is a bool array");
        w.add_scalar(rec.name, r.get_scalar<bool>(rec.name));
        break;
      case io::dtype::u64:
        copy(std::type_identity<std::uint64_t>{});
        break;
      case io::dtype::f32:
        copy(std::type_identity<float>{});
        break;
      case io::dtype::f64:
        copy(std::type_identity<double>{});
        break;
      default:
        BOOST_FAIL("forge: record " << rec.name << " has a type forge does not copy");
    }
  }
  BOOST_TEST_REQUIRE(found, "forge: no record " << name);
  w.save(to);
}

}  // namespace continua_test
