// indicators ph1|ph2|ph3|series: the OSPAR pelagic-habitat indicators of a station or assessment
// area from the stored samples, as a table, JSON or CSV, with an SVG plot (docs/indicators.md).

#include "phytoflow/app/indicators.h"
#include "phytoflow/cli/commands.h"
#include "phytoflow/cli/json_output.h"
#include "phytoflow/core/error.h"
#include "phytoflow/products/indicator_plots.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>

#include <fmt/core.h>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

struct IndicatorArguments {
  std::string store;
  std::string taxonomy;
  std::string station;
  std::string area;
  std::vector<std::string> lifeform_pairs;  // ph1
  std::string lifeform = "phytoplankton";   // ph2, ph3
  std::string reference;
  std::string comparison;
  std::string value = "cells_per_l";
  bool predictions = false;
  std::string model_id;
  std::string transform = "half-minimum";  // ph1
  bool seasonal = false;                   // ph1
  uint64_t seed = 1;
  int uncertainty = 0;     // Monte Carlo replicates of the model labels; 0: none
  int permutations = 999;  // ph3
  bool json = false;
  bool csv = false;
  std::string plot;
};

// What every indicator was computed from.
struct Context {
  Observations observations;
  std::optional<Taxonomy> loaded_taxonomy;
  IndicatorQuery query;
};

// `years`: those the indicator uses, the only ones whose samples draw replicates ({0, 0}: all).
Context Observe(const IndicatorArguments& arguments, std::pair<int, int> years) {
  Context context;
  if (!arguments.taxonomy.empty()) {
    context.loaded_taxonomy = LoadTaxonomy(arguments.taxonomy);
  }
  Check(arguments.uncertainty == 0 || arguments.predictions,
        ErrorCode::kInvalidInput,
        "--uncertainty needs --predictions: validated labels have no uncertainty to draw");
  Check(arguments.uncertainty == 0 ||
            (arguments.uncertainty >= kMinUncertaintyReplicates && arguments.uncertainty <= 10000),
        ErrorCode::kInvalidInput,
        fmt::format("--uncertainty: expected 0 (none) or {} to 10000 replicates, found {}",
                    kMinUncertaintyReplicates,
                    arguments.uncertainty));
  const std::optional<SeriesValue> value = ParseSeriesValue(arguments.value);
  Check(value.has_value(),
        ErrorCode::kInvalidInput,
        "--value: expected cells_per_l, cells, biovolume (biovolume_um3_per_l) or carbon "
        "(carbon_ug_per_l), found '" +
            arguments.value + "'");
  context.query = {
      .taxonomy = context.loaded_taxonomy ? &*context.loaded_taxonomy : &DefaultTaxonomy(),
      .station = arguments.station,
      .area = arguments.area,
      .value = *value,
      .include_predictions = arguments.predictions,
      .model_id = arguments.model_id,
      .uncertainty = {.replicates = arguments.uncertainty,
                      .seed = arguments.seed,
                      .first_year = years.first,
                      .last_year = years.second}};
  const std::unique_ptr<Store> store = OpenStore(arguments.store);
  context.observations = ObserveSamples(*store, context.query);
  return context;
}

AssessmentPeriods Periods(const IndicatorArguments& arguments) {
  Check(!arguments.reference.empty() && !arguments.comparison.empty(),
        ErrorCode::kInvalidInput,
        "--reference and --comparison are required (e.g. --reference 2015-2020 --comparison "
        "2021-2025)");
  const auto [reference_first, reference_last] = ParseYearRange(arguments.reference, "--reference");
  const auto [comparison_first, comparison_last] =
      ParseYearRange(arguments.comparison, "--comparison");
  const AssessmentPeriods periods{
      reference_first, reference_last, comparison_first, comparison_last};
  periods.Validate();
  return periods;
}

std::string Text(double value, int digits = 4) {
  return std::isfinite(value) ? fmt::format("{:.{}g}", value, digits) : std::string("-");
}

