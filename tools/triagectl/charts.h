// Charts of report volumes for `triagectl stats volumes`: a bar chart for the terminal, the
// table that goes under it, and a standalone SVG document to attach to a written report.
//
// Pure functions of a series the server has already suppressed (no I/O, no gRPC): the
// server's small-count suppression stays the only source of truth, and all these have to
// do is show a suppressed point as such and never print a count for it. A suppressed
// point's value is ignored even if a caller sets one, so a hidden count cannot leak here.
// Titles and labels can carry user-supplied names (regions), so the terminal output has
// control characters replaced (no escape sequences reach the terminal) and the SVG text
// is XML-escaped.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_CHARTS_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_CHARTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace safeguarding::tools {

struct ChartPoint {
  // The period: "2026-03-23" (day), "2026-W13" (week) or "2026-03" (month).
  std::string label;
  uint64_t value = 0;
  // True: the real count is 1..k-1 and hidden; value is 0.
  bool suppressed = false;
};

struct ChartSeries {
  std::string title;  // e.g. "REPORTER_TYPE=PROFESSIONAL"
  std::vector<ChartPoint> points;
};

struct ChartOptions {
  int width = 80;              // terminal columns for the plot (1..1000), not counting the y-axis
  int height = 10;             // rows of the plot (1..200)
  bool unicode = true;         // false: ASCII only ('#', ':', '.', '~', '|', '+', '-')
  uint64_t minimum_count = 5;  // k, for the legend "fewer than 5"
};

// A bar chart: y-axis labels (max, half, 0), bars in eighth-row resolution over `height`
// rows, the first, middle and last period under it. When there are more points than
// columns, each column is the mean of a fixed number of consecutive points and a caption
// says so ("each column = 5 days, mean"). A suppressed point is drawn as a light shade
// ('~' in ASCII) in the bottom row, or on the x-axis under a merged column whose bar is not
// empty, and a legend line explains the marker; both appear iff some point is suppressed.
// Every line is at most ChartAxisWidth() + width code points wide.
std::string RenderTerminalChart(const ChartSeries& series, const ChartOptions& options);

// Columns of RenderTerminalChart's lines left of the plot: the widest y label, a space and
// the axis. 0 for an empty series (there is no axis).
int ChartAxisWidth(const ChartSeries& series, const ChartOptions& options);

// One line per point, "label  value" (a suppressed point shows "<5"), then a total line.
// The caller passes the total because it may itself be suppressed.
std::string RenderTable(const ChartSeries& series, uint64_t total, bool total_suppressed,
                        uint64_t minimum_count);

// A standalone SVG document, one panel per series stacked vertically (title, y-axis with
// ticks, bars, first/middle/last period), suppressed points as a grey hatched marker with a
// legend, and <title>/<desc> for screen readers.
std::string RenderSvg(const std::string& title, const std::vector<ChartSeries>& series,
                      uint64_t minimum_count);

// "1,234,567".
std::string FormatCount(uint64_t value);

// Text for XML content and attribute values: & < > " ' escaped, and what XML 1.0 cannot
// carry at all (control characters, invalid UTF-8) replaced by U+FFFD.
std::string EscapeXml(absl::string_view text);

// The number of UTF-8 code points: what the width limits above are measured in.
int DisplayWidth(absl::string_view text);

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_CHARTS_H_
