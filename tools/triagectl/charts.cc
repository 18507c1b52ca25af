#include "tools/triagectl/charts.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tools/triagectl/text.h"

namespace safeguarding::tools {
namespace {

// Bounds on the options, so a mistyped flag cannot make a gigabyte of output.
constexpr int kMaxWidth = 1000;
constexpr int kMaxHeight = 200;

ChartSeries CleanSeries(const ChartSeries& series, bool unicode) {
  ChartSeries clean{CleanText(series.title, unicode), series.points};
  for (ChartPoint& point : clean.points) {
    point.label = CleanText(point.label, unicode);
    if (point.suppressed) point.value = 0;  // never draw a hidden count
  }
  return clean;
}

// The code points of (valid UTF-8) text, one string each, for placing text in cells.
std::vector<std::string> CodePoints(absl::string_view text) {
  std::vector<std::string> out;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 || out.empty()) out.emplace_back();
    out.back().push_back(c);
  }
  return out;
}

std::string PrefixOfWidth(absl::string_view text, int width) {
  std::vector<std::string> cps = CodePoints(text);
  cps.resize(std::min<size_t>(cps.size(), width));
  return absl::StrJoin(cps, "");
}

// Greedy word wrap to `width` code points; a word longer than a line is broken.
std::vector<std::string> WrapText(absl::string_view text, int width) {
  std::vector<std::string> lines;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    std::string rest(word);
    while (DisplayWidth(rest) > width) {
      if (!line.empty()) lines.push_back(std::exchange(line, ""));
      lines.push_back(PrefixOfWidth(rest, width));
      rest = rest.substr(lines.back().size());
    }
    if (rest.empty()) continue;
    if (line.empty()) {
      line = rest;
    } else if (DisplayWidth(line) + 1 + DisplayWidth(rest) <= width) {
      absl::StrAppend(&line, " ", rest);
    } else {
      lines.push_back(std::exchange(line, rest));
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

void AppendWrapped(std::vector<std::string>* lines, absl::string_view text, int width) {
  for (std::string& line : WrapText(text, width)) lines->push_back(std::move(line));
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) absl::StrAppend(&out, line, "\n");
  return out;
}

void StripTrailingSpaces(std::string* line) { line->erase(line->find_last_not_of(' ') + 1); }

// --- The terminal chart ---

struct Glyphs {
  const char* cell[9];  // by the eighths of the cell that are filled
  const char* suppressed;
  const char* axis;
  const char* tick;
  const char* corner;
  const char* rule;
};
constexpr Glyphs kUnicodeGlyphs = {
    {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}, "░", "│", "┤", "└", "─"};
// ASCII has no eighths: a cell is a low part, a high part or full.
constexpr Glyphs kAsciiGlyphs = {
    {" ", ".", ".", ".", ":", ":", ":", ":", "#"}, "~", "|", "+", "+", "-"};

struct Column {
  size_t first = 0;  // index of its first point
  size_t count = 0;  // points merged into it
  double mean = 0;
  uint64_t mean_ceil = 0;  // exact, so the max label is the exact max when nothing is merged
  bool any_suppressed = false;
  int eighths = 0;  // of the bar, over all rows
};

struct Plot {
  std::vector<Column> columns;
  size_t group = 1;  // points per column
  uint64_t top = 0;  // the value of the top row's upper edge
  bool any_suppressed = false;
  std::vector<std::string> y_labels;  // per row, top first; "" for none
  int axis_width = 0;
};

// The mean of points[first, first + count) without overflow: the sum of values near 2^64
// does not fit, so sum the quotients and the remainders separately.
Column MergePoints(const std::vector<ChartPoint>& points, size_t first, size_t count) {
  Column column;
  column.first = first;
  column.count = count;
  uint64_t quotient = 0;
  uint64_t remainder = 0;
  for (size_t i = first; i < first + count; ++i) {
    quotient += points[i].value / count;
    remainder += points[i].value % count;
    column.any_suppressed = column.any_suppressed || points[i].suppressed;
  }
  quotient += remainder / count;
  remainder %= count;
  column.mean_ceil = quotient + (remainder > 0 ? 1 : 0);
  column.mean =
      static_cast<double>(quotient) + static_cast<double>(remainder) / static_cast<double>(count);
  return column;
}

// Any count above zero gets at least one eighth, so a small count next to a huge one is not
// mistaken for zero.
int Eighths(double value, uint64_t top, int height) {
  if (value <= 0 || top == 0) return 0;
  const double full = 8.0 * height;
  const long eighths = std::lround(value / static_cast<double>(top) * full);
  return static_cast<int>(std::clamp<long>(eighths, 1, static_cast<long>(full)));
}

std::vector<std::string> YLabels(uint64_t top, int height) {
  std::vector<std::string> labels(height);
  labels[height - 1] = "0";
  if (top == 0) return labels;
  labels[0] = FormatCount(top);  // with one row, it shows the max rather than 0
  if (height >= 3) {
    // Half of an odd top: a count of reports has no halves, so from 100 (where half a
    // report is well under an eighth of a row) it is rounded; below, "1.5" is exact.
    labels[height / 2] = top % 2 == 0 ? FormatCount(top / 2)
                         : top >= 100 ? FormatCount(top / 2 + 1)
                                      : absl::StrCat(top / 2, ".5");
  }
  return labels;
}

Plot PlanPlot(const std::vector<ChartPoint>& points, int width, int height) {
  Plot plot;
  const size_t n = points.size();
  plot.group = (n + width - 1) / width;
  for (size_t first = 0; first < n; first += plot.group) {
    plot.columns.push_back(MergePoints(points, first, std::min(plot.group, n - first)));
  }
  for (const Column& column : plot.columns) {
    plot.top = std::max(plot.top, column.mean_ceil);
    plot.any_suppressed = plot.any_suppressed || column.any_suppressed;
  }
  for (Column& column : plot.columns) column.eighths = Eighths(column.mean, plot.top, height);
  plot.y_labels = YLabels(plot.top, height);
  int label_width = 0;
  for (const std::string& label : plot.y_labels) {
    label_width = std::max(label_width, DisplayWidth(label));
  }
  plot.axis_width = label_width + 2;
  return plot;
}

std::string PlotRow(const Plot& plot, int row, const Glyphs& glyphs) {
  const std::string& label = plot.y_labels[row];
  std::string line = absl::StrCat(std::string(plot.axis_width - 2 - label.size(), ' '), label, " ",
                                  label.empty() ? glyphs.axis : glyphs.tick);
  const int level = static_cast<int>(plot.y_labels.size()) - 1 - row;  // 0: bottom row
  for (const Column& column : plot.columns) {
    const int cell = std::clamp(column.eighths - level * 8, 0, 8);
    const bool marker = level == 0 && column.eighths == 0 && column.any_suppressed;
    line += marker ? glyphs.suppressed : glyphs.cell[cell];
  }
  StripTrailingSpaces(&line);
  return line;
}

// Under a merged column whose bar hides its bottom row, the marker goes on the axis.
std::string AxisRule(const Plot& plot, const Glyphs& glyphs) {
  std::string line = absl::StrCat(std::string(plot.axis_width - 1, ' '), glyphs.corner);
  for (const Column& column : plot.columns) {
    line += column.any_suppressed && column.eighths > 0 ? glyphs.suppressed : glyphs.rule;
  }
  return line;
}

void Place(std::vector<std::string>* cells, const std::vector<std::string>& text, int start) {
  for (size_t i = 0; i < text.size(); ++i) (*cells)[start + i] = text[i];
}

// The first period at the left edge, the last ending under the last column (or further
// right if it needs the room), the middle one centred under the middle column if it fits
// between them. When even the first and last do not fit, a "from .. to .." line instead:
// a label cut short would name another period ("2026-03-23" cut to "2026-03").
void AppendXLabels(std::vector<std::string>* lines, const std::vector<ChartPoint>& points,
                   const Plot& plot, int width) {
  const auto ncols = static_cast<int>(plot.columns.size());
  const std::vector<std::string> first = CodePoints(points.front().label);
  const std::vector<std::string> last = CodePoints(points.back().label);
  const auto first_end = static_cast<int>(first.size());
  const int last_end = std::max(ncols, first_end + 1 + static_cast<int>(last.size()));
  const bool several = points.size() > 1;
  if (first_end > width || (several && last_end > width)) {
    const std::string range =
        several ? absl::StrCat("from ", points.front().label, " to ", points.back().label)
                : points.front().label;
    AppendWrapped(lines, range, plot.axis_width + width);
    return;
  }
  std::vector<std::string> cells(width, " ");
  Place(&cells, first, 0);
  int free_end = width;  // the middle label must end before this
  if (several) {
    Place(&cells, last, last_end - static_cast<int>(last.size()));
    free_end = last_end - static_cast<int>(last.size()) - 1;
  }
  if (ncols >= 3) {
    const std::vector<std::string> middle = CodePoints(points[plot.columns[ncols / 2].first].label);
    const int start = std::max(ncols / 2 - static_cast<int>(middle.size()) / 2, first_end + 1);
    if (start + static_cast<int>(middle.size()) <= free_end) Place(&cells, middle, start);
  }
  std::string line = absl::StrCat(std::string(plot.axis_width, ' '), absl::StrJoin(cells, ""));
  StripTrailingSpaces(&line);
  lines->push_back(line);
}

// "day"/"week"/"month" from the label's shape, for the caption.
std::string PeriodNoun(absl::string_view label, size_t count) {
  std::string noun = "period";
  if (label.size() == 10 && label[4] == '-' && label[7] == '-') {
    noun = "day";
  } else if (label.size() >= 7 && label[4] == '-' && label[5] == 'W') {
    noun = "week";
  } else if (label.size() == 7 && label[4] == '-') {
    noun = "month";
  }
  return count == 1 ? noun : absl::StrCat(noun, "s");
}

void AppendNotes(std::vector<std::string>* lines, absl::string_view period, const Plot& plot,
                 const Glyphs& glyphs, uint64_t minimum_count, int line_width) {
  if (plot.group > 1) {
    std::string caption =
        absl::StrCat("each column = ", plot.group, " ", PeriodNoun(period, plot.group), ", mean");
    const size_t last_count = plot.columns.back().count;
    if (last_count != plot.group) {
      absl::StrAppend(&caption, ", last column = ", last_count, " ",
                      PeriodNoun(period, last_count));
    }
    if (plot.any_suppressed) {
      absl::StrAppend(&caption, "; suppressed ", PeriodNoun(period, 2), " count as 0");
    }
    AppendWrapped(lines, caption, line_width);
  }
  if (plot.top == 0) {
    AppendWrapped(lines,
                  plot.any_suppressed
                      ? absl::StrCat("every count is below ", FormatCount(minimum_count))
                      : "all counts are 0",
                  line_width);
  }
  if (plot.any_suppressed) {
    AppendWrapped(lines,
                  absl::StrCat(glyphs.suppressed, " fewer than ", FormatCount(minimum_count),
                               " (suppressed)"),
                  line_width);
  }
}

// --- SVG ---

constexpr double kSvgWidth = 720;
constexpr double kPlotLeft = 72;
constexpr double kPlotWidth = kSvgWidth - kPlotLeft - 16;
constexpr double kPanelHeight = 200;
constexpr double kPlotTop = 34;  // within a panel
constexpr double kPlotHeight = 130;
constexpr double kPlotBottom = kPlotTop + kPlotHeight;
constexpr double kSuppressedHeight = 6;
constexpr char kBarColour[] = "#3b6ea5";

bool AnySuppressed(const std::vector<ChartSeries>& series) {
  for (const ChartSeries& s : series) {
    for (const ChartPoint& point : s.points) {
      if (point.suppressed) return true;
    }
  }
  return false;
}

uint64_t MaxValue(const ChartSeries& series) {
  uint64_t top = 0;
  for (const ChartPoint& point : series.points) {
    if (!point.suppressed) top = std::max(top, point.value);
  }
  return top;
}

// 1, 2 or 5 times a power of ten, so that at most four steps reach `top`.
uint64_t NiceStep(uint64_t top) {
  const uint64_t target = std::max<uint64_t>(1, top / 4 + (top % 4 != 0 ? 1 : 0));
  for (uint64_t magnitude = 1;; magnitude *= 10) {
    for (const uint64_t m : {1, 2, 5}) {
      if (m * magnitude >= target) return m * magnitude;
    }
    if (magnitude > std::numeric_limits<uint64_t>::max() / 100) return target;
  }
}

std::string SvgHeader(const std::string& title, const std::vector<ChartSeries>& series,
                      uint64_t minimum_count, double height) {
  const std::string k = FormatCount(minimum_count);
  std::vector<std::string> titles;
  for (const ChartSeries& s : series) titles.push_back(s.title);
  std::string desc = absl::StrCat("Bar charts of report counts per period, ", series.size(),
                                  " series: ", absl::StrJoin(titles, "; "), ".");
  if (AnySuppressed(series)) {
    absl::StrAppend(&desc, " Counts above 0 but fewer than ", k,
                    " are suppressed and drawn as grey hatched markers.");
  }
  std::string out = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
      "height=\"%.0f\" role=\"img\" aria-labelledby=\"chart-title chart-desc\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<title id=\"chart-title\">%s</title>\n<desc id=\"chart-desc\">%s</desc>\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
      "<text x=\"16\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s</text>\n",
      kSvgWidth, height, kSvgWidth, height, EscapeXml(title), EscapeXml(desc), EscapeXml(title));
  if (AnySuppressed(series)) {
    absl::StrAppend(
        &out,
        "<defs><pattern id=\"suppressed-hatch\" width=\"4\" height=\"4\" "
        "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
        "<rect width=\"4\" height=\"4\" fill=\"#d9d9d9\"/>"
        "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#555\" stroke-width=\"1.5\"/>"
        "</pattern></defs>\n",
        "<rect x=\"16\" y=\"36\" width=\"12\" height=\"12\" fill=\"url(#suppressed-hatch)\" "
        "stroke=\"#555\" stroke-width=\"0.5\"/>\n",
        absl::StrFormat("<text x=\"34\" y=\"46\">fewer than %s (suppressed)</text>\n",
                        EscapeXml(k)));
  }
  return out;
}

