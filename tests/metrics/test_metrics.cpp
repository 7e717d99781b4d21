// Continual-learning metrics against values computed by hand (Lopez-Paz & Ranzato 2017: ACC, BWT,
// FWT; Chaudhry et al. 2018: forgetting, intransigence), plus the CSV, table and SVG output.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "continua/metrics.hpp"

namespace m = continua::metrics;

namespace {

constexpr double tol = 1e-12;

// Full 3x3 example (every entry measured, so forward transfer is defined).
//            task0 task1 task2
// after 0    0.90  0.10  0.05
// after 1    0.80  0.95  0.20
// after 2    0.70  0.85  0.92
// ACC after 0 = 0.90; after 1 = (0.80 + 0.95) / 2 = 0.875; after 2 = (0.70 + 0.85 + 0.92) / 3
//   = 2.47 / 3 = 0.823333...
// BWT = ((0.70 - 0.90) + (0.85 - 0.95)) / 2 = (-0.20 - 0.10) / 2 = -0.15
// FWT with b = (0.10, 0.12, 0.08): ((0.10 - 0.12) + (0.20 - 0.08)) / 2 = (-0.02 + 0.12) / 2 = 0.05
// forgetting: f0 = max(0.90, 0.80) - 0.70 = 0.20; f1 = max(0.10, 0.95) - 0.85 = 0.10; mean 0.15
// intransigence with a* = (0.93, 0.96, 0.94): (0.03 + 0.01 + 0.02) / 3 = 0.02
m::accuracy_matrix example_3x3() {
  m::accuracy_matrix r(3);
  const double v[3][3] = {{0.90, 0.10, 0.05}, {0.80, 0.95, 0.20}, {0.70, 0.85, 0.92}};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) r.set(i, j, v[i][j]);
  return r;
}