std::string CsvNumber(double value) {
  return std::isfinite(value) ? fmt::format("{}", value) : "";
}

double Share(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole)
                   : std::numeric_limits<double>::quiet_NaN();
}

// "[lower, upper] median M" of an interval, or "" when there is none.
std::string IntervalText(const Interval& interval, int digits = 4) {
  if (std::isnan(interval.lower)) {
    return "";
  }
  return "[" + Text(interval.lower, digits) + ", " + Text(interval.upper, digits) + "] median " +
         Text(interval.median, digits);
}

// ", interval [lower, upper]" or "".
std::string Around(const Interval& interval) {
  const std::string text = IntervalText(interval, 3);
  return text.empty() ? text : ", interval " + text;
}

std::string Describe(const Context& context) {
  const IndicatorQuery& query = context.query;
  const std::string uncertainty =
      query.uncertainty.replicates > 0
          ? fmt::format("; {:g} % intervals over {} Monte Carlo replicates of the model labels",
                        100 * query.uncertainty.level,
                        query.uncertainty.replicates)
          : std::string();
  return fmt::format(
             "station {}, area {}; {}; {} labels; {} samples {}-{}, {:.1f} % of labels "
             "predicted",
             query.station.empty() ? "all" : query.station,
             query.area.empty() ? "all" : query.area,
             SeriesValueName(query.value),
             query.include_predictions ? "validated and predicted" : "validated",
             context.observations.samples.size(),
             context.observations.first_year,
             context.observations.last_year,
             100.0 * (context.observations.labelled > 0
                          ? Share(context.observations.predicted, context.observations.labelled)
                          : 0.0)) +
         uncertainty;
}

// The years of PH3 and `series`: from the earliest to the latest year of --reference and
// --comparison, whichever comes first; `otherwise` without either.
std::pair<int, int> YearSpan(const IndicatorArguments& arguments, std::pair<int, int> otherwise) {
  const auto range = [](const std::string& text,
                        std::string_view option) -> std::optional<std::pair<int, int>> {
    if (text.empty()) {
      return std::nullopt;
    }
    return ParseYearRange(text, option);
  };
  return PeriodSpan(range(arguments.reference, "--reference"),
                    range(arguments.comparison, "--comparison"),
                    otherwise);
}

// Checked before the samples are read, so that a typo costs no time.
void CheckPlotFolder(const std::string& path) {
  const fs::path folder = fs::path(path).parent_path();
  Check(path.empty() || folder.empty() || fs::is_directory(folder),
        ErrorCode::kNotFound,
        "--plot: no folder " + folder.string());
}

void WritePlot(const std::string& path, const std::string& svg) {
  if (path.empty()) {
    return;
  }
  std::ofstream out(path, std::ios::binary);
  out << svg;
  Check(static_cast<bool>(out), ErrorCode::kUnavailable, "--plot: cannot write " + path);
}

