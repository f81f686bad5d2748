// A hand-written SVG line chart: one or more panels stacked vertically, each with an x axis,
// a left and an optional right y axis, and named series (one <polyline> per series, with a
// data-series attribute so tests and tools can find them). No library: the output is a
// plain, self-contained SVG file that a browser opens.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ragd::bench {

struct ChartSeries {
  std::string name;
  std::vector<double> y;  // one per x; NaN leaves a gap
  bool right_axis = false;
  std::string color;      // CSS colour; empty = from the palette
};

struct ChartPanel {
  std::string title;
  std::string x_label;
  std::string left_label;
  std::string right_label;  // empty when no series uses the right axis
  std::vector<double> x;
  std::vector<ChartSeries> series;
  bool markers = true;  // dots on each point (for a few points, not for a soak's thousands)
};

std::string render_svg(const std::vector<ChartPanel>& panels, int width = 960, int panel_height = 380);

// Escapes &, <, >, " for XML text and attributes.
std::string xml_escape(std::string_view s);

// Round axis ticks covering [lo, hi]: about `count` multiples of 1, 2 or 5 x 10^k.
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

}  // namespace ragd::bench
