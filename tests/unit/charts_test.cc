// Tests of tools/triagectl/charts.h: bar heights follow the counts, suppressed points are
// marked (and never drawn with a count), merged columns are captioned, every line fits the
// width it was given, ASCII mode is ASCII, and the SVG is well-formed with all text escaped.
#include "tools/triagectl/charts.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tools/triagectl/text.h"

namespace safeguarding::tools {
namespace {

// --- Helpers that read the chart back ---

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::vector<std::string> CodePoints(const std::string& text) {
  std::vector<std::string> out;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 || out.empty()) out.emplace_back();
    out.back().push_back(c);
  }
  return out;
}

// The plot rows (top first): the lines with the y-axis at its column.
std::vector<std::vector<std::string>> PlotRows(const std::string& chart, int axis_width,
                                               bool unicode = true) {
  std::vector<std::vector<std::string>> rows;
  for (const std::string& line : Lines(chart)) {
    std::vector<std::string> cps = CodePoints(line);
    if (static_cast<int>(cps.size()) < axis_width) continue;
    const std::string& axis = cps[axis_width - 1];
    if (unicode ? (axis == "┤" || axis == "│") : (axis == "+" || axis == "|")) {
      if (!unicode && line.find('-') != std::string::npos) continue;  // the x-axis rule
      rows.push_back(cps);
    }
  }
  return rows;
}

int GlyphEighths(const std::string& glyph) {
  static const std::map<std::string, int> kEighths = {{"▁", 1}, {"▂", 2}, {"▃", 3}, {"▄", 4},
                                                      {"▅", 5}, {"▆", 6}, {"▇", 7}, {"█", 8}};
  auto it = kEighths.find(glyph);
  return it == kEighths.end() ? 0 : it->second;
}

// The filled eighths of plot column `column`, summed over the rows.
int ColumnEighths(const std::string& chart, int axis_width, int column) {
  int eighths = 0;
  for (const std::vector<std::string>& row : PlotRows(chart, axis_width)) {
    const size_t at = axis_width + column;
    if (at < row.size()) eighths += GlyphEighths(row[at]);
  }
  return eighths;
}

std::string BottomCell(const std::string& chart, int axis_width, int column) {
  const std::vector<std::vector<std::string>> rows = PlotRows(chart, axis_width);
  const size_t at = axis_width + column;
  return at < rows.back().size() ? rows.back()[at] : " ";
}

ChartSeries Days(const std::vector<uint64_t>& values, std::string title = "ALL") {
  ChartSeries series{std::move(title), {}};
  for (size_t i = 0; i < values.size(); ++i) {
    const int day_of_year = static_cast<int>(i);
    // Not real dates past 28 per month; only the label's shape matters here.
    series.points.push_back(ChartPoint{
        absl::StrFormat("2026-%02d-%02d", 1 + day_of_year / 28 % 12, 1 + day_of_year % 28),
        values[i], false});
  }
  return series;
}