// Lower-triangular 4x4 example (class-incremental: future tasks never evaluated), where the best
// accuracy on task 1 comes after its own phase, so forgetting differs from -BWT.
//            task0 task1 task2 task3
// after 0    0.98    -     -     -
// after 1    0.60  0.70    -     -
// after 2    0.75  0.80  0.96    -
// after 3    0.40  0.55  0.70  0.99
// ACC after 1 = (0.60 + 0.70) / 2 = 0.65; after 2 = (0.75 + 0.80 + 0.96) / 3 = 2.51 / 3
//   = 0.836667; after 3 = (0.40 + 0.55 + 0.70 + 0.99) / 4 = 2.64 / 4 = 0.66
// BWT = ((0.40 - 0.98) + (0.55 - 0.70) + (0.70 - 0.96)) / 3 = (-0.58 - 0.15 - 0.26) / 3 = -0.33
// forgetting: f0 = max(0.98, 0.60, 0.75) - 0.40 = 0.58; f1 = max(0.70, 0.80) - 0.55 = 0.25;
//   f2 = 0.96 - 0.70 = 0.26; mean = 1.09 / 3 = 0.363333...
// intransigence with a* = (1.00, 0.90, 0.96, 0.99): (0.02 + 0.20 + 0 + 0) / 4 = 0.055
m::accuracy_matrix example_4x4() {
  m::accuracy_matrix r(4);
  r.set(0, 0, 0.98);
  r.set(1, 0, 0.60);
  r.set(1, 1, 0.70);
  r.set(2, 0, 0.75);
  r.set(2, 1, 0.80);
  r.set(2, 2, 0.96);
  r.set(3, 0, 0.40);
  r.set(3, 1, 0.55);
  r.set(3, 2, 0.70);
  r.set(3, 3, 0.99);
  return r;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// A minimal well-formedness check: every tag closes in order, attributes quoted, no stray '<' or
// '&' in text. Returns the element names in document order (start and empty-element tags).
std::vector<std::string> parse_xml_elements(const std::string& doc) {
  std::vector<std::string> stack, seen;
  std::size_t i = 0;
  while (i < doc.size()) {
    if (doc[i] == '&') {
      const std::size_t semi = doc.find(';', i);
      BOOST_REQUIRE(semi != std::string::npos);
      const std::string ent = doc.substr(i, semi - i + 1);
      BOOST_REQUIRE(ent == "&amp;" || ent == "&lt;" || ent == "&gt;" || ent == "&quot;" ||
                    ent == "&apos;");
      i = semi + 1;
      continue;
    }
    if (doc[i] != '<') {
      BOOST_REQUIRE(doc[i] != '>');
      ++i;
      continue;
    }
    // Inside a tag: scan to '>' outside quotes.
    std::size_t j = i + 1;
    char quote = 0;
    while (j < doc.size() && (quote != 0 || doc[j] != '>')) {
      if (quote == 0 && (doc[j] == '"' || doc[j] == '\''))
        quote = doc[j];
      else if (quote != 0 && doc[j] == quote)
        quote = 0;
      else
        BOOST_REQUIRE(doc[j] != '<');
      ++j;
    }
    BOOST_REQUIRE(j < doc.size());
    const std::string tag = doc.substr(i + 1, j - i - 1);
    BOOST_REQUIRE(!tag.empty());
    if (tag[0] == '/') {
      BOOST_REQUIRE(!stack.empty());
      BOOST_REQUIRE_EQUAL(tag.substr(1), stack.back());
      stack.pop_back();
    } else {
      const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
      seen.push_back(name);
      if (tag.back() != '/') stack.push_back(name);
    }
    i = j + 1;
  }
  BOOST_REQUIRE(stack.empty());
  return seen;
}

std::size_t count(const std::vector<std::string>& v, const std::string& x) {
  std::size_t n = 0;
  for (const auto& s : v) n += s == x;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(accuracy_counts_matches) {
  const std::vector<std::int32_t> predicted = {1, 2, 3, 4, 5};
  const std::vector<std::int32_t> truth = {1, 0, 3, 0, 5};
  BOOST_TEST(m::accuracy(predicted, truth) == 0.6, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::accuracy(truth, truth) == 1.0);
}

BOOST_AUTO_TEST_CASE(accuracy_rejects_bad_input) {
  const std::vector<std::int32_t> a = {1, 2, 3}, b = {1, 2}, empty;
  BOOST_CHECK_THROW(m::accuracy(a, b), continua::size_mismatch);
  BOOST_CHECK_THROW(m::accuracy(empty, empty), continua::invalid_argument);
}

BOOST_AUTO_TEST_CASE(matrix_set_at_has) {
  m::accuracy_matrix r(2);
  BOOST_TEST(r.tasks() == 2u);
  BOOST_TEST(!r.has(1, 0));
  r.set(1, 0, 0.25);
  BOOST_TEST(r.has(1, 0));
  BOOST_TEST(r.at(1, 0) == 0.25);
  r.set(1, 0, 0.5);  // overwrite
  BOOST_TEST(r.at(1, 0) == 0.5);
  r.set(0, 0, 0.0);  // both ends of [0, 1] are valid
  r.set(0, 1, 1.0);
  BOOST_TEST(r.at(0, 0) == 0.0);
  BOOST_TEST(r.at(0, 1) == 1.0);
}

BOOST_AUTO_TEST_CASE(matrix_rejects_bad_input_and_keeps_state) {
  BOOST_CHECK_THROW(m::accuracy_matrix(0), continua::invalid_argument);
  // Issue 10: tasks * tasks wrapped to 0 for 2^32 tasks, leaving an empty matrix that set()
  // wrote past. Now the product is checked before anything is allocated.
  try {
    m::accuracy_matrix huge(std::size_t{1} << 32);
    BOOST_FAIL("2^32 tasks must be refused");
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("tasks * tasks = 4294967296 * 4294967296 overflows") !=
               std::string::npos);
  }
  m::accuracy_matrix r(3);
  r.set(1, 1, 0.75);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double bad : {nan, inf, -inf, -0.01, 1.01})
    BOOST_CHECK_THROW(r.set(1, 1, bad), continua::invalid_argument);
  BOOST_TEST(r.at(1, 1) == 0.75);  // untouched by the rejected writes
  BOOST_CHECK_THROW(r.set(3, 0, 0.5), continua::invalid_argument);
  BOOST_CHECK_THROW(r.set(0, 3, 0.5), continua::invalid_argument);
  BOOST_CHECK_THROW(r.at(3, 0), continua::invalid_argument);
  BOOST_CHECK_THROW(r.has(0, 3), continua::invalid_argument);
  BOOST_CHECK_THROW(r.at(0, 0), continua::invalid_argument);  // unset
  try {
    r.at(2, 0);
    BOOST_FAIL("reading an unset entry must throw");
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("R[2][0]") != std::string::npos);
  }
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(r.has(i, j) == (i == 1 && j == 1));
}

BOOST_AUTO_TEST_CASE(hand_computed_3x3) {
  const auto r = example_3x3();
  BOOST_TEST(m::average_accuracy(r, 0) == 0.90, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::average_accuracy(r, 1) == 0.875, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::average_accuracy(r, 2) == 2.47 / 3, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::average_accuracy(r) == 2.47 / 3, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::backward_transfer(r) == -0.15, boost::test_tools::tolerance(tol));
  const std::vector<double> baseline = {0.10, 0.12, 0.08};
  BOOST_TEST(m::forward_transfer(r, baseline) == 0.05, boost::test_tools::tolerance(tol));
  const auto f = m::forgetting_per_task(r);
  BOOST_REQUIRE_EQUAL(f.size(), 2u);
  BOOST_TEST(f[0] == 0.20, boost::test_tools::tolerance(tol));
  BOOST_TEST(f[1] == 0.10, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::forgetting(r) == 0.15, boost::test_tools::tolerance(tol));
  const std::vector<double> joint = {0.93, 0.96, 0.94};
  BOOST_TEST(m::intransigence(r, joint) == 0.02, boost::test_tools::tolerance(tol));
}

