#pragma once

// What the instrument cannot know about a sample: where, when and how the water was taken, and
// the environment. Given at ingest (a sidecar CSV/JSON matched by run name) or later with
// `phytoflow metadata set|import`. Read by the classifier's context, the composition report
// (dilution and concentration factors) and the Darwin Core export (event location and date).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

struct SampleMetadata {
  std::string station;              // station code or name, e.g. "W08"
  std::string campaign;             // cruise or campaign, e.g. "BPNS-2024-05"
  std::optional<double> latitude;   // decimal degrees, WGS84, -90..90
  std::optional<double> longitude;  // decimal degrees, WGS84, -180..180
  std::string sampled_at;           // ISO 8601 in UTC: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS[.f]]Z"
  std::optional<double> depth_min_m;  // 0..11000, min <= max
  std::optional<double> depth_max_m;
  std::string sampling_protocol;  // free text, e.g. "Niskin bottle, 5 m; Lugol"
  std::string gear;               // sampling device, e.g. "Niskin bottle", "Apstein net 55 µm"
  std::string water_body;         // e.g. "North Sea"
  std::string country_code;       // ISO 3166-1 alpha-2, e.g. "BE"
  // Dilution applied to the sample before the FlowCam, beyond VisualSpreadsheet's own
  // (Sample::dilution_factor): concentrations are multiplied by it. > 0; 1 when not given.
  std::optional<double> dilution_factor;
  // Seawater volume per volume of the analysed concentrate (net haul, settling); concentrations
  // are divided by it. > 0; 1 (whole water) when not given.
  std::optional<double> concentration_factor;
  std::optional<double> temperature_c;  // -3..40
  std::optional<double> salinity;       // practical salinity, 0..45
  // Other environmental values by name with their unit in the name, e.g. "chlorophyll_ug_per_l".
  std::map<std::string, double> environment;

  bool Empty() const { return *this == SampleMetadata{}; }
  bool operator==(const SampleMetadata&) const = default;
};

// The keys `metadata set KEY=VALUE` and the sidecar columns accept, in documentation order:
// station, campaign, latitude, longitude, sampled_at, depth (sets min and max), depth_min_m,
// depth_max_m, sampling_protocol, gear, water_body, country_code, dilution_factor,
// concentration_factor, temperature_c, salinity. Besides these, env.NAME (NAME of a-z, 0-9 and
// '_', unit in the name) sets `environment[NAME]`; it is not in this list.
std::vector<std::string_view> SampleMetadataKeys();

// Sets one key from its text (surrounding blanks ignored). An empty value clears the key.
// Numbers are read with std::from_chars, so "51.5" in every locale and never "51,5". Throws
// Error{kInvalidInput} whose message starts with the key, for an unknown key, an unparsable or
// non-finite number, a value out of range, text with control characters, or a time that is not
// ISO 8601: "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM[:SS[.f]]" with "Z" or "±HH:MM" (converted to UTC
// and stored with "Z"). A time without zone is refused: FlowCam files mix local time and UTC.
// depth_min_m <= depth_max_m is left to ValidateMetadata, as keys may come in any order.
void SetMetadataValue(SampleMetadata& metadata, std::string_view key, std::string_view value);

// Every set key with its value as text, in SampleMetadataKeys() order (never "depth", always
// depth_min_m and depth_max_m), env.NAME last by name. Numbers are written as the shortest text
// that reads back as the same double, so SetMetadataValue(MetadataValues(m)) gives m again.
std::vector<std::pair<std::string, std::string>> MetadataValues(const SampleMetadata& metadata);

// Sets on `metadata` every key that `given` sets (environment values one by one); keys that
// `given` leaves unset or empty are kept. How a sidecar row updates a stored sample.
void MergeMetadata(SampleMetadata& metadata, const SampleMetadata& given);

// Checks the whole record (ranges, min <= max depth, ISO 8601 time); throws Error{kInvalidInput}
// naming the first bad key.
void ValidateMetadata(const SampleMetadata& metadata);

// Day of the year (1..366) of `sampled_at`, or nullopt when it is empty.
std::optional<int> DayOfYear(const SampleMetadata& metadata);

}  // namespace phytoflow
