// File and error helpers shared by the checkpoint suites (tests/io, tests/optim): a temporary
// directory per test, whole-file byte reads and writes, and the message of an expected io_error.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "continua/core/error.hpp"

namespace continua_test {

// A fresh directory per test, removed afterwards.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("continua_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  // Whether an atomic write left a temporary file behind.
  bool has_tmp_files() const {
    for (const auto& e : std::filesystem::directory_iterator(path))
      if (e.path().extension() == ".tmp") return true;
    return false;
  }
};

// The message of the continua::io_error f throws, or "<no io_error thrown>".
template <class F>
std::string io_error_of(F&& f) {
  try {
    f();
  } catch (const continua::io_error& e) {
    return e.what();
  }
  return "<no io_error thrown>";
}

inline bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

inline std::vector<unsigned char> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::filesystem::path& p, const std::vector<unsigned char>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

}  // namespace continua_test
