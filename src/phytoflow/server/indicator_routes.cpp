// GET /api/v1/indicators/{kind}: the OSPAR pelagic-habitat indicators (ph1, ph2, ph3) and the
// monthly series of the stored samples, with the query parameters of `phytoflow indicators KIND`'s
// options and the same JSON as its --json (json_views.h), or the plot as SVG (format=svg);
// uncertainty=N adds the intervals of N Monte Carlo replicates of the model labels. See
// docs/indicators.md and docs/api.md.

#include "phytoflow/app/indicators.h"
#include "phytoflow/core/error.h"
#include "phytoflow/products/indicator_plots.h"
#include "phytoflow/server/http_error.h"
#include "phytoflow/server/json_views.h"
#include "phytoflow/server/routes.h"

#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace phytoflow {
namespace {

using Ordered = nlohmann::ordered_json;

uint64_t SeedQuery(const HttpRequest& request) {
  return static_cast<uint64_t>(
      IntQuery(request, "seed", 1, 0, std::numeric_limits<int64_t>::max()));
}

// What every kind reads: the samples of the station and area, what their series follow, and the
// replicates of the classifier's uncertainty for the samples of `years` ({0, 0}: all). A plot
// shows no interval: for it no replicate is drawn.
IndicatorQuery QueryOf(const Service::Parts& parts,
                       const HttpRequest& request,
                       bool svg,
                       std::pair<int, int> years) {
  const std::string value = request.Query("value").value_or("cells_per_l");
  const std::optional<SeriesValue> parsed = ParseSeriesValue(value);
  if (!parsed) {
    throw BadRequest(
        "query parameter 'value': expected cells_per_l, cells, biovolume (biovolume_um3_per_l) "
        "or carbon (carbon_ug_per_l), found '" +
        value + "'");
  }
  const bool predictions = BoolQuery(request, "predictions", false);
  const int replicates = static_cast<int>(IntQuery(request, "uncertainty", 0, 0, 1000));
  if (replicates > 0 && !predictions) {
    throw BadRequest(
        "query parameter 'uncertainty' needs predictions=true: validated labels have no "
        "uncertainty to draw");
  }
  if (replicates > 0 && replicates < kMinUncertaintyReplicates) {
    throw BadRequest("query parameter 'uncertainty': expected 0 (none) or " +
                     std::to_string(kMinUncertaintyReplicates) + " to 1000 replicates, found " +
                     std::to_string(replicates));
  }
  return {.taxonomy = parts.taxonomy,
          .station = request.Query("station").value_or(""),
          .area = request.Query("area").value_or(""),
          .value = *parsed,
          .include_predictions = predictions,
          .model_id = request.Query("model_id").value_or(""),
          .uncertainty = {.replicates = svg ? 0 : replicates,
                          .seed = SeedQuery(request),
                          .first_year = years.first,
                          .last_year = years.second,
                          .max_draws = parts.options.max_uncertainty_draws}};
}

// A period parameter ("2015-2020" or "2021"), or nullopt when absent.
std::optional<std::pair<int, int>> RangeQuery(const HttpRequest& request, const std::string& name) {
  const std::optional<std::string> text = request.Query(name);
  if (!text) {
    return std::nullopt;
  }
  return ParseYearRange(*text, "query parameter '" + name + "'");
}

AssessmentPeriods PeriodsQuery(const HttpRequest& request) {
  const auto reference = RangeQuery(request, "reference");
  const auto comparison = RangeQuery(request, "comparison");
  if (!reference || !comparison) {
    throw BadRequest(
        "query parameters 'reference' and 'comparison' are required (e.g. reference=2015-2020&"
        "comparison=2021-2025)");
  }
  const AssessmentPeriods periods{
      reference->first, reference->second, comparison->first, comparison->second};
  periods.Validate();
  return periods;
}

std::string LifeformQuery(const HttpRequest& request) {
  const std::string lifeform = request.Query("lifeform").value_or("phytoplankton");
  if (!IsLifeformGroup(lifeform)) {
    throw BadRequest("query parameter 'lifeform': unknown lifeform group '" + lifeform + "'");
  }
  return lifeform;
}

// format=json (default) or format=svg (the plot; not for the series, which has none). Read first,
// so that a bad value costs no reading of the store.
bool WantsSvg(const HttpRequest& request, bool has_plot) {
  const std::string format = request.Query("format").value_or("json");
  if (format != "json" && format != "svg") {
    throw BadRequest("query parameter 'format': expected json or svg, found '" + format + "'");
  }
  if (format == "svg" && !has_plot) {
    throw BadRequest("query parameter 'format': the monthly series has no plot; use json");
  }
  return format == "svg";
}

HttpResponse JsonAnswer(const Ordered& json) {
  return JsonResponse(json.dump(-1, ' ', false, Ordered::error_handler_t::replace));
}

HttpResponse SvgAnswer(std::string svg) {
  HttpResponse response;
  response.content_type = "image/svg+xml";
  response.body = std::move(svg);
  return response;
}

HttpResponse Ph1(Service::Parts& parts, const HttpRequest& request) {
  const bool svg = WantsSvg(request, true);
  std::vector<LifeformPair> pairs;
  const auto [first, last] = request.query.equal_range("lifeforms");
  for (auto entry = first; entry != last; ++entry) {
    pairs.push_back(ParseLifeformPair(entry->second));
  }
  if (pairs.empty()) {
    pairs = DefaultLifeformPairs();
  }
  const std::string transform = request.Query("transform").value_or("half-minimum");
  const std::optional<LogTransform> parsed = ParseLogTransform(transform);
  if (!parsed) {
    throw BadRequest("query parameter 'transform': expected half-minimum or plus-one, found '" +
                     transform + "'");
  }
  const Ph1Options options{.periods = PeriodsQuery(request),
                           .transform = *parsed,
                           .seed = SeedQuery(request),
                           .seasonal_kendall = BoolQuery(request, "seasonal", false)};
  const IndicatorQuery query =
      QueryOf(parts, request, svg, {options.periods.FirstYear(), options.periods.LastYear()});
  const Observations observations = ObserveSamples(*parts.stores.Acquire(), query);
  const Ph1Assessment assessment = AssessPh1(observations, pairs, options);
  if (svg) {
    return SvgAnswer(Ph1EnvelopeSvg(assessment.result, IndicatorPlotTitle("PH1/FW5", query)));
  }
  return JsonAnswer(Ph1Json(query, observations, assessment));
}

HttpResponse Ph2(Service::Parts& parts, const HttpRequest& request) {
  const bool svg = WantsSvg(request, true);
  const Ph2Options options{.periods = PeriodsQuery(request)};
  const std::string lifeform = LifeformQuery(request);
  const IndicatorQuery query =
      QueryOf(parts, request, svg, {options.periods.FirstYear(), options.periods.LastYear()});
  const Observations observations = ObserveSamples(*parts.stores.Acquire(), query);
  const Ph2Assessment assessment = AssessPh2(observations, lifeform, options);
  if (svg) {
    return SvgAnswer(
        Ph2AnomalySvg(assessment.result, IndicatorPlotTitle("PH2 " + lifeform, query)));
  }
  return JsonAnswer(Ph2Json(query, observations, assessment));
}

HttpResponse Ph3(Service::Parts& parts, const HttpRequest& request) {
  const bool svg = WantsSvg(request, true);
  Ph3Options options{
      .permutations = static_cast<int>(IntQuery(request, "permutations", 999, 0, 100000)),
      .seed = SeedQuery(request)};
  // 0: the first or last year with samples.
  std::tie(options.first_year, options.last_year) =
      PeriodSpan(RangeQuery(request, "reference"), RangeQuery(request, "comparison"), {0, 0});
  const std::string lifeform = LifeformQuery(request);
  const IndicatorQuery query =
      QueryOf(parts, request, svg, {options.first_year, options.last_year});
  const Observations observations = ObserveSamples(*parts.stores.Acquire(), query);
  const Ph3Assessment assessment = AssessPh3(observations, lifeform, options);
  if (svg) {
    return SvgAnswer(Ph3IndexSvg(assessment.result, IndicatorPlotTitle("PH3 " + lifeform, query)));
  }
  return JsonAnswer(Ph3Json(query, observations, assessment));
}

HttpResponse Series(Service::Parts& parts, const HttpRequest& request) {
  WantsSvg(request, false);
  const auto reference = RangeQuery(request, "reference");
  const auto comparison = RangeQuery(request, "comparison");
  // A reversed period fails before the store is read.
  const IndicatorQuery query =
      QueryOf(parts, request, false, PeriodSpan(reference, comparison, {0, 0}));
  const Observations observations = ObserveSamples(*parts.stores.Acquire(), query);
  const auto [first, last] =
      PeriodSpan(reference, comparison, {observations.first_year, observations.last_year});
  const std::vector<MonthlySeries> series = LifeformSeries(observations, first, last);
  return JsonAnswer(SeriesJson(query, observations, series));
}

}  // namespace

void AddIndicatorRoutes(Router& router, Service::Parts& parts) {
  router.Add("GET",
             "/api/v1/indicators/{kind}",
             Access::kRead,
             [&parts](const HttpRequest& request, const RequestContext&) {
               const std::string& kind = request.PathParam("kind");
               if (kind == "ph1") {
                 return Ph1(parts, request);
               }
               if (kind == "ph2") {
                 return Ph2(parts, request);
               }
               if (kind == "ph3") {
                 return Ph3(parts, request);
               }
               if (kind == "series") {
                 return Series(parts, request);
               }
               throw HttpError(
                   404, "not_found", "no indicator '" + kind + "' (known: ph1, ph2, ph3, series)");
             });
}

}  // namespace phytoflow
