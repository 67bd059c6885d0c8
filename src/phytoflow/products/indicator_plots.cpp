#include "phytoflow/products/indicator_plots.h"

#include "phytoflow/core/xml.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace phytoflow {
namespace {

constexpr double kPanelWidth = 460;
constexpr double kPanelHeight = 420;
constexpr double kMarginLeft = 64;
constexpr double kMarginRight = 20;
constexpr double kMarginTop = 58;
constexpr double kMarginBottom = 52;
constexpr double kTitleHeight = 30;

std::string Number(double value, int digits = 3) {
  return std::isfinite(value) ? fmt::format("{:.{}g}", value, digits) : std::string("NA");
}

// A linear map from data to pixels with "nice" tick values (1, 2 or 5 × 10^k steps).
struct Axis {
  double low = 0;
  double high = 1;
  double pixel_low = 0;
  double pixel_high = 1;

  double Map(double value) const {
    return pixel_low + (value - low) / (high - low) * (pixel_high - pixel_low);
  }
  std::vector<double> Ticks() const {
    const double raw_step = (high - low) / 5;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw_step)));
    double step = magnitude;
    for (const double factor : {2.0, 5.0, 10.0}) {
      if (raw_step > step) {
        step = magnitude * factor;
      }
    }
    std::vector<double> ticks;
    for (double tick = std::ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) {
      ticks.push_back(std::fabs(tick) < step * 1e-9 ? 0.0 : tick);
    }
    return ticks;
  }
};

// An axis over the finite values, widened by 5 % on each side (a unit span when flat).
Axis AxisFor(const std::vector<double>& values, double pixel_low, double pixel_high) {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  for (const double value : values) {
    if (std::isfinite(value)) {
      low = std::min(low, value);
      high = std::max(high, value);
    }
  }
  if (!std::isfinite(low)) {
    low = 0;
    high = 1;
  }
  if (high - low < 1e-12) {
    low -= 0.5;
    high += 0.5;
  }
  const double pad = (high - low) * 0.05;
  return {low - pad, high + pad, pixel_low, pixel_high};
}

std::string Header(double width, double height, std::string_view title) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<title>{2}</title>\n<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{3}\" y=\"20\" text-anchor=\"middle\" font-size=\"16\" "
      "font-weight=\"bold\">{2}</text>\n",
      width,
      height,
      XmlEscape(title),
      width / 2);
}

std::string Text(double x,
                 double y,
                 std::string_view text,
                 std::string_view anchor = "middle",
                 std::string_view extra = "") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\"{}>{}</text>\n",
                     x,
                     y,
                     anchor,
                     extra,
                     XmlEscape(text));
}

// The frame, ticks, grid and labels of a panel.
std::string Frame(const Axis& x,
                  const Axis& y,
                  std::string_view x_label,
                  std::string_view y_label,
                  bool x_ticks = true) {
  std::string svg = fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
      "stroke=\"black\"/>\n",
      x.pixel_low,
      y.pixel_high,
      x.pixel_high - x.pixel_low,
      y.pixel_low - y.pixel_high);
  if (x_ticks) {
    for (const double tick : x.Ticks()) {
      const double px = x.Map(tick);
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n",
          px,
          y.pixel_low,
          y.pixel_high);
      svg += Text(px, y.pixel_low + 16, Number(tick));
    }
  }
  for (const double tick : y.Ticks()) {
    const double py = y.Map(tick);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>\n",
        x.pixel_low,
        py,
        x.pixel_high);
    svg += Text(x.pixel_low - 6, py + 4, Number(tick), "end");
  }
  svg += Text((x.pixel_low + x.pixel_high) / 2, y.pixel_low + 38, x_label);
  const double mid_y = (y.pixel_low + y.pixel_high) / 2;
  svg += Text(x.pixel_low - 46,
              mid_y,
              y_label,
              "middle",
              fmt::format(" transform=\"rotate(-90 {:.1f} {:.1f})\"", x.pixel_low - 46, mid_y));
  return svg;
}

std::string Polygon(const std::vector<Point2>& points,
                    const Axis& x,
                    const Axis& y,
                    std::string_view style) {
  std::string svg = "<polygon points=\"";
  for (const Point2& point : points) {
    svg += fmt::format("{:.2f},{:.2f} ", x.Map(point.x), y.Map(point.y));
  }
  return svg + "\" " + std::string(style) + "/>\n";
}

