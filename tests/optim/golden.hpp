// Reads the torch.optim golden trajectories written by tests/reference/gen_optim_golden.py.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace continua_test {

template <class T>
struct golden_inputs {
  std::size_t n = 0, steps = 0;
  std::vector<T> p0, target;
  std::vector<std::vector<T>> noise;
};

inline std::string reference_path(const std::string& file) {
  return std::string(CONTINUA_REFERENCE_DIR) + "/optim/" + file;
}

inline std::ifstream open_reference(const std::string& file) {
  std::ifstream in(reference_path(file));
  if (!in) throw std::runtime_error("cannot open golden file " + reference_path(file));
  return in;
}

template <class T>
std::vector<T> read_row(std::istream& in, std::size_t n) {
  std::vector<T> row(n);
  for (auto& v : row)
    if (!(in >> v)) throw std::runtime_error("golden file truncated");
  return row;
}

template <class T>
golden_inputs<T> read_inputs(const std::string& dtype) {
  auto in = open_reference("inputs_" + dtype + ".txt");
  std::string header;
  std::getline(in, header);
  golden_inputs<T> g;
  in >> g.n >> g.steps;
  g.p0 = read_row<T>(in, g.n);
  g.target = read_row<T>(in, g.n);
  for (std::size_t t = 0; t < g.steps; ++t) g.noise.push_back(read_row<T>(in, g.n));
  return g;
}

// trajectories[config][step] = parameters after that step.
template <class T>
std::map<std::string, std::map<std::size_t, std::vector<T>>> read_trajectories(
    const std::string& dtype, std::size_t n) {
  auto in = open_reference("trajectories_" + dtype + ".txt");
  std::string line;
  std::getline(in, line);
  std::map<std::string, std::map<std::size_t, std::vector<T>>> out;
  std::string config;
  std::size_t step;
  while (in >> config >> step) out[config][step] = read_row<T>(in, n);
  return out;
}

}  // namespace continua_test