BOOST_AUTO_TEST_CASE(hand_computed_4x4_lower_triangular) {
  const auto r = example_4x4();
  BOOST_TEST(m::average_accuracy(r, 0) == 0.98, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::average_accuracy(r, 1) == 0.65, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::average_accuracy(r, 2) == 2.51 / 3, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::average_accuracy(r) == 0.66, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::backward_transfer(r) == -0.33, boost::test_tools::tolerance(tol));
  const auto f = m::forgetting_per_task(r);
  BOOST_REQUIRE_EQUAL(f.size(), 3u);
  BOOST_TEST(f[0] == 0.58, boost::test_tools::tolerance(tol));
  BOOST_TEST(f[1] == 0.25, boost::test_tools::tolerance(tol));
  BOOST_TEST(f[2] == 0.26, boost::test_tools::tolerance(tol));
  BOOST_TEST(m::forgetting(r) == 1.09 / 3, boost::test_tools::tolerance(tol));
  const std::vector<double> joint = {1.00, 0.90, 0.96, 0.99};
  BOOST_TEST(m::intransigence(r, joint) == 0.055, boost::test_tools::tolerance(tol));
  // FWT needs R[j-1][j], never measured here.
  const std::vector<double> baseline = {0.1, 0.1, 0.1, 0.1};
  BOOST_CHECK_THROW(m::forward_transfer(r, baseline), continua::invalid_argument);
  // ACC needs the whole row.
  m::accuracy_matrix partial(2);
  partial.set(1, 1, 0.5);
  BOOST_CHECK_THROW(m::average_accuracy(partial), continua::invalid_argument);
}

// Property: when no task's accuracy ever exceeds its value right after training it, forgetting
// equals -BWT (both reduce to the mean of R[j][j] - R[T-1][j]). Checked on a pseudo-random
// family of such matrices, against a naive loop.
BOOST_AUTO_TEST_CASE(forgetting_equals_minus_bwt_when_peak_is_on_the_diagonal) {
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (std::size_t t = 2; t <= 7; ++t) {
    m::accuracy_matrix r(t);
    double naive = 0;
    for (std::size_t j = 0; j < t; ++j) {
      const double peak = 0.5 + 0.5 * next();
      r.set(j, j, peak);
      for (std::size_t i = j + 1; i < t; ++i) r.set(i, j, peak * next());
      if (j + 1 < t) naive += peak - r.at(t - 1, j);
    }
    naive /= static_cast<double>(t - 1);
    BOOST_TEST(m::forgetting(r) == naive, boost::test_tools::tolerance(tol));
    BOOST_TEST(m::backward_transfer(r) == -naive, boost::test_tools::tolerance(tol));
  }
}

BOOST_AUTO_TEST_CASE(one_task_and_bad_lengths_throw) {
  m::accuracy_matrix r(1);
  r.set(0, 0, 0.9);
  BOOST_TEST(m::average_accuracy(r) == 0.9);
  const std::vector<double> one = {0.1};
  BOOST_CHECK_THROW(m::backward_transfer(r), continua::invalid_argument);
  BOOST_CHECK_THROW(m::forgetting(r), continua::invalid_argument);
  BOOST_CHECK_THROW(m::forgetting_per_task(r), continua::invalid_argument);
  BOOST_CHECK_THROW(m::forward_transfer(r, one), continua::invalid_argument);
  try {
    m::backward_transfer(r);
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find(">= 2 tasks") != std::string::npos);
  }
  BOOST_TEST(m::intransigence(r, std::vector<double>{0.95}) == 0.05,
             boost::test_tools::tolerance(tol));

  const auto r3 = example_3x3();
  BOOST_CHECK_THROW(m::forward_transfer(r3, std::vector<double>{0.1, 0.1}),
                    continua::size_mismatch);
  BOOST_CHECK_THROW(m::intransigence(r3, std::vector<double>{0.1, 0.1, 0.1, 0.1}),
                    continua::size_mismatch);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BOOST_CHECK_THROW(m::forward_transfer(r3, std::vector<double>{0.1, nan, 0.1}),
                    continua::non_finite_error);
  BOOST_CHECK_THROW(m::average_accuracy(r3, 3), continua::invalid_argument);
}