ChartSeries Year(int days) {
  std::vector<uint64_t> values;
  for (int i = 0; i < days; ++i) values.push_back(static_cast<uint64_t>(20 + (i * 7) % 31));
  return Days(values, "REPORTER_TYPE=PROFESSIONAL");
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The text with its lines joined, for notes that may wrap.
std::string Joined(const std::string& text) { return absl::StrReplaceAll(text, {{"\n", " "}}); }

bool HasNonAscii(const std::string& text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// --- Number formatting ---

TEST(CleanTextTest, ReplacesEscapesControlsBidiOverridesAndBadBytes) {
  // ESC sequences (C0), CSI as a C1 code point, a right-to-left override, a malformed byte.
  const std::string hostile =
      "a\x1b[2Jb\xc2\x9b"
      "31mc\xe2\x80\xae"
      "d\xff";
  const std::string clean = CleanText(hostile);
  EXPECT_EQ(clean, absl::StrCat("a", kReplacementCharacter, "[2Jb", kReplacementCharacter, "31mc",
                                kReplacementCharacter, "d", kReplacementCharacter));
  EXPECT_EQ(CleanText(hostile, /*unicode=*/false), "a?[2Jb?31mc?d?");
  EXPECT_EQ(CleanText("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
  // Line breaks and tabs go only where asked for (a description, a note).
  EXPECT_EQ(CleanText("one\ntwo\tthree", true, /*keep_lines=*/true), "one\ntwo\tthree");
  EXPECT_EQ(CleanText("one\ntwo", true, /*keep_lines=*/false),
            absl::StrCat("one", kReplacementCharacter, "two"));
  EXPECT_EQ(CleanText("\r", true, true), kReplacementCharacter);
  // Invisible and direction-changing characters: a zero-width space, a right-to-left mark,
  // a byte-order mark, a tag character, a noncharacter of plane 1.
  for (const char* hidden :
       {"\xe2\x80\x8b", "\xe2\x80\x8f", "\xef\xbb\xbf", "\xf3\xa0\x80\x81", "\xf0\x9f\xbf\xbf"}) {
    EXPECT_EQ(CleanText(hidden), kReplacementCharacter) << absl::CHexEscape(hidden);
  }
}

TEST(FormatCountTest, GroupsThousands) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(7), "7");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(12345), "12,345");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(1000000000000ULL), "1,000,000,000,000");
  EXPECT_EQ(FormatCount(std::numeric_limits<uint64_t>::max()), "18,446,744,073,709,551,615");
}

TEST(DisplayWidthTest, CountsCodePoints) {
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("█▄░"), 3);
  EXPECT_EQ(DisplayWidth("Zürich"), 6);
}

// --- The terminal chart ---

TEST(TerminalChartTest, BarHeightsAreProportional) {
  const ChartSeries series = Days({25, 50, 100, 0, 75});
  const ChartOptions options;  // height 10: 80 eighths for the max
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  EXPECT_EQ(ColumnEighths(chart, axis, 0), 20);
  EXPECT_EQ(ColumnEighths(chart, axis, 1), 40);
  EXPECT_EQ(ColumnEighths(chart, axis, 2), 80);
  EXPECT_EQ(ColumnEighths(chart, axis, 3), 0);
  EXPECT_EQ(ColumnEighths(chart, axis, 4), 60);
}

TEST(TerminalChartTest, DoubleTheValueIsAboutDoubleTheEighths) {
  const ChartSeries series = Days({13, 26, 39, 7, 14});
  for (const int height : {3, 7, 10, 16}) {
    ChartOptions options;
    options.height = height;
    const std::string chart = RenderTerminalChart(series, options);
    const int axis = ChartAxisWidth(series, options);
    const int one = ColumnEighths(chart, axis, 0);
    const int two = ColumnEighths(chart, axis, 1);
    EXPECT_NEAR(two, 2 * one, 1) << "height " << height << "\n" << chart;
    EXPECT_NEAR(ColumnEighths(chart, axis, 4), 2 * ColumnEighths(chart, axis, 3), 1);
    EXPECT_EQ(ColumnEighths(chart, axis, 2), 8 * height);  // the max fills the plot
  }
}

TEST(TerminalChartTest, SmallCountNextToAHugeOneIsNotZero) {
  const ChartSeries series = Days({1, 1000000000000ULL});
  const std::string chart = RenderTerminalChart(series, ChartOptions{});
  EXPECT_EQ(ColumnEighths(chart, ChartAxisWidth(series, ChartOptions{}), 0), 1);
}

TEST(TerminalChartTest, TheMiddleLabelOfASmallOddTopIsExact) {
  const ChartSeries series = Days({3, 1, 2});
  const ChartOptions options;
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  const std::vector<std::vector<std::string>> rows = PlotRows(chart, axis);
  ASSERT_EQ(rows.size(), 10u);
  std::string label;
  for (int i = 0; i < axis - 2; ++i) label += rows[5][i];
  EXPECT_EQ(absl::StripLeadingAsciiWhitespace(label), "1.5");
}