void SvgYAxis(std::string* out, uint64_t top, double scale) {
  absl::StrAppendFormat(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" %s/>\n",
                        kPlotLeft, kPlotTop, kPlotLeft, kPlotBottom, "stroke=\"#333\"");
  absl::StrAppendFormat(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" %s/>\n",
                        kPlotLeft, kPlotBottom, kPlotLeft + kPlotWidth, kPlotBottom,
                        "stroke=\"#333\"");
  const uint64_t step = NiceStep(top);
  for (uint64_t i = 0; top == 0 ? i == 0 : i <= top / step; ++i) {
    const double y = kPlotBottom - static_cast<double>(i * step) / scale * kPlotHeight;
    if (i > 0) {
      absl::StrAppendFormat(out,
                            "<line x1=\"%.0f\" y1=\"%.2f\" x2=\"%.0f\" y2=\"%.2f\" "
                            "stroke=\"#e5e5e5\"/>\n",
                            kPlotLeft, y, kPlotLeft + kPlotWidth, y);
    }
    absl::StrAppendFormat(out,
                          "<line x1=\"%.0f\" y1=\"%.2f\" x2=\"%.0f\" y2=\"%.2f\" stroke=\"#333\"/>"
                          "<text x=\"%.0f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
                          kPlotLeft - 4, y, kPlotLeft, y, kPlotLeft - 6, y + 4,
                          FormatCount(i * step));
  }
}

