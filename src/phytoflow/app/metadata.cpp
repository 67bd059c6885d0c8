#include "phytoflow/app/metadata.h"

#include "phytoflow/core/error.h"
#include "phytoflow/reader/text.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string ReadWholeFile(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw Error(ErrorCode::kNotFound, path.string() + ": no such metadata file");
  }
  std::ifstream input(path, std::ios::binary);
  std::ostringstream content;
  content << input.rdbuf();
  if (!input) {
    throw Error(ErrorCode::kUnavailable, path.string() + ": cannot be read");
  }
  return content.str();
}

// Sets one value of a record; the core's message ("key: ...") gets the place in the file.
void SetValue(MetadataRecord& record,
              const std::string& where,
              const std::string& key,
              std::string_view value) {
  try {
    SetMetadataValue(record.metadata, key, value);
  } catch (const Error& error) {
    throw Error(error.Code(), where + ": " + error.what());
  }
}

void FinishRecord(std::vector<MetadataRecord>& records,
                  MetadataRecord record,
                  const std::string& where,
                  std::map<std::string, int>& line_of_run,
                  std::string_view line_word) {
  if (record.run.empty()) {
    throw Error(ErrorCode::kInvalidInput,
                where + ": run: expected the run name or sample id, found nothing");
  }
  const auto [earlier, inserted] = line_of_run.emplace(record.run, record.line);
  if (!inserted) {
    throw Error(ErrorCode::kInvalidInput,
                where + ": run: '" + record.run + "' is given twice (also " +
                    std::string(line_word) + " " + std::to_string(earlier->second) + ")");
  }
  try {
    ValidateMetadata(record.metadata);
  } catch (const Error& error) {
    throw Error(error.Code(), where + ": " + error.what());
  }
  records.push_back(std::move(record));
}

// ---------------------------------------------------------------------------------------------
// CSV

// Splits one line on `separator` (reader's CSV rules: double quotes, "" for a quote). Quotes
// come in pairs on a well-formed line; an odd count means a quoted field runs past the line end.
std::vector<std::string> SplitFields(std::string_view line,
                                     char separator,
                                     const std::string& where) {
  if (std::count(line.begin(), line.end(), '"') % 2 != 0) {
    throw Error(ErrorCode::kInvalidInput,
                where + ": a quoted field does not end on this line (values must fit on one line)");
  }
  return SplitCsvLine(line, separator);
}

// Semicolons when the header has more of them than commas (spreadsheets in locales with a
// decimal comma write those); commas otherwise.
char DetectSeparator(std::string_view header) {
  size_t commas = 0;
  size_t semicolons = 0;
  bool quoted = false;
  for (const char c : header) {
    quoted = c == '"' ? !quoted : quoted;
    commas += !quoted && c == ',' ? 1 : 0;
    semicolons += !quoted && c == ';' ? 1 : 0;
  }
  return semicolons > commas ? ';' : ',';
}

std::vector<MetadataRecord> ReadCsv(const std::string& file, const std::string& text) {
  std::istringstream input(text);
  LineReader lines(input);
  std::string line;
  const auto where = [&] {
    return file + ":" + std::to_string(lines.LineNumber());
  };

  std::vector<std::string> columns;
  while (columns.empty() && lines.Next(line)) {
    if (Trim(line).empty()) {
      continue;
    }
    for (const std::string& name : SplitFields(line, DetectSeparator(line), where())) {
      columns.emplace_back(Trim(name));
    }
  }
  if (columns.empty()) {
    throw Error(ErrorCode::kInvalidInput, file + ": expected a header row 'run,<key>,...'");
  }
  const char separator = DetectSeparator(line);
  const int header_line = static_cast<int>(lines.LineNumber());
  size_t run_column = columns.size();
  std::set<std::string> seen;
  for (size_t index = 0; index < columns.size(); ++index) {
    const std::string& name = columns[index];
    const std::string place = file + ":" + std::to_string(header_line);
    if (!seen.insert(name).second) {
      throw Error(ErrorCode::kInvalidInput, place + ": column '" + name + "' appears twice");
    }
    if (name == "run") {
      run_column = index;
      continue;
    }
    MetadataRecord probe;
    SetValue(probe, place, name, "");  // an unknown column fails here, named
  }
  if (run_column == columns.size()) {
    throw Error(ErrorCode::kInvalidInput,
                file + ":" + std::to_string(header_line) +
                    ": expected a 'run' column with the run name or sample id of each row");
  }
  if (seen.contains("depth") && (seen.contains("depth_min_m") || seen.contains("depth_max_m"))) {
    throw Error(ErrorCode::kInvalidInput,
                file + ":" + std::to_string(header_line) +
                    ": give either 'depth' or 'depth_min_m'/'depth_max_m', not both");
  }

  std::vector<MetadataRecord> records;
  std::map<std::string, int> line_of_run;
  while (lines.Next(line)) {
    if (Trim(line).empty()) {
      continue;
    }
    const std::vector<std::string> fields = SplitFields(line, separator, where());
    if (fields.size() != columns.size()) {
      throw Error(ErrorCode::kInvalidInput,
                  where() + ": expected " + std::to_string(columns.size()) +
                      " fields as in the header, found " + std::to_string(fields.size()));
    }
    MetadataRecord record{.line = static_cast<int>(lines.LineNumber())};
    for (size_t index = 0; index < columns.size(); ++index) {
      const std::string_view value = Trim(fields[index]);
      if (index == run_column) {
        record.run = std::string(value);
      } else if (!value.empty()) {  // an empty cell gives nothing: the stored value is kept
        SetValue(record, where(), columns[index], value);
      }
    }
    FinishRecord(records, std::move(record), where(), line_of_run, "on line");
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// JSON

using Json = nlohmann::ordered_json;  // keeps the file's order of runs

std::string JsonValueText(const Json& value, const std::string& where, const std::string& key) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_integer()) {
    return value.dump();
  }
  if (value.is_number_float()) {
    std::array<char, 32> buffer{};
    const auto result =
        std::to_chars(buffer.data(), buffer.data() + buffer.size(), value.get<double>());
    return std::string(buffer.data(), result.ptr);
  }
  throw Error(ErrorCode::kInvalidInput,
              where + ": " + key + ": expected a number or a string, found " + value.dump());
}

