#include "phytoflow/core/sample.h"

#include <array>
#include <cstdio>
#include <utility>

namespace phytoflow {
namespace {

constexpr std::array<std::pair<VolumeSource, std::string_view>, 6> kVolumeSourceNames = {{
    {VolumeSource::kNone, "none"},
    {VolumeSource::kRunSummary, "run_summary"},
    {VolumeSource::kSummaryCsv, "summary_csv"},
    {VolumeSource::kContextManual, "ctx_manual"},
    {VolumeSource::kContextEfficiency, "ctx_efficiency"},
    {VolumeSource::kContextGeometry, "ctx_geometry"},
}};

}  // namespace

std::string_view VolumeSourceName(VolumeSource source) {
  for (const auto& [value, name] : kVolumeSourceNames) {
    if (value == source) {
      return name;
    }
  }
  return "none";
}

std::optional<VolumeSource> ParseVolumeSource(std::string_view name) {
  for (const auto& [value, known] : kVolumeSourceNames) {
    if (known == name) {
      return value;
    }
  }
  return std::nullopt;
}

namespace {

// Seconds since 1970-01-01 of a naive "YYYY-MM-DDTHH:MM:SS" (days from civil, H. Hinnant).
std::optional<int64_t> NaiveSeconds(const std::string& text) {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  char t = 0;
  if (std::sscanf(text.c_str(),
                  "%4d-%2u-%2u%c%2u:%2u:%2u",
                  &year,
                  &month,
                  &day,
                  &t,
                  &hour,
                  &minute,
                  &second) != 7 ||
      (t != 'T' && t != ' ') || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  year -= month <= 2 ? 1 : 0;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  const int64_t days = int64_t{era} * 146097 + day_of_era - 719468;
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

}  // namespace

std::optional<int> UtcOffsetMinutes(const std::string& utc, const std::string& local) {
  const auto utc_seconds = NaiveSeconds(utc);
  const auto local_seconds = NaiveSeconds(local);
  if (!utc_seconds || !local_seconds) {
    return std::nullopt;
  }
  constexpr int64_t kQuarterHour = 15 * 60;
  const int64_t difference = *local_seconds - *utc_seconds;
  const int64_t quarters =
      (difference + (difference >= 0 ? kQuarterHour / 2 : -kQuarterHour / 2)) / kQuarterHour;
  return static_cast<int>(quarters * 15);
}

std::optional<double> ParticlesPerMl(int64_t count,
                                     std::optional<double> volume_ml,
                                     double dilution) {
  if (!volume_ml || *volume_ml <= 0.0) {
    return std::nullopt;
  }
  return static_cast<double>(count) / *volume_ml * dilution;
}

}  // namespace phytoflow