void SvgBars(std::string* out, const ChartSeries& series, double scale, uint64_t minimum_count) {
  const double slot = kPlotWidth / static_cast<double>(series.points.size());
  const double gap = slot >= 4 ? slot * 0.2 : 0;
  for (size_t i = 0; i < series.points.size(); ++i) {
    const ChartPoint& point = series.points[i];
    const double x = kPlotLeft + static_cast<double>(i) * slot + gap / 2;
    if (point.suppressed) {
      absl::StrAppendFormat(out,
                            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                            "fill=\"url(#suppressed-hatch)\" stroke=\"#555\" stroke-width=\"0.5\">"
                            "<title>%s: fewer than %s (suppressed)</title></rect>\n",
                            x, kPlotBottom - kSuppressedHeight, slot - gap, kSuppressedHeight,
                            EscapeXml(point.label), FormatCount(minimum_count));
      continue;
    }
    const double height = static_cast<double>(point.value) / scale * kPlotHeight;
    absl::StrAppendFormat(out,
                          "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                          "fill=\"%s\"><title>%s: %s</title></rect>\n",
                          x, kPlotBottom - height, slot - gap, height, kBarColour,
                          EscapeXml(point.label), FormatCount(point.value));
  }
}

void SvgXLabels(std::string* out, const ChartSeries& series) {
  const size_t n = series.points.size();
  const double slot = kPlotWidth / static_cast<double>(n);
  const double y = kPlotBottom + 16;
  auto label = [&](size_t i, double x, const char* anchor) {
    absl::StrAppendFormat(out, "<text x=\"%.2f\" y=\"%.0f\" text-anchor=\"%s\">%s</text>\n", x, y,
                          anchor, EscapeXml(series.points[i].label));
  };
  if (n == 1) {
    label(0, kPlotLeft + slot / 2, "middle");
    return;
  }
  label(0, kPlotLeft, "start");
  if (n >= 3) label(n / 2, kPlotLeft + (static_cast<double>(n / 2) + 0.5) * slot, "middle");
  label(n - 1, kPlotLeft + kPlotWidth, "end");
}