MetadataRecord JsonRecord(const Json& object, const std::string& where, std::string run, int line) {
  if (!object.is_object()) {
    throw Error(ErrorCode::kInvalidInput,
                where + ": expected an object of metadata keys, found " + object.dump());
  }
  MetadataRecord record{.run = std::move(run), .line = line};
  const bool depth_range = object.contains("depth_min_m") || object.contains("depth_max_m");
  for (const auto& [key, value] : object.items()) {
    if (key == "run") {
      if (!value.is_string()) {
        throw Error(
            ErrorCode::kInvalidInput,
            where + ": run: expected the run name or sample id as a string, found " + value.dump());
      }
      record.run = value.get<std::string>();
      continue;
    }
    if (key == "depth" && depth_range) {
      throw Error(ErrorCode::kInvalidInput,
                  where + ": give either 'depth' or 'depth_min_m'/'depth_max_m', not both");
    }
    // null and "" give nothing (the stored value is kept), but the key is still checked.
    SetValue(record, where, key, value.is_null() ? "" : JsonValueText(value, where, key));
  }
  return record;
}

std::vector<MetadataRecord> ReadJson(const std::string& file, const std::string& text) {
  // Repeated keys of the top-level object (runs given twice) would be merged silently by the
  // parser, so they are caught while parsing.
  std::map<std::string, int> top_level_keys;
  std::string repeated_run;
  Json root;
  try {
    root = Json::parse(text, [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (depth == 1 && event == Json::parse_event_t::key && parsed.is_string()) {
        const std::string key = parsed.get<std::string>();
        if (++top_level_keys[key] == 2 && repeated_run.empty()) {
          repeated_run = key;
        }
      }
      return true;
    });
  } catch (const Json::exception& error) {  // parse_error, or out_of_range for 1e400
    throw Error(ErrorCode::kInvalidInput, file + ": not valid JSON: " + error.what());
  }

  std::vector<MetadataRecord> records;
  std::map<std::string, int> line_of_run;
  if (root.is_array()) {
    int number = 0;
    for (const Json& item : root) {
      ++number;
      const std::string where = file + ": record " + std::to_string(number);
      FinishRecord(records, JsonRecord(item, where, "", number), where, line_of_run, "as record");
    }
    return records;
  }
  if (root.is_object()) {
    if (!repeated_run.empty()) {
      throw Error(ErrorCode::kInvalidInput, file + ": run: '" + repeated_run + "' is given twice");
    }
    int number = 0;
    for (const auto& [run, object] : root.items()) {
      ++number;
      const std::string where = file + ": run '" + run + "'";
      if (object.is_object() && object.contains("run")) {
        throw Error(ErrorCode::kInvalidInput,
                    where + ": run: already given by the key; leave 'run' out of the object");
      }
      FinishRecord(
          records, JsonRecord(object, where, run, number), where, line_of_run, "as record");
    }
    return records;
  }
  throw Error(ErrorCode::kInvalidInput,
              file + ": expected an array of objects with \"run\", or an object keyed by run");
}