// Season colours of the PLET plot: Dec–Feb, Mar–May, Jun–Aug, Sep–Nov.
std::string_view SeasonColour(int month) {
  if (month == 12 || month <= 2) {
    return "blue";
  }
  if (month <= 5) {
    return "green";
  }
  if (month <= 8) {
    return "yellow";
  }
  return "red";
}

std::string YearRange(const std::vector<Ph1Point>& points) {
  if (points.empty()) {
    return "-";
  }
  int first = points.front().year;
  int last = points.front().year;
  for (const Ph1Point& point : points) {
    first = std::min(first, point.year);
    last = std::max(last, point.year);
  }
  return fmt::format("{}-{}", first, last);
}

std::string Ph1Panel(const Ph1PairResult& pair, double left, double top) {
  const double plot_left = left + kMarginLeft;
  const double plot_right = left + kPanelWidth - kMarginRight;
  const double plot_top = top + kMarginTop;
  const double plot_bottom = top + kPanelHeight - kMarginBottom;
  std::vector<double> xs;
  std::vector<double> ys;
  for (const std::vector<Ph1Point>* points : {&pair.reference, &pair.comparison}) {
    for (const Ph1Point& point : *points) {
      xs.push_back(point.x);
      ys.push_back(point.y);
    }
  }
  const Axis x = AxisFor(xs, plot_left, plot_right);
  const Axis y = AxisFor(ys, plot_bottom, plot_top);
  std::string svg = Text((plot_left + plot_right) / 2,
                         top + 18,
                         fmt::format("{} - {}", pair.pair.x, pair.pair.y),
                         "middle",
                         " font-weight=\"bold\"");
  const PlanktonIndex& index = pair.index;
  svg += Text((plot_left + plot_right) / 2,
              top + 34,
              fmt::format("PI: {}  Ref: {}, Comp: {}",
                          Number(index.pi, 2),
                          YearRange(pair.reference),
                          YearRange(pair.comparison)),
              "middle",
              " font-size=\"11\"");
  svg += Text((plot_left + plot_right) / 2,
              top + 48,
              fmt::format("ref points: {}, comp points: {}, binom-p: {}, chi-sq: {}",
                          pair.reference.size(),
                          index.points,
                          Number(index.binomial_probability, 4),
                          Number(index.chi_square, 3)),
              "middle",
              " font-size=\"11\"");
  svg += Frame(x, y, "log10(" + pair.pair.x + ")", "log10(" + pair.pair.y + ")");
  if (pair.envelope) {
    svg += Polygon(pair.envelope->outer,
                   x,
                   y,
                   "fill=\"#999\" fill-opacity=\"0.5\" stroke=\"black\" stroke-width=\"0.5\"");
    svg +=
        Polygon(pair.envelope->inner, x, y, "fill=\"white\" stroke=\"black\" stroke-width=\"0.5\"");
  } else {
    svg += Text((plot_left + plot_right) / 2,
                (plot_top + plot_bottom) / 2,
                "no envelope: " + (pair.warnings.empty() ? std::string() : pair.warnings.back()),
                "middle",
                " font-size=\"10\" fill=\"#a00\"");
  }
  for (const Ph1Point& point : pair.reference) {
    svg +=
        fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\" fill=\"none\" stroke=\"#999\"/>\n",
                    x.Map(point.x),
                    y.Map(point.y));
  }
  if (!pair.comparison.empty()) {
    svg += "<polyline fill=\"none\" stroke=\"grey\" stroke-dasharray=\"4,3\" points=\"";
    for (const Ph1Point& point : pair.comparison) {
      svg += fmt::format("{:.2f},{:.2f} ", x.Map(point.x), y.Map(point.y));
    }
    svg += "\"/>\n";
  }
  for (const Ph1Point& point : pair.comparison) {
    svg += fmt::format(
        "<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"4\" fill=\"{}\" stroke=\"black\">"
        "<title>{}-{:02d}</title></circle>\n",
        x.Map(point.x),
        y.Map(point.y),
        SeasonColour(point.month),
        point.year,
        point.month);
  }
  return svg;
}

// Fractional years of a month's middle, for time axes.
double MonthTime(int year, int month) {
  return year + (month - 0.5) / 12.0;
}

std::string_view AnomalyColour(AnomalyClass change) {
  switch (change) {
    case AnomalyClass::kExtremePositive:
      return "#b2182b";
    case AnomalyClass::kImportantPositive:
      return "#ef8a62";
    case AnomalyClass::kImportantNegative:
      return "#67a9cf";
    case AnomalyClass::kExtremeNegative:
      return "#2166ac";
    case AnomalyClass::kSmall:
      break;
  }
  return "#333";
}