TEST(TerminalChartTest, YAxisShowsMaxHalfAndZero) {
  const ChartSeries series = Days({1234567, 10, 600000});
  const ChartOptions options;
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  EXPECT_EQ(axis, static_cast<int>(std::string("1,234,567").size()) + 2);
  const std::vector<std::vector<std::string>> rows = PlotRows(chart, axis);
  ASSERT_EQ(rows.size(), 10u);
  auto label_of = [&](size_t row) {
    std::string label;
    for (int i = 0; i < axis - 2; ++i) label += rows[row][i];
    return std::string(absl::StripLeadingAsciiWhitespace(label));
  };
  EXPECT_EQ(label_of(0), "1,234,567");
  EXPECT_EQ(label_of(5), "617,284") << "half of the top, rounded: no half reports";
  EXPECT_EQ(label_of(9), "0");
  EXPECT_EQ(rows[0][axis - 1], "┤");
  EXPECT_EQ(rows[1][axis - 1], "│");
}

TEST(TerminalChartTest, XAxisShowsFirstMiddleAndLastPeriod) {
  const ChartSeries series = Days(std::vector<uint64_t>(40, 10));
  const std::string chart = RenderTerminalChart(series, ChartOptions{});
  const std::vector<std::string> lines = Lines(chart);
  const std::string& labels = lines.back();
  const int axis = ChartAxisWidth(series, ChartOptions{});
  // First at the left edge, last ending under the last column, middle centred.
  EXPECT_EQ(labels.find(series.points.front().label), static_cast<size_t>(axis)) << chart;
  EXPECT_EQ(labels.find(series.points[20].label), static_cast<size_t>(axis + 15)) << chart;
  EXPECT_EQ(labels.find(series.points.back().label), static_cast<size_t>(axis + 30)) << chart;
  EXPECT_FALSE(absl::StrContains(chart, "each column")) << chart;
}

TEST(TerminalChartTest, SuppressedMarkerAndLegendOnlyWhenSomethingIsSuppressed) {
  ChartSeries series = Days({10, 20, 30, 40});
  const ChartOptions options;
  std::string chart = RenderTerminalChart(series, options);
  EXPECT_FALSE(absl::StrContains(chart, "░")) << chart;
  EXPECT_FALSE(absl::StrContains(chart, "suppressed")) << chart;

  series.points[1] = ChartPoint{series.points[1].label, 0, true};
  chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  EXPECT_EQ(BottomCell(chart, axis, 1), "░") << chart;
  EXPECT_EQ(BottomCell(chart, axis, 0), "█") << chart;
  EXPECT_EQ(ColumnEighths(chart, axis, 1), 0);
  EXPECT_TRUE(absl::StrContains(chart, "░ fewer than 5 (suppressed)")) << chart;

  ChartOptions k10 = options;
  k10.minimum_count = 10;
  EXPECT_TRUE(absl::StrContains(RenderTerminalChart(series, k10), "░ fewer than 10 (suppressed)"));
}

TEST(TerminalChartTest, AHiddenCountIsNeverDrawnEvenIfTheCallerSetsOne) {
  ChartSeries series = Days({10, 0, 10});
  series.points[1].value = 4;  // a caller bug: suppressed points carry no count
  series.points[1].suppressed = true;
  const std::string chart = RenderTerminalChart(series, ChartOptions{});
  EXPECT_EQ(ColumnEighths(chart, ChartAxisWidth(series, ChartOptions{}), 1), 0);
  const std::string table = RenderTable(series, 24, false, 5);
  EXPECT_FALSE(absl::StrContains(table, " 4\n")) << table;
  const std::string svg = RenderSvg("t", {series}, 5);
  EXPECT_FALSE(absl::StrContains(svg, ": 4<")) << svg;
}