void PrintJson(const nlohmann::ordered_json& json) {
  std::cout << json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

void PrintWarnings(const std::vector<std::string>& warnings) {
  for (const std::string& warning : warnings) {
    fmt::print("warning: {}\n", warning);
  }
}

// ---- ph1 ----

void Ph1Command(const IndicatorArguments& arguments) {
  CheckPlotFolder(arguments.plot);
  const AssessmentPeriods periods = Periods(arguments);
  std::vector<LifeformPair> pairs;
  for (const std::string& text : arguments.lifeform_pairs) {
    pairs.push_back(ParseLifeformPair(text));
  }
  if (pairs.empty()) {
    pairs = DefaultLifeformPairs();
  }
  const Ph1Options options{.periods = periods,
                           .transform = *ParseLogTransform(arguments.transform),
                           .seed = arguments.seed,
                           .seasonal_kendall = arguments.seasonal};
  const Context context = Observe(arguments, {periods.FirstYear(), periods.LastYear()});
  const Ph1Assessment assessment = AssessPh1(context.observations, pairs, options);
  const Ph1Result& result = assessment.result;
  WritePlot(arguments.plot, Ph1EnvelopeSvg(result, IndicatorPlotTitle("PH1/FW5", context.query)));
  const std::vector<std::string>& warnings = assessment.warnings;

  if (arguments.json) {
    PrintJson(Ph1Json(context.query, context.observations, assessment));
    return;
  }
  // With --uncertainty the intervals of the PI follow it: pi_lower, pi_upper.
  const bool intervals = !assessment.intervals.empty();
  if (arguments.csv) {
    fmt::print(
        "x,y,year,pi,{}points,inside,binomial_probability,chi_square,chi_square_p,"
        "reference_points,qc_passed\n",
        intervals ? "pi_lower,pi_upper," : "");
    for (size_t p = 0; p < result.pairs.size(); ++p) {
      const Ph1PairResult& pair = result.pairs[p];
      const auto row = [&](const std::string& year, const PlanktonIndex& index, Interval interval) {
        fmt::print("{},{},{},{},{}{},{},{},{},{},{},{}\n",
                   pair.pair.x,
                   pair.pair.y,
                   year,
                   CsvNumber(index.pi),
                   intervals ? CsvNumber(interval.lower) + "," + CsvNumber(interval.upper) + ","
                             : std::string(),
                   index.points,
                   index.inside,
                   CsvNumber(index.binomial_probability),
                   CsvNumber(index.chi_square),
                   CsvNumber(index.chi_square_p),
                   pair.reference.size(),
                   pair.quality.passed ? "true" : "false");
      };
      row("all", pair.index, intervals ? assessment.intervals[p].pi : Interval{});
      for (size_t y = 0; y < pair.annual.size(); ++y) {
        row(std::to_string(pair.annual[y].year),
            pair.annual[y].index,
            intervals ? assessment.intervals[p].annual[y].second : Interval{});
      }
    }
    return;
  }
  fmt::print("PH1/FW5 lifeform pairs: {}\n", Describe(context));
  fmt::print("reference {}-{}, comparison {}-{}\n\n",
             periods.reference_first,
             periods.reference_last,
             periods.comparison_first,
             periods.comparison_last);
  fmt::print("{:<38} {:>6} {:>6} {:>6} {:>10} {:>9} {:>5} {}\n",
             "PAIR",
             "PI",
             "COMP",
             "INSIDE",
             "BINOM-P",
             "CHI-SQ",
             "REF",
             "QC");
  for (size_t p = 0; p < result.pairs.size(); ++p) {
    const Ph1PairResult& pair = result.pairs[p];
    fmt::print("{:<38} {:>6} {:>6} {:>6} {:>10} {:>9} {:>5} {}\n",
               pair.pair.x + "-" + pair.pair.y,
               Text(pair.index.pi, 3),
               pair.index.points,
               pair.index.inside,
               Text(pair.index.binomial_probability, 3),
               Text(pair.index.chi_square, 4),
               pair.reference.size(),
               pair.envelope ? (pair.quality.passed ? "ok" : "failed") : "-");
    if (intervals) {
      fmt::print("  PI interval: {}\n", IntervalText(assessment.intervals[p].pi, 3));
    }
    std::string per_year;
    for (size_t y = 0; y < pair.annual.size(); ++y) {
      const AnnualPlanktonIndex& year = pair.annual[y];
      per_year += fmt::format("  {} {}", year.year, Text(year.index.pi, 3));
      if (intervals) {
        per_year += " " + IntervalText(assessment.intervals[p].annual[y].second, 3);
      }
    }
    if (!per_year.empty()) {
      fmt::print("  PI per year:{}\n", per_year);
    }
  }
  fmt::print("\nKendall trends of the annual means of log10 ({}):\n",
             options.seasonal_kendall ? "seasonal test" : "annual test");
  fmt::print("{:<22} {:>5} {:>6} {:>7} {:>7} {:>8} {:>10}  {}\n",
             "LIFEFORM",
             "YEARS",
             "S",
             "TAU",
             "Z",
             "P",
             "SEN-SLOPE",
             "");
  for (const LifeformTrend& trend : result.trends) {
    fmt::print("{:<22} {:>5} {:>6} {:>7} {:>7} {:>8} {:>10}  {}\n",
               trend.lifeform,
               trend.years.size(),
               trend.kendall.s,
               Text(trend.kendall.tau, 3),
               Text(trend.kendall.z, 3),
               Text(trend.kendall.p, 3),
               Text(trend.kendall.sen_slope, 3),
               trend.significant ? (trend.kendall.s > 0 ? "increase" : "decrease") : "");
  }
  PrintWarnings(warnings);
}

// ---- ph2 ----

void Ph2Command(const IndicatorArguments& arguments) {
  CheckPlotFolder(arguments.plot);
  const Ph2Options options{.periods = Periods(arguments)};
  Check(IsLifeformGroup(arguments.lifeform),
        ErrorCode::kInvalidInput,
        "--lifeform: unknown lifeform group '" + arguments.lifeform + "'");
  const Context context =
      Observe(arguments, {options.periods.FirstYear(), options.periods.LastYear()});
  const Ph2Assessment assessment = AssessPh2(context.observations, arguments.lifeform, options);
  const Ph2Result& result = assessment.result;
  WritePlot(arguments.plot,
            Ph2AnomalySvg(result, IndicatorPlotTitle("PH2 " + arguments.lifeform, context.query)));
  const std::vector<std::string>& warnings = assessment.warnings;
  const AnomalyCounts& counts = result.comparison;
  const AnomalyThresholds& limits = result.thresholds;

  if (arguments.json) {
    PrintJson(Ph2Json(context.query, context.observations, assessment));
    return;
  }
  if (arguments.csv) {
    fmt::print("year,month,samples,interpolated,comparison,value,cycle,anomaly,class,cumulative\n");
    for (const Ph2Month& month : result.months) {
      fmt::print("{},{},{},{},{},{},{},{},{},{}\n",
                 month.year,
                 month.month,
                 month.samples,
                 month.interpolated ? "true" : "false",
                 month.comparison ? "true" : "false",
                 CsvNumber(month.value),
                 CsvNumber(month.cycle),
                 CsvNumber(month.anomaly),
                 AnomalyClassName(month.change),
                 CsvNumber(month.cumulative));
    }
    return;
  }
  fmt::print("PH2 anomalies of log10({} + 1): {}\n", arguments.lifeform, Describe(context));
  fmt::print("reference {}-{} ({} years kept), comparison {}-{}\n\n",
             options.periods.reference_first,
             options.periods.reference_last,
             result.reference_years,
             options.periods.comparison_first,
             options.periods.comparison_last);
  fmt::print("thresholds (all anomalies)  2.5 %: {}  25 %: {}  75 %: {}  97.5 %: {}\n",
             Text(limits.q2_5),
             Text(limits.q25),
             Text(limits.q75),
             Text(limits.q97_5));
  const Ph2Intervals none;
  const Ph2Intervals& intervals = assessment.intervals.value_or(none);
  fmt::print("comparison months           {}\n", counts.months);
  fmt::print("important anomalies         {} positive, {} negative ({} % of the months{})\n",
             counts.important_positive,
             counts.important_negative,
             Text(counts.percent_important, 3),
             Around(intervals.percent_important));
  fmt::print("extreme anomalies           {} positive, {} negative ({} %{})\n",
             counts.extreme_positive,
             counts.extreme_negative,
             Text(counts.percent_extreme, 3),
             Around(intervals.percent_extreme));
  fmt::print("Welch t test                t = {}, df = {}, p = {}{}\n",
             Text(result.t_test.t),
             Text(result.t_test.df),
             Text(result.t_test.p, 3),
             result.t_test_significant ? (result.t_test.t < 0 ? " (significant: comparison higher)"
                                                              : " (significant: comparison lower)")
                                       : "");
  fmt::print("F test of variances         F = {}, p = {}\n",
             Text(result.f_test.f),
             Text(result.f_test.p, 3));
  fmt::print("SD change                   {} %{}\n",
             Text(result.sd_change_percent, 3),
             Around(intervals.sd_change_percent));
  fmt::print("Kendall trend (annual)      S = {}, tau = {}, p = {}\n",
             result.trend.s,
             Text(result.trend.tau, 3),
             Text(result.trend.p, 3));
  PrintWarnings(warnings);
}

// ---- ph3 ----

void Ph3Command(const IndicatorArguments& arguments) {
  CheckPlotFolder(arguments.plot);
  Ph3Options options{.permutations = arguments.permutations, .seed = arguments.seed};
  // 0: the first or last year with samples.
  std::tie(options.first_year, options.last_year) = YearSpan(arguments, {0, 0});
  Check(IsLifeformGroup(arguments.lifeform),
        ErrorCode::kInvalidInput,
        "--lifeform: unknown lifeform group '" + arguments.lifeform + "'");
  Check(options.permutations >= 0 && options.permutations <= 100000,
        ErrorCode::kInvalidInput,
        "--permutations: expected 0 to 100000, found " + std::to_string(options.permutations));
  const Context context = Observe(arguments, {options.first_year, options.last_year});
  const Ph3Assessment assessment = AssessPh3(context.observations, arguments.lifeform, options);
  const Ph3Result& result = assessment.result;
  WritePlot(arguments.plot,
            Ph3IndexSvg(result, IndicatorPlotTitle("PH3 " + arguments.lifeform, context.query)));
  const std::vector<std::string>& warnings = assessment.warnings;

  if (arguments.json) {
    PrintJson(Ph3Json(context.query, context.observations, assessment));
    return;
  }
  if (arguments.csv) {
    fmt::print(
        "year,month,samples,richness,abundance,menhinick,margalef,hulburt,shannon,simpson,"
        "gini,pielou,patten,bloom,dominant\n");
    for (const Ph3Month& month : result.months) {
      const DiversityIndices& indices = month.indices;
      fmt::print("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                 month.year,
                 month.month,
                 month.samples,
                 indices.richness,
                 CsvNumber(indices.abundance),
                 CsvNumber(indices.menhinick),
                 CsvNumber(indices.margalef),
                 CsvNumber(indices.hulburt),
                 CsvNumber(indices.shannon),
                 CsvNumber(indices.simpson),
                 CsvNumber(indices.gini),
                 CsvNumber(indices.pielou),
                 CsvNumber(month.patten),
                 month.bloom ? "true" : "false",
                 month.dominant);
    }
    return;
  }
  fmt::print("PH3 diversity of {} ({} taxa): {}\n\n",
             arguments.lifeform,
             result.taxa.size(),
             Describe(context));
  fmt::print("{:<6} {:>6} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7} {:>6} {:>8} {:>8} {:>7} {:>7}\n",
             "YEAR",
             "MONTHS",
             "RICHNESS",
             "MENHINICK",
             "HULBURT",
             "SHANNON",
             "SIMPSON",
             "PIELOU",
             "BLOOMS",
             "EQR-MEN",
             "EQR-HUL",
             "LCBD",
             "LCBD-P");
  for (const Ph3Year& year : result.years) {
    fmt::print("{:<6} {:>6} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7} {:>6} {:>8} {:>8} {:>7} {:>7}\n",
               year.year,
               year.months,
               Text(year.richness, 3),
               Text(year.menhinick),
               Text(year.hulburt, 3),
               Text(year.shannon),
               Text(year.simpson),
               Text(year.pielou),
               year.bloom_months,
               Text(year.eqr_menhinick, 3),
               Text(year.eqr_hulburt, 3),
               Text(year.lcbd, 3),
               Text(year.lcbd_p, 3));
    if (!assessment.intervals.empty()) {
      const Ph3YearIntervals& interval =
          assessment.intervals[static_cast<size_t>(&year - result.years.data())];
      fmt::print(
          "       interval: richness {} menhinick {} hulburt {} shannon {} simpson {} "
          "pielou {}\n",
          IntervalText(interval.richness, 3),
          IntervalText(interval.menhinick),
          IntervalText(interval.hulburt, 3),
          IntervalText(interval.shannon),
          IntervalText(interval.simpson),
          IntervalText(interval.pielou));
    }
    for (const ImportanceValue& value : year.ivi) {
      fmt::print("       IVI {:<30} {:>7} (density {} %, frequency {} %)\n",
                 value.taxon,
                 Text(value.ivi, 4),
                 Text(value.relative_density, 3),
                 Text(value.relative_frequency, 3));
    }
  }
  fmt::print("\nKendall trends of the annual means:\n");
  for (const IndexTrend& trend : result.trends) {
    fmt::print("{:<10} S = {:>4}, tau = {:>6}, p = {}\n",
               trend.index,
               trend.kendall.s,
               Text(trend.kendall.tau, 3),
               Text(trend.kendall.p, 3));
  }
  PrintWarnings(warnings);
}

// ---- series ----

void SeriesCommand(const IndicatorArguments& arguments) {
  // A malformed period fails before the samples are read.
  const Context context = Observe(arguments, YearSpan(arguments, {0, 0}));
  const auto [first, last] =
      YearSpan(arguments, {context.observations.first_year, context.observations.last_year});
  const std::vector<MonthlySeries> series = LifeformSeries(context.observations, first, last);
  const std::vector<MonthlyPoint>& months = series.front().points;
  if (arguments.json) {
    PrintJson(SeriesJson(context.query, context.observations, series));
    return;
  }
  // CSV (the default: a table this wide is for spreadsheets).
  // With --uncertainty every group's interval follows it: GROUP_lower, GROUP_upper.
  const bool intervals = context.query.uncertainty.replicates > 0;
  std::string header = "year,month,samples,predicted_share";
  for (const MonthlySeries& one : series) {
    header += "," + one.name + (intervals ? "," + one.name + "_lower," + one.name + "_upper" : "");
  }
  fmt::print("{}\n", header);
  for (size_t i = 0; i < months.size(); ++i) {
    std::string row = fmt::format("{},{},{},{}",
                                  months[i].year,
                                  months[i].month,
                                  months[i].samples,
                                  CsvNumber(months[i].predicted_share));
    for (const MonthlySeries& one : series) {
      row += "," + CsvNumber(one.points[i].mean);
      if (intervals) {
        row += "," + CsvNumber(one.points[i].lower) + "," + CsvNumber(one.points[i].upper);
      }
    }
    fmt::print("{}\n", row);
  }
  for (const std::string& warning : context.observations.warnings) {
    std::cerr << "warning: " << warning << "\n";
  }
}

// The options every indicator shares.
void AddCommonOptions(CLI::App& command,
                      IndicatorArguments& arguments,
                      bool periods_required,
                      bool outputs) {
  command.add_option("--station", arguments.station, "Only samples of this station (metadata)");
  command.add_option(
      "--area", arguments.area, "Only samples of this assessment area (metadata water_body)");
  auto* reference =
      command.add_option("--reference", arguments.reference, "Reference period, e.g. 2015-2020");
  auto* comparison = command.add_option(
      "--comparison",
      arguments.comparison,
      "Comparison (assessment) period, e.g. 2021-2025; must not overlap the reference");
  if (periods_required) {
    reference->required();
    comparison->required();
  }
  // Checked by ParseSeriesValue, which also takes the names the output prints.
  command.add_option("--value",
                     arguments.value,
                     "What the series follow: cells_per_l (default), cells (counted, not per "
                     "litre), biovolume (um3/L) or carbon (ug C/L)");
  command.add_flag("--predictions",
                   arguments.predictions,
                   "Also count model predictions where a particle has no validated label");
  command.add_option("--model-id",
                     arguments.model_id,
                     "With --predictions: this model's predictions (default: each sample's "
                     "newest)");
  command.add_option("--uncertainty",
                     arguments.uncertainty,
                     "With --predictions: N Monte Carlo replicates of the model labels drawn from "
                     "their calibrated top-k, for 95 % intervals (0 to 10000; default 0, none)");
  command.add_option("--taxonomy", arguments.taxonomy, "Taxonomy TSV (default: the built-in one)");
  auto* json = command.add_flag("--json", arguments.json, "Print JSON");
  if (outputs) {
    command.add_flag("--csv", arguments.csv, "Print CSV")->excludes(json);
    command.add_option("--plot", arguments.plot, "Also write the plot to this SVG file");
  }
  AddStoreOption(command, arguments.store);
}

}  // namespace