void SvgPanel(std::string* out, const ChartSeries& series, double y0, uint64_t minimum_count) {
  const uint64_t top = MaxValue(series);
  std::string summary = absl::StrCat(series.title, ": no data in range");
  if (!series.points.empty()) {
    summary = absl::StrCat(series.title, ": ", series.points.size(), " periods from ",
                           series.points.front().label, " to ", series.points.back().label,
                           ", highest count ", FormatCount(top));
  }
  absl::StrAppendFormat(out,
                        "<g transform=\"translate(0,%.0f)\"><title>%s</title>\n"
                        "<text x=\"16\" y=\"18\" font-size=\"13\" font-weight=\"bold\">%s</text>\n",
                        y0, EscapeXml(summary), EscapeXml(series.title));
  if (series.points.empty()) {
    absl::StrAppendFormat(out, "<text x=\"%.0f\" y=\"%.0f\">no data in range</text>\n", kPlotLeft,
                          kPlotTop + kPlotHeight / 2);
  } else {
    // All zeros: any scale gives flat bars; 1 avoids dividing by zero.
    const double scale = top == 0 ? 1.0 : static_cast<double>(top);
    SvgYAxis(out, top, scale);
    SvgBars(out, series, scale, minimum_count);
    SvgXLabels(out, series);
  }
  *out += "</g>\n";
}

}  // namespace