TEST(TerminalChartTest, MergesAYearOfDaysIntoColumnsWithACaption) {
  const ChartSeries series = Year(365);
  const ChartOptions options;  // width 80
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  EXPECT_TRUE(absl::StrContains(chart, "each column = 5 days, mean")) << chart;
  EXPECT_FALSE(absl::StrContains(chart, "last column")) << chart;
  const std::vector<std::vector<std::string>> rows = PlotRows(chart, axis);
  size_t widest = 0;
  for (const auto& row : rows) widest = std::max(widest, row.size());
  EXPECT_EQ(widest, static_cast<size_t>(axis + 73));  // 365 / 5 columns
  EXPECT_TRUE(absl::StrContains(chart, series.points.front().label));
  EXPECT_TRUE(absl::StrContains(chart, series.points.back().label));

  EXPECT_TRUE(absl::StrContains(RenderTerminalChart(Year(366), options), "last column = 1 day"));
}

TEST(TerminalChartTest, AMergedColumnShowsTheMeanOfItsPoints) {
  // 40 points in 20 columns: means 30, then 60.
  std::vector<uint64_t> values(40, 60);
  values[0] = 20;
  values[1] = 40;
  const ChartSeries series = Days(values);
  ChartOptions options;
  options.width = 20;
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  EXPECT_TRUE(absl::StrContains(Joined(chart), "each column = 2 days, mean")) << chart;
  EXPECT_EQ(ColumnEighths(chart, axis, 0), 40) << chart;
  EXPECT_EQ(ColumnEighths(chart, axis, 1), 80) << chart;
}

TEST(TerminalChartTest, AMergedColumnWithASuppressedPointIsMarkedOnTheAxis) {
  std::vector<uint64_t> values(40, 60);
  values[0] = 20;
  values[1] = 0;
  ChartSeries series = Days(values);
  series.points[1].suppressed = true;
  ChartOptions options;
  options.width = 20;
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  EXPECT_EQ(ColumnEighths(chart, axis, 0), 13) << chart;  // mean 10 of 60, suppressed as 0
  EXPECT_TRUE(absl::StrContains(chart, "└░───")) << chart;
  EXPECT_TRUE(absl::StrContains(Joined(chart), "suppressed days count as 0")) << chart;
  EXPECT_TRUE(absl::StrContains(Joined(chart), "░ fewer than 5 (suppressed)")) << chart;
}

TEST(TerminalChartTest, EmptySeriesSaysSo) {
  const ChartSeries series{"REGION=North", {}};
  const std::string chart = RenderTerminalChart(series, ChartOptions{});
  EXPECT_TRUE(absl::StrContains(chart, "REGION=North")) << chart;
  EXPECT_TRUE(absl::StrContains(chart, "no data in range")) << chart;
  EXPECT_FALSE(absl::StrContains(chart, "└")) << chart;
  EXPECT_EQ(ChartAxisWidth(series, ChartOptions{}), 0);
}

TEST(TerminalChartTest, AllZerosIsAFlatChart) {
  const ChartSeries series = Days({0, 0, 0, 0});
  const ChartOptions options;
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  for (int column = 0; column < 4; ++column) {
    EXPECT_EQ(ColumnEighths(chart, axis, column), 0) << chart;
  }
  EXPECT_TRUE(absl::StrContains(chart, "all counts are 0")) << chart;
  EXPECT_EQ(PlotRows(chart, axis).size(), 10u);
  EXPECT_FALSE(absl::StrContains(chart, "nan")) << chart;
  EXPECT_FALSE(absl::StrContains(chart, "inf")) << chart;
}

TEST(TerminalChartTest, SinglePoint) {
  const ChartSeries series = Days({42});
  const ChartOptions options;
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  EXPECT_EQ(ColumnEighths(chart, axis, 0), 80) << chart;
  EXPECT_EQ(Count(chart, "2026-01-01"), 1u) << chart;
  EXPECT_TRUE(absl::StrContains(chart, "42 ┤█")) << chart;
}

