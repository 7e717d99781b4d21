// SVG plot of an accuracy matrix: accuracy on each task across the training phases after it.
// The usual figure of Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning",
// NeurIPS 2017; a self-contained SVG 1.1 file, no plotting library needed.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "continua/core/error.hpp"
#include "continua/metrics/accuracy_matrix.hpp"

namespace continua::metrics {

namespace detail {

inline std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0 at all.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
    }
  }
  return out;
}

inline std::string fixed(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Colour-blind-safe palette (Okabe & Ito); cycles after eight tasks.
inline const char* task_colour(std::size_t j) {
  static constexpr const char* colours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                            "#E69F00", "#56B4E9", "#F0E442", "#000000"};
  return colours[j % 8];
}

}  // namespace detail

// The SVG document as a string: axes, y ticks 0..1, x ticks per training phase, a legend, and for
// each task j a polyline with markers through (i, R[i][j]) for the set entries with i >= j.
inline std::string svg_document(const accuracy_matrix& r, std::string_view title) {
  const std::size_t t = r.tasks();
  const double width = 720, height = 420;
  const double left = 70, right = 150, top = 50, bottom = 60;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto x_of = [&](std::size_t i) {
    return t == 1 ? left + plot_w / 2
                  : left + plot_w * static_cast<double>(i) / static_cast<double>(t - 1);
  };
  auto y_of = [&](double a) { return top + plot_h * (1.0 - a); };
  using detail::fixed;

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + fixed(width, 0) +
       "\" height=\"" + fixed(height, 0) + "\" viewBox=\"0 0 " + fixed(width, 0) + " " +
       fixed(height, 0) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<title>" + detail::xml_escape(title) + "</title>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + fixed(width, 0) + "\" height=\"" + fixed(height, 0) +
       "\" fill=\"white\"/>\n";
  s += "<text x=\"" + fixed(width / 2) + "\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">" +
       detail::xml_escape(title) + "</text>\n";

  // Grid and y ticks at 0, 0.2, ..., 1.
  s += "<g stroke=\"#dddddd\" stroke-width=\"1\">\n";
  for (int k = 0; k <= 5; ++k) {
    const double y = y_of(k / 5.0);
    s += "<line x1=\"" + fixed(left) + "\" y1=\"" + fixed(y) + "\" x2=\"" + fixed(left + plot_w) +
         "\" y2=\"" + fixed(y) + "\"/>\n";
  }
  s += "</g>\n<g text-anchor=\"end\">\n";
  for (int k = 0; k <= 5; ++k)
    s += "<text x=\"" + fixed(left - 8) + "\" y=\"" + fixed(y_of(k / 5.0) + 4) + "\">" +
         fixed(k / 5.0, 1) + "</text>\n";
  s += "</g>\n<g text-anchor=\"middle\">\n";
  for (std::size_t i = 0; i < t; ++i)
    s += "<text x=\"" + fixed(x_of(i)) + "\" y=\"" + fixed(top + plot_h + 18) + "\">" +
         std::to_string(i) + "</text>\n";
  s += "</g>\n";
  s += "<g stroke=\"black\" stroke-width=\"1.5\">\n<line x1=\"" + fixed(left) + "\" y1=\"" +
       fixed(top) + "\" x2=\"" + fixed(left) + "\" y2=\"" + fixed(top + plot_h) + "\"/>\n";
  s += "<line x1=\"" + fixed(left) + "\" y1=\"" + fixed(top + plot_h) + "\" x2=\"" +
       fixed(left + plot_w) + "\" y2=\"" + fixed(top + plot_h) + "\"/>\n</g>\n";
  s += "<text x=\"" + fixed(left + plot_w / 2) + "\" y=\"" + fixed(height - 15) +
       "\" text-anchor=\"middle\">after training task</text>\n";
  s += "<text x=\"18\" y=\"" + fixed(top + plot_h / 2) +
       "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " + fixed(top + plot_h / 2) +
       ")\">accuracy</text>\n";

  for (std::size_t j = 0; j < t; ++j) {
    const char* colour = detail::task_colour(j);
    std::string points;
    std::string markers;
    for (std::size_t i = j; i < t; ++i) {
      if (!r.has(i, j)) continue;
      const std::string x = fixed(x_of(i)), y = fixed(y_of(r.at(i, j)));
      points += (points.empty() ? "" : " ") + x + "," + y;
      markers += "<circle cx=\"" + x + "\" cy=\"" + y + "\" r=\"3.5\"/>\n";
    }
    s += "<g fill=\"" + std::string(colour) + "\" stroke=\"" + colour + "\">\n";
    s += "<polyline fill=\"none\" stroke-width=\"2\" points=\"" + points + "\"/>\n";
    s += markers;
    const double ly = top + 10 + 20 * static_cast<double>(j);
    s += "<rect x=\"" + fixed(left + plot_w + 20) + "\" y=\"" + fixed(ly - 6) +
         "\" width=\"16\" height=\"4\"/>\n";
    s += "<text x=\"" + fixed(left + plot_w + 42) + "\" y=\"" + fixed(ly) +
         "\" stroke=\"none\" fill=\"black\">task " + std::to_string(j) + "</text>\n</g>\n";
  }
  s += "</svg>\n";
  return s;
}

// Writes svg_document(r, title) to path; io_error when the file cannot be written.
inline void write_svg(const accuracy_matrix& r, const std::filesystem::path& path,
                      std::string_view title) {
  const std::string doc = svg_document(r, title);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw io_error("continua::metrics::write_svg: cannot open '" + path.string() + "' for writing");
  out << doc;
  out.close();
  if (!out) throw io_error("continua::metrics::write_svg: writing '" + path.string() + "' failed");
}

}  // namespace continua::metrics
