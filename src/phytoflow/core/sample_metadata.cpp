#include "phytoflow/core/sample_metadata.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/utf8.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace phytoflow {
namespace {

constexpr double kUnbounded = std::numeric_limits<double>::infinity();

enum class KeyKind {
  kText,     // free text on one line
  kTime,     // ISO 8601, stored in UTC
  kCountry,  // ISO 3166-1 alpha-2
  kNumber,   // a finite number within [min, max] (or (min, max] when min_exclusive)
  kDepth,    // one number that sets depth_min_m and depth_max_m
};

struct KeySpec {
  std::string_view key;
  KeyKind kind;
  std::string SampleMetadata::* text = nullptr;
  std::optional<double> SampleMetadata::* number = nullptr;
  double min = -kUnbounded;
  double max = kUnbounded;
  bool min_exclusive = false;
  std::string_view unit;
};

// One row per key, in documentation order: parsing, validation, merging and listing all read
// this table, so a key cannot be handled in one of them and forgotten in another.
constexpr std::array<KeySpec, 16> kKeys = {{
    {.key = "station", .kind = KeyKind::kText, .text = &SampleMetadata::station},
    {.key = "campaign", .kind = KeyKind::kText, .text = &SampleMetadata::campaign},
    {.key = "latitude",
     .kind = KeyKind::kNumber,
     .number = &SampleMetadata::latitude,
     .min = -90,
     .max = 90,
     .unit = "decimal degrees"},
    {.key = "longitude",
     .kind = KeyKind::kNumber,
     .number = &SampleMetadata::longitude,
     .min = -180,
     .max = 180,
     .unit = "decimal degrees"},
    {.key = "sampled_at", .kind = KeyKind::kTime, .text = &SampleMetadata::sampled_at},
    {.key = "depth", .kind = KeyKind::kDepth, .min = 0, .max = 11000, .unit = "m"},
    {.key = "depth_min_m",
     .kind = KeyKind::kNumber,
     .number = &SampleMetadata::depth_min_m,
     .min = 0,
     .max = 11000,
     .unit = "m"},
    {.key = "depth_max_m",
     .kind = KeyKind::kNumber,
     .number = &SampleMetadata::depth_max_m,
     .min = 0,
     .max = 11000,
     .unit = "m"},
    {.key = "sampling_protocol",
     .kind = KeyKind::kText,
     .text = &SampleMetadata::sampling_protocol},
    {.key = "gear", .kind = KeyKind::kText, .text = &SampleMetadata::gear},
    {.key = "water_body", .kind = KeyKind::kText, .text = &SampleMetadata::water_body},
    {.key = "country_code", .kind = KeyKind::kCountry, .text = &SampleMetadata::country_code},
    {.key = "dilution_factor",
     .kind = KeyKind::kNumber,
     .number = &SampleMetadata::dilution_factor,
     .min = 0,
     .min_exclusive = true},
    {.key = "concentration_factor",
     .kind = KeyKind::kNumber,
     .number = &SampleMetadata::concentration_factor,
     .min = 0,
     .min_exclusive = true},
    {.key = "temperature_c",
     .kind = KeyKind::kNumber,
     .number = &SampleMetadata::temperature_c,
     .min = -3,
     .max = 40,
     .unit = "°C"},
    {.key = "salinity",
     .kind = KeyKind::kNumber,
     .number = &SampleMetadata::salinity,
     .min = 0,
     .max = 45,
     .unit = "PSU"},
}};

constexpr std::string_view kEnvironmentPrefix = "env.";

const KeySpec* FindKey(std::string_view key) {
  for (const KeySpec& spec : kKeys) {
    if (spec.key == key) {
      return &spec;
    }
  }
  return nullptr;
}

[[noreturn]] void Fail(std::string_view key, const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, std::string(key) + ": " + message);
}