TEST(TerminalChartTest, HugeValues) {
  const ChartSeries series = Days({1000000000000ULL, 500000000000ULL, 999999999999ULL});
  const ChartOptions options;
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  EXPECT_TRUE(absl::StrContains(chart, "1,000,000,000,000 ┤")) << chart;
  EXPECT_TRUE(absl::StrContains(chart, "500,000,000,000 ┤")) << chart;
  EXPECT_EQ(ColumnEighths(chart, axis, 0), 80);
  EXPECT_EQ(ColumnEighths(chart, axis, 1), 40);

  // Near 2^64 the mean of a merged column must not overflow.
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  ChartOptions narrow;
  narrow.width = 2;
  const ChartSeries biggest = Days({max, max, max, max - 1});
  const std::string big_chart = RenderTerminalChart(biggest, narrow);
  EXPECT_TRUE(absl::StrContains(big_chart, FormatCount(max))) << big_chart;
  EXPECT_EQ(ColumnEighths(big_chart, ChartAxisWidth(biggest, narrow), 0), 80);
}

TEST(TerminalChartTest, AllSuppressed) {
  ChartSeries series = Days({0, 0, 0});
  for (ChartPoint& point : series.points) point.suppressed = true;
  const ChartOptions options;
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  for (int column = 0; column < 3; ++column) {
    EXPECT_EQ(BottomCell(chart, axis, column), "░") << chart;
  }
  EXPECT_TRUE(absl::StrContains(chart, "every count is below 5")) << chart;
  EXPECT_TRUE(absl::StrContains(chart, "░ fewer than 5 (suppressed)")) << chart;
  EXPECT_FALSE(absl::StrContains(chart, "all counts are 0")) << chart;
}

TEST(TerminalChartTest, EveryLineFitsTheWidth) {
  ChartSeries long_title = Days({5, 10, 15});
  long_title.title = "REGION=A very long region name that somebody typed into the form";
  ChartSeries suppressed = Year(365);
  for (size_t i = 0; i < suppressed.points.size(); i += 7) {
    suppressed.points[i] = ChartPoint{suppressed.points[i].label, 0, true};
  }
  const std::vector<ChartSeries> all = {
      Year(365),
      Days({42}),
      Days({1000000000000ULL, 3}),
      Days({0, 0}),
      long_title,
      suppressed,
      ChartSeries{"EMPTY", {}},
      ChartSeries{"WEEKS", {{"2026-W01", 3, false}, {"2026-W02", 0, true}}}};
  for (const bool unicode : {true, false}) {
    for (const int width : {1, 2, 3, 5, 8, 10, 13, 20, 40, 80, 200}) {
      for (const ChartSeries& series : all) {
        ChartOptions options;
        options.width = width;
        options.height = 1 + width % 7;
        options.unicode = unicode;
        const std::string chart = RenderTerminalChart(series, options);
        const int limit = ChartAxisWidth(series, options) + width;
        for (const std::string& line : Lines(chart)) {
          EXPECT_LE(DisplayWidth(line), limit)
              << "width " << width << " unicode " << unicode << ": '" << line << "'\n"
              << chart;
        }
      }
    }
  }
}

TEST(TerminalChartTest, NarrowerThanTheLabelsGivesARangeNotAFragment) {
  const ChartSeries series = Days({5, 10, 15, 20});
  ChartOptions options;
  options.width = 8;
  const std::string chart = RenderTerminalChart(series, options);
  EXPECT_FALSE(absl::StrContains(chart, "2026-01-0\n")) << chart;
  EXPECT_TRUE(absl::StrContains(Joined(chart), "from 2026-01-01 to 2026-01-04")) << chart;
}

TEST(TerminalChartTest, AsciiModeIsAscii) {
  ChartSeries series = Year(365);
  series.title = "REGION=Zürich ░ “quoted”";
  series.points[3].suppressed = true;
  series.points[3].value = 0;
  ChartSeries small = Days({1, 0, 8, 16});
  small.points[1].suppressed = true;
  for (const ChartSeries& s : {series, small}) {
    ChartOptions options;
    options.unicode = false;
    const std::string chart = RenderTerminalChart(s, options);
    EXPECT_FALSE(HasNonAscii(chart)) << chart;
    EXPECT_TRUE(absl::StrContains(chart, "#")) << chart;
    EXPECT_TRUE(absl::StrContains(chart, "~ fewer than 5 (suppressed)")) << chart;
  }
  ChartOptions options;
  options.unicode = false;
  const std::string chart = RenderTerminalChart(small, options);
  const int axis = ChartAxisWidth(small, options);
  const auto rows = PlotRows(chart, axis, false);
  ASSERT_EQ(rows.size(), 10u) << chart;
  EXPECT_EQ(rows.back()[axis + 1], "~") << chart;
  EXPECT_EQ(rows.back()[axis + 3], "#") << chart;
  EXPECT_EQ(rows.front()[axis + 3], "#") << chart;
}