// Year ticks for a time axis (the Axis ticks would fall between years).
std::string YearTicks(const Axis& x, const Axis& y, int first, int last) {
  std::string svg;
  const int step = last - first > 15 ? 5 : (last - first > 7 ? 2 : 1);
  for (int year = first; year <= last + 1; year += step) {
    const double px = x.Map(year);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n",
        px,
        y.pixel_low,
        y.pixel_high);
    svg += Text(px, y.pixel_low + 16, std::to_string(year));
  }
  return svg;
}

// One time panel of PH3: a monthly index and its annual means.
std::string IndexPanel(const Ph3Result& result,
                       std::string_view name,
                       double DiversityIndices::* monthly,
                       double Ph3Year::* annual,
                       double left,
                       double top,
                       double width,
                       double height) {
  std::vector<double> values;
  for (const Ph3Month& month : result.months) {
    values.push_back(month.indices.*monthly);
  }
  const int first = result.years.empty() ? 2000 : result.years.front().year;
  const int last = result.years.empty() ? 2001 : result.years.back().year;
  const Axis x{static_cast<double>(first), last + 1.0, left + kMarginLeft, left + width - 20};
  const Axis y = AxisFor(values, top + height - 40, top + 28);
  std::string svg = Text(left + width / 2, top + 18, name, "middle", " font-weight=\"bold\"");
  svg += Frame(x, y, "", name, false);
  svg += YearTicks(x, y, first, last);
  svg += "<polyline fill=\"none\" stroke=\"#888\" stroke-width=\"0.8\" points=\"";
  for (const Ph3Month& month : result.months) {
    if (std::isfinite(month.indices.*monthly)) {
      svg += fmt::format("{:.2f},{:.2f} ",
                         x.Map(MonthTime(month.year, month.month)),
                         y.Map(month.indices.*monthly));
    }
  }
  svg += "\"/>\n";
  for (const Ph3Month& month : result.months) {
    if (std::isfinite(month.indices.*monthly)) {
      svg += fmt::format(
          "<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"2\" fill=\"#888\"><title>{}-{:02d}: {}</title>"
          "</circle>\n",
          x.Map(MonthTime(month.year, month.month)),
          y.Map(month.indices.*monthly),
          month.year,
          month.month,
          Number(month.indices.*monthly, 4));
    }
  }
  svg += "<polyline fill=\"none\" stroke=\"blue\" stroke-width=\"2.5\" points=\"";
  for (const Ph3Year& year : result.years) {
    if (std::isfinite(year.*annual)) {
      svg += fmt::format("{:.2f},{:.2f} ", x.Map(year.year + 0.5), y.Map(year.*annual));
    }
  }
  svg += "\"/>\n";
  return svg;
}

}  // namespace

std::string Ph1EnvelopeSvg(const Ph1Result& result, std::string_view title) {
  const size_t panels = std::max<size_t>(result.pairs.size(), 1);
  const double width = kPanelWidth * static_cast<double>(panels);
  const double height = kPanelHeight + kTitleHeight + 24;
  std::string svg = Header(width, height, title);
  for (size_t i = 0; i < result.pairs.size(); ++i) {
    svg += Ph1Panel(result.pairs[i], kPanelWidth * static_cast<double>(i), kTitleHeight);
  }
  // The legend of the seasons.
  const double legend_y = height - 12;
  double legend_x = 20;
  for (const auto& [label, month] : {std::pair<const char*, int>{"Dec-Feb", 1},
                                     {"Mar-May", 4},
                                     {"Jun-Aug", 7},
                                     {"Sep-Nov", 10}}) {
    svg +=
        fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\" stroke=\"black\"/>\n",
                    legend_x,
                    legend_y - 4,
                    SeasonColour(month));
    svg += Text(legend_x + 8, legend_y, label, "start");
    legend_x += 80;
  }
  svg +=
      fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"none\" stroke=\"#999\"/>\n",
                  legend_x,
                  legend_y - 4);
  svg += Text(legend_x + 8, legend_y, "reference month", "start");
  return svg + "</svg>\n";
}

