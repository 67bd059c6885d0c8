#include "phytoflow/products/indicator_uncertainty.h"

#include "phytoflow/core/error.h"
#include "phytoflow/products/statistics.h"

#include <cmath>
#include <functional>

namespace phytoflow {
namespace {

// [0, 1) from the engine's 53 high bits: the engine's numbers are fixed by the standard, the
// std:: distributions' are not, so this keeps a seeded run the same on every platform.
double Uniform(std::mt19937_64& generator) {
  return static_cast<double>(generator() >> 11) * 0x1.0p-53;
}

// The interval of one number of each replicate.
template <typename Item>
Interval IntervalOf(std::span<const Item> items,
                    const std::function<double(const Item&)>& value,
                    double level) {
  std::vector<double> values;
  values.reserve(items.size());
  for (const Item& item : items) {
    values.push_back(value(item));
  }
  return PercentileInterval(values, level);
}

}  // namespace

uint64_t ReplicateSeed(uint64_t seed, std::string_view sample_id) {
  // FNV-1a of the id, then mixed with the seed through SplitMix64's finaliser.
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : sample_id) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return SplitMix64(seed ^ hash).Next();
}

std::vector<ResolvedLabel> DrawLabels(std::span<const ResolvedLabel> labels,
                                      std::span<const std::vector<LabelScore>> top_k,
                                      std::mt19937_64& generator) {
  Check(labels.size() == top_k.size(),
        ErrorCode::kInvalidInput,
        "DrawLabels: " + std::to_string(labels.size()) + " labels but " +
            std::to_string(top_k.size()) + " top-k lists");
  std::vector<ResolvedLabel> drawn(labels.begin(), labels.end());
  for (size_t i = 0; i < drawn.size(); ++i) {
    ResolvedLabel& label = drawn[i];
    const bool from_model =
        label.status == LabelStatus::kPredicted || label.status == LabelStatus::kUncertain;
    if (!from_model || top_k[i].empty()) {
      continue;
    }
    const double u = Uniform(generator);
    double cumulative = 0;
    const LabelScore* chosen = nullptr;
    for (const LabelScore& score : top_k[i]) {
      cumulative += std::max(score.probability, 0.0);
      if (u < cumulative) {
        chosen = &score;
        break;
      }
    }
    if (chosen != nullptr) {
      // A drawn class is as good as a prediction above its threshold in this replicate.
      label.name = chosen->name;
      label.status = LabelStatus::kPredicted;
      label.probability = chosen->probability;
    } else {
      label.name.clear();
      label.status = LabelStatus::kUnlabelled;
      label.probability.reset();
    }
  }
  return drawn;
}

Interval PercentileInterval(std::span<const double> values, double level) {
  Check(level > 0 && level < 1,
        ErrorCode::kInvalidInput,
        "uncertainty level: expected a value between 0 and 1, found " + std::to_string(level));
  std::vector<double> finite;
  finite.reserve(values.size());
  for (const double value : values) {
    if (std::isfinite(value)) {
      finite.push_back(value);
    }
  }
  if (finite.empty() || static_cast<double>(finite.size()) < level * values.size()) {
    return {};
  }
  return {.lower = QuantileType7(finite, (1 - level) / 2),
          .upper = QuantileType7(finite, (1 + level) / 2),
          .median = QuantileType7(finite, 0.5)};
}

void AttachIntervals(MonthlySeries& estimate,
                     std::span<const MonthlySeries> replicates,
                     double level) {
  std::vector<double> values(replicates.size());
  for (size_t month = 0; month < estimate.points.size(); ++month) {
    for (size_t r = 0; r < replicates.size(); ++r) {
      const std::vector<MonthlyPoint>& points = replicates[r].points;
      values[r] = month < points.size() ? points[month].mean : kIndicatorNaN;
    }
    const Interval interval = PercentileInterval(values, level);
    estimate.points[month].lower = interval.lower;
    estimate.points[month].upper = interval.upper;
    estimate.points[month].median = interval.median;
  }
}

std::vector<Ph1PairIntervals> Ph1Intervals(const Ph1Result& estimate,
                                           std::span<const Ph1Result> replicates,
                                           double level) {
  const auto pair_of = [](const Ph1Result& result,
                          const LifeformPair& pair) -> const Ph1PairResult* {
    for (const Ph1PairResult& one : result.pairs) {
      if (one.pair == pair) {
        return &one;
      }
    }
    return nullptr;
  };
  std::vector<Ph1PairIntervals> intervals;
  for (const Ph1PairResult& pair : estimate.pairs) {
    const std::function<double(const Ph1Result&)> pi = [&](const Ph1Result& replicate) {
      const Ph1PairResult* found = pair_of(replicate, pair.pair);
      return found ? found->index.pi : kIndicatorNaN;
    };
    Ph1PairIntervals entry{.pi = IntervalOf(replicates, pi, level), .annual = {}};
    for (const AnnualPlanktonIndex& year : pair.annual) {
      const std::function<double(const Ph1Result&)> annual_pi = [&](const Ph1Result& replicate) {
        const Ph1PairResult* found = pair_of(replicate, pair.pair);
        if (found != nullptr) {
          for (const AnnualPlanktonIndex& other : found->annual) {
            if (other.year == year.year) {
              return other.index.pi;
            }
          }
        }
        return kIndicatorNaN;
      };
      entry.annual.emplace_back(year.year, IntervalOf(replicates, annual_pi, level));
    }
    intervals.push_back(std::move(entry));
  }
  return intervals;
}

Ph2Intervals Ph2IntervalsOf(std::span<const Ph2Result> replicates, double level) {
  using Of = std::function<double(const Ph2Result&)>;
  return {
      .percent_important = IntervalOf(
          replicates, Of([](const Ph2Result& r) { return r.comparison.percent_important; }), level),
      .percent_extreme = IntervalOf(
          replicates, Of([](const Ph2Result& r) { return r.comparison.percent_extreme; }), level),
      .percent_strong = IntervalOf(
          replicates, Of([](const Ph2Result& r) { return r.comparison.percent_strong; }), level),
      .sd_change_percent = IntervalOf(
          replicates, Of([](const Ph2Result& r) { return r.sd_change_percent; }), level)};
}

std::vector<Ph3YearIntervals> Ph3Intervals(const Ph3Result& estimate,
                                           std::span<const Ph3Result> replicates,
                                           double level) {
  std::vector<Ph3YearIntervals> intervals;
  for (const Ph3Year& year : estimate.years) {
    // The interval of one annual mean, NaN in a replicate without the year.
    const auto of = [&](double Ph3Year::* member) {
      const std::function<double(const Ph3Result&)> value = [&](const Ph3Result& replicate) {
        for (const Ph3Year& other : replicate.years) {
          if (other.year == year.year) {
            return other.*member;
          }
        }
        return kIndicatorNaN;
      };
      return IntervalOf(replicates, value, level);
    };
    intervals.push_back({.year = year.year,
                         .richness = of(&Ph3Year::richness),
                         .menhinick = of(&Ph3Year::menhinick),
                         .margalef = of(&Ph3Year::margalef),
                         .hulburt = of(&Ph3Year::hulburt),
                         .shannon = of(&Ph3Year::shannon),
                         .simpson = of(&Ph3Year::simpson),
                         .pielou = of(&Ph3Year::pielou)});
  }
  return intervals;
}

}  // namespace phytoflow