TEST(TerminalChartTest, ControlCharactersInNamesDoNotReachTheTerminal) {
  ChartSeries series = Days({1, 2});
  series.title =
      "REGION=\x1b]0;pwned\x07\x1b[2J\xff\xfe"
      "End\xe2\x80\xae";
  series.points[0].label = "2026-01-01\r";
  for (const bool unicode : {true, false}) {
    ChartOptions options;
    options.unicode = unicode;
    const std::string chart = RenderTerminalChart(series, options);
    for (const char c : chart) {
      EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << static_cast<int>(c);
    }
    EXPECT_FALSE(absl::StrContains(chart, "\xe2\x80\xae"));  // RIGHT-TO-LEFT OVERRIDE
    EXPECT_TRUE(absl::StrContains(chart, "End"));
  }
}

TEST(TerminalChartTest, OptionsOutOfRangeAreClamped) {
  ChartOptions options;
  options.width = 0;
  options.height = -3;
  const ChartSeries series = Days({1, 2, 3});
  const std::string chart = RenderTerminalChart(series, options);
  const int axis = ChartAxisWidth(series, options);
  const std::vector<std::vector<std::string>> rows = PlotRows(chart, axis);
  ASSERT_EQ(rows.size(), 1u) << chart;
  EXPECT_EQ(rows[0].size(), static_cast<size_t>(axis + 1)) << "one column:\n" << chart;
  EXPECT_EQ(ColumnEighths(chart, axis, 0), 8) << "the mean, 2, is the max:\n" << chart;
}

// --- The table ---

TEST(TableTest, OneLinePerPointThenTheTotal) {
  ChartSeries series = Days({1234, 0, 7});
  series.points[1].suppressed = true;
  const std::string table = RenderTable(series, 1245, false, 5);
  EXPECT_EQ(table,
            "2026-01-01  1,234\n"
            "2026-01-02     <5\n"
            "2026-01-03      7\n"
            "total       1,245\n");
}

TEST(TableTest, SuppressedTotalAndOtherK) {
  ChartSeries series = Days({0});
  series.points[0].suppressed = true;
  const std::vector<std::string> lines = Lines(RenderTable(series, 0, true, 10));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "2026-01-01  <10");
  EXPECT_EQ(lines[1], "total       <10");
}

TEST(TableTest, EmptySeries) {
  const std::string table = RenderTable(ChartSeries{"ALL", {}}, 0, false, 5);
  EXPECT_TRUE(absl::StrContains(table, "no data in range")) << table;
  EXPECT_TRUE(absl::StrContains(table, "total  0")) << table;
}

// --- SVG ---

bool StartsEntity(const std::string& xml, size_t at) {
  for (const char* entity : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}) {
    if (xml.compare(at, std::string(entity).size(), entity) == 0) return true;
  }
  return false;
}

bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == ':' || c == '_'; }

// Attributes name="value" ...: every value quoted, no '<' in it, every '&' an entity.
testing::AssertionResult CheckAttributes(const std::string& xml, size_t from, size_t to) {
  size_t i = from;
  while (true) {
    while (i < to && xml[i] == ' ') ++i;
    if (i >= to) return testing::AssertionSuccess();
    const size_t name = i;
    while (i < to && IsNameChar(xml[i])) ++i;
    if (i == name || i + 1 >= to || xml[i] != '=' || xml[i + 1] != '"') {
      return testing::AssertionFailure() << "bad attribute at " << xml.substr(name, 40);
    }
    const size_t close = xml.find('"', i + 2);
    if (close == std::string::npos || close >= to) {
      return testing::AssertionFailure() << "unterminated attribute at " << name;
    }
    for (size_t j = i + 2; j < close; ++j) {
      if (xml[j] == '<' || (xml[j] == '&' && !StartsEntity(xml, j))) {
        return testing::AssertionFailure() << "unescaped character in attribute at " << j;
      }
    }
    i = close + 1;
  }
}