void AddIndicatorCommands(CLI::App& app) {
  auto arguments = std::make_shared<IndicatorArguments>();
  CLI::App* indicators =
      app.add_subcommand("indicators",
                         "OSPAR pelagic-habitat indicators PH1/FW5, PH2, PH3 of a station or area "
                         "(docs/indicators.md)");
  indicators->require_subcommand(1);

  CLI::App* ph1 = indicators->add_subcommand(
      "ph1",
      "PH1/FW5 lifeform pairs: Plankton Index against the reference envelope, Kendall "
      "trends");
  AddCommonOptions(*ph1, *arguments, true, true);
  ph1->add_option("--lifeforms",
                  arguments->lifeform_pairs,
                  "Lifeform pair X-Y, repeatable (default: diatom-dinoflagellate, "
                  "tychopelagic_diatoms-pelagic_diatoms, lg_phyto-sm_phyto)");
  ph1->add_option("--transform",
                  arguments->transform,
                  "half-minimum (PLET method 1, default) or plus-one (log10(x + 1))")
      ->check(CLI::IsMember({"half-minimum", "plus-one"}));
  ph1->add_flag("--seasonal", arguments->seasonal, "Seasonal Kendall test by calendar month");
  ph1->add_option(
      "--seed", arguments->seed, "Seed of the envelope's jitter and of --uncertainty (default 1)");
  ph1->callback([arguments] { Ph1Command(*arguments); });

  CLI::App* ph2 = indicators->add_subcommand(
      "ph2", "PH2 biomass/abundance: monthly anomalies against the reference climatology");
  AddCommonOptions(*ph2, *arguments, true, true);
  ph2->add_option("--seed", arguments->seed, "Seed of --uncertainty (default 1)");
  ph2->add_option("--lifeform",
                  arguments->lifeform,
                  "Lifeform group of the series (default: phytoplankton, the total)");
  ph2->callback([arguments] { Ph2Command(*arguments); });

  CLI::App* ph3 = indicators->add_subcommand(
      "ph3",
      "PH3 diversity: Menhinick, Hulburt, Shannon, Simpson, Pielou, blooms, EQR, LCBD, IVI "
      "(period: start of --reference to end of --comparison, default every year)");
  AddCommonOptions(*ph3, *arguments, false, true);
  ph3->add_option("--lifeform",
                  arguments->lifeform,
                  "Lifeform group whose taxa are counted (default: phytoplankton)");
  ph3->add_option("--permutations", arguments->permutations, "LCBD permutation test (default 999)");
  ph3->add_option(
      "--seed", arguments->seed, "Seed of the permutations and of --uncertainty (default 1)");
  ph3->callback([arguments] { Ph3Command(*arguments); });

  CLI::App* series = indicators->add_subcommand(
      "series",
      "Monthly means of every lifeform group as CSV (or --json), with samples and the share of "
      "predicted labels");
  AddCommonOptions(*series, *arguments, false, false);
  series->add_option("--seed", arguments->seed, "Seed of --uncertainty (default 1)");
  series->callback([arguments] { SeriesCommand(*arguments); });
}

}  // namespace phytoflow