BOOST_AUTO_TEST_CASE(csv_layout) {
  std::ostringstream full;
  m::write_csv(example_3x3(), full);
  BOOST_TEST(full.str() ==
             "trained\\evaluated,task0,task1,task2\n"
             "0,0.900000,0.100000,0.050000\n"
             "1,0.800000,0.950000,0.200000\n"
             "2,0.700000,0.850000,0.920000\n");
  std::ostringstream lower;
  m::write_csv(example_4x4(), lower);
  BOOST_TEST(lower.str() ==
             "trained\\evaluated,task0,task1,task2,task3\n"
             "0,0.980000,,,\n"
             "1,0.600000,0.700000,,\n"
             "2,0.750000,0.800000,0.960000,\n"
             "3,0.400000,0.550000,0.700000,0.990000\n");

  const auto dir = std::filesystem::temp_directory_path() / "continua_test_metrics";
  std::filesystem::create_directories(dir);
  m::write_csv(example_4x4(), dir / "r.csv");
  BOOST_TEST(read_file(dir / "r.csv") == lower.str());
  BOOST_CHECK_THROW(m::write_csv(example_4x4(), dir / "missing" / "r.csv"), continua::io_error);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(table_is_aligned) {
  const std::string table = m::format_table(example_4x4(), 3);
  std::istringstream in(table);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  BOOST_REQUIRE_EQUAL(lines.size(), 5u);  // header + 4 rows
  for (const auto& line : lines) BOOST_TEST(line.size() == lines[0].size());
  BOOST_TEST(lines[1].find("0.980") != std::string::npos);
  BOOST_TEST(lines[1].find('-') != std::string::npos);  // unset entries shown as "-"
  BOOST_TEST(lines[4].find("0.990") != std::string::npos);
  // The value of column j ends where the header's "taskj" ends.
  BOOST_TEST(lines[4].find("0.990") + 5 == lines[0].find("task3") + 5);
  BOOST_CHECK_THROW(m::format_table(example_4x4(), -1), continua::invalid_argument);
}

BOOST_AUTO_TEST_CASE(svg_is_well_formed_with_one_polyline_per_task) {
  const std::string doc = m::svg_document(example_4x4(), "Split <FMNIST> & \"EWC\"");
  BOOST_TEST(doc.rfind("<svg", 0) == 0);
  BOOST_TEST(doc.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  BOOST_TEST(doc.find("<FMNIST>") == std::string::npos);  // escaped
  BOOST_TEST(doc.find("Split &lt;FMNIST&gt; &amp; &quot;EWC&quot;") != std::string::npos);
  const auto elements = parse_xml_elements(doc);
  BOOST_TEST(count(elements, "svg") == 1u);
  BOOST_TEST(count(elements, "polyline") == 4u);
  // Markers: one per set entry with i >= j, 10 in the lower triangle.
  BOOST_TEST(count(elements, "circle") == 10u);
  for (const char* tick : {">0.0<", ">0.2<", ">0.4<", ">0.6<", ">0.8<", ">1.0<"})
    BOOST_TEST(doc.find(tick) != std::string::npos);
  for (int j = 0; j < 4; ++j)
    BOOST_TEST(doc.find(">task " + std::to_string(j) + "<") != std::string::npos);  // legend

  // Task 0's polyline has T = 4 points; its y coordinates are monotone in accuracy.
  const std::size_t p = doc.find("points=\"");
  const std::string pts = doc.substr(p + 8, doc.find('"', p + 8) - p - 8);
  std::istringstream in(pts);
  std::vector<double> ys;
  for (std::string xy; in >> xy;) ys.push_back(std::stod(xy.substr(xy.find(',') + 1)));
  BOOST_REQUIRE_EQUAL(ys.size(), 4u);
  // R[.][0] = 0.98, 0.60, 0.75, 0.40: higher accuracy is drawn higher (smaller y).
  BOOST_TEST(ys[0] < ys[2]);
  BOOST_TEST(ys[2] < ys[1]);
  BOOST_TEST(ys[1] < ys[3]);
  // Linear map: (y(0.98) - y(0.40)) / (y(0.60) - y(0.40)) = 0.58 / 0.20.
  BOOST_TEST((ys[0] - ys[3]) / (ys[1] - ys[3]) == 0.58 / 0.20, boost::test_tools::tolerance(1e-3));

  const auto dir = std::filesystem::temp_directory_path() / "continua_test_metrics_svg";
  std::filesystem::create_directories(dir);
  m::write_svg(example_4x4(), dir / "r.svg", "Split <FMNIST> & \"EWC\"");
  BOOST_TEST(read_file(dir / "r.svg") == doc);
  BOOST_CHECK_THROW(m::write_svg(example_4x4(), dir / "missing" / "r.svg", "x"),
                    continua::io_error);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(svg_single_task) {
  m::accuracy_matrix r(1);
  r.set(0, 0, 0.5);
  const auto elements = parse_xml_elements(m::svg_document(r, "one"));
  BOOST_TEST(count(elements, "polyline") == 1u);
  BOOST_TEST(count(elements, "circle") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