std::string_view TrimBlanks(std::string_view text) {
  const auto blank = [](char c) {
    return c == ' ' || c == '\t';
  };
  while (!text.empty() && blank(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && blank(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// The whole of `text` as a finite number, read the same in every locale ("51.5", never "51,5").
std::optional<double> ParseNumber(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::string FormatNumber(double value) {
  std::array<char, 32> buffer{};
  // Shortest text that reads back as the same double.
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

std::string RangeText(const KeySpec& spec) {
  std::string text;
  if (spec.max == kUnbounded) {
    text = "greater than " + FormatNumber(spec.min);
  } else {
    text = "from " + FormatNumber(spec.min) + " to " + FormatNumber(spec.max);
  }
  if (!spec.unit.empty()) {
    text += " (" + std::string(spec.unit) + ")";
  }
  return text;
}

bool InRange(const KeySpec& spec, double value) {
  const bool above_min = spec.min_exclusive ? value > spec.min : value >= spec.min;
  return std::isfinite(value) && above_min && value <= spec.max;
}

double ParseNumberInRange(const KeySpec& spec, std::string_view text) {
  const std::optional<double> value = ParseNumber(text);
  if (!value || !InRange(spec, *value)) {
    Fail(spec.key, "expected a number " + RangeText(spec) + ", found '" + std::string(text) + "'");
  }
  return *value;
}

// Text that ends up in TSV and CSV exports must stay on one line.
void CheckText(std::string_view key, std::string_view text) {
  // Stored text goes to JSON, XML and UTF-8 TSV files: a Latin-1 byte from a terminal would break
  // every later export of the sample.
  if (!IsValidUtf8(text)) {
    Fail(key, "expected UTF-8 text, found invalid bytes (is the terminal or file UTF-8?)");
  }
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      Fail(key,
           "expected text on one line without control characters, found '" + std::string(text) +
               "'");
    }
  }
}

std::string NormalizeCountryCode(std::string_view text) {
  std::string code(text);
  for (char& c : code) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  if (code.size() != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z') {
    Fail("country_code",
         "expected an ISO 3166-1 alpha-2 code such as 'BE', found '" + std::string(text) + "'");
  }
  return code;
}

bool IsEnvironmentName(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Dates and times (proleptic Gregorian, days since 1970-01-01; H. Hinnant's algorithms)

bool IsLeapYear(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int64_t DaysInMonth(int64_t year, int64_t month) {
  constexpr std::array<int64_t, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[static_cast<size_t>(month - 1)];
}

int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct CivilDate {
  int64_t year = 0;
  int64_t month = 0;
  int64_t day = 0;
};

CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
  return {.year = year_of_era + era * 400 + (month <= 2 ? 1 : 0), .month = month, .day = day};
}

// Reads fixed-width decimal fields from the front of a string.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool Digits(size_t count, int64_t& value) {
    if (text_.size() < count) {
      return false;
    }
    value = 0;
    for (size_t index = 0; index < count; ++index) {
      const char c = text_[index];
      if (c < '0' || c > '9') {
        return false;
      }
      value = value * 10 + (c - '0');
    }
    text_.remove_prefix(count);
    return true;
  }
  bool Char(char expected) {
    if (text_.empty() || text_.front() != expected) {
      return false;
    }
    text_.remove_prefix(1);
    return true;
  }
  bool Empty() const { return text_.empty(); }
  char Peek() const { return text_.empty() ? '\0' : text_.front(); }
  std::string_view Rest() const { return text_; }
  void Skip(size_t count) { text_.remove_prefix(count); }

 private:
  std::string_view text_;
};

std::string TwoDigits(int64_t value) {
  return std::string{static_cast<char>('0' + value / 10), static_cast<char>('0' + value % 10)};
}

std::string FormatDate(const CivilDate& date) {
  std::string year = std::to_string(date.year);
  return std::string(4 - std::min<size_t>(year.size(), 4), '0') + year + "-" +
         TwoDigits(date.month) + "-" + TwoDigits(date.day);
}

std::optional<CivilDate> ParseDate(Cursor& cursor) {
  CivilDate date;
  if (!cursor.Digits(4, date.year) || !cursor.Char('-') || !cursor.Digits(2, date.month) ||
      !cursor.Char('-') || !cursor.Digits(2, date.day) || date.month < 1 || date.month > 12 ||
      date.day < 1 || date.day > DaysInMonth(date.year, date.month)) {
    return std::nullopt;
  }
  return date;
}

// "YYYY-MM-DD" as it is, or "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z" or "±HH:MM", converted to UTC
// and written with "Z" (a space is accepted instead of the "T", as spreadsheets write it).
std::string NormalizeTime(std::string_view text) {
  constexpr std::string_view kKey = "sampled_at";
  const std::string found = "'" + std::string(text) + "'";
  const std::string expected =
      "expected an ISO 8601 date (2025-04-11) or UTC time (2025-04-11T09:30Z, "
      "2025-04-11T11:30:00+02:00), found " +
      found;
  Cursor cursor(text);
  const std::optional<CivilDate> date = ParseDate(cursor);
  if (!date) {
    Fail(kKey, expected);
  }
  if (cursor.Empty()) {
    return FormatDate(*date);
  }
  int64_t hour = 0;
  int64_t minute = 0;
  int64_t second = 0;
  if (!(cursor.Char('T') || cursor.Char(' ')) || !cursor.Digits(2, hour) || !cursor.Char(':') ||
      !cursor.Digits(2, minute) || hour > 23 || minute > 59) {
    Fail(kKey, expected);
  }
  std::string seconds_text;  // ":SS" and any fraction, kept as written
  if (cursor.Char(':')) {
    if (!cursor.Digits(2, second) || second > 59) {
      Fail(kKey, expected);
    }
    seconds_text = ":" + TwoDigits(second);
    if (cursor.Peek() == '.') {
      size_t length = 1;
      const std::string_view rest = cursor.Rest();
      while (length < rest.size() && rest[length] >= '0' && rest[length] <= '9') {
        ++length;
      }
      if (length == 1) {
        Fail(kKey, expected);
      }
      seconds_text += rest.substr(0, length);
      cursor.Skip(length);
    }
  }
  int64_t offset_minutes = 0;
  if (cursor.Empty()) {
    // Why this is refused rather than guessed: VisualSpreadsheet writes the run start in UTC
    // in the .ctx and in local time in the summaries, so a bare time is ambiguous.
    Fail(kKey,
         found + " has no time zone; add Z for UTC (" + std::string(text) + "Z) or the offset " +
             "from UTC (" + std::string(text) +
             "+02:00). FlowCam files mix local time and UTC, so a time without zone cannot be "
             "placed");
  }
  if (cursor.Char('Z')) {
    offset_minutes = 0;
  } else if (cursor.Peek() == '+' || cursor.Peek() == '-') {
    const int64_t sign = cursor.Peek() == '-' ? -1 : 1;
    cursor.Skip(1);
    int64_t offset_hour = 0;
    int64_t offset_minute = 0;
    if (!cursor.Digits(2, offset_hour) || !cursor.Char(':') || !cursor.Digits(2, offset_minute) ||
        offset_hour > 14 || offset_minute > 59) {
      Fail(kKey, expected);
    }
    offset_minutes = sign * (offset_hour * 60 + offset_minute);
  } else {
    Fail(kKey, expected);
  }
  if (!cursor.Empty()) {
    Fail(kKey, expected);
  }
  // Local time minus its offset is UTC; the date may move by a day.
  const int64_t total_minutes = DaysFromCivil(date->year, date->month, date->day) * 1440 +
                                hour * 60 + minute - offset_minutes;
  const int64_t days = (total_minutes >= 0 ? total_minutes : total_minutes - 1439) / 1440;
  const int64_t minute_of_day = total_minutes - days * 1440;
  const CivilDate utc = CivilFromDays(days);
  if (utc.year < 0 || utc.year > 9999) {
    Fail(kKey, expected);
  }
  return FormatDate(utc) + "T" + TwoDigits(minute_of_day / 60) + ":" +
         TwoDigits(minute_of_day % 60) + seconds_text + "Z";
}

void SetNumber(SampleMetadata& metadata, const KeySpec& spec, std::string_view text) {
  if (spec.kind == KeyKind::kDepth) {
    if (text.empty()) {
      metadata.depth_min_m.reset();
      metadata.depth_max_m.reset();
      return;
    }
    const double depth = ParseNumberInRange(spec, text);
    metadata.depth_min_m = depth;
    metadata.depth_max_m = depth;
    return;
  }
  if (text.empty()) {
    (metadata.*spec.number).reset();
    return;
  }
  metadata.*spec.number = ParseNumberInRange(spec, text);
}

void SetText(SampleMetadata& metadata, const KeySpec& spec, std::string_view text) {
  std::string& field = metadata.*spec.text;
  if (text.empty()) {
    field.clear();
    return;
  }
  CheckText(spec.key, text);
  switch (spec.kind) {
    case KeyKind::kTime:
      field = NormalizeTime(text);
      return;
    case KeyKind::kCountry:
      field = NormalizeCountryCode(text);
      return;
    default:
      field = std::string(text);
      return;
  }
}

std::string KnownKeysText() {
  std::string text;
  for (const KeySpec& spec : kKeys) {
    text += std::string(spec.key) + ", ";
  }
  return text + "env.NAME (NAME of a-z, 0-9, _)";
}

}  // namespace

std::vector<std::string_view> SampleMetadataKeys() {
  std::vector<std::string_view> keys;
  for (const KeySpec& spec : kKeys) {
    keys.push_back(spec.key);
  }
  return keys;
}

void SetMetadataValue(SampleMetadata& metadata, std::string_view key, std::string_view value) {
  value = TrimBlanks(value);
  if (key.starts_with(kEnvironmentPrefix)) {
    const std::string name(key.substr(kEnvironmentPrefix.size()));
    if (!IsEnvironmentName(name)) {
      Fail(key,
           "expected env.NAME with NAME of lower-case letters, digits and '_' (unit in the name, "
           "e.g. env.chlorophyll_ug_per_l)");
    }
    if (value.empty()) {
      metadata.environment.erase(name);
      return;
    }
    const std::optional<double> number = ParseNumber(value);
    if (!number) {
      Fail(key, "expected a number, found '" + std::string(value) + "'");
    }
    metadata.environment[name] = *number;
    return;
  }
  const KeySpec* spec = FindKey(key);
  if (spec == nullptr) {
    throw Error(ErrorCode::kInvalidInput,
                "unknown metadata key '" + std::string(key) + "'; known keys: " + KnownKeysText());
  }
  if (spec->kind == KeyKind::kNumber || spec->kind == KeyKind::kDepth) {
    SetNumber(metadata, *spec, value);
  } else {
    SetText(metadata, *spec, value);
  }
}

std::vector<std::pair<std::string, std::string>> MetadataValues(const SampleMetadata& metadata) {
  std::vector<std::pair<std::string, std::string>> values;
  for (const KeySpec& spec : kKeys) {
    if (spec.text != nullptr && !(metadata.*spec.text).empty()) {
      values.emplace_back(spec.key, metadata.*spec.text);
    } else if (spec.number != nullptr && (metadata.*spec.number).has_value()) {
      values.emplace_back(spec.key, FormatNumber(*(metadata.*spec.number)));
    }
  }
  for (const auto& [name, value] : metadata.environment) {
    values.emplace_back(std::string(kEnvironmentPrefix) + name, FormatNumber(value));
  }
  return values;
}

void MergeMetadata(SampleMetadata& metadata, const SampleMetadata& given) {
  for (const KeySpec& spec : kKeys) {
    if (spec.text != nullptr && !(given.*spec.text).empty()) {
      metadata.*spec.text = given.*spec.text;
    } else if (spec.number != nullptr && (given.*spec.number).has_value()) {
      metadata.*spec.number = given.*spec.number;
    }
  }
  for (const auto& [name, value] : given.environment) {
    metadata.environment[name] = value;
  }
}

void ValidateMetadata(const SampleMetadata& metadata) {
  for (const KeySpec& spec : kKeys) {
    if (spec.number != nullptr && (metadata.*spec.number).has_value()) {
      const double value = *(metadata.*spec.number);
      if (!InRange(spec, value)) {
        Fail(spec.key, "expected a number " + RangeText(spec) + ", found " + FormatNumber(value));
      }
    }
    if (spec.text == nullptr || (metadata.*spec.text).empty()) {
      continue;
    }
    const std::string& text = metadata.*spec.text;
    CheckText(spec.key, text);
    if (spec.kind == KeyKind::kTime && NormalizeTime(text) != text) {
      Fail(spec.key, "expected a date or a time in UTC ending in Z, found '" + text + "'");
    }
    if (spec.kind == KeyKind::kCountry && NormalizeCountryCode(text) != text) {
      Fail(spec.key, "expected an upper-case ISO 3166-1 alpha-2 code, found '" + text + "'");
    }
  }
  if (metadata.depth_min_m && metadata.depth_max_m &&
      *metadata.depth_min_m > *metadata.depth_max_m) {
    Fail("depth_min_m",
         "expected at most depth_max_m (" + FormatNumber(*metadata.depth_max_m) + " m), found " +
             FormatNumber(*metadata.depth_min_m) + " m");
  }
  for (const auto& [name, value] : metadata.environment) {
    const std::string key = std::string(kEnvironmentPrefix) + name;
    if (!IsEnvironmentName(name)) {
      Fail(key, "expected NAME of lower-case letters, digits and '_'");
    }
    if (!std::isfinite(value)) {
      Fail(key, "expected a finite number, found " + FormatNumber(value));
    }
  }
}

std::optional<int> DayOfYear(const SampleMetadata& metadata) {
  Cursor cursor(metadata.sampled_at);
  const std::optional<CivilDate> date = ParseDate(cursor);
  if (!date) {
    return std::nullopt;
  }
  return static_cast<int>(DaysFromCivil(date->year, date->month, date->day) -
                          DaysFromCivil(date->year, 1, 1) + 1);
}

}  // namespace phytoflow