std::string FormatCount(uint64_t value) {
  const std::string digits = absl::StrCat(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

int DisplayWidth(absl::string_view text) {
  int width = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string EscapeXml(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const char32_t cp = DecodeUtf8(text, &i);
    switch (cp) {
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
        if (cp == kInvalidCodePoint || IsUnsafeForDisplay(cp)) {
          out += kReplacementCharacter;
        } else {
          AppendUtf8(&out, cp);
        }
    }
  }
  return out;
}

int ChartAxisWidth(const ChartSeries& series, const ChartOptions& options) {
  if (series.points.empty()) return 0;
  const ChartSeries clean = CleanSeries(series, options.unicode);
  return PlanPlot(clean.points, std::clamp(options.width, 1, kMaxWidth),
                  std::clamp(options.height, 1, kMaxHeight))
      .axis_width;
}

std::string RenderTerminalChart(const ChartSeries& series, const ChartOptions& options) {
  const int width = std::clamp(options.width, 1, kMaxWidth);
  const int height = std::clamp(options.height, 1, kMaxHeight);
  const Glyphs& glyphs = options.unicode ? kUnicodeGlyphs : kAsciiGlyphs;
  const ChartSeries clean = CleanSeries(series, options.unicode);
  std::vector<std::string> lines;
  if (clean.points.empty()) {
    AppendWrapped(&lines, clean.title, width);
    AppendWrapped(&lines, "no data in range", width);
    return JoinLines(lines);
  }
  const Plot plot = PlanPlot(clean.points, width, height);
  const int line_width = plot.axis_width + width;
  AppendWrapped(&lines, clean.title, line_width);
  for (int row = 0; row < height; ++row) lines.push_back(PlotRow(plot, row, glyphs));
  lines.push_back(AxisRule(plot, glyphs));
  AppendXLabels(&lines, clean.points, plot, width);
  AppendNotes(&lines, clean.points.front().label, plot, glyphs, options.minimum_count, line_width);
  return JoinLines(lines);
}

std::string RenderTable(const ChartSeries& series, uint64_t total, bool total_suppressed,
                        uint64_t minimum_count) {
  const std::string hidden = absl::StrCat("<", FormatCount(minimum_count));
  std::vector<std::pair<std::string, std::string>> rows;
  for (const ChartPoint& point : series.points) {
    rows.emplace_back(CleanText(point.label, true),
                      point.suppressed ? hidden : FormatCount(point.value));
  }
  rows.emplace_back("total", total_suppressed ? hidden : FormatCount(total));
  int label_width = 0;
  int value_width = 0;
  for (const auto& [label, value] : rows) {
    label_width = std::max(label_width, DisplayWidth(label));
    value_width = std::max(value_width, DisplayWidth(value));
  }
  std::string out = series.points.empty() ? "no data in range\n" : "";
  for (const auto& [label, value] : rows) {
    absl::StrAppend(&out, label, std::string(label_width - DisplayWidth(label), ' '), "  ",
                    std::string(value_width - DisplayWidth(value), ' '), value, "\n");
  }
  return out;
}

std::string RenderSvg(const std::string& title, const std::vector<ChartSeries>& series,
                      uint64_t minimum_count) {
  const double header = AnySuppressed(series) ? 58 : 36;
  const double height =
      header + kPanelHeight * static_cast<double>(std::max<size_t>(series.size(), 1));
  std::string out = SvgHeader(title, series, minimum_count, height);
  if (series.empty()) {
    absl::StrAppendFormat(&out, "<text x=\"16\" y=\"%.0f\">no data in range</text>\n", header + 24);
  }
  for (size_t i = 0; i < series.size(); ++i) {
    SvgPanel(&out, series[i], header + kPanelHeight * static_cast<double>(i), minimum_count);
  }
  out += "</svg>\n";
  return out;
}

}  // namespace safeguarding::tools
