#include "ragbench/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ragd::bench {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e6) std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  else if (a >= 1e4) std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// Value axes start at zero (a chart of QPS or latency that does not is misleading) and get
// some headroom; the x axis spans the data.
Range value_range(Range r) {
  if (r.empty()) return {0, 1};
  r.lo = std::min(0.0, r.lo);
  if (r.hi <= r.lo) r.hi = r.lo + 1;
  r.hi *= 1.08;
  return r;
}

void render_panel(std::string& out, const ChartPanel& p, int width, int height, int top) {
  const double left = 80, right = width - 80.0, plot_top = top + 48.0, plot_bottom = top + height - 56.0;
  Range xr, yl, yr;
  for (double x : p.x) xr.add(x);
  if (xr.empty()) xr = {0, 1};
  if (xr.hi == xr.lo) xr.hi = xr.lo + 1;
  bool any_right = false;
  for (const auto& s : p.series) {
    for (double y : s.y) (s.right_axis ? yr : yl).add(y);
    any_right = any_right || s.right_axis;
  }
  const auto lticks = nice_ticks(value_range(yl).lo, value_range(yl).hi);
  const auto rticks = nice_ticks(value_range(yr).lo, value_range(yr).hi);
  const auto xticks = nice_ticks(xr.lo, xr.hi, 8);
  const double ly0 = lticks.front(), ly1 = lticks.back();
  const double ry0 = rticks.front(), ry1 = rticks.back();
  auto sx = [&](double x) { return left + (x - xr.lo) / (xr.hi - xr.lo) * (right - left); };
  auto sy = [&](double y, bool r) {
    const double lo = r ? ry0 : ly0, hi = r ? ry1 : ly1;
    return plot_bottom - (y - lo) / (hi - lo) * (plot_bottom - plot_top);
  };

  out += "<g class=\"panel\">\n";
  out += "<text x=\"" + num(width / 2.0) + "\" y=\"" + num(top + 24.0) +
         "\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">" + xml_escape(p.title) + "</text>\n";
  // Grid and left ticks.
  for (double t : lticks) {
    const double y = sy(t, false);
    out += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(right) + "\" y2=\"" + num(y) +
           "\" stroke=\"#e5e5e5\"/>\n";
    out += "<text x=\"" + num(left - 6) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\" font-size=\"11\">" +
           tick_label(t) + "</text>\n";
  }
  if (any_right) {
    for (double t : rticks) {
      out += "<text x=\"" + num(right + 6) + "\" y=\"" + num(sy(t, true) + 4) + "\" font-size=\"11\">" +
             tick_label(t) + "</text>\n";
    }
  }
  for (double t : xticks) {
    if (t < xr.lo - 1e-9 || t > xr.hi + 1e-9) continue;
    out += "<text x=\"" + num(sx(t)) + "\" y=\"" + num(plot_bottom + 16) + "\" text-anchor=\"middle\" font-size=\"11\">" +
           tick_label(t) + "</text>\n";
  }
  out += "<rect x=\"" + num(left) + "\" y=\"" + num(plot_top) + "\" width=\"" + num(right - left) + "\" height=\"" +
         num(plot_bottom - plot_top) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  out += "<text x=\"" + num((left + right) / 2) + "\" y=\"" + num(plot_bottom + 36) +
         "\" text-anchor=\"middle\" font-size=\"12\">" + xml_escape(p.x_label) + "</text>\n";
  out += "<text transform=\"translate(" + num(left - 54) + "," + num((plot_top + plot_bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + xml_escape(p.left_label) + "</text>\n";
  if (any_right) {
    out += "<text transform=\"translate(" + num(right + 56) + "," + num((plot_top + plot_bottom) / 2) +
           ") rotate(90)\" text-anchor=\"middle\" font-size=\"12\">" + xml_escape(p.right_label) + "</text>\n";
  }

  double legend_x = left;
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const std::string color = s.color.empty() ? kPalette[i % std::size(kPalette)] : s.color;
    const std::string dash = s.right_axis ? " stroke-dasharray=\"6 3\"" : "";
    // A NaN breaks the line: each run of finite points is its own polyline.
    std::string points;
    auto flush = [&] {
      if (!points.empty()) {
        out += "<polyline class=\"series\" data-series=\"" + xml_escape(s.name) + "\" fill=\"none\" stroke=\"" +
               color + "\" stroke-width=\"2\"" + dash + " points=\"" + points + "\"/>\n";
      }
      points.clear();
    };
    for (std::size_t k = 0; k < s.y.size() && k < p.x.size(); ++k) {
      if (!std::isfinite(s.y[k])) {
        flush();
        continue;
      }
      if (!points.empty()) points += ' ';
      points += num(sx(p.x[k])) + "," + num(sy(s.y[k], s.right_axis));
    }
    flush();
    if (p.markers) {
      for (std::size_t k = 0; k < s.y.size() && k < p.x.size(); ++k) {
        if (!std::isfinite(s.y[k])) continue;
        out += "<circle cx=\"" + num(sx(p.x[k])) + "\" cy=\"" + num(sy(s.y[k], s.right_axis)) + "\" r=\"3\" fill=\"" +
               color + "\"/>\n";
      }
    }
    const std::string label = s.name + (s.right_axis && any_right ? " (right)" : "");
    out += "<line x1=\"" + num(legend_x) + "\" y1=\"" + num(top + 38.0) + "\" x2=\"" + num(legend_x + 18) + "\" y2=\"" +
           num(top + 38.0) + "\" stroke=\"" + color + "\" stroke-width=\"2\"" + dash + "/>\n";
    out += "<text x=\"" + num(legend_x + 22) + "\" y=\"" + num(top + 42.0) + "\" font-size=\"12\">" +
           xml_escape(label) + "</text>\n";
    legend_x += 34 + 7.0 * static_cast<double>(label.size());
  }
  out += "</g>\n";
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (hi <= lo) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, count);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step) * step;
  for (double t = first; t < hi + step * 0.999; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    if (ticks.size() > 100) break;
  }
  if (ticks.size() < 2) ticks.push_back(first + step);
  return ticks;
}

std::string render_svg(const std::vector<ChartPanel>& panels, int width, int panel_height) {
  const int height = panel_height * std::max<int>(1, static_cast<int>(panels.size()));
  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
         std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
         "\" font-family=\"sans-serif\">\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (std::size_t i = 0; i < panels.size(); ++i) {
    render_panel(out, panels[i], width, panel_height, static_cast<int>(i) * panel_height);
  }
  out += "</svg>\n";
  return out;
}

}  // namespace ragd::bench