std::string Ph2AnomalySvg(const Ph2Result& result, std::string_view title) {
  const double width = 900;
  const double height = 440;
  std::string svg = Header(width, height, title);
  const int first = result.months.empty() ? 2000 : result.months.front().year;
  const int last = result.months.empty() ? 2001 : result.months.back().year;
  const AnomalyThresholds& limits = result.thresholds;
  const Axis x{static_cast<double>(first), last + 1.0, kMarginLeft, width - 150};
  const Axis y = AxisFor({limits.min, limits.max}, height - kMarginBottom, kMarginTop);
  // Bands: min–max, 2.5–97.5 %, 25–75 % (plotAnomalies' colours).
  const auto band = [&](double low, double high, std::string_view colour) {
    if (!std::isfinite(low) || !std::isfinite(high)) {
      return std::string();
    }
    return fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>\n",
        x.pixel_low,
        y.Map(high),
        x.pixel_high - x.pixel_low,
        y.Map(low) - y.Map(high),
        colour);
  };
  svg += band(limits.min, limits.max, "#6495ED");
  svg += band(limits.q2_5, limits.q97_5, "#87CEFA");
  svg += band(limits.q25, limits.q75, "#E0FFFF");
  svg += Frame(x, y, "year", "anomaly of log10(" + result.name + " + 1)", false);
  svg += YearTicks(x, y, first, last);
  for (const auto& [value, label, dash] :
       {std::tuple<double, const char*, const char*>{limits.q2_5, "2.5 %", "6,3"},
        {limits.q25, "25 %", "2,3"},
        {limits.q75, "75 %", "2,3"},
        {limits.q97_5, "97.5 %", "6,3"}}) {
    if (!std::isfinite(value)) {
      continue;
    }
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"blue\" "
        "stroke-dasharray=\"{3}\"/>\n",
        x.pixel_low,
        y.Map(value),
        x.pixel_high,
        dash);
    svg += Text(x.pixel_high + 6, y.Map(value) + 4, label, "start", " fill=\"blue\"");
  }
  // Where the comparison (evaluation) period starts.
  for (const Ph2Month& month : result.months) {
    if (month.comparison) {
      const double px = x.Map(month.year);
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"black\" "
          "stroke-width=\"1.5\"/>\n",
          px,
          y.pixel_low,
          y.pixel_high);
      svg += Text(px + 4, y.pixel_high + 14, "comparison", "start", " font-size=\"11\"");
      break;
    }
  }
  for (const Ph2Month& month : result.months) {
    if (!std::isfinite(month.anomaly)) {
      continue;
    }
    const double px = x.Map(MonthTime(month.year, month.month));
    const double py = y.Map(month.anomaly);
    svg += fmt::format(
        "<path d=\"M{0:.1f},{1:.1f} l6,6 m0,-6 l-6,6\" transform=\"translate(-3,-3)\" "
        "stroke=\"{2}\" stroke-width=\"{3}\"><title>{4}-{5:02d}: {6} ({7}{8})</title></path>\n",
        px,
        py,
        AnomalyColour(month.change),
        month.interpolated ? 0.8 : 1.6,
        month.year,
        month.month,
        Number(month.anomaly, 3),
        AnomalyClassName(month.change),
        month.interpolated ? ", interpolated" : "");
  }
  const AnomalyCounts& counts = result.comparison;
  svg += Text(width - 140,
              height - 14,
              fmt::format("comparison: {} months, {}% important, {}% extreme",
                          counts.months,
                          Number(counts.percent_important, 3),
                          Number(counts.percent_extreme, 3)),
              "end",
              " font-size=\"11\"");
  return svg + "</svg>\n";
}

std::string Ph3IndexSvg(const Ph3Result& result, std::string_view title) {
  const double width = 900;
  const double panel_height = 190;
  const double height = kTitleHeight + 4 * panel_height + 10;
  std::string svg = Header(width, height, title);
  struct Panel {
    const char* name;
    double DiversityIndices::* monthly;
    double Ph3Year::* annual;
  };
  const Panel panels[] = {{"Menhinick", &DiversityIndices::menhinick, &Ph3Year::menhinick},
                          {"Hulburt", &DiversityIndices::hulburt, &Ph3Year::hulburt},
                          {"Shannon", &DiversityIndices::shannon, &Ph3Year::shannon},
                          {"Pielou", &DiversityIndices::pielou, &Ph3Year::pielou}};
  double top = kTitleHeight;
  for (const Panel& panel : panels) {
    svg += IndexPanel(result, panel.name, panel.monthly, panel.annual, 0, top, width, panel_height);
    top += panel_height;
  }
  return svg + "</svg>\n";
}

}  // namespace phytoflow