// A small XML well-formedness check, enough for what RenderSvg writes: the declaration,
// then one root element; tags balance, attributes are quoted, text has no raw '&'.
testing::AssertionResult WellFormed(const std::string& xml) {
  if (!absl::StartsWith(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")) {
    return testing::AssertionFailure() << "no XML declaration";
  }
  std::vector<std::string> open;
  int roots = 0;
  for (size_t i = xml.find("?>") + 2; i < xml.size();) {
    if (xml[i] == '&' && !StartsEntity(xml, i)) {
      return testing::AssertionFailure() << "raw & at " << i;
    }
    if (xml[i] == '>') return testing::AssertionFailure() << "raw > at " << i;
    if (xml[i] != '<') {
      if (open.empty() && xml[i] != '\n') return testing::AssertionFailure() << "text outside root";
      ++i;
      continue;
    }
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return testing::AssertionFailure() << "unterminated tag";
    const bool closing = xml[i + 1] == '/';
    const bool empty = xml[end - 1] == '/';
    size_t name_end = i + (closing ? 2 : 1);
    while (name_end < end && IsNameChar(xml[name_end])) ++name_end;
    const std::string name = xml.substr(i + (closing ? 2 : 1), name_end - i - (closing ? 2 : 1));
    if (name.empty()) return testing::AssertionFailure() << "bad tag at " << i;
    if (closing) {
      if (open.empty() || open.back() != name) {
        return testing::AssertionFailure() << "</" << name << "> closes nothing open";
      }
      open.pop_back();
    } else {
      testing::AssertionResult attributes = CheckAttributes(xml, name_end, end - (empty ? 1 : 0));
      if (!attributes) return attributes;
      if (open.empty()) ++roots;
      if (!empty) open.push_back(name);
    }
    i = end + 1;
  }
  if (!open.empty()) return testing::AssertionFailure() << "<" << open.back() << "> not closed";
  if (roots != 1) return testing::AssertionFailure() << roots << " root elements";
  return testing::AssertionSuccess();
}

TEST(WellFormedTest, TheCheckerCatchesBrokenDocuments) {
  const std::string head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  EXPECT_TRUE(WellFormed(head + "<svg a=\"1\"><g><rect/></g><text>&amp;</text></svg>\n"));
  EXPECT_FALSE(WellFormed(head + "<svg><g></svg>"));
  EXPECT_FALSE(WellFormed(head + "<svg><text>a & b</text></svg>"));
  EXPECT_FALSE(WellFormed(head + "<svg><text><script>x</script></svg>"));
  EXPECT_FALSE(WellFormed(head + "<svg a=1></svg>"));
  EXPECT_FALSE(WellFormed(head + "<svg a=\"<\"></svg>"));
  EXPECT_FALSE(WellFormed(head + "<svg></svg><svg></svg>"));
}

TEST(SvgTest, IsAWellFormedDocumentWithOnePanelPerSeries) {
  ChartSeries professional = Year(365);
  ChartSeries public_reports = Days({3, 9, 27});
  public_reports.title = "REPORTER_TYPE=PUBLIC";
  const std::string svg = RenderSvg("Report volumes", {professional, public_reports}, 5);
  EXPECT_TRUE(WellFormed(svg));
  EXPECT_TRUE(absl::StrContains(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(absl::StrContains(svg, "viewBox=\"0 0 720 "));
  EXPECT_TRUE(absl::StrContains(svg, "<title id=\"chart-title\">Report volumes</title>"));
  EXPECT_TRUE(absl::StrContains(svg, "<desc id=\"chart-desc\">"));
  EXPECT_EQ(Count(svg, "<g transform="), 2u);
  EXPECT_EQ(Count(svg, "fill=\"#3b6ea5\""), 365u + 3u);
  EXPECT_TRUE(absl::StrContains(svg, ">REPORTER_TYPE=PROFESSIONAL</text>"));
  EXPECT_TRUE(absl::StrContains(svg, ">REPORTER_TYPE=PUBLIC</text>"));
  EXPECT_TRUE(absl::StrContains(svg, "text-anchor=\"end\">20</text>"));  // a y tick
  EXPECT_FALSE(absl::StrContains(svg, "suppressed"));
  EXPECT_FALSE(absl::StrContains(svg, "fewer than"));
}

TEST(SvgTest, SuppressedPointsAreHatchedWithALegend) {
  ChartSeries series = Days({12, 0, 30});
  series.points[1].suppressed = true;
  const std::string svg = RenderSvg("Volumes", {series}, 5);
  EXPECT_TRUE(WellFormed(svg));
  EXPECT_EQ(Count(svg, "fill=\"url(#suppressed-hatch)\""), 2u);  // the point and the legend
  EXPECT_TRUE(absl::StrContains(svg, "fewer than 5 (suppressed)</text>"));
  EXPECT_TRUE(absl::StrContains(svg, "2026-01-02: fewer than 5 (suppressed)"));
}

TEST(SvgTest, AllTextIsEscaped) {
  const std::string evil = "<script>&\"'";
  const std::string escaped = "&lt;script&gt;&amp;&quot;&apos;";
  ChartSeries series = Days({1, 2, 3}, "REGION=" + evil);
  series.points[1].label = evil;
  const std::string svg = RenderSvg(evil, {series}, 5);
  EXPECT_TRUE(WellFormed(svg)) << svg;
  EXPECT_FALSE(absl::StrContains(svg, "<script"));
  EXPECT_FALSE(absl::StrContains(svg, evil));
  EXPECT_GE(Count(svg, escaped), 4u);  // title, desc, heading, panel, bar, x label
  EXPECT_TRUE(absl::StrContains(svg, "<title id=\"chart-title\">" + escaped + "</title>"));
}

TEST(SvgTest, InvalidUtf8AndControlsAreReplaced) {
  const std::string svg = RenderSvg("bad \xff\xfe title \x01\x1b", {Days({1})}, 5);
  EXPECT_TRUE(WellFormed(svg));
  EXPECT_FALSE(absl::StrContains(svg, "\xff"));
  EXPECT_FALSE(absl::StrContains(svg, "\x1b"));
  EXPECT_TRUE(absl::StrContains(svg, "bad \xEF\xBF\xBD\xEF\xBF\xBD title"));
  EXPECT_EQ(EscapeXml("Zürich & <co>"), "Zürich &amp; &lt;co&gt;");
}

TEST(SvgTest, EdgeCases) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  ChartSeries suppressed = Days({0, 0});
  for (ChartPoint& point : suppressed.points) point.suppressed = true;
  const std::vector<std::vector<ChartSeries>> cases = {
      {},           {ChartSeries{"EMPTY", {}}},    {Days({0, 0, 0})},
      {Days({42})}, {Days({1000000000000ULL, 1})}, {Days({max, max - 1})},
      {suppressed}};
  for (const auto& series : cases) {
    const std::string svg = RenderSvg("Volumes", series, 5);
    EXPECT_TRUE(WellFormed(svg)) << svg;
    EXPECT_FALSE(absl::StrContains(svg, "nan")) << svg;
    EXPECT_FALSE(absl::StrContains(svg, "inf")) << svg;
    if (series.empty() || series[0].points.empty()) {
      EXPECT_TRUE(absl::StrContains(svg, "no data in range")) << svg;
    }
  }
  EXPECT_TRUE(absl::StrContains(RenderSvg("V", {Days({1000000000000ULL})}, 5),
                                ">1,000,000,000,000</text>"));
}

}  // namespace
}  // namespace safeguarding::tools