// The stored sample a record names: the sample with that id, else the one sample of that run.
std::optional<Sample> FindRecordSample(const Store& store,
                                       const std::vector<Sample>& samples,
                                       const MetadataRecord& record) {
  if (auto sample = store.FindSample(record.run)) {
    return sample;
  }
  std::vector<std::string> ids;
  for (const Sample& sample : samples) {
    if (sample.run_name == record.run) {
      ids.push_back(sample.id);
    }
  }
  if (ids.size() > 1) {
    std::string list;
    for (const std::string& id : ids) {
      list += (list.empty() ? "" : ", ") + id;
    }
    throw Error(ErrorCode::kInvalidInput,
                "run '" + record.run + "' names several samples (" + list +
                    "); give the sample id instead");
  }
  if (ids.empty()) {
    return std::nullopt;
  }
  return store.FindSample(ids.front());
}

}  // namespace

std::vector<MetadataRecord> ReadMetadataFile(const std::filesystem::path& path) {
  return ParseMetadataText(ReadWholeFile(path), path.string());
}

std::vector<MetadataRecord> ParseMetadataText(const std::string& text,
                                              const std::string& file_name) {
  std::string_view content = text;
  if (content.starts_with(kUtf8Bom)) {
    content.remove_prefix(kUtf8Bom.size());  // Excel's "CSV UTF-8" starts with one
  }
  const std::string extension = ToLower(std::filesystem::path(file_name).extension().string());
  if (extension == ".csv") {
    return ReadCsv(file_name, std::string(content));
  }
  if (extension == ".json") {
    return ReadJson(file_name, std::string(content));
  }
  throw Error(ErrorCode::kInvalidInput,
              file_name + ": expected a metadata file ending in .csv or .json");
}

const MetadataRecord* FindMetadataRecord(const std::vector<MetadataRecord>& records,
                                         const std::string& sample_id,
                                         const std::string& run_name) {
  for (const std::string* name : {&sample_id, &run_name}) {
    for (const MetadataRecord& record : records) {
      if (!name->empty() && record.run == *name) {
        return &record;
      }
    }
  }
  return nullptr;
}

MetadataImportReport ImportMetadata(Store& store, const std::vector<MetadataRecord>& records) {
  struct Update {
    std::string sample_id;
    SampleMetadata metadata;
    bool changed = false;
  };
  // Everything is checked before the first write, so a bad record changes nothing.
  const std::vector<Sample> samples = store.ListSamples();
  std::vector<Update> updates;
  std::map<std::string, std::string> run_of_sample;
  MetadataImportReport report;
  for (const MetadataRecord& record : records) {
    const std::optional<Sample> sample = FindRecordSample(store, samples, record);
    if (!sample) {
      report.unmatched_runs.push_back(record.run);
      continue;
    }
    const std::string where = "run '" + record.run + "' (sample '" + sample->id + "')";
    const auto [earlier, inserted] = run_of_sample.emplace(sample->id, record.run);
    if (!inserted) {
      throw Error(ErrorCode::kInvalidInput,
                  where + ": the sample is also named by run '" + earlier->second + "'");
    }
    Update update{.sample_id = sample->id, .metadata = sample->metadata};
    MergeMetadata(update.metadata, record.metadata);
    try {
      ValidateMetadata(update.metadata);  // e.g. a new depth_max_m below the stored depth_min_m
    } catch (const Error& error) {
      throw Error(error.Code(), where + ": " + error.what());
    }
    update.changed = update.metadata != sample->metadata;
    updates.push_back(std::move(update));
  }
  for (const Update& update : updates) {
    if (update.changed) {
      store.UpdateSampleMetadata(update.sample_id, update.metadata);
      report.updated.push_back(update.sample_id);
    } else {
      report.unchanged.push_back(update.sample_id);
    }
  }
  return report;
}

SampleMetadata SetSampleMetadata(Store& store,
                                 const std::string& sample_id,
                                 const std::vector<std::pair<std::string, std::string>>& pairs) {
  const std::optional<Sample> sample = store.FindSample(sample_id);
  Check(sample.has_value(),
        ErrorCode::kNotFound,
        "no sample '" + sample_id + "' in the store (see `phytoflow samples`)");
  SampleMetadata metadata = sample->metadata;
  for (const auto& [key, value] : pairs) {
    SetMetadataValue(metadata, key, value);
  }
  ValidateMetadata(metadata);
  if (metadata != sample->metadata) {
    store.UpdateSampleMetadata(sample_id, metadata);
  }
  return metadata;
}

}  // namespace phytoflow
